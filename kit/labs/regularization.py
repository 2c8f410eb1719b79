"""Lab ``regularization``: dropout, L2 weight decay and augmentation against the train-validation gap.

Lecture "Training networks, part 2" (beyond training loss: regularisation). A CNN-MNIST network
(the homework's, narrowed to 16/32 filters to fit the time budget) is trained on a small
training set until it overfits, once with no regularisation and once with each of: the
example's dropout (0.25, 0.5), an L2 penalty on the weights, and in-model augmentation (flips
and shifts, ``kit.augment``). The gap is training accuracy (measured after training, in
inference mode, on the training images) minus validation accuracy.
"""

from __future__ import annotations

from pathlib import Path

from kit.evaluate import evaluate
from kit.labs.common import LabPreset, LabResult, figure, lab_data, save_figure, train_variant

NAME = "regularization"
LECTURE = "Training networks, part 2"
CLAIM = (
    "Regularisation (dropout, L2 / weight decay, data augmentation) reduces overfitting: "
    "it shrinks the gap between training and validation accuracy."
)

MODEL = "cnn_mnist"
BASE_OPTIONS = {"filters": (16, 32), "dropout": 0.0}
# label -> (model option overrides, augmentation spec)
RUNS: dict[str, tuple[dict, str]] = {
    "none": ({}, ""),
    "dropout": ({"dropout": (0.25, 0.5)}, ""),
    "l2": ({"weight_decay": 1e-3}, ""),
    "augmentation": ({}, "flip,translate"),
}
TRAIN_SIZE, EPOCHS = 2000, 10  # quick: small enough to overfit within the budget
BATCH_SIZE = 64
SMOKE_RUNS = ("none", "dropout")  # smoke checks the wiring with two of the runs


def run(out_dir: Path, preset: LabPreset) -> LabResult:
    data = lab_data(preset, train=preset.pick(smoke=preset.train, quick=TRAIN_SIZE))
    results = {}
    for label in preset.pick(smoke=SMOKE_RUNS, quick=tuple(RUNS)):
        options, augmentation = RUNS[label]
        trained = train_variant(
            out_dir,
            preset,
            data,
            label,
            model=MODEL,
            model_options={**BASE_OPTIONS, **options},
            augmentation=augmentation,
            optimizer="adam",
            learning_rate=1e-3,
            epochs=preset.pick(smoke=preset.epochs, quick=EPOCHS),
            batch_size=BATCH_SIZE,
        )
        # The last epoch's model, not the best checkpoint: the gap at the end of training is the point.
        train_accuracy = evaluate(trained.model, data.x_train, data.y_train).accuracy
        val_accuracy = evaluate(trained.model, data.x_val, data.y_val).accuracy
        results[label] = {"history": trained.history, "train": train_accuracy, "val": val_accuracy}
    picture = _plot(results, out_dir / "regularization.png")

    gaps = {label: r["train"] - r["val"] for label, r in results.items()}
    measured = {}
    for label, r in results.items():
        measured[f"train_accuracy_{label}"] = round(r["train"], 4)
        measured[f"val_accuracy_{label}"] = round(r["val"], 4)
        measured[f"gap_{label}"] = round(gaps[label], 4)
    regularised = [label for label in results if label != "none"]
    shrinks = [label for label in regularised if gaps[label] < gaps["none"]]
    listed = ", ".join(f"{label} {gaps[label]:.3f}" for label in regularised)
    if len(shrinks) == len(regularised):
        verdict = "agrees"
        explanation = (
            f"Every regulariser shrinks the train-validation accuracy gap of the unregularised net "
            f"({gaps['none']:.3f}): {listed}."
        )
    elif shrinks:
        verdict = "partly"
        explanation = f"Only {', '.join(shrinks)} shrink(s) the unregularised gap ({gaps['none']:.3f}); gaps: {listed}."
    else:
        verdict = "disagrees"
        explanation = f"No regulariser shrinks the unregularised gap ({gaps['none']:.3f}) in this short run: {listed}."
    costly = [label for label in regularised if results[label]["val"] < results["none"]["val"] - 0.01]
    if costly:  # a smaller gap can also come from fitting the training set less well
        explanation += " But validation accuracy fell with " + ", ".join(
            f"{label} ({results[label]['val']:.3f} vs {results['none']['val']:.3f}; training accuracy "
            f"{results[label]['train']:.3f} vs {results['none']['train']:.3f})"
            for label in costly
        )
        explanation += ": at this budget that gap shrank by fitting the training set less, not by generalising better."
    return LabResult(measured=measured, verdict=verdict, explanation=explanation, pictures=[picture])


def _plot(results: dict, path: Path) -> str:
    fig, (curve_ax, bar_ax) = figure(10, 4, ncols=2)
    for i, (label, r) in enumerate(results.items()):
        history = r["history"]
        curve_ax.plot(history["epoch"], history["accuracy"], color=f"C{i}", linestyle="--")
        curve_ax.plot(history["epoch"], history["val_accuracy"], color=f"C{i}", label=label)
    curve_ax.set(xlabel="epoch", ylabel="accuracy", title="training (dashed, during fit) and validation")
    curve_ax.grid(alpha=0.3)
    curve_ax.legend(fontsize=8)
    labels = list(results)
    bar_ax.bar(labels, [results[label]["train"] - results[label]["val"] for label in labels], color="tab:red")
    bar_ax.set(ylabel="train accuracy - validation accuracy", title="the gap after training")
    bar_ax.grid(alpha=0.3, axis="y")
    return save_figure(fig, path)
