"""Typical mistakes in the "Training networks" assignment, as mutated submissions, and the points each deserves.

A mutated submission is the solution's homework.py with one or more fragments of this folder
appended (``<name>.py``, each redefining one function the way a student might get it wrong). Each
``Mutation`` names the visible check it breaks, the points it keeps there (its cases that are still
right; the rest of the submission keeps full points) and words of the message that names the
mistake. ``ONE_PER_CHECK`` are mutations of different checks: together in one submission, one
grader run scores all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SOLUTION = ROOT / "solutions" / "training_networks" / "homework.py"


@dataclass(frozen=True)
class Mutation:
    name: str  # the fragment: HERE / f"{name}.py"
    check: str  # the check it breaks (visible; or hidden, for what only hidden cases ask)
    points: float  # what it keeps there (of the check's points; all of them for an accepted variant)
    named: str  # words of the message that names the mistake ("" for an accepted variant)


MUTATIONS = (
    Mutation("init_fan_out", "init_std", 10 * 2 / 6, "fan-in = the LAST axis"),  # glorot's 2 cases stay right
    Mutation("init_channels_only", "init_std", 10 * 3 / 6, "fan-in = k * k * C_in"),  # the 3 dense cases stay right
    Mutation("forward_transposed", "forward_activations", 0, "each kernel transposed"),
    Mutation("bn_no_epsilon", "batchnorm_forward", 15 * 2 / 4, "without epsilon"),  # running averages right
    Mutation("bn_updates_in_inference", "batchnorm_forward", 15 * 3 / 4, "moved in inference mode"),
    Mutation("bn_momentum_swapped", "batchnorm_forward", 15 * 3 / 4, "PyTorch's convention"),
    Mutation("dropout_not_inverted", "dropout_forward", 0, "plain dropout"),
    Mutation("dropout_rate_kept", "dropout_forward", 10 * 2 / 4, "share DROPPED"),  # test time stays right
    Mutation("nesterov_as_momentum", "sgd_momentum", 10 * 2 / 4, "plain momentum's step"),
    Mutation("rmsprop_epsilon_outside", "rmsprop", 8 * 2 / 3, "outside the square root"),
    Mutation("adam_no_bias_correction", "adam", 0, "without bias correction"),
    Mutation("adam_slide_epsilon", "adam", 12 * 2 / 3, "sqrt(v_hat)"),  # only the large-epsilon case differs
    Mutation("step_decay_at_boundary", "step_decay", 7 * 1 / 3, "AT the boundary step"),
    Mutation("warmup_off_by_one", "warmup_cosine", 10 * 1 / 3, "one step ahead"),
    Mutation("small_net_glorot", "small_net", 0, 'He initialisation (kernel_initializer="he_normal")'),
    Mutation("small_net_bn_after_relu", "small_net", 0, "layer 2 is Dense(256, relu); expected Dense(256, linear)"),
    Mutation("small_net_activation_layers", "small_net", 8, ""),  # the same network, written another way
    Mutation("dropout_no_range_check", "dropout_hidden", 5 * 4 / 6, "asks it to raise a ValueError"),
    Mutation("init_no_value_error", "initialisation_hidden", 5 * 6 / 8, "asks it to raise a ValueError"),
)
BY_NAME = {mutation.name: mutation for mutation in MUTATIONS}
ONE_PER_CHECK = tuple(
    BY_NAME[name]
    for name in (
        "init_fan_out",
        "forward_transposed",
        "bn_updates_in_inference",
        "dropout_not_inverted",
        "nesterov_as_momentum",
        "rmsprop_epsilon_outside",
        "adam_no_bias_correction",
        "step_decay_at_boundary",
        "warmup_off_by_one",
    )
)


def mutated_source(*names: str) -> str:
    """The solution's homework.py with the named fragments appended (later definitions win)."""
    parts = [SOLUTION.read_text(encoding="utf-8")]
    parts += [f"\n\n# --- mutation: {name}\n" + (HERE / f"{name}.py").read_text(encoding="utf-8") for name in names]
    return "".join(parts)


def write_submission(folder: Path, *names: str) -> Path:
    """A submission folder holding the mutated homework.py."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "homework.py").write_text(mutated_source(*names), encoding="utf-8")
    return folder
