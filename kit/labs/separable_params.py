"""Lab ``separable-params``: the lecture's depthwise-separable example, counted by Keras, then trained.

32x32x4 input, 10 filters 3x3, stride 1, no padding: a plain convolution has
(4*3*3)*10 + 10 = 370 parameters; a depthwise 3x3 filter per channel followed by a 1x1
pointwise convolution has (4*3*3)*1 + (4*1*1)*10 + 10 = 86. The lab builds both with the kit's
blocks (``conv_bn_act``, ``separable_conv_block``), counts weights and multiply-adds
(``kit.models.describe``), and then trains ``vgg_mini`` with plain and with separable convs on
Fashion-MNIST to show what the saving costs in accuracy.
"""

from __future__ import annotations

from pathlib import Path

import keras

from kit import models
from kit.labs.common import LabPreset, LabResult, figure, lab_data, save_figure, train_variant

NAME = "separable-params"
CLAIM = (
    "Depthwise separable convolution, the worked example: input 32x32x4, 10 filters 3x3 (stride 1, no padding) "
    "-> 370 parameters as a plain convolution, 86 as depthwise + pointwise"
)
LECTURE = "Deep learning: basics"
LECTURE_PLAIN, LECTURE_SEPARABLE = 370, 86


def lecture_example(separable: bool) -> keras.Model:
    """The slide's layer on a 32x32x4 input: 10 filters 3x3, stride 1, "valid" padding, ReLU, with bias."""
    inputs = keras.Input(shape=(32, 32, 4), name="image")
    block = models.separable_conv_block if separable else models.conv_bn_act
    x = block(inputs, 10, 3, padding="valid", normalization="none", name="example")
    return keras.Model(inputs, x, name="separable" if separable else "plain")


def run(out_dir: Path, preset: LabPreset) -> LabResult:
    plain, separable = models.describe(lecture_example(False)), models.describe(lecture_example(True))
    measured: dict[str, float] = {
        "plain_params": plain.attrs["total_params"],
        "separable_params": separable.attrs["total_params"],
        "plain_output_hw": plain["output_shape"].iloc[-1][0],
        "plain_macs": plain.attrs["total_flops"],
        "separable_macs": separable.attrs["total_flops"],
    }

    # the same idea on a whole network: vgg_mini with plain vs separable 3x3 convs, trained alike
    data = lab_data(preset)
    widths = preset.pick(smoke=(8, 16), quick=(32, 64, 128))
    runs = {}
    for variant, is_separable in (("plain", False), ("separable", True)):
        options = {"widths": widths, "convs_per_stage": 2, "separable": is_separable, "dense_units": 128}
        run_ = train_variant(out_dir, preset, data, f"vgg_mini_{variant}", model="vgg_mini", model_options=options)
        runs[variant] = run_
        measured[f"vgg_mini_{variant}_params"] = int(run_.model.count_params())
        measured[f"vgg_mini_{variant}_macs"] = models.count_flops(run_.model)
        measured[f"vgg_mini_{variant}_test_accuracy"] = float(run_.evaluation.accuracy)
        measured[f"vgg_mini_{variant}_test_macro_f1"] = float(run_.evaluation.macro_f1)

    fig, (left, middle, right) = figure(13, 4, ncols=3)
    bars = left.bar(["plain conv", "depthwise +\npointwise"], [measured["plain_params"], measured["separable_params"]])
    left.bar_label(bars)
    left.set_title("The lecture's example: 32x32x4 -> 30x30x10")
    left.set_ylabel("parameters (Keras count)")
    conv_weights = {
        variant: sum(row.params for row in models.describe(run_.model).itertuples() if "conv" in row.type.lower())
        for variant, run_ in runs.items()
    }
    measured.update({f"vgg_mini_{variant}_conv_params": value for variant, value in conv_weights.items()})
    bars = middle.bar(list(conv_weights), list(conv_weights.values()), color=["tab:blue", "tab:orange"])
    middle.bar_label(bars)
    middle.set_title(f"vgg_mini {widths}: parameters in conv layers")
    for variant, run_ in runs.items():
        right.plot(run_.history["epoch"], run_.history["val_accuracy"], marker="o", label=variant)
    right.set_xlabel("epoch")
    right.set_ylabel("validation accuracy")
    right.set_title(f"Trained on {len(data.y_train)} images, {preset.epochs} epoch(s)")
    right.legend()
    picture = save_figure(fig, out_dir / "separable_params.png")

    exact = (measured["plain_params"], measured["separable_params"]) == (LECTURE_PLAIN, LECTURE_SEPARABLE)
    ratio = conv_weights["plain"] / max(conv_weights["separable"], 1)
    trained = (
        f"on Fashion-MNIST, separable convs cut vgg_mini's conv weights {ratio:.1f}x, test accuracy "
        f"{measured['vgg_mini_plain_test_accuracy']:.3f} plain vs {measured['vgg_mini_separable_test_accuracy']:.3f} "
        f"separable ({len(data.y_test)} test images)."
    )
    if exact:
        verdict = "agrees"
        explanation = f"Keras counts exactly 370 and 86 parameters for the slide's two layers; {trained}"
    else:
        verdict = "disagrees"
        explanation = (
            f"Keras counts {measured['plain_params']} and {measured['separable_params']} parameters, "
            f"not 370 and 86; {trained}"
        )
    return LabResult(measured=measured, verdict=verdict, explanation=explanation, pictures=[picture])
