"""The skeleton every assignment runner uses: its step log, a step's visible checks, its arguments, its summary.

An assignment's ``runner.py`` (``python -m kit homework --assignment NAME``) holds only its own steps;
what every runner shares lives here and receives the assignment (``kit.assignments.Assignment``):

- ``StepLog``: what happened at each step (ok, todo: a function not written yet, note, error, check
  failed), echoed as ``[ok] ...`` lines; a student's function or a kit action that fails is recorded and
  the other steps go on;
- ``visible_checks``: the autograder's visible checks of a step, judged in this process with the
  grader's inputs, judges and messages (``kit.grading.kinds.judge_in_process``), so an ``[ok]`` here
  is a pass in ``make check``; a check's step and function are rubric data (``Check.step``, ``Check.function``);
- ``parser``: the common arguments (``--impl``, ``--preset``, ``--out``, ``--data-dir``, and where the
  runner has them ``--minutes`` and ``--steps``);
- ``Session``: the summary envelope (the implementation, the preset, the machine; then the steps, to-dos,
  problems and seconds), ``summary.json`` and ``report.md`` written at the end.

A budget shared among a runner's steps is ``kit.budget.BudgetSplit``.
"""

from __future__ import annotations

import argparse
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from kit import REPO_ROOT, assignments, environment
from kit.assignments import Assignment
from kit.errors import GradingError, KitError
from kit.files import jsonable, write_json

MISSING = object()  # what a student's function, or a kit action, that gave no result returns
SUMMARY_FILE, REPORT_FILE = "summary.json", "report.md"
MARKERS = {"ok": "ok", "todo": "TODO", "note": "note"}  # any other status is a [FAIL]


def assignment_of(runner_file: str | Path) -> Assignment:
    """The assignment whose folder holds ``runner_file`` (a runner called without ``assignment=``)."""
    found = assignments.from_folder(Path(runner_file).resolve().parent)
    if found is None:
        raise KitError(f"{runner_file} is not in an assignment's folder (no {assignments.MANIFEST} beside it).")
    return found


def sibling(runner_file: str | Path, file_name: str) -> ModuleType:
    """A module beside the runner (its report, say), under one stable name (``_kit_<assignment>_<file>``)."""
    path = Path(runner_file).resolve().with_name(file_name)
    return assignments.load_module(path, f"_kit_{path.parent.name}_{path.stem}", stable=True)


def impl_resolvers(runner_file: str | Path) -> tuple[Callable[..., str], Callable[..., Path]]:
    """A runner's ``default_impl(root)`` and ``resolve_impl(impl, root)`` for the assignment whose folder holds it."""
    name = Path(runner_file).resolve().parent.name

    def default_impl(root: Path = REPO_ROOT) -> str:
        """`solutions` where that folder exists (the instructor's repository), else `assignments`."""
        return assignments.default_impl(name, root=root)

    def resolve_impl(impl: str | None = None, root: Path = REPO_ROOT) -> Path:
        """The entry file that `--impl` names: `solutions`, `assignments`, a folder, or a .py file."""
        return assignments.resolve_impl(name, impl, root=root)

    return default_impl, resolve_impl


def load_homework(path: str | Path, assignment: Assignment | None = None) -> ModuleType:
    """Import the student's entry file by path under a unique module name (several may be loaded side by side)."""
    return assignments.load_entry(path, f"_kit_{assignment.name}_entry" if assignment else "_kit_homework")


def _prefix(step: int | str | None) -> str:
    """'step 3: ' before a numbered step's messages; nothing for a named part."""
    return f"step {step}: " if isinstance(step, int) else ""


def _where(error: BaseException) -> str:
    frame = traceback.extract_tb(error.__traceback__)[-1]
    return f"{Path(frame.filename).name}:{frame.lineno}"


def _unwritten(error: NotImplementedError, homework: ModuleType | None) -> str:
    """The homework function whose stub raised ``error`` (the innermost frame in the student's file), or ""."""
    names = []
    trace = error.__traceback__
    while trace is not None:
        if homework is not None and trace.tb_frame.f_globals is vars(homework):
            names.append(trace.tb_frame.f_code.co_name)
        trace = trace.tb_next
    return names[-1] if names else ""


