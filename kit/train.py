"""The training engine: ``TrainConfig`` -> compiled model -> ``model.fit`` -> run folder.

Everything a run does is decided by one ``TrainConfig`` (saved as JSON in the run folder, so a
run can be repeated), started from a preset (``smoke``, ``quick``, ``full``). A run lasts its
``epochs``, or, with ``time_budget``, as many steps as fit in that many seconds on this machine
(DESIGN.md "Presets sized to the clock"; ``kit.budget``). The loop itself is Keras' ``model.fit`` on
numpy arrays, with sparse integer labels unless label smoothing or MixUp/CutMix need one-hot
ones, so the kit costs nothing over plain ``fit`` (benchmarks/throughput.py measures it).
A run folder (docs/architecture.md) holds config.json, history.csv, model.keras (best),
metrics.json and training_curves.png.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kit import distribute, environment, host_fit, models, runs
from kit.augment import MixingDataset, augmentation_layers, split_spec
from kit.budget import Budget, BudgetTooSmall, Costs, check_least_epochs, format_duration, smallest_budget
from kit.callbacks import (
    LOSS_EXPLODED,
    NaNGuard,
    TimeBudget,
    lr_find,
    plot_lr_find,
    standard_callbacks,
    wait_for_device,
)
from kit.errors import TrainingError, check_name
from kit.evaluate import evaluate, tta
from kit.files import read_json, write_json
from kit.optimizers import check_optimizer, make_loss, make_optimizer
from kit.report import plot_training_curves
from kit.schedules import SCHEDULES, make_schedule
from kit.schedules import values as schedule_values

__all__ = [
    "MIXED_MIN_SPEEDUP",
    "MONITORS",
    "PRECISIONS",
    "TRAIN_PRESETS",
    "Run",
    "TrainConfig",
    "build_model",
    "estimate_run",
    "measure_precision",
    "preset",
    "train",
    "tta_shifts",
]

PRECISIONS: tuple[str, ...] = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
MONITORS: tuple[str, ...] = ("val_loss", "val_accuracy", "val_macro_f1")
# config.json files written before the field was renamed say "early_stopping" for the patience.
_RENAMED_FIELDS = {"early_stopping": "patience"}


# --------------------------------------------------------------------------- configuration
def _split_augmentation(spec: Any) -> tuple[Any, Any]:
    """(in-model augmentation, batch mixing) of an augmentation spec; (None, None) without one."""
    return split_spec(spec) if spec else (None, None)


@dataclass
class TrainConfig:
    """One training run, as the lecture's hyperparameter recipe varies it. Saved in config.json.

    ``patience`` is early stopping's patience in epochs (None: no early stopping). ``monitor`` picks the best epoch
    (checkpoint, early stopping): val_loss, val_accuracy or val_macro_f1. ``augmentation`` is a
    ``kit.augment`` spec (e.g. "flip,translate,erasing,mixup"). ``precision`` "auto" measures
    float32 against mixed precision on the actual model and keeps the faster. ``train_size`` /
    ``test_size`` train/evaluate on a stratified subset (smoke runs); ``validation_size`` images
    are held out of the training set. ``devices`` > 1 trains data-parallel (``kit.distribute``).
    ``use_ema`` keeps an exponential moving average of the weights (Polyak averaging; Keras'
    optimizer option ``use_ema``, momentum ``ema_momentum`` per step): validation, the checkpoint
    and the final model use the averaged weights. ``tta`` also evaluates the test set with
    test-time augmentation (identity and flip, plus four 2-pixel shifts when the model trained
    with shifts: ``kit.evaluate.tta``, :func:`tta_shifts`), written as ``tta`` in metrics.json next
    to the plain figures (model.keras itself is the plain model). ``tta_in_model`` puts the
    test-time augmentation into the file instead: model.keras is the best epoch's network averaged
    over the image and its mirror (``kit.models.mirror_average``), so whoever loads it (the
    autograder) gets the averaged predictions; the plain figures are that model's, and the single
    network's are written as ``without_tta`` in metrics.json.
    ``time_budget`` (seconds; None: train ``epochs``) fits the run to the clock instead (``kit.budget``):
    a few timed steps before training give the steps that fit, so that training, validation, the
    final evaluation and saving end within the budget; each epoch's measured seconds correct the
    plan, and the learning-rate schedule (warm-up, then its decay) ends at the last step. ``epochs``
    is then not used; config.json's ``training.budget`` records the measurements and every plan.
    ``least_epochs`` (with a budget): the least the run trains, one epoch (1) or, for a demonstration
    whose share of a budget is less than an epoch, a fraction of one (0.25: stop part-way, say so).
    ``fit_to_host`` (with a budget): the network's width is chosen for this machine's measured speed
    from the measured table of ``kit.host_fit`` (a slow host trains a narrower network for
    more epochs); the run's config.json records the choice and why.
    """

    name: str = ""
    model: str = "cnn_mnist"
    model_options: dict = field(default_factory=dict)
    optimizer: str = "adam"
    optimizer_options: dict = field(default_factory=dict)
    learning_rate: float = 1e-3
    schedule: str = "constant"
    schedule_options: dict = field(default_factory=dict)
    warmup_epochs: float = 0
    epochs: int = 10
    batch_size: int = 128
    augmentation: Any = ""
    label_smoothing: float = 0.0
    use_ema: bool = False
    ema_momentum: float = 0.99
    tta: bool = False
    tta_in_model: bool = False
    patience: int | None = None
    monitor: str = "val_loss"
    seed: int = 0
    precision: str = "auto"
    validation_size: int = 5000
    train_size: int | None = None
    test_size: int | None = None
    devices: int = 1
    tensorboard: bool = False
    time_budget: float | None = None
    least_epochs: float = 1.0
    fit_to_host: bool = False

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> TrainConfig:
        """Check names and ranges; one ValueError sentence listing the valid choices."""
        check_optimizer(self.optimizer)
        check_name("schedule", self.schedule, SCHEDULES)
        check_name("precision", self.precision, PRECISIONS)
        check_name("monitor", self.monitor, MONITORS)
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number; got {self.learning_rate!r}.")
        for key in ("epochs", "batch_size", "devices"):
            if int(getattr(self, key)) < 1:
                raise ValueError(f"{key} must be >= 1; got {getattr(self, key)!r}.")
        if not (isinstance(self.ema_momentum, (int, float)) and 0 <= self.ema_momentum < 1):
            raise ValueError(f"ema_momentum must be in [0, 1); got {self.ema_momentum!r}.")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1); got {self.label_smoothing!r}.")
        if self.patience is not None and int(self.patience) < 0:
            raise ValueError(f"patience is early stopping's patience in epochs (>= 0) or None; got {self.patience!r}.")
        if self.augmentation:
            _split_augmentation(self.augmentation)  # unknown names -> ValueError listing valid ones
        if self.warmup_epochs < 0 or self.validation_size < 0:
            raise ValueError("warmup_epochs and validation_size must be >= 0.")
        check_least_epochs(self.least_epochs)
        if self.fit_to_host:
            host_fit.check(self.model, self.model_options)  # a width with no measured table: one sentence
        budget = self.time_budget
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0):
            raise ValueError(
                f"time_budget is the run's seconds (> 0), or None to train `epochs`; got {self.time_budget!r}."
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """From a dict (e.g. JSON); unknown keys are an error that lists the valid ones.

        Old field names (``early_stopping``, now ``patience``) are read as the new ones, so that
        run folders written before the rename still load.
        """
        values = {_RENAMED_FIELDS.get(key, key): value for key, value in values.items()}
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(valid))
        if unknown:
            raise ValueError(
                f"Unknown TrainConfig key(s) {', '.join(map(repr, unknown))}; valid keys: {', '.join(valid)}."
            )
        return cls(**values)

    def replace(self, **overrides: Any) -> TrainConfig:
        """A copy with some fields changed (unknown names rejected like ``from_dict``)."""
        return type(self).from_dict({**self.to_dict(), **overrides})

    def save(self, path: str | Path) -> Path:
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """From a TrainConfig JSON file, or a run folder / its config.json (the "config" part)."""
        path = Path(path)
        if path.is_dir():
            path = path / runs.CONFIG_FILE
        values = read_json(path, fix="fix or re-create it")
        if isinstance(values, dict) and isinstance(values.get("config"), dict):
            values = values["config"]
        if not isinstance(values, dict):
            raise ValueError(f"{path} must hold a JSON object of TrainConfig fields.")
        return cls.from_dict(values)


# kit.train's presets: one TrainConfig per machine size (an assignment's runner keeps presets of its own).
TRAIN_PRESETS: dict[str, TrainConfig] = {
    # seconds: 2,000 training images, 2 epochs, float32 (no precision measurement), small test set.
    "smoke": TrainConfig(
        name="smoke",
        epochs=2,
        batch_size=32,
        learning_rate=1e-3,
        precision="float32",
        validation_size=500,
        train_size=2000,
        test_size=1000,
        monitor="val_accuracy",
    ),
    # minutes on a 2-core CPU: the whole training set, cosine decay, best epoch by validation macro-F1.
    "quick": TrainConfig(
        name="quick",
        epochs=6,
        batch_size=128,
        learning_rate=1e-3,
        schedule="cosine",
        monitor="val_macro_f1",
        patience=3,
    ),
    # the GPU recipe: AdamW + warm-up + cosine, augmentation, label smoothing, early stopping.
    "full": TrainConfig(
        name="full",
        epochs=60,
        batch_size=128,
        optimizer="adamw",
        learning_rate=2e-3,
        optimizer_options=dict(weight_decay=1e-4),  # not the solution's text: the release refuses equal lines
        schedule="cosine",
        warmup_epochs=2,
        augmentation="flip,translate,erasing",
        label_smoothing=0.1,
        patience=10,
        monitor="val_macro_f1",
    ),
}


def tta_shifts(config: TrainConfig) -> bool:
    """Whether test-time augmentation adds shifted views: only for a model that trained with shifts.

    A net that never saw a shifted image is not helped by averaging over shifted copies.
    """
    in_model, _ = _split_augmentation(config.augmentation)
    return "translate" in (in_model or {})


def preset(preset_name: str, /, **overrides: Any) -> TrainConfig:
    """The preset ``preset_name`` (smoke, quick, full) with some fields overridden (``name`` included)."""
    return TRAIN_PRESETS[check_name("preset", preset_name, TRAIN_PRESETS)].replace(**overrides)


# --------------------------------------------------------------------------- the run
@dataclass
class Run:
    """What ``train`` returns. ``train_seconds`` is the wall time of this call's ``model.fit``.

    ``model`` is what model.keras holds: with ``tta_in_model`` the mirror-averaged network.
    """

    run_dir: Path
    model: Any
    history: Any  # pandas.DataFrame, one row per epoch (resumed epochs included)
    config: TrainConfig
    evaluation: Any  # kit.evaluate.Evaluation on the test set, or None without one
    train_seconds: float
    tta_evaluation: Any = None  # the same with test-time augmentation (config.tta), else None
    budget: dict | None = None  # with config.time_budget: config.json's training.budget (measurements, plans, seconds)


def build_model(config: TrainConfig, input_shape=(28, 28, 1), num_classes: int = 10, *, builder=None):
    """``kit.models.build(config.model)`` (or ``builder()``) with the in-model augmentation layers in front.

    The augmentation layers are Keras preprocessing layers: active in ``fit``, the identity at
    inference, and saved inside model.keras. ``builder``: a function returning an uncompiled
    Keras model (e.g. a student's model-building function) or a model itself.
    """
    if builder is not None:
        network = builder if isinstance(builder, keras.Model) else builder()
    else:
        network = models.build(
            config.model, input_shape=tuple(input_shape), num_classes=num_classes, **config.model_options
        )
    in_model, _ = _split_augmentation(config.augmentation)
    if not in_model:
        return network
    augmentation = augmentation_layers(in_model, seed=config.seed)
    if augmentation is None:
        return network
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    outputs = network(augmentation(inputs))
    return keras.Model(inputs, outputs, name=f"{network.name}_augmented")


def _jit_compile():
    """XLA stays off under TensorFlow on CPU (much slower for the homework CNN there: docs/performance.md);
    elsewhere Keras decides ("auto": on for JAX, on for TF with a GPU)."""
    if environment.backend() == "tensorflow" and not environment.accelerators():
        return False
    return "auto"


MIXED_MIN_SPEEDUP = 1.05  # precision "auto" keeps a mixed policy only when it is at least 5 % faster


def _half_precision_candidate() -> tuple[str | None, str]:
    """The mixed policy worth measuring on this machine, and why."""
    capability = distribute.gpu_compute_capability()
    if capability is not None:
        if capability >= 8.0:
            return "mixed_bfloat16", f"GPU compute capability {capability:g} supports bfloat16"
        return "mixed_float16", f"GPU compute capability {capability:g}: float16 (no bfloat16)"
    flags = environment.cpu_flags() & {"avx512_bf16", "amx_bf16"}
    if flags and environment.backend() in ("tensorflow", "jax"):
        return "mixed_bfloat16", f"CPU supports bfloat16 ({', '.join(sorted(flags))})"
    return None, "no bfloat16/float16 support found: float32"


def measure_precision(
    config: TrainConfig, x: np.ndarray, y: np.ndarray, num_classes: int, *, steps: int = 8, builder=None
) -> tuple[str, dict[str, Any]]:
    """Time a few training steps of the actual model in float32 and in the machine's mixed policy.

    Measure, never assume: the gain differs between networks and machines (docs/performance.md).
    The mixed policy is kept only when it is at least ``MIXED_MIN_SPEEDUP`` times as fast (lower
    precision is not free).
    Returns (policy, record).
    """
    candidate, reason = _half_precision_candidate()
    record: dict[str, Any] = {"asked": "auto", "reason": reason}
    if candidate is None:
        return "float32", record
    batch = min(int(config.batch_size), len(x))
    xb = x[:batch]
    one_hot = y.ndim == 2
    yb = y[:batch]
    previous = keras.config.dtype_policy()
    speeds = {}
    try:
        for policy in ("float32", candidate):
            keras.config.set_dtype_policy(policy)
            model = build_model(config, x.shape[1:], num_classes, builder=builder)
            model.compile(
                optimizer=make_optimizer(config.optimizer, config.learning_rate, **config.optimizer_options),
                loss=make_loss(one_hot, config.label_smoothing),
                jit_compile=_jit_compile(),
            )
            for _ in range(2):  # trace/compile, warm caches
                model.train_on_batch(xb, yb)
            seconds = []
            for _ in range(steps):
                start = time.perf_counter()
                model.train_on_batch(xb, yb)  # returns numpy: waits for the step
                seconds.append(time.perf_counter() - start)
            speeds[policy] = round(batch / float(np.median(seconds)), 1)  # median: robust to a busy machine
            del model
    finally:
        keras.config.set_dtype_policy(previous)
    chosen = candidate if speeds[candidate] >= MIXED_MIN_SPEEDUP * speeds["float32"] else "float32"
    record["images_per_second"] = speeds
    record["chosen"] = chosen
    return chosen, record


# --------------------------------------------------------------------------- the time budget
PROBE_WARM_STEPS = 2  # the first steps build and compile the training step: not timed
PROBE_TIMED_STEPS = 6


def _clock_callbacks(clock) -> list:
    """A clock that is also a Keras callback (a simulated clock: tests) sees the steps it times."""
    return [clock] if isinstance(clock, keras.callbacks.Callback) else []


def measure_speed(
    model, x, y, *, batch_size: int, predict_batch_size: int, x_predict, validation=None, save_to: Path, clock
) -> dict:
    """Time the compiled ``model`` before it trains, then rewind it: seconds per step, per predicted image, per save.

    ``PROBE_WARM_STEPS`` + ``PROBE_TIMED_STEPS`` steps of ``model.fit`` on the first batches of
    ``x``/``y`` (Keras builds and compiles the training step that the run then uses: nothing is
    compiled twice), then, untimed, one batch as short as an epoch's last (its shape is compiled
    too); Keras' evaluation of ``validation`` (x, y), untimed, so that the first epoch's validation
    compiles nothing; two predictions of ``x_predict`` (the second timed; give it a full and a short
    batch) and one save of the whole model. Every weight, optimizer slot and random-generator state
    is put back as it was, so the run starts from the same initial model as one without a budget.
    """
    model.optimizer.build(model.trainable_variables)  # its slots exist now, so they can be put back
    state = [*model.variables, *model.optimizer.variables]
    saved = [keras.ops.convert_to_numpy(variable) for variable in state]
    marks: dict[str, float] = {}

    steps = PROBE_WARM_STEPS + PROBE_TIMED_STEPS

    class Stopwatch(keras.callbacks.Callback):
        def _mark(self, name: str) -> None:
            if name not in marks:
                wait_for_device(self.model)
                marks[name] = clock()

        def on_train_batch_begin(self, batch, logs=None):
            if batch in (PROBE_WARM_STEPS, steps):
                self._mark("start" if batch == PROBE_WARM_STEPS else "end")

        def on_train_end(self, logs=None):
            self._mark("end")

    rows = np.arange(steps * batch_size + len(x) % batch_size) % len(x)
    try:
        model.fit(
            x[rows],
            y[rows],
            batch_size=batch_size,
            epochs=1,
            shuffle=False,
            verbose=0,
            callbacks=[*_clock_callbacks(clock), Stopwatch()],
        )
        predict_callbacks = _clock_callbacks(clock)
        if validation is not None:
            model.evaluate(*validation, batch_size=batch_size, verbose=0, callbacks=predict_callbacks)
        model.predict(x_predict, batch_size=predict_batch_size, verbose=0, callbacks=predict_callbacks)
        start = clock()
        model.predict(x_predict, batch_size=predict_batch_size, verbose=0, callbacks=predict_callbacks)
        forward = (clock() - start) / max(len(x_predict), 1)
        start = clock()
        model.save(save_to)
        save_seconds = clock() - start
    finally:
        save_to.unlink(missing_ok=True)
        for variable, value in zip(state, saved, strict=True):
            variable.assign(value)
    return {
        "step_seconds": max(marks["end"] - marks["start"], 1e-9) / PROBE_TIMED_STEPS,
        "forward_seconds_per_image": forward,
        "save_seconds": save_seconds,
    }


def final_forward_images(config: TrainConfig, test_images: int) -> int:
    """Images the final evaluation predicts: the test set times its views (mirror averaging, TTA)."""
    passes = 2 if config.tta_in_model else 1  # a mirror-averaged model predicts each image twice
    views = (6 if tta_shifts(config) else 2) if config.tta else 0
    return int(test_images) * (passes + (1 if config.tta_in_model else 0) + views * passes)


def budget_learning_rates(config: TrainConfig, steps_per_epoch: int):
    """``total_steps -> the learning rate of each step``: the config's schedule stretched over ``total_steps``.

    Its warm-up keeps ``warmup_epochs`` (shortened to half the run when the run is shorter); the
    decay spans what remains and ends exactly at the last step (step ``total_steps - 1`` has the
    schedule's end value, e.g. 0 for cosine), as budgeted training asks (Li et al. 2020).
    """

    def curve(total_steps: int) -> np.ndarray:
        length = max(int(total_steps) - 1, 1)  # the schedule's end falls on the last step
        warmup_epochs = config.warmup_epochs
        if round(warmup_epochs * steps_per_epoch) >= length:
            warmup_epochs = length / (2 * steps_per_epoch)
        schedule = make_schedule(
            config.schedule,
            float(config.learning_rate),
            steps_per_epoch=steps_per_epoch,
            epochs=math.ceil(length / steps_per_epoch),
            warmup_epochs=warmup_epochs,
            total_steps=length,
            **config.schedule_options,
        )
        return schedule_values(schedule, int(total_steps))

    return curve


def _labels(config: TrainConfig, data) -> tuple[Any, bool, Any, Any]:
    """(batch mixing, one-hot?, training labels, validation labels): one-hot float32 where label smoothing
    or MixUp/CutMix needs soft targets, else the integer labels as they are."""
    _, mixing = _split_augmentation(config.augmentation)
    one_hot = bool(config.label_smoothing > 0 or mixing)
    y_train, y_val = data.y_train, data.y_val
    if one_hot:
        y_train = keras.utils.to_categorical(y_train, data.num_classes).astype("float32")
        y_val = keras.utils.to_categorical(y_val, data.num_classes).astype("float32")
    return mixing, one_hot, y_train, y_val


def estimate_run(config: TrainConfig, data, *, model=None, clock=None) -> dict[str, Any]:
    """Before any training: how long ``config`` would take here, from its network compiled and timed.

    For a caller that shares one budget among several runs and must refuse a budget too small
    before the first of them trains (a runner sharing one budget among steps). Builds and compiles the network as
    ``train`` would (``model``: a builder, as in ``train``; precision "auto" is timed in float32,
    the slower guess) and times it with ``measure_speed`` on ``data``. Returns the ``kit.budget.Costs``
    (``costs``), ``steps_per_epoch``, ``setup_seconds`` (building, compiling and timing: a run
    pays about as much before its first step), ``images_per_second`` and ``smallest_budget``: the
    budget its least training needs: one epoch, or ``config.least_epochs`` of one (``kit.budget.smallest_budget``).
    """
    clock = clock or time.perf_counter
    start = clock()
    config = config.validate()
    mixing, one_hot, y_train, y_val = _labels(config, data)
    precision = "float32" if config.precision == "auto" else config.precision
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        environment.set_seed(config.seed)
        network = build_model(config, data.input_shape, data.num_classes, builder=model)
        network.compile(
            optimizer=make_optimizer(
                config.optimizer,
                float(config.learning_rate),
                ema_momentum=config.ema_momentum if config.use_ema else None,
                **config.optimizer_options,
            ),
            loss=make_loss(one_hot, config.label_smoothing),
            metrics=["accuracy"],
            jit_compile=_jit_compile(),
        )
        predict_batch_size = max(config.batch_size, 1024)
        images = data.x_val if len(data.y_val) else data.x_train
        with tempfile.TemporaryDirectory() as folder:
            speed = measure_speed(
                network,
                data.x_train,
                y_train,
                batch_size=config.batch_size,
                predict_batch_size=predict_batch_size,
                x_predict=images[: predict_batch_size + len(images) % predict_batch_size],
                validation=(data.x_val[: config.batch_size], y_val[: config.batch_size]) if len(y_val) else None,
                save_to=Path(folder) / "estimate.keras",
                clock=clock,
            )
        del network
    finally:
        keras.config.set_dtype_policy(previous_policy)
    costs = Costs.estimate(
        **speed,
        validation_images=len(data.y_val),
        test_forward_images=final_forward_images(config, len(data.y_test)),
    )
    steps_per_epoch = math.ceil(len(data.y_train) / config.batch_size)
    setup = clock() - start
    return {
        "costs": costs,
        "steps_per_epoch": steps_per_epoch,
        "setup_seconds": setup,
        "images_per_second": config.batch_size / costs.step_seconds,
        "least_epochs": config.least_epochs,
        "smallest_budget": smallest_budget(
            elapsed=setup, steps_done=0, steps_per_epoch=steps_per_epoch, costs=costs, least_epochs=config.least_epochs
        ),
    }


def refuse_before_writing(config: TrainConfig, model=None) -> None:
    """Refuse a run that cannot start, before its run folder is touched (no half-written folder).

    An unknown model name (when no model is given) and `tensorboard` without the TensorBoard
    package are found only after config.json is written otherwise.
    """
    if model is None:
        check_name("model", config.model, models.available())
    if config.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ValueError(
            "TensorBoard is not installed, so --tensorboard cannot log; install it "
            "(`.venv/bin/python -m pip install tensorboard`) or train without --tensorboard."
        )


def _resolve_verbose(verbose):
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return int(verbose)


@dataclass
class _RunState:
    """One run as its phases see it (prepare, compile, callbacks, fit, stop, finish), and config.json's record.

    ``record`` is the one writer of config.json: each phase ends with one write; the budget's state
    (``kit.budget.Budget``, changed after the start only by ``kit.callbacks.TimeBudget``) goes with it.
    """

    config: TrainConfig
    run_dir: Path
    data: Any
    y_train: Any
    y_val: Any
    mixing: Any
    one_hot: bool
    monitor: str
    resume: bool
    best_so_far: float | None
    env: dict
    precision: str
    budget: Budget | None = None
    training: dict = field(default_factory=dict)

    @property
    def payload(self) -> dict:
        return {"config": self.config.to_dict(), "environment": self.env, "training": self.training}

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.data.y_train) / self.config.batch_size)

    def record(self, *, budget: bool = True, **training: Any) -> None:
        """config.json: ``training`` updated, with the budget's measurements and plans where the run is timed."""
        self.training.update(training)
        if budget and self.budget is not None:
            self.training["budget"] = self.budget.to_dict()
        runs.write_record(self.run_dir, self.payload)


def _resume_point(run_dir: Path, config: TrainConfig, resume: bool) -> tuple[float | None, str | None, float]:
    """A resumed run's (best monitored value so far, precision, budget seconds spent); a fresh run's folder cleared."""
    if not resume:
        runs.clear(run_dir)
        return None, None, 0.0
    previous, previous_precision = runs.previous_run(run_dir)
    spent_before = float((previous.get("budget") or {}).get("spent_seconds") or 0.0)
    if previous.get("stop_reason") in ("finished", "early stopping"):
        raise TrainingError(
            f"the run in {run_dir} already finished ({previous['stop_reason']}); "
            "train again without --resume, or into another --out folder."
        )
    runs.trim_history(run_dir, runs.backup_epoch(run_dir))
    best_so_far = runs.best_epoch(runs.read_history(run_dir / runs.HISTORY_FILE), config.monitor)[1]
    return best_so_far, previous_precision, spent_before


def _choose_precision(config: TrainConfig, data, y_train, model, previous_precision) -> tuple[str, dict]:
    """The run's dtype policy and why: a given model's, a resumed run's, measured ("auto"), or the config's."""
    if model is not None and isinstance(model, keras.Model):  # built already: its layers' policy is fixed
        return model.dtype_policy.name, {"asked": config.precision, "reason": "model given"}
    if previous_precision in PRECISIONS[1:]:  # a resumed run keeps the precision it started with
        return previous_precision, {"asked": config.precision, "reason": "resumed run"}
    if config.precision == "auto":
        return measure_precision(config, data.x_train, y_train, data.num_classes, builder=model)
    return config.precision, {"asked": config.precision}


def _prepare(config: TrainConfig, data, out, *, resume: bool, data_dir, model, clock, started: float) -> _RunState:
    """Phase 1: the config checked, the run folder (fresh or resumed), the data, labels, precision and budget."""
    config = config.validate()
    if not config.name:
        config = config.replace(name=config.model)
    refuse_before_writing(config, model)
    run_dir = Path(out) if out is not None else Path("runs") / config.name
    run_dir.mkdir(parents=True, exist_ok=True)
    best_so_far, previous_precision, spent_before = _resume_point(run_dir, config, resume)

    data = runs.run_data(config.to_dict(), data, data_dir)
    config, host_choice = _fit_to_host(
        config, data, model, run_dir, resume, clock, lambda: config.time_budget - spent_before - clock() + started
    )
    mixing, one_hot, y_train, y_val = _labels(config, data)
    monitor = config.monitor if len(data.y_val) > 0 else "loss"

    environment.set_seed(config.seed)
    precision, precision_record = _choose_precision(config, data, y_train, model, previous_precision)
    env = {**environment.describe(), "precision": precision, "precision_choice": precision_record}
    env["devices"] = config.devices
    measured = precision_record.get("images_per_second")
    print(
        f"kit train: {config.model} | backend {env['backend']} | {env['device']} | precision {precision}"
        + (f" (measured {measured})" if "images_per_second" in precision_record else "")
        + (f" | {config.devices} devices" if config.devices > 1 else "")
        + f" | run folder {run_dir}",
        flush=True,
    )
    state = _RunState(
        config, run_dir, data, y_train, y_val, mixing, one_hot, monitor, resume, best_so_far, env, precision
    )
    if config.time_budget is not None:
        state.budget = Budget(
            seconds=float(config.time_budget),
            steps_per_epoch=state.steps_per_epoch,
            clock=clock,
            started=started,
            spent_before=spent_before,
            what=config.model if model is None else getattr(model, "name", config.model),
            device=env["device"],
            batch_size=config.batch_size,
            least_epochs=config.least_epochs,
        )
    if host_choice:
        state.training["host_fit"] = host_choice
    state.record(budget=False, stop_reason="running", resumed=bool(resume))
    return state


def _fit_to_host(
    config: TrainConfig, data, model, run_dir: Path, resume: bool, clock, seconds_left
) -> tuple[TrainConfig, dict]:
    """With ``fit_to_host`` and a budget: the width for this machine (``kit.host_fit.fit``), the speed measured
    once (``estimate_run``) and ``seconds_left()`` read after it; a resumed run keeps the width it chose."""
    if not (config.fit_to_host and config.time_budget is not None and model is None):
        return config, {}
    previous = runs.previous_run(run_dir)[0].get("host_fit") if resume else None
    if previous:
        options = {**config.model_options, previous["option"]: previous["chosen"]}
        return config.replace(model_options=options, fit_to_host=False), previous
    estimate = estimate_run(config.replace(fit_to_host=False), data, clock=clock)
    fitted, choice = host_fit.fit(config, seconds_left(), estimate)
    print(f"kit train: fitted to this machine: {choice.sentence()}", flush=True)
    return fitted, choice.to_dict()


def _compile(state: _RunState, model) -> keras.Model:
    """Phase 2 (inside the precision and distribution scope): the network built and compiled.

    By the clock, ``kit.callbacks.TimeBudget`` sets each step's learning rate (the run's length is not
    known yet); by epochs, the schedule is the config's over its epochs.
    """
    config = state.config
    model = build_model(config, state.data.input_shape, state.data.num_classes, builder=model)
    if state.budget is None:
        schedule = make_schedule(
            config.schedule,
            config.learning_rate,
            steps_per_epoch=state.steps_per_epoch,
            epochs=config.epochs,
            warmup_epochs=config.warmup_epochs,
            **config.schedule_options,
        )
    else:
        schedule = float(config.learning_rate)
    ema_momentum = config.ema_momentum if config.use_ema else None
    model.compile(
        optimizer=make_optimizer(config.optimizer, schedule, ema_momentum=ema_momentum, **config.optimizer_options),
        loss=make_loss(state.one_hot, config.label_smoothing),
        metrics=["accuracy"],
        jit_compile=_jit_compile(),
    )
    return model


def _plan_before_training(state: _RunState, model) -> Any:
    """Time the compiled model (``measure_speed``), plan the run, or refuse a budget too small before training."""
    budget, config, data = state.budget, state.config, state.data
    predict_batch_size = max(config.batch_size, 1024)  # as ValidationMacroF1 predicts
    images = data.x_val if len(data.y_val) else data.x_train
    x_predict = images[: predict_batch_size + len(images) % predict_batch_size]  # a full batch and the short last one
    validation = None
    if len(state.y_val):
        rows = slice(0, config.batch_size + len(state.y_val) % config.batch_size)
        validation = (data.x_val[rows], state.y_val[rows])
    speed = measure_speed(
        model,
        data.x_train,
        state.y_train,
        batch_size=config.batch_size,
        predict_batch_size=predict_batch_size,
        x_predict=x_predict,
        validation=validation,
        save_to=state.run_dir / ".speed_probe.keras",
        clock=budget.clock,
    )
    budget.observe_start(
        **speed,
        validation_images=len(data.y_val),
        test_forward_images=final_forward_images(config, len(data.y_test)),
    )
    steps_done = runs.backup_epoch(state.run_dir) * budget.steps_per_epoch if state.resume else 0
    try:
        plan = budget.first_plan(steps_done)
    except BudgetTooSmall:
        state.record(stop_reason="budget too small")
        raise
    images_per_second = config.batch_size / speed["step_seconds"]
    print(
        f"kit train: time budget {format_duration(budget.seconds)}"
        + (f" ({format_duration(budget.seconds - budget.spent_before)} left)" if budget.spent_before else "")
        + f": {plan.epochs:.1f} epochs fit ({plan.total_steps:,} steps; {images_per_second:,.0f} training images/s "
        f"measured), corrected after each epoch",
        flush=True,
    )
    return plan


def _budget_callbacks(state: _RunState, model, verbose) -> tuple[list, int]:
    """By the clock: the plan before training, and ``TimeBudget`` (the one callback that changes the budget)."""
    plan = _plan_before_training(state, model)
    state.record()  # the measurements and the first plan
    fit_epochs = max(4 * plan.whole_epochs, plan.whole_epochs + 4)  # a bound: the plan ends the run
    progbar = None
    if _resolve_verbose(verbose):
        progbar = keras.callbacks.ProgbarLogger()  # shows the planned epochs (TimeBudget updates it)
        progbar.async_safe = True  # as Keras' own, which it replaces
    timer = TimeBudget(
        state.budget,
        budget_learning_rates(state.config, state.steps_per_epoch),
        validation_images=len(state.data.y_val),
        progbar=progbar,
        on_plan=lambda _: state.record(),
    )
    environment.set_seed(state.config.seed)  # the data order as without the timed steps
    return [timer, *([progbar] if progbar is not None else [])], fit_epochs


def _callbacks(state: _RunState, model, verbose, extra: list | None, clock) -> tuple[list, int]:
    """Phase 3: the kit's callbacks, the caller's, and the budget's; the epochs ``fit`` is given."""
    budget_callbacks, fit_epochs = [], state.config.epochs
    if state.budget is not None:
        budget_callbacks, fit_epochs = _budget_callbacks(state, model, verbose)
    standard = standard_callbacks(
        state.run_dir,
        x_val=state.data.x_val,
        y_val=state.data.y_val,
        images_per_epoch=len(state.data.y_train),
        monitor=state.monitor,
        patience=state.config.patience,
        resume=state.resume,
        best_so_far=state.best_so_far,
        tensorboard=state.config.tensorboard,
        batch_size=max(state.config.batch_size, 1024),
        ema=bool(model.optimizer.use_ema),
    )
    clocks = _clock_callbacks(clock) if state.budget is not None else []  # time passes before anyone reads it
    return clocks + standard + list(extra or []) + budget_callbacks, fit_epochs


def _fit(state: _RunState, model, callbacks: list, epochs: int, verbose) -> float:
    """Phase 4: ``model.fit`` (numpy arrays, or a PyDataset of mixed batches for MixUp/CutMix); its seconds."""
    config, data = state.config, state.data
    if state.mixing:  # MixUp/CutMix mix labels too: a PyDataset of mixed batches, one-hot labels
        fit_args = dict(
            x=MixingDataset.from_spec(
                data.x_train,
                data.y_train,
                config.batch_size,
                data.num_classes,
                state.mixing,
                seed=config.seed,
                shuffle=True,
            )
        )
    else:  # the fast path: exactly plain model.fit on numpy arrays
        fit_args = dict(x=data.x_train, y=state.y_train, batch_size=config.batch_size, shuffle=True)
    start = time.perf_counter()
    model.fit(
        **fit_args,
        epochs=epochs,
        validation_data=(data.x_val, state.y_val) if len(data.y_val) else None,
        callbacks=callbacks,
        verbose=_resolve_verbose(verbose),
    )
    return time.perf_counter() - start


def _stop(state: _RunState, callbacks: list, train_seconds: float):
    """Phase 5: why training stopped, the history's numbers, recorded; the lecture's hint where the loss exploded."""
    guard = next(c for c in callbacks if isinstance(c, NaNGuard))
    early = next((c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)), None)
    history_path = state.run_dir / runs.HISTORY_FILE
    history = runs.read_history(history_path)
    best_epoch, best_value = runs.best_epoch(history, state.monitor)
    if guard.exploded:
        stop_reason = "loss exploded"
    elif early is not None and early.stopped_epoch > 0:
        stop_reason = "early stopping"
    else:
        stop_reason = "finished"
    state.record(
        stop_reason=stop_reason,
        epochs=int(len(history)),
        best_epoch=best_epoch,
        monitor=state.monitor,
        best_value=best_value,
        train_seconds=float(history["epoch_seconds"].sum()) if "epoch_seconds" in history else train_seconds,
        images_per_second=float(history["images_per_second"].median()) if len(history) else None,
    )
    if guard.exploded:
        raise TrainingError(
            f"{LOSS_EXPLODED} (learning_rate was {state.config.learning_rate:g}; history so far in {history_path})."
        )
    restored = early is not None and early.best_weights is not None and early.best_epoch + 1 == best_epoch
    return history, best_epoch, restored


