"""Lab ``lr-schedules``: the lecture's learning-rate policies, drawn and trained.

Lecture "Training networks, part 2" (learning-rate policies): step decay, cosine, linear,
inverse square root and a linear warm-up, against a constant LR. Each schedule is the kit's
own (``kit.schedules.make_schedule``, through ``TrainConfig.schedule``); all train the same
LeNet-5 (ReLU, max-pooling) with SGD + momentum from the same weights on the same images.
The picture: the LR curves over the run, and validation accuracy per epoch.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from kit.labs.common import LabPreset, LabResult, figure, lab_data, save_figure, train_variant
from kit.schedules import make_schedule, values

NAME = "lr-schedules"
LECTURE = "Training networks, part 2"
CLAIM = (
    "Learning-rate policies (step decay, cosine, linear, inverse sqrt, linear warm-up) change the result; "
    "SGD + momentum needs a decreasing LR, and cosine decay is a good choice."
)

MODEL = "lenet5"
MODEL_OPTIONS = {"activation": "relu", "pooling": "max"}
OPTIMIZER, LEARNING_RATE = "momentum", 0.05
# label -> (kit schedule name, warm-up epochs)
RUNS: dict[str, tuple[str, float]] = {
    "constant": ("constant", 0),
    "step": ("step", 0),
    "cosine": ("cosine", 0),
    "linear": ("linear", 0),
    "inverse_sqrt": ("inverse_sqrt", 1),
    "warmup_cosine": ("cosine", 1),
}
EPOCHS = 8  # quick; smoke trains two epochs (warm-up needs more than one)
BATCH_SIZE = 64
SMOKE_RUNS = ("constant", "cosine", "warmup_cosine")  # smoke checks the wiring with three of the runs
TOLERANCE = 0.005  # accuracy: "among the best" within half a point


def run(out_dir: Path, preset: LabPreset) -> LabResult:
    data = lab_data(preset)
    epochs = preset.pick(smoke=2, quick=EPOCHS)
    configs, histories = {}, {}
    for label in preset.pick(smoke=SMOKE_RUNS, quick=tuple(RUNS)):
        schedule, warmup_epochs = RUNS[label]
        run = train_variant(
            out_dir,
            preset,
            data,
            label,
            model=MODEL,
            model_options=MODEL_OPTIONS,
            optimizer=OPTIMIZER,
            learning_rate=LEARNING_RATE,
            schedule=schedule,
            warmup_epochs=warmup_epochs,
            epochs=epochs,
            batch_size=BATCH_SIZE,
        )
        configs[label], histories[label] = run.config, run.history
    steps_per_epoch = math.ceil(len(data.y_train) / BATCH_SIZE)
    picture = _plot(configs, histories, steps_per_epoch, out_dir / "lr_schedules.png")

    final = {label: float(h["val_accuracy"].iloc[-1]) for label, h in histories.items()}
    measured = {f"val_accuracy_{label}": round(value, 4) for label, value in final.items()}
    best = max(final, key=final.get)
    decaying = {label: value for label, value in final.items() if label != "constant"}
    best_decay = max(decaying, key=decaying.get)
    decay_helps = decaying[best_decay] > final["constant"]
    cosine_good = final["cosine"] >= final[best] - TOLERANCE
    summary = ", ".join(f"{label} {value:.3f}" for label, value in sorted(final.items(), key=lambda kv: -kv[1]))
    if decay_helps and cosine_good:
        verdict = "agrees"
        explanation = (
            f"Decaying the LR beats a constant LR and cosine is within half a point of the best "
            f"(validation accuracy: {summary})."
        )
    elif decay_helps:
        verdict = "partly"
        explanation = (
            f"Decaying the LR beats a constant LR, but cosine is more than half a point behind {best} "
            f"on this short run (validation accuracy: {summary})."
        )
    else:
        verdict = "disagrees"
        explanation = (
            f"No schedule beats the constant LR here (validation accuracy: {summary}): with "
            f"{epochs} epochs the LR never gets small enough to matter."
        )
    return LabResult(measured=measured, verdict=verdict, explanation=explanation, pictures=[picture])


def _plot(configs: dict, histories: dict, steps_per_epoch: int, path: Path) -> str:
    fig, (lr_ax, acc_ax) = figure(10, 4, ncols=2)
    for label, config in configs.items():
        schedule = make_schedule(
            config.schedule,
            config.learning_rate,
            steps_per_epoch=steps_per_epoch,
            epochs=config.epochs,
            warmup_epochs=config.warmup_epochs,
            **config.schedule_options,
        )
        steps = np.arange(steps_per_epoch * config.epochs)
        lr_ax.plot(steps / steps_per_epoch, values(schedule, steps), label=label)
        acc_ax.plot(histories[label]["epoch"], histories[label]["val_accuracy"], marker="o", label=label)
    lr_ax.set(xlabel="epoch", ylabel="learning rate", title=f"{OPTIMIZER}, peak LR {LEARNING_RATE:g}")
    acc_ax.set(xlabel="epoch", ylabel="validation accuracy", title="validation accuracy")
    for ax in (lr_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save_figure(fig, path)
