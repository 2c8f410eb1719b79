"""Lab ``overfit-tiny``: a tiny sample can be learnt by heart (hyperparameter recipe, step 2).

Before tuning, make sure the network and the training loop can fit at all: switch
regularisation off and train on a few batches until the training accuracy is 100 %. The
validation accuracy stays low: the gap is pure overfitting, which is the point. The lab trains
the homework's CNN (``kit.models.cnn_mnist``, dropout off) with ``kit.train`` on 5-10 batches.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kit.callbacks import StopAtTarget
from kit.evaluate import evaluate
from kit.labs.common import LabPreset, LabResult, figure, lab_data, save_figure, train_variant

NAME = "overfit-tiny"
CLAIM = (
    "Step 2 of the hyperparameter recipe: overfit a small sample (~5-10 batches) to ~100 % training accuracy "
    "with regularisation off; if the loss does not fall, the learning rate or the initialisation is wrong"
)
LECTURE = "Training networks, part 2"
BATCHES, BATCH_SIZE = 10, 32


def run(out_dir: Path, preset: LabPreset) -> LabResult:
    tiny = BATCHES * BATCH_SIZE
    data = lab_data(preset, train=tiny)
    epochs = preset.pick(smoke=3, quick=40)  # at most: training stops at 100 % training accuracy
    run_ = train_variant(
        out_dir,
        preset,
        data,
        "cnn_mnist_tiny",
        model="cnn_mnist",
        model_options={"dropout": 0.0},
        batch_size=BATCH_SIZE,
        epochs=epochs,
        learning_rate=1e-3,
        monitor="val_loss",
        callbacks=[StopAtTarget("accuracy", 1.0)],
    )
    history = run_.history
    # kit.train returns the best epoch by validation loss: its training accuracy, beside the history's
    train_eval = evaluate(run_.model, data.x_train, data.y_train)
    perfect = history.index[history["accuracy"] >= 1.0 - 1e-9]
    first_perfect = int(history.loc[perfect[0], "epoch"]) if len(perfect) else None
    measured: dict[str, float] = {
        "train_images": tiny,
        "epochs": int(len(history)),
        "last_epoch_train_accuracy": float(history["accuracy"].iloc[-1]),
        "last_epoch_train_loss": float(history["loss"].iloc[-1]),
        "first_epoch_train_loss": float(history["loss"].iloc[0]),
        "epoch_of_100pct": np.nan if first_perfect is None else first_perfect,
        "last_epoch_val_accuracy": float(history["val_accuracy"].iloc[-1]),
        "best_model_train_accuracy": float(train_eval.accuracy),
        "best_model_test_accuracy": float(run_.evaluation.accuracy),
    }

    fig, (left, right) = figure(11, 4, ncols=2)
    left.semilogy(history["epoch"], history["loss"], label="training loss")
    left.semilogy(history["epoch"], history["val_loss"], label="validation loss")
    left.set_xlabel("epoch")
    left.set_title(f"cnn_mnist, dropout off, {tiny} images ({BATCHES} batches of {BATCH_SIZE})")
    left.legend()
    right.plot(history["epoch"], history["accuracy"], label="training accuracy")
    right.plot(history["epoch"], history["val_accuracy"], label=f"validation accuracy ({len(data.y_val)} images)")
    right.axhline(1.0, color="grey", linestyle=":")
    right.set_xlabel("epoch")
    right.set_ylim(0, 1.02)
    right.set_title("The gap is the overfitting step 2 asks for")
    right.legend()
    picture = save_figure(fig, out_dir / "overfit_tiny.png")

    last = measured["last_epoch_train_accuracy"]
    if first_perfect is not None:
        verdict = "agrees"
        explanation = (
            f"{tiny} images are fitted to 100 % training accuracy by epoch {first_perfect} (loss "
            f"{measured['first_epoch_train_loss']:.2f} -> {measured['last_epoch_train_loss']:.4f}), while validation "
            f"accuracy stays at {measured['last_epoch_val_accuracy']:.1%}."
        )
    elif last >= 0.98:
        verdict = "partly"
        explanation = f"Training accuracy reaches {last:.1%}, close to but not 100 %, in {len(history)} epochs."
    else:
        verdict = "disagrees"
        explanation = f"Training accuracy only reaches {last:.1%} in {len(history)} epochs on {tiny} images."
    return LabResult(measured=measured, verdict=verdict, explanation=explanation, pictures=[picture])