@dataclass
class StepLog:
    """What happened at each step: ok, todo (not written yet), note, error or check failed; each echoed as a line."""

    homework: ModuleType | None = None  # the student's module: a stub raising NotImplementedError is a to-do
    records: list[dict] = field(default_factory=list)
    echo: Callable[[str], None] = print
    entry: str = "homework.py"

    def add(self, step: int | str | None, name: str, status: str, message: str) -> None:
        self.records.append({"step": step, "name": name, "status": status, "message": message})
        self.echo(f"[{MARKERS.get(status, 'FAIL')}] {message}")

    def call(self, homework: ModuleType, step: int | str | None, name: str, /, *args, **kwargs):
        """Call the student's function; a missing or unwritten one is a to-do, an exception an error; else MISSING."""
        function = getattr(homework, name, None)
        if function is None:
            self.add(step, name, "todo", f"{_prefix(step)}implement `{name}` in {self.entry} (it is missing)")
            return MISSING
        try:
            return function(*args, **kwargs)
        except NotImplementedError:
            self.add(step, name, "todo", f"{_prefix(step)}implement `{name}` in {self.entry}")
        except Exception as error:  # noqa: BLE001 - a student's bug, of any type, must not stop the other steps
            message = f"{_prefix(step)}`{name}` raised {type(error).__name__}: {error} ({_where(error)})"
            self.add(step, name, "error", message)
        return MISSING

    def run(self, step: int | str | None, what: str, action: Callable[[], Any]):
        """Run a kit action on the student's code (training, an experiment); a failure is recorded, the rest goes on.

        A stub's NotImplementedError is a to-do naming the function; any other exception an error.
        """
        try:
            return action()
        except NotImplementedError as error:
            name = _unwritten(error, self.homework)
            text = f"{what}: implement `{name}` in {self.entry}" if name else f"{what}: {error}"
            self.add(step, name or what, "todo", _prefix(step) + text)
        except Exception as error:  # noqa: BLE001 - training or checking student code may fail in any way
            self.add(step, what, "error", f"{_prefix(step)}{what} failed: {type(error).__name__}: {str(error)[:300]}")
        return MISSING

    @property
    def todo(self) -> list[str]:
        return [r["message"] for r in self.records if r["status"] == "todo"]

    @property
    def problems(self) -> list[str]:
        return [r["message"] for r in self.records if r["status"] in ("error", "check failed")]


def load_visible_rubric(assignment: Assignment, log: StepLog):
    """The visible rubric (``kit.grading.load_rubric``); None, with a note, where it does not load."""
    from kit.grading.rubric import load_rubric

    try:
        return load_rubric(assignment, hidden=False)
    except (GradingError, KitError) as error:
        log.add("checks", "rubric", "note", f"the autograder's checks are not run here: {error}")
        return None


def visible_checks(homework: ModuleType, rubric, log: StepLog, step: int | str | None = None, *, todo: bool = False):
    """The autograder's visible checks of the student's code (of ``step`` where given), judged in this process.

    One log line and one row ({check, points, max_points, verdict}) per check. A function not written
    yet is a to-do line where ``todo`` (else left to the step's own to-do line) and a row of 0 points.
    """
    from kit.grading.kinds import NotWritten, judge_in_process

    rows = []
    for check in rubric.checks if rubric else ():
        if check.visibility == "hidden" or not rubric.kind(check).needs_entry:
            continue
        if step is not None and check.step != step:
            continue
        function = check.function or check.id
        what = _prefix(check.step) + check.title
        part = "checks" if check.step is None else check.step
        try:
            verdict = judge_in_process(homework, check, rubric.kinds)
        except NotWritten:
            if todo:
                message = f"{what}: implement `{function}` in {log.entry} (0/{check.points:g} points)"
                log.add(part, function, "todo", message)
            rows.append({"check": check.name, "points": 0.0, "max_points": check.points, "verdict": "not written yet"})
            continue
        points = verdict.points(check.points)
        full = verdict.passed and verdict.fraction == 1
        status, text = ("ok", "passes the autograder's check") if full else ("check failed", verdict.message)
        log.add(part, function, status, f"{what}: {text} ({points:g}/{check.points:g} points)")
        rows.append({"check": check.name, "points": points, "max_points": check.points, "verdict": text})
    return rows


