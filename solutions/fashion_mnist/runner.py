"""The Fashion-MNIST homework's runner (`python -m kit homework`, `make run`): every step with a chosen homework.py.

The lecture's homework slide, run end to end with the student's (or the instructor's)
`homework.py`: step 1 explores the dataset, step 3 builds the CNN-MNIST example in both styles
and checks that they are one network, step 5 trains it on Fashion-MNIST, step 6 trains the
Inception variant and reads it through the confusion matrix and F1 (the student's numpy
versions beside scikit-learn's), step 7 trains the student's best recipe. A function that is
not written yet is reported as "step N: implement `name` in homework.py" and the other steps
still run. Everything lands in one folder: a run folder per model (kit.train), `report.md`
(one document) and `summary.json` (the same numbers, for the grader).

By the clock (DESIGN.md "Presets sized to the clock"): the `quick` preset is 15 minutes of wall
time for the whole homework on any machine (`--minutes` sets another budget, for any preset),
shared among the networks that train (`TRAINING_SHARES`); each trains for its share with
`kit.train`'s `time_budget`, so a faster machine trains more epochs. A budget in which one epoch
of a network cannot fit is refused before anything trains. `--steps` runs only the steps asked.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import keras
import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import f1_score

from kit import REPO_ROOT, assignments, environment, runs
from kit.budget import BudgetTooSmall, format_duration, process_seconds
from kit.data import load_fashion_mnist
from kit.errors import GradingError, KitError, check_name
from kit.evaluate import evaluate
from kit.explore import write_dataset_report
from kit.files import jsonable, markdown_table, write_json
from kit.grading.kinds import NotWritten, judge_in_process
from kit.grading.rubric import Rubric, load_rubric
from kit.report import write_report
from kit.train import Run, TrainConfig, estimate_run, train

ASSIGNMENT = "fashion_mnist"
MODELS = ("cnn_sequential", "cnn_functional", "cnn_inception", "best")
CNN_MNIST_PARAMS = 1_199_882  # the lecture's CNN-MNIST example on 28x28x1 images, 10 classes
SUMMARY_FILE, REPORT_FILE = "summary.json", "report.md"
MISSING = object()  # what a step function that gave no result returns
SMOKE_NOTE = "smoke preset: a wiring check on a few hundred images, its scores mean nothing"


@dataclass(frozen=True)
class HomeworkPreset:
    """How much data, and how many minutes or epochs, the homework's networks get.

    `quick` is a time budget: `minutes` of wall time for the whole homework (data, every step,
    the reports) on any machine, the training shared out by `TRAINING_SHARES`; a faster machine
    trains more epochs. `full` is the GPU recipe by its epochs (258 s on one H100 under JAX; hours
    on a laptop CPU: give it `--minutes` there). `smoke` only checks that everything runs (a few
    hundred images, one or two epochs: about two minutes on a 2-core CPU); its scores mean nothing.
    The epochs count where `minutes` is None (and `--minutes` is not given).
    """

    name: str
    train: int | None  # training images (None: all 55,000)
    val: int | None  # validation images (None: all 5,000)
    test: int | None  # test images (None: all 10,000)
    cnn_epochs: int  # step 5
    inception_epochs: int  # step 6
    best_epochs: int  # step 7 (replaces best_config()'s epochs)
    batch_size: int = 128  # steps 5 and 6 (step 7 keeps best_config()'s)
    learning_rate: float = 1e-3
    precision: str = "auto"  # kit.train: "auto" measures float32 against mixed precision
    minutes: float | None = None  # the whole homework's wall minutes (None: train the epochs above)


# The homework's presets: data and epochs per step (kit.train.TRAIN_PRESETS are one run's presets).
HOMEWORK_PRESETS = {
    "smoke": HomeworkPreset(
        "smoke", train=500, val=200, test=500, cnn_epochs=1, inception_epochs=1, best_epochs=2, precision="float32"
    ),
    "quick": HomeworkPreset(
        "quick", train=None, val=None, test=None, cnn_epochs=3, inception_epochs=2, best_epochs=8, minutes=15.0
    ),
    "full": HomeworkPreset("full", train=None, val=None, test=None, cnn_epochs=15, inception_epochs=15, best_epochs=60),
}


# The steps (the homework's numbering; 2 and 4 are reading, nothing runs) and the networks that train.
STEPS = (1, 2, 3, 4, 5, 6, 7)
TRAINED = {5: "cnn_sequential", 6: "cnn_inception", 7: "best"}
# How a time budget's training time is shared among the steps that train: of what is left when a
# step starts (after the data, steps 1 and 3, the networks timed, and a reserve for the reports),
# a step gets its weight over the weights of the steps still to train, so the seconds one step
# leaves unused go to the next. Step 7 gets the most: its network is the one scored (the model
# points ask for test macro-F1 >= 0.93) and it still improves with every epoch it gets, while
# steps 5 and 6 only have to show that the lecture's CNN and its Inception variant learn (2-3
# epochs give 0.90). 15/15/70 keeps the proportions of the epochs the `quick` preset trained
# before it had a budget (112, 125 and 482 s on the 2-core host: docs/performance.md).
TRAINING_SHARES = {5: 0.15, 6: 0.15, 7: 0.70}
REPORT_SECONDS = 8.0  # kept back per trained network for its report's pictures after the training
# A run's own start (its precision measured in float32 and mixed where "auto", its network built and
# timed again) can take longer than the estimate's: a step needs this much more than the estimate.
ESTIMATE_SAFETY = 1.3
TRANSFER_SECONDS = 10.0  # step 5's functional twin: the test set predicted once more and saved


TRAINING_PART = 0.9  # of a budget, what training gets when the notebook runs step by step (make run: measured)


def step_seconds(preset: HomeworkPreset, minutes: float | None = None, steps: Iterable[int] = (5, 6, 7)) -> dict:
    """The seconds each step trains for when the steps run one by one (the notebook): {step: seconds}.

    `TRAINING_PART` of the budget (`minutes`, default the preset's) shared by `TRAINING_SHARES`
    among `steps`; {} where the preset trains its epochs.
    """
    minutes = preset.minutes if minutes is None else minutes
    steps = [step for step in steps if step in TRAINING_SHARES]
    if minutes is None or not steps:
        return {}
    total = sum(TRAINING_SHARES[step] for step in steps)
    return {step: minutes * 60 * TRAINING_PART * TRAINING_SHARES[step] / total for step in steps}


def parse_steps(text: str | Iterable[int] | None) -> tuple[int, ...]:
    """`--steps 5,7` -> (5, 7); None or "" -> every step. An unknown step is one ValueError listing the valid ones."""
    if text is None or text == "":
        return STEPS
    items = [item.strip() for item in text.split(",")] if isinstance(text, str) else list(text)
    steps = set()
    for item in items:
        if str(item) not in {str(step) for step in STEPS}:
            raise ValueError(
                f"Unknown step {item!r}; valid steps: {', '.join(map(str, STEPS))} (e.g. --steps 5,7; "
                "steps 2 and 4 are reading: nothing runs)."
            )
        steps.add(int(item))
    return tuple(sorted(steps))


# --------------------------------------------------------------------------- the implementation
def default_impl(root: Path = REPO_ROOT) -> str:
    """`solutions` where that folder exists (the instructor's repository), else `assignments`."""
    return assignments.default_impl(ASSIGNMENT, root=root)


def resolve_impl(impl: str | None = None, root: Path = REPO_ROOT) -> Path:
    """The homework.py that `--impl` names: `solutions`, `assignments`, a folder, or a .py file."""
    return assignments.resolve_impl(ASSIGNMENT, impl, root=root)


def load_homework(path: str | Path) -> ModuleType:
    """Import a homework.py by path under a unique module name (several may be loaded side by side)."""
    return assignments.load_entry(path, "_kit_homework")


# --------------------------------------------------------------------------- step bookkeeping
@dataclass
class StepLog:
    """What happened at each step: ok, todo (not written yet), error, or check failed."""

    records: list[dict] = field(default_factory=list)
    echo: Callable[[str], None] = print

    def add(self, step: int, name: str, status: str, message: str) -> None:
        self.records.append({"step": step, "name": name, "status": status, "message": message})
        marker = {"ok": "ok", "todo": "TODO", "note": "note"}.get(status, "FAIL")
        self.echo(f"[{marker}] {message}")

    def call(self, homework: ModuleType, step: int, name: str, /, *args, **kwargs):
        """Call the student's function; a missing or unwritten one is a todo, an exception an error."""
        function = getattr(homework, name, None)
        if function is None:
            self.add(step, name, "todo", f"step {step}: implement `{name}` in homework.py (it is missing)")
            return MISSING
        try:
            return function(*args, **kwargs)
        except NotImplementedError:
            self.add(step, name, "todo", f"step {step}: implement `{name}` in homework.py")
        except Exception as error:  # noqa: BLE001 - a student's bug, of any type, must not stop the other steps
            self.add(
                step, name, "error", f"step {step}: `{name}` raised {type(error).__name__}: {error} ({_where(error)})"
            )
        return MISSING

    def guard(self, step: int, what: str, action: Callable[[], Any]):
        """Run a kit action (training, a check); a failure is recorded and the homework goes on."""
        try:
            return action()
        except Exception as error:  # noqa: BLE001 - training or checking student code may fail in any way
            self.add(step, what, "error", f"step {step}: {what} failed: {type(error).__name__}: {error}")
            return MISSING

    @property
    def todo(self) -> list[str]:
        return [r["message"] for r in self.records if r["status"] == "todo"]

    @property
    def problems(self) -> list[str]:
        return [r["message"] for r in self.records if r["status"] in ("error", "check failed")]


def epochs_text(count: int) -> str:
    """'1 epoch', '3 epochs'."""
    return f"{count} epoch" if count == 1 else f"{count} epochs"


def _where(error: BaseException) -> str:
    frame = traceback.extract_tb(error.__traceback__)[-1]
    return f"{Path(frame.filename).name}:{frame.lineno}"


# --------------------------------------------------------------------------- training
def train_model(name: str, config, data, out_dir: Path, build: Callable[[], Any] | None = None):
    """Train one homework model into `out_dir/name` with kit.train; returns its `Run`.

    `build` makes the student's (uncompiled) network; kit.train calls it inside its precision
    and distribution scope, so the student's network trains exactly like a registry model (same
    precision measurement, callbacks and run folder). Without it, `config.model` is built.
    """
    return train(config, data, out=out_dir / name, model=build)


def homework_config(preset: HomeworkPreset, name: str, epochs: int):
    """The kit.train config of a step-5/6 network: Adam at 1e-3, best epoch by validation macro-F1.

    Adam, not the slide's Adadelta: at Keras 3's default learning rate (1e-3) Adadelta learns far
    too slowly for a budget of a few epochs.
    """
    return TrainConfig(
        name=name,
        model=name,
        optimizer="adam",
        learning_rate=preset.learning_rate,
        epochs=epochs,
        batch_size=preset.batch_size,
        monitor="val_macro_f1",
        precision=preset.precision,
    )


def _model_entry(run, **extra) -> dict:
    """summary.json's entry for one model: the metrics.json contract + params, epochs, train_seconds.

    A run trained to a time budget adds `budget`: its seconds, the seconds it took (measuring,
    training, evaluating and saving), the epochs it got (the last may be partial) and the training
    images per second it measured.
    """
    entry = run.evaluation.to_dict()
    entry.update(
        params=int(run.model.count_params()),
        epochs=int(len(run.history)),
        train_seconds=round(float(run.train_seconds), 2),
        run_dir=str(run.run_dir),
        **extra,
    )
    if getattr(run, "budget", None):
        entry["budget"] = {
            "budget_seconds": run.budget["seconds"],
            "spent_seconds": run.budget["spent_seconds"],
            "epochs": run.budget["epochs"],
            "images_per_second": run.budget["measured"].get("images_per_second"),
        }
    return entry


# --------------------------------------------------------------------------- the time budget
@dataclass
class HomeworkBudget:
    """The whole homework's wall seconds, shared among the steps that train (`TRAINING_SHARES`).

    `started` is the `time.perf_counter()` the budget counts from (default: now; the command line
    gives the start of the Python process, since `make run` promises wall minutes and importing
    TensorFlow is part of them). `estimates` holds `kit.train.estimate_run` of each network before
    anything trains; `shares` the steps that will train (asked, and their function written).
    """

    seconds: float
    started: float = field(default_factory=time.perf_counter)
    shares: dict[int, float] = field(default_factory=dict)
    estimates: dict[int, dict] = field(default_factory=dict)
    given: dict[int, float] = field(default_factory=dict)  # step -> the seconds it was given

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def kept_back(self, step: int) -> float:
        """Seconds kept for what follows the training of `step` and later steps: reports, step 5's twin."""
        reports = len(self.shares) + (1 if 5 in self.shares else 0)  # the functional twin has a report too
        return REPORT_SECONDS * reports + (TRANSFER_SECONDS if step <= 5 and 5 in self.shares else 0.0)

    def for_step(self, step: int) -> float:
        """The seconds `step` trains for: its weight's part of what is left (unused seconds flow on)."""
        later = [other for other in self.shares if other >= step]
        left = self.seconds - self.elapsed() - self.kept_back(step)
        self.given[step] = max(left, 0.0) * self.shares[step] / sum(self.shares[other] for other in later)
        return self.given[step]

    def needs(self) -> dict[int, float]:
        """Seconds each step needs for one epoch (its start, validation and evaluation), with a margin."""
        return {step: ESTIMATE_SAFETY * self.estimates[step]["smallest_budget"] for step in self.shares}

    def smallest(self) -> float:
        """The smallest budget (seconds, whole tenths of a minute) in which every step fits one epoch."""
        seconds = self.elapsed() + self.kept_back(min(self.shares)) + sum(self.needs().values())
        return -(-seconds // 6) * 6.0

    def refuse_if_too_small(self, device: str) -> None:
        """`kit.budget.BudgetTooSmall` (before any training) where the steps cannot each fit one epoch; else
        the shares made to give every step at least one epoch (a slow step 5 or 6 takes from step 7)."""
        if not self.shares:
            return
        smallest = self.smallest()
        if smallest > self.seconds:
            needs = self.needs()
            slowest = max(needs, key=needs.get)
            raise BudgetTooSmall(
                f"a time budget of {format_duration(self.seconds)} is too small for the homework on this machine "
                f"({device}): {format_duration(self.elapsed())} went to starting, the data and timing the "
                f"networks, and one epoch of each network needs {format_duration(sum(needs.values()))} "
                f"(step {slowest}'s {self.estimates[slowest]['model']} the most: "
                f"{format_duration(self.estimates[slowest]['smallest_budget'])}), so the smallest budget that "
                f"fits is {smallest / 60:.1f} min ({smallest:,.0f} s); run with --minutes {smallest / 60:.1f} or more.",
                smallest,
            )
        self.shares = self.seconds_with_floors()

    def seconds_with_floors(self) -> dict[int, float]:
        """The training seconds of each step: its share of what is left, but never less than one epoch.

        Written by hand (a water-filling of shares with floors): a step whose share is below its
        epoch gets its epoch, and the others share what remains by their weights, until every step
        has at least its epoch. The seconds then serve as the steps' weights (`for_step`).
        """
        available = self.seconds - self.elapsed() - self.kept_back(min(self.shares))
        needs, fixed = self.needs(), {}
        while True:
            free = [step for step in self.shares if step not in fixed]
            left = available - sum(fixed.values())
            weights = sum(self.shares[step] for step in free)
            given = {step: left * self.shares[step] / weights for step in free}
            short = [step for step in free if given[step] < needs[step]]
            if not short:
                return {**fixed, **given}
            fixed.update({step: needs[step] for step in short})

    def to_dict(self) -> dict[str, Any]:
        total = sum(self.shares.values()) or 1.0
        return {
            "minutes": round(self.seconds / 60, 3),
            "seconds": self.seconds,
            "shares": {str(step): round(share / total, 4) for step, share in self.shares.items()},
            "estimates": {
                str(step): {
                    "model": estimate["model"],
                    "images_per_second": round(estimate["images_per_second"], 1),
                    "smallest_budget_seconds": estimate["smallest_budget"],
                }
                for step, estimate in self.estimates.items()
            },
            "given_seconds": {str(step): round(seconds, 1) for step, seconds in self.given.items()},
        }


def _budget_candidates(homework, settings: HomeworkPreset, data, steps, sequential, functional) -> dict:
    """Step -> (config, builder) of each network the asked steps will train (their functions written)."""
    candidates = {}
    shape, classes = data.input_shape, data.num_classes
    if 5 in steps:
        built = (("build_cnn_sequential", sequential), ("build_cnn_functional", functional))
        builder = next((name for name, network in built if network is not MISSING), None)
        if builder:
            name = "cnn_sequential" if builder == "build_cnn_sequential" else "cnn_functional"
            candidates[5] = (
                homework_config(settings, name, settings.cnn_epochs),
                lambda: getattr(homework, builder)(shape, classes),
            )
    if 6 in steps:
        candidates[6] = (
            homework_config(settings, "cnn_inception", settings.inception_epochs),
            lambda: homework.build_inception_cnn(shape, classes),
        )
    if 7 in steps:
        try:
            config = homework.best_config()
        except Exception:  # noqa: BLE001 - not written or broken: step 7 reports it when it runs
            config = None
        if isinstance(config, TrainConfig):
            candidates[7] = (best_run_config(config, settings)[0], None)
    return candidates


def time_the_networks(budget: HomeworkBudget, candidates: dict, data, echo: Callable[[str], None]) -> None:
    """`kit.train.estimate_run` of every network that will train; a network that does not build is left out."""
    for step, (config, builder) in candidates.items():
        try:
            estimate = estimate_run(config, data, model=builder)
        except Exception:  # noqa: BLE001 - a student's network that fails here fails in its step, with its message
            continue
        estimate["model"] = config.model if builder is None else config.name
        budget.estimates[step] = estimate
        budget.shares[step] = TRAINING_SHARES[step]
        echo(
            f"budget: step {step} ({estimate['model']}) trains {estimate['images_per_second']:,.0f} images/s here; "
            f"one epoch with its start, validation and evaluation takes {format_duration(estimate['smallest_budget'])}"
        )


def best_run_config(config: TrainConfig, settings: HomeworkPreset, time_budget: float | None = None):
    """Step 7's config: `best_config()` with the preset's epochs or the step's seconds; (config, note or None)."""
    note = None
    if time_budget is not None:
        overrides: dict[str, Any] = {"time_budget": time_budget}  # kit.train fits the warm-up to the run
    else:
        overrides = {"epochs": settings.best_epochs, "time_budget": None}
        if config.warmup_epochs >= settings.best_epochs:  # a warm-up must end before the run does
            overrides["warmup_epochs"] = settings.best_epochs / 2
            note = (
                f"step 7: warmup_epochs {config.warmup_epochs:g} shortened to {settings.best_epochs / 2:g} "
                f"for the {settings.name} preset's {settings.best_epochs} epochs"
            )
    if settings.name == "smoke":
        overrides.update(precision="float32", batch_size=min(config.batch_size, 128))
    return config.replace(**overrides), note


def _write_run_report(run, data, log: StepLog, step: int) -> None:
    """The run folder's own report.md and plots (confusion matrices, per-class F1, top losses)."""
    log.guard(
        step, f"report of {Path(run.run_dir).name}", lambda: write_report(run.run_dir, data, evaluation=run.evaluation)
    )


# --------------------------------------------------------------------------- the autograder's checks
# The function a visible rubric check calls, by check kind (cnn and inception_cnn name theirs in params).
_CHECKED_FUNCTION = {"weight_transfer": "build_cnn_functional"}


def grader_checks(homework, step: int, rubric: Rubric | None, log: StepLog) -> None:
    """The autograder's visible checks of one step, judged here with its inputs, judges and messages.

    `kit.grading.kinds.judge_in_process`: the same verdicts `make check` gives (its sandbox aside), so an
    `[ok]` here is a pass there. A function not written yet is left to the step's own to-do line.
    """
    for check in rubric.checks if rubric else ():
        if check.visibility == "hidden" or not rubric.kind(check).needs_entry or check_step(check) != step:
            continue
        function = check.params.get("function") or _CHECKED_FUNCTION.get(check.kind, check.kind)
        try:
            verdict = judge_in_process(homework, check, rubric.kinds)
        except NotWritten:
            continue
        points = f"{verdict.points(check.points):g}/{check.points:g} points"
        what = re.sub(r"^Step \d+:\s*", "", check.name)
        if verdict.passed and verdict.fraction == 1:
            log.add(step, function, "ok", f"step {step}: {what}: passes the autograder's check ({points})")
        else:
            log.add(step, function, "check failed", f"step {step}: {what}: {verdict.message} ({points})")


def check_step(check) -> int | None:
    """The homework step a rubric check belongs to ("Step 3: ..." -> 3)."""
    match = re.match(r"Step (\d+):", check.name)
    return int(match.group(1)) if match else None


def _visible_rubric(log: StepLog) -> Rubric | None:
    """The visible rubric: `grader_checks` judges its checks of the student's code (not the submitted model's)."""
    try:
        return load_rubric(ASSIGNMENT, hidden=False)
    except (GradingError, KitError) as error:
        log.add(0, "rubric", "note", f"the autograder's checks are not run here: {error}")
        return None


# --------------------------------------------------------------------------- the steps
def step_dataset(homework, data, out_dir: Path, log: StepLog) -> dict:
    """Step 1: the kit's dataset report, and the student's `dataset_summary` checked against numpy."""
    result: dict[str, Any] = {
        "source": data.source,
        "class_names": list(data.class_names),
        "input_shape": list(data.input_shape),
        "sizes": {"train": int(len(data.y_train)), "validation": int(len(data.y_val)), "test": int(len(data.y_test))},
    }

    exploration = log.guard(
        1, "the dataset report (kit.explore)", lambda: write_dataset_report(data, out_dir / "dataset")
    )
    if exploration is not MISSING:
        log.add(1, "exploration", "ok", f"step 1: dataset report in {out_dir / 'dataset' / 'dataset.md'}")
    result["exploration"] = (
        None
        if exploration is MISSING
        else jsonable({key: exploration.get(key) for key in ("findings", "images", "shapes")})
    )

    table = log.call(homework, 1, "dataset_summary", data.x_train, data.y_train, data.class_names)
    if table is MISSING:
        return result
    pixels = data.x_train.reshape(len(data.y_train), -1)
    reference = {
        "count": np.bincount(data.y_train, minlength=data.num_classes),
        "mean": np.array([pixels[data.y_train == c].mean(dtype=np.float64) for c in range(data.num_classes)]),
        "std": np.array([pixels[data.y_train == c].astype(np.float64).std() for c in range(data.num_classes)]),
    }
    try:
        ok = (
            list(table.index) == list(data.class_names)
            and np.array_equal(np.asarray(table["count"]), reference["count"])
            and np.allclose(np.asarray(table["mean"], dtype=np.float64), reference["mean"], rtol=1e-4)
            and np.allclose(np.asarray(table["std"], dtype=np.float64), reference["std"], rtol=1e-4)
        )
        reason = "index (class names), count, mean or std per class differ from numpy's"
        result["summary"] = jsonable(table.reset_index().to_dict(orient="records"))
        table.to_csv(out_dir / "dataset_summary.csv")
    except Exception as error:  # noqa: BLE001 - whatever the student's function returned, report it
        ok, reason = False, f"the result is not a DataFrame with count, mean and std ({type(error).__name__}: {error})"
    result["summary_ok"] = bool(ok)
    log.add(
        1,
        "dataset_summary",
        "note",
        "step 1: dataset_summary " + ("matches numpy's count, mean and std per class" if ok else f": {reason}"),
    )
    return result


def step_two_styles(homework, data, log: StepLog) -> tuple[dict, Any, Any]:
    """Step 3: the CNN in both styles; the expected parameter count; equal outputs with shared weights."""
    shape, classes = data.input_shape, data.num_classes
    expected = CNN_MNIST_PARAMS if (tuple(shape), classes) == ((28, 28, 1), 10) else None
    result: dict[str, Any] = {"expected_params": expected}
    built = {}
    for name, builder in (("cnn_sequential", "build_cnn_sequential"), ("cnn_functional", "build_cnn_functional")):
        model = built[name] = log.call(homework, 3, builder, shape, classes)
        if model is MISSING:
            continue
        if not isinstance(model, keras.Model):
            log.add(3, builder, "note", f"step 3: {builder} returned {type(model).__name__}, not a keras.Model")
            built[name] = MISSING
            continue
        params = int(model.count_params())
        result[name] = {"params": params, "layers": len(model.layers), "class": type(model).__name__}
        if expected and params != expected:
            log.add(
                3,
                builder,
                "note",
                f"step 3: {builder} has {params:,} parameters; the CNN-MNIST example has {expected:,}",
            )
        if name == "cnn_sequential" and not isinstance(model, keras.Sequential):
            log.add(3, builder, "note", "step 3: build_cnn_sequential should return a keras.Sequential")
    sequential, functional = built["cnn_sequential"], built["cnn_functional"]
    if sequential is not MISSING and functional is not MISSING:
        check = result["equal_outputs"] = same_network(sequential, functional, data.x_val[:256])
        log.add(
            3,
            "build_cnn_functional",
            "note",
            "step 3: the Sequential and functional CNNs give the same outputs with shared weights "
            f"(max difference {check['max_abs_difference']:.1e})"
            if check["equal"]
            else f"step 3: the two styles are not the same network: {check['reason']}",
        )
    return result, sequential, functional


def same_network(model_a, model_b, x, atol: float = 1e-5) -> dict:
    """Copy model_a's weights into model_b and compare their predictions (inference mode)."""
    try:
        model_b.set_weights(model_a.get_weights())
    except Exception as error:  # noqa: BLE001 - two student networks: any mismatch is the answer
        return {
            "equal": False,
            "max_abs_difference": None,
            "reason": f"the weights do not transfer ({type(error).__name__}: {error}); same layers in the same order?",
        }
    a = np.asarray(model_a.predict(x, verbose=0), dtype=np.float64)
    b = np.asarray(model_b.predict(x, verbose=0), dtype=np.float64)
    if a.shape != b.shape:
        return {"equal": False, "max_abs_difference": None, "reason": f"output shapes differ: {a.shape} vs {b.shape}"}
    difference = float(np.max(np.abs(a - b))) if a.size else 0.0
    return {
        "equal": difference <= atol,
        "max_abs_difference": difference,
        "reason": "" if difference <= atol else f"predictions differ by up to {difference:.3g}",
    }


def transfer_run(functional, source_run, data, out_dir: Path):
    """cnn_functional = the trained Sequential model's weights in the functional network.

    Step 3's check on the whole test set: the same network in the other style gives the same
    metrics. Its run folder holds the model, the Sequential run's history and a config.json
    that says where the weights came from (it was not trained itself: train_seconds 0).
    """
    run_dir = out_dir / "cnn_functional"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    functional.set_weights(source_run.model.get_weights())
    evaluation = evaluate(functional, data.x_test, data.y_test, data.class_names)
    functional.save(run_dir / runs.MODEL_FILE)
    shutil.copy2(Path(source_run.run_dir) / runs.HISTORY_FILE, run_dir / runs.HISTORY_FILE)
    record = runs.read_record(source_run.run_dir)
    record["config"].update(name="cnn_functional", model="cnn_functional")
    record["training"].update(train_seconds=0.0, weights_from="cnn_sequential")
    runs.write_record(run_dir, record)
    runs.write_metrics(run_dir, evaluation)
    return Run(
        run_dir=run_dir,
        model=functional,
        history=source_run.history,
        config=source_run.config,
        evaluation=evaluation,
        train_seconds=0.0,
    )


def inception_module_check(homework, log: StepLog) -> dict:
    """Step 6: the module alone on a 12x12x64 feature map gives 12x12x256 with the defaults."""
    inputs = keras.Input(shape=(12, 12, 64))
    outputs = log.call(homework, 6, "inception_module", inputs, name="check")
    if outputs is MISSING:
        return {}
    try:
        shape = tuple(int(d) for d in outputs.shape[1:])
        params = int(keras.Model(inputs, outputs).count_params())
    except Exception as error:  # noqa: BLE001 - whatever the student's function returned, report it
        log.add(6, "inception_module", "note", f"step 6: inception_module did not return a tensor ({error})")
        return {}
    ok = shape == (12, 12, 256)
    log.add(
        6,
        "inception_module",
        "note",
        f"step 6: inception_module on a 12x12x64 map gives {shape}" + ("" if ok else "; expected (12, 12, 256)"),
    )
    return {"output_shape": list(shape), "params": params, "ok": ok}


def student_metrics_check(homework, y_true, y_pred, num_classes: int, log: StepLog) -> dict:
    """Step 6: the student's numpy confusion matrix and F1 beside scikit-learn's."""
    labels = np.arange(num_classes)
    reference_cm = sk_confusion_matrix(y_true, y_pred, labels=labels)
    reference_f1 = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    reference_macro = float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))
    result: dict[str, Any] = {"sklearn_macro_f1": reference_macro, "sklearn_f1": reference_f1.tolist()}
    cm = log.call(homework, 6, "confusion_matrix", y_true, y_pred, num_classes)
    if cm is not MISSING:
        equal = np.shape(cm) == reference_cm.shape and np.array_equal(np.asarray(cm), reference_cm)
        result["confusion_matrix_matches_sklearn"] = bool(equal)
        log.add(
            6,
            "confusion_matrix",
            "note",
            "step 6: confusion_matrix "
            + (
                "equals scikit-learn's"
                if equal
                else "differs from scikit-learn's confusion_matrix(y_true, y_pred, labels=range(num_classes))"
            ),
        )
    scores = log.call(homework, 6, "f1_scores", reference_cm)
    if scores is not MISSING:
        try:
            per_class, macro = scores
            per_class = np.asarray(per_class, dtype=np.float64)
            equal = (
                per_class.shape == reference_f1.shape
                and np.allclose(per_class, reference_f1, atol=1e-6)
                and abs(float(macro) - reference_macro) <= 1e-6
            )
            result.update(student_macro_f1=float(macro), student_f1=per_class.tolist())
        except Exception as error:  # noqa: BLE001 - whatever the student's function returned, report it
            equal = False
            result["f1_error"] = f"{type(error).__name__}: {error}"
        result["f1_matches_sklearn"] = bool(equal)
        log.add(
            6,
            "f1_scores",
            "note",
            "step 6: f1_scores "
            + (
                "equal scikit-learn's, per class and macro"
                if equal
                else "differ from scikit-learn's f1_score(average=None / 'macro', zero_division=0)"
            ),
        )
    return result


# --------------------------------------------------------------------------- the whole homework
def run_homework(
    impl: str | None = None,
    preset: str = "quick",
    out: str | Path = "runs/homework",
    *,
    data_dir: str | None = None,
    echo: Callable[[str], None] = print,
    minutes: float | None = None,
    steps: str | Iterable[int] | None = None,
    started: float | None = None,
) -> dict:
    """Run the homework's steps; write `out/summary.json` and `out/report.md`; return the summary.

    `minutes` (default: the preset's; None for `smoke` and `full`: their epochs) is the wall time
    of the whole run, shared among the networks that train (`TRAINING_SHARES`); a budget in which
    one epoch of a network cannot fit raises `kit.budget.BudgetTooSmall` before anything trains.
    `steps` (e.g. "5,7"; default every step) runs only those steps. `started`: the
    `time.perf_counter()` the budget counts from (default: now).
    """
    settings = HOMEWORK_PRESETS[check_name("preset", preset, HOMEWORK_PRESETS)]
    asked = parse_steps(steps)
    minutes = settings.minutes if minutes is None else float(minutes)
    if minutes is not None and not minutes > 0:
        raise ValueError(f"--minutes is the homework's wall time in minutes (> 0); got {minutes:g}.")
    budget = None
    if minutes is not None:
        budget = HomeworkBudget(seconds=minutes * 60, started=time.perf_counter() if started is None else started)
    path = resolve_impl(impl)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    log = StepLog(echo=echo)
    echo(
        f"homework: {path} | preset {preset} | "
        + (f"budget {format_duration(budget.seconds)}" if budget else "by epochs")
        + ("" if asked == STEPS else f" | steps {', '.join(map(str, asked))}")
        + f" | output {out_dir}"
    )
    wiring = f" ({SMOKE_NOTE})" if preset == "smoke" else ""
    if wiring:
        echo(f"note: {SMOKE_NOTE}: it checks that every step runs; use --preset quick for real scores.")
    homework = load_homework(path)
    data = load_fashion_mnist(data_dir)
    if settings.train or settings.val or settings.test:
        data = data.subset(train=settings.train, val=settings.val, test=settings.test, seed=0)

    summary: dict[str, Any] = {"preset": preset, "impl": str(path), **environment.describe()}
    summary["steps_asked"] = list(asked)
    step_seconds: dict[str, float] = {}
    lap_start = time.perf_counter()

    def lap(step: str) -> None:
        """Wall seconds since the previous lap."""
        nonlocal lap_start
        now = time.perf_counter()
        step_seconds[step] = round(now - lap_start, 1)
        lap_start = now

    checks = _visible_rubric(log)
    summary["dataset"] = step_dataset(homework, data, out_dir, log) if 1 in asked else _dataset_facts(data)  # step 1
    if 1 in asked:
        grader_checks(homework, 1, checks, log)
        lap("1")
    sequential = functional = MISSING
    summary["two_styles"] = {}
    if 3 in asked:
        summary["two_styles"], sequential, functional = step_two_styles(homework, data, log)  # step 3
        grader_checks(homework, 3, checks, log)
        lap("3")
    elif 5 in asked:  # step 5 trains step 3's networks: built here, checked only when step 3 is asked
        sequential = log.call(homework, 5, "build_cnn_sequential", data.input_shape, data.num_classes)
        functional = log.call(homework, 5, "build_cnn_functional", data.input_shape, data.num_classes)

    if budget is not None and any(step in asked for step in TRAINED):  # time each network before any trains
        candidates = _budget_candidates(homework, settings, data, asked, sequential, functional)
        time_the_networks(budget, candidates, data, echo)
        budget.refuse_if_too_small(summary.get("device", "this machine"))
        if budget.shares:
            total = sum(budget.shares.values())
            echo(
                f"budget: {format_duration(budget.elapsed())} of {format_duration(budget.seconds)} spent before "
                "training; the training time is shared "
                + ", ".join(f"step {step} {share / total:.0%}" for step, share in budget.shares.items())
            )
        lap("timing")
    runs: dict[str, Any] = {}

    def seconds_for(step: int) -> float | None:
        return budget.for_step(step) if budget is not None and step in budget.shares else None

    def trained_text(run) -> str:
        if getattr(run, "budget", None):
            return (
                f"trained {run.budget['epochs']:g} epochs in {format_duration(run.budget['spent_seconds'])} "
                f"of {format_duration(run.budget['seconds'])}"
            )
        return f"trained {epochs_text(len(run.history))}"

    def train_student(step: int, name: str, builder: str, epochs: int):
        config = homework_config(settings, name, epochs)
        seconds = seconds_for(step)
        if seconds is not None:
            config = config.replace(time_budget=seconds)
        run = log.guard(
            step,
            f"training {name}",
            lambda: train_model(
                name,
                config,
                data,
                out_dir,
                build=lambda: getattr(homework, builder)(data.input_shape, data.num_classes),
            ),
        )
        if run is not MISSING:
            runs[name] = run
            log.add(
                step,
                name,
                "ok",
                f"step {step}: {name} {trained_text(run)}: test macro-F1 {run.evaluation.macro_f1:.4f}{wiring}",
            )

    # Step 5: the CNN-MNIST example trained on Fashion-MNIST. The functional twin gets the
    # trained Sequential weights (step 3's check, now on the whole test set); it is trained on its
    # own only when there is no Sequential model or the weights do not fit.
    if 5 in asked:
        if sequential is not MISSING:
            train_student(5, "cnn_sequential", "build_cnn_sequential", settings.cnn_epochs)
        if functional is not MISSING:
            if "cnn_sequential" in runs:
                run = log.guard(
                    5,
                    "copying cnn_sequential's weights into cnn_functional",
                    lambda: transfer_run(
                        homework.build_cnn_functional(data.input_shape, data.num_classes),
                        runs["cnn_sequential"],
                        data,
                        out_dir,
                    ),
                )
                if run is not MISSING:
                    runs["cnn_functional"] = run
                    log.add(
                        5,
                        "cnn_functional",
                        "ok",
                        "step 5: cnn_functional with cnn_sequential's trained weights: "
                        f"test macro-F1 {run.evaluation.macro_f1:.4f}{wiring}",
                    )
            if "cnn_functional" not in runs:
                train_student(5, "cnn_functional", "build_cnn_functional", settings.cnn_epochs)
        lap("5")

    # Step 6: the Inception variant, judged by the confusion matrix and F1.
    if 6 in asked:
        summary["inception_module"] = inception_module_check(homework, log)
        if log.call(homework, 6, "build_inception_cnn", data.input_shape, data.num_classes) is not MISSING:
            train_student(6, "cnn_inception", "build_inception_cnn", settings.inception_epochs)
        judged = next((name for name in ("cnn_inception", "cnn_sequential", "cnn_functional") if name in runs), None)
        if judged:
            y_true, y_pred = runs[judged].evaluation.y_true, runs[judged].evaluation.y_pred
        else:  # no trained model: check the functions on the test labels against a perturbed copy
            y_true = data.y_test
            y_pred = np.where(np.arange(len(y_true)) % 5 == 0, (y_true + 1) % data.num_classes, y_true)
        summary["f1_check"] = {
            "model": judged,
            **student_metrics_check(homework, y_true, y_pred, data.num_classes, log),
        }
        grader_checks(homework, 6, checks, log)
        lap("6")

    # Step 7: the student's best recipe, trained with this preset's budget.
    config = MISSING
    if 7 in asked:
        grader_checks(homework, 7, checks, log)
        config = log.call(homework, 7, "best_config")
    if config is not MISSING:
        if not isinstance(config, TrainConfig):
            log.add(
                7,
                "best_config",
                "check failed",
                f"step 7: best_config returned {type(config).__name__}; return a kit.train.TrainConfig",
            )
            config = MISSING
        else:
            config, note = best_run_config(config, settings, seconds_for(7))
            if note:
                log.add(7, "best_config", "note", note)
            run = log.guard(7, "training best_config()", lambda: train_model("best", config, data, out_dir))
            if run is not MISSING:
                runs["best"] = run
                log.add(
                    7,
                    "best",
                    "ok",
                    f"step 7: best_config() ({config.model}) {trained_text(run)}: "
                    f"test macro-F1 {run.evaluation.macro_f1:.4f}{wiring}",
                )
    if 7 in asked:
        summary["best_config"] = None if config is MISSING else config.to_dict()
        lap("7")

    for name, run in runs.items():
        _write_run_report(run, data, log, {"cnn_inception": 6, "best": 7}.get(name, 5))
    lap("reports")
    summary["models"] = {
        name: _model_entry(
            runs[name],
            **(
                {"weights_from": "cnn_sequential"} if name == "cnn_functional" and runs[name].train_seconds == 0 else {}
            ),
        )
        if name in runs
        else None
        for name in MODELS
    }
    summary["steps"] = log.records
    summary["todo"] = log.todo
    summary["problems"] = log.problems
    summary["step_seconds"] = step_seconds
    summary["total_seconds"] = round(time.perf_counter() - started, 1)
    if budget is not None:
        summary["budget"] = {**budget.to_dict(), "wall_seconds": round(budget.elapsed(), 1)}
    summary = jsonable(summary)
    write_json(out_dir / SUMMARY_FILE, summary)
    write_homework_report(summary, out_dir)
    return summary


def _dataset_facts(data) -> dict:
    """summary.json's `dataset` when step 1 is not asked: sizes and classes only."""
    return {
        "source": data.source,
        "class_names": list(data.class_names),
        "input_shape": list(data.input_shape),
        "sizes": {"train": int(len(data.y_train)), "validation": int(len(data.y_val)), "test": int(len(data.y_test))},
    }


# --------------------------------------------------------------------------- report.md
def _relative(path: str | Path, out_dir: Path) -> str:
    try:
        return Path(path).resolve().relative_to(out_dir.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def _picture(out_dir: Path, run_dir: str, name: str, title: str) -> list[str]:
    path = Path(run_dir) / name
    return [f"![{title}]({_relative(path, out_dir)})", ""] if path.is_file() else []


def _step_label(key: str) -> str:
    return f"step {key}" if key.isdigit() else key


def write_homework_report(summary: dict, out_dir: str | Path) -> Path:
    """`out_dir/report.md`: the whole homework in one document, from summary.json and the run folders."""
    out_dir = Path(out_dir)
    models = summary["models"]
    lines = [
        "# Fashion-MNIST homework: report",
        "",
        f"Implementation `{summary['impl']}`, preset **{summary['preset']}**, backend {summary['backend']}, "
        f"device {summary['device']}; total time {summary['total_seconds']:.0f} s"
        + (
            " (" + ", ".join(_step_label(k) + f" {v:.0f} s" for k, v in summary["step_seconds"].items()) + ")"
            if summary.get("step_seconds")
            else ""
        )
        + ".",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in summary.get("versions", {}).items()) + ".",
        "",
        *(
            [f"**Note: {SMOKE_NOTE}.** It shows that every step runs; train with `--preset quick` for scores.", ""]
            if summary["preset"] == "smoke"
            else []
        ),
        *_budget_lines(summary),
        "## Steps",
        "",
    ]
    steps = pd.DataFrame(summary["steps"], columns=["step", "name", "status", "message"])
    lines += [markdown_table(steps[["step", "status", "message"]]) if len(steps) else "Nothing ran.", ""]
    if summary["todo"]:
        lines += ["Still to write:", ""] + [f"- {message}" for message in summary["todo"]] + [""]

    dataset = summary["dataset"]
    lines += [
        "## Step 1: the dataset",
        "",
        f"{dataset['sizes']['train']:,} training, {dataset['sizes']['validation']:,} validation and "
        f"{dataset['sizes']['test']:,} test images of shape {tuple(dataset['input_shape'])}, "
        f"{len(dataset['class_names'])} classes; files from {dataset['source']}.",
        "",
    ]
    if dataset.get("summary"):
        lines += [
            "`dataset_summary` (training set):",
            "",
            markdown_table(pd.DataFrame(dataset["summary"]), floatfmt={"mean": ".4f", "std": ".4f"}),
            "",
        ]
    exploration = dataset.get("exploration")
    if exploration:
        findings = exploration.get("findings") or {}
        if findings:
            lines += [
                markdown_table(
                    pd.DataFrame(
                        {
                            "finding": list(findings),
                            "value": [f"{v:.4f}" if isinstance(v, float) else str(v) for v in findings.values()],
                        }
                    )
                ),
                "",
            ]
        for key, name in (exploration.get("images") or {}).items():
            lines += [f"![{key.replace('_', ' ')}](dataset/{name})", ""]
        lines += ["The whole dataset report: [dataset/dataset.md](dataset/dataset.md).", ""]

    styles = summary["two_styles"]
    lines += ["## Step 3: one network, two styles", ""]
    if 3 not in (summary.get("steps_asked") or STEPS):
        lines += ["Not run: not among the steps asked (`--steps`).", ""]
    rows = [{"model": name, **styles[name]} for name in ("cnn_sequential", "cnn_functional") if name in styles]
    if rows:
        lines += [markdown_table(pd.DataFrame(rows)), ""]
    if styles.get("expected_params"):
        lines += [f"The lecture's CNN-MNIST example has {styles['expected_params']:,} parameters.", ""]
    if "equal_outputs" in styles:
        check = styles["equal_outputs"]
        lines += [
            (
                "Same weights, same predictions: the two styles build one network "
                f"(largest difference {check['max_abs_difference']:.1e})."
                if check["equal"]
                else f"**The two styles differ:** {check['reason']}."
            ),
            "",
        ]

    titles = {
        "cnn_sequential": "Step 5: the CNN-MNIST example on Fashion-MNIST (Sequential)",
        "cnn_functional": "Step 5: the same CNN in the functional style",
        "cnn_inception": "Step 6: the CNN with an Inception module",
        "best": "Step 7: the best recipe (`best_config()`)",
    }
    for name in MODELS:
        entry = models.get(name)
        lines += [f"## {titles[name]}", ""]
        if entry is None:
            asked = summary.get("steps_asked") or STEPS
            step = 6 if name == "cnn_inception" else 7 if name == "best" else 5
            lines += [
                "Not trained: see the steps above."
                if step in asked
                else f"Not run: this run asked for step{'s' if len(asked) > 1 else ''} "
                f"{', '.join(map(str, asked))} only (`--steps`).",
                "",
            ]
            continue
        lines += [_model_table(entry), ""]
        for picture, title in (
            ("training_curves.png", "training curves"),
            ("confusion_matrix.png", "confusion matrix"),
            ("per_class_f1.png", "F1 per class"),
        ):
            lines += _picture(out_dir, entry["run_dir"], picture, f"{name}: {title}")
        lines += [
            _confused_line(entry),
            f"Run folder: [{_relative(entry['run_dir'], out_dir)}]({_relative(entry['run_dir'], out_dir)}/report.md).",
            "",
        ]
        if name == "cnn_inception":
            lines += _f1_check_lines(summary.get("f1_check") or {}) + _inception_lines(summary)
    if summary.get("best_config"):
        config = {k: v for k, v in summary["best_config"].items() if v not in (None, "", {}, False)}
        lines += [
            "`best_config()`:",
            "",
            markdown_table(
                pd.DataFrame(
                    {
                        "setting": list(config),
                        "value": [json.dumps(v) if isinstance(v, (dict, list)) else str(v) for v in config.values()],
                    }
                )
            ),
            "",
        ]

    trained = {name: entry for name, entry in models.items() if entry}
    lines += ["## Comparison", ""]
    if trained:
        table = pd.DataFrame(
            [
                {
                    "model": name,
                    "params": e["params"],
                    "epochs": e["epochs"],
                    "train_seconds": e["train_seconds"],
                    "accuracy": e["accuracy"],
                    "macro_f1": e["macro_f1"],
                }
                for name, e in trained.items()
            ]
        )
        lines += [
            markdown_table(
                table.sort_values("macro_f1", ascending=False, kind="stable"),
                floatfmt={"train_seconds": ".1f", "accuracy": ".4f", "macro_f1": ".4f"},
            ),
            "",
            "F1 per class (test set):",
            "",
        ]
        classes = [item["class"] for item in next(iter(trained.values()))["per_class"]]
        f1 = pd.DataFrame(
            {"class": classes, **{name: [item["f1"] for item in e["per_class"]] for name, e in trained.items()}}
        )
        lines += [markdown_table(f1), ""]
    else:
        lines += ["No model was trained yet.", ""]
    path = out_dir / REPORT_FILE
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _budget_lines(summary: dict) -> list[str]:
    """report.md's "Time budget" section: the machine, the budget, its split, and what each step got."""
    budget = summary.get("budget")
    if not budget or not budget.get("shares"):
        return []
    shares = ", ".join(f"step {step} {share:.0%}" for step, share in budget["shares"].items())
    lines = [
        "## Time budget",
        "",
        f"**{format_duration(budget['seconds'])}** of wall time on {summary['device']} ({summary['backend']}); "
        f"the run took {format_duration(budget['wall_seconds'])} from the start of Python. The training time was "
        f"shared {shares or 'among no step'} (step 7 gets the most: its network is the one scored); each network "
        "was timed before anything trained, and each run fitted its epochs and its learning-rate schedule to its "
        "seconds, correcting after every epoch (`kit.train`'s `time_budget`).",
        "",
    ]
    rows = []
    for step, name in TRAINED.items():
        entry = (summary.get("models") or {}).get(name) or (
            (summary.get("models") or {}).get("cnn_functional") if step == 5 else None
        )
        if not entry or not entry.get("budget"):
            continue
        spent = entry["budget"]
        rows.append(
            {
                "step": step,
                "network": Path(entry["run_dir"]).name,
                "seconds given": spent["budget_seconds"],
                "seconds taken": spent["spent_seconds"],
                "epochs": spent["epochs"],
                "training images/s": spent["images_per_second"],
                "test macro-F1": entry["macro_f1"],
            }
        )
    if rows:
        formats = {"seconds given": ".0f", "seconds taken": ".0f", "epochs": ".2f", "training images/s": ".0f"}
        lines += [markdown_table(pd.DataFrame(rows), floatfmt=formats), ""]
    return lines


def _model_table(entry: dict) -> str:
    budget = entry.get("budget")
    rows = [
        ("test accuracy", f"{entry['accuracy']:.4f}"),
        ("test macro-F1", f"{entry['macro_f1']:.4f}"),
        ("weighted F1", f"{entry['weighted_f1']:.4f}"),
        ("parameters", f"{entry['params']:,}"),
        ("epochs", f"{budget['epochs']:g} (by the clock)" if budget else str(entry["epochs"])),
        ("training time (s)", f"{entry['train_seconds']:.1f}"),
        ("test images", f"{entry['n_test']:,}"),
    ]
    if budget:
        rows += [
            ("seconds given / taken", f"{budget['budget_seconds']:.0f} / {budget['spent_seconds']:.0f}"),
            ("training images/s (measured)", f"{budget['images_per_second']:,.0f}"),
        ]
    if entry.get("weights_from"):
        rows.append(("weights from", entry["weights_from"]))
    return markdown_table(pd.DataFrame(rows, columns=["", "value"]))


def _confused_line(entry: dict) -> str:
    pairs = entry.get("most_confused", [])[:3]
    if not pairs:
        return "No test image was misclassified."
    return "Most confused: " + "; ".join(f"{p['true']} -> {p['predicted']} ({p['count']})" for p in pairs) + "."


def _f1_check_lines(check: dict) -> list[str]:
    if "student_f1" not in check and "confusion_matrix_matches_sklearn" not in check:
        return []
    lines = [
        "Your numpy `confusion_matrix` / `f1_scores` beside scikit-learn's "
        f"(on {check.get('model') or 'perturbed test labels'}):",
        "",
    ]
    if "confusion_matrix_matches_sklearn" in check:
        lines.append(f"- confusion matrix equal to scikit-learn's: {check['confusion_matrix_matches_sklearn']}")
    if "student_macro_f1" in check:
        lines.append(
            f"- macro-F1: yours {check['student_macro_f1']:.6f}, scikit-learn {check['sklearn_macro_f1']:.6f}"
            f" (equal per class and macro: {check['f1_matches_sklearn']})"
        )
    return lines + [""]


def _inception_lines(summary: dict) -> list[str]:
    module = summary.get("inception_module") or {}
    if not module:
        return []
    return [
        f"`inception_module` alone on a 12x12x64 map: output {tuple(module['output_shape'])}, "
        f"{module['params']:,} parameters.",
        "",
    ]


def build_parser() -> argparse.ArgumentParser:
    """The runner's own arguments (`python -m kit homework [--assignment fashion_mnist] ...`)."""
    parser = argparse.ArgumentParser(
        prog="python -m kit homework", description="Every step of the Fashion-MNIST homework, one report."
    )
    parser.add_argument(
        "--impl", help="solutions, assignments, or a folder with homework.py (default: solutions where present)"
    )
    parser.add_argument(
        "--preset",
        choices=tuple(HOMEWORK_PRESETS),
        default="quick",
        help="smoke: a wiring check (a few hundred images, ~2 min on 2 cores); quick: 15 minutes of wall time for "
        "the whole homework on any machine (the default); full: the GPU recipe by its epochs",
    )
    parser.add_argument(
        "--minutes",
        type=float,
        help="the whole run's wall minutes (default: the preset's, 15 for quick), shared among the networks that "
        "train (step 7 gets 70 %%); more minutes or a faster machine train more epochs",
    )
    parser.add_argument("--steps", help="only these steps, e.g. 7 or 5,7 (default: every step)")
    parser.add_argument("--out", default="runs/homework")
    parser.add_argument("--data-dir")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`python -m kit homework --impl ... --preset ... [--minutes M] [--steps 5,7] --out DIR`."""
    args = build_parser().parse_args(argv)
    summary = run_homework(
        args.impl,
        args.preset,
        args.out,
        data_dir=args.data_dir,
        minutes=args.minutes,
        steps=args.steps,
        started=time.perf_counter() - process_seconds(),  # the wall minutes count from Python's start
    )
    out = Path(args.out)
    print(
        f"wrote {out / REPORT_FILE} and {out / SUMMARY_FILE} in {summary['total_seconds']:.0f} s"
        + (f"; {len(summary['todo'])} step function(s) still to write" if summary["todo"] else "")
    )
    return 0
