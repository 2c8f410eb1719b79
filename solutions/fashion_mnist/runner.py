"""The Fashion-MNIST homework's runner (`python -m kit homework`, `make run`): every step with a chosen homework.py.

The lecture's homework slide, run end to end with the student's (or the instructor's)
`homework.py`: step 1 explores the dataset, step 3 builds the CNN-MNIST example in both styles
and checks that they are one network, step 5 trains it on Fashion-MNIST, step 6 trains the
Inception variant and reads it through the confusion matrix and F1 (the student's numpy
versions beside scikit-learn's), step 7 trains the student's best recipe. A function that is
not written yet is reported as "step N: implement `name` in homework.py" and the other steps
still run. Everything lands in one folder: a run folder per model (kit.train), `report.md`
(one document, `report.py` beside this file) and `summary.json` (the same numbers, for the grader).
What every runner shares (the step log, a step's visible checks, the arguments, the summary) is
`kit.runner`; this file holds only the homework's own steps.

By the clock (DESIGN.md "Presets sized to the clock"): the `quick` preset is 15 minutes of wall
time for the whole homework on any machine (`--minutes` sets another budget, for any preset),
shared among the networks that train (`TRAINING_SHARES`, a `kit.budget.BudgetSplit`); each trains
for its share with `kit.train`'s `time_budget`, so a faster machine trains more epochs. A budget in
which one epoch of a network cannot fit is refused before anything trains. `--steps` runs only
the steps asked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from kit import host_fit
from kit import runner as skeleton
from kit.assignments import Assignment
from kit.budget import BudgetSplit, format_duration, format_epochs, process_seconds, split_seconds
from kit.data import load_fashion_mnist
from kit.errors import check_name
from kit.report import write_report
from kit.runner import MISSING, Session, StepLog, load_homework, visible_checks  # noqa: F401 - the runner's API
from kit.train import Run, TrainConfig, estimate_run, train

report = skeleton.sibling(__file__, "report.py")  # report.md: this assignment's own layout
homework_steps = skeleton.sibling(__file__, "steps.py")  # what the steps compute beside training
SMOKE_NOTE = report.SMOKE_NOTE
MODELS = ("cnn_sequential", "cnn_functional", "cnn_inception", "best")


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
# Steps 5 and 6 are demonstrations: on a slow machine their share may be less than one epoch, and
# they keep to it (a quarter of an epoch already shows that a network learns; report.md says how
# much of an epoch each got) rather than take step 7's time (issue 41).
DEMONSTRATION_LEAST_EPOCHS = 0.25
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
    if minutes is None:
        return {}
    weights = {step: TRAINING_SHARES[step] for step in steps if step in TRAINING_SHARES}
    return split_seconds(minutes * 60 * TRAINING_PART, weights)


def homework_budget(seconds: float, started: float | None = None) -> BudgetSplit:
    """The whole homework's wall seconds, shared among the steps that train (`kit.budget.BudgetSplit`).

    `started`: the `time.perf_counter()` it counts from (default: now; the command line gives the
    start of the Python process, since `make run` promises wall minutes and importing TensorFlow
    is part of them).
    """
    return BudgetSplit(
        seconds=seconds,
        safety=ESTIMATE_SAFETY,
        started=started,
        label="step {}",
        what="the homework",
        advice="run with --minutes {minutes:.1f} or more",
    )


def parse_steps(text: str | Iterable[int] | None) -> tuple[int, ...]:
    """`--steps 5,7` -> (5, 7); None or "" -> every step. An unknown step is one ValueError listing the valid ones."""
    return skeleton.parse_steps(text, STEPS, "steps 2 and 4 are reading: nothing runs")


# --------------------------------------------------------------------------- the implementation
default_impl, resolve_impl = skeleton.impl_resolvers(__file__)  # --impl: solutions, assignments, a folder


def epochs_text(count: int) -> str:
    """'1 epoch', '3 epochs'."""
    return f"{count} epoch" if count == 1 else f"{count} epochs"


# --------------------------------------------------------------------------- training
def train_model(name: str, config, data, out_dir: Path, build: Callable[[], Any] | None = None):
    """Train one homework model into `out_dir/name` with kit.train; returns its `Run`.

    `build` makes the student's (uncompiled) network; kit.train calls it inside its precision
    and distribution scope, so the student's network trains exactly like a registry model (same
    precision measurement, callbacks and run folder). Without it, `config.model` is built.
    """
    return train(config, data, out=out_dir / name, model=build)


def homework_config(preset: HomeworkPreset, name: str, epochs: int):
    """The kit.train config of a step-5/6 network: Adam at 1e-3, best epoch by validation macro-F1; by the clock
    it may train part of an epoch (`DEMONSTRATION_LEAST_EPOCHS`).

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
        least_epochs=DEMONSTRATION_LEAST_EPOCHS,
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


