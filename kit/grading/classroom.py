"""A whole class at once: ``python -m kit class grade SOURCE --out DIR`` (and ``kit grade --class``).

SOURCE is a folder with one subfolder per student or Gradescope's "Download Submissions" export
(``kit.grading.submissions``). Each submission is graded exactly as ``kit grade`` grades one (own
sandbox, own uids), so a student's row never depends on ``--jobs`` or on the other students.
DIR receives:

- ``results/<student>/results.json`` (Gradescope's results, as ``kit grade`` writes them) and
  ``results/<student>/grading.json`` (the key it was graded under, its time);
- ``grades.csv``, and ``canvas.csv`` / ``moodle.csv`` where the export gave a roster
  (``kit.grading.gradebook``);
- ``report.md`` with its pictures (``kit.grading.class_report``) and ``similarity.html`` /
  ``similarity.csv`` (``kit.grading.similarity``).

**Resumable.** A submission's key is the SHA-256 of the files the grader reads and of the rubric
(its checks, points, parameters and limits, the hidden flag, the grading options): a second run
grades only new or changed submissions and keeps the rest. Each result is written (atomically)
the moment it is graded, so an interrupted run (Ctrl-C, kill -9) loses nothing already graded.
``students=[...]`` (``--only``) regrades those students alone; ``force`` regrades everyone.
A grader fault (the sandbox failed twice, an internal error) is listed apart from the students'
zeros: the student gets no grade (an empty cell, never 0) and the next run tries again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kit.errors import GradingError
from kit.files import write_json
from kit.grading.gradescope import write_results
from kit.grading.submissions import ClassSubmissions, Student, Submission, open_class

RESULTS = "results"
KEY_FILE = "grading.json"
# grade() options that change when and where a check runs, never its score: not part of the key
SCHEDULING_OPTIONS = ("workers", "memory_share", "quiet", "sandbox_options")


@dataclass
class ClassResult:
    """What a class run did: the table, who was graded now, who was kept, who could not be graded and why."""

    table: object  # pandas.DataFrame, one row per student
    out_dir: Path
    graded: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    faults: dict[str, str] = field(default_factory=dict)  # student -> the grader's fault
    not_graded: dict[str, str] = field(default_factory=dict)  # student -> why (unreadable, outside --only)
    problems: list[str] = field(default_factory=list)  # the source's bad input, one sentence each
    written: list[Path] = field(default_factory=list)


def results_dir(out_dir: str | os.PathLike) -> Path:
    """``DIR/results``: one folder per student."""
    return Path(out_dir) / RESULTS


def rubric_key(rubric, selected, *, hidden: bool, options: dict) -> str:
    """A digest of everything besides the submission that decides a grade.

    The checks graded (id, kind, points, parameters, limits), the hidden flag, the grading options,
    and the text of the rubric's files (``rubric.py``, ``rubric_hidden.py``, the assignment's
    ``checks.py``): fixing a judge there regrades the class.
    """
    scored = {k: v for k, v in sorted(options.items()) if k not in SCHEDULING_OPTIONS}
    digest = hashlib.sha256()
    digest.update(repr((hidden, [dataclasses.astuple(c) for c in selected], sorted(rubric.limits.items()))).encode())
    digest.update(repr(scored).encode())
    files = [rubric.path, getattr(rubric, "hidden_path", None), *getattr(rubric, "checks_files", ())]
    for path in files:
        if path is not None and Path(path).is_file():
            digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def _stored(student_dir: Path, key: str) -> dict | None:
    """The results kept for a student when they were graded under ``key``; None otherwise."""
    try:
        meta = json.loads((student_dir / KEY_FILE).read_text(encoding="utf-8"))
        if meta.get("key") != key:
            return None
        return json.loads((student_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _row(
    student: str,
    results: dict | None,
    check_ids: list[str],
    figure: str | None,
    error: str = "",
) -> dict:
    row: dict = {"student": student}
    tests = {t["tags"][0]: t for t in (results or {}).get("tests", []) if t.get("tags")}
    for check_id in check_ids:
        row[check_id] = tests[check_id]["score"] if check_id in tests else None
    row["total"] = results["score"] if results else None
    row["max"] = sum(t["max_score"] for t in tests.values()) if results else None
    if figure:
        board = {entry.get("name"): entry.get("value") for entry in (results or {}).get("leaderboard") or []}
        row[figure] = board.get(figure) if results else None
    row["error"] = error
    return row


def grade_class(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    assignment: str | None = None,
    jobs: int = 1,
    hidden: bool = False,
    students: Iterable[str] | None = None,
    checks: Iterable[str] | None = None,
    force: bool = False,
    similarity: bool = True,
    report: bool = True,
    progress: bool = True,
    **grade_options,
) -> ClassResult:
    """Grade a class into ``out_dir`` (module docstring); return what happened.

    ``students``: regrade only these (``--only``); ``checks``: grade only these check ids (a quick
    look, or tests); ``grade_options`` go to ``kit.grading.grader.grade`` (e.g. ``timeout_scale``).
    """
    from kit.assignments import get as get_assignment
    from kit.grading.rubric import load_rubric

    if jobs < 1:
        raise GradingError(f"--jobs must be at least 1; got {jobs}.")
    task = get_assignment(assignment)
    rubric = load_rubric(task.name, hidden=hidden)
    selected = rubric.select(hidden=hidden, only=checks)
    if checks is not None:
        grade_options["only"] = list(checks)
    check_ids = [c.id for c in selected]
    # the leaderboard's figure comes from a model check; without one graded the grader's 0 would mislead
    figure = task.leaderboard if task.leaderboard and any("model" in c.kind for c in selected) else None
    key = rubric_key(rubric, selected, hidden=hidden, options=grade_options)
    out_dir = Path(out_dir)
    keep = results_dir(out_dir)
    keep.mkdir(parents=True, exist_ok=True)

    with open_class(source, entry=task.entry) as klass:
        wanted = None if students is None else {klass.student(name).student for name in students}
        result = ClassResult(None, out_dir, problems=list(klass.problems))
        stored: dict[str, dict] = {}
        to_grade: dict[str, tuple[Submission, str]] = {}
        for student in klass.students:
            submission = student.submission
            if submission.problem:
                result.not_graded[student.student] = submission.problem
                continue
            submission_key = hashlib.sha256((submission.content_hash(task.files) + key).encode()).hexdigest()
            regrade = force or (wanted is not None and student.student in wanted)
            kept = None if regrade else _stored(keep / student.student, submission_key)
            if kept is not None:
                stored[student.student] = kept
                result.kept.append(student.student)
            elif wanted is not None and student.student not in wanted:
                result.not_graded[student.student] = "not graded yet (run without --only to grade everyone)"
            else:
                to_grade[submission.id] = (submission, submission_key)
        fresh, faults = _grade_submissions(klass, to_grade, keep, task.name, hidden, jobs, progress, grade_options)
        stored.update(fresh)
        result.graded = sorted(fresh)
        result.faults = faults
        rows = []
        for student in klass.students:
            name = student.student
            error = faults.get(name) or result.not_graded.get(name, "")
            rows.append(_row(name, stored.get(name), check_ids, figure, error))
        from kit.grading.gradebook import grades_table, write_gradebooks

        result.table = grades_table(rows)
        points = sum(c.points for c in selected)
        column = task.title or task.name
        result.written = write_gradebooks(result.table, klass, out_dir, column=column, points=points)
        found = None
        if similarity:
            from kit.grading.similarity import compare_class, released_stub, write_similarity

            found = compare_class(klass, task.files, released_stub(task))
            result.written.append(write_similarity(found, out_dir, title=task.name))
        if report:
            from kit.grading.class_report import write_class_report

            result.written.append(
                write_class_report(
                    out_dir,
                    table=result.table,
                    results=stored,
                    checks=selected,
                    assignment=task,
                    figure=figure,
                    result=result,
                    similar=found,
                    klass=klass,
                )
            )
    return result


def _grade_submissions(
    klass: ClassSubmissions,
    to_grade: dict[str, tuple[Submission, str]],
    keep: Path,
    assignment: str,
    hidden: bool,
    jobs: int,
    progress: bool,
    grade_options: dict,
) -> tuple[dict[str, dict], dict[str, str]]:
    """Grade each submission (``jobs`` at a time) and store its results for each of its students at once."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from kit.grading.grader import grade
    from kit.grading.sandbox import GraderFault, children_that_fit, container_memory_mb, own_memory_mb

    fresh: dict[str, dict] = {}
    faults: dict[str, str] = {}
    if not to_grade:
        return fresh, faults
    container_mb = container_memory_mb()
    console = Console(stderr=True)
    if container_mb is not None and jobs > 1:
        fits = max(1, children_that_fit(container_mb, own_memory_mb()))
        if fits < jobs:
            console.print(f"memory limit {container_mb} MB holds {fits} grading child(ren) at a time: --jobs {fits}")
            jobs = fits
    # children per submission: two when submissions go one at a time, one each when several run at once
    options = {"workers": 2 if jobs == 1 else 1, "memory_share": jobs, **grade_options}
    owners = {s.id: [st for st in klass.students if st.submission is s] for s, _ in to_grade.values()}

    def one(submission: Submission, submission_key: str) -> tuple[list[Student], dict | None, str]:
        started = time.monotonic()
        try:
            results = grade(submission.folder, assignment=assignment, hidden=hidden, quiet=True, **options)
        except (GraderFault, GradingError) as error:
            return owners[submission.id], None, str(error)
        except Exception as error:  # noqa: BLE001 - one student's grader bug must not cost the class
            return owners[submission.id], None, f"the grader failed ({type(error).__name__}: {error})"
        seconds = round(time.monotonic() - started, 2)
        for student in owners[submission.id]:  # written now: a later interruption loses nothing graded
            folder = keep / student.student
            write_results(results, folder / "results.json")
            write_json(
                folder / KEY_FILE,
                {
                    "key": submission_key,
                    "submission": submission.id,
                    "seconds": seconds,
                    "graded_at": datetime.now(UTC).isoformat(timespec="seconds"),
                },
            )
        return owners[submission.id], results, ""

    columns = (
        TextColumn("grading"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("submissions"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        with Progress(*columns, console=console, disable=not progress) as bar:
            task = bar.add_task("grading", total=len(to_grade))
            futures = [pool.submit(one, submission, k) for submission, k in to_grade.values()]
            for future in as_completed(futures):
                owners_of, results, fault = future.result()
                for student in owners_of:
                    if results is None:
                        faults[student.student] = fault
                    else:
                        fresh[student.student] = results
                if fault:
                    names = ", ".join(s.student for s in owners_of)
                    bar.console.print(f"grader fault ({names}): {fault}")
                bar.advance(task)
    except KeyboardInterrupt:
        console.print("interrupted: the submissions graded so far are kept; run the same command again to go on")
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return fresh, faults
