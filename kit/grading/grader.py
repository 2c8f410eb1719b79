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
import queue
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit.errors import GradingError
from kit.grading import judges
from kit.grading.gradescope import write_results
from kit.grading.judges import CheckFailed, Verdict
from kit.grading.rubric import KINDS, Check, Rubric, load_rubric
from kit.grading.sandbox import (
    GraderFault,
    Limits,
    Sandbox,
    container_memory_mb,
    copy_from_child,
    fit_to_memory,
    inspect_zip,
    own_memory_mb,
)

ALLOWED_FILES = ("homework.py", "model.keras", "report.md")


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
class Context:
    """What a check runner needs: the sandbox, its slot, the submission and the grader's limits."""

    sandbox: Sandbox
    slot: int
    submission: Path
    limits: Limits
    data_dir: str | None
    isolation: list = field(default_factory=list)

    def child(self, check: Check, request: dict, *, files: dict | None = None, arrays: dict | None = None):
        limits = Limits(**{**self.limits.__dict__, "wall_seconds": check.timeout})
        result = self.sandbox.run(request, files=files or {}, arrays=arrays, limits=limits, slot=self.slot)
        if result.fault:  # not the student's doing: once more, then it is the grader's fault
            result = self.sandbox.run(request, files=files or {}, arrays=arrays, limits=limits, slot=self.slot)
            if result.fault:
                raise GraderFault(f"{result.fault} (check {check.id!r}, twice); the submission was not graded.")
        self.isolation.append(result.isolation)
        output = _student_output(result)
        if result.record is None:
            raise CheckFailed(f"Your code gave no answer: {result.problem}.", output)
        if not result.record.get("ok"):
            raise CheckFailed(str(result.record.get("error") or "the check failed")[:4000], output)
        return result, output

    def student(self, check: Check, request: dict, arrays: dict | None = None):
        """Run one student function (only ``homework.py`` is copied in)."""
        return self.child(
            check, {**request, "side": "student"}, files={"homework.py": self.submission / "homework.py"}, arrays=arrays
        )

    def trusted(self, check: Check, request: dict, models: dict[str, Path], arrays: dict | None = None):
        """Open model files with Keras' safe mode in a child that has no student code."""
        return self.child(check, {**request, "side": "trusted", "models": list(models)}, files=models, arrays=arrays)


def _student_output(result) -> str:
    parts = []
    if result.stdout.strip():
        parts.append("stdout:\n" + result.stdout[-2000:])
    if result.stderr.strip():
        parts.append("stderr:\n" + result.stderr[-2000:])
    return "\n".join(parts)


# ------------------------------------------------------------------ check kinds: inputs -> child -> judge


def check_dataset_summary(check: Check, ctx: Context) -> Outcome:
    inputs = judges.summary_inputs(check.params)
    request = {"action": "dataset_summary", "class_names": judges.class_names(check.params)}
    result, output = ctx.student(check, request, inputs)
    data = result.record.get("data", {})
    answer = {"index": data.get("index"), "columns": data.get("columns"), **result.arrays}
    return _outcome(check, judges.judge_dataset_summary(answer, inputs, check.params), output)


def check_confusion_matrix(check: Check, ctx: Context) -> Outcome:
    inputs = judges.label_inputs(check.params)
    request = {"action": "confusion_matrix", "num_classes": int(check.params["num_classes"])}
    result, output = ctx.student(check, request, inputs)
    return _outcome(check, judges.judge_confusion_matrix(result.arrays.get("cm"), inputs, check.params), output)


def check_f1_scores(check: Check, ctx: Context) -> Outcome:
    inputs = judges.f1_inputs(check.params)
    result, output = ctx.student(check, {"action": "f1_scores"}, inputs)
    answer = (result.arrays.get("per_class"), result.arrays.get("macro"))
    return _outcome(check, judges.judge_f1_scores(answer, inputs, check.params), output)


