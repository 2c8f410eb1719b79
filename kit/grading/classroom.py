"""A whole class at once: ``python -m kit class grade SOURCE --out DIR`` (and ``kit grade --class``).

SOURCE is a folder with one subfolder per student or Gradescope's "Download Submissions" export
(``kit.grading.submissions``). Each submission is graded exactly as ``kit grade`` grades one (own
sandbox, own uids), with every check, hidden ones included (the student's final grade, what
Gradescope gives; ``hidden=False`` is the student's own view), so a student's row never depends
on ``--jobs`` or on the other students. DIR receives:

- ``results/<student>/results.json`` (Gradescope's results, as ``kit grade`` writes them) and
  ``results/<student>/grading.json`` (the key it was graded under, its time);
- ``grades.csv``, and ``canvas.csv`` / ``moodle.csv`` where the export gave a roster
  (``kit.grading.gradebook``);
- ``report.md`` with its pictures (``kit.grading.class_report``) and ``similarity.html`` /
  ``similarity.csv`` (``kit.grading.similarity``).

**The gradebook never loses a student.** Every student the source names has a row in grades.csv
and the report: one that could not be graded has an empty grade and the reason in ``error``
(and the command exits 2). A quick look (``checks``: fewer checks than the rubric) goes to
``DIR/quick-look/`` and never touches the class's files. One grader at a time per DIR (a lock).

**Resumable.** A submission's key is the SHA-256 of the files the grader reads, of the rubric
(its checks, points, parameters and limits, the hidden flag, the grading options) and of the
grading engine (the kit's source and the versions of the libraries that compute a score): a
second run grades only new or changed submissions and keeps the rest; a changed engine regrades
everyone. Each result is written (atomically) the moment it is graded, so an interrupted run
(Ctrl-C, kill -9) loses nothing already graded. ``students=[...]`` (``--only``) regrades those
students alone; ``force`` regrades everyone. A grader fault (the sandbox failed twice, an
internal error) is listed apart from the students' zeros: the student gets no grade (an empty
cell, never 0) and the next run tries again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kit.errors import GradingError
from kit.files import write_json
from kit.grading.engine import engine_key
from kit.grading.gradescope import write_results
from kit.grading.kinds import ModelFileKind
from kit.grading.submissions import ClassSubmissions, Student, Submission, open_class

RESULTS = "results"
KEY_FILE = "grading.json"
QUICK_LOOK = "quick-look"  # DIR/quick-look/: a run of fewer checks than the rubric (never the class's own files)
LOCK_FILE = ".grading.lock"
# grade() options that change when and where a check runs, never its score: not part of the key
SCHEDULING_OPTIONS = ("workers", "memory_share", "quiet", "sandbox_options")


@dataclass
class ClassResult:
    """What a class run did: the table, who was graded now, who was kept, who could not be graded and why."""

    table: object  # pandas.DataFrame, one row per student
    out_dir: Path  # where this run wrote (DIR, or DIR/quick-look for a quick look)
    graded: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    faults: dict[str, str] = field(default_factory=dict)  # student -> the grader's fault
    not_graded: dict[str, str] = field(default_factory=dict)  # student -> why (unreadable, outside --only)
    problems: list[str] = field(default_factory=list)  # the source's bad input, one sentence each
    written: list[Path] = field(default_factory=list)
    quick_look: bool = False
    engine_changed: int = 0  # results kept from an earlier engine or rubric, regraded now
    not_in_lms: list[str] = field(default_factory=list)  # roster students left out of moodle.csv (no grade)

    @property
    def complete(self) -> bool:
        """Whether every student has a grade (else the command exits 2)."""
        return not self.faults and not any("not graded yet" not in why for why in self.not_graded.values())


def results_dir(out_dir: str | os.PathLike) -> Path:
    """``DIR/results``: one folder per student."""
    return Path(out_dir) / RESULTS


def rubric_key(rubric, selected, *, hidden: bool, options: dict) -> str:
    """A digest of the rubric: everything besides the submission and the engine that decides a grade.

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