def parse_steps(text: str | Iterable[int] | None, steps: tuple[int, ...], reading: str = "") -> tuple[int, ...]:
    """`--steps 5,7` -> (5, 7); None or "" -> every step. An unknown step is one ValueError listing the valid ones."""
    if text is None or text == "":
        return steps
    items = [item.strip() for item in text.split(",")] if isinstance(text, str) else list(text)
    valid = {str(step) for step in steps}
    for item in items:
        if str(item) not in valid:
            raise ValueError(
                f"Unknown step {item!r}; valid steps: {', '.join(map(str, steps))} (e.g. --steps "
                f"{','.join(map(str, steps[-2:]))}{'; ' + reading if reading else ''})."
            )
    return tuple(sorted({int(item) for item in items}))


def parser(
    assignment: Assignment | str | Path,
    description: str,
    presets: Iterable[str],
    *,
    out: str,
    preset_help: str | None = None,
    minutes_help: str | None = None,
    steps_help: str | None = None,
) -> argparse.ArgumentParser:
    """The runner's arguments: --impl, --preset, --out, --data-dir; --minutes and --steps where their help is given.

    ``assignment``: the manifest's assignment, or the runner's file (its folder's assignment).
    """
    if not isinstance(assignment, Assignment):
        assignment = assignment_of(assignment)
    parser = argparse.ArgumentParser(
        prog=f"python -m kit homework --assignment {assignment.name}", description=description
    )
    parser.add_argument(
        "--impl", help=f"solutions, assignments, or a folder with {assignment.entry} (default: solutions where present)"
    )
    parser.add_argument("--preset", choices=tuple(presets), default="quick", help=preset_help)
    if minutes_help:
        parser.add_argument("--minutes", type=float, help=minutes_help)
    if steps_help:
        parser.add_argument("--steps", help=steps_help)
    parser.add_argument("--out", default=out)
    parser.add_argument("--data-dir")
    return parser


@dataclass
class Session:
    """One run of a runner: the student's module, the output folder, the log, and the summary envelope."""

    assignment: Assignment
    impl: Path
    preset: str
    out_dir: Path
    log: StepLog
    homework: ModuleType | None = None
    started: float = field(default_factory=time.perf_counter)
    summary: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(
        cls, assignment: Assignment, impl: str | None, preset: str, out: str | Path, *, echo=print, header: str = ""
    ) -> Session:
        """Resolve ``--impl``, make the output folder, echo the header line, import the student's file."""
        path = assignments.resolve_impl(assignment.name, impl, entry=assignment.entry, root=assignment.root)
        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
        session = cls(assignment, path, preset, out_dir, StepLog(echo=echo, entry=assignment.entry))
        echo(f"{assignment.name}: {path} | preset {preset}{header} | output {out_dir}")
        session.homework = session.log.homework = load_homework(path, assignment)
        session.summary = {"preset": preset, "impl": str(path), **environment.describe()}
        return session

    def finish(self, write_report: Callable[[dict, Path], Any], **extra) -> dict:
        """The envelope's end (steps, to-dos, problems, seconds); summary.json and report.md written; the summary."""
        self.summary.update(
            steps=self.log.records,
            todo=self.log.todo,
            problems=self.log.problems,
            total_seconds=round(time.perf_counter() - self.started, 1),
            **extra,
        )
        self.summary = jsonable(self.summary)
        write_json(self.out_dir / SUMMARY_FILE, self.summary)
        write_report(self.summary, self.out_dir)
        return self.summary


def main(parser: argparse.ArgumentParser, argv: list[str] | None, run: Callable, what: str = "function(s)") -> int:
    """A runner's command line: its arguments parsed, ``run(args)`` -> the summary, the last line printed; 0."""
    args = parser.parse_args(argv)
    summary = run(args)
    out = Path(args.out)
    print(
        f"wrote {out / REPORT_FILE} and {out / SUMMARY_FILE} in {summary['total_seconds']:.0f} s"
        + (f"; {len(summary['todo'])} {what} still to write" if summary["todo"] else "")
    )
    return 0
