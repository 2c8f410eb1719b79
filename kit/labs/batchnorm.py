"""Lab ``batchnorm``: batch normalisation allows higher learning rates and converges faster.

The homework's CNN (``kit.models.cnn_mnist``) with and without BatchNorm after each conv/FC
layer (before the nonlinearity, as the lecture places it), trained by ``kit.train`` with
SGD + momentum at a moderate and at a high learning rate; everything else equal. A run whose
loss explodes is recorded as diverged (that is the claim's "does not allow" case).
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np

from kit.errors import TrainingError
from kit.labs.common import LabPreset, LabResult, figure, lab_data, save_figure, train_variant

NAME = "batchnorm"
CLAIM = (
    "Batch normalisation (after FC/conv, before the nonlinearity) improves the gradient flow, allows higher "
    "learning rates and reduces the dependence on initialisation: the network converges faster"
)
LECTURE = "Training networks, part 1"
LEARNING_RATES = (0.01, 0.1)  # SGD + momentum 0.9: moderate, high
MARGIN = 0.02  # validation accuracy points that count as "better"
LOSS_MARGIN = 0.10  # "converges faster": epoch-1 training loss at least 10 % lower


def batch_statistics_accuracy(model: keras.Model, x, y, batch_size: int) -> float:
    """Accuracy with BatchNorm using each batch's own mean/var (``training=True``) instead of its running averages.

    A diagnostic for the lecture's "train and test behave differently": far above the usual
    (inference-mode) accuracy means the running averages have not caught up yet. Dropout is on too.
    """
    correct = 0
    for i in range(0, len(y), batch_size):
        probabilities = keras.ops.convert_to_numpy(model(x[i : i + batch_size], training=True))
        correct += int(np.sum(probabilities.argmax(axis=1) == y[i : i + batch_size]))
    return correct / len(y)


def run(out_dir: Path, preset: LabPreset) -> LabResult:
    data = lab_data(preset)
    measured: dict[str, float] = {"train_images": len(data.y_train), "epochs": preset.epochs}
    curves = {}
    for lr in LEARNING_RATES:
        for norm in ("none", "batch"):
            label = f"{'BN' if norm == 'batch' else 'no BN'}, lr {lr:g}"
            key = f"{'bn' if norm == 'batch' else 'plain'}_lr{lr:g}"
            try:
                run_ = train_variant(
                    out_dir,
                    preset,
                    data,
                    f"cnn_mnist_{key}",
                    model="cnn_mnist",
                    model_options={"normalization": norm},
                    optimizer="momentum",
                    learning_rate=lr,
                )
                history = run_.history
                measured[f"{key}_diverged"] = 0
                if norm == "batch":
                    measured[f"{key}_val_accuracy_batch_stats"] = batch_statistics_accuracy(
                        run_.model, data.x_val, data.y_val, preset.batch_size
                    )
            except TrainingError:
                history = None
                measured[f"{key}_diverged"] = 1
            if history is not None and len(history):
                curves[label] = history
                measured[f"{key}_val_accuracy_epoch1"] = float(history["val_accuracy"].iloc[0])
                measured[f"{key}_val_accuracy_last"] = float(history["val_accuracy"].iloc[-1])
                measured[f"{key}_train_loss_epoch1"] = float(history["loss"].iloc[0])
                measured[f"{key}_train_loss_last"] = float(history["loss"].iloc[-1])
            else:
                measured[f"{key}_val_accuracy_epoch1"] = math.nan
                measured[f"{key}_val_accuracy_last"] = math.nan
                measured[f"{key}_train_loss_epoch1"] = math.nan

    fig, (left, right) = figure(11, 4, ncols=2)
    for label, history in curves.items():
        style = "-" if label.startswith("BN") else "--"
        left.plot(history["epoch"], history["loss"], style, marker="o", label=label)
        right.plot(history["epoch"], history["val_accuracy"], style, marker="o", label=label)
    left.set_xlabel("epoch")
    left.set_ylabel("training loss")
    left.set_title(f"cnn_mnist, SGD + momentum, {len(data.y_train)} images")
    right.set_xlabel("epoch")
    right.set_ylabel("validation accuracy")
    right.set_title("BatchNorm (solid) vs none (dashed)")
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    picture = save_figure(fig, out_dir / "batchnorm.png")

    low, high = (f"{lr:g}" for lr in LEARNING_RATES)

    def acc(key: str, which: str = "last") -> float:
        value = measured[f"{key}_val_accuracy_{which}"]
        return 0.0 if math.isnan(value) else value  # a diverged run counts as chance-or-worse

    # "faster": training loss of epoch 1 (validation accuracy that early would also measure BatchNorm's
    # running averages, which need a few hundred steps to settle: the lecture's train/test difference)
    bn_loss, plain_loss = measured[f"bn_lr{low}_train_loss_epoch1"], measured[f"plain_lr{low}_train_loss_epoch1"]
    faster = not math.isnan(bn_loss) and (math.isnan(plain_loss) or bn_loss <= (1 - LOSS_MARGIN) * plain_loss)
    higher_lr = acc(f"bn_lr{high}") >= acc(f"plain_lr{high}") + MARGIN
    numbers = (
        f"training loss of epoch 1 at lr {low}: BN {bn_loss:.3f} vs {plain_loss:.3f} without; validation "
        f"accuracy after {preset.epochs} epochs at lr {high}: BN "
        f"{acc(f'bn_lr{high}'):.3f} vs {acc(f'plain_lr{high}'):.3f} without"
        + (" (diverged)" if measured[f"plain_lr{high}_diverged"] else "")
    )
    stats = [
        (measured[f"{key}_val_accuracy_batch_stats"], measured[f"{key}_val_accuracy_last"])
        for key in (f"bn_lr{low}", f"bn_lr{high}")
        if f"{key}_val_accuracy_batch_stats" in measured
    ]
    if any(batch - usual > 0.1 for batch, usual in stats):
        numbers += (
            "; with each batch's own statistics the BN nets score "
            + " and ".join(f"{batch:.3f}" for batch, _ in stats)
            + ": at test time their running averages (momentum 0.99) do not match the batch statistics they "
            + "trained with (still settling after few steps, and the Dropout in front of the dense layer's BN "
            + "shifts the variance): the train/test difference the lecture warns about"
        )
    if faster and higher_lr:
        verdict, explanation = "agrees", f"BatchNorm both converges faster and tolerates the high rate: {numbers}."
    elif faster or higher_lr:
        which = "converges faster" if faster else "tolerates the higher learning rate"
        verdict, explanation = "partly", f"BatchNorm {which}, but not both: {numbers}."
    else:
        verdict, explanation = "disagrees", f"BatchNorm is not clearly better in either way here: {numbers}."
    return LabResult(measured=measured, verdict=verdict, explanation=explanation, pictures=[picture])
