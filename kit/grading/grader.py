"""The autograder: a submission folder -> Gradescope's results (``python -m kit grade``).

The grader (this process) is trusted; the student's code is not. Here nothing of the student's
is imported or unpickled: each rubric check runs the one student function it needs in a
sandboxed child (``kit.grading.sandbox``), model files are opened only by a second, trusted
child with Keras' safe mode, and only JSON / ``.npz`` (``allow_pickle=False``) come back. The
answers are judged here, after the child has exited, by ``kit.grading.judges`` (the same judges
the student's self-check uses); a check passes only on an explicit, well-formed record that
matches. ``results.json`` is written last, atomically, to a path no child is told.
The threat model and its limits: docs/grading.md.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit.assignments import Assignment
from kit.errors import GradingError
from kit.grading.gradescope import empty_leaderboard, write_results
from kit.grading.judges import CheckFailed, Verdict
from kit.grading.kinds import Kind
from kit.grading.rubric import Check, Rubric, load_rubric
from kit.grading.sandbox import (
    GraderFault,
    Limits,
    Sandbox,
    Task,
    container_memory_mb,
    copy_from_child,
    fit_to_memory,
    inspect_zip,
    own_memory_mb,
)

# A kind marked ``alone`` (the model on the test set, ~700 MB) shares the trusted child with the other
# inspections where a child may hold this much (locally: the rubric's 3,072 MB), saving a start of
# Keras; under less (Gradescope's 1.5 GB leaves 1,234 MB) it gets a child of its own.
BATCHED_HEAVY_MIN_MB = 2048

# ------------------------------------------------------------------ outcome of one check


@dataclass
class Outcome:
    score: float
    status: str  # "passed" / "failed"
    detail: str  # why (student-facing, no student output for hidden checks)
    student_output: str = ""  # captured stdout/stderr and tracebacks (visible checks only)
    leaderboard: dict | None = None
    seconds: float = 0.0


def _fail(detail: str, student_output: str = "") -> Outcome:
    return Outcome(0.0, "failed", detail, student_output)


def _outcome(check: Check, verdict: Verdict, student_output: str = "") -> Outcome:
    if not verdict.passed and verdict.fraction == 0:
        return Outcome(0.0, "failed", verdict.message, student_output, verdict.leaderboard)
    return Outcome(verdict.points(check.points), "passed", verdict.message, "", verdict.leaderboard)


@dataclass
class Plan:
    """One check on its way through the grader: inputs -> the student's child -> the trusted child -> judge."""

    check: Check
    kind: Kind
    inputs: dict = field(default_factory=dict)
    answer: dict = field(default_factory=dict)
    outcome: Outcome | None = None  # set once the check has ended (early on a failure)
    output: str = ""  # the student child's captured output (visible checks show it on failure)
    seconds: float = 0.0


@dataclass
class Files:
    """The submission's files as the grader sees them (``Kind.submitted``): refused here before any child opens them."""

    submission: Path

    def model(self, params: dict) -> Path:
        """The submission's model file (size, zip, no HDF5, no Lambda layer checked); ``CheckFailed`` otherwise."""
        name = params.get("file", "model.keras")
        path = self.submission / name
        if not path.exists():
            others = sorted(
                q.name for q in self.submission.iterdir() if q.suffix.lower() in (".h5", ".hdf5", ".keras", ".pb")
            )
            if any(other.lower().endswith((".h5", ".hdf5")) for other in others):
                raise CheckFailed(
                    f"found an .h5 model: only the Keras 3 format is accepted; save with model.save('{name}')."
                )
            raise CheckFailed(f"no {name} in the submission (save your best model with model.save('{name}')).")
        if path.is_symlink() or not path.is_file():
            raise CheckFailed(f"{name} must be a regular file.")
        size = path.stat().st_size
        if size > params.get("max_mb", 200) << 20:
            raise CheckFailed(f"{name} is {size >> 20} MB; at most {params.get('max_mb', 200)} MB is accepted.")
        with open(path, "rb") as handle:
            if handle.read(8).startswith(b"\x89HDF"):
                raise CheckFailed(f"{name} is an HDF5 (.h5) file renamed: save with model.save('{name}').")
        try:
            inspect_zip(path, max_total_bytes=params.get("max_unzipped_mb", 400) << 20, max_ratio=100.0)
        except GradingError as error:
            raise CheckFailed(f"{name} was refused: {error}") from None
        problem = _model_config_problem(path)
        if problem:
            raise CheckFailed(problem)
        return path


