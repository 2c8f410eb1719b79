"""The "Training networks" runner (`python -m kit homework --assignment training_networks`): your functions at work.

With a chosen homework.py (yours in assignments/training_networks/, or the instructor's):

1. the autograder's visible checks, judged here as the grader judges them (its inputs, the
   Keras references of checks.py and its messages; ``kit.grading.kinds.judge_in_process``), so
   an ``[ok]`` here is a pass in ``make check``;
2. the lecture's initialisation demo with your ``init_std`` and ``forward_activations``: a
   6-layer, 4096-unit net, W = 0.01 * randn (the activations collapse), 0.05 * randn (tanh
   saturates), Xavier (tanh keeps its scale) and He with ReLU; per-layer histograms and scale;
3. your ``build_small_net``'s loss before training, against log(10) (the hyperparameter recipe's
   step 1), with its output layer scaled down and up for comparison;
4. your ``build_small_net`` (dropout off) over-fitting 320 Fashion-MNIST images to 100 %
   training accuracy (step 2 of the recipe);
5. your ``step_decay`` and ``warmup_cosine`` drawn over Keras' schedules.

A function not written yet is reported as "implement `name` in homework.py" and the rest still
runs. Everything lands in ``--out``: report.md (what you submit beside homework.py), summary.json
(the same numbers) and the pictures.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from kit import runner as skeleton
from kit.assignments import Assignment
from kit.errors import check_name
from kit.figures import new_figure, save_figure
from kit.files import markdown_table
from kit.runner import MISSING, REPORT_FILE, Session, StepLog, load_homework, visible_checks  # noqa: F401 - the API

SMOKE_NOTE = "smoke preset: a wiring check at small sizes, its numbers mean little"
DEPTH = 6  # the lecture's demo: 6 hidden layers
OVERFIT_IMAGES, OVERFIT_BATCH = 320, 32  # the recipe's "a few batches": 10 batches of 32
NEAR_LOG_C = 0.1  # |initial loss - log C| that counts as "starts at log C" (kit.labs.initial_loss's tolerance)


@dataclass(frozen=True)
class Preset:
    """How big the experiments are: ``smoke`` checks that everything runs (seconds), ``quick`` is the lecture's size."""

    name: str
    units: int  # the initialisation demo's width (the lecture's 4096)
    demo_inputs: int  # random input vectors through the demo (the slide: 16)
    loss_images: int  # validation images the initial loss is measured on
    overfit_epochs: int  # at most: training stops at 100 % training accuracy


PRESETS = {
    "smoke": Preset("smoke", units=256, demo_inputs=32, loss_images=500, overfit_epochs=3),
    "quick": Preset("quick", units=4096, demo_inputs=64, loss_images=2000, overfit_epochs=100),
}


# --------------------------------------------------------------------------- the implementation
default_impl, resolve_impl = skeleton.impl_resolvers(__file__)  # --impl: solutions, assignments, a folder


