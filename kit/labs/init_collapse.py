"""Lab ``init-collapse``: the lecture's weight-initialisation demo on Fashion-MNIST images.

A 6-layer tanh net with 4096 units per layer (``kit.models.mlp``), weights drawn from
N(0, std^2). One forward pass of real, zero-centred and normalised images; the histogram of each
hidden layer's activations is the picture of the slides. With std = 0.01 each layer multiplies
the activations' scale by about 0.01 * sqrt(4096) = 0.64, so they shrink towards 0 layer by layer
(and so would the gradients dL/dW); with std = 0.05 the factor is 3.2, the pre-activations are
large and tanh saturates at +-1. Xavier (std = 1/sqrt(D_in)) is drawn for comparison.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from kit import models
from kit.labs.common import LabPreset, LabResult, figure, lab_data, save_figure

NAME = "init-collapse"
CLAIM = (
    "Weight initialisation: in a 6-layer tanh net with 4096 hidden units, W = 0.01 * randn makes the activations "
    "collapse towards zero in the deeper layers (gradients dL/dW close to zero); too large weights saturate tanh"
)
LECTURE = "Training networks, part 1"
SMALL_STD, LARGE_STD = 0.01, 0.05  # the lecture's "0.01 STD" and cs231n's "too large" 0.05
COLLAPSED = 0.25  # last layer's std / first layer's std below this: "collapsed towards zero"
SATURATED = 0.95  # |activation| above this counts as saturated
SATURATED_SHARE = 0.5  # "saturation": at least half the units of the deeper layers saturated


def standardized_images(x: np.ndarray) -> np.ndarray:
    """Images zero-centred and scaled to unit std over all pixels (the lecture's data preprocessing)."""
    x = x.astype("float32")
    return (x - x.mean()) / x.std()


def layer_activations(model: keras.Model, x: np.ndarray) -> list[np.ndarray]:
    """The output of every hidden layer's activation (``fc<i>_act``) for images ``x``, in order."""
    outputs = [layer.output for layer in model.layers if layer.name.startswith("fc") and layer.name.endswith("_act")]
    probe = keras.Model(model.input, outputs)
    return [keras.ops.convert_to_numpy(a) for a in probe(x, training=False)]


def activation_stats(depth: int, units: int, initializer, x: np.ndarray, activation: str = "tanh") -> list[dict]:
    """Per hidden layer: mean, std and the saturated share of the activations of a fresh ``mlp``."""
    model = models.build("mlp", hidden=(units,) * depth, activation=activation, kernel_initializer=initializer)
    stats = []
    for values in layer_activations(model, x):
        stats.append(
            {
                "mean": float(values.mean()),
                "std": float(values.std()),
                "saturated": float(np.mean(np.abs(values) > SATURATED)),
                "values": values.ravel(),
            }
        )
    return stats


def plot_histograms(rows: dict[str, list[dict]], path: Path, bins: int = 60) -> str:
    """One row per initialisation, one column per layer: the slides' per-layer activation histograms."""
    depth = len(next(iter(rows.values())))
    fig, axes = figure(2.1 * depth, 2.0 * len(rows), nrows=len(rows), ncols=depth, squeeze=False)
    for r, (label, stats) in enumerate(rows.items()):
        for c, layer in enumerate(stats):
            ax = axes[r][c]
            ax.hist(layer["values"], bins=np.linspace(-1, 1, bins), color="tab:blue")
            ax.set_yticks([])
            ax.set_title(f"layer {c + 1}: std {layer['std']:.3g}", fontsize=8)
            ax.tick_params(labelsize=7)
        axes[r][0].set_ylabel(label, fontsize=9)
    return save_figure(fig, path)


def plot_scale(rows: dict[str, list[dict]], path: Path) -> str:
    """Std and saturated share of the activations per layer, one line per initialisation."""
    fig, (left, right) = figure(10, 3.8, ncols=2)
    for label, stats in rows.items():
        layers = range(1, len(stats) + 1)
        left.semilogy(layers, [s["std"] for s in stats], marker="o", label=label)
        right.plot(layers, [s["saturated"] for s in stats], marker="o", label=label)
    left.set_xlabel("layer")
    left.set_ylabel("std of activations (log)")
    left.set_title("Scale of the activations")
    right.set_xlabel("layer")
    right.set_ylabel(f"share with |a| > {SATURATED}")
    right.set_title("Saturated tanh units")
    right.set_ylim(-0.02, 1.02)
    left.legend(fontsize=8)
    return save_figure(fig, path)


def run(out_dir: Path, preset: LabPreset) -> LabResult:
    depth = 6
    units = preset.pick(smoke=256, quick=4096)
    images = preset.pick(smoke=200, quick=1000)
    x = standardized_images(lab_data(preset).x_train[:images])
    rows = {
        f"N(0, {SMALL_STD}^2)": activation_stats(depth, units, keras.initializers.RandomNormal(stddev=SMALL_STD), x),
        f"N(0, {LARGE_STD}^2)": activation_stats(depth, units, keras.initializers.RandomNormal(stddev=LARGE_STD), x),
        "Xavier 1/sqrt(D_in)": activation_stats(depth, units, "lecun_normal", x),
    }
    pictures = [plot_histograms(rows, out_dir / "activation_histograms.png"), plot_scale(rows, out_dir / "scale.png")]

    small, large, xavier = rows.values()
    measured: dict[str, float] = {"units": units, "images": len(x)}
    for key, stats in (("small", small), ("large", large), ("xavier", xavier)):
        for i, layer in enumerate(stats, start=1):
            measured[f"{key}_std_layer{i}"] = layer["std"]
        measured[f"{key}_saturated_layer{depth}"] = stats[-1]["saturated"]
    ratio = small[-1]["std"] / small[0]["std"]
    shrink = [b["std"] / a["std"] for a, b in zip(small, small[1:], strict=False)]
    measured["small_last_over_first"] = ratio
    measured["small_shrink_per_layer"] = float(np.mean(shrink))
    measured["small_shrink_theory"] = SMALL_STD * np.sqrt(units)
    deep_saturated = float(np.mean([layer["saturated"] for layer in large[1:]]))
    measured["large_saturated_layers_2_on"] = deep_saturated

    collapses = all(s < 1 for s in shrink) and ratio < COLLAPSED
    saturates = deep_saturated >= SATURATED_SHARE
    numbers = (
        f"with std {SMALL_STD} the activations' std falls from {small[0]['std']:.3f} to {small[-1]['std']:.3g} "
        f"over {depth} layers (x{measured['small_shrink_per_layer']:.2f} per layer, theory "
        f"{measured['small_shrink_theory']:.2f}); with std {LARGE_STD}, {deep_saturated:.0%} of the units of "
        f"layers 2-{depth} are saturated (|a| > {SATURATED})"
    )
    if collapses and saturates:
        verdict, explanation = "agrees", f"Both failures show: {numbers}; Xavier keeps the scale."
    elif collapses:
        verdict = "partly"
        explanation = (
            f"The collapse shows as on the slides, the saturation only in part ({SATURATED_SHARE:.0%} of units "
            f"beyond |a| > {SATURATED} was the bar): {numbers}."
        )
    elif saturates:
        verdict, explanation = (
            "partly",
            f"The saturation shows, the collapse does not (last/first std < {COLLAPSED}): {numbers}.",
        )
    else:
        verdict, explanation = "disagrees", f"Neither failure shows at this size: {numbers}."
    if units != 4096:
        explanation += f" ({units} units, not the lecture's 4096: smoke size.)"
    return LabResult(measured=measured, verdict=verdict, explanation=explanation, pictures=pictures)