@dataclass
class Slot:
    """One of the grader's concurrent lanes: its checks run in batch children of its own uid (``Sandbox.run_batch``)."""

    sandbox: Sandbox
    number: int
    submission: Path
    limits: Limits
    rubric: Rubric
    checks_files: list[str]  # the assignment's checks files, relative to the sandbox's private lib
    isolation: list = field(default_factory=list)
    load_errors: list = field(default_factory=list)  # the entry file did not import: why

    def grade(self, plans: list[Plan], has_entry: bool) -> None:
        """Every plan of this lane to its outcome: the student's calls (visible, then hidden), inspections, judges."""
        entry = self.rubric.assignment.entry
        for plan in plans:
            self._guard(plan, lambda plan=plan: self._prepare(plan, has_entry))
        for visibility in ("visible", "hidden"):  # apart: a visible check never shares a child with a hidden one
            todo = [
                p
                for p in plans
                if p.outcome is None
                and p.kind.needs_entry
                and (p.check.visibility == "hidden") == (visibility == "hidden")
            ]
            tasks = [
                Task({"kind": p.check.kind, "params": p.check.params}, p.inputs, {}, p.check.timeout) for p in todo
            ]
            request = {"side": "student", "entry": entry, "checks": self.checks_files}
            self._run(todo, tasks, request, {entry: self.submission / entry}, self._take_student)
        todo = [p for p in plans if p.outcome is None and p.kind.needs_inspection(p.answer)]
        alone = [p for p in todo if p.kind.alone and self.limits.memory_mb < BATCHED_HEAVY_MIN_MB]
        for group in [[p for p in todo if p not in alone]] + [[p] for p in alone]:
            tasks = [self._inspection(p) for p in group]
            self._run(group, tasks, {"side": "trusted", "checks": self.checks_files}, {}, self._take_inspection)
        for plan in plans:
            if plan.outcome is None:
                self._guard(plan, lambda plan=plan: self._judge(plan))

    def _prepare(self, plan: Plan, has_entry: bool) -> None:
        if plan.kind.needs_entry and not has_entry:
            entry = self.rubric.assignment.entry
            raise CheckFailed(f"No {entry} in the submission (upload {entry} itself, not a folder or zip).")
        plan.inputs = plan.kind.inputs(plan.check.params)
        if not plan.kind.needs_entry:
            plan.answer = dict(plan.kind.submitted(Files(self.submission), plan.check.params))

    def _inspection(self, plan: Plan) -> Task:
        models = {name: path for name, path in plan.answer.items() if isinstance(path, Path)}
        arrays = {f"input.{k}": v for k, v in plan.inputs.items()}
        arrays.update({f"answer.{k}": v for k, v in plan.answer.items() if isinstance(v, np.ndarray)})
        data = {k: v for k, v in plan.answer.items() if k not in models and not isinstance(v, np.ndarray)}
        request = {"kind": plan.check.kind, "params": plan.check.params, "models": list(models), "answer": data}
        return Task(request, arrays, models, plan.check.timeout)

    def _run(self, plans: list[Plan], tasks: list[Task], request: dict, files: dict, take) -> None:
        if not plans:
            return
        results = self.sandbox.run_batch(tasks, request=request, files=files, limits=self.limits, slot=self.number)
        for plan, result in zip(plans, results, strict=True):
            plan.seconds += result.wall_seconds
            if result.load_error and result.load_error not in self.load_errors:
                self.load_errors.append(result.load_error)
            self._guard(plan, lambda plan=plan, result=result: take(plan, result))

    def _checked(self, result) -> str:
        """The child's captured output; ``CheckFailed`` where it gave no answer or an error."""
        self.isolation.append(result.isolation)
        output = _student_output(result)
        if result.record is None:
            raise CheckFailed(f"Your code gave no answer: {result.problem}.", output)
        if not result.record.get("ok"):
            raise CheckFailed(str(result.record.get("error") or "the check failed")[:4000], output)
        return output

    @staticmethod
    def _within_limits(plan: Plan, result, whose: str) -> None:
        """A result the grader cannot read back for its size is the grader's fault: no grade, the reason."""
        if result.over_limit:
            raise GraderFault(
                f"check {plan.check.id!r}: {whose} exceeds what the grader reads back from a child "
                f"({result.over_limit}); the submission was not graded (the course staff must split the check "
                f"or raise the limit in kit/grading/sandbox.py)"
            )

    def _take_student(self, plan: Plan, result) -> None:
        self._within_limits(plan, result, "the answer of the submission's code")
        plan.output = self._checked(result)
        plan.answer = {**(result.record.get("data", {}).get("answer") or {}), **result.arrays}
        for name in result.record.get("data", {}).get("models") or []:
            plan.answer[str(name)] = self._fetch_model(result, str(name))

    def _take_inspection(self, plan: Plan, result) -> None:
        self._within_limits(plan, result, "the reference answers (the trusted step)")
        record = result.record or {}
        if not record.get("ok") and (record.get("data") or {}).get("grader_error"):
            raise GradingError(f"its trusted step failed: {record.get('error')}")  # e.g. a reference's bug
        self._checked(result)
        plan.answer = {**plan.answer, **(result.record.get("data", {}).get("answer") or {}), **result.arrays}

    def _judge(self, plan: Plan) -> None:
        verdict = plan.kind.judge(plan.answer, plan.inputs, plan.check.params)
        plan.outcome = _outcome(plan.check, verdict, plan.output)

    def _fetch_model(self, result, name: str) -> Path:
        """A model file the student child saved in its task folder, copied out and zip-inspected."""
        folder = result.folder
        destination = Path(tempfile.mkdtemp(dir=folder.parent.parent)) / name
        try:
            copy_from_child(folder, name, destination, max_bytes=64 << 20)
            inspect_zip(destination, max_total_bytes=128 << 20)
        except GradingError as error:
            raise CheckFailed(f"the model could not be saved and read back: {error}") from None
        return destination

    @staticmethod
    def _guard(plan: Plan, step) -> None:
        """Run one step of a check; what goes wrong ends that check only (a grader fault ends the grading)."""
        try:
            step()
        except CheckFailed as failure:
            plan.outcome = _fail(str(failure), failure.student_output or plan.output)
        except GraderFault:
            raise
        except GradingError as error:
            plan.outcome = _fail(f"The grader could not run this check ({error}); please tell the course staff.")
        except Exception as error:  # noqa: BLE001 - a grader bug must not cost the other checks
            traceback.print_exc()
            kind = type(error).__name__
            plan.outcome = _fail(
                f"The grader hit an internal error on this check ({kind}); please tell the course staff."
            )