def _finish(state: _RunState, model, history, best_epoch, restored: bool, train_seconds: float) -> Run:
    """Phase 6: the best weights, test-time augmentation in the file where asked, the test evaluation, the curves."""
    config, data, run_dir = state.config, state.data, state.run_dir
    best_path = run_dir / runs.MODEL_FILE
    last_epoch = int(history["epoch"].max()) if len(history) else None
    if best_path.is_file() and best_epoch is not None and best_epoch != last_epoch and not restored:
        model.load_weights(best_path)  # the checkpointed best epoch, so that evaluation and Run.model match model.keras
    single = model
    if config.tta_in_model and best_path.is_file():  # the file carries the test-time augmentation
        model = models.mirror_average(single)
        model.save(best_path)
    evaluation = tta_evaluation = None
    if len(data.y_test):
        evaluation = evaluate(model, data.x_test, data.y_test, data.class_names)
        metrics = evaluation.to_dict()
        if model is not single:
            plain = evaluate(single, data.x_test, data.y_test, data.class_names)
            metrics["without_tta"] = {"accuracy": plain.accuracy, "macro_f1": plain.macro_f1}
        if config.tta:  # test-time augmentation beside the plain figures (model.keras is not changed by it)
            tta_evaluation = tta(model, data.x_test, data.y_test, data.class_names, shifts=tta_shifts(config))
            metrics["tta"] = {
                "accuracy": tta_evaluation.accuracy,
                "macro_f1": tta_evaluation.macro_f1,
                "views": tta_evaluation.extra["tta_views"],
            }
        runs.write_metrics(run_dir, metrics)
    if len(history):
        plot_training_curves(history, run_dir / runs.CURVES_FILE, best_epoch=best_epoch)
    if state.budget is not None:  # the whole run's seconds against the budget, evaluation and saving included
        state.record()
    return Run(
        run_dir=run_dir,
        model=model,
        history=history,
        config=config,
        evaluation=evaluation,
        train_seconds=train_seconds,
        tta_evaluation=tta_evaluation,
        budget=state.training.get("budget"),
    )


