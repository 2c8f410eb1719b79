"""The training engine: ``TrainConfig`` -> compiled model -> ``model.fit`` -> run folder.

Everything a run does is decided by one ``TrainConfig`` (saved as JSON in the run folder, so a
run can be repeated), started from a preset sized to the machine (``smoke``, ``quick``,
``full``; DESIGN.md "Presets sized to the machine"). The loop itself is Keras' ``model.fit`` on
numpy arrays, with sparse integer labels unless label smoothing or MixUp/CutMix need one-hot
ones, so the kit costs nothing over plain ``fit`` (benchmarks/throughput.py measures it).
A run folder (docs/architecture.md) holds config.json, history.csv, model.keras (best),
metrics.json and training_curves.png.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kit.errors import TrainingError

OPTIMIZERS: tuple[str, ...] = (
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adam",
    "adamw",
    "nadam",
    "adadelta",
)
PRECISIONS: tuple[str, ...] = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
MONITORS: tuple[str, ...] = ("val_loss", "val_accuracy", "val_macro_f1")
HISTORY_COLUMNS = (
    "epoch",
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "val_macro_f1",
    "learning_rate",
    "epoch_seconds",
    "images_per_second",
)
# Run-folder files a fresh (not resumed) run replaces.
_RUN_FILES = ("history.csv", "model.keras", "metrics.json", "training_curves.png", "config.json")


# --------------------------------------------------------------------------- optimizers
def _optimizer_table() -> dict[str, tuple[type, dict[str, Any]]]:
    import keras

    o = keras.optimizers
    return {
        "sgd": (o.SGD, {}),
        "momentum": (o.SGD, {"momentum": 0.9}),  # lecture: rho 0.9 (or 0.99)
        "nesterov": (o.SGD, {"momentum": 0.9, "nesterov": True}),
        "adagrad": (o.Adagrad, {}),
        "rmsprop": (o.RMSprop, {}),
        "adam": (o.Adam, {}),  # beta1 0.9, beta2 0.999 (Keras defaults)
        "adamw": (o.AdamW, {}),
        "nadam": (o.Nadam, {}),
        "adadelta": (o.Adadelta, {}),
    }


def make_optimizer(name: str, learning_rate: Any = 1e-3, **options: Any):
    """A Keras optimizer by the lecture's name; ``learning_rate`` may be a float or a schedule.

    momentum and nesterov are SGD with momentum 0.9 (Nesterov's variant for the latter);
    ``options`` go to the Keras class (e.g. ``weight_decay``, ``beta_1``, ``clipnorm``).
    """
    table = _optimizer_table()
    if name not in table:
        raise ValueError(f"Unknown optimizer {name!r}; valid names: {', '.join(OPTIMIZERS)}.")
    cls, defaults = table[name]
    valid = sorted(
        p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "learning_rate", "kwargs")
    )
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(
            f"Unknown option(s) {', '.join(unknown)} for optimizer {name!r}; valid options: {', '.join(valid)}."
        )
    return cls(learning_rate=learning_rate, **{**defaults, **options})


# --------------------------------------------------------------------------- configuration
def _split_augmentation(spec: Any) -> tuple[Any, Any]:
    if not spec:
        return None, None
    from kit.augment import split_spec

    return split_spec(spec)


@dataclass
class TrainConfig:
    """One training run, as the lecture's hyperparameter recipe varies it. Saved in config.json.

    ``early_stopping`` is the patience in epochs (None: off). ``monitor`` picks the best epoch
    (checkpoint, early stopping): val_loss, val_accuracy or val_macro_f1. ``augmentation`` is a
    ``kit.augment`` spec (e.g. "flip,translate,erasing,mixup"). ``precision`` "auto" measures
    float32 against mixed precision on the actual model and keeps the faster. ``train_size`` /
    ``test_size`` train/evaluate on a stratified subset (smoke runs); ``validation_size`` images
    are held out of the training set. ``devices`` > 1 trains data-parallel (``kit.distribute``).
    ``use_ema`` keeps an exponential moving average of the weights (Polyak averaging; Keras'
    optimizer option ``use_ema``, momentum ``ema_momentum`` per step): validation, the checkpoint
    and the final model use the averaged weights. ``tta`` also evaluates the test set with
    test-time augmentation (identity, flip and four 2-pixel shifts; ``kit.evaluate.tta``), written
    as ``tta`` in metrics.json next to the plain figures (model.keras itself is the plain model).
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
    early_stopping: int | None = None
    monitor: str = "val_loss"
    seed: int = 0
    precision: str = "auto"
    validation_size: int = 5000
    train_size: int | None = None
    test_size: int | None = None
    devices: int = 1
    tensorboard: bool = False

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> TrainConfig:
        """Check names and ranges; one ValueError sentence listing the valid choices."""
        from kit.schedules import SCHEDULES

        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Unknown optimizer {self.optimizer!r}; valid names: {', '.join(OPTIMIZERS)}.")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Unknown schedule {self.schedule!r}; valid names: {', '.join(SCHEDULES)}.")
        if self.precision not in PRECISIONS:
            raise ValueError(f"Unknown precision {self.precision!r}; valid names: {', '.join(PRECISIONS)}.")
        if self.monitor not in MONITORS:
            raise ValueError(f"Unknown monitor {self.monitor!r}; valid names: {', '.join(MONITORS)}.")
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number; got {self.learning_rate!r}.")
        for key in ("epochs", "batch_size", "devices"):
            if int(getattr(self, key)) < 1:
                raise ValueError(f"{key} must be >= 1; got {getattr(self, key)!r}.")
        if not (isinstance(self.ema_momentum, (int, float)) and 0 <= self.ema_momentum < 1):
            raise ValueError(f"ema_momentum must be in [0, 1); got {self.ema_momentum!r}.")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1); got {self.label_smoothing!r}.")
        if self.early_stopping is not None and int(self.early_stopping) < 0:
            raise ValueError(f"early_stopping is a patience in epochs (>= 0) or None; got {self.early_stopping!r}.")
        if self.augmentation:
            _split_augmentation(self.augmentation)  # unknown names -> ValueError listing valid ones
        if self.warmup_epochs < 0 or self.validation_size < 0:
            raise ValueError("warmup_epochs and validation_size must be >= 0.")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """From a dict (e.g. JSON); unknown keys are an error that lists the valid ones."""
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
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """From a TrainConfig JSON file, or a run folder / its config.json (the "config" part)."""
        path = Path(path)
        if path.is_dir():
            path = path / "config.json"
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON ({error}); fix or re-create it.") from None
        if isinstance(values, dict) and isinstance(values.get("config"), dict):
            values = values["config"]
        if not isinstance(values, dict):
            raise ValueError(f"{path} must hold a JSON object of TrainConfig fields.")
        return cls.from_dict(values)