# --------------------------------------------------------------------------- 2. the initialisation demo
def demo_kernels(std: float, units: int, seed: int) -> list[np.ndarray]:
    """The slide's ``W = std * randn(D, D)`` for each of the ``DEPTH`` layers (float32: 4096 x 4096 x 6 is 400 MB)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((units, units), dtype=np.float32) * np.float32(std) for _ in range(DEPTH)]


def layer_stats(activations: np.ndarray) -> list[dict]:
    """Per layer: mean, std, the share of saturated tanh units (|a| > 0.95), and a sample of values to draw."""
    rng = np.random.default_rng(0)
    stats = []
    for values in activations:
        flat = np.asarray(values, dtype=np.float64).reshape(-1)
        stats.append(
            {
                "mean": float(flat.mean()),
                "std": float(flat.std()),
                "saturated": float(np.mean(np.abs(flat) > 0.95)),
                "values": rng.choice(flat, size=min(flat.size, 50_000), replace=False),
            }
        )
    return stats


def init_demo(homework: ModuleType, preset: Preset, out_dir: Path, log: StepLog) -> dict:
    """The lecture's four initialisations through your ``forward_activations``; pictures and per-layer numbers."""
    units = preset.units
    x = np.random.default_rng(0).standard_normal((preset.demo_inputs, units))
    stds = log.run(
        "init",
        "the demo's Xavier and He rows",
        lambda: (homework.init_std((units, units), "xavier"), homework.init_std((units, units), "he")),
    )
    rows_spec = {"W = 0.01 * randn, tanh": (0.01, "tanh"), "W = 0.05 * randn, tanh": (0.05, "tanh")}
    if stds is not MISSING:
        xavier, he = stds
        rows_spec[f"Xavier (std {xavier:.4f}), tanh"] = (xavier, "tanh")
        rows_spec[f"He (std {he:.4f}), ReLU"] = (he, "relu")
    rows: dict[str, list[dict]] = {}
    for seed, (label, (std, activation)) in enumerate(rows_spec.items(), start=1):
        kernels = demo_kernels(float(std), units, seed)
        activations = log.run(
            "init", f"the demo's {label} row", lambda k=kernels, a=activation: homework.forward_activations(x, k, a)
        )
        del kernels
        if activations is MISSING:
            break
        if np.shape(activations) != (DEPTH, len(x), units):
            log.add(
                "init",
                "forward_activations",
                "error",
                f"forward_activations returned shape {np.shape(activations)}; expected ({DEPTH}, {len(x)}, {units})",
            )
            break
        rows[label] = layer_stats(activations)
    result: dict[str, Any] = {"units": units, "inputs": len(x), "rows": {}}
    if not rows:
        return result
    result["rows"] = {
        label: [{k: s[k] for k in ("mean", "std", "saturated")} for s in stats] for label, stats in rows.items()
    }
    result["pictures"] = [
        plot_histograms(rows, out_dir / "activation_histograms.png"),
        plot_scale(rows, out_dir / "activation_scale.png"),
    ]
    small = rows.get("W = 0.01 * randn, tanh")
    if small:
        shrink = [b["std"] / a["std"] for a, b in zip(small, small[1:], strict=False)]
        result["small_shrink_per_layer"] = float(np.mean(shrink))
        result["small_shrink_theory"] = 0.01 * math.sqrt(units)
        log.add(
            "init",
            "initialisation demo",
            "ok",
            f"initialisation demo: with W = 0.01 * randn the activations' std falls from {small[0]['std']:.3g} to "
            f"{small[-1]['std']:.3g} over {DEPTH} layers (x{result['small_shrink_per_layer']:.2f} per layer; "
            f"0.01 * sqrt({units}) = {result['small_shrink_theory']:.2f})",
        )
    return result


def plot_histograms(rows: dict[str, list[dict]], path: Path) -> str:
    """One row per initialisation, one column per layer: the slides' activation histograms."""
    fig = new_figure(2.1 * DEPTH, 2.0 * len(rows))
    axes = fig.subplots(len(rows), DEPTH, squeeze=False)
    for r, (label, stats) in enumerate(rows.items()):
        relu = "ReLU" in label  # its zeros (half the units) are left out, or their spike hides the rest
        shown = [s["values"][s["values"] > 0] if relu else s["values"] for s in stats]
        top = max(1.0, max(float(np.percentile(v, 99.5)) for v in shown if v.size)) if relu else 1.0
        bins = np.linspace(0.0 if relu else -1.0, top, 60)
        for c, (layer, values) in enumerate(zip(stats, shown, strict=True)):
            ax = axes[r][c]
            ax.hist(values, bins=bins, color="tab:orange" if relu else "tab:blue")
            ax.set_yticks([])
            ax.tick_params(labelsize=7)
            ax.set_title(f"layer {c + 1}: mean {layer['mean']:.2g}, std {layer['std']:.2g}", fontsize=7)
        axes[r][0].set_ylabel(label + ("\n(non-zero values)" if relu else ""), fontsize=8)
    return save_figure(fig, path).name


def plot_scale(rows: dict[str, list[dict]], path: Path) -> str:
    """The activations' std per layer (log scale) and the share of saturated units, one line per initialisation."""
    fig = new_figure(10, 3.8)
    left, right = fig.subplots(1, 2)
    layers = range(1, DEPTH + 1)
    for label, stats in rows.items():
        left.semilogy(layers, [max(s["std"], 1e-12) for s in stats], marker="o", label=label)
        right.plot(layers, [s["saturated"] for s in stats], marker="o", label=label)
    left.set(xlabel="layer", ylabel="std of the activations (log)", title="Scale of the activations")
    right.set(xlabel="layer", ylabel="share with |a| > 0.95", title="Saturated units", ylim=(-0.02, 1.02))
    left.legend(fontsize=7)
    return save_figure(fig, path).name