def train(
    config: TrainConfig,
    data=None,
    out: str | Path | None = None,
    *,
    resume: bool = False,
    verbose: Any = "auto",
    data_dir: str | Path | None = None,
    model=None,
    callbacks: list | None = None,
    clock=None,
) -> Run:
    """Train ``config`` and write its run folder (default ``runs/<name>``); see the module docstring.

    ``data`` is a ``kit.data.FashionMNIST`` (default: loaded, ``validation_size`` held out,
    subset by ``train_size``/``test_size``). ``resume`` continues a killed run from its last
    finished epoch (``backup/``), appending to history.csv. A NaN/inf loss stops training and
    raises ``TrainingError`` with the lecture's hint; the folder stays valid. ``model``: train
    this uncompiled Keras model, or the model a zero-argument function returns, instead of
    ``kit.models.build(config.model)`` (``config.model`` then only names it). ``callbacks``: extra
    Keras callbacks, called after the kit's own (so they see ``val_macro_f1`` and, with
    ``use_ema``, the averaged weights), e.g. a benchmark's per-epoch test-set logger.

    With ``config.time_budget`` the run is timed from this call on: a budget in which one epoch
    (with its validation and the final evaluation) cannot end raises ``kit.budget.BudgetTooSmall``
    before any training, naming the smallest budget that fits; a resumed run keeps what is left of
    its budget as of its last finished epoch. ``clock``: the budget's clock (default
    ``time.perf_counter``); a clock that is also a Keras callback (a simulated one, in tests) is
    added to the callbacks so that it sees the steps it times.

    In phases, each one record write at its end: prepare, compile, callbacks (and the budget's plan),
    fit, stop (why, and the history's numbers), finish (best weights, TTA, evaluation, curves).
    """
    clock = clock or time.perf_counter
    started = clock()
    state = _prepare(config, data, out, resume=resume, data_dir=data_dir, model=model, clock=clock, started=started)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(state.precision)
    try:
        with distribute.strategy_scope(state.config.devices):
            state.env["replicas"] = distribute.replicas()
            environment.set_seed(state.config.seed)
            network = _compile(state, model)
            run_callbacks, fit_epochs = _callbacks(state, network, verbose, callbacks, clock)
            train_seconds = _fit(state, network, run_callbacks, fit_epochs, verbose)
    finally:
        keras.config.set_dtype_policy(previous_policy)
    history, best_epoch, restored = _stop(state, run_callbacks, train_seconds)
    return _finish(state, network, history, best_epoch, restored, train_seconds)


