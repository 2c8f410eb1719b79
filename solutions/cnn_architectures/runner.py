"""The "CNN architectures" runner (`python -m kit homework --assignment cnn_architectures`): your functions at work.

With a chosen homework.py (yours in assignments/cnn_architectures/, or the instructor's), step by
step as the README's "What to write" numbers them:

1-3. the autograder's visible checks of the arithmetic (``conv_output_size``, ``conv_params``,
   ``conv_flops``, ``receptive_field``), judged here as the grader judges them
   (``kit.runner.visible_checks``), so an ``[ok]`` here is a pass in ``make check``;
4. the blocks' checks, then the classic stacks counted: LeNet-5, AlexNet (one tower), VGG-16,
   GoogLeNet's Inception 3a and ResNet's basic and bottleneck blocks, their parameters and
   multiply-adds summed layer by layer with your ``conv_output_size``, ``conv_params`` and
   ``conv_flops``, against the same networks built in Keras (``kit.models.params_and_flops``) and
   the figures the papers give;
5. the ``transfer_model`` check, then fine-tuning: a small CNN trained on five Fashion-MNIST classes
   (T-shirt/top ... Coat), then your ``transfer_model`` on the other five (Sandal ... Ankle boot)
   with a few labelled images, its features frozen, against the same network trained from scratch
   on them: the validation curves.

A check names its step as rubric data (``step=`` in rubric.py). A function not written yet is
reported as "implement `name` in homework.py" and the rest still runs. Everything lands in
``--out``: report.md (what you submit beside homework.py), summary.json and the pictures. The
quick preset takes about 2-3 minutes on 2 CPU cores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

from kit import runner as skeleton
from kit.assignments import Assignment
from kit.errors import check_name
from kit.figures import new_figure, save_figure
from kit.files import markdown_table
from kit.runner import MISSING, REPORT_FILE, Session, StepLog, load_homework, visible_checks  # noqa: F401 - the API

STEPS = (1, 2, 3, 4, 5)  # the README's parts; 1-3 are checks only, 4 counts the stacks, 5 fine-tunes
COUNT_STEP, TRANSFER_STEP = 4, 5
PRETRAIN_CLASSES, TARGET_CLASSES = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)
DESCRIPTION = "The autograder's visible checks, the classic stacks counted, and fine-tuning, one report."
HELP = {
    "preset_help": "smoke: a wiring check (under a minute); quick: the fine-tuning at its size (2-3 minutes on 2 "
    "cores, the default)",
    "steps_help": "only these steps, e.g. 4 or 4,5 (default: every step; 1-3 are checks alone)",
}


@dataclass(frozen=True)
class Preset:
    """How big the fine-tuning experiment is (the counting takes no time)."""

    name: str
    pretrain_images: int  # of the five pretraining classes
    pretrain_epochs: int
    target_images: int  # labelled images of the five new classes
    target_epochs: int
    val_images: int  # validation images of the new classes


PRESETS = {
    "smoke": Preset(
        "smoke", pretrain_images=1000, pretrain_epochs=1, target_images=100, target_epochs=2, val_images=500
    ),
    "quick": Preset(
        "quick", pretrain_images=15000, pretrain_epochs=4, target_images=500, target_epochs=10, val_images=2500
    ),
}


# --------------------------------------------------------------------------- the implementation
default_impl, resolve_impl = skeleton.impl_resolvers(__file__)  # --impl: solutions, assignments, a folder


# --------------------------------------------------------------------------- 4. the classic stacks counted
# A stack is a list of layers from the input up: ("conv", filters, kernel, stride, padding),
# ("pool", size, stride, padding), ("flatten",), ("dense", units). A module (Inception 3a) is branches
# on one input, concatenated. The papers' figures are what the lecture quotes (parameters; MACs where given).
def _vgg16():
    stack = []
    for filters, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        stack += [("conv", filters, 3, 1, "same")] * convs + [("pool", 2, 2, "valid")]
    return stack + [("flatten",), ("dense", 4096), ("dense", 4096), ("dense", 1000)]


ARCHITECTURES = {
    "LeNet-5": dict(
        input=(32, 32, 1),
        stack=[
            ("conv", 6, 5, 1, "valid"),
            ("pool", 2, 2, "valid"),
            ("conv", 16, 5, 1, "valid"),
            ("pool", 2, 2, "valid"),
            ("conv", 120, 5, 1, "valid"),
            ("flatten",),
            ("dense", 84),
            ("dense", 10),
        ],
        paper="~60 thousand parameters (LeCun et al. 1998)",
    ),
    "AlexNet (one tower)": dict(
        input=(227, 227, 3),
        stack=[
            ("conv", 96, 11, 4, "valid"),
            ("pool", 3, 2, "valid"),
            ("conv", 256, 5, 1, "same"),
            ("pool", 3, 2, "valid"),
            ("conv", 384, 3, 1, "same"),
            ("conv", 384, 3, 1, "same"),
            ("conv", 256, 3, 1, "same"),
            ("pool", 3, 2, "valid"),
            ("flatten",),
            ("dense", 4096),
            ("dense", 4096),
            ("dense", 1000),
        ],
        paper="60 million parameters (Krizhevsky et al. 2012; two towers, grouped convolutions)",
    ),
    "VGG-16": dict(input=(224, 224, 3), stack=_vgg16(), paper="138 million parameters, 15.5 G multiply-adds"),
    "Inception 3a": dict(
        input=(28, 28, 192),
        branches=[
            [("conv", 64, 1, 1, "same")],
            [("conv", 96, 1, 1, "same"), ("conv", 128, 3, 1, "same")],
            [("conv", 16, 1, 1, "same"), ("conv", 32, 5, 1, "same")],
            [("pool", 3, 1, "same"), ("conv", 32, 1, 1, "same")],
        ],
        paper="159 thousand parameters, 128 M multiply-adds (Szegedy et al. 2015, without biases)",
    ),
    "ResNet basic block (56x56x64)": dict(
        input=(56, 56, 64),
        stack=[("conv", 64, 3, 1, "same"), ("conv", 64, 3, 1, "same")],
        paper="2 x 3x3x64x64 = 73.7 thousand weights (He et al. 2016)",
    ),
    "ResNet bottleneck (56x56x256)": dict(
        input=(56, 56, 256),
        stack=[("conv", 64, 1, 1, "same"), ("conv", 64, 3, 1, "same"), ("conv", 256, 1, 1, "same")],
        paper="1x1 64, 3x3 64, 1x1 256: 69.6 thousand weights, as cheap as the basic block on 4x the channels",
    ),
}


def count_stack(homework: ModuleType, stack, shape) -> tuple[int, int, tuple]:
    """(parameters, multiply-adds, output shape) of a stack, with the student's functions for the convolutions."""
    params = flops = 0
    height, width, channels = shape
    for layer in stack:
        if layer[0] == "conv":
            _, filters, kernel, stride, padding = layer
            params += int(homework.conv_params(channels, filters, kernel)["plain"])
            flops += int(homework.conv_flops((height, width, channels), filters, kernel, stride, padding))
            height = homework.conv_output_size(height, kernel, stride, padding)
            width = homework.conv_output_size(width, kernel, stride, padding)
            channels = filters
        elif layer[0] == "pool":
            _, size, stride, padding = layer
            height = homework.conv_output_size(height, size, stride, padding)
            width = homework.conv_output_size(width, size, stride, padding)
        elif layer[0] == "flatten":
            height, width, channels = 1, 1, height * width * channels
        else:
            units = layer[1]
            params += channels * units + units
            flops += channels * units
            channels = units
    return params, flops, (height, width, channels)


