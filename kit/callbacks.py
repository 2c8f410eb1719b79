"""Callbacks for the training loop, and the learning-rate range test (lecture "Training networks, part 2").

What Keras already has is configured, not rewritten (``standard_callbacks``: ``EarlyStopping``,
``ModelCheckpoint``, ``BackupAndRestore``, ``CSVLogger``, ``TensorBoard``). Written here is only
what Keras lacks:

- ``ValidationMacroF1``: macro-F1 on the validation set each epoch, from scikit-learn with sparse
  integer labels (Keras' ``F1Score`` needs one-hot labels; a compiled custom metric would also make
  every saved model.keras unloadable without importing the kit);
- ``NaNGuard``: Keras' ``TerminateOnNaN``, also for a loss that explodes while still finite, and
  remembering it fired, so ``kit.train`` can tell the user the lecture's hint (``LOSS_EXPLODED``);
- ``EpochTimer``: seconds per epoch and training images per second (throughput);
- ``TimeBudget``: fits a run to a time budget (``kit.budget``): sets the learning rate of each step
  from the schedule's curve, stops at the planned step, plans again at each epoch's end;
- ``LearningRateLogger``: the optimizer's current learning rate (schedules included) per epoch;
- ``StopAtTarget``: stop as soon as a logged metric reaches a target (recipe step 2: training
  accuracy 100 % on a tiny sample; Keras' ``EarlyStopping`` stops on a plateau, not on a target);
- ``StepEvaluation``: loss and error on a fixed sample every few steps (curves finer than an
  epoch, e.g. Krizhevsky's "steps to 25 % training error");
- ``lr_find``: the LR range test of the lecture's hyperparameter recipe, step 3 (Smith 2017,
  "Cyclical learning rates"; fastai's ``lr_find``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from kit import runs
from kit.budget import Budget, Plan
from kit.figures import new_figure, save_figure
from kit.optimizers import make_loss, make_optimizer
from kit.runs import monitor_mode

__all__ = [
    "LOSS_EXPLODED",
    "EpochCSVLogger",
    "EpochTimer",
    "LRFindResult",
    "LearningRateLogger",
    "NaNGuard",
    "TimeBudget",
    "ValidationMacroF1",
    "current_learning_rate",
    "lr_find",
    "monitor_mode",
    "plot_lr_find",
    "standard_callbacks",
]

LOSS_EXPLODED = "loss exploded: learning rate too high or bad initialisation; try LR / 10"


def _sparse(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    return y.argmax(axis=-1) if y.ndim == 2 else y.reshape(-1)


class ValidationMacroF1(keras.callbacks.Callback):
    """Adds ``val_macro_f1`` to the epoch logs: scikit-learn's macro-averaged F1 on the validation set.

    Must come before ``EarlyStopping``/``ModelCheckpoint``/``CSVLogger`` in the callback list so
    they see it. Labels may be sparse integers or one-hot (MixUp/label smoothing); both become
    class indices, and predictions become the argmax of the probabilities.
    """

    def __init__(self, x_val: np.ndarray, y_val: np.ndarray, batch_size: int = 512):
        super().__init__()
        self.x_val = x_val
        self.y_val = _sparse(y_val)
        self.batch_size = int(batch_size)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is None or len(self.y_val) == 0:
            return
        probabilities = self.model.predict(self.x_val, batch_size=self.batch_size, verbose=0)
        y_pred = np.asarray(keras.ops.convert_to_numpy(probabilities)).argmax(axis=-1)
        logs["val_macro_f1"] = float(f1_score(self.y_val, y_pred, average="macro", zero_division=0))


class NaNGuard(keras.callbacks.TerminateOnNaN):
    """Keras' ``TerminateOnNaN``, extended to losses that explode without becoming NaN, and that remembers it fired.

    Stops training when the loss is NaN/inf or exceeds ``factor`` x the first batch's loss (a
    cross-entropy starts near ln C and, once training goes wrong at LR=1e3, reaches 1e16 while
    still finite). ``exploded`` tells the caller to raise ``TrainingError(LOSS_EXPLODED)`` after
    ``fit`` has returned, i.e. after the other callbacks closed history.csv and the checkpoint.
    It only reads the loss, so Keras may run it off the training thread (``async_safe``), which
    keeps JAX's asynchronous dispatch (plain ``fit`` speed).
    """

    async_safe = True

    def __init__(self, factor: float = 100.0) -> None:
        super().__init__(raise_error=False)
        self.factor = float(factor)
        self.exploded = False
        self.reference: float | None = None
        self.message = LOSS_EXPLODED

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.exploded = False
        self.reference = None

    def _check(self, logs: dict | None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if self.reference is None and math.isfinite(loss):
            self.reference = max(abs(loss), 1e-3)
        if not math.isfinite(loss) or (self.reference is not None and loss > self.factor * self.reference):
            self.exploded = True
            self.model.stop_training = True

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._check(logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._check(logs)


def wait_for_device(model: keras.Model) -> int:
    """Wait until the model's last dispatched training step has finished; returns the optimizer's step count.

    JAX (and TensorFlow on a GPU) dispatch steps asynchronously, so the clock alone would time the
    dispatch; reading the step counter waits for the step that wrote it.
    """
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


class EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` (whole epoch, validation included) and ``images_per_second`` (training phase).

    The training phase ends where Keras starts validating (``on_test_begin``), once the device has
    finished its last step (``wait_for_device``: JAX dispatches steps ahead), so throughput is
    comparable with a plain ``model.fit`` whatever the validation set costs. An epoch stopped
    part-way (a time budget's last one) counts the share of its batches that ran.
    """

    def __init__(self, images_per_epoch: int):
        super().__init__()
        self.images_per_epoch = int(images_per_epoch)
        self._start = self._train_end = None
        self._batches = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start, self._train_end = time.perf_counter(), None
        self._batches = 0

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._batches += 1

    def on_test_begin(self, logs: dict | None = None) -> None:
        if self._start is not None and self._train_end is None:
            wait_for_device(self.model)
            self._train_end = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is None or self._start is None:
            return
        if self._train_end is None:  # no validation
            wait_for_device(self.model)
            self._train_end = time.perf_counter()
        now = time.perf_counter()
        train_seconds = self._train_end - self._start
        batches_per_epoch = (self.params or {}).get("steps") or self._batches
        share = min(self._batches / batches_per_epoch, 1.0) if self._batches and batches_per_epoch else 1.0
        logs["epoch_seconds"] = now - self._start
        logs["images_per_second"] = self.images_per_epoch * share / max(train_seconds, 1e-9)


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The learning rate the optimizer uses now (a schedule evaluated at its iteration count)."""
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class LearningRateLogger(keras.callbacks.Callback):
    """Adds ``learning_rate`` (the value at the end of the epoch) to the logs, for history.csv."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None and self.model.optimizer is not None:
            logs["learning_rate"] = current_learning_rate(self.model.optimizer)