def _student_output(result) -> str:
    parts = []
    if result.stdout.strip():
        parts.append("stdout:\n" + result.stdout[-2000:])
    if result.stderr.strip():
        parts.append("stderr:\n" + result.stderr[-2000:])
    return "\n".join(parts)


def _model_config_problem(path: Path) -> str | None:
    """Look into ``config.json`` inside the .keras zip (plain JSON) for layers the grader refuses."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if "config.json" not in names:
            return f"{path.name} has no config.json: save it with model.save('{path.name}') (Keras 3)."
        info = archive.getinfo("config.json")
        if info.file_size > 16 << 20:
            return f"{path.name}'s config.json is larger than 16 MB."
        try:
            config = json.loads(archive.read("config.json").decode("utf-8"))
        except (ValueError, RecursionError, UnicodeDecodeError):
            return f"{path.name}'s config.json is not valid JSON."

    def classes(value):
        if isinstance(value, dict):
            if "class_name" in value:
                yield str(value["class_name"])
            for item in value.values():
                yield from classes(item)
        elif isinstance(value, list):
            for item in value:
                yield from classes(item)

    try:
        found = set(classes(config))
    except RecursionError:
        return f"{path.name}'s config.json is nested too deeply."
    if "Lambda" in found:
        return (
            "the model contains a Lambda layer (arbitrary Python code), which the grader refuses to load; "
            "rebuild it from built-in Keras layers."
        )
    return None


# ------------------------------------------------------------------ grading a submission


def _lanes(plans: list[Plan], count: int) -> list[list[Plan]]:
    """The checks split among ``count`` lanes, longest first to the least loaded (they finish together)."""
    lanes: list[list[Plan]] = [[] for _ in range(count)]
    loads = [0.0] * count
    for plan in sorted(plans, key=lambda p: -p.check.timeout):
        lane = loads.index(min(loads))
        lanes[lane].append(plan)
        loads[lane] += plan.check.timeout
    return lanes


def _test_entry(number: int, check: Check, outcome: Outcome) -> dict:
    lines = [check.message] if check.message else []
    detail = outcome.detail
    if check.visibility == "hidden" and "\n" in detail.strip():  # no tracebacks of hidden inputs
        detail = detail.strip().split("\n")[0].rstrip(":") + " (details of hidden checks are not shown)."
    if detail:
        lines.append(detail)
    if outcome.status == "passed" and outcome.score == check.points:
        lines.append("Passed.")
    if outcome.student_output and check.visibility == "visible":
        lines.append("Your code's output (cut):\n" + outcome.student_output)
    return {
        "name": check.name,
        "number": str(number),
        "score": round(float(outcome.score), 4),
        "max_score": float(check.points),
        "status": outcome.status,
        "output": "\n".join(lines)[:8000],
        "output_format": "text",
        "visibility": check.visibility,
        "tags": [check.id, check.kind],
    }


def grade(
    submission: str | os.PathLike,
    *,
    assignment: str | Assignment | None = None,
    hidden: bool = False,
    only: Iterable[str] | None = None,
    out: str | os.PathLike | None = None,
    timeout_scale: float = 1.0,
    workers: int = 2,
    data_dir: str | None = None,
    quiet: bool = False,
    sandbox_options: dict | None = None,
    memory_share: int = 1,
    rubric: Rubric | None = None,
) -> dict:
    """Grade one submission folder; return (and, with ``out``, write) Gradescope's results dict.

    ``hidden`` runs the hidden checks too (Gradescope); ``only`` restricts to some check ids
    (for tests); ``timeout_scale`` multiplies every check's timeout; ``memory_share``: how many
    graders of this process share the machine's (container's) memory limit; ``rubric``: the
    assignment's rubric already loaded (a class is graded with one, loaded once).
    """
    started = time.monotonic()
    submission = Path(submission).resolve()
    if not submission.is_dir():
        raise GradingError(f"Submission folder {submission} does not exist; pass the folder holding your files.")
    rubric = rubric or load_rubric(assignment)  # hidden ones too where present: `only` may name them
    entry = rubric.assignment.entry
    checks = rubric.select(hidden=hidden, only=only)
    checks = [c.scaled(timeout_scale) for c in checks]
    notes = submission_notes(submission, rubric.assignment.files, rubric.assignment.student_dir)
    has_entry = (submission / entry).is_file() and not (submission / entry).is_symlink()
    container_mb = container_memory_mb()
    limits, workers = fit_to_memory(
        Limits(**rubric.limits),
        max(1, workers),
        share=memory_share,
        container_mb=container_mb,
        grader_mb=own_memory_mb(),
    )
    if container_mb is not None and not quiet:
        print(
            f"memory limit {container_mb} MB: {workers} child(ren) at a time, each limited to {limits.memory_mb} MB",
            file=sys.stderr,
        )
    modules = {f"kit_assignment/{path.name}": path for path in rubric.checks_files}
    plans = [Plan(check, rubric.kind(check)) for check in checks]
    with Sandbox(hide=rubric.hide, slots=workers, modules=modules, **(sandbox_options or {})) as box:
        slots = [Slot(box, number, submission, limits, rubric, list(modules)) for number in range(workers)]
        lanes = _lanes(plans, len(slots))
        with ThreadPoolExecutor(max_workers=len(slots)) as pool:
            list(pool.map(lambda pair: pair[0].grade(pair[1], has_entry), zip(slots, lanes, strict=True)))
    outcomes = {plan.check.id: plan.outcome for plan in plans}
    for plan in plans:
        plan.outcome.seconds = plan.seconds
    isolation = [entry for slot in slots for entry in slot.isolation]
    load_errors = [error for slot in slots for error in slot.load_errors]
    top = [f"{entry} did not load:\n{load_errors[0].rstrip()}"] if load_errors else []  # once; each check: one line

    tests = [_test_entry(number, check, outcomes[check.id]) for number, check in enumerate(checks, start=1)]
    results = {
        "score": round(sum(t["score"] for t in tests), 4),
        "execution_time": round(time.monotonic() - started, 2),
        "output": "\n".join([*top, summary_output(tests, notes)]),
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
        "leaderboard": [outcomes[c.id].leaderboard for c in checks if outcomes[c.id].leaderboard]
        or empty_leaderboard(rubric.assignment.leaderboard),
    }
    if not quiet:
        print(summary_table(results))
        print(_isolation_note(isolation, rubric))
    if out is not None:
        write_results(results, out)
    return results


def submission_notes(submission: Path, allowed: tuple[str, ...], released: Path | None = None) -> list[str]:
    """One line naming what in the folder is not graded: neither the release's own files (``released``: the
    assignment's folder as handed out, for a student checking it in place) nor hidden files and caches."""
    shipped = {p.name for p in released.iterdir()} if released is not None and released.is_dir() else set()
    names = sorted(p.name for p in submission.iterdir()) if submission.is_dir() else []
    ignored = [n for n in names if n not in allowed and n not in shipped and not n.startswith((".", "__pycache__"))]
    if ignored:
        return [f"Ignored (only {', '.join(allowed)} are graded): {', '.join(ignored[:20])}."]
    return []