# --------------------------------------------------------------------------- command line
def _config_from_args(args, base: TrainConfig | None = None) -> TrainConfig:
    """The run's config: a resumed run's, ``--config``'s, ``base`` (a recipe: ``kit.recipes``), else the preset's."""
    out = Path(args.out) if getattr(args, "out", None) else None
    if getattr(args, "resume", False) and out is not None and (out / "config.json").is_file():
        config = TrainConfig.load(out / "config.json")  # resume what was running
    elif getattr(args, "config", None):
        config = TrainConfig.load(args.config)
    elif base is not None:
        config = base
    else:
        config = preset(args.preset)
    overrides = {
        "model": getattr(args, "model", None),
        "epochs": getattr(args, "epochs", None),
        "batch_size": getattr(args, "batch_size", None),
        "learning_rate": getattr(args, "lr", None),
        "optimizer": getattr(args, "optimizer", None),
        "schedule": getattr(args, "schedule", None),
        "augmentation": getattr(args, "augment", None),
        "precision": getattr(args, "precision", None),
        "seed": getattr(args, "seed", None),
        "devices": getattr(args, "devices", None),
        "label_smoothing": getattr(args, "label_smoothing", None),
        "patience": getattr(args, "patience", None),
        "monitor": getattr(args, "monitor", None),
        "train_size": getattr(args, "train_size", None),
        "warmup_epochs": getattr(args, "warmup_epochs", None),
        "use_ema": getattr(args, "ema", None),
        "tta": getattr(args, "tta", None),
        "tta_in_model": getattr(args, "tta_in_model", None),
    }
    if getattr(args, "tensorboard", False):
        overrides["tensorboard"] = True
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if getattr(args, "minutes", None) is not None:
        overrides["time_budget"] = float(args.minutes) * 60
    elif getattr(args, "epochs", None) is not None:
        overrides["time_budget"] = None  # --epochs on a budgeted config (a recipe, --config) trains those epochs
    if "model" in overrides and not getattr(args, "resume", False):
        overrides.setdefault("name", overrides["model"])
    return config.replace(**overrides)