class StopAtTarget(keras.callbacks.Callback):
    """Stop training at the end of the first epoch whose ``monitor`` reaches ``target`` (``.reached_epoch``)."""

    def __init__(self, monitor: str = "accuracy", target: float = 1.0, mode: str = "max"):
        super().__init__()
        self.monitor, self.target, self.mode = monitor, float(target), mode
        self.reached_epoch: int | None = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        if (value >= self.target) if self.mode == "max" else (value <= self.target):
            self.reached_epoch = epoch + 1
            self.model.stop_training = True


class StepEvaluation(keras.callbacks.Callback):
    """Every ``every`` training steps: the model's loss and error rate on a fixed sample (x, sparse y).

    Keras' per-batch logs are running means since the epoch started (and with dropout on); this
    measures the model as it is at that step, in inference mode. ``.steps``, ``.losses``,
    ``.errors`` grow as training goes; step 0 is the untrained model.
    """

    def __init__(self, x, y, every: int = 10, batch_size: int = 1024):
        super().__init__()
        self.x, self.y = x, _sparse(np.asarray(y))
        self.every, self.batch_size = int(every), int(batch_size)
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.errors: list[float] = []
        self._step = 0

    def _measure(self) -> None:
        parts = [
            self.model(self.x[i : i + self.batch_size], training=False) for i in range(0, len(self.x), self.batch_size)
        ]
        probabilities = np.concatenate([keras.ops.convert_to_numpy(p) for p in parts]).astype("float64")
        picked = probabilities[np.arange(len(self.y)), self.y]
        self.steps.append(self._step)
        self.losses.append(float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0)))))
        self.errors.append(float(np.mean(probabilities.argmax(axis=1) != self.y)))

    def on_train_begin(self, logs=None):
        if not self.steps:
            self._measure()

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self._step % self.every == 0:
            self._measure()

    def first_step_below(self, error: float) -> int | None:
        """The first measured step whose error is at most ``error`` (None: never reached)."""
        return next((step for step, e in zip(self.steps, self.errors, strict=True) if e <= error), None)


