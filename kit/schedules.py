"""Learning-rate schedules, in optimizer steps (lecture "Training networks, part 2").

Every schedule is a ``keras.optimizers.schedules.LearningRateSchedule`` (Keras' own where
Keras has one: ``CosineDecay``, ``ExponentialDecay``; ``LinearDecay`` is Keras'
``PolynomialDecay`` with power 1), so it can be passed straight to an optimizer as its
``learning_rate`` and is saved inside ``model.keras``. ``step`` is the optimizer's iteration
count: 0 for the first update. The kit's own schedules are written with ``keras.ops`` and
registered as ``kit>ClassName`` so that they run under TensorFlow and JAX and load with
``safe_mode=True``.

``make_schedule(name, lr, steps_per_epoch=..., epochs=...)`` is what ``kit.train`` uses: it
takes epochs (as the lecture and students think) and converts them to steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

from kit.errors import check_name, check_options
from kit.figures import new_figure, save_figure

LearningRate = float | keras.optimizers.schedules.LearningRateSchedule

SCHEDULES: tuple[str, ...] = (
    "constant",
    "step",
    "cosine",
    "linear",
    "inverse_sqrt",
    "exponential",
    "one_cycle",
)

CosineDecay = keras.optimizers.schedules.CosineDecay
ExponentialDecay = keras.optimizers.schedules.ExponentialDecay

__all__ = [
    "SCHEDULES",
    "StepDecay",
    "CosineDecay",
    "LinearDecay",
    "InverseSqrtDecay",
    "ExponentialDecay",
    "Warmup",
    "warmup",
    "OneCycle",
    "make_schedule",
    "scale_learning_rate",
    "values",
    "plot",
]


def _float_step(step: Any) -> Any:
    return ops.cast(ops.convert_to_tensor(step), "float32")


def _check_positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    ok = value >= 0 if allow_zero else value > 0
    if not isinstance(value, (int, float, np.integer, np.floating)) or not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a number {bound}; got {value!r}.")


@keras.saving.register_keras_serializable(package="kit")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Step decay: multiply the LR by ``factor`` at each boundary step (lecture: x0.1 at epochs 30, 60, 90).

    ``lr(step) = initial_learning_rate * factor ** (number of boundaries b with step >= b)``,
    so the new LR is used from the boundary step itself (the first update of epoch 30 when the
    boundary is ``30 * steps_per_epoch``). Keras' ``PiecewiseConstantDecay`` switches one step
    later and takes values rather than a factor, hence this small class.
    """

    def __init__(
        self, initial_learning_rate: float, boundaries: Sequence[int], factor: float = 0.1, name: str = "StepDecay"
    ) -> None:
        super().__init__()
        _check_positive("initial_learning_rate", initial_learning_rate)
        _check_positive("factor", factor)
        boundaries = [int(b) for b in boundaries]
        if any(b < 0 for b in boundaries) or boundaries != sorted(boundaries):
            raise ValueError(f"StepDecay boundaries must be increasing steps >= 0; got {boundaries}.")
        self.initial_learning_rate = float(initial_learning_rate)
        self.boundaries = boundaries
        self.factor = float(factor)
        self.name = name

    def __call__(self, step):
        step = _float_step(step)
        if not self.boundaries:
            return ops.ones_like(step) * self.initial_learning_rate
        bounds = ops.convert_to_tensor(np.asarray(self.boundaries, dtype="float32"))
        passed = ops.sum(ops.cast(ops.expand_dims(step, -1) >= bounds, "float32"), axis=-1)
        return self.initial_learning_rate * ops.power(ops.cast(self.factor, "float32"), passed)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "boundaries": list(self.boundaries),
            "factor": self.factor,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package="kit")
