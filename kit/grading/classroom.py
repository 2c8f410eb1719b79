"""A class at once: a folder of submissions (one subfolder per student) -> ``grades.csv``.

``python -m kit grade --class FOLDER --jobs N --out grades.csv`` for instructors who export
submissions rather than use Gradescope. Each student is graded exactly as ``kit grade`` grades
one submission (own sandbox, own uids), so a row never depends on ``--jobs`` or on the other
students; rows are sorted by student and the CSV holds no timings, so it is the same for any N.
Beside the CSV, ``<csv name>_results/<student>/results.json`` keeps each student's full results.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from kit.errors import GradingError
from kit.grading.grader import grade
from kit.grading.gradescope import write_results
from kit.grading.rubric import load_rubric
from kit.grading.sandbox import GraderFault, children_that_fit, container_memory_mb, own_memory_mb


def students(folder: str | os.PathLike) -> list[Path]:
    """The submission folders of a class folder (every visible subfolder), sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GradingError(f"Class folder {folder} does not exist; pass a folder with one subfolder per student.")
    found = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not found:
        raise GradingError(f"Class folder {folder} has no subfolders; put each student's submission in its own folder.")
    return found


def results_dir(out_csv: str | os.PathLike) -> Path:
    out_csv = Path(out_csv)
    return out_csv.with_name(out_csv.stem + "_results")


def _row(student: str, results: dict | None, check_ids: list[str], error: str = "") -> dict:
    row: dict = {"student": student}
    tests = {t["tags"][0]: t for t in (results or {}).get("tests", [])}
    for check_id in check_ids:
        row[check_id] = tests[check_id]["score"] if check_id in tests else None
    row["total"] = results["score"] if results else None
    row["max"] = sum(t["max_score"] for t in tests.values()) if results else None
    board = (results or {}).get("leaderboard") or []
    row["macro_f1"] = board[0]["value"] if board and "model" in check_ids else None
    row["error"] = error
    return row


def grade_class(
    folder: str | os.PathLike,
    out_csv: str | os.PathLike,
    *,
    jobs: int = 1,
    assignment: str = "fashion_mnist",
    hidden: bool = False,
    progress: bool = True,
    **grade_options,
):
    """Grade every student's subfolder; write ``out_csv`` (one row each) and a results.json per student.

    Returns the table (pandas). A student whose grading hit a grader fault gets a row with empty
    scores and the reason in ``error``; the others are graded as usual.
    """
    import pandas as pd
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if jobs < 1:
        raise GradingError(f"--jobs must be at least 1; got {jobs}.")
    submissions = students(folder)
    only = grade_options.get("only")
    check_ids = [c.id for c in load_rubric(assignment, hidden=hidden).checks if only is None or c.id in only]
    keep = results_dir(out_csv)
    keep.mkdir(parents=True, exist_ok=True)
    container_mb = container_memory_mb()
    if container_mb is not None and jobs > 1:
        fits = max(1, children_that_fit(container_mb, own_memory_mb()))
        if fits < jobs:
            print(
                f"memory limit {container_mb} MB holds {fits} grading child(ren) at a time: --jobs {fits}, not {jobs}"
            )
            jobs = fits
    # children per student: two when students go one at a time, one each when several run at once
    options = {"workers": 2 if jobs == 1 else 1, "memory_share": jobs, **grade_options}

    def one(submission: Path) -> dict:
        try:
            results = grade(submission, assignment=assignment, hidden=hidden, quiet=True, **options)
        except (GraderFault, GradingError) as error:
            return _row(submission.name, None, check_ids, str(error))
        write_results(results, keep / submission.name / "results.json")
        return _row(submission.name, results, check_ids)

    rows = []
    console = Console(stderr=True)
    columns = (TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TextColumn("students"), TimeElapsedColumn())
    with (
        Progress(*columns, console=console, disable=not progress) as bar,
        ThreadPoolExecutor(max_workers=jobs) as pool,
    ):
        task = bar.add_task("grading", total=len(submissions))
        for future in as_completed([pool.submit(one, s) for s in submissions]):
            rows.append(future.result())
            bar.advance(task)
    table = pd.DataFrame(sorted(rows, key=lambda row: row["student"]))
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_csv, index=False)
    return table
