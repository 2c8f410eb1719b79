"""Lab ``random-vs-grid``: KerasTuner's random search against its grid search, at the same budget.

Lecture "Training networks, part 2" (hyperparameter search; Bergstra & Bengio 2012). Two
hyperparameters, one that matters (Adam's learning rate) and one that hardly does (its weight
decay, 0 to 1e-4, the lecture's coarse-grid values). The grid is 3 x 3: nine trials, but only
three distinct learning rates. Random search spends the same nine trials on nine distinct
learning rates over the same range. Both are ``kit.tune.search`` (``algorithm="grid"`` and
``"random"``), each trial a short ``kit.train`` run scored by validation macro-F1.
"""

from __future__ import annotations

from pathlib import Path

from kit.labs.common import LabPreset, LabResult, figure, lab_data, save_figure
from kit.train import TrainConfig
from kit.tune import search

NAME = "random-vs-grid"
LECTURE = "Training networks, part 2"
CLAIM = (
    "Random search beats grid search at the same budget (Bergstra & Bengio 2012): when only some "
    "hyperparameters matter, random trials try more distinct values of the ones that do."
)

MODEL = "lenet5"
MODEL_OPTIONS = {"activation": "relu", "pooling": "max"}
LR_RANGE = (1e-4, 1e-2)
DECAY_RANGE = (0.0, 1e-4)
SPACES = {
    "grid": {
        "learning_rate": [1e-4, 1e-3, 1e-2],
        "optimizer_options.weight_decay": [0.0, 1e-5, 1e-4],
    },
    "random": {
        "learning_rate": ("log", *LR_RANGE),
        "optimizer_options.weight_decay": ("linear", *DECAY_RANGE),
    },
}
TRIALS, EPOCHS = 9, 2  # quick: the 3 x 3 grid, the lecture's 1-5 epochs per coarse trial
BATCH_SIZE = 64
TIE = 0.005  # macro-F1 differences below this are a tie at nine trials


def run(out_dir: Path, preset: LabPreset) -> LabResult:
    data = lab_data(preset)
    base = TrainConfig(
        name="lenet5",
        model=MODEL,
        model_options=MODEL_OPTIONS,
        optimizer="adam",
        learning_rate=1e-3,
        epochs=preset.pick(smoke=preset.epochs, quick=EPOCHS),
        batch_size=BATCH_SIZE,
        precision="float32",
        monitor="val_macro_f1",
        seed=0,
    )
    trials = preset.pick(smoke=2, quick=TRIALS)
    tables = {}
    for algorithm, space in SPACES.items():
        result = search(base, space, data=data, max_trials=trials, out=out_dir / algorithm, algorithm=algorithm, seed=0)
        tables[algorithm] = result.trials[result.trials["status"] == "COMPLETED"]
    picture = _plot(tables, out_dir / "random_vs_grid.png")

    best = {algorithm: float(table["val_macro_f1"].max()) for algorithm, table in tables.items()}
    distinct = {algorithm: int(table["learning_rate"].round(10).nunique()) for algorithm, table in tables.items()}
    best_lr = {
        algorithm: float(table.loc[table["val_macro_f1"].idxmax(), "learning_rate"])
        for algorithm, table in tables.items()
    }
    measured = {}
    for algorithm in SPACES:
        measured[f"best_val_macro_f1_{algorithm}"] = round(best[algorithm], 4)
        measured[f"best_learning_rate_{algorithm}"] = best_lr[algorithm]
        measured[f"distinct_learning_rates_{algorithm}"] = distinct[algorithm]
        measured[f"trials_{algorithm}"] = int(len(tables[algorithm]))
    difference = best["random"] - best["grid"]
    text = (
        f"best validation macro-F1 {best['random']:.4f} (random, {distinct['random']} learning rates tried) "
        f"vs {best['grid']:.4f} (grid, {distinct['grid']})"
    )
    if difference > TIE:
        verdict = "agrees"
        explanation = f"Random search wins at {len(tables['random'])} trials each: {text}."
    elif difference >= -TIE:
        verdict = "partly"
        explanation = (
            f"Random search tried more learning rates but the two tie within {TIE} ({text}); "
            "the advantage is in expectation, and one search of nine trials is one draw."
        )
    else:
        verdict = "disagrees"
        at_edge = best_lr["grid"] in (min(SPACES["grid"]["learning_rate"]), max(SPACES["grid"]["learning_rate"]))
        why = (
            f"the best learning rate for such short runs lies at the edge of the range ({best_lr['grid']:g}), "
            "which the grid tries exactly and random samples only approach"
            if at_edge
            else "one of its three learning rates happened to sit near the best"
        )
        explanation = (
            f"The grid wins this single draw ({text}): {why}; random search's advantage holds in expectation, "
            "when the best value is inside the range."
        )
    return LabResult(measured=measured, verdict=verdict, explanation=explanation, pictures=[picture])


def _plot(tables: dict, path: Path) -> str:
    fig, (lr_ax, space_ax) = figure(10, 4, ncols=2)
    markers = {"grid": "s", "random": "o"}
    for i, (algorithm, table) in enumerate(tables.items()):
        color = f"C{i}"
        lr_ax.scatter(table["learning_rate"], table["val_macro_f1"], marker=markers[algorithm], color=color, s=40)
        best = table.loc[table["val_macro_f1"].idxmax()]
        lr_ax.axhline(
            best["val_macro_f1"], color=color, linestyle="--", label=f"{algorithm}: best {best['val_macro_f1']:.3f}"
        )
        space_ax.scatter(
            table["learning_rate"],
            table["optimizer_options.weight_decay"],
            marker=markers[algorithm],
            color=color,
            s=40,
            label=algorithm,
        )
    lr_ax.set(xscale="log", xlabel="learning rate (matters)", ylabel="validation macro-F1", title="each trial")
    space_ax.set(
        xscale="log",
        xlabel="learning rate (matters)",
        ylabel="weight decay (hardly matters)",
        title="trials in the space",
    )
    for ax in (lr_ax, space_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save_figure(fig, path)
