"""Training by the clock: ``best_config()`` at budgets of 5, 10, 15 and 30 minutes (issue 35).

Each budget is one ``kit.train.train`` call with ``TrainConfig.time_budget`` (``kit.budget``): its
wall time (measuring, training, validation, the final evaluation and saving; the data already on
hand) against the budget (target: at most 3 % over), the epochs the budget bought, the training
images per second of its median epoch (a shared host's throughput varies from epoch to epoch) and
the test macro-F1. Beside them, one point: ``best_config()`` as it is, by its fixed epochs (8:
today's step 7 of ``make run``). Same machine, one run each, one after another; nothing is chosen
on the test set (the best epoch is picked on validation).

Writes ``budget.csv`` and ``budget.png`` (left: test macro-F1 against minutes, the fixed-epoch run
as its own marker; right: wall minutes against budget minutes with the y = x line) to ``--out``,
and prints the table in markdown for docs/performance.md.

    python benchmarks/budget.py                     # 5, 10, 15, 30 min + the fixed 8 epochs: ~70 min
    python benchmarks/budget.py --minutes 5 10 --no-fixed
    python benchmarks/budget.py --smoke             # wiring check: a small subset, budgets of 0.5 and 0.7 min
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from kit import environment, host_fit  # noqa: E402
from kit.budget import BudgetTooSmall  # noqa: E402
from kit.data import load_fashion_mnist  # noqa: E402
from kit.figures import new_figure, save_figure  # noqa: E402
from kit.files import markdown_table  # noqa: E402
from kit.runs import best_epoch  # noqa: E402
from kit.train import TrainConfig, train  # noqa: E402

BUDGETS_MINUTES = (5.0, 10.0, 15.0, 30.0)
OVERRUN_TARGET = 0.03  # the wall time may exceed the budget by at most 3 %
HOMEWORK = ROOT / "solutions" / "fashion_mnist" / "homework.py"


def best_config(path: Path = HOMEWORK) -> TrainConfig:
    """``best_config()`` of the instructor's homework.py (imported by path: solutions/ is no package)."""
    spec = importlib.util.spec_from_file_location("_budget_benchmark_homework", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.best_config()


def measure(name: str, config: TrainConfig, data, out: Path) -> dict:
    """Train ``config`` into ``out/name``; the row of budget.csv (wall seconds around the whole call)."""
    start = time.perf_counter()
    run = train(config, data=data, out=out / name, verbose=2)
    wall = time.perf_counter() - start
    budget = run.budget or {}
    minutes = config.time_budget / 60 if config.time_budget else None
    return {
        "run": name,
        "budget_min": minutes,
        "wall_min": round(wall / 60, 3),
        "overrun_pct": round(100 * (wall / config.time_budget - 1), 2) if config.time_budget else None,
        "epochs": budget.get("epochs", len(run.history)),
        # the width trained: fit_to_host (kit.host_fit) may choose a narrower one on a slow host
        "width": run.config.model_options.get("width", host_fit.REFERENCE_WIDTH),
        "images_per_s": round(float(run.history["images_per_second"].median()), 1),  # the median epoch's training phase
        "best_epoch": best_epoch(run.history, config.monitor)[0],
        "test_accuracy": round(run.evaluation.accuracy, 4),
        "test_macro_f1": round(run.evaluation.macro_f1, 4),
    }


def plot(table: pd.DataFrame, path: Path, title: str) -> Path:
    """Left: test macro-F1 against minutes; right: wall against budget (y = x, and the 3 % line)."""
    figure = new_figure(11, 4.2)
    f1_axis, wall_axis = figure.subplots(1, 2)
    budgeted = table[table["budget_min"].notna()]
    fixed = table[table["budget_min"].isna()]
    f1_axis.plot(budgeted["wall_min"], budgeted["test_macro_f1"], marker="o", label="by the clock (time_budget)")
    for _, row in budgeted.iterrows():
        f1_axis.annotate(
            f"{row['epochs']:.1f} ep, width {row['width']}", (row["wall_min"], row["test_macro_f1"]), fontsize=8
        )
    if len(fixed):
        f1_axis.plot(fixed["wall_min"], fixed["test_macro_f1"], marker="s", linestyle="", label="fixed epochs")
        for _, row in fixed.iterrows():
            f1_axis.annotate(f"{row['epochs']:.0f} ep", (row["wall_min"], row["test_macro_f1"]), fontsize=8)
    f1_axis.set_xlabel("wall minutes (whole run)")
    f1_axis.set_ylabel("test macro-F1")
    f1_axis.grid(alpha=0.3)
    f1_axis.legend()
    if len(budgeted):
        top = float(max(budgeted["budget_min"].max(), budgeted["wall_min"].max())) * 1.05
        wall_axis.plot([0, top], [0, top], color="grey", linewidth=0.8, label="wall = budget")
        wall_axis.plot([0, top], [0, top * (1 + OVERRUN_TARGET)], color="grey", linestyle=":", label="+3 %")
        wall_axis.plot(budgeted["budget_min"], budgeted["wall_min"], marker="o", linestyle="", label="runs")
    wall_axis.set_xlabel("budget (minutes)")
    wall_axis.set_ylabel("wall minutes")
    wall_axis.grid(alpha=0.3)
    wall_axis.legend()
    figure.suptitle(title)
    return save_figure(figure, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", help="budgets in minutes (default: 5 10 15 30)")
    parser.add_argument("--no-fixed", action="store_true", help="skip best_config() by its fixed epochs")
    parser.add_argument("--homework", type=Path, default=HOMEWORK, help="the homework.py whose best_config() runs")
    parser.add_argument("--smoke", action="store_true", help="wiring check: 2,000 images, budgets 0.5 and 0.7 min")
    parser.add_argument("--out", default="runs/bench_budget", help="folder for the runs, budget.csv and budget.png")
    parser.add_argument("--note", default="", help="said in the picture's title (how the host was set up)")
    args = parser.parse_args(argv)

    minutes = args.minutes or ((0.5, 0.7) if args.smoke else BUDGETS_MINUTES)
    if any(m <= 0 for m in minutes):
        print(f"budgets must be positive minutes; got {', '.join(map(str, minutes))}.", file=sys.stderr)
        return 2
    config = best_config(args.homework)
    data = load_fashion_mnist()
    if args.smoke:
        data = data.subset(train=2000, val=500, test=1000)
        config = config.replace(epochs=2, warmup_epochs=1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = environment.describe()
    title = f"best_config() by the clock | {env.get('device')} | {env.get('backend')}"
    title += f" | {args.note}" if args.note else ""
    print(
        f"benchmarks/budget.py: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC | {env.get('device')} | backend "
        f"{env.get('backend')} | {len(data.y_train):,} training / {len(data.y_test):,} test images",
        flush=True,
    )
    runs = {f"budget-{m:g}min": config.replace(name=f"budget-{m:g}min", time_budget=m * 60) for m in minutes}
    if not args.no_fixed:
        runs[f"fixed-{config.epochs}-epochs"] = config.replace(name=f"fixed-{config.epochs}-epochs")
    rows = []
    for name, run_config in runs.items():
        print(f"{name}:", flush=True)
        try:
            rows.append(measure(name, run_config, data, out))
        except BudgetTooSmall as error:  # a result on a slow machine, not a crash
            print(f"  {name}: {error}", flush=True)
            rows.append({"run": name, "budget_min": run_config.time_budget / 60, "refused": str(error)})
    table = pd.DataFrame(rows)
    if "best_epoch" in table:
        table["best_epoch"] = table["best_epoch"].astype("Int64")
    table.to_csv(out / "budget.csv", index=False)
    trained = table[table["test_macro_f1"].notna()] if "test_macro_f1" in table else table.iloc[0:0]
    if len(trained):
        plot(trained, out / "budget.png", title)
    formats = {"budget_min": ".1f", "wall_min": ".2f", "overrun_pct": "+.1f", "epochs": ".2f", "images_per_s": ".0f"}
    print(markdown_table(table.drop(columns=[c for c in ("refused",) if c in table]), floatfmt=formats))
    late = trained[trained["overrun_pct"].fillna(0) > 100 * OVERRUN_TARGET] if len(trained) else trained
    for _, row in late.iterrows():
        print(f"over the {OVERRUN_TARGET:.0%} target: {row['run']} ({row['overrun_pct']:+.1f} %)")
    print(f"wrote {out / 'budget.csv'}" + (f" and {out / 'budget.png'}" if len(trained) else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