PRESETS: dict[str, TrainConfig] = {
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
        early_stopping=3,
    ),
    # the GPU recipe: AdamW + warm-up + cosine, augmentation, label smoothing, early stopping.
    "full": TrainConfig(
        name="full",
        epochs=60,
        batch_size=128,
        optimizer="adamw",
        learning_rate=2e-3,
        optimizer_options={"weight_decay": 1e-4},
        schedule="cosine",
        warmup_epochs=2,
        augmentation="flip,translate,erasing",
        label_smoothing=0.1,
        early_stopping=10,
        monitor="val_macro_f1",
    ),
}


def preset(preset_name: str, /, **overrides: Any) -> TrainConfig:
    """The preset ``preset_name`` (smoke, quick, full) with some fields overridden (``name`` included)."""
    if preset_name not in PRESETS:
        raise ValueError(f"Unknown preset {preset_name!r}; valid names: {', '.join(PRESETS)}.")
    return PRESETS[preset_name].replace(**overrides)


# --------------------------------------------------------------------------- the run
@dataclass
class Run:
    """What ``train`` returns. ``train_seconds`` is the wall time of this call's ``model.fit``."""

    run_dir: Path
    model: Any
    history: Any  # pandas.DataFrame, one row per epoch (resumed epochs included)
    config: TrainConfig
    evaluation: Any  # kit.evaluate.Evaluation on the test set, or None without one
    train_seconds: float
    tta_evaluation: Any = None  # the same with test-time augmentation (config.tta), else None