def keras_stack(x, stack):
    import keras

    layers = keras.layers
    for layer in stack:
        if layer[0] == "conv":
            x = layers.Conv2D(layer[1], layer[2], strides=layer[3], padding=layer[4], activation="relu")(x)
        elif layer[0] == "pool":
            x = layers.MaxPooling2D(layer[1], strides=layer[2], padding=layer[3])(x)
        elif layer[0] == "flatten":
            x = layers.Flatten()(x)
        else:
            x = layers.Dense(layer[1], activation="relu")(x)
    return x


def keras_counts(spec: dict) -> tuple[int, int]:
    """(parameters, multiply-adds) of a stack, or of a module's branches concatenated, built in Keras."""
    import keras

    from kit.models import params_and_flops

    inputs = keras.Input(shape=spec["input"])
    outputs = [keras_stack(inputs, branch) for branch in branches_of(spec)]
    model = keras.Model(inputs, keras.layers.Concatenate()(outputs) if len(outputs) > 1 else outputs[0])
    counts = params_and_flops(model)
    keras.backend.clear_session()
    return counts


def branches_of(spec: dict) -> list:
    """A module's branches, or a plain stack as the one branch."""
    return spec.get("branches") or [spec["stack"]]


def count_architectures(homework: ModuleType, log: StepLog) -> list[dict]:
    """Each classic stack counted with your functions and by Keras; the papers' figures beside them."""
    rows = []
    for name, spec in ARCHITECTURES.items():
        keras_params, keras_flops = keras_counts(spec)
        row = {"network": name, "keras_params": keras_params, "keras_macs": keras_flops, "paper": spec["paper"]}

        def yours(spec=spec):
            counts = [count_stack(homework, branch, spec["input"]) for branch in branches_of(spec)]
            return sum(c[0] for c in counts), sum(c[1] for c in counts)

        counted = log.run(COUNT_STEP, f"counting {name}", yours)
        if counted is not MISSING:
            row.update(your_params=counted[0], your_macs=counted[1])
            same = counted == (keras_params, keras_flops)
            log.add(
                COUNT_STEP,
                name,
                "ok" if same else "check failed",
                f"step {COUNT_STEP}: {name}: {counted[0]:,} parameters, {counted[1]:,} multiply-adds by your "
                f"functions; Keras {keras_params:,} and {keras_flops:,}" + ("" if same else " (they differ)"),
            )
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- 5. fine-tuning
def small_cnn(classes: int, seed: int = 0):
    """The pretraining network: conv 16 -> pool -> conv 32 -> pool -> Dense(64) features -> Dense(classes)."""
    import keras

    keras.utils.set_random_seed(seed)
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(64, activation="relu", name="features"),
            layers.Dense(classes, activation="softmax", name="top"),
        ],
        name="pretrained",
    )