def time_the_networks(budget: BudgetSplit, candidates: dict, data, echo: Callable[[str], None]) -> None:
    """`kit.train.estimate_run` of every network that will train; a network that does not build is left out.

    Each step keeps back its report's seconds (step 5 two: the functional twin has one too) and step
    5 the twin's evaluation right after its training.
    """
    for step, (config, builder) in candidates.items():
        try:
            estimate = estimate_run(config, data, model=builder)
        except Exception:  # noqa: BLE001 - a student's network that fails here fails in its step, with its message
            continue
        estimate["model"] = config.model if builder is None else config.name
        twin = step == 5
        budget.add(
            step,
            TRAINING_SHARES[step],
            estimate,
            end_seconds=REPORT_SECONDS * (2 if twin else 1),
            after_seconds=TRANSFER_SECONDS if twin else 0.0,
        )
        least = estimate.get("least_epochs", 1.0)
        echo(
            f"budget: step {step} ({estimate['model']}) trains {estimate['images_per_second']:,.0f} images/s here; "
            f"{'one epoch' if least >= 1 else format_epochs(least)} (its least) with its "
            f"start, validation and evaluation takes {format_duration(estimate['smallest_budget'])}"
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


# --------------------------------------------------------------------------- the whole homework
@dataclass
class Homework:
    """One run of the homework: the session (student's module, log, summary), the data, the budget, the runs."""

    session: Session
    settings: HomeworkPreset
    data: Any
    asked: tuple[int, ...]
    budget: BudgetSplit | None = None
    rubric: Any = None
    runs: dict[str, Run] = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)
    lap_start: float = field(default_factory=time.perf_counter)
    networks: dict[str, Any] = field(default_factory=lambda: {"cnn_sequential": MISSING, "cnn_functional": MISSING})

    @property
    def homework(self) -> ModuleType:
        return self.session.homework

    @property
    def log(self) -> StepLog:
        return self.session.log

    @property
    def wiring(self) -> str:
        """Said after every smoke score: it means nothing."""
        return f" ({SMOKE_NOTE})" if self.settings.name == "smoke" else ""

    def lap(self, step: str) -> None:
        """Wall seconds since the previous lap, recorded for `step`."""
        now = time.perf_counter()
        self.step_seconds[step] = round(now - self.lap_start, 1)
        self.lap_start = now

    def seconds_for(self, step: int) -> float | None:
        """The seconds `step` trains for, or None where it trains its epochs."""
        return self.budget.for_part(step) if self.budget is not None and step in self.budget.shares else None

    def checks(self, step: int) -> None:
        """The autograder's visible checks of `step` (rubric data names each check's step)."""
        visible_checks(self.homework, self.rubric, self.log, step)

    def trained(self, step: int, name: str, run: Run, what: str = "") -> None:
        """Keep a trained run and say so: its epochs (or seconds of budget) and its test macro-F1."""
        self.runs[name] = run
        if getattr(run, "budget", None):
            done = (
                f"trained {format_epochs(run.budget['epochs'])} in {format_duration(run.budget['spent_seconds'])} "
                f"of {format_duration(run.budget['seconds'])}"
            )
        else:
            done = f"trained {epochs_text(len(run.history))}"
        message = f"step {step}: {what or name} {done}: test macro-F1 {run.evaluation.macro_f1:.4f}{self.wiring}"
        self.log.add(step, name, "ok", message)

    def train_student(self, step: int, name: str, builder: str, epochs: int) -> None:
        """Train the network the student's `builder` makes, into the run folder `name`."""
        config = homework_config(self.settings, name, epochs)
        seconds = self.seconds_for(step)
        if seconds is not None:
            config = config.replace(time_budget=seconds)
        shape, classes = self.data.input_shape, self.data.num_classes
        build = lambda: getattr(self.homework, builder)(shape, classes)  # noqa: E731
        run = self.log.run(step, f"training {name}", lambda: train_model(name, config, self.data, self.out_dir, build))
        if run is not MISSING:
            self.trained(step, name, run)

    @property
    def out_dir(self) -> Path:
        return self.session.out_dir


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
    assignment: Assignment | None = None,
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
    budget = None if minutes is None else homework_budget(minutes * 60, started)
    assignment = assignment or skeleton.assignment_of(__file__)
    header = " | " + (f"budget {format_duration(budget.seconds)}" if budget else "by epochs")
    header += "" if asked == STEPS else f" | steps {', '.join(map(str, asked))}"
    session = Session.start(assignment, impl, preset, out, echo=echo, header=header)
    if preset == "smoke":
        echo(f"note: {SMOKE_NOTE}: it checks that every step runs; use --preset quick for real scores.")
    data = load_fashion_mnist(data_dir)
    if settings.train or settings.val or settings.test:
        data = data.subset(train=settings.train, val=settings.val, test=settings.test, seed=0)
    run = Homework(session, settings, data, asked, budget, skeleton.load_visible_rubric(assignment, session.log))
    session.summary["steps_asked"] = list(asked)
    for step in (1, 3, "timing", 5, 6, 7, "reports"):
        if step in STEP_ACTIONS and (step in asked or not isinstance(step, int)):
            STEP_ACTIONS[step](run)
    extra = {"budget": {**budget.to_dict(), "wall_seconds": round(budget.elapsed(), 1)}} if budget else {}
    return session.finish(report.write_homework_report, step_seconds=run.step_seconds, **extra)