def _prepare_data(config: TrainConfig, data, data_dir):
    from kit.data import load_fashion_mnist

    if data is None:
        data = load_fashion_mnist(data_dir, validation_size=config.validation_size, seed=config.seed)
    if config.train_size or config.test_size:
        data = data.subset(
            train=config.train_size or len(data.y_train), val=None, test=config.test_size, seed=config.seed
        )
    if len(data.y_train) == 0:
        raise ValueError("the training set is empty; check train_size and the dataset.")
    return data


def build_model(config: TrainConfig, input_shape=(28, 28, 1), num_classes: int = 10, *, builder=None):
    """``kit.models.build(config.model)`` (or ``builder()``) with the in-model augmentation layers in front.

    The augmentation layers are Keras preprocessing layers: active in ``fit``, the identity at
    inference, and saved inside model.keras. ``builder``: a function returning an uncompiled
    Keras model (e.g. a student's ``build_cnn_functional``) or a model itself.
    """
    import keras

    if builder is not None:
        network = builder if isinstance(builder, keras.Model) else builder()
    else:
        from kit import models

        names = list(models.available())
        if config.model not in names:
            raise ValueError(f"Unknown model {config.model!r}; valid names: {', '.join(names)}.")
        network = models.build(
            config.model, input_shape=tuple(input_shape), num_classes=num_classes, **config.model_options
        )
    in_model, _ = _split_augmentation(config.augmentation)
    if not in_model:
        return network
    from kit.augment import augmentation_layers

    augmentation = augmentation_layers(in_model, seed=config.seed)
    if augmentation is None:
        return network
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    outputs = network(augmentation(inputs))
    return keras.Model(inputs, outputs, name=f"{network.name}_augmented")


def _loss(one_hot: bool, label_smoothing: float):
    import keras

    if one_hot:
        return keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
    return keras.losses.SparseCategoricalCrossentropy()


def _jit_compile():
    """XLA stays off under TensorFlow on CPU (measured ~10x slower for the homework CNN there);
    elsewhere Keras decides ("auto": on for JAX, on for TF with a GPU)."""
    from kit import environment

    if environment.backend() == "tensorflow" and not environment.accelerators():
        return False
    return "auto"


def _half_precision_candidate() -> tuple[str | None, str]:
    """The mixed policy worth measuring on this machine, and why."""
    from kit import distribute, environment

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

    Measure, never assume: mixed_bfloat16 was 1.9x faster than float32 for the homework CNN on an
    AVX512-BF16 CPU, yet no faster for a BatchNorm-heavy ResNet. The mixed policy is kept only
    when it is at least 5% faster (lower precision is not free). Returns (policy, record).
    """
    import keras

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
                loss=_loss(one_hot, config.label_smoothing),
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
    chosen = candidate if speeds[candidate] >= 1.05 * speeds["float32"] else "float32"
    record["images_per_second"] = speeds
    record["chosen"] = chosen
    return chosen, record


def _read_history(path: Path):
    import pandas as pd

    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame(columns=list(HISTORY_COLUMNS))
    history = pd.read_csv(path)
    first = [c for c in HISTORY_COLUMNS if c in history.columns]
    return history[first + [c for c in history.columns if c not in first]]


def _backup_epoch(run_dir: Path) -> int:
    """Epochs finished according to BackupAndRestore's state in run_dir/backup (0 when none)."""
    for name in ("training_metadata.json", "training_metadata.json.bkp"):
        path = run_dir / "backup" / name
        if path.is_file():
            try:
                return int(json.loads(path.read_text(encoding="utf-8"))["epoch"])
            except (ValueError, KeyError):
                continue
    return 0


