"""Time to accuracy: the kit's named recipes (``kit.recipes``) against a plain-Keras ResNet, in one run.

Every recipe (or those named on the command line) is trained with ``kit.train`` on the
55,000/5,000 Fashion-MNIST split, and the reference (``plain_keras_resnet``: a ResNet written in
plain Keras, 6 basic blocks of width 32, flip + shift, AdamW with warm-up + cosine; issue 12) with
a plain ``model.fit``. After every epoch a callback evaluates the test set (accuracy and macro-F1;
with the recipe's test-time augmentation when it has one) and logs it against the wall seconds
since the run began (data on hand; precision measurement, model build, graph tracing, training
and validation counted, the test evaluation itself not). Nothing is chosen on the test set: the
recipes pick their best epoch on validation; the test curve is only reported.

Prints the time to test macro-F1 0.90 / 0.92 / 0.93 / 0.94 / 0.945 for each run and its ratio
to the reference; writes ``curves.csv`` (one row per epoch), ``summary.csv`` and
``time_to_accuracy.png`` (seconds on x, test macro-F1 on y, one curve per run) to ``--out``.

    python benchmarks/recipes.py                        # every recipe + the reference (hours on 2 cores)
    python benchmarks/recipes.py cpu-10min --no-reference
    python benchmarks/recipes.py --ablate cpu-10min     # each trick removed in turn: its cost
    python benchmarks/recipes.py --smoke                # wiring check: tiny subset, 1 epoch
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from kit import environment  # noqa: E402
from kit.data import load_fashion_mnist  # noqa: E402
from kit.errors import TrainingError  # noqa: E402
from kit.evaluate import evaluate, tta  # noqa: E402
from kit.recipes import ablations, available, recipe  # noqa: E402
from kit.runs import read_metrics  # noqa: E402
from kit.train import TrainConfig, train, tta_shifts  # noqa: E402

THRESHOLDS = (0.90, 0.92, 0.93, 0.94, 0.945, 0.95, 0.955)  # test macro-F1
ACCURACY_THRESHOLDS = (0.94, 0.95)  # test accuracy (the GPU goals, issue 13)
REFERENCE = "plain-keras-resnet"


class TestCurve(keras.callbacks.Callback):
    """After each epoch: test accuracy and macro-F1 against wall seconds since construction.

    The seconds of its own test evaluation are left out of the clock, so the curve shows what
    training costs. Reporting only: nothing reads these figures to choose an epoch.
    """

    def __init__(self, name: str, x_test, y_test, *, use_tta: bool = False, shifts: bool = False):
        super().__init__()
        self.name, self.x_test, self.y_test, self.use_tta, self.shifts = name, x_test, y_test, use_tta, shifts
        self.rows: list[dict] = []
        self._start = time.perf_counter()
        self._paused = 0.0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        if self.use_tta:  # the same views as the run's final figure (kit.train.tta_shifts)
            scored = tta(self.model, self.x_test, self.y_test, shifts=self.shifts)
        else:
            scored = evaluate(self.model, self.x_test, self.y_test)
        self.rows.append(
            {
                "run": self.name,
                "epoch": epoch + 1,
                "seconds": now - self._start - self._paused,
                "test_accuracy": scored.accuracy,
                "test_macro_f1": scored.macro_f1,
                "val_macro_f1": (logs or {}).get("val_macro_f1", math.nan),
            }
        )
        self._paused += time.perf_counter() - now
        row = self.rows[-1]
        print(
            f"  {self.name} epoch {row['epoch']}: {row['seconds']:.0f} s, test accuracy {row['test_accuracy']:.4f}, "
            f"macro-F1 {row['test_macro_f1']:.4f}",
            flush=True,
        )


# --------------------------------------------------------------------------- the reference
def plain_keras_resnet(input_shape=(28, 28, 1), num_classes: int = 10, width: int = 32) -> keras.Model:
    """The issue's reference in plain Keras: stem conv, 3 stages x 2 basic blocks (width, 2w, 4w), GAP, softmax.

    Flip + shift augmentation layers in front (698,282 parameters at width 32; He et al. 2016).
    """
    layers = keras.layers

    def conv_bn(x, filters, kernel=3, strides=1, relu=True):
        x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x) if relu else x

    inputs = keras.Input(shape=input_shape)
    x = layers.RandomFlip("horizontal")(inputs)
    x = layers.RandomTranslation(0.1, 0.1, fill_mode="constant")(x)
    x = conv_bn(x, width)
    for stage in range(3):
        filters = width * 2**stage
        for block in range(2):
            strides = 2 if stage and not block else 1
            shortcut = x
            if strides != 1 or x.shape[-1] != filters:
                shortcut = conv_bn(x, filters, 1, strides, relu=False)
            h = conv_bn(x, filters, 3, strides)
            h = conv_bn(h, filters, 3, relu=False)
            x = layers.ReLU()(layers.Add()([shortcut, h]))
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="plain_keras_resnet")


def train_reference(data, *, epochs: int, batch_size: int = 128, learning_rate: float = 2e-3, seed: int = 0) -> dict:
    """``plain_keras_resnet`` with AdamW (weight decay 1e-4), 1 epoch linear warm-up then cosine, plain ``fit``."""
    curve = TestCurve(REFERENCE, data.x_test, data.y_test)
    keras.utils.set_random_seed(seed)
    model = plain_keras_resnet(data.input_shape, data.num_classes)
    steps = math.ceil(len(data.y_train) / batch_size)
    warmup = min(steps, steps * epochs - 1)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=steps * epochs - warmup, warmup_target=learning_rate, warmup_steps=warmup
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=1e-4),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        data.x_train,
        data.y_train,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(data.x_val, data.y_val),
        callbacks=[curve],
        verbose=0,
    )
    final = curve.rows[-1]
    return {
        "run": REFERENCE,
        "rows": curve.rows,
        "params": model.count_params(),
        "final_accuracy": final["test_accuracy"],
        "final_macro_f1": final["test_macro_f1"],
        "seconds": final["seconds"],
    }


# --------------------------------------------------------------------------- recipes
def train_recipe(name: str, config: TrainConfig, data, out: Path) -> dict:
    """One ``kit.train`` run with the test curve; its final figures are those of the best-validation epoch."""
    # the curve scores the same views as the run's final figure: mirror (tta_in_model), + shifts (tta)
    curve = TestCurve(
        name,
        data.x_test,
        data.y_test,
        use_tta=config.tta or config.tta_in_model,
        shifts=config.tta and tta_shifts(config),
    )
    run = train(config, data, out / name, callbacks=[curve], verbose=0)
    final = run.tta_evaluation or run.evaluation
    single = read_metrics(run.run_dir).get("without_tta", {}) if config.tta_in_model else {}
    return {
        "run": name,
        "rows": curve.rows,
        "params": run.model.count_params(),
        "final_accuracy": final.accuracy,
        "final_macro_f1": final.macro_f1,
        "plain_macro_f1": single.get("macro_f1", run.evaluation.macro_f1),  # the network without TTA
        "seconds": curve.rows[-1]["seconds"] if curve.rows else run.train_seconds,
    }


def time_to(rows: list[dict], threshold: float, metric: str = "test_macro_f1") -> float:
    """Seconds at the first epoch whose ``metric`` reaches ``threshold`` (NaN if none does)."""
    return next((r["seconds"] for r in rows if r[metric] >= threshold), math.nan)


def startup_seconds(rows: list[dict]) -> float:
    """The first epoch's extra seconds over a typical epoch: tracing/compiling, the precision
    measurement and building the model (NaN with fewer than three epochs)."""
    if len(rows) < 3:
        return math.nan
    later = np.diff([r["seconds"] for r in rows[1:]])
    return max(rows[0]["seconds"] - float(np.median(later)), 0.0)


def summarise(results: list[dict]) -> pd.DataFrame:
    reference = next((r for r in results if r["run"] == REFERENCE), None)
    table = []
    for result in results:
        row = {
            "run": result["run"],
            "params": result["params"],
            "epochs": len(result["rows"]),
            "seconds": round(result["seconds"], 1),
            "test_accuracy": round(result["final_accuracy"], 4),
            "test_macro_f1": round(result["final_macro_f1"], 4),
            "startup": round(startup_seconds(result["rows"]), 1),
        }
        for threshold in ACCURACY_THRESHOLDS:
            row[f"accuracy_t{threshold:g}"] = round(time_to(result["rows"], threshold, "test_accuracy"), 1)
        for threshold in THRESHOLDS:
            seconds = time_to(result["rows"], threshold)
            row[f"t{threshold:g}"] = round(seconds, 1)
            if reference is not None:
                ref = time_to(reference["rows"], threshold)
                row[f"ratio{threshold:g}"] = round(seconds / ref, 2) if ref == ref and seconds == seconds else math.nan
        table.append(row)
    return pd.DataFrame(table)


def plot(curves: pd.DataFrame, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for name, group in curves.groupby("run", sort=False):
        ax.plot(group["seconds"], group["test_macro_f1"], marker="o", label=name)
    for threshold in THRESHOLDS:
        ax.axhline(threshold, color="grey", linewidth=0.5, linestyle=":")
    ax.set_xlabel("wall seconds of training")
    ax.set_ylabel("test macro-F1")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def ablation_table(results: list[dict], full_name: str) -> pd.DataFrame:
    """Each "no <trick>" run against the full recipe: macro-F1 lost and seconds saved by removing it."""
    full = next(r for r in results if r["run"] == full_name)
    rows = []
    for result in results:
        rows.append(
            {
                "run": result["run"],
                "test_macro_f1": round(result["final_macro_f1"], 4),
                "delta_macro_f1": round(result["final_macro_f1"] - full["final_macro_f1"], 4),
                "seconds": round(result["seconds"], 1),
                "delta_seconds": round(result["seconds"] - full["seconds"], 1),
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("recipes", nargs="*", help=f"recipes to train (default: all): {', '.join(available())}")
    parser.add_argument("--ablate", metavar="RECIPE", help="train RECIPE and RECIPE with each trick removed in turn")
    parser.add_argument("--no-reference", action="store_true", help="skip the plain-Keras reference")
    parser.add_argument("--reference-epochs", type=int, default=10)
    parser.add_argument("--epochs", type=int, help="override every run's epochs (a short comparison)")
    parser.add_argument("--train-size", type=int, help="train on a stratified subset of this many images")
    parser.add_argument("--test-size", type=int, help="evaluate on a stratified subset of the test set")
    parser.add_argument("--precision", help="override the recipes' precision (default: theirs, i.e. auto)")
    parser.add_argument("--smoke", action="store_true", help="wiring check: 1,000 images, 1 epoch, float32")
    parser.add_argument("--out", default="runs/bench_recipes", help="folder for the runs, CSVs and the PNG")
    args = parser.parse_args(argv)

    names = args.recipes or ([] if args.ablate else available())
    for name in names + ([args.ablate] if args.ablate else []):
        if name not in available():
            print(f"Unknown recipe {name!r}; valid names: {', '.join(available())}.", file=sys.stderr)
            return 2
    overrides = {}
    if args.smoke:
        overrides.update(epochs=1, precision="float32")
    if args.epochs:
        overrides["epochs"] = args.epochs
    if args.precision:
        overrides["precision"] = args.precision
    train_size = 1000 if args.smoke and not args.train_size else args.train_size
    test_size = 500 if args.smoke and not args.test_size else args.test_size

    data = load_fashion_mnist(validation_size=5000)
    if train_size or test_size:
        data = data.subset(train=train_size or len(data.y_train), val=200 if args.smoke else None, test=test_size)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = environment.describe()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"benchmarks/recipes.py: {stamp} | {env.get('device')} | backend {env.get('backend')} | "
        f"{len(data.y_train)} training / {len(data.y_test)} test images",
        flush=True,
    )

    if args.ablate:
        runs = {args.ablate: recipe(args.ablate)} | {
            f"{args.ablate}-{label.replace(' ', '-')}": config for label, config in ablations(args.ablate).items()
        }
    else:
        runs = {name: recipe(name) for name in names}
    results = []
    for name, config in runs.items():
        config = config.replace(**overrides) if overrides else config
        if config.warmup_epochs >= config.epochs:
            config = config.replace(warmup_epochs=config.epochs / 2)
        print(f"{name}: {config.model} {config.model_options or ''}, {config.epochs} epochs", flush=True)
        try:
            results.append(train_recipe(name, config, data, out))
        except TrainingError as error:  # e.g. an ablation without BatchNorm diverging: a result, not a crash
            print(f"  {name}: {error}", flush=True)
            nan = math.nan
            results.append(
                {"run": name, "rows": [], "params": None, "final_accuracy": nan, "final_macro_f1": nan, "seconds": nan}
            )
    if not args.no_reference and not args.ablate:
        epochs = overrides.get("epochs", args.reference_epochs)
        print(f"{REFERENCE}: {epochs} epochs", flush=True)
        results.append(train_reference(data, epochs=epochs))

    columns = ["run", "epoch", "seconds", "test_accuracy", "test_macro_f1", "val_macro_f1"]
    curves = pd.DataFrame([row for result in results for row in result["rows"]], columns=columns)
    curves.to_csv(out / "curves.csv", index=False)
    summary = summarise(results)
    summary.to_csv(out / "summary.csv", index=False)
    plot(curves, out / "time_to_accuracy.png", f"Fashion-MNIST, {env.get('device')}, {stamp}")
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print("\ntime to test macro-F1 (seconds; ratio = recipe / reference):")
        print(summary.to_string(index=False))
        if args.ablate:
            table = ablation_table(results, args.ablate)
            table.to_csv(out / "ablation.csv", index=False)
            print(f"\nablation of {args.ablate} (each trick removed in turn):")
            print(table.to_string(index=False))
    print(f"\nwrote {out / 'curves.csv'}, {out / 'summary.csv'}, {out / 'time_to_accuracy.png'}")
    return 0


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    sys.exit(main())
