"""``python -m kit grade``: one submission (kit.grading.grader), a class (kit.grading.classroom) or the package.

The command sits above the modules it dispatches to, so that none of them imports another's user.
"""

from __future__ import annotations

from pathlib import Path

from kit.errors import GradingError
from kit.grading.classroom import grade_class, results_dir
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
    submission = Path(args.submission)
    if not submission.is_dir():
        raise GradingError(
            f"Submission folder {submission} does not exist or is not a folder; pass the folder holding homework.py "
            "(no results.json was written)."
        )
    try:
        grade(submission, assignment=args.assignment, hidden=args.hidden, out=args.out)
    except Exception as error:  # noqa: BLE001 - always leave a valid results.json behind
        write_results(failure_results(str(error)), args.out)
        raise GradingError(f"grading failed ({error}); wrote a 0-point results.json to {args.out}.") from None
    return 0


def _command_class(args) -> int:
    """``python -m kit grade --class FOLDER --jobs N --out grades.csv``."""
    if args.submission:
        raise GradingError("Pass either a submission folder or --class FOLDER, not both.")
    out = args.out or "grades.csv"
    table = grade_class(args.class_folder, out, jobs=args.jobs, assignment=args.assignment, hidden=args.hidden)
    failed = table[table["error"].astype(str).str.len() > 0]
    print(f"wrote {out} ({len(table)} students) and {results_dir(out)}/<student>/results.json")
    if len(failed):
        names = ", ".join(failed["student"].astype(str).head(10))
        raise GradingError(f"{len(failed)} submission(s) could not be graded ({names}): see the error column of {out}.")
    return 0
