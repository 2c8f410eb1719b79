"""Lab ``initial-loss``: an untrained softmax classifier starts at loss log(C) (hyperparameter recipe, step 1).

With small random weights the logits are nearly equal, the softmax gives every class ~1/C,
and the cross-entropy is -log(1/C) = log(10) = 2.303 for Fashion-MNIST. The lab measures it on
the kit's networks, untrained, and shows what a wrong start looks like: the output layer's
weights scaled up (over-confident random guesses) and the L2 term of weight decay added to the
loss (the lecture: switch weight decay off and on when checking the initial loss). The loss is
taken in training mode, as ``fit`` sees it at its first step; inference mode is recorded beside
it, because an untrained BatchNorm (running mean 0, variance 1) does not normalise yet.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np

from kit import models
from kit.evaluate import evaluate
from kit.labs.common import LabPreset, LabResult, figure, lab_data, save_figure
from kit.layers import get_initializer

NAME = "initial-loss"
CLAIM = (
    "Step 1 of the hyperparameter recipe: check the loss at the start of training; "
    "for a softmax over C classes it should be log(C) (2.303 for 10 classes)"
)
LECTURE = "Training networks, part 2"
TOLERANCE = 0.1  # |loss - log C| that still counts as "near log C"
HEAD_SCALE = 50.0  # the "wrong start": output-layer weights x50


def initial_loss(model: keras.Model, x, y, batch_size: int = 128) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of ``model`` on (x, y) in training mode, and the per-image losses.

    Training mode is what ``fit`` reports at its first step (BatchNorm normalises with the batch's
    own statistics, Dropout is on); the weights are not changed.
    """
    parts = [model(x[i : i + batch_size], training=True) for i in range(0, len(y), batch_size)]
    probabilities = np.concatenate([keras.ops.convert_to_numpy(p) for p in parts]).astype("float64")
    losses = -np.log(np.clip(probabilities[np.arange(len(y)), y], 1e-12, 1.0))
    return float(losses.mean()), losses


def inference_loss(model: keras.Model, x, y) -> float:
    """Mean cross-entropy in inference mode (``kit.evaluate``): BatchNorm uses its running averages."""
    return float(evaluate(model, x, y).loss)


def scale_output_layer(model: keras.Model, factor: float) -> keras.Model:
    """Multiply the last layer's kernel by ``factor`` in place: larger logits, a confident random guess."""
    head = model.layers[-1]
    kernel, *rest = head.get_weights()
    head.set_weights([kernel * factor, *rest])
    return model


def reinitialize_output_layer(model: keras.Model, initializer: str = "glorot_uniform") -> keras.Model:
    """Draw the last layer's kernel again from ``initializer`` (kit.layers' names), bias zero, in place."""
    head = model.layers[-1]
    kernel, *rest = head.get_weights()
    fresh = keras.ops.convert_to_numpy(get_initializer(initializer)(kernel.shape))
    head.set_weights([fresh, *(np.zeros_like(w) for w in rest)])
    return model


