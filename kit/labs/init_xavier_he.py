"""Lab ``init-xavier-he``: Xavier keeps tanh activations scaled, He (Kaiming) keeps ReLU activations scaled.

The same 6-layer, 4096-unit forward pass as ``init-collapse`` (``kit.models.mlp`` on real,
normalised Fashion-MNIST images). Xavier, std = 1/sqrt(D_in) (Keras' ``lecun_normal``), assumes
a zero-centred activation: with ReLU, which zeroes half of its inputs, the variance halves at every
layer and the activations shrink again. He et al. (2015) double the variance, std = sqrt(2/D_in)
(``he_normal``), and the scale holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kit.labs.common import LabPreset, LabResult, figure, lab_data, save_figure
from kit.labs.init_collapse import activation_stats, plot_histograms, standardized_images

NAME = "init-xavier-he"
CLAIM = (
    "Xavier initialisation (std = 1/sqrt(D_in)) keeps the activations of a deep tanh net scaled across layers; "
    "it does not work for ReLU, and Kaiming/He (std = sqrt(2/D_in)) restores the scale for ReLU"
)
LECTURE = "Training networks, part 1"
KEEPS = 0.5  # last layer's std / first layer's std at least this: "keeps the scale" (within a factor of 2)
CASES = {  # label -> (activation, Keras initializer)
    "tanh + Xavier": ("tanh", "lecun_normal"),
    "ReLU + Xavier": ("relu", "lecun_normal"),
    "ReLU + He": ("relu", "he_normal"),
}


def run(out_dir: Path, preset: LabPreset) -> LabResult:
    depth = 6
    units = preset.pick(smoke=256, quick=4096)
    images = preset.pick(smoke=200, quick=1000)
    x = standardized_images(lab_data(preset).x_train[:images])
    rows = {label: activation_stats(depth, units, init, x, activation=act) for label, (act, init) in CASES.items()}
    pictures = [plot_histograms(rows, out_dir / "activation_histograms.png")]

    measured: dict[str, float] = {"units": units, "images": len(x)}
    ratios = {}
    fig, ax = figure(6, 4)
    for label, stats in rows.items():
        key = label.lower().replace(" + ", "_")
        stds = [layer["std"] for layer in stats]
        ratios[label] = stds[-1] / stds[0]
        for i, std in enumerate(stds, start=1):
            measured[f"{key}_std_layer{i}"] = std
        measured[f"{key}_last_over_first"] = ratios[label]
        ax.semilogy(range(1, depth + 1), stds, marker="o", label=f"{label} (x{ratios[label]:.2f})")
    ax.set_xlabel("layer")
    ax.set_ylabel("std of activations (log)")
    ax.set_title(f"{depth} layers x {units} units: last/first std in the legend")
    ax.legend()
    pictures.append(save_figure(fig, out_dir / "scale.png"))

    tanh_ok = ratios["tanh + Xavier"] >= KEEPS
    relu_xavier_shrinks = ratios["ReLU + Xavier"] < KEEPS
    he_ok = ratios["ReLU + He"] >= KEEPS
    numbers = ", ".join(f"{label} x{ratio:.2f}" for label, ratio in ratios.items())
    summary = f"last-layer std / first-layer std over {depth} layers: {numbers}"
    if tanh_ok and relu_xavier_shrinks and he_ok:
        verdict, explanation = "agrees", f"Each initialisation keeps the scale of its own activation ({summary})."
    elif he_ok and relu_xavier_shrinks:
        verdict = "partly"
        explanation = (
            f"He does for ReLU what the lecture says and Xavier does not, but Xavier with tanh still loses "
            f"{1 - ratios['tanh + Xavier']:.0%} of the scale (tanh's slope is below 1 away from 0, so "
            f"every layer shrinks the scale a little; the slides call this 'almost good'): {summary}."
        )
    else:
        verdict = "disagrees" if not he_ok else "partly"
        explanation = f"The scales do not behave as the slides show: {summary} (kept: >= {KEEPS})."
    measured["tanh_xavier_deep_std_mean"] = float(np.mean([layer["std"] for layer in rows["tanh + Xavier"][1:]]))
    return LabResult(measured=measured, verdict=verdict, explanation=explanation, pictures=pictures)