# --------------------------------------------------------------------------- 3. the loss before training
def initial_loss_check(homework: ModuleType, data, out_dir: Path, log: StepLog) -> dict:
    """Your small net's first training loss (training mode, as fit sees it) against log(C); scaled heads beside it."""
    import keras

    from kit.labs.initial_loss import initial_loss, scale_output_layer

    keras.utils.set_random_seed(0)
    x, y = data.x_val, data.y_val
    expected = math.log(data.num_classes)
    losses, per_image = {}, {}
    for label, factor in (("your net", 1.0), ("output layer x0.01", 0.01), ("output layer x10", 10.0)):
        model = log.run(
            "loss", "the initial loss", lambda: homework.build_small_net(data.input_shape, data.num_classes, 0.0)
        )
        if model is MISSING:
            return {}
        if factor != 1.0:
            scale_output_layer(model, factor)
        losses[label], per_image[label] = initial_loss(model, x, y)
        if label == "your net":
            blind, spread = label_blind_loss(model, x)
    fig = new_figure(11, 4)
    left, right = fig.subplots(1, 2)
    left.bar(range(len(losses)), list(losses.values()), color=["tab:blue", "tab:green", "tab:red"])
    left.axhline(expected, color="black", linestyle="--", label=f"log({data.num_classes}) = {expected:.3f}")
    left.set_xticks(range(len(losses)), list(losses), fontsize=8)
    left.set(ylabel="loss before training (training mode)", title=f"Initial loss on {len(y)} validation images")
    left.legend()
    bins = np.linspace(0, max(8.0, float(np.percentile(per_image["output layer x10"], 99))), 60)
    for label, color in (("your net", "tab:blue"), ("output layer x10", "tab:red")):
        right.hist(per_image[label], bins=bins, alpha=0.6, color=color, label=label)
    right.axvline(expected, color="black", linestyle="--")
    right.set(xlabel="per-image loss", ylabel="images", title="Per-image loss before training")
    right.legend()
    picture = save_figure(fig, out_dir / "initial_loss.png").name
    gap = losses["your net"] - expected
    explained = abs(losses["your net"] - blind) <= NEAR_LOG_C
    log.add(
        "loss",
        "initial loss",
        "ok" if abs(gap) <= NEAR_LOG_C or explained else "note",
        f"initial loss: your net starts at {losses['your net']:.3f}, log({data.num_classes}) = {expected:.3f} "
        f"(gap {gap:+.3f}); with its output layer x0.01: {losses['output layer x0.01']:.3f}. "
        + (
            f"The gap is expected for this net as the docstring builds it: its logits spread across the classes "
            f"(variance {spread:.2f}: the output layer's Glorot weights on 256 normalised ReLU units), and a net "
            f"whose guess does not depend on the label yet starts at the mean of -log p over the classes, "
            f"{blind:.3f} for yours (log(C) only when every p is 1/C)."
            if explained and abs(gap) > NEAR_LOG_C
            else ""
        ),
    )
    return {
        "classes": data.num_classes,
        "log_C": expected,
        "losses": losses,
        "label_blind_loss": blind,
        "logit_variance": spread,
        "images": len(y),
        "picture": picture,
    }


def label_blind_loss(model, x: np.ndarray, batch_size: int = 128) -> tuple[float, float]:
    """(the loss a net starts at while its guess does not depend on the label: the mean over images and classes
    of -log p, which is log C only when every p is 1/C; the variance of its logits across the classes), in
    training mode and batches as ``kit.labs.initial_loss.initial_loss`` measures the loss."""
    import keras

    parts = [model(x[i : i + batch_size], training=True) for i in range(0, len(x), batch_size)]
    log_p = np.log(np.clip(np.concatenate([keras.ops.convert_to_numpy(p) for p in parts]).astype("float64"), 1e-12, 1))
    return float(-log_p.mean()), float(log_p.var(axis=1).mean())