def run_step_1(run: Homework) -> None:
    """Step 1: the dataset report and the student's `dataset_summary`; its visible checks."""
    run.session.summary["dataset"] = homework_steps.step_dataset(run.homework, run.data, run.out_dir, run.log)
    run.checks(1)
    run.lap("1")


def run_step_3(run: Homework) -> None:
    """Step 3: the CNN in both styles; its visible checks."""
    run.session.summary["two_styles"], sequential, functional = homework_steps.step_two_styles(
        run.homework, run.data, run.log
    )
    run.networks.update(cnn_sequential=sequential, cnn_functional=functional)
    run.checks(3)
    run.lap("3")


def run_timing(run: Homework) -> None:
    """Before any training: the summary's defaults, step 3's networks for step 5, and the budget's split."""
    summary = run.session.summary
    summary.setdefault("dataset", _dataset_facts(run.data))
    summary.setdefault("two_styles", {})
    if 5 in run.asked and 3 not in run.asked:  # step 5 trains step 3's networks: built here, checked only in step 3
        for name in ("cnn_sequential", "cnn_functional"):
            run.networks[name] = run.log.call(
                run.homework, 5, f"build_{name}", run.data.input_shape, run.data.num_classes
            )
    budget = run.budget
    if budget is None or not any(step in run.asked for step in TRAINED):
        return
    candidates = _budget_candidates(
        run.homework, run.settings, run.data, run.asked, run.networks["cnn_sequential"], run.networks["cnn_functional"]
    )
    time_the_networks(budget, candidates, run.data, run.session.log.echo)
    budget.refuse_if_too_small(summary.get("device", "this machine"))
    if budget.shares:
        total = sum(budget.shares.values())
        run.session.log.echo(
            f"budget: {format_duration(budget.elapsed())} of {format_duration(budget.seconds)} spent before "
            "training; the training time is shared "
            + ", ".join(f"step {step} {share / total:.0%}" for step, share in budget.shares.items())
        )
    run.lap("timing")


def run_step_5(run: Homework) -> None:
    """Step 5: the CNN-MNIST example trained on Fashion-MNIST.

    The functional twin gets the trained Sequential weights (step 3's check, now on the whole test
    set); it is trained on its own only when there is no Sequential model or the weights do not fit.
    """
    settings, data = run.settings, run.data
    if run.networks["cnn_sequential"] is not MISSING:
        run.train_student(5, "cnn_sequential", "build_cnn_sequential", settings.cnn_epochs)
    if run.networks["cnn_functional"] is not MISSING:
        if "cnn_sequential" in run.runs:
            twin = run.log.run(
                5,
                "copying cnn_sequential's weights into cnn_functional",
                lambda: homework_steps.transfer_run(
                    run.homework.build_cnn_functional(data.input_shape, data.num_classes),
                    run.runs["cnn_sequential"],
                    data,
                    run.out_dir,
                ),
            )
            if twin is not MISSING:
                run.runs["cnn_functional"] = twin
                run.log.add(
                    5,
                    "cnn_functional",
                    "ok",
                    "step 5: cnn_functional with cnn_sequential's trained weights: "
                    f"test macro-F1 {twin.evaluation.macro_f1:.4f}{run.wiring}",
                )
        if "cnn_functional" not in run.runs:
            run.train_student(5, "cnn_functional", "build_cnn_functional", settings.cnn_epochs)
    run.lap("5")


def run_step_6(run: Homework) -> None:
    """Step 6: the Inception variant, judged by the confusion matrix and F1 (the student's beside scikit-learn's)."""
    data, summary = run.data, run.session.summary
    summary["inception_module"] = homework_steps.inception_module_check(run.homework, run.log)
    if run.log.call(run.homework, 6, "build_inception_cnn", data.input_shape, data.num_classes) is not MISSING:
        run.train_student(6, "cnn_inception", "build_inception_cnn", run.settings.inception_epochs)
    judged = next((name for name in ("cnn_inception", "cnn_sequential", "cnn_functional") if name in run.runs), None)
    if judged:
        y_true, y_pred = run.runs[judged].evaluation.y_true, run.runs[judged].evaluation.y_pred
    else:  # no trained model: check the functions on the test labels against a perturbed copy
        y_true = data.y_test
        y_pred = np.where(np.arange(len(y_true)) % 5 == 0, (y_true + 1) % data.num_classes, y_true)
    checked = homework_steps.student_metrics_check(run.homework, y_true, y_pred, data.num_classes, run.log)
    summary["f1_check"] = {"model": judged, **checked}
    run.checks(6)
    run.lap("6")