def _trim_history(path: Path, epochs_done: int) -> None:
    """Keep only the rows of epochs BackupAndRestore can restore (a kill may fall between the two writes)."""
    history = _read_history(path)
    if len(history) and "epoch" in history.columns:
        kept = history[history["epoch"] <= epochs_done].drop_duplicates("epoch", keep="last")
        if len(kept) != len(history):
            kept.to_csv(path, index=False)


def _best(history, monitor: str) -> tuple[int | None, float | None]:
    from kit.callbacks import monitor_mode

    if monitor not in history.columns or history[monitor].dropna().empty:
        return None, None
    column = history[monitor].astype(float)
    index = column.idxmax() if monitor_mode(monitor) == "max" else column.idxmin()
    return int(history.loc[index, "epoch"]), float(column[index])


def _write_json(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n", encoding="utf-8")
    tmp.replace(path)


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _resolve_verbose(verbose):
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return int(verbose)


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
    """
    import keras

    from kit import distribute, environment
    from kit.callbacks import LOSS_EXPLODED, NaNGuard, standard_callbacks
    from kit.schedules import make_schedule

    config = config.validate()
    if not config.name:
        config = config.replace(name=config.model)
    run_dir = Path(out) if out is not None else Path("runs") / config.name
    history_path = run_dir / "history.csv"
    run_dir.mkdir(parents=True, exist_ok=True)
    best_so_far = None
    previous_precision = None
    if resume:
        previous, previous_precision = _previous_run(run_dir)
        if previous.get("stop_reason") in ("finished", "early stopping"):
            raise TrainingError(
                f"the run in {run_dir} already finished ({previous['stop_reason']}); "
                "train again without --resume, or into another --out folder."
            )
        _trim_history(history_path, _backup_epoch(run_dir))
        best_so_far = _best(_read_history(history_path), config.monitor)[1]
    else:
        shutil.rmtree(run_dir / "backup", ignore_errors=True)  # else BackupAndRestore would resume it
        for name in _RUN_FILES:
            (run_dir / name).unlink(missing_ok=True)

    data = _prepare_data(config, data, data_dir)
    _, mixing = _split_augmentation(config.augmentation)
    one_hot = bool(config.label_smoothing > 0 or mixing)
    num_classes = data.num_classes
    y_train, y_val = data.y_train, data.y_val
    if one_hot:
        y_train = keras.utils.to_categorical(y_train, num_classes).astype("float32")
        y_val = keras.utils.to_categorical(y_val, num_classes).astype("float32")
    has_val = len(data.y_val) > 0
    monitor = config.monitor if has_val else "loss"

    environment.set_seed(config.seed)
    if model is not None and isinstance(model, keras.Model):  # built already: its layers' policy is fixed
        precision, precision_record = model.dtype_policy.name, {"asked": config.precision, "reason": "model given"}
    elif previous_precision in PRECISIONS[1:]:  # a resumed run keeps the precision it started with
        precision, precision_record = previous_precision, {"asked": config.precision, "reason": "resumed run"}
    elif config.precision == "auto":
        precision, precision_record = measure_precision(config, data.x_train, y_train, num_classes, builder=model)
    else:
        precision, precision_record = config.precision, {"asked": config.precision}
    env = {
        **environment.describe(),
        "precision": precision,
        "precision_choice": precision_record,
        "devices": config.devices,
    }
    print(
        f"kit train: {config.model} | backend {env['backend']} | {env['device']} | precision {precision}"
        + (
            f" (measured {precision_record.get('images_per_second')})"
            if "images_per_second" in precision_record
            else ""
        )
        + (f" | {config.devices} devices" if config.devices > 1 else "")
        + f" | run folder {run_dir}",
        flush=True,
    )

    steps_per_epoch = math.ceil(len(data.y_train) / config.batch_size)
    training: dict[str, Any] = {"stop_reason": "running", "resumed": bool(resume)}
    payload = {"config": config.to_dict(), "environment": env, "training": training}
    _write_json(run_dir / "config.json", payload)

    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        with distribute.strategy_scope(config.devices):
            env["replicas"] = distribute.replicas()
            environment.set_seed(config.seed)
            model = build_model(config, data.input_shape, num_classes, builder=model)
            schedule = make_schedule(
                config.schedule,
                config.learning_rate,
                steps_per_epoch=steps_per_epoch,
                epochs=config.epochs,
                warmup_epochs=config.warmup_epochs,
                **config.schedule_options,
            )
            optimizer_options = dict(config.optimizer_options)
            if config.use_ema:
                optimizer_options.update(use_ema=True, ema_momentum=float(config.ema_momentum))
            model.compile(
                optimizer=make_optimizer(config.optimizer, schedule, **optimizer_options),
                loss=_loss(one_hot, config.label_smoothing),
                metrics=["accuracy"],
                jit_compile=_jit_compile(),
            )
            extra_callbacks = list(callbacks or [])
            callbacks = (
                standard_callbacks(
                    run_dir,
                    x_val=data.x_val,
                    y_val=data.y_val,
                    images_per_epoch=len(data.y_train),
                    monitor=monitor,
                    early_stopping=config.early_stopping,
                    resume=resume,
                    best_so_far=best_so_far,
                    tensorboard=config.tensorboard,
                    batch_size=max(config.batch_size, 1024),
                    ema=bool(optimizer_options.get("use_ema")),
                )
                + extra_callbacks
            )
            validation = (data.x_val, y_val) if has_val else None
            if mixing:  # MixUp/CutMix mix labels too: a PyDataset of mixed batches, one-hot labels
                from kit.augment import MixingDataset

                fit_args = dict(
                    x=MixingDataset.from_spec(
                        data.x_train,
                        data.y_train,
                        config.batch_size,
                        num_classes,
                        mixing,
                        seed=config.seed,
                        shuffle=True,
                    )
                )
            else:  # the fast path: exactly plain model.fit on numpy arrays
                fit_args = dict(x=data.x_train, y=y_train, batch_size=config.batch_size, shuffle=True)
            start = time.perf_counter()
            model.fit(
                **fit_args,
                epochs=config.epochs,
                validation_data=validation,
                callbacks=callbacks,
                verbose=_resolve_verbose(verbose),
            )
            train_seconds = time.perf_counter() - start
    finally:
        keras.config.set_dtype_policy(previous_policy)

    guard = next(c for c in callbacks if isinstance(c, NaNGuard))
    early = next((c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)), None)
    history = _read_history(history_path)
    best_epoch, best_value = _best(history, monitor)
    if guard.exploded:
        stop_reason = "loss exploded"
    elif early is not None and early.stopped_epoch > 0:
        stop_reason = "early stopping"
    else:
        stop_reason = "finished"
    training.update(
        {
            "stop_reason": stop_reason,
            "epochs": int(len(history)),
            "best_epoch": best_epoch,
            "monitor": monitor,
            "best_value": best_value,
            "train_seconds": float(history["epoch_seconds"].sum()) if "epoch_seconds" in history else train_seconds,
            "images_per_second": float(history["images_per_second"].median()) if len(history) else None,
        }
    )
    _write_json(run_dir / "config.json", payload)
    if guard.exploded:
        raise TrainingError(
            f"{LOSS_EXPLODED} (learning_rate was {config.learning_rate:g}; history so far in {history_path})."
        )

    best_path = run_dir / "model.keras"
    last_epoch = int(history["epoch"].max()) if len(history) else None
    restored = early is not None and early.best_weights is not None and early.best_epoch + 1 == best_epoch
    if best_path.is_file() and best_epoch is not None and best_epoch != last_epoch and not restored:
        model.load_weights(best_path)  # the checkpointed best epoch, so that evaluation and Run.model match model.keras
    evaluation, tta_evaluation = _evaluate(model, data, run_dir, tta=config.tta)
    _plot_curves(history, run_dir, best_epoch)
    return Run(
        run_dir=run_dir,
        model=model,
        history=history,
        config=config,
        evaluation=evaluation,
        train_seconds=train_seconds,
        tta_evaluation=tta_evaluation,
    )


def _previous_run(run_dir: Path) -> tuple[dict, str | None]:
    """The "training" part and the precision of an earlier run's config.json ({} and None if unreadable)."""
    try:
        saved = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        return dict(saved.get("training") or {}), (saved.get("environment") or {}).get("precision")
    except (OSError, ValueError, AttributeError, TypeError):
        return {}, None


def _evaluate(model, data, run_dir: Path, *, tta: bool = False):
    """The test-set evaluation (metrics.json), and with ``tta`` the test-time-augmented one beside it."""
    if len(data.y_test) == 0:
        return None, None
    from kit import evaluate as kit_evaluate

    evaluation = kit_evaluate.evaluate(model, data.x_test, data.y_test, data.class_names)
    payload = evaluation.to_dict()
    augmented = None
    if tta:
        augmented = kit_evaluate.tta(model, data.x_test, data.y_test, data.class_names, shifts=True)
        payload["tta"] = {
            "accuracy": augmented.accuracy,
            "macro_f1": augmented.macro_f1,
            "views": augmented.extra["tta_views"],
        }
    _write_json(run_dir / "metrics.json", payload)
    return evaluation, augmented


def _plot_curves(history, run_dir: Path, best_epoch: int | None) -> None:
    try:
        from kit.report import plot_training_curves
    except ImportError:  # kit.report is optional for training
        return
    if len(history):
        plot_training_curves(history, run_dir / "training_curves.png", best_epoch=best_epoch)


# --------------------------------------------------------------------------- command line
def _config_from_args(args) -> TrainConfig:
    out = Path(args.out) if getattr(args, "out", None) else None
    if getattr(args, "resume", False) and out is not None and (out / "config.json").is_file():
        config = TrainConfig.load(out / "config.json")  # resume what was running
    elif getattr(args, "config", None):
        config = TrainConfig.load(args.config)
    elif getattr(args, "recipe", None):
        from kit.recipes import recipe

        config = recipe(args.recipe)
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
        "early_stopping": getattr(args, "patience", None),
        "monitor": getattr(args, "monitor", None),
        "train_size": getattr(args, "train_size", None),
        "warmup_epochs": getattr(args, "warmup_epochs", None),
        "use_ema": getattr(args, "ema", None),
        "tta": getattr(args, "tta", None),
    }
    if getattr(args, "tensorboard", False):
        overrides["tensorboard"] = True
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if "model" in overrides and not getattr(args, "resume", False):
        overrides.setdefault("name", overrides["model"])
    return config.replace(**overrides)