# --------------------------------------------------------------------------- 4. over-fitting 320 images
def overfit_check(homework: ModuleType, data, preset: Preset, out_dir: Path, log: StepLog) -> dict:
    """Your small net, dropout off, trained on 320 images until it gets every one right (Adam, lr 1e-3)."""
    import keras

    from kit.callbacks import StopAtTarget

    keras.utils.set_random_seed(0)
    model = log.run(
        "overfit",
        "over-fitting 320 images",
        lambda: homework.build_small_net(data.input_shape, data.num_classes, 0.0),
    )
    if model is MISSING:
        return {}
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
    stop = StopAtTarget("accuracy", 1.0)
    x, y = data.x_train[:OVERFIT_IMAGES], data.y_train[:OVERFIT_IMAGES]
    started = time.perf_counter()
    history = model.fit(
        x,
        y,
        batch_size=OVERFIT_BATCH,
        epochs=preset.overfit_epochs,
        validation_data=(data.x_val, data.y_val),
        callbacks=[stop],
        verbose=0,
    ).history
    seconds = time.perf_counter() - started
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig = new_figure(11, 4)
    left, right = fig.subplots(1, 2)
    left.semilogy(epochs, history["loss"], marker=".", label="training loss")
    left.semilogy(epochs, history["val_loss"], marker=".", label="validation loss")
    left.set(
        xlabel="epoch",
        title=f"{OVERFIT_IMAGES} images ({OVERFIT_IMAGES // OVERFIT_BATCH} batches of {OVERFIT_BATCH}), dropout off",
    )
    left.legend()
    right.plot(epochs, history["accuracy"], marker=".", label="training accuracy")
    right.plot(epochs, history["val_accuracy"], marker=".", label=f"validation accuracy ({len(data.y_val)} images)")
    right.axhline(1.0, color="grey", linestyle=":")
    right.set(xlabel="epoch", ylim=(0, 1.02), title="The gap is the over-fitting this step asks for")
    right.legend()
    picture = save_figure(fig, out_dir / "overfit_320.png").name
    result = {
        "images": OVERFIT_IMAGES,
        "epochs": int(len(epochs)),
        "epoch_of_100pct": stop.reached_epoch,
        "first_loss": float(history["loss"][0]),
        "last_loss": float(history["loss"][-1]),
        "last_train_accuracy": float(history["accuracy"][-1]),
        "last_val_accuracy": float(history["val_accuracy"][-1]),
        "seconds": round(seconds, 1),
        "picture": picture,
    }
    if stop.reached_epoch:
        log.add(
            "overfit",
            "over-fitting",
            "ok",
            f"over-fitting: 100 % of the {OVERFIT_IMAGES} training images right after epoch "
            f"{stop.reached_epoch} (validation accuracy {result['last_val_accuracy']:.1%})",
        )
    else:
        log.add(
            "overfit",
            "over-fitting",
            "note",
            f"over-fitting: {result['last_train_accuracy']:.1%} training accuracy after "
            f"{len(epochs)} epochs, not 100 % yet",
        )
    return result


# --------------------------------------------------------------------------- 5. the learning-rate policies
def schedules_check(homework: ModuleType, checks: ModuleType, out_dir: Path, log: StepLog) -> dict:
    """Your two policies over 120 epochs (the lecture's x0.1 after 30, 60, 90; 10 warm-up epochs), over Keras'."""
    steps = np.arange(121)
    policies = {
        "step decay (x0.1 after 30, 60, 90)": ("step_decay", (steps, 0.1, [30, 60, 90], 0.1), checks.keras_step_decay),
        "warm-up 10, cosine 110": ("warmup_cosine", (steps, 0.1, 10, 110, 0.0), checks.keras_warmup_cosine),
    }
    fig = new_figure(10, 3.8)
    axes = fig.subplots(1, 2)
    result = {}
    for ax, (label, (name, arguments, reference)) in zip(axes, policies.items(), strict=True):
        keras_values = reference(*arguments)
        ax.plot(steps, keras_values, color="black", linestyle="--", label="Keras")
        yours = log.run("schedules", f"the {name} picture", lambda n=name, a=arguments: getattr(homework, n)(*a))
        if yours is not MISSING:
            yours = np.asarray(yours, dtype=np.float64)
            equal = yours.shape == keras_values.shape and bool(np.allclose(yours, keras_values, rtol=1e-5, atol=1e-7))
            ax.plot(steps, yours, alpha=0.7, label=f"yours ({'equal to' if equal else 'differs from'} Keras')")
            result[name] = {"equal_to_keras": equal}
        ax.set(xlabel="epoch", ylabel="learning rate", title=label, yscale="log" if name == "step_decay" else "linear")
        ax.legend(fontsize=8)
    result["picture"] = save_figure(fig, out_dir / "lr_schedules.png").name
    return result