class TimeBudget(keras.callbacks.Callback):
    """Fits a run to a time budget (``kit.budget.Budget``): the LR of each step, the stop, a new plan each epoch.

    A Keras schedule is compiled into the training step and fixes the run's length when training
    starts; here the length changes while the run trains (each epoch's measured seconds give a new
    plan), so this one callback sets the optimizer's learning-rate variable from the schedule's curve
    instead, as Keras' ``LearningRateScheduler`` does once an epoch, here every few steps (at most
    ``LR_UPDATES`` times a run, always at the last step: the curve ends on the schedule's end).
    ``learning_rates(total_steps)`` gives that curve for a run of ``total_steps`` steps
    (``kit.schedules.make_schedule``: warm-up, then cosine or linear decay over what remains).

    The plan before training comes from ``budget.current``; at each epoch's end this callback (last
    in the list, so the checkpoint and backup are timed too) hands the epoch's seconds to the budget,
    plans again and stops the run when nothing more fits. The stop is exact: ``stop_training`` is set
    before the last planned step, and Keras ends the epoch after it. ``on_plan(budget)`` is called
    after each plan (``kit.train`` records it in config.json). ``progbar``: Keras' ``ProgbarLogger``,
    whose "Epoch i/n" then shows the planned epochs. The step hook runs at batch begin, so Keras
    keeps dispatching steps asynchronously (JAX) when the other callbacks allow it.
    """

    LR_UPDATES = 1000

    def __init__(
        self,
        budget: Budget,
        learning_rates,
        *,
        clock=None,
        validation_images: int = 0,
        progbar: keras.callbacks.ProgbarLogger | None = None,
        on_plan=None,
    ) -> None:
        super().__init__()
        self.budget = budget
        self.learning_rates = learning_rates
        self.clock = clock or budget.clock
        self.validation_images = int(validation_images)
        self.progbar = progbar
        self.on_plan = on_plan
        self.step = 0
        self.total_steps = 0
        self.curve = np.zeros(0)
        self._next_update = 0
        self._every = 1
        self._epoch_start = self._train_end = self._test_start = None
        self._steps_in_epoch = 0
        self._forward = None

    def use(self, plan: Plan) -> None:
        """Train to ``plan``: its total steps, its learning-rate curve, its epochs on the progress bar."""
        self.total_steps = int(plan.total_steps)
        self.curve = np.asarray(self.learning_rates(self.total_steps), dtype="float64")
        self._every = max(1, self.total_steps // self.LR_UPDATES)
        self._next_update = self.step  # the new curve from the next step on
        if self.progbar is not None:
            self.progbar.epochs = plan.whole_epochs

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.step = wait_for_device(self.model)  # a resumed run: the steps BackupAndRestore restored
        self.use(self.budget.current)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start, self._train_end, self._forward = self.clock(), None, None
        self._steps_in_epoch = 0

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        last = self.step >= self.total_steps - 1
        if self.step >= self._next_update or last:
            self.model.optimizer.learning_rate.assign(float(self.curve[min(self.step, len(self.curve) - 1)]))
            self._next_update = self.step + self._every
        if last:
            self.model.stop_training = True  # Keras stops after this step
        self.step += 1
        self._steps_in_epoch += 1

    def _end_of_training_phase(self) -> float:
        if self._train_end is None:
            wait_for_device(self.model)
            self._train_end = self.clock()
        return self._train_end

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._test_start = self._end_of_training_phase()

    def on_test_end(self, logs: dict | None = None) -> None:
        if self._test_start is not None and self.validation_images:
            self._forward = (self.clock() - self._test_start) / self.validation_images

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        train_end = self._end_of_training_phase()
        now = self.clock()
        self.budget.observe_epoch(
            steps=self._steps_in_epoch,
            train_seconds=train_end - self._epoch_start,
            tail_seconds=now - train_end,
            forward_seconds_per_image=self._forward,
        )
        if self.step < self.total_steps and not self.model.stop_training:
            plan = self.budget.plan(self.step, at=f"epoch {epoch + 1}")
            if plan.total_steps <= self.step:
                self.model.stop_training = True  # the machine got slower: nothing more fits
            else:
                self.use(plan)
        if self.on_plan is not None:
            self.on_plan(self.budget)


class SwapEMAWeights(keras.callbacks.SwapEMAWeights):
    """Keras' ``SwapEMAWeights``: validation and checkpoints see the optimizer's EMA weights (Polyak averaging).

    One fix for JAX: at the last epoch Keras copies the model's weights into the EMA variables by
    assigning the same arrays, and the next ``predict`` (``val_macro_f1``) donates those buffers,
    so saving the optimizer then fails with "Array has been deleted". Here the copy is a real one.
    """

    def _backend_finalize_ema_values(self, optimizer) -> None:
        for variable, average in zip(
            optimizer._trainable_variables, optimizer._model_variables_moving_average, strict=True
        ):
            average.assign(keras.ops.convert_to_numpy(variable))


class EpochCSVLogger(keras.callbacks.CSVLogger):
    """Keras' ``CSVLogger`` with epochs numbered from 1, as Keras' progress bar shows them."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch + 1, logs)


def epoch_only(callback: keras.callbacks.Callback) -> keras.callbacks.Callback:
    """Mark a checkpoint callback that saves once an epoch (``save_freq="epoch"``) as ``async_safe``.

    ``ModelCheckpoint`` and ``BackupAndRestore`` define ``on_train_batch_end`` (for an integer
    ``save_freq``), and Keras then calls every batch hook synchronously: under JAX each step waits
    for the device, which halved the homework CNN's training images/s on an H100 at batch 1024
    (docs/performance.md). Saving once an epoch, their batch hook does nothing, so Keras may run it
    off the training thread and keep JAX's asynchronous dispatch.
    """
    if callback.save_freq != "epoch":
        raise ValueError(f"epoch_only needs save_freq='epoch'; got {callback.save_freq!r}.")
    callback.async_safe = True
    return callback


def standard_callbacks(
    run_dir: str | Path,
    *,
    x_val: np.ndarray,
    y_val: np.ndarray,
    images_per_epoch: int,
    monitor: str = "val_loss",
    patience: int | None = None,
    resume: bool = False,
    best_so_far: float | None = None,
    tensorboard: bool = False,
    batch_size: int = 512,
    ema: bool = False,
) -> list[keras.callbacks.Callback]:
    """The kit's callback list for one run folder, in the order that matters.

    Metric-adding callbacks first (they write into the shared epoch logs), then the ones that read
    them: EarlyStopping (``restore_best_weights``), ModelCheckpoint (best ``model.keras``),
    CSVLogger (``history.csv``, appended on resume), then BackupAndRestore (``backup/``) last, so
    that an epoch is backed up only once its history row is on disk. ``best_so_far`` is the best
    monitored value before a resume, so the checkpoint is not overwritten by a worse epoch.
    ``ema`` (the optimizer has ``use_ema=True``): Keras' ``SwapEMAWeights(swap_on_epoch=True)``
    goes right after NaNGuard, so validation, early stopping and the checkpoint see the averaged
    weights (Polyak averaging) and training continues on the raw ones.
    """
    run_dir = Path(run_dir)
    mode = monitor_mode(monitor)
    callbacks: list[keras.callbacks.Callback] = [NaNGuard()]
    if ema:
        callbacks.append(SwapEMAWeights(swap_on_epoch=True))
    if len(x_val):
        callbacks.append(ValidationMacroF1(x_val, y_val, batch_size=batch_size))
    callbacks += [LearningRateLogger(), EpochTimer(images_per_epoch)]
    if patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor, mode=mode, patience=int(patience), restore_best_weights=True, verbose=1
            )
        )
    callbacks += [
        epoch_only(
            keras.callbacks.ModelCheckpoint(
                run_dir / runs.MODEL_FILE,
                monitor=monitor,
                mode=mode,
                save_best_only=True,
                initial_value_threshold=best_so_far,
            )
        ),
        EpochCSVLogger(run_dir / runs.HISTORY_FILE, append=resume),
        epoch_only(keras.callbacks.BackupAndRestore(run_dir / runs.BACKUP_DIR, double_checkpoint=True)),
    ]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / runs.TENSORBOARD_DIR)))
    return callbacks


# --------------------------------------------------------------------------- LR range test
@dataclass
class LRFindResult:
    """The LR range test: learning rates tried, smoothed losses, and the suggested learning rate.

    ``suggestion`` is the learning rate of the steepest descent of the smoothed loss (against
    log LR) before its minimum, fastai's "steep" rule; ``lr_min_div_10`` is the other usual rule
    (the LR at the minimum loss / 10), kept for comparison and used when the curve is too short.
    """

    learning_rates: np.ndarray
    losses: np.ndarray  # smoothed (bias-corrected exponential moving average)
    raw_losses: np.ndarray
    suggestion: float
    lr_min_div_10: float
    stopped_early: bool

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"learning_rate": self.learning_rates, "loss": self.losses, "raw_loss": self.raw_losses})


def _suggest(lrs: np.ndarray, losses: np.ndarray, skip_start: int = 5) -> tuple[float, float]:
    best = int(np.argmin(losses))
    lr_min_div_10 = float(lrs[best] / 10.0)
    if best - skip_start < 2:
        return max(lr_min_div_10, float(lrs[0])), lr_min_div_10
    slope = np.gradient(losses[skip_start : best + 1], np.log10(lrs[skip_start : best + 1]))
    return float(lrs[skip_start + int(np.argmin(slope))]), lr_min_div_10


def lr_find(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    steps: int = 200,
    batch_size: int = 128,
    optimizer: str = "adam",
    smoothing: float = 0.98,
    diverge: float = 4.0,
    seed: int = 0,
    **optimizer_options: Any,
) -> LRFindResult:
    """LR range test: train a copy of ``model`` for up to ``steps`` batches while the LR grows exponentially.

    The copy (``keras.models.clone_model`` + ``set_weights``) is what trains, so ``model``'s weights
    are untouched. The LR goes from ``start_lr`` to ``end_lr`` (Keras' ``ExponentialDecay`` with a
    rate > 1); the loss is smoothed by a bias-corrected moving average (``smoothing``) and the test
    stops once it is not finite or exceeds ``diverge`` x its best value.
    """
    if not 0 < start_lr < end_lr:
        raise ValueError(f"need 0 < start_lr < end_lr; got start_lr={start_lr}, end_lr={end_lr}.")
    if steps < 10:
        raise ValueError(f"steps must be >= 10 for a usable curve; got {steps}.")
    x = np.asarray(x)
    y = np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty and of the same length; got {len(x)} and {len(y)}.")

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    schedule = keras.optimizers.schedules.ExponentialDecay(
        start_lr, decay_steps=steps - 1, decay_rate=end_lr / start_lr
    )
    copy.compile(
        optimizer=make_optimizer(optimizer, schedule, **optimizer_options), loss=make_loss(one_hot=y.ndim == 2)
    )

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    batch_size = min(int(batch_size), len(x))
    per_epoch = max(len(x) // batch_size, 1)
    lrs, raw, smooth = [], [], []
    average, best, stopped = 0.0, math.inf, False
    for step in range(steps):
        if step and step % per_epoch == 0:
            order = rng.permutation(len(x))
        take = order[(step % per_epoch) * batch_size : (step % per_epoch + 1) * batch_size]
        value = float(np.asarray(copy.train_on_batch(x[take], y[take])).reshape(-1)[0])
        if not math.isfinite(value):
            stopped = True
            break
        average = smoothing * average + (1 - smoothing) * value
        smoothed = average / (1 - smoothing ** (step + 1))
        lrs.append(start_lr * (end_lr / start_lr) ** (step / (steps - 1)))
        raw.append(value)
        smooth.append(smoothed)
        best = min(best, smoothed)
        if step > 0 and smoothed > diverge * best:
            stopped = True
            break
    del copy
    lrs_a, smooth_a = np.asarray(lrs), np.asarray(smooth)
    if len(lrs_a) < 3:
        raise ValueError(f"the loss diverged within {len(lrs_a)} steps; lower start_lr (now {start_lr:g}).")
    suggestion, lr_min_div_10 = _suggest(lrs_a, smooth_a)
    return LRFindResult(lrs_a, smooth_a, np.asarray(raw), suggestion, lr_min_div_10, stopped)


def plot_lr_find(result: LRFindResult, path: str | Path) -> Path:
    """Smoothed loss against learning rate (log axis), the suggestion marked; saved as PNG."""
    fig = new_figure(6, 4, layout="tight")
    ax = fig.subplots()
    ax.plot(result.learning_rates, result.losses, label="smoothed loss")
    at = int(np.argmin(np.abs(np.log(result.learning_rates) - math.log(result.suggestion))))
    ax.plot(
        [result.suggestion],
        [result.losses[at]],
        "o",
        color="red",
        label=f"suggestion {result.suggestion:.2g} (steepest descent)",
    )
    ax.axvline(result.lr_min_div_10, color="grey", linestyle="--", label=f"min / 10 = {result.lr_min_div_10:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title("LR range test")
    ax.legend()
    return save_figure(fig, path)