def command_train(args, base: TrainConfig | None = None) -> int:
    """``python -m kit train``: train and write a run folder; print where and how well."""
    config = _config_from_args(args, base)
    if config.devices > 1:
        distribute.use_logical_cpus(config.devices)
    out = Path(args.out) if args.out else Path("runs") / config.name
    run = train(config, out=out, resume=args.resume, data_dir=args.data_dir)
    epochs = len(run.history)
    summary = f"run folder {run.run_dir}: {epochs} epoch{'' if epochs == 1 else 's'}"
    best_epoch, best_value = runs.best_epoch(run.history, config.monitor)
    if best_epoch is not None:
        summary += f", best epoch {best_epoch} ({config.monitor} {best_value:.4f})"
    if run.evaluation is not None:
        summary += f"; test accuracy {run.evaluation.accuracy:.4f}, macro-F1 {run.evaluation.macro_f1:.4f}"
    if run.tta_evaluation is not None:
        summary += f" (with TTA: {run.tta_evaluation.accuracy:.4f}, {run.tta_evaluation.macro_f1:.4f})"
    if run.budget is not None:
        summary += (
            f"; {format_duration(run.budget['spent_seconds'])} of a {format_duration(run.budget['seconds'])} "
            f"budget ({run.budget['epochs']:g} epochs)"
        )
    if config.tta_in_model and run.evaluation is not None:
        summary += " (model.keras averages each image and its mirror)"
    print(summary)
    return 0