# --------------------------------------------------------------------------- the whole run
def run_assignment(
    impl: str | None = None,
    preset: str = "quick",
    out: str | Path = "runs/training_networks",
    *,
    assignment: Assignment | None = None,
    data_dir: str | None = None,
    echo: Callable[[str], None] = print,
) -> dict:
    """Every part with the chosen homework.py; writes ``out/summary.json`` and ``out/report.md``; returns summary."""
    settings = PRESETS[check_name("preset", preset, PRESETS)]
    assignment = assignment or skeleton.assignment_of(__file__)
    session = Session.start(assignment, impl, preset, out, echo=echo)
    if preset == "smoke":
        echo(f"note: {SMOKE_NOTE}; use --preset quick for the lecture's sizes.")
    homework, log, out_dir, summary = session.homework, session.log, session.out_dir, session.summary
    checks = skeleton.sibling(__file__, "checks.py")  # the autograder's Keras references (schedules)
    from kit.data import load_fashion_mnist

    data = load_fashion_mnist(data_dir).subset(train=OVERFIT_IMAGES, val=settings.loss_images, test=100, seed=0)
    summary["checks"] = visible_checks(homework, skeleton.load_visible_rubric(assignment, log), log, todo=True)
    summary["init_demo"] = init_demo(homework, settings, out_dir, log)
    summary["initial_loss"] = initial_loss_check(homework, data, out_dir, log)
    summary["overfit"] = overfit_check(homework, data, settings, out_dir, log)
    summary["schedules"] = schedules_check(homework, checks, out_dir, log)
    return session.finish(write_report)


# --------------------------------------------------------------------------- report.md
def write_report(summary: dict, out_dir: str | Path) -> Path:
    """``out_dir/report.md``: every part in one document, from summary.json and the pictures beside it."""
    out_dir = Path(out_dir)
    lines = [
        "# Training networks: report",
        "",
        f"Implementation `{summary['impl']}`, preset **{summary['preset']}**, backend {summary['backend']}, "
        f"device {summary['device']}; {summary['total_seconds']:.0f} s.",
        "",
    ]
    if summary["preset"] == "smoke":
        lines += [f"**Note: {SMOKE_NOTE}.** Run `--preset quick` for the lecture's sizes.", ""]
    lines += _checks_lines(summary) + _init_lines(summary.get("init_demo") or {})
    lines += _loss_lines(summary.get("initial_loss") or {}) + _overfit_lines(summary.get("overfit") or {})
    lines += _schedules_lines(summary.get("schedules") or {})
    path = out_dir / REPORT_FILE
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _checks_lines(summary: dict) -> list[str]:
    """The autograder's visible checks: points and verdict each, and what is still to write."""
    checks = summary.get("checks") or []
    lines = ["## The autograder's visible checks", ""]
    if checks:
        got, top = sum(c["points"] for c in checks), sum(c["max_points"] for c in checks)
        rows = [
            {"check": c["check"], "points": f"{c['points']:g}/{c['max_points']:g}", "verdict": c["verdict"]}
            for c in checks
        ]
        table = markdown_table(pd.DataFrame(rows))
        lines += [table, "", f"Visible checks: {got:g} / {top:g} points (hidden checks add more).", ""]
    if summary.get("todo"):
        lines += ["Still to write:", ""] + [f"- {message}" for message in summary["todo"]] + [""]
    return lines