def _split(x, y, classes, count, seed):
    rng = np.random.default_rng(seed)
    picked = np.flatnonzero(np.isin(y, classes))
    picked = np.sort(rng.choice(picked, size=min(count, len(picked)), replace=False))
    relabel = {c: i for i, c in enumerate(classes)}
    return x[picked], np.array([relabel[int(v)] for v in y[picked]], dtype=np.int64)


def _fit(model, x, y, epochs: int, learning_rate: float, validation=None) -> dict:
    """Adam at ``learning_rate``, batches of 64: the history (accuracy, and val_accuracy where validated)."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model.fit(x, y, batch_size=64, epochs=epochs, validation_data=validation, verbose=0).history


def fine_tuning(homework: ModuleType, data, preset: Preset, out_dir: Path, log: StepLog) -> dict:
    """Pretrain on five classes, then your transfer_model on the other five against training from scratch."""
    x_pre, y_pre = _split(data.x_train, data.y_train, PRETRAIN_CLASSES, preset.pretrain_images, 1)
    x_new, y_new = _split(data.x_train, data.y_train, TARGET_CLASSES, preset.target_images, 2)
    validation = _split(data.x_val, data.y_val, TARGET_CLASSES, preset.val_images, 3)
    base = small_cnn(len(PRETRAIN_CLASSES))
    pretrain = _fit(base, x_pre, y_pre, preset.pretrain_epochs, 1e-3)
    model = log.run(TRANSFER_STEP, "fine-tuning", lambda: homework.transfer_model(base, len(TARGET_CLASSES)))
    if model is MISSING:
        return {}
    trainable = int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
    epochs = preset.target_epochs
    # phase 1: the features frozen, the new top alone (a larger learning rate suits a lone top);
    # phase 2: everything unfrozen at a tenth of the usual rate (the lecture's fine-tuning)
    frozen = _fit(model, x_new, y_new, epochs, 1e-2, validation)["val_accuracy"]
    for layer in model.layers:
        layer.trainable = True
    tuned = _fit(model, x_new, y_new, epochs, 1e-4, validation)["val_accuracy"]
    scratch = _fit(small_cnn(len(TARGET_CLASSES), seed=1), x_new, y_new, 2 * epochs, 1e-3, validation)
    result = {
        "pretrain_images": len(y_pre),
        "pretrain_accuracy": pretrain["accuracy"][-1],
        "target_images": len(y_new),
        "trainable_params": trainable,
        "frozen": frozen,
        "tuned": tuned,
        "scratch": scratch["val_accuracy"],
    }
    result["picture"] = plot_fine_tuning(result, out_dir / "fine_tuning.png")
    log.add(
        TRANSFER_STEP,
        "fine-tuning",
        "ok",
        f"step {TRANSFER_STEP}: fine-tuning on {len(y_new)} images: features frozen {frozen[-1]:.3f} after {epochs} "
        f"epochs, then all layers at lr/10 {tuned[-1]:.3f}; from scratch {result['scratch'][-1]:.3f} after "
        f"{2 * epochs} (pretraining on {len(y_pre)} images: accuracy {pretrain['accuracy'][-1]:.3f})",
    )
    return result


def plot_fine_tuning(result: dict, path: Path) -> str:
    """The validation accuracy per epoch: features frozen, then all layers; from scratch beside them."""
    frozen, tuned, scratch = result["frozen"], result["tuned"], result["scratch"]
    epochs = len(frozen)
    fig = new_figure(7.5, 4)
    ax = fig.subplots()
    label = f"features frozen, new top ({result['trainable_params']:,} parameters)"
    ax.plot(range(1, epochs + 1), frozen, marker="o", label=label)
    ax.plot(range(epochs + 1, 2 * epochs + 1), tuned, marker="o", label="then all layers, learning rate / 10")
    ax.plot(range(1, 2 * epochs + 1), scratch, marker=".", label="the same network from scratch")
    ax.set(xlabel="epoch", ylabel="validation accuracy (5 new classes)", ylim=(0, 1))
    ax.set_title(f"{result['target_images']} labelled images of 5 classes never seen in pretraining", fontsize=9)
    ax.legend(fontsize=8)
    return save_figure(fig, path).name


# --------------------------------------------------------------------------- the whole run
def parse_steps(text: str | Iterable[int] | None) -> tuple[int, ...]:
    """`--steps 4,5` -> (4, 5); None or "" -> every step (`kit.runner.parse_steps`)."""
    return skeleton.parse_steps(text, STEPS, "steps 1-3 are the arithmetic's checks alone")


def run_assignment(
    impl: str | None = None,
    preset: str = "quick",
    out: str | Path = "runs/cnn_architectures",
    *,
    steps: str | Iterable[int] | None = None,
    assignment: Assignment | None = None,
    data_dir: str | None = None,
    echo: Callable[[str], None] = print,
) -> dict:
    """The chosen steps (default every one) with the chosen homework.py; writes ``out/summary.json`` and
    ``out/report.md``; returns the summary."""
    settings = PRESETS[check_name("preset", preset, PRESETS)]
    asked = parse_steps(steps)
    header = "" if asked == STEPS else f" | steps {', '.join(map(str, asked))}"
    session = Session.start(assignment or skeleton.assignment_of(__file__), impl, preset, out, echo=echo, header=header)
    homework, log, summary = session.homework, session.log, session.summary
    rubric = skeleton.load_visible_rubric(session.assignment, log)
    summary.update(steps_asked=list(asked), checks=[], architectures=[], fine_tuning={})
    for step in asked:
        summary["checks"] += visible_checks(homework, rubric, log, step, todo=True)
        if step == COUNT_STEP:
            summary["architectures"] = count_architectures(homework, log)
        elif step == TRANSFER_STEP:
            from kit.data import load_fashion_mnist

            data = load_fashion_mnist(data_dir)
            summary["fine_tuning"] = fine_tuning(homework, data, settings, session.out_dir, log)
    return session.finish(write_report)


# --------------------------------------------------------------------------- report.md
def write_report(summary: dict, out_dir: str | Path) -> Path:
    """``out_dir/report.md``: the checks, the table of the classic stacks, the fine-tuning curve."""
    lines = [
        "# CNN architectures: report",
        "",
        f"Preset `{summary['preset']}`, {summary.get('device', '')}, {summary['total_seconds']:.0f} s.",
        "",
    ]
    lines += _score_lines(summary) + _stacks_lines(summary["architectures"])
    lines += _tuning_lines(summary.get("fine_tuning") or {})
    path = Path(out_dir) / REPORT_FILE
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _score_lines(summary: dict) -> list[str]:
    """Section 1: the visible checks' points, and the functions still to write."""
    checks = summary.get("checks") or []
    got, total = sum(c["points"] for c in checks), sum(c["max_points"] for c in checks)
    lines = ["## 1. The autograder's visible checks", "", f"Visible checks: {got:g} / {total:g} points.", ""]
    if summary["todo"]:
        lines += ["Still to write:", "", *[f"- {t}" for t in summary["todo"]], ""]
    return lines