def check_best_config(check: Check, ctx: Context) -> Outcome:
    """The student's child returns ``best_config().to_dict()``; a trusted child judges it with kit.train.

    Judging in a child keeps TensorFlow out of the grader's own process (~300 MB less beside the
    children, which matters under a 1.5 GB container).
    """
    result, output = ctx.student(check, {"action": "best_config"})
    config = result.record.get("data", {}).get("config")
    judged, _ = ctx.trusted(check, {"action": "best_config", "config": config}, models={})
    return _outcome(check, judges.Verdict(**judged.record["data"]["verdict"]), output)


# --- models built by student code, inspected by a trusted child


def _build_and_describe(
    check: Check,
    ctx: Context,
    builds: list[tuple[str, str]],
    *,
    action: str = "build_model",
    extra: dict | None = None,
    trusted: dict | None = None,
    arrays: dict | None = None,
):
    """Child A (student) builds and saves models; child B (trusted) loads them with safe mode."""
    p = check.params
    models = {}
    for function, save_as in builds:
        request = {
            "action": action,
            "function": function,
            "save_as": save_as,
            "input_shape": list(p.get("input_shape", (28, 28, 1))),
            "num_classes": p.get("num_classes", 10),
            **(extra or {}),
        }
        ctx.student(check, request)
        models[save_as] = _fetch_model(ctx, save_as)
    request = {
        "action": "describe",
        "input_shape": list(p.get("input_shape", (28, 28, 1))),
        "num_classes": p.get("num_classes", 10),
        **(trusted or {}),
    }
    result, _ = ctx.trusted(check, request, models, arrays)
    return result


def _fetch_model(ctx: Context, name: str) -> Path:
    """The model file the last student child saved, copied out and zip-inspected."""
    work = ctx.sandbox.last_work(ctx.slot)
    destination = Path(tempfile.mkdtemp(dir=work.parent.parent)) / name
    try:
        copy_from_child(work, name, destination, max_bytes=64 << 20)
        inspect_zip(destination, max_total_bytes=128 << 20)
    except GradingError as error:
        raise CheckFailed(f"the model could not be saved and read back: {error}") from None
    return destination


def check_cnn(check: Check, ctx: Context) -> Outcome:
    p = check.params
    x = judges.probe_images(p)
    result = _build_and_describe(
        check, ctx, [(p["function"], "model.keras")], trusted={"reference_cnn": True}, arrays={"x": x}
    )
    description = result.record["data"].get("model.keras") or {}
    verdict = judges.judge_cnn(description, result.arrays.get("out0"), result.arrays.get("ref0"), p)
    return _outcome(check, verdict)


def check_weight_transfer(check: Check, ctx: Context) -> Outcome:
    p = check.params
    builds = [("build_cnn_sequential", "sequential.keras"), ("build_cnn_functional", "functional.keras")]
    request = {
        "action": "build_model",
        "builds": builds,
        "input_shape": list(p.get("input_shape", (28, 28, 1))),
        "num_classes": 10,
    }
    ctx.student(check, request)  # one child builds both: the check needs both anyway
    models = {name: _fetch_model(ctx, name) for _, name in builds}
    result, _ = ctx.trusted(check, {"action": "transfer"}, models, {"x": judges.probe_images(p)})
    return _outcome(check, judges.judge_weight_transfer(result.arrays.get("source"), result.arrays.get("target"), p))


def check_inception_module(check: Check, ctx: Context) -> Outcome:
    p = check.params
    result = _build_and_describe(
        check,
        ctx,
        [("inception_module", "module.keras")],
        action="inception_module",
        extra={"kwargs": dict(p.get("kwargs", {}))},
        arrays={"x": judges.module_inputs(p)},
    )
    description = result.record["data"].get("module.keras") or {}
    return _outcome(check, judges.judge_inception_module(description, result.arrays.get("out0"), p))


def check_inception_cnn(check: Check, ctx: Context) -> Outcome:
    p = check.params
    result = _build_and_describe(check, ctx, [(p["function"], "model.keras")], arrays={"x": judges.probe_images(p)})
    description = result.record["data"].get("model.keras") or {}
    return _outcome(check, judges.judge_inception_cnn(description, result.arrays.get("out0"), p))


# --- the submitted model