def _meta(student_dir: Path) -> dict:
    try:
        meta = json.loads((student_dir / KEY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _stored(student_dir: Path, key: str) -> dict | None:
    """The results kept for a student when they were graded under ``key``; None otherwise."""
    if _meta(student_dir).get("key") != key:
        return None
    try:
        return json.loads((student_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def class_lock(out_dir: Path) -> Iterator[None]:
    """One grader per class folder: a second run on the same DIR is refused in one sentence (the lock dies with us)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    handle = open(out_dir / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole run
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise GradingError(
                f"{out_dir} is being graded by another `kit class grade` ({holder}); wait for it to finish, "
                "or pass another --out."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n")
        handle.flush()
        yield
    finally:
        handle.close()


def _check_out(source: Path, out_dir: Path) -> None:
    """The class folder may not sit inside the source: its results would be graded as a student next time."""
    if source.is_dir() and out_dir.resolve().is_relative_to(source.resolve()):
        raise GradingError(
            f"--out {out_dir} is inside the source {source}: its folders would be read as students; "
            "pass an --out outside the source."
        )


def _model_figure(results: dict | None, figure: str | None, model_ids: set[str]) -> float | None:
    """The leaderboard figure of a student whose model was scored (a model check with points); else None."""
    if not results or not figure:
        return None
    scored = any(t.get("tags", [None])[0] in model_ids and t.get("score", 0) > 0 for t in results.get("tests", []))
    board = {entry.get("name"): entry.get("value") for entry in results.get("leaderboard") or []}
    return board.get(figure) if scored else None


def _row(
    student: Student,
    results: dict | None,
    check_ids: list[str],
    figure: tuple[str | None, set[str]],
    error: str = "",
) -> dict:
    row: dict = {"student": student.student, "name": student.name, "email": student.email}
    tests = {t["tags"][0]: t for t in (results or {}).get("tests", []) if t.get("tags")}
    for check_id in check_ids:
        row[check_id] = tests[check_id]["score"] if check_id in tests else None
    row["total"] = results["score"] if results else None
    row["max"] = sum(t["max_score"] for t in tests.values()) if results else None
    name, model_ids = figure
    if name:
        row[name] = _model_figure(results, name, model_ids)
    row["error"] = error
    return row


def grade_class(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    assignment: str | None = None,
    jobs: int = 1,
    hidden: bool = True,
    students: Iterable[str] | None = None,
    checks: Iterable[str] | None = None,
    force: bool = False,
    similarity: bool = True,
    report: bool = True,
    progress: bool = True,
    lms_column: str | None = None,
    **grade_options,
) -> ClassResult:
    """Grade a class into ``out_dir`` (module docstring); return what happened.

    ``hidden``: every check (the default, the final grade), or the visible ones alone (the student's
    view); ``students``: regrade only these (``--only``); ``checks``: grade only these check ids (a
    quick look, written to ``DIR/quick-look``); ``lms_column``: the gradebook column of canvas.csv
    (default the assignment's title); ``grade_options`` go to ``kit.grading.grader.grade``.
    """
    from kit.assignments import get as get_assignment
    from kit.grading.rubric import load_rubric

    if jobs < 1:
        raise GradingError(f"--jobs must be at least 1; got {jobs}.")
    source, class_dir = Path(source), Path(out_dir)
    task = get_assignment(assignment)
    _check_out(source, class_dir)
    rubric = load_rubric(task, hidden=hidden)  # once for the class: every submission is graded with it
    selected = rubric.select(hidden=hidden, only=checks)
    quick_look = checks is not None and len(selected) < len(rubric.select(hidden=hidden))
    if checks is not None:
        grade_options["only"] = list(checks)
    check_ids = [c.id for c in selected]
    model_ids = {c.id for c in selected if isinstance(rubric.kind(c), ModelFileKind)}  # a submitted model scored
    figure = task.leaderboard if task.leaderboard and model_ids else None
    rubric_digest, engine = rubric_key(rubric, selected, hidden=hidden, options=grade_options), engine_key()
    key = rubric_digest + engine
    with class_lock(class_dir):
        out_dir = class_dir / QUICK_LOOK if quick_look else class_dir
        keep = results_dir(out_dir)
        keep.mkdir(parents=True, exist_ok=True)
        with open_class(source, entry=task.entry) as klass:
            result = ClassResult(None, out_dir, problems=list(klass.problems), quick_look=quick_look)
            stored, to_grade = _plan(klass, task, keep, key, (rubric_digest, engine), students, force, result)
            fresh, faults = _grade_submissions(
                klass, to_grade, keep, (rubric_digest, engine), rubric, hidden, jobs, progress, grade_options
            )
            stored.update(fresh)
            result.graded = sorted(fresh)
            result.faults = faults
            rows = []
            for student in klass.students:
                error = faults.get(student.student) or result.not_graded.get(student.student, "")
                rows.append(_row(student, stored.get(student.student), check_ids, (figure, model_ids), error))
            _write_class(result, rows, stored, klass, task, selected, figure, lms_column, similarity, report, progress)
    return result


def _write_class(
    result: ClassResult,
    rows: list[dict],
    stored: dict[str, dict],
    klass: ClassSubmissions,
    task,
    selected: list,
    figure: str | None,
    lms_column: str | None,
    similarity: bool,
    report: bool,
    progress: bool,
) -> None:
    """grades.csv (and, from a full run, the LMS files), the similarity page and report.md, into the run's folder."""
    from kit.grading.gradebook import grades_table, write_gradebooks, write_grades

    out_dir = result.out_dir
    result.table = grades_table(rows)
    if figure and result.table[figure].isna().all():
        figure = None  # no model was scored: no leaderboard of zeros
        result.table = result.table.drop(columns=task.leaderboard)
    if result.quick_look:
        result.written = [write_grades(result.table, out_dir)]
    else:
        column = lms_column or task.title or task.name
        points = sum(c.points for c in selected)
        result.written, result.not_in_lms = write_gradebooks(result.table, klass, out_dir, column=column, points=points)
    found = _similarity(klass, task, out_dir, progress, result) if similarity else None
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


def _plan(
    klass: ClassSubmissions,
    task,
    keep: Path,
    key: str,
    grader: tuple[str, str],
    students: Iterable[str] | None,
    force: bool,
    result: ClassResult,
) -> tuple[dict[str, dict], dict[str, tuple[Submission, str]]]:
    """Who is kept (graded before under the same key) and who is graded now; refuses a mixed class.

    ``--only`` after a change of the engine or the rubric would leave a class graded by two of them:
    refused in one sentence (run without ``--only``).
    """
    wanted = None if students is None else {klass.student(name).student for name in students}
    stored: dict[str, dict] = {}
    to_grade: dict[str, tuple[Submission, str]] = {}
    stale = []
    for student in klass.students:
        submission = student.submission
        if submission.problem:
            result.not_graded[student.student] = submission.problem
            continue
        meta = _meta(keep / student.student)
        changed = bool(meta) and (meta.get("rubric"), meta.get("engine")) != grader
        if changed:
            stale.append(student.student)
        submission_key = hashlib.sha256((submission.content_hash(task.files) + key).encode()).hexdigest()
        regrade = force or changed or (wanted is not None and student.student in wanted)
        kept = None if regrade else _stored(keep / student.student, submission_key)
        if kept is not None:
            stored[student.student] = kept
            result.kept.append(student.student)
        elif wanted is not None and student.student not in wanted:
            result.not_graded[student.student] = "not graded yet (run without --only to grade everyone)"
        else:
            to_grade[submission.id] = (submission, submission_key)
    others = [name for name in stale if wanted is not None and name not in wanted]
    if others:
        raise GradingError(
            f"the grading engine or the rubric changed since {len(others)} student(s) were graded ({others[0]}, ...): "
            "--only would leave the class graded by two versions; run without --only to regrade everyone."
        )
    result.engine_changed = len(stale)
    return stored, to_grade


def _progress_bar(console, progress: bool):
    """Rich's progress bar on stderr: the students being graded, done of all, elapsed, ETA."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}", style="bold"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("submissions"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=console, disable=not progress)


def _keep(results: dict, students: list[Student], keep: Path, meta: dict) -> None:
    """A submission's results, written for each of its students the moment it is graded (an interruption
    later loses nothing graded), with the key it was graded under."""
    for student in students:
        folder = keep / student.student
        write_results(results, folder / "results.json")
        write_json(folder / KEY_FILE, {**meta, "graded_at": datetime.now(UTC).isoformat(timespec="seconds")})


def _similarity(klass: ClassSubmissions, task, out_dir: Path, progress: bool, result: ClassResult):
    """The similarity stage (code and models), shown while it runs."""
    from rich.console import Console

    from kit.grading.similarity import compare_class, released_stub, write_similarity

    shown = f"comparing {len(klass.submissions())} submissions for similarity (code, models)"
    with Console(stderr=True).status(shown) if progress else contextlib.nullcontext():
        found = compare_class(klass, task.files, released_stub(task))
        result.written.append(write_similarity(found, out_dir, title=task.name))
    return found


def _grade_submissions(
    klass: ClassSubmissions,
    to_grade: dict[str, tuple[Submission, str]],
    keep: Path,
    grader: tuple[str, str],
    rubric,
    hidden: bool,
    jobs: int,
    progress: bool,
    grade_options: dict,
) -> tuple[dict[str, dict], dict[str, str]]:
    """Grade each submission (``jobs`` at a time) and store its results for each of its students at once."""
    from rich.console import Console

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
    now_grading: dict[str, str] = {}  # submission id -> the students shown on the bar
    shown = threading.Lock()

    def one(submission: Submission, submission_key: str) -> tuple[list[Student], dict | None, str]:
        with shown:
            now_grading[submission.id] = ", ".join(s.student for s in owners[submission.id])
            bar.update(task, description="grading " + "; ".join(now_grading.values()))
        started = time.monotonic()
        try:
            results = grade(
                submission.folder, assignment=rubric.assignment, rubric=rubric, hidden=hidden, quiet=True, **options
            )
        except (GraderFault, GradingError) as error:
            return owners[submission.id], None, str(error)
        except Exception as error:  # noqa: BLE001 - one student's grader bug must not cost the class
            return owners[submission.id], None, f"the grader failed ({type(error).__name__}: {error})"
        finally:
            with shown:
                now_grading.pop(submission.id, None)
        meta = {"key": submission_key, "rubric": grader[0], "engine": grader[1], "submission": submission.id}
        _keep(results, owners[submission.id], keep, {**meta, "seconds": round(time.monotonic() - started, 2)})
        return owners[submission.id], results, ""

    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        with _progress_bar(console, progress) as bar:
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
            bar.update(task, description="graded")
    except KeyboardInterrupt:
        console.print("interrupted: the submissions graded so far are kept; run the same command again to go on")
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return fresh, faults