class LinearDecay(keras.optimizers.schedules.PolynomialDecay):
    """Linear decay to ``end_learning_rate`` over ``decay_steps``, then constant.

    ``lr(step) = initial + (end - initial) * min(step, decay_steps) / decay_steps``: Keras'
    ``PolynomialDecay`` with ``power=1`` (no cycling), with the end LR defaulting to 0.
    """

    def __init__(
        self, initial_learning_rate: float, decay_steps: int, end_learning_rate: float = 0.0, name: str = "LinearDecay"
    ) -> None:
        _check_positive("initial_learning_rate", initial_learning_rate)
        _check_positive("end_learning_rate", end_learning_rate, allow_zero=True)
        _check_positive("decay_steps", decay_steps)
        super().__init__(
            float(initial_learning_rate), int(decay_steps), float(end_learning_rate), power=1.0, cycle=False, name=name
        )

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package="kit")
class InverseSqrtDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The Transformer's policy (Vaswani et al. 2017, eq. 3), scaled so its peak is ``initial_learning_rate``.

    ``lr(step) = initial_learning_rate * min(step / warmup_steps, sqrt(warmup_steps / step))``:
    a linear warm-up from 0 to the peak at ``step == warmup_steps``, then decay as 1/sqrt(step).
    The warm-up is part of the policy, so do not wrap this one in ``warmup`` again.
    """

    def __init__(self, initial_learning_rate: float, warmup_steps: int, name: str = "InverseSqrtDecay") -> None:
        super().__init__()
        _check_positive("initial_learning_rate", initial_learning_rate)
        _check_positive("warmup_steps", warmup_steps)
        self.initial_learning_rate = float(initial_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.name = name

    def __call__(self, step):
        step = _float_step(step)
        w = float(self.warmup_steps)
        rising = step / w
        falling = ops.sqrt(w / ops.maximum(step, 1.0))
        return self.initial_learning_rate * ops.minimum(rising, falling)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "warmup_steps": self.warmup_steps,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package="kit")
class Warmup(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 in front of any schedule or constant LR (Goyal et al. 2017, "large minibatch SGD").

    ``lr(step) = after(0) * step / warmup_steps`` for ``step < warmup_steps``, then
    ``after(step - warmup_steps)``: the wrapped schedule starts, whole and unchanged, when the
    warm-up ends (the same convention as Keras' ``CosineDecay(warmup_steps=...)``, PyTorch's
    ``SequentialLR`` and Hugging Face's warm-up schedules), and the curve is continuous.
    ``make_schedule`` shortens the decay by the warm-up so that the run still ends on time.
    """

    def __init__(self, schedule: LearningRate, warmup_steps: int, name: str = "Warmup") -> None:
        super().__init__()
        if not isinstance(schedule, (int, float, keras.optimizers.schedules.LearningRateSchedule)):
            raise ValueError(f"warmup() wraps a float or a keras LearningRateSchedule; got {type(schedule).__name__}.")
        _check_positive("warmup_steps", warmup_steps)
        self.schedule = float(schedule) if isinstance(schedule, (int, float)) else schedule
        self.warmup_steps = int(warmup_steps)
        self.name = name

    def _after(self, step):
        if isinstance(self.schedule, float):
            return ops.ones_like(step) * self.schedule
        return ops.cast(self.schedule(step), "float32")

    def __call__(self, step):
        step = _float_step(step)
        w = float(self.warmup_steps)
        peak = self._after(ops.zeros_like(step))
        decayed = self._after(ops.maximum(step - w, 0.0))
        return ops.where(step < w, peak * step / w, decayed)

    def get_config(self) -> dict:
        schedule = self.schedule
        if not isinstance(schedule, float):
            schedule = keras.saving.serialize_keras_object(schedule)
        return {"schedule": schedule, "warmup_steps": self.warmup_steps, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> Warmup:
        config = dict(config)
        if isinstance(config["schedule"], dict):
            config["schedule"] = keras.saving.deserialize_keras_object(config["schedule"])
        return cls(**config)


def warmup(schedule: LearningRate, warmup_steps: int) -> Warmup:
    """Wrap ``schedule`` (any LearningRateSchedule, or a float) in a linear warm-up of ``warmup_steps`` steps.

    See ``Warmup`` for the exact formula; Keras only offers warm-up inside ``CosineDecay``.
    """
    return Warmup(schedule, warmup_steps)


def scale_learning_rate(learning_rate: float, batch_size: int, base_batch_size: int = 128) -> float:
    """The linear scaling rule: ``learning_rate`` tuned at ``base_batch_size``, scaled to ``batch_size``.

    Lecture "Training networks, part 2" (Goyal et al. 2017, "ImageNet in 1 hour"): k times the
    batch, k times the learning rate, with a few epochs of linear warm-up (``warmup_epochs``) so
    the large early steps do not blow up. Larger batches keep a CPU's cores busier per step.
    """
    _check_positive("learning_rate", learning_rate)
    if int(batch_size) < 1 or int(base_batch_size) < 1:
        raise ValueError(f"batch sizes must be >= 1; got {batch_size} and {base_batch_size}.")
    return float(learning_rate) * int(batch_size) / int(base_batch_size)


@keras.saving.register_keras_serializable(package="kit")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Smith's one-cycle policy (Smith & Topin 2018), as PyTorch's ``OneCycleLR`` with cosine annealing.

    Starts at ``max / div_factor``, rises with a half cosine to ``max_learning_rate`` at step
    ``pct_start * total_steps - 1``, then anneals with a half cosine to
    ``max / div_factor / final_div_factor`` at step ``total_steps - 1``, and stays there.
    ``cos_anneal(a, b, p) = b + (a - b) / 2 * (1 + cos(pi * p))``.
    """

    def __init__(
        self,
        max_learning_rate: float,
        total_steps: int,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        name: str = "OneCycle",
    ) -> None:
        super().__init__()
        _check_positive("max_learning_rate", max_learning_rate)
        _check_positive("div_factor", div_factor)
        _check_positive("final_div_factor", final_div_factor)
        if not 0.0 < pct_start < 1.0:
            raise ValueError(f"OneCycle pct_start must be between 0 and 1 (exclusive); got {pct_start!r}.")
        peak_step = float(pct_start * total_steps) - 1.0
        if int(total_steps) < 2 or peak_step <= 0 or peak_step >= total_steps - 1:
            raise ValueError(
                f"OneCycle needs room for both phases: total_steps={total_steps} with pct_start={pct_start} "
                "leaves an empty phase; use more steps (or epochs) or another pct_start."
            )
        self.max_learning_rate = float(max_learning_rate)
        self.total_steps = int(total_steps)
        self.pct_start = float(pct_start)
        self.div_factor = float(div_factor)
        self.final_div_factor = float(final_div_factor)
        self.name = name

    @property
    def initial_learning_rate(self) -> float:
        return self.max_learning_rate / self.div_factor

    @property
    def min_learning_rate(self) -> float:
        return self.initial_learning_rate / self.final_div_factor

    def __call__(self, step):
        step = _float_step(step)
        peak_step = self.pct_start * self.total_steps - 1.0
        last_step = self.total_steps - 1.0

        def anneal(start, end, pct):
            return end + (start - end) / 2.0 * (1.0 + ops.cos(math.pi * ops.clip(pct, 0.0, 1.0)))

        rising = anneal(self.initial_learning_rate, self.max_learning_rate, step / peak_step)
        falling = anneal(self.max_learning_rate, self.min_learning_rate, (step - peak_step) / (last_step - peak_step))
        return ops.where(step <= peak_step, rising, falling)

    def get_config(self) -> dict:
        return {
            "max_learning_rate": self.max_learning_rate,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "name": self.name,
        }


# Options each name accepts in make_schedule (besides learning_rate/steps_per_epoch/epochs/warmup_epochs).
_OPTIONS: dict[str, dict[str, Any]] = {
    "constant": {},
    "step": {"boundaries": None, "factor": 0.1},  # boundaries in epochs; None: 30/60/90 % of epochs
    "cosine": {"alpha": 0.0},  # final LR = alpha * learning_rate
    "linear": {"end_learning_rate": 0.0},
    "inverse_sqrt": {},  # its warm-up is warmup_epochs (default 1 epoch)
    "exponential": {"decay_rate": 0.9, "decay_epochs": 1.0, "staircase": False},
    "one_cycle": {"pct_start": None, "div_factor": 25.0, "final_div_factor": 1e4},
}


def make_schedule(
    name: str,
    learning_rate: float,
    *,
    steps_per_epoch: int,
    epochs: int,
    warmup_epochs: float = 0,
    total_steps: int | None = None,
    **options: Any,
) -> LearningRate:
    """The schedule ``name`` for a run of ``epochs`` x ``steps_per_epoch`` steps, options given in epochs.

    Names (``SCHEDULES``): constant (a float, or a warm-up then constant), step (x ``factor`` at
    ``boundaries`` epochs, default 30/60/90 % of the run, as the lecture's ResNet recipe), cosine
    (Keras ``CosineDecay`` to ``alpha * lr``), linear (to ``end_learning_rate``), inverse_sqrt (the
    Transformer policy; its warm-up is ``warmup_epochs``, 1 epoch if 0), exponential (x
    ``decay_rate`` every ``decay_epochs``), one_cycle (``learning_rate`` is the peak; the rising
    phase is ``pct_start``, or ``warmup_epochs / epochs`` when warmup_epochs is given).

    With ``warmup_epochs > 0`` the others are wrapped in ``warmup`` and their decay is shortened by
    the warm-up, so every schedule ends at the end of the run and step boundaries stay at the
    epochs asked for.

    ``total_steps``: the run's length in steps when it is not ``epochs`` whole epochs (a time
    budget, ``kit.budget``, may stop part-way through its last epoch); the decays, one_cycle and the
    default step boundaries then span ``total_steps``, while options given in epochs keep meaning
    ``steps_per_epoch`` steps.
    """
    check_name("schedule", name, SCHEDULES)
    check_options(f"schedule {name!r}", options, _OPTIONS[name])
    _check_positive("learning_rate", learning_rate)
    if int(steps_per_epoch) < 1 or int(epochs) < 1:
        raise ValueError(f"steps_per_epoch and epochs must be >= 1; got {steps_per_epoch} and {epochs}.")
    _check_positive("warmup_epochs", warmup_epochs, allow_zero=True)
    opts = {**_OPTIONS[name], **options}
    learning_rate = float(learning_rate)
    if total_steps is not None and int(total_steps) < 1:
        raise ValueError(f"total_steps must be >= 1; got {total_steps}.")
    total = int(total_steps) if total_steps is not None else int(steps_per_epoch) * int(epochs)
    warm = int(round(warmup_epochs * steps_per_epoch))
    if warm >= total:
        length = f"{total} steps" if total_steps is not None else f"{epochs} epochs"
        raise ValueError(f"warmup_epochs={warmup_epochs} must be shorter than the run ({length}).")

    if name == "inverse_sqrt":
        return InverseSqrtDecay(learning_rate, warm or int(steps_per_epoch))
    if name == "one_cycle":
        pct = opts["pct_start"] if opts["pct_start"] is not None else (warm / total if warm else 0.3)
        return OneCycle(
            learning_rate,
            total,
            pct_start=pct,
            div_factor=opts["div_factor"],
            final_div_factor=opts["final_div_factor"],
        )

    decay = total - warm
    if name == "constant":
        schedule: LearningRate = learning_rate
    elif name == "step":
        boundaries = opts["boundaries"]
        if boundaries is None:  # 30/60/90 % of the run
            run_epochs = epochs if total_steps is None else total / steps_per_epoch
            boundaries = [0.3 * run_epochs, 0.6 * run_epochs, 0.9 * run_epochs]
        steps = [max(int(round(b * steps_per_epoch)) - warm, 0) for b in boundaries]
        schedule = StepDecay(learning_rate, steps, factor=opts["factor"])
    elif name == "cosine":
        schedule = CosineDecay(learning_rate, decay_steps=decay, alpha=float(opts["alpha"]))
    elif name == "linear":
        schedule = LinearDecay(learning_rate, decay, end_learning_rate=opts["end_learning_rate"])
    else:  # exponential
        decay_steps = max(int(round(opts["decay_epochs"] * steps_per_epoch)), 1)
        schedule = ExponentialDecay(
            learning_rate,
            decay_steps=decay_steps,
            decay_rate=float(opts["decay_rate"]),
            staircase=bool(opts["staircase"]),
        )
    return warmup(schedule, warm) if warm else schedule


def values(schedule: LearningRate, steps: int | Sequence[int] | np.ndarray) -> np.ndarray:
    """The learning rates (float64 numpy) of ``schedule`` at ``steps`` (an int n means steps 0..n-1)."""
    steps = np.arange(steps) if np.isscalar(steps) else np.asarray(steps)
    if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        return np.full(steps.shape, float(schedule))
    flat = steps.astype("float32").reshape(-1)
    try:  # one broadcast call when the schedule allows it (all of the kit's do)
        out = np.asarray(ops.convert_to_numpy(schedule(flat)), dtype="float64")
        if out.shape == flat.shape:
            return out.reshape(steps.shape)
    except Exception:  # noqa: BLE001 - e.g. CosineDecay with warm-up uses ops.cond on a scalar step
        pass
    try:  # vmap / tf.vectorized_map turn such conds into selects
        out = ops.convert_to_numpy(ops.vectorized_map(schedule, ops.convert_to_tensor(flat)))
        return np.asarray(out, dtype="float64").reshape(steps.shape)
    except Exception:  # noqa: BLE001 - last resort: one call per step
        pass
    return np.array([float(ops.convert_to_numpy(schedule(int(s)))) for s in flat], dtype="float64").reshape(steps.shape)


def plot(schedule: LearningRate, steps: int, path: str | Path, *, title: str | None = None) -> Path:
    """Draw LR against step for the first ``steps`` steps to a PNG (look at the curve before training)."""
    if int(steps) < 1:
        raise ValueError(f"plot() needs steps >= 1; got {steps}.")
    steps = int(steps)
    xs = np.unique(np.linspace(0, steps - 1, num=min(steps, 2000)).round().astype(int))
    ys = values(schedule, xs)
    fig = new_figure(6, 3.5, layout="tight")
    ax = fig.add_subplot()
    ax.plot(xs, ys, drawstyle="steps-post" if len(xs) == steps else "default")
    ax.set_xlabel("step (optimizer update)")
    ax.set_ylabel("learning rate")
    ax.set_title(title or (type(schedule).__name__ if not isinstance(schedule, (int, float)) else "constant"))
    ax.grid(True, alpha=0.3)
    return save_figure(fig, path)