def run(out_dir: Path, preset: LabPreset) -> LabResult:
    data = lab_data(preset)
    x, y = data.x_val, data.y_val
    names = preset.pick(smoke=["cnn_mnist", "lenet5"], quick=["cnn_mnist", "lenet5", "vgg_mini", "resnet"])
    expected = math.log(data.num_classes)
    measured: dict[str, float] = {"log_C": expected}
    losses: dict[str, float] = {}
    for name in names:
        model = models.build(name)
        losses[name], per_image = initial_loss(model, x, y)
        measured[f"inference_mode_loss_{name}"] = inference_loss(model, x, y)
        if name == "cnn_mnist":
            default_per_image = per_image
        elif abs(losses[name] - math.log(data.num_classes)) > TOLERANCE:  # try the same net with a Glorot head
            measured[f"loss_{name}_glorot_output_layer"] = initial_loss(reinitialize_output_layer(model), x, y)[0]
    for name, value in losses.items():
        measured[f"loss_{name}"] = value

    scaled = scale_output_layer(models.build("cnn_mnist"), HEAD_SCALE)
    measured["loss_cnn_mnist_head_scaled"], scaled_per_image = initial_loss(scaled, x, y)

    # weight decay: the L2 term Keras adds to the loss (model.losses) at the start of training
    decayed = models.build("cnn_mnist", weight_decay=1e-3)
    decayed(x[:1])
    measured["l2_term_weight_decay_1e-3"] = float(sum(float(keras.ops.convert_to_numpy(t)) for t in decayed.losses))
    measured["loss_plus_l2_weight_decay_1e-3"] = initial_loss(decayed, x, y)[0] + measured["l2_term_weight_decay_1e-3"]

    fig, (left, right) = figure(11, 4, ncols=2)
    labels = [*losses, f"cnn_mnist\nhead x{HEAD_SCALE:g}", "cnn_mnist\n+ L2 (1e-3)"]
    values = [*losses.values(), measured["loss_cnn_mnist_head_scaled"], measured["loss_plus_l2_weight_decay_1e-3"]]
    colors = ["tab:blue"] * len(losses) + ["tab:red", "tab:orange"]
    left.bar(range(len(values)), values, color=colors)
    left.axhline(expected, color="black", linestyle="--", label=f"log(10) = {expected:.3f}")
    left.set_xticks(range(len(values)), labels, fontsize=8)
    left.set_ylabel("first training loss (training mode)")
    left.set_title(f"Loss before training ({len(y)} validation images)")
    left.legend()
    bins = np.linspace(0, max(8.0, float(np.percentile(scaled_per_image, 99))), 60)
    right.hist(default_per_image, bins=bins, alpha=0.7, label="cnn_mnist (Glorot init)")
    right.hist(scaled_per_image, bins=bins, alpha=0.6, color="tab:red", label=f"output weights x{HEAD_SCALE:g}")
    right.axvline(expected, color="black", linestyle="--")
    right.set_xlabel("per-image loss")
    right.set_ylabel("images")
    right.set_title("Per-image loss: near-uniform guess vs over-confident start")
    right.legend()
    picture = save_figure(fig, out_dir / "initial_loss.png")

    worst = max(losses, key=lambda name: abs(losses[name] - expected))
    gap = abs(losses[worst] - expected)
    measured["max_abs_gap"] = gap
    off = {
        name: measured[f"inference_mode_loss_{name}"]
        for name in losses
        if abs(measured[f"inference_mode_loss_{name}"] - expected) > TOLERANCE
    }
    note = ""
    if off:
        note = (
            " In inference mode "
            + ", ".join(f"{name} starts at {value:.2f}" for name, value in off.items())
            + (
                ": an untrained BatchNorm's running averages (mean 0, variance 1) do not normalise yet, so check "
                "the first training loss, not an evaluation of the untrained net."
            )
        )
    if gap <= TOLERANCE:
        verdict = "agrees"
        explanation = (
            f"Every untrained network's first training loss is within {gap:.3f} of log(10) = {expected:.3f} "
            f"(farthest: {worst}, {losses[worst]:.3f}); output weights x{HEAD_SCALE:g} give "
            f"{measured['loss_cnn_mnist_head_scaled']:.2f}, the kind of start step 1 is meant to catch.{note}"
        )
    else:
        verdict = "partly"
        far = [name for name in losses if abs(losses[name] - expected) > TOLERANCE]
        fixed = [
            f"{measured[f'loss_{name}_glorot_output_layer']:.3f}"
            for name in far
            if f"loss_{name}_glorot_output_layer" in measured
        ]
        explanation = (
            ", ".join(f"{name} starts at {losses[name]:.3f}" for name in far)
            + f", more than {TOLERANCE} from log(10) = {expected:.3f}: their untrained logits already differ "
            + "(both end in BatchNorm + ReLU features of unit scale"
            + (f"; a Glorot-initialised output layer gives {', '.join(fixed)}" if fixed else "")
            + ")"
            + f"; the others start near log(10).{note}"
        )
    return LabResult(measured=measured, verdict=verdict, explanation=explanation, pictures=[picture])
