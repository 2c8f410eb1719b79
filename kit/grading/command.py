"""``python -m kit grade`` (one submission, or the package) and ``python -m kit class`` (a whole class).

``kit class grade`` is kit.grading.classroom, ``kit class similarity`` kit.grading.similarity;
``kit grade --class SOURCE --out DIR`` is kept as another name for ``kit class grade``.
The command sits above the modules it dispatches to, so that none of them imports another's user.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kit import assignments
from kit.errors import GradingError
from kit.grading.grader import grade
from kit.grading.gradescope import failure_results, write_package, write_results


def command(args) -> int:
    """``python -m kit grade``: one submission, a class (``--class``), or the Gradescope package."""
    if args.package:
        path = write_package(args.package, args.assignment)
        print(f"wrote {path} (upload it as the Gradescope autograder; it runs hidden checks too)")
        return 0
    if getattr(args, "class_folder", None):
        return _command_class(args)
    args.out = args.out or "results.json"
    if not args.submission:
        raise GradingError(
            "Pass a submission folder (python -m kit grade SUBMISSION_DIR --out results.json) or --package OUT.zip."
        )
    assignment = assignments.get(args.assignment)  # a wrong name is the command's mistake: one sentence, no file
    submission = Path(args.submission)
    if not submission.is_dir():
        raise GradingError(
            f"Submission folder {submission} does not exist or is not a folder; pass the folder holding "
            f"{assignment.entry} (no results.json was written)."
        )
    try:
        grade(submission, assignment=assignment, hidden=args.hidden, out=args.out)
    except Exception as error:  # noqa: BLE001 - always leave a valid results.json behind
        write_results(failure_results(str(error), assignment.leaderboard), args.out)
        raise GradingError(f"grading failed ({error}); wrote a 0-point results.json to {args.out}.") from None
    return 0


def _command_class(args) -> int:
    """``python -m kit grade --class SOURCE --out DIR``: the older name of ``kit class grade``.

    An ``--out`` ending in .csv (its older form) puts the class folder beside it, named after it
    (``grades.csv`` -> ``grades/``), and copies ``grades.csv`` to the path asked for.
    """
    if args.submission:
        raise GradingError("Pass either a submission folder or --class SOURCE, not both.")
    out = Path(args.out or "grades")
    csv_copy = out if out.suffix.lower() == ".csv" else None
    if csv_copy is not None:
        out = out.with_suffix("")
    code = _grade_class(args.class_folder, out, args)
    if csv_copy is not None and (out / "grades.csv").is_file():
        csv_copy.write_bytes((out / "grades.csv").read_bytes())
        print(f"copied {out / 'grades.csv'} to {csv_copy}")
    return code


def command_class(args) -> int:
    """``python -m kit class grade|similarity SOURCE --out DIR``."""
    if args.class_command == "similarity":
        return _similarity(args)
    return _grade_class(args.source, Path(args.out), args)


def _grade_class(source, out: Path, args) -> int:
    from kit.grading.classroom import grade_class

    result = grade_class(
        source,
        out,
        assignment=args.assignment,
        jobs=args.jobs,
        hidden=not getattr(args, "visible", False),  # the class's grade: every check (kit grade --class: --hidden)
        students=getattr(args, "only", None),
        checks=getattr(args, "checks", None),
        force=getattr(args, "force", False),
        similarity=not getattr(args, "no_similarity", False),
        lms_column=getattr(args, "lms_column", None),
    )
    table, where = result.table, result.out_dir
    if result.engine_changed:
        changed = result.engine_changed
        print(f"the grading engine or the rubric changed since {changed} student(s) were graded: regrading them")
    if result.quick_look:
        print(f"a quick look (--checks): written to {where}; the class's own grades and LMS files are untouched")
    print(
        f"graded {len(result.graded)} student(s), kept {len(result.kept)} unchanged; wrote {where}/grades.csv "
        f"({len(table)} students), {where}/report.md and {where}/results/<student>/results.json"
    )
    for path in result.written:
        if path.name in ("canvas.csv", "moodle.csv", "similarity.html"):
            print(f"wrote {path}")
    for problem in result.problems:
        print(f"note: {problem}")
    if result.not_in_lms:
        names = ", ".join(result.not_in_lms[:10]) + (", ..." if len(result.not_in_lms) > 10 else "")
        why = "no grade yet; an empty cell would clear a grade in Moodle"
        print(f"left out of moodle.csv ({why}): {names}", file=sys.stderr)
    stuck = {**result.faults, **{k: v for k, v in result.not_graded.items() if "not graded yet" not in v}}
    if stuck:
        names = ", ".join(sorted(stuck)[:10]) + (", ..." if len(stuck) > 10 else "")
        raise GradingError(
            f"{len(stuck)} student(s) could not be graded ({names}): each has a row with the reason in the error "
            f"column of {where}/grades.csv; fix what it says and run the same command again."
        )
    return 0


def _similarity(args) -> int:
    from kit.assignments import get
    from kit.grading.similarity import compare_class, released_stub, write_similarity
    from kit.grading.submissions import open_class

    task = get(args.assignment)
    extra = [Path(p) for p in (args.boilerplate or [])]
    missing = [str(p) for p in extra if not p.is_file()]
    if missing:
        raise GradingError(f"Boilerplate file(s) {', '.join(missing)} do not exist; pass files of code handed out.")
    extra = [p.read_text(encoding="utf-8", errors="replace") for p in extra]
    with open_class(args.source, entry=task.entry) as klass:
        found = compare_class(klass, task.files, [*released_stub(task), *extra])
        page = write_similarity(found, args.out, title=task.name)
    for problem in [*klass.problems, *found.problems]:
        print(f"note: {problem}")
    print(
        f"compared {len(found.pairs)} pairs; {len(found.flagged)} at or above the thresholds; "
        f"wrote {page} and {Path(args.out) / 'similarity.csv'}"
    )
    return 0
