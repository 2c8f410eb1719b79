"""kit.report: run-folder report (report.md, metrics.json, PNGs), plots, compare, the CLI commands."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kit.cli import main
from kit.evaluate import from_probabilities
from kit.report import (
    PICTURES,
    compare,
    markdown_table,
    metrics_tables,
    plot_confusion_matrix,
    plot_learning_rate,
    plot_per_class_f1,
    plot_top_losses,
    plot_training_curves,
    write_report,
)

REPO = Path(__file__).resolve().parent.parent
METRICS_KEYS = {"accuracy", "macro_f1", "weighted_f1", "per_class", "confusion_matrix", "most_confused", "n_test"}


def _assert_png(path: Path, min_bytes: int = 5_000, min_side: int = 200) -> None:
    from PIL import Image

    assert path.is_file(), f"{path.name} was not written"
    assert path.stat().st_size >= min_bytes, f"{path.name} is suspiciously small"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert min(image.size) >= min_side
        # not a blank canvas: more than a handful of distinct colours
        assert len(image.convert("L").getcolors(maxcolors=256 * 256) or range(257)) > 8


@pytest.fixture(scope="module")
def run_folder(small_fashion_mnist, tmp_path_factory) -> Path:
    """A real run folder per docs/architecture.md: a tiny CNN fitted for 2 epochs on 2,000 images.

    Written here, not by kit.train, so that these tests pin the folder contract itself.
    """
    import keras
    from sklearn.metrics import f1_score

    from kit import environment

    data = small_fashion_mnist
    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28, 1), name="image")
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs, outputs, name="tiny_cnn")
    model.compile(optimizer=keras.optimizers.Adam(0.003), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    macro_f1, seconds = [], []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)
            pred = self.model.predict(data.x_val, verbose=0).argmax(axis=1)
            macro_f1.append(f1_score(data.y_val, pred, average="macro"))

    fit = model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=2,
        batch_size=64,
        verbose=0,
        callbacks=[Record()],
    )
    run = tmp_path_factory.mktemp("runs") / "tiny_cnn"
    run.mkdir()
    model.save(run / "model.keras")
    history = pd.DataFrame(fit.history)
    history.insert(0, "epoch", [1, 2])
    history["val_macro_f1"] = macro_f1
    history["learning_rate"] = [0.003, 0.0015]
    history["epoch_seconds"] = seconds
    history["images_per_second"] = len(data.y_train) / np.array(seconds)
    history = history[
        [
            "epoch",
            "loss",
            "accuracy",
            "val_loss",
            "val_accuracy",
            "val_macro_f1",
            "learning_rate",
            "epoch_seconds",
            "images_per_second",
        ]
    ]
    history.to_csv(run / "history.csv", index=False)
    record = {
        "config": {
            "model": "tiny_cnn",
            "epochs": 2,
            "batch_size": 64,
            "optimizer": "adam",
            "lr": 0.003,
            "seed": 0,
            "validation_size": 5000,
            "augment": [],
        },
        "environment": {**environment.describe(), "precision": "float32"},
        "training": {
            "epochs": 2,
            "best_epoch": 2,
            "train_seconds": float(sum(seconds)),
            "images_per_second": float(2 * len(data.y_train) / sum(seconds)),
            "stop_reason": "completed",
        },
    }
    (run / "config.json").write_text(json.dumps(record, indent=2))
    return run


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    following = text.find("\n#### ", start + len(heading))
    return text[start : following if following != -1 else None]


# --------------------------------------------------------------------------- write_report
@pytest.mark.slow
def test_write_report_writes_every_file_and_its_numbers_match_metrics_json(run_folder, small_fashion_mnist):
    path = write_report(run_folder, small_fashion_mnist)
    assert path == run_folder / "report.md"
    metrics = json.loads((run_folder / "metrics.json").read_text())
    assert set(metrics) == METRICS_KEYS | {"params", "flops"}
    assert metrics["n_test"] == len(small_fashion_mnist.y_test) == sum(r["support"] for r in metrics["per_class"])
    assert np.array(metrics["confusion_matrix"]).sum() == metrics["n_test"]
    assert metrics["accuracy"] > 0.5  # the tiny CNN learnt something: a real run, not noise
    for name in PICTURES.values():
        _assert_png(run_folder / name)

    text = path.read_text()
    for heading in (
        "## Configuration",
        "## Training",
        "## Model",
        "## Test-set metrics",
        "## Top losses",
        "#### Most-confused pairs",
    ):
        assert heading in text
    for name in PICTURES.values():
        assert f"]({name})" in text  # every picture is shown
    # The numbers in the text are the numbers in metrics.json.
    assert f"test accuracy **{metrics['accuracy']:.4f}**, macro-F1 **{metrics['macro_f1']:.4f}**" in text
    summary = _section(text, "#### Summary")
    assert f"| accuracy | {metrics['accuracy']:.4f} |" in summary
    assert f"| macro-F1 | {metrics['macro_f1']:.4f} |" in summary
    assert f"| weighted F1 | {metrics['weighted_f1']:.4f} |" in summary
    per_class = _section(text, "#### Per class")
    for row in metrics["per_class"]:
        expected = (
            f"| {row['class']} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1']:.4f} | {row['support']:,} |"
        )
        assert expected in per_class
    confused = _section(text, "#### Most-confused pairs")
    top = metrics["most_confused"][0]
    first_row = [line for line in confused.splitlines() if line.startswith("| ") and "---" not in line][1]
    assert first_row.startswith(f"| {top['true']} | {top['predicted']} | {top['count']:,} |")
    assert f"{metrics['params']:,} parameters" in text
    config = json.loads((run_folder / "config.json").read_text())
    assert "| best epoch | 2 |" in text and "| stop reason | completed |" in text
    assert f"| backend | {config['environment']['backend']} |" in text
    # the model table: one row per layer, with its type, output shape, parameters and multiply-adds
    model_table = _section(text, "## Model")
    assert "| conv | conv | Conv2D | (26, 26, 8) | 80 | 48,672 |" in model_table  # 3*3*8+8; 26*26*8*9
    assert "| probabilities | probabilities | Dense | (10,) | 13,530 | 13,520 |" in model_table


@pytest.mark.slow
def test_cli_report_recreates_the_report_from_the_folder_alone(run_folder, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(run_folder, copy, ignore=shutil.ignore_patterns("*.png", "*.md", "metrics.json"))
    record = json.loads((copy / "config.json").read_text())
    record["config"].update(train_size=2000, test_size=500)  # a smoke run: evaluated on a test subset
    (copy / "config.json").write_text(json.dumps(record))
    assert main(["report", str(copy)]) == 0
    assert "report.md" in capsys.readouterr().out
    metrics = json.loads((copy / "metrics.json").read_text())
    assert metrics["n_test"] == 500  # the real test set, loaded and subset by the report itself
    assert [row["support"] for row in metrics["per_class"]] == [50] * 10  # stratified
    assert (copy / "report.md").is_file()
    _assert_png(copy / PICTURES["confusion_matrix"])


@pytest.mark.slow
def test_cli_report_without_model_exits_2_with_one_sentence(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"config": {}, "environment": {}, "training": {}}))
    done = subprocess.run(
        [sys.executable, "-m", "kit", "report", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "has no model.keras" in lines[0]
    assert main(["report", str(tmp_path / "missing")]) == 2


# --------------------------------------------------------------------------- plots and tables
@pytest.mark.slow
def test_plot_functions_write_valid_pngs(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 5)
    probs = rng.dirichlet(np.ones(10), size=50)
    ev = from_probabilities(probs, y)
    history = pd.DataFrame(
        {
            "loss": np.linspace(2, 0.5, 12) + rng.normal(0, 0.1, 12),
            "accuracy": np.linspace(0.3, 0.9, 12),
            "val_loss": np.linspace(2, 0.7, 12),
            "val_accuracy": np.linspace(0.3, 0.85, 12),
        }
    )
    _assert_png(plot_training_curves(history, tmp_path / "curves.png", best_epoch=10))
    _assert_png(plot_training_curves({"loss": [1.0, 0.5]}, tmp_path / "dict.png"), min_bytes=3_000)
    with pytest.raises(ValueError, match="no learning_rate column"):
        plot_learning_rate(history, tmp_path / "lr.png")
    history["learning_rate"] = 0.1 * 0.5 ** np.arange(12)
    _assert_png(plot_learning_rate(history, tmp_path / "lr.png"))
    _assert_png(plot_confusion_matrix(ev, tmp_path / "cm.png"))
    _assert_png(plot_confusion_matrix(ev, tmp_path / "cm_norm.png", normalize=True))
    _assert_png(plot_per_class_f1(ev, tmp_path / "f1.png"))
    x = rng.random((50, 28, 28, 1)).astype(np.float32)
    _assert_png(plot_top_losses(ev, x, tmp_path / "top.png", n=9))
    with pytest.raises(ValueError, match="x has 3 images but the evaluation has 50"):
        plot_top_losses(ev, x[:3], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="history is empty"):
        plot_training_curves(pd.DataFrame(), tmp_path / "empty.png")


def test_metrics_tables_and_markdown_table():
    y = np.array([0, 0, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 1])
    probs = np.eye(3)[pred] * 0.8 + 0.2 / 3
    ev = from_probabilities(probs, y, ["a|b", "c", "d"])
    text = metrics_tables(ev)
    assert "| accuracy | 0.6000 |" in text
    assert "| d | 0.0000 | 0.0000 | 0.0000 | 1 |" in text  # the never-predicted class: F1 0
    assert "| a\\|b | c | 1 | 50.0% |" in text  # pipes in names are escaped
    frame = pd.DataFrame({"name": ["x"], "value": [0.123456], "n": [1234]})
    assert markdown_table(frame).splitlines() == ["| name | value | n |", "|---|---:|---:|", "| x | 0.1235 | 1,234 |"]


# --------------------------------------------------------------------------- compare
def _fake_run(root: Path, name: str, correct: int, model: str) -> Path:
    """A run folder holding only what compare reads, with metrics from real Evaluation.to_dict()."""
    run = root / name
    run.mkdir()
    y = np.repeat(np.arange(10), 10)
    pred = y.copy()
    pred[correct:] = (pred[correct:] + 1) % 10
    metrics = from_probabilities(np.eye(10)[pred] * 0.9 + 0.01, y).to_dict()
    metrics.update(params=1000 + correct, flops=None)
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "config.json").write_text(
        json.dumps({"config": {"model": model}, "environment": {}, "training": {"epochs": 3, "train_seconds": 12.5}})
    )
    return run


def test_compare_sorts_by_macro_f1_and_writes_tables(tmp_path, capsys):
    runs = [
        _fake_run(tmp_path, "mid", 60, "lenet5"),
        _fake_run(tmp_path, "low", 20, "cnn_mnist"),
        _fake_run(tmp_path, "high", 90, "resnet"),
    ]
    frame = compare(runs)
    assert list(frame["model"]) == ["resnet", "lenet5", "cnn_mnist"]
    assert frame["macro_f1"].is_monotonic_decreasing
    from kit.data import CLASS_NAMES

    assert list(frame.columns) == [
        "run",
        "model",
        "params",
        "epochs",
        "time_s",
        "accuracy",
        "macro_f1",
        *(f"F1 {c}" for c in CLASS_NAMES),
    ]
    assert list(frame["params"]) == [1090, 1060, 1020] and list(frame["epochs"]) == [3, 3, 3]

    out_csv, out_md = tmp_path / "table.csv", tmp_path / "table.md"
    assert main(["compare", *map(str, runs), "--out", str(out_csv)]) == 0
    printed = capsys.readouterr().out
    assert printed.index("resnet") < printed.index("lenet5") < printed.index("cnn_mnist")
    assert list(pd.read_csv(out_csv)["model"]) == ["resnet", "lenet5", "cnn_mnist"]
    assert main(["compare", *map(str, runs), "--out", str(out_md)]) == 0
    assert re.search(r"^\| run \| model \| params \|", out_md.read_text(), re.M)
    assert main(["compare", *map(str, runs), "--out", str(tmp_path / "table.txt")]) == 2
    assert "valid: .csv, .md" in capsys.readouterr().err
    empty = tmp_path / "untrained"
    empty.mkdir()
    with pytest.raises(ValueError, match="has no metrics.json"):
        compare([runs[0], empty])