def run_step_7(run: Homework) -> None:
    """Step 7: the student's best recipe, trained with this preset's budget."""
    run.checks(7)
    config = run.log.call(run.homework, 7, "best_config")
    if config is not MISSING and not isinstance(config, TrainConfig):
        message = f"step 7: best_config returned {type(config).__name__}; return a kit.train.TrainConfig"
        run.log.add(7, "best_config", "check failed", message)
        config = MISSING
    if config is not MISSING:
        config, note = best_run_config(config, run.settings, run.seconds_for(7))
        if note:
            run.log.add(7, "best_config", "note", note)
        config = fitted_to_host(run, config)
        trained = run.log.run(7, "training best_config()", lambda: train_model("best", config, run.data, run.out_dir))
        if trained is not MISSING:
            run.trained(7, "best", trained, f"best_config() ({config.model})")
    run.session.summary["best_config"] = None if config is MISSING else config.to_dict()
    run.lap("7")


def fitted_to_host(run: Homework, config: TrainConfig) -> TrainConfig:
    """`best_config()` with `fit_to_host` and a budget: the width for this machine (`kit.host_fit`), from the
    speed step 7's network was timed at before training; said in the log and report.md. Else as it is."""
    estimate = run.budget.estimates.get(7) if run.budget is not None else None
    if not (config.fit_to_host and config.time_budget and estimate):
        return config
    config, choice = host_fit.fit(config, config.time_budget, estimate)
    run.session.summary["host_fit"] = choice.to_dict()
    run.log.add(7, "best_config", "note", f"step 7: fitted to this machine: {choice.sentence()}")
    return config


def run_reports(run: Homework) -> None:
    """Each run folder's own report.md and plots; summary.json's `models` (null: not trained)."""
    for name, trained in run.runs.items():
        step = {"cnn_inception": 6, "best": 7}.get(name, 5)
        run.log.run(
            step,
            f"report of {Path(trained.run_dir).name}",
            lambda t=trained: write_report(t.run_dir, run.data, evaluation=t.evaluation),
        )
    run.lap("reports")
    twin = {"weights_from": "cnn_sequential"}
    run.session.summary["models"] = {
        name: _model_entry(
            run.runs[name], **(twin if name == "cnn_functional" and run.runs[name].train_seconds == 0 else {})
        )
        if name in run.runs
        else None
        for name in MODELS
    }


STEP_ACTIONS = {1: run_step_1, 3: run_step_3, "timing": run_timing, 5: run_step_5, 6: run_step_6, 7: run_step_7}
STEP_ACTIONS["reports"] = run_reports


def _dataset_facts(data) -> dict:
    """summary.json's `dataset` when step 1 is not asked: sizes and classes only."""
    return {
        "source": data.source,
        "class_names": list(data.class_names),
        "input_shape": list(data.input_shape),
        "sizes": {"train": int(len(data.y_train)), "validation": int(len(data.y_val)), "test": int(len(data.y_test))},
    }


def build_parser(assignment: Assignment | None = None):
    """The runner's arguments (`kit.runner.parser`: the common ones, with --minutes and --steps)."""
    return skeleton.parser(
        assignment or __file__,
        "Every step of the Fashion-MNIST homework, one report.",
        HOMEWORK_PRESETS,
        out="runs/homework",
        preset_help="smoke: a wiring check (a few hundred images, ~2 min on 2 cores); quick: 15 minutes of wall time "
        "for the whole homework on any machine (the default); full: the GPU recipe by its epochs",
        minutes_help="the whole run's wall minutes (default: the preset's, 15 for quick), shared among the networks "
        "that train (step 7 gets 70 %%); more minutes or a faster machine train more epochs",
        steps_help="only these steps, e.g. 7 or 5,7 (default: every step)",
    )


def main(argv: list[str] | None = None, *, assignment: Assignment | None = None) -> int:
    """`python -m kit homework --impl ... --preset ... [--minutes M] [--steps 5,7] --out DIR`."""
    return skeleton.main(
        build_parser(assignment),
        argv,
        lambda args: run_homework(
            args.impl,
            args.preset,
            args.out,
            data_dir=args.data_dir,
            minutes=args.minutes,
            steps=args.steps,
            started=time.perf_counter() - process_seconds(),  # the wall minutes count from Python's start
            assignment=assignment,
        ),
        "step function(s)",
    )