def _stacks_lines(architectures: list[dict]) -> list[str]:
    """Section 2: the classic stacks counted by your functions, by Keras and in the papers."""
    lines = ["## 2. The classic stacks counted", ""]
    table = pd.DataFrame(architectures)
    if not len(table):
        return lines
    order = ("network", "your_params", "keras_params", "your_macs", "keras_macs", "paper")
    lines += [markdown_table(table[[c for c in order if c in table]]), ""]
    return lines + [
        "Parameters and multiply-adds per image of each network's convolution and dense layers (ReLU, no "
        "BatchNorm), summed layer by layer with your functions, and by Keras (`count_params()`, "
        "`kit.models.count_flops`). Most of VGG-16's parameters are in its first dense layer, most of its "
        "work in its convolutions; Inception 3a's 1x1 reductions keep a 256-channel module at a tenth of "
        "what plain 3x3 and 5x5 layers on 192 channels would cost.",
        "",
    ]


def _tuning_lines(tuning: dict) -> list[str]:
    """Section 3: the fine-tuning experiment, its last accuracies, the curve and how to read it."""
    lines = ["## 3. Fine-tuning", ""]
    if not tuning:
        return lines + ["Not run: see the steps above.", ""]
    return lines + [
        f"A small CNN pretrained on {tuning['pretrain_images']:,} images of five classes (T-shirt/top, Trouser, "
        f"Pullover, Dress, Coat; training accuracy {tuning['pretrain_accuracy']:.3f}), then `transfer_model` on "
        f"{tuning['target_images']} labelled images of the other five (Sandal, Shirt, Sneaker, Bag, Ankle boot), "
        f"first with the features frozen ({tuning['trainable_params']:,} parameters train), then with every "
        f"layer at a tenth of the learning rate; beside it, the same network trained from scratch on them.",
        "",
        "| | features frozen | then all layers, lr / 10 | from scratch |",
        "|---|---:|---:|---:|",
        f"| validation accuracy, last epoch | {tuning['frozen'][-1]:.3f} | {tuning['tuned'][-1]:.3f} "
        f"| {tuning['scratch'][-1]:.3f} |",
        "",
        f"![fine-tuning]({tuning['picture']})",
        "",
        "Read it with the lecture's transfer table. The new classes are mostly footwear and bags, the "
        "pretraining classes clothes: little data, and data *different* from the pretraining data, the "
        "table's hardest corner. Features learnt to tell a dress from a coat need not separate a sandal from "
        "a sneaker, so a new top on frozen features does worse than it would on similar classes, and "
        "unfreezing the layers below (at a small learning rate, so that they move, not restart) is what the "
        "table advises; with 500 images of 28x28 a network this small can also be trained from scratch.",
        "",
    ]


def build_parser(assignment: Assignment | None = None):
    """The runner's arguments (`kit.runner.parser`: the common ones, with --steps)."""
    return skeleton.parser(assignment or __file__, DESCRIPTION, PRESETS, out="runs/cnn_architectures", **HELP)


def main(argv: list[str] | None = None, *, assignment: Assignment | None = None) -> int:
    """`python -m kit homework --assignment cnn_architectures --impl ... --preset ... [--steps 4,5] --out DIR`."""

    def run(args) -> dict:
        options = dict(steps=args.steps, assignment=assignment, data_dir=args.data_dir)
        return run_assignment(args.impl, args.preset, args.out, **options)

    return skeleton.main(build_parser(assignment), argv, run)
