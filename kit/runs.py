"""The run folder (``runs/<name>/``): its file names, reading and writing them, the best epoch.

A run folder is the unit a user keeps (DESIGN.md): ``config.json`` (the TrainConfig, the
environment and how training went), ``history.csv`` (one row per epoch), ``model.keras`` (the
best epoch), ``metrics.json`` (the test-set evaluation), ``report.md`` and PNG plots. kit.train
writes it, kit.evaluate / kit.report / kit.tune / the homework runner read it; everything
here is the one place that knows its layout. ``run_data`` rebuilds the data a run used from
its config, so that a report is re-creatable from the folder alone.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from kit.data import FashionMNIST, load_fashion_mnist
from kit.files import read_json, write_json

CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
# metrics.json entries kit.train adds beside the Evaluation contract (test-time augmentation figures)
TRAIN_METRICS = ("tta", "without_tta")
CURVES_FILE = "training_curves.png"
BACKUP_DIR = "backup"  # keras.callbacks.BackupAndRestore's state: what --resume continues from
TENSORBOARD_DIR = "tensorboard"
# Files a fresh (not resumed) run replaces.
RUN_FILES = (HISTORY_FILE, MODEL_FILE, METRICS_FILE, CURVES_FILE, CONFIG_FILE)
HISTORY_COLUMNS = (
    "epoch",
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "val_macro_f1",
    "learning_rate",
    "epoch_seconds",
    "images_per_second",
)
# Metrics where larger is better; anything else (val_loss, ...) is minimised.
_MAXIMISED = ("accuracy", "macro_f1", "f1", "auc", "precision", "recall")


def check_run_dir(run_dir: str | os.PathLike) -> Path:
    """``run_dir`` as a Path; ``ValueError`` when it is not a folder."""
    path = Path(run_dir)
    if not path.is_dir():
        raise ValueError(f"run folder '{run_dir}' does not exist; pass a folder written by `python -m kit train`.")
    return path


# --------------------------------------------------------------------------- config.json
def read_record(run_dir: str | os.PathLike) -> dict[str, Any]:
    """config.json as {"config": ..., "environment": ..., "training": ...} (each {} when absent or no file)."""
    path = Path(run_dir) / CONFIG_FILE
    record = read_json(path, fix="re-create it with `python -m kit report`") if path.is_file() else {}
    if not isinstance(record, dict):
        raise ValueError(f"'{path}' must hold a JSON object; re-train the run.")
    return {**record, **{key: dict(record.get(key) or {}) for key in ("config", "environment", "training")}}


def write_record(run_dir: str | os.PathLike, record: Mapping[str, Any]) -> Path:
    """Write config.json (atomically: a killed run never leaves half a file)."""
    return write_json(Path(run_dir) / CONFIG_FILE, dict(record))


def previous_run(run_dir: str | os.PathLike) -> tuple[dict, str | None]:
    """The "training" part and the precision of an earlier run's config.json ({} and None if unreadable)."""
    try:
        saved = json.loads((Path(run_dir) / CONFIG_FILE).read_text(encoding="utf-8"))
        return dict(saved.get("training") or {}), (saved.get("environment") or {}).get("precision")
    except (OSError, ValueError, AttributeError, TypeError):
        return {}, None


# --------------------------------------------------------------------------- history.csv
def read_history(path: str | os.PathLike) -> pd.DataFrame:
    """history.csv (a run folder or the file) with the kit's columns first; empty when there is none yet."""
    path = Path(path)
    if path.is_dir():
        path = path / HISTORY_FILE
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame(columns=list(HISTORY_COLUMNS))
    history = pd.read_csv(path)
    first = [c for c in HISTORY_COLUMNS if c in history.columns]
    return history[first + [c for c in history.columns if c not in first]]


