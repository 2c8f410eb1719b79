"""Lab ``small-data-augment``: Cutout and MixUp on a small and on a larger training set.

Lecture "Training networks, part 2" (regularisation: Cutout, Mixup). The same LeNet-5 (ReLU,
max-pooling, no dropout, so that augmentation is the only regulariser) is trained with no
augmentation, with Cutout (``kit.augment``'s Random Erasing layer, one erased rectangle in half
of the images) and with MixUp (``kit.augment.MixingDataset``, alpha 0.2), on a small and on a
ten-times-larger stratified subset; the small set gets more epochs, so that both runs take a
similar number of optimizer steps. The gain is the test accuracy of the best-by-validation
epoch minus that of the un-augmented run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kit.labs.common import LabPreset, LabResult, figure, lab_data, save_figure, train_variant

NAME = "small-data-augment"
LECTURE = "Training networks, part 2"
CLAIM = (
    "Regularisation by augmentation (Cutout: hide part of the image in training; Mixup: train on blends of "
    "two images with blended labels) helps most when the training set is small (e.g. 1k vs 55k images)."
)

MODEL = "lenet5"
MODEL_OPTIONS = {"activation": "relu", "pooling": "max"}
AUGMENTATIONS: dict[str, str] = {"none": "", "cutout": "erasing", "mixup": "mixup"}
SMOKE_AUGMENTATIONS = ("none", "mixup")  # smoke checks the wiring with two of the three
# subset -> (training images, epochs) for quick; smoke: (preset.train / 3 or preset.train, preset.epochs)
SIZES = {"small": (1000, 30), "large": (10000, 5)}
BATCH_SIZE = 64
NOISE = 0.005  # a gain below half a point of test accuracy is no gain (one run, a few thousand test images)


def run(out_dir: Path, preset: LabPreset) -> LabResult:
    size = {
        subset: preset.pick(smoke=(preset.train // (3 if subset == "small" else 1), preset.epochs), quick=quick)
        for subset, quick in SIZES.items()
    }
    labels = preset.pick(smoke=SMOKE_AUGMENTATIONS, quick=tuple(AUGMENTATIONS))
    compared = [label for label in labels if label != "none"]
    accuracy: dict[tuple[str, str], float] = {}
    for subset in ("small", "large"):
        data = lab_data(preset, train=size[subset][0])
        for label in labels:
            augmentation = AUGMENTATIONS[label]
            trained = train_variant(
                out_dir,
                preset,
                data,
                f"{subset}_{label}",
                model=MODEL,
                model_options=MODEL_OPTIONS,
                augmentation=augmentation,
                optimizer="adam",
                learning_rate=1e-3,
                epochs=size[subset][1],
                batch_size=BATCH_SIZE,
            )
            accuracy[subset, label] = float(trained.evaluation.accuracy)  # best epoch by validation
    picture = _plot(accuracy, size, out_dir / "small_data_augment.png")

    measured = {f"test_accuracy_{subset}_{label}": round(v, 4) for (subset, label), v in accuracy.items()}
    gains = {
        (subset, label): accuracy[subset, label] - accuracy[subset, "none"]
        for subset in ("small", "large")
        for label in compared
    }
    measured.update({f"gain_{subset}_{label}": round(v, 4) for (subset, label), v in gains.items()})
    helps_more = [label for label in compared if gains["small", label] > gains["large", label]]
    helps_small = [label for label in compared if gains["small", label] > NOISE]
    text = "; ".join(
        f"{label}: {gains['small', label]:+.3f} on {size['small'][0]:,} images, "
        f"{gains['large', label]:+.3f} on {size['large'][0]:,}"
        for label in compared
    )
    if len(helps_more) == len(helps_small) == len(compared):
        verdict = "agrees"
        explanation = f"{' and '.join(compared)} help on the small set, and more than on the larger one ({text})."
    elif helps_more or helps_small:
        verdict = "partly"
        explanation = (
            f"Helps more on the small set than on the larger one: {', '.join(helps_more) or 'neither'}; "
            f"helps by more than {100 * NOISE:.1f} points on the small set: "
            f"{', '.join(helps_small) or 'neither'} ({text})."
        )
    else:
        verdict = "disagrees"
        explanation = f"Neither helps more on the small set than on the larger one at this budget ({text})."
    return LabResult(measured=measured, verdict=verdict, explanation=explanation, pictures=[picture])


def _plot(accuracy: dict, size: dict, path: Path) -> str:
    fig, ax = figure(7, 4)
    labels = sorted({label for _, label in accuracy}, key=list(AUGMENTATIONS).index)
    x = np.arange(2)
    width = 0.8 / len(labels)
    for i, label in enumerate(labels):
        heights = [accuracy[subset, label] for subset in ("small", "large")]
        bars = ax.bar(x + (i - (len(labels) - 1) / 2) * width, heights, width, label=label)
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_xticks(x, [f"{n:,} training images, {epochs} epochs" for n, epochs in (size["small"], size["large"])])
    low = min(accuracy.values())
    ax.set_ylim(max(0.0, low - 0.05), min(1.0, max(accuracy.values()) + 0.03))
    ax.set(ylabel="test accuracy (best epoch by validation)", title="Cutout and MixUp on a small and a larger set")
    ax.grid(alpha=0.3, axis="y")
    ax.legend()
    return save_figure(fig, path)
