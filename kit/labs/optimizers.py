"""Lab ``optimizers``: SGD, SGD + momentum, Nesterov, RMSProp and Adam on the same network and data.

Lecture "Training networks, part 2" (update rules): every optimizer trains the same LeNet-5
(ReLU, max-pooling) from the same initial weights on the same images; a sixth run is SGD +
momentum with cosine decay, the lecture's "decrease the LR" advice. The picture is the training
loss and the validation accuracy per epoch of each.
"""

from __future__ import annotations

from pathlib import Path

from kit.labs.common import LabPreset, LabResult, figure, lab_data, save_figure, train_variant

NAME = "optimizers"
LECTURE = "Training networks, part 2"
CLAIM = (
    "Adam (lr 1e-3) is a good choice in most cases and often works well with a constant learning rate; "
    "SGD + momentum can give a better result than Adam, but the learning rate has to be decreased."
)

MODEL = "lenet5"
MODEL_OPTIONS = {"activation": "relu", "pooling": "max"}
# label -> (kit optimizer name, learning rate, schedule). SGD, momentum and Nesterov share one LR,
# so the curves show what momentum adds; RMSProp and Adam use the lecture's 1e-3.
RUNS: dict[str, tuple[str, float, str]] = {
    "sgd": ("sgd", 0.02, "constant"),
    "momentum": ("momentum", 0.02, "constant"),
    "nesterov": ("nesterov", 0.02, "constant"),
    "rmsprop": ("rmsprop", 1e-3, "constant"),
    "adam": ("adam", 1e-3, "constant"),
    "momentum_cosine": ("momentum", 0.02, "cosine"),
}
EPOCHS = 8  # quick; smoke trains the preset's epochs
BATCH_SIZE = 64
SMOKE_RUNS = ("sgd", "adam", "momentum_cosine")  # smoke checks the wiring with three of the runs
TOLERANCE = 0.01  # accuracy: "as good as the best" within one point


def run(out_dir: Path, preset: LabPreset) -> LabResult:
    data = lab_data(preset)
    epochs = preset.pick(smoke=preset.epochs, quick=EPOCHS)
    histories = {}
    for label in preset.pick(smoke=SMOKE_RUNS, quick=tuple(RUNS)):
        optimizer, learning_rate, schedule = RUNS[label]
        run = train_variant(
            out_dir,
            preset,
            data,
            label,
            model=MODEL,
            model_options=MODEL_OPTIONS,
            optimizer=optimizer,
            learning_rate=learning_rate,
            schedule=schedule,
            epochs=epochs,
            batch_size=BATCH_SIZE,
        )
        histories[label] = run.history
    picture = _plot(histories, out_dir / "optimizers.png")

    final = {label: float(h["val_accuracy"].iloc[-1]) for label, h in histories.items()}
    measured = {f"val_accuracy_{label}": round(value, 4) for label, value in final.items()}
    measured.update({f"train_loss_{label}": round(float(h["loss"].iloc[-1]), 4) for label, h in histories.items()})
    constant = {label: value for label, value in final.items() if RUNS[label][2] == "constant"}
    adam_good = final["adam"] >= max(constant.values()) - TOLERANCE
    momentum_beats = final["momentum_cosine"] > final["adam"]
    best = max(final, key=final.get)
    if adam_good and momentum_beats:
        verdict = "agrees"
        explanation = (
            f"Adam at a constant 1e-3 is within a point of the best constant-LR optimizer "
            f"({final['adam']:.3f}), and SGD + momentum with cosine decay beats it ({final['momentum_cosine']:.3f})."
        )
    elif adam_good or momentum_beats:
        verdict = "partly"
        explanation = (
            f"Adam at 1e-3 reaches {final['adam']:.3f} and SGD + momentum with cosine decay "
            f"{final['momentum_cosine']:.3f} after {epochs} epochs (best: {best}); "
            + (
                "Adam is a good default, but momentum with decay did not beat it in this short run."
                if adam_good
                else "momentum with decay wins, but Adam is more than a point behind the best constant-LR optimizer."
            )
        )
    else:
        verdict = "disagrees"
        explanation = (
            f"Adam at 1e-3 ({final['adam']:.3f}) is more than a point behind {best} ({final[best]:.3f}), and "
            "momentum with decay does not beat it: on this short run the LRs chosen here matter more than the rule."
        )
    return LabResult(measured=measured, verdict=verdict, explanation=explanation, pictures=[picture])


def _plot(histories: dict, path: Path) -> str:
    fig, (loss_ax, acc_ax) = figure(10, 4, ncols=2)
    for label, history in histories.items():
        optimizer, learning_rate, schedule = RUNS[label]
        name = f"{label} (lr {learning_rate:g}{', ' + schedule if schedule != 'constant' else ''})"
        loss_ax.plot(history["epoch"], history["loss"], marker="o", label=name)
        acc_ax.plot(history["epoch"], history["val_accuracy"], marker="o", label=name)
    loss_ax.set(xlabel="epoch", ylabel="training loss", title="training loss", yscale="log")
    acc_ax.set(xlabel="epoch", ylabel="validation accuracy", title="validation accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
    acc_ax.legend(fontsize=8)
    return save_figure(fig, path)