def backup_epoch(run_dir: str | os.PathLike) -> int:
    """Epochs finished according to BackupAndRestore's state in run_dir/backup (0 when none)."""
    for name in ("training_metadata.json", "training_metadata.json.bkp"):
        path = Path(run_dir) / BACKUP_DIR / name
        if path.is_file():
            try:
                return int(json.loads(path.read_text(encoding="utf-8"))["epoch"])
            except (ValueError, KeyError):
                continue
    return 0


def trim_history(run_dir: str | os.PathLike, epochs_done: int) -> None:
    """Keep only the rows of epochs BackupAndRestore can restore (a kill may fall between the two writes)."""
    path = Path(run_dir) / HISTORY_FILE
    history = read_history(path)
    if len(history) and "epoch" in history.columns:
        kept = history[history["epoch"] <= epochs_done].drop_duplicates("epoch", keep="last")
        if len(kept) != len(history):
            kept.to_csv(path, index=False)


def clear(run_dir: str | os.PathLike) -> None:
    """Remove what a fresh run replaces (RUN_FILES and the resume state, else BackupAndRestore would resume it)."""
    run_dir = Path(run_dir)
    for name in RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)
    shutil.rmtree(run_dir / BACKUP_DIR, ignore_errors=True)


# --------------------------------------------------------------------------- the best epoch
def monitor_mode(monitor: str) -> str:
    """'max' for accuracy/F1-like metrics, 'min' for losses (Keras' mode='auto' cannot tell for our own metrics)."""
    return "max" if monitor.endswith(_MAXIMISED) else "min"


def best_row(history: pd.DataFrame, monitor: str) -> pd.Series | None:
    """The history row of the best epoch by ``monitor`` (first of equals), or None without that metric."""
    if monitor not in history.columns or history[monitor].dropna().empty:
        return None
    column = history[monitor].astype(float)
    index = column.idxmax() if monitor_mode(monitor) == "max" else column.idxmin()
    return history.loc[index]


def best_epoch(history: pd.DataFrame, monitor: str) -> tuple[int | None, float | None]:
    """(epoch, value) of the best epoch by ``monitor``; (None, None) without that metric."""
    row = best_row(history, monitor)
    if row is None:
        return None, None
    return int(row["epoch"]), float(row[monitor])


# --------------------------------------------------------------------------- metrics.json
def write_metrics(run_dir: str | os.PathLike, evaluation) -> Path:
    """metrics.json from a ``kit.evaluate.Evaluation`` (its ``to_dict()`` contract) or a ready dict."""
    payload = evaluation if isinstance(evaluation, Mapping) else evaluation.to_dict()
    return write_json(Path(run_dir) / METRICS_FILE, payload)


def read_metrics(run_dir: str | os.PathLike) -> dict[str, Any]:
    """metrics.json; ``ValueError`` saying how to create it when it is missing."""
    path = check_run_dir(run_dir) / METRICS_FILE
    if not path.is_file():
        raise ValueError(
            f"run folder '{run_dir}' has no {METRICS_FILE}; create it with `python -m kit report {run_dir}`."
        )
    return read_json(path, fix="re-create it with `python -m kit report`")


# --------------------------------------------------------------------------- the data of a run
def run_data(config: Mapping[str, Any], data: FashionMNIST | None = None, data_dir=None) -> FashionMNIST:
    """The data a run with this config (a TrainConfig's dict) trains and is tested on.

    ``data`` (default: the real files, ``validation_size`` held out with ``seed``) cut to the
    stratified ``train_size`` / ``test_size`` subset the config asks for, as kit.train does.
    """
    seed = int(config.get("seed", 0) or 0)
    if data is None:
        data = load_fashion_mnist(data_dir, validation_size=int(config.get("validation_size", 5000)), seed=seed)
    train_size, test_size = config.get("train_size"), config.get("test_size")
    if train_size or test_size:
        data = data.subset(train=train_size or len(data.y_train), val=None, test=test_size, seed=seed)
    if len(data.y_train) == 0:
        raise ValueError("the training set is empty; check train_size and the dataset.")
    return data
