"""Is mixed precision faster here, network by network? float32 against the machine's mixed policy.

Precision ``auto`` (``kit.train.measure_precision``) times a few training steps of the actual
model in both policies and keeps the mixed one only when it is >= 5 % faster, because the gain
differs between networks and machines (docs/performance.md: on one AVX512-BF16 CPU the homework
CNN ran 1.9x faster in bfloat16 while a BatchNorm-heavy ResNet did not). This benchmark makes
that measurement visible: for the homework's networks and the recipes' networks, it calls
``measure_precision`` ``--rounds`` times in turn (float32, then mixed, then the next network;
rounds interleaved, so a slow minute of the machine falls on both policies) and prints training
images/s per policy (median over the rounds), their ratio and what ``auto`` would choose. The
recipes themselves say float32 (bfloat16 cost them accuracy, ``kit.recipes.homework_quick``);
they are measured anyway, to show what that choice gives up.

    python benchmarks/precision.py               # all networks, 3 rounds (a few minutes on 2 cores)
    python benchmarks/precision.py --rounds 1 --steps 2 cnn_mnist   # wiring check

On a machine with no bfloat16/float16 support it says so and measures nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from kit import environment  # noqa: E402
from kit.data import load_fashion_mnist  # noqa: E402
from kit.recipes import recipe  # noqa: E402
from kit.train import MIXED_MIN_SPEEDUP, TrainConfig, measure_precision, preset  # noqa: E402


def networks() -> dict[str, TrainConfig]:
    """The configurations measured: the homework's steps 5-6 (quick preset) and the recipes' networks."""
    return {
        "cnn_mnist": preset("quick", model="cnn_mnist"),
        "cnn_mnist_inception": preset("quick", model="cnn_mnist_inception"),
        "homework-quick": recipe("homework-quick"),
        "cpu-30min": recipe("cpu-30min"),
    }


def measure(configs: dict[str, TrainConfig], data, *, rounds: int = 3, steps: int = 12) -> pd.DataFrame | None:
    """One row per network: median images/s per policy, their ratio, the choice; None without a mixed policy."""
    speeds: dict[str, dict[str, list[float]]] = {name: {} for name in configs}
    for _ in range(rounds):
        for name, config in configs.items():
            x, y = data.x_train[: config.batch_size], data.y_train[: config.batch_size]
            _, record = measure_precision(config, x, y, data.num_classes, steps=steps)
            if "images_per_second" not in record:  # float32 only: nothing to compare
                return None
            for policy, rate in record["images_per_second"].items():
                speeds[name].setdefault(policy, []).append(rate)
    rows = []
    for name in configs:
        mixed = next(policy for policy in speeds[name] if policy != "float32")
        float32_rate = statistics.median(speeds[name]["float32"])
        mixed_rate = statistics.median(speeds[name][mixed])
        rows.append(
            {
                "network": name,
                "batch": configs[name].batch_size,
                "float32 img/s": round(float32_rate),
                "mixed policy": mixed,
                "mixed img/s": round(mixed_rate),
                "ratio": round(mixed_rate / float32_rate, 2),
                "auto (on the medians)": mixed if mixed_rate >= MIXED_MIN_SPEEDUP * float32_rate else "float32",
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    choices = networks()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help=f"networks to measure (default: all): {', '.join(choices)}")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved measurements per network and policy")
    parser.add_argument("--steps", type=int, default=12, help="timed training steps per measurement (median kept)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in choices]
    if unknown:
        print(f"Unknown network {unknown[0]!r}; valid names: {', '.join(choices)}.", file=sys.stderr)
        return 2
    if args.rounds < 1 or args.steps < 1:
        print("--rounds and --steps must be at least 1.", file=sys.stderr)
        return 2

    data = load_fashion_mnist(validation_size=5000)
    env = environment.describe()
    print(
        f"benchmarks/precision.py: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC | {env['device']} | "
        f"backend {env['backend']} | {args.rounds} rounds x {args.steps} steps",
        flush=True,
    )
    configs = {name: choices[name] for name in args.names or choices}
    table = measure(configs, data, rounds=args.rounds, steps=args.steps)
    if table is None:
        print("Nothing to compare: this machine has no bfloat16/float16 support, so precision auto is float32.")
        return 0
    with pd.option_context("display.width", 200):
        print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
