"""The measured table behind ``kit.recipes.fit_to_host`` (issue 41): each width's speed and its test macro-F1 by epochs.

A slow host buys few epochs in a budget; a narrower network trains more epochs in the same
seconds. Whether that wins is measured here: ``best_config()`` at the widths and epochs asked
(``--runs 16:10 24:5 32:4``: width 16 for 10 epochs, ...), each one ``kit.train.train`` call by its
epochs (the cosine fitted to them, as a budget of that many epochs would), one after another on the
machine at hand. Test macro-F1 depends on the epochs trained, not on the host, so the figures of a
fast host stand for a slow one; the images/s (each width's speed relative to width 32) are the
host's own. Prints a markdown table for docs/performance.md and writes ``host_fit.csv``.

    python benchmarks/host_fit.py --runs 16:10 24:5 32:4      # about 10 minutes on the AVX512-BF16 host
    python benchmarks/host_fit.py --smoke                     # wiring check on 2,000 images
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
from budget import HOMEWORK, best_config, measure  # noqa: E402

from kit import environment  # noqa: E402
from kit.data import load_fashion_mnist  # noqa: E402
from kit.files import markdown_table  # noqa: E402


def parse_run(text: str) -> tuple[int, float]:
    """'24:5' -> (24, 5.0): width 24 for 5 epochs."""
    try:
        width, epochs = text.split(":")
        return int(width), float(epochs)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a run is WIDTH:EPOCHS, e.g. 24:5; got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=parse_run, nargs="+", default=[(16, 10), (24, 5), (32, 4)])
    parser.add_argument("--homework", type=Path, default=HOMEWORK, help="the homework.py whose best_config() runs")
    parser.add_argument("--smoke", action="store_true", help="wiring check: 2,000 images, 1 epoch each")
    parser.add_argument("--out", default="runs/bench_host_fit", help="folder for the runs and host_fit.csv")
    args = parser.parse_args(argv)

    base = best_config(args.homework)
    data = load_fashion_mnist()
    runs = args.runs
    if args.smoke:
        data = data.subset(train=2000, val=500, test=1000)
        runs = [(width, 1.0) for width, _ in runs]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = environment.describe()
    print(
        f"benchmarks/host_fit.py: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC | {env.get('device')} | backend "
        f"{env.get('backend')} | {len(data.y_train):,} training / {len(data.y_test):,} test images",
        flush=True,
    )
    rows = []
    for width, epochs in runs:
        name = f"width-{width}-{epochs:g}-epochs"
        config = base.replace(
            name=name,
            model_options={**base.model_options, "width": width},
            epochs=int(epochs),
            warmup_epochs=min(base.warmup_epochs, epochs / 2),
            time_budget=None,
            fit_to_host=False,  # this width, measured: the table kit.host_fit chooses from
        )
        print(f"{name}:", flush=True)
        rows.append({"width": width, **measure(name, config, data, out)})
    table = pd.DataFrame(rows).drop(columns=["budget_min", "overrun_pct"])
    table.to_csv(out / "host_fit.csv", index=False)
    print(markdown_table(table, floatfmt={"wall_min": ".2f", "images_per_s": ".0f"}))
    print(f"wrote {out / 'host_fit.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
