"""Typical mistakes in the "CNN architectures" assignment, as mutated submissions, and the points each deserves.

A mutated submission is the solution's homework.py with one fragment of this folder appended
(``<name>.py``, redefining one function the way a student might get it wrong, or write it
differently and right). Each ``Mutation`` names the check it breaks, the points it keeps there, and
words of the message that names the mistake ("" for an accepted variant).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SOLUTION = ROOT / "solutions" / "cnn_architectures" / "homework.py"


@dataclass(frozen=True)
class Mutation:
    name: str
    check: str
    points: float
    named: str


MUTATIONS = (
    Mutation("separable_with_depthwise_bias", "conv_params", 20 * 3 / 4, "bias per depthwise filter"),
    Mutation("params_as_tuple", "conv_params", 20, ""),
    Mutation("no_biases", "conv_params", 0, "leave out the biases"),
    Mutation("flops_on_input_positions", "conv_flops", 10 * 1 / 3, "every INPUT position"),
    Mutation("output_size_no_dilation", "conv_output_size", 15 * 5 / 6, "dilated by 2"),
    Mutation("field_without_strides", "receptive_field", 15 * 2 / 4, "forgets the strides"),
    Mutation(
        "vgg_no_padding", "vgg_block", 0, "layer 1 is Conv2D(64, 3x3, relu); expected Conv2D(64, 3x3, relu, same)"
    ),
    Mutation("residual_no_shortcut", "residual_block", 0, "no Add layer"),
    Mutation("residual_relu_before_add", "residual_block", 0, "should output ReLU(x)"),
    Mutation("transfer_not_frozen", "transfer_model", 0, "still train"),
    Mutation("transfer_new_features", "transfer_model", 0, "does not keep the pretrained"),
)
BY_NAME = {mutation.name: mutation for mutation in MUTATIONS}


def mutated_source(*names: str) -> str:
    """The solution's homework.py with the named fragments appended (later definitions win)."""
    parts = [SOLUTION.read_text(encoding="utf-8")]
    parts += [f"\n\n# --- mutation: {name}\n" + (HERE / f"{name}.py").read_text(encoding="utf-8") for name in names]
    return "".join(parts)