def _init_lines(demo: dict) -> list[str]:
    """Part 1: the activations' scale per layer and initialisation, the pictures, what they show."""
    lines = [f"## 1. Initialisation: {DEPTH} layers of {demo.get('units', '?')} units", ""]
    if not demo.get("rows"):
        return lines + ["Not run: see the steps above.", ""]
    lines += [
        f"{demo['inputs']} random input vectors (randn, as on the slide) through `forward_activations`; "
        "the standard deviation of each layer's activations:",
        "",
    ]
    table = pd.DataFrame(
        {"initialisation": list(demo["rows"])}
        | {f"layer {i + 1}": [stats[i]["std"] for stats in demo["rows"].values()] for i in range(DEPTH)}
    )
    lines += [markdown_table(table, floatfmt=".3g"), ""]
    lines += [f"![activation histograms]({demo['pictures'][0]})", "", f"![activation scale]({demo['pictures'][1]})", ""]
    if "small_shrink_per_layer" in demo:
        lines += [
            f"With W = 0.01 * randn each layer multiplies the scale by {demo['small_shrink_per_layer']:.2f} "
            f"(theory for tanh near 0: 0.01 * sqrt(D) = {demo['small_shrink_theory']:.2f}): the activations, "
            "and with them the gradients dL/dW, collapse towards 0. With 0.05 the pre-activations are large "
            "and tanh saturates at +-1 (its gradient vanishes). Xavier keeps the scale comparable across the "
            "layers for tanh (the slides' 'almost right': tanh's slope below 1 still shrinks it a little), He "
            "keeps it for ReLU.",
            "",
        ]
    return lines


def _loss_lines(loss: dict) -> list[str]:
    """Part 2: the loss before training against log(C), and why it is above it."""
    lines = ["## 2. The loss before training", ""]
    if not loss:
        return lines + ["Not run: see the steps above.", ""]
    rows = pd.DataFrame({"network": list(loss["losses"]), "initial loss": list(loss["losses"].values())})
    gap = loss["losses"]["your net"] - loss["log_C"]
    return lines + [
        f"`build_small_net` (dropout 0), untrained, on {loss['images']} validation images, in training mode "
        f"(what `fit` reports at its first step); log({loss['classes']}) = {loss['log_C']:.3f}:",
        "",
        markdown_table(rows, floatfmt=".3f"),
        "",
        f"![initial loss]({loss['picture']})",
        "",
        "A softmax that guesses uniformly gives every class 1/C, so the loss starts at log(C). Larger logits "
        "(a larger output layer) mean a confident random guess and a higher start; a tiny output layer starts "
        "at log(C) almost exactly. "
        + (
            f"Your net starts {gap:+.2f} from log(C): its output layer's "
            "default (Glorot) weights on BatchNorm + ReLU features of unit scale give logits of standard "
            "deviation near 1, a guess that is already a little confident (the x0.01 row removes it)."
            if gap > NEAR_LOG_C
            else "Your net starts there."
        ),
        "",
    ]


def _overfit_lines(overfit: dict) -> list[str]:
    """Part 3: how soon the small net gets all 320 images right, and the gap to validation."""
    lines = [f"## 3. Over-fitting {OVERFIT_IMAGES} images", ""]
    if not overfit:
        return lines + ["Not run: see the steps above.", ""]
    reached = (
        f"every training image is right after epoch {overfit['epoch_of_100pct']}"
        if overfit.get("epoch_of_100pct")
        else f"{overfit['last_train_accuracy']:.1%} training accuracy after {overfit['epochs']} epochs"
    )
    return lines + [
        f"`build_small_net(dropout=0)`, Adam at 1e-3, batches of {OVERFIT_BATCH}: {reached} (loss "
        f"{overfit['first_loss']:.3f} -> {overfit['last_loss']:.4f}); validation accuracy "
        f"{overfit['last_val_accuracy']:.1%}. {overfit['seconds']:.0f} s.",
        "",
        f"![over-fitting]({overfit['picture']})",
        "",
    ]


def _schedules_lines(schedules: dict) -> list[str]:
    """Part 4: the two policies drawn over Keras' schedules, equal or not."""
    lines = ["## 4. Learning-rate policies", ""]
    if schedules.get("picture"):
        lines += [f"![learning-rate policies]({schedules['picture']})", ""]
        for name in ("step_decay", "warmup_cosine"):
            if name in schedules:
                equal = "equals" if schedules[name]["equal_to_keras"] else "**differs from**"
                lines.append(f"- `{name}` {equal} Keras' schedule over these 120 epochs.")
        lines.append("")
    return lines


def main(argv: list[str] | None = None, *, assignment: Assignment | None = None) -> int:
    """`python -m kit homework --assignment training_networks --impl ... --preset ... --out DIR`."""
    what = "The autograder's visible checks and the lectures' experiments with your functions, one report."
    parser = skeleton.parser(assignment or __file__, what, PRESETS, out="runs/training_networks")
    run = lambda args: run_assignment(args.impl, args.preset, args.out, data_dir=args.data_dir, assignment=assignment)  # noqa: E731
    return skeleton.main(parser, argv, run)