def summary_output(tests: list[dict], notes: list[str]) -> str:
    visible = [t for t in tests if t["visibility"] != "hidden"]
    got = sum(t["score"] for t in visible)
    total = sum(t["max_score"] for t in visible)
    return "\n".join([f"Visible checks: {got:g} / {total:g} points.", *notes])


def _isolation_note(isolation: list, rubric: Rubric) -> str:
    hidden = {path for entry in isolation for path in entry.get("hidden", [])}
    uids = {entry.get("uid") for entry in isolation}
    wanted = {str(p.resolve()) for p in rubric.hide if p.exists()}
    lines = [
        f"isolation: child uid(s) {sorted(u for u in uids if u is not None)}; "
        f"hidden folders: {len(hidden & wanted)} of {len(wanted)}"
    ]
    if 0 in uids:
        lines.append("WARNING: student code ran as root; run the grader as root so that it can drop privileges.")
    if wanted - hidden and isolation:
        lines.append(
            "NOTE: " + ", ".join(sorted(wanted - hidden)) + " could not be hidden from the child "
            "(no mount namespace); rely on file permissions (the packaged autograder makes its source 0700)."
        )
    return "\n".join(lines)


def summary_table(results: dict) -> str:
    """The human summary: one line per check, then the total."""
    import pandas as pd

    table = pd.DataFrame(
        [
            {
                "#": t["number"],
                "check": t["name"],
                "visibility": t["visibility"],
                "score": f"{t['score']:g}/{t['max_score']:g}",
                "status": t["status"],
            }
            for t in results["tests"]
        ]
    )
    total = sum(t["max_score"] for t in results["tests"])
    board = results.get("leaderboard") or []
    has_model = any("model" in t.get("tags", [])[1:] for t in results["tests"])
    f1 = f"; model {board[0]['name']} {board[0]['value']:.4f}" if board and has_model else ""
    text = table.to_string(index=False) if len(table) else "(no checks)"
    return f"{text}\nTotal: {results['score']:g} / {total:g} points in {results['execution_time']:.1f} s{f1}"
