"""Lab ``transfer``: train on some classes, freeze, retrain the top on the others with little data, fine-tune.

The lecture's recipe on Fashion-MNIST's two halves: the homework's CNN (``kit.models.cnn_mnist``)
learns the five tops-and-dresses classes from thousands of images; its features are then reused
(``kit.models.transfer_model``) for the five shoes-and-bags classes, with only a few dozen images
per class: (1) from scratch, (2) frozen features + a new softmax head, (3) then fine-tuned, all
layers, with 1/10 of the learning rate, and (4) for contrast fine-tuned with the full rate.
Everything is trained by ``kit.train`` and scored on the target classes' test images.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras

from kit import models
from kit.labs.common import LabPreset, LabResult, figure, lab_data, save_figure, train_variant

NAME = "transfer"
CLAIM = (
    "Transfer learning: train on a big dataset, freeze the network and retrain only the top on a small one; "
    "with more data fine-tune more layers, with about 1/10 of the original learning rate"
)
LECTURE = "Training networks, part 1"
SOURCE, TARGET = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)  # tops and dresses -> shoes and bags
LEARNING_RATE = 1e-3  # Adam; fine-tuning uses LEARNING_RATE / 10
MARGIN = 0.02


def run(out_dir: Path, preset: LabPreset) -> LabResult:
    data = lab_data(preset, train=preset.pick(smoke=600, quick=12000))
    source = data.select_classes(SOURCE)
    per_class = preset.pick(smoke=10, quick=40)
    target = data.select_classes(TARGET)
    target = target.subset(train=per_class * len(TARGET), val=None, test=None, seed=0)
    small_epochs = preset.pick(smoke=1, quick=15)
    common = {"model": "cnn_mnist", "epochs": small_epochs, "batch_size": 32}

    pretrained = train_variant(out_dir, preset, source, "source_pretrained", model="cnn_mnist").model
    scratch = train_variant(out_dir, preset, target, "target_scratch", learning_rate=LEARNING_RATE, **common)

    frozen_model = models.transfer_model(pretrained, target.num_classes, freeze=True)
    frozen = train_variant(
        out_dir, preset, target, "target_frozen", builder=frozen_model, learning_rate=LEARNING_RATE, **common
    )
    start = frozen.model.get_weights()

    def fine_tune(name: str, learning_rate: float):
        model = keras.models.clone_model(frozen.model)
        model.set_weights(start)
        for layer in model.layers:
            layer.trainable = True
        return train_variant(out_dir, preset, target, name, builder=model, learning_rate=learning_rate, **common)

    tuned = fine_tune("target_finetune_lr_div10", LEARNING_RATE / 10)
    tuned_full = fine_tune("target_finetune_full_lr", LEARNING_RATE)

    results = {
        "scratch": scratch,
        "frozen + new head": frozen,
        "fine-tune, lr / 10": tuned,
        "fine-tune, full lr": tuned_full,
    }
    measured: dict[str, float] = {
        "source_train_images": len(source.y_train),
        "target_train_images": len(target.y_train),
        "target_test_images": len(target.y_test),
        "trainable_params_frozen": int(sum(math.prod(w.shape) for w in frozen.model.trainable_weights)),
        "params": int(frozen.model.count_params()),
    }
    keys = {"scratch": "scratch", "frozen + new head": "frozen", "fine-tune, lr / 10": "finetune_lr_div10"}
    keys["fine-tune, full lr"] = "finetune_full_lr"
    for label, run_ in results.items():
        measured[f"{keys[label]}_test_accuracy"] = float(run_.evaluation.accuracy)
        measured[f"{keys[label]}_test_macro_f1"] = float(run_.evaluation.macro_f1)

    fig, ax = figure(7, 4)
    values = [measured[f"{keys[label]}_test_accuracy"] for label in results]
    bars = ax.bar(list(results), values, color=["grey", "tab:blue", "tab:green", "tab:red"])
    ax.bar_label(bars, fmt="%.3f")
    ax.set_ylim(min(values) - 0.1, 1.0)
    ax.set_ylabel(f"test accuracy on {', '.join(target.class_names)}")
    ax.set_title(
        f"{len(target.y_train)} target images; features from {len(source.y_train)} images of other classes",
        fontsize=9,
    )
    ax.tick_params(axis="x", labelsize=8)
    picture = save_figure(fig, out_dir / "transfer.png")

    scratch_acc = measured["scratch_test_accuracy"]
    frozen_acc, tuned_acc = measured["frozen_test_accuracy"], measured["finetune_lr_div10_test_accuracy"]
    full_acc = measured["finetune_full_lr_test_accuracy"]
    helps = max(frozen_acc, tuned_acc) >= scratch_acc + MARGIN
    low_lr_ok = tuned_acc >= full_acc - MARGIN / 4
    numbers = (
        f"test accuracy from scratch {scratch_acc:.3f}, frozen features {frozen_acc:.3f}, fine-tuned at lr/10 "
        f"{tuned_acc:.3f}, at the full lr {full_acc:.3f} ({len(target.y_train)} target training images)"
    )
    if helps and low_lr_ok:
        verdict, explanation = "agrees", f"Reused features beat training from scratch on little data: {numbers}."
    elif helps:
        verdict = "partly"
        explanation = (
            f"Transfer helps, but fine-tuning at 1/10 of the rate is not better than at the full rate: {numbers}."
        )
    else:
        verdict = "disagrees" if not low_lr_ok else "partly"
        explanation = (
            f"Features of the other five classes do not beat training from scratch here: {numbers}. Likely why: "
            "tops and dresses vs shoes and bags is the lecture's 'very different data' case, where features from "
            "the source help least, and five shoe-and-bag classes are easy enough to learn from this little data."
        )
    return LabResult(measured=measured, verdict=verdict, explanation=explanation, pictures=[picture])
