"""Does the kit slow training down? The homework CNN, plain ``model.fit`` vs ``kit.train``, same data.

Both runs use the same model (``kit.models.build("cnn_mnist")``), optimizer (Adam 1e-3), batch
size, precision policy, seed and data (the 55,000/5,000 Fashion-MNIST split), and both validate
every epoch. Two figures per run:

* training images/second: training images / seconds of the training phase of an epoch (epoch
  start to the start of validation), median over the epochs after the first (the first one
  traces the graph);
* fit images/second: epochs x training images / wall time of the whole ``model.fit`` call,
  i.e. including graph tracing, validation and everything the kit's callbacks do each epoch
  (validation macro-F1, best checkpoint, backup for --resume, history.csv).

The kit's figure for the first is its own history.csv column; the plain run is timed by the
small callback below. Run on a quiet machine: ``make benchmark`` or
``python benchmarks/throughput.py --epochs 3``. Target: kit / plain >= 0.97.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402

from kit import environment  # noqa: E402
from kit.data import load_fashion_mnist  # noqa: E402
from kit.models import build  # noqa: E402
from kit.train import preset, train  # noqa: E402


class _TrainPhaseTimer(keras.callbacks.Callback):
    """Seconds of each epoch's training phase (until validation starts) - for the plain run only."""

    def __init__(self):
        super().__init__()
        self.seconds, self._start, self._end = [], None, None

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._end = time.perf_counter(), None

    def on_test_begin(self, logs=None):
        if self._end is None:
            self._end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append((self._end or time.perf_counter()) - self._start)


def plain_fit(data, *, epochs: int, batch_size: int, precision: str, seed: int) -> dict:
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        environment.set_seed(seed)
        model = build("cnn_mnist", input_shape=data.input_shape, num_classes=data.num_classes)
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        timer = _TrainPhaseTimer()
        start = time.perf_counter()
        model.fit(
            data.x_train,
            data.y_train,
            batch_size=batch_size,
            epochs=epochs,
            validation_data=(data.x_val, data.y_val),
            callbacks=[timer],
            verbose=0,
        )
        fit_seconds = time.perf_counter() - start
    finally:
        keras.config.set_dtype_policy(previous)
    n = len(data.y_train)
    return {
        "train_images_per_second": statistics.median(n / s for s in timer.seconds[1:] or timer.seconds),
        "fit_images_per_second": epochs * n / fit_seconds,
        "fit_seconds": fit_seconds,
    }


def kit_train(data, *, epochs: int, batch_size: int, precision: str, seed: int, out: Path) -> dict:
    config = preset(
        "quick",
        name="throughput",
        epochs=epochs,
        batch_size=batch_size,
        precision=precision,
        seed=seed,
        schedule="constant",
        patience=None,
    )
    run = train(config, data=data, out=out, verbose=0)
    rates = list(run.history["images_per_second"])
    n = len(data.y_train)
    return {
        "train_images_per_second": statistics.median(rates[1:] or rates),
        "fit_images_per_second": epochs * n / run.train_seconds,
        "fit_seconds": run.train_seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="alternate plain/kit this many times each and keep each one's best (a busy machine only slows runs down)",
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--precision", default="float32", help="float32, mixed_bfloat16 or mixed_float16 (both runs)")
    parser.add_argument("--train-size", type=int, help="a stratified subset of the 55,000 training images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    data = load_fashion_mnist(seed=args.seed)
    if args.train_size:
        data = data.subset(train=args.train_size, seed=args.seed)
    env = environment.describe()
    print(
        f"{env['backend']} | {env['device']} | keras {env['versions'].get('keras')} | precision {args.precision} | "
        f"{len(data.y_train)} training / {len(data.y_val)} validation images | batch {args.batch_size} | "
        f"{args.epochs} epochs | best of {args.repeats}",
        flush=True,
    )
    common = dict(epochs=args.epochs, batch_size=args.batch_size, precision=args.precision, seed=args.seed)
    trials: dict[str, list[dict]] = {"plain": [], "kit": []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            order = ("plain", "kit") if repeat % 2 == 0 else ("kit", "plain")  # neither always goes first
            for name in order:
                if name == "plain":
                    result = plain_fit(data, **common)
                else:
                    result = kit_train(data, **common, out=Path(tmp) / f"run{repeat}")
                trials[name].append(result)
                print(
                    f"  {name:5s} run {repeat + 1}: {result['train_images_per_second']:8.1f} training images/s, "
                    f"{result['fit_images_per_second']:8.1f} fit images/s",
                    flush=True,
                )
    keys = ("train_images_per_second", "fit_images_per_second")
    best = {name: {key: max(t[key] for t in runs) for key in keys} for name, runs in trials.items()}
    ratios = {key: best["kit"][key] / best["plain"][key] for key in keys}
    print(
        f"plain model.fit: {best['plain'][keys[0]]:8.1f} training images/s, {best['plain'][keys[1]]:8.1f} fit images/s"
    )
    print(f"kit.train:       {best['kit'][keys[0]]:8.1f} training images/s, {best['kit'][keys[1]]:8.1f} fit images/s")
    print(
        f"ratio kit/plain: {ratios[keys[0]]:8.3f} (training)          {ratios[keys[1]]:8.3f} (whole fit)   "
        "target >= 0.97"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"environment": env, "args": vars(args), "trials": trials, "best": best, "ratio": ratios}, indent=2
            )
            + "\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