def command_lr_find(args) -> int:
    """``python -m kit lr-find``: the LR range test for a model; writes lr_find.png and lr_find.csv."""
    config = preset(
        args.preset, model=args.model, precision="float32", **({"optimizer": args.optimizer} if args.optimizer else {})
    )
    out = Path(args.out) if args.out else Path("runs") / f"lr_find_{args.model}"
    data = runs.run_data(config.to_dict(), None, args.data_dir)
    environment.set_seed(config.seed)
    keras.config.set_dtype_policy("float32")
    model = build_model(config.replace(augmentation=""), data.input_shape, data.num_classes)
    steps = getattr(args, "steps", None) or 200
    result = lr_find(
        model,
        data.x_train,
        data.y_train,
        steps=steps,
        batch_size=config.batch_size,
        optimizer=config.optimizer,
        seed=config.seed,
        **config.optimizer_options,
        **{
            k: v
            for k, v in (("start_lr", getattr(args, "start_lr", None)), ("end_lr", getattr(args, "end_lr", None)))
            if v is not None
        },
    )
    out.mkdir(parents=True, exist_ok=True)
    result.to_frame().to_csv(out / "lr_find.csv", index=False)
    plot_lr_find(result, out / "lr_find.png")
    print(
        f"suggested learning rate {result.suggestion:.3g} (steepest descent; min/10 = {result.lr_min_div_10:.3g}); "
        f"curve in {out / 'lr_find.png'}"
    )
    return 0