def command_train(args) -> int:
    """``python -m kit train``: train and write a run folder; print where and how well."""
    config = _config_from_args(args)
    if config.devices > 1:
        from kit import distribute

        distribute.use_logical_cpus(config.devices)
    out = Path(args.out) if args.out else Path("runs") / config.name
    run = train(config, out=out, resume=args.resume, data_dir=args.data_dir)
    summary = f"run folder {run.run_dir}: {len(run.history)} epochs"
    best_epoch, best_value = _best(run.history, config.monitor)
    if best_epoch is not None:
        summary += f", best epoch {best_epoch} ({config.monitor} {best_value:.4f})"
    if run.evaluation is not None:
        summary += f"; test accuracy {run.evaluation.accuracy:.4f}, macro-F1 {run.evaluation.macro_f1:.4f}"
    if run.tta_evaluation is not None:
        summary += f" (with TTA: {run.tta_evaluation.accuracy:.4f}, {run.tta_evaluation.macro_f1:.4f})"
    print(summary)
    return 0


def command_lr_find(args) -> int:
    """``python -m kit lr-find``: the LR range test for a model; writes lr_find.png and lr_find.csv."""
    import keras

    from kit import environment
    from kit.callbacks import lr_find, plot_lr_find

    config = preset(
        args.preset, model=args.model, precision="float32", **({"optimizer": args.optimizer} if args.optimizer else {})
    )
    out = Path(args.out) if args.out else Path("runs") / f"lr_find_{args.model}"
    data = _prepare_data(config, None, args.data_dir)
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