def _model_config_problem(path: Path) -> str | None:
    """Look into ``config.json`` inside the .keras zip (plain JSON) for layers the grader refuses."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if "config.json" not in names:
            return "model.keras has no config.json: save it with model.save('model.keras') (Keras 3)."
        info = archive.getinfo("config.json")
        if info.file_size > 16 << 20:
            return "model.keras's config.json is larger than 16 MB."
        try:
            config = json.loads(archive.read("config.json").decode("utf-8"))
        except (ValueError, RecursionError, UnicodeDecodeError):
            return "model.keras's config.json is not valid JSON."

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
        return "model.keras's config.json is nested too deeply."
    if "Lambda" in found:
        return (
            "the model contains a Lambda layer (arbitrary Python code), which the grader refuses to load; "
            "rebuild it from built-in Keras layers."
        )
    return None


def check_model(check: Check, ctx: Context) -> Outcome:
    p = check.params
    submission = ctx.submission
    path = submission / "model.keras"
    if not path.exists():
        others = sorted(q.name for q in submission.iterdir() if q.suffix.lower() in (".h5", ".hdf5", ".keras", ".pb"))
        if any(name.lower().endswith((".h5", ".hdf5")) for name in others):
            raise CheckFailed(
                "found an .h5 model: only the Keras 3 format is accepted; save with model.save('model.keras')."
            )
        raise CheckFailed("no model.keras in the submission (save your best model with model.save('model.keras')).")
    if path.is_symlink() or not path.is_file():
        raise CheckFailed("model.keras must be a regular file.")
    size = path.stat().st_size
    if size > p.get("max_mb", 200) << 20:
        raise CheckFailed(f"model.keras is {size >> 20} MB; at most {p.get('max_mb', 200)} MB is accepted.")
    with open(path, "rb") as handle:
        if handle.read(8).startswith(b"\x89HDF"):
            raise CheckFailed("model.keras is an HDF5 (.h5) file renamed: save with model.save('model.keras').")
    try:
        inspect_zip(path, max_total_bytes=p.get("max_unzipped_mb", 400) << 20, max_ratio=100.0)
    except GradingError as error:
        raise CheckFailed(f"model.keras was refused: {error}") from None
    problem = _model_config_problem(path)
    if problem:
        raise CheckFailed(problem)
    from kit.data import load_fashion_mnist

    data = load_fashion_mnist(ctx.data_dir, normalize=False)
    result, _ = ctx.trusted(check, {"action": "evaluate_model"}, {"model.keras": path}, {"x": data.x_test})
    description = result.record["data"].get("model.keras") or {}
    verdict = judges.judge_model(
        result.arrays.get("probabilities"), np.asarray(data.y_test), {**p, "max_points": check.points}, description
    )
    return _outcome(check, verdict)


CHECK_KINDS: dict[str, Callable[[Check, Context], Outcome]] = {
    "dataset_summary": check_dataset_summary,
    "confusion_matrix": check_confusion_matrix,
    "f1_scores": check_f1_scores,
    "best_config": check_best_config,
    "cnn": check_cnn,
    "weight_transfer": check_weight_transfer,
    "inception_module": check_inception_module,
    "inception_cnn": check_inception_cnn,
    "model": check_model,
}
assert set(CHECK_KINDS) == set(KINDS), "kit.grading.rubric.KINDS and CHECK_KINDS disagree"


# ------------------------------------------------------------------ grading a submission


def _run_one(check: Check, ctx: Context) -> Outcome:
    started = time.monotonic()
    try:
        outcome = CHECK_KINDS[check.kind](check, ctx)
    except CheckFailed as failure:
        outcome = _fail(str(failure), failure.student_output)
    except GraderFault:
        raise
    except GradingError as error:
        outcome = _fail(f"The grader could not run this check ({error}); please tell the course staff.")
    except Exception as error:  # noqa: BLE001 - a grader bug must not cost the other checks
        traceback.print_exc()
        outcome = _fail(
            f"The grader hit an internal error on this check ({type(error).__name__}); please tell the course staff."
        )
    outcome.seconds = time.monotonic() - started
    return outcome


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
    assignment: str = "fashion_mnist",
    hidden: bool = False,
    only: Iterable[str] | None = None,
    out: str | os.PathLike | None = None,
    timeout_scale: float = 1.0,
    workers: int = 2,
    data_dir: str | None = None,
    quiet: bool = False,
    sandbox_options: dict | None = None,
    memory_share: int = 1,
) -> dict:
    """Grade one submission folder; return (and, with ``out``, write) Gradescope's results dict.

    ``hidden`` runs the hidden checks too (Gradescope); ``only`` restricts to some check ids
    (for tests); ``timeout_scale`` multiplies every check's timeout; ``memory_share``: how many
    graders of this process share the machine's (container's) memory limit.
    """
    started = time.monotonic()
    submission = Path(submission).resolve()
    if not submission.is_dir():
        raise GradingError(f"Submission folder {submission} does not exist; pass the folder holding homework.py.")
    rubric = load_rubric(assignment)  # hidden ones too where present: `only` may name them
    if hidden and not rubric.has_hidden:
        raise GradingError(
            f"The hidden checks were asked for, but solutions/{assignment}/rubric_hidden.py is missing "
            "(grade from the instructor repository, or leave out --hidden)."
        )
    checks = [c for c in rubric.checks if hidden or c.visibility != "hidden"]
    if only is not None:
        only = list(only)
        unknown = sorted(set(only) - {c.id for c in rubric.checks})
        if unknown:
            raise GradingError(
                f"Unknown check id(s) {', '.join(unknown)}; valid ids: {', '.join(c.id for c in rubric.checks)}."
            )
        checks = [c for c in checks if c.id in only]
    checks = [c.scaled(timeout_scale) for c in checks]
    notes = _submission_notes(submission)
    outcomes: dict[str, Outcome] = {}
    has_homework = (submission / "homework.py").is_file() and not (submission / "homework.py").is_symlink()
    isolation: list = []
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
    slots: queue.Queue = queue.Queue()
    for slot in range(workers):
        slots.put(slot)

    with Sandbox(hide=rubric.hide, slots=workers, **(sandbox_options or {})) as box:

        def run(check: Check) -> tuple[str, Outcome]:
            if check.kind != "model" and not has_homework:
                return check.id, _fail(
                    "No homework.py in the submission (upload homework.py itself, not a folder or zip)."
                )
            slot = slots.get()
            try:
                ctx = Context(box, slot, submission, limits, data_dir, isolation)
                return check.id, _run_one(check, ctx)
            finally:
                slots.put(slot)

        # the slowest checks first, so that two workers finish together
        order = sorted(checks, key=lambda c: -c.timeout)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for check_id, outcome in pool.map(run, order):
                outcomes[check_id] = outcome

    tests = [_test_entry(number, check, outcomes[check.id]) for number, check in enumerate(checks, start=1)]
    results = {
        "score": round(sum(t["score"] for t in tests), 4),
        "execution_time": round(time.monotonic() - started, 2),
        "output": _summary_output(tests, notes),
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
        "leaderboard": [outcomes[c.id].leaderboard for c in checks if outcomes[c.id].leaderboard]
        or [{"name": "macro-F1", "value": 0.0, "order": "desc"}],
    }
    if not quiet:
        print(summary_table(results))
        print(_isolation_note(isolation, rubric))
    if out is not None:
        write_results(results, out)
    return results


def _submission_notes(submission: Path) -> list[str]:
    ignored = sorted(p.name for p in submission.iterdir() if p.name not in ALLOWED_FILES) if submission.is_dir() else []
    if ignored:
        return [f"Ignored (only {', '.join(ALLOWED_FILES)} are graded): {', '.join(ignored[:20])}."]
    return []


def _summary_output(tests: list[dict], notes: list[str]) -> str:
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
    f1 = f"; model macro-F1 {board[0]['value']:.4f}" if board and has_model else ""
    text = table.to_string(index=False) if len(table) else "(no checks)"
    return f"{text}\nTotal: {results['score']:g} / {total:g} points in {results['execution_time']:.1f} s{f1}"
