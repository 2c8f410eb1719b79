"""Test-set evaluation: predictions -> confusion matrix, per-class P/R/F1, top losses, ensembles, TTA.

A model is studied "with the confusion matrix and the F1 measure" (the lecture); every number
here comes from scikit-learn (``confusion_matrix``, ``precision_recall_fscore_support``,
``classification_report``), with sparse integer labels (Keras' own F1Score needs one-hot).
Ensembles average the members' probability distributions and then take the argmax (lecture
"Training networks, part 2": model ensembles, about +2%); test-time augmentation does the same
over augmented views of each test image (flips, small shifts: "test-time crops").
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
from sklearn.metrics import (
    classification_report,
    confusion_matrix,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)

from kit import models  # also registers the kit's custom layers for safe-mode loading
from kit.data import CLASS_NAMES
from kit.runs import MODEL_FILE

# Loss of an image whose true class got probability 0 is capped, as Keras' epsilon does.
_EPSILON = 1e-7


@dataclass(frozen=True)
class Evaluation:
    """Everything measured on one labelled set; ``to_dict()`` is the ``metrics.json`` contract.

    Confusion matrices have rows = true class, columns = predicted class (scikit-learn's
    orientation). ``top_losses`` lists test-image indices from the most to the least wrong
    (fastai's ``ClassificationInterpretation.top_losses``).
    """

    y_true: np.ndarray  # (N,) int64
    y_pred: np.ndarray  # (N,) int64, argmax of probabilities
    probabilities: np.ndarray  # (N, C) float64, rows sum to 1
    class_names: tuple[str, ...]
    accuracy: float
    top2_accuracy: float
    loss: float  # mean cross-entropy
    losses: np.ndarray  # (N,) per-image cross-entropy
    top_losses: np.ndarray  # (N,) indices, highest loss first
    confusion: np.ndarray  # (C, C) int64 counts
    confusion_normalized: np.ndarray  # (C, C) float64, each row sums to 1 (0 for absent classes)
    precision: np.ndarray  # (C,)
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray  # (C,) int64, true images per class
    macro_precision: float
    macro_recall: float
    macro_f1: float
    weighted_precision: float
    weighted_recall: float
    weighted_f1: float
    most_confused: list[tuple[int, int, int]]  # (true, predicted, count), count > 0, largest first
    report_text: str  # scikit-learn's classification_report
    params: int | None = None
    flops: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. {"ensemble_size": 3}

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_test(self) -> int:
        return int(len(self.y_true))

    def to_dict(self) -> dict[str, Any]:
        """The ``metrics.json`` contract (keys pinned by tests); ``params``/``flops`` only with a model."""
        names = self.class_names
        out: dict[str, Any] = {
            "accuracy": float(self.accuracy),
            "macro_f1": float(self.macro_f1),
            "weighted_f1": float(self.weighted_f1),
            "per_class": [
                {
                    "class": names[c],
                    "precision": float(self.precision[c]),
                    "recall": float(self.recall[c]),
                    "f1": float(self.f1[c]),
                    "support": int(self.support[c]),
                }
                for c in range(self.num_classes)
            ],
            "confusion_matrix": [[int(v) for v in row] for row in self.confusion],
            "most_confused": [
                {"true": names[t], "predicted": names[p], "count": int(n)} for t, p, n in self.most_confused
            ],
            "n_test": self.n_test,
        }
        if self.params is not None:
            out["params"] = int(self.params)
            out["flops"] = None if self.flops is None else int(self.flops)
        return out

    def top_loss_table(self, n: int = 16) -> pd.DataFrame:
        """The ``n`` most wrong images as a DataFrame: index, true, predicted, probability, loss."""
        idx = self.top_losses[:n]
        return pd.DataFrame(
            {
                "index": idx,
                "true": [self.class_names[c] for c in self.y_true[idx]],
                "predicted": [self.class_names[c] for c in self.y_pred[idx]],
                "p(predicted)": self.probabilities[idx, self.y_pred[idx]],
                "p(true)": self.probabilities[idx, self.y_true[idx]],
                "loss": self.losses[idx],
            }
        )


# --------------------------------------------------------------------------- input checks
def _check_labels(y, n_classes: int | None = None) -> np.ndarray:
    """Sparse integer labels (N,); one-hot (N, C) rows are turned into their argmax."""
    y = np.asarray(y)
    if y.size == 0:
        raise ValueError("y is empty; pass at least one labelled image.")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2 and y.shape[1] > 1:  # one-hot
        y = y.argmax(axis=1)
    if y.ndim != 1:
        raise ValueError(f"y must be integer class labels of shape (N,) or one-hot (N, C); got shape {y.shape}.")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError(f"y must hold integer class labels; got dtype {y.dtype} with non-integer values.")
    y = y.astype(np.int64)
    if n_classes is not None:
        bad = (y < 0) | (y >= n_classes)
        if bad.any():
            raise ValueError(
                f"labels must lie in [0, {n_classes}); found {int(y[bad][0])} ({int(bad.sum())} label(s) out of range)."
            )
    return y


def _check_probabilities(probabilities, n: int | None = None) -> np.ndarray:
    p = np.asarray(probabilities, dtype=np.float64)
    if p.size == 0:
        raise ValueError("probabilities are empty; pass at least one image's prediction.")
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probabilities must have shape (N, num_classes) with num_classes >= 2; got shape {p.shape}.")
    if n is not None and p.shape[0] != n:
        raise ValueError(f"probabilities have {p.shape[0]} rows but y has {n} labels; they must match.")
    if not np.all(np.isfinite(p)):
        raise ValueError("probabilities contain NaN or infinity; the model diverged (lower the learning rate).")
    if np.any(p < 0) or np.any(np.abs(p.sum(axis=1) - 1.0) > 1e-2):
        raise ValueError(
            "probabilities must be non-negative and each row must sum to 1; "
            "does the model end in a softmax (not logits)?"
        )
    return p


def _check_images(x, n: int) -> np.ndarray:
    if x is None:
        raise ValueError("x is None; a model needs the test images to predict on.")
    x = np.asarray(x)
    if x.size == 0 or len(x) == 0:
        raise ValueError("x is empty; pass at least one image.")
    if len(x) != n:
        raise ValueError(f"x has {len(x)} images but y has {n} labels; they must match.")
    return x


def _class_names(class_names: Sequence[str] | None, n_classes: int) -> tuple[str, ...]:
    if class_names is None:
        return tuple(CLASS_NAMES) if n_classes == len(CLASS_NAMES) else tuple(str(c) for c in range(n_classes))
    names = tuple(str(c) for c in class_names)
    if len(names) != n_classes:
        raise ValueError(f"class_names has {len(names)} names but the predictions have {n_classes} classes.")
    return names


# --------------------------------------------------------------------------- models and run folders
def _is_model(obj) -> bool:
    return hasattr(obj, "predict") and hasattr(obj, "count_params")


def load_model(run_dir_or_file: str | os.PathLike):
    """A run folder's ``model.keras`` (or a ``.keras`` file), loaded with Keras' safe mode only.

    Loaded without its optimizer (``compile=False``): evaluation needs none, and the file
    may name a kit schedule that only matters for training.
    """
    path = Path(run_dir_or_file)
    if path.is_dir():
        path = path / MODEL_FILE
    elif not path.exists() and path.suffix != ".keras":
        raise ValueError(
            f"run folder '{run_dir_or_file}' does not exist; pass a folder written by `python -m kit train`."
        )
    if not path.is_file():
        raise ValueError(
            f"run folder '{path.parent}' has no {MODEL_FILE}; train it first "
            f"(`python -m kit train --out {path.parent}`) or pass another run folder."
        )
    try:
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # noqa: BLE001 - Keras raises many types: a truncated zip, a Lambda refused by safe mode, ...
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ValueError(
            f"could not load '{path}' with Keras safe mode ({first_line}); "
            "re-train the run or check that the file is a complete .keras model."
        ) from None


def predict_probabilities(model, x, *, batch_size: int = 512) -> np.ndarray:
    """``model.predict`` as float64 probabilities (also from float16/bfloat16 outputs)."""
    if _is_model(model):
        out = model.predict(x, batch_size=batch_size, verbose=0)
    elif callable(model):
        out = model(x)
    else:
        raise ValueError(f"expected a Keras model, a run folder or a probability array; got {type(model).__name__}.")
    return np.asarray(keras.ops.convert_to_numpy(out), dtype=np.float64)


def _cost(model) -> tuple[int | None, int | None]:
    """(parameters, multiply-adds per image) of a Keras model; (None, None) for a plain function."""
    return models.params_and_flops(model) if _is_model(model) else (None, None)


# --------------------------------------------------------------------------- evaluation
def from_probabilities(
    probabilities,
    y,
    class_names: Sequence[str] | None = None,
    *,
    params: int | None = None,
    flops: int | None = None,
    extra: dict[str, Any] | None = None,
) -> Evaluation:
    """All metrics from predicted probabilities (N, C) and true labels (scikit-learn does the counting)."""
    y_checked = _check_labels(y)
    p = _check_probabilities(probabilities, len(y_checked))
    n_classes = p.shape[1]
    y_true = _check_labels(y_checked, n_classes)
    names = _class_names(class_names, n_classes)
    labels = np.arange(n_classes)
    y_pred = p.argmax(axis=1).astype(np.int64)

    cm = confusion_matrix(y_true, y_pred, labels=labels)
    cm_norm = confusion_matrix(y_true, y_pred, labels=labels, normalize="true")
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    averaged = {
        avg: precision_recall_fscore_support(y_true, y_pred, labels=labels, average=avg, zero_division=0)
        for avg in ("macro", "weighted")
    }
    accuracy = float(np.mean(y_true == y_pred))
    top2 = 1.0 if n_classes <= 2 else float(top_k_accuracy_score(y_true, p, k=2, labels=labels))
    report_text = classification_report(
        y_true, y_pred, labels=labels, target_names=list(names), digits=4, zero_division=0
    )
    # Per-image cross-entropy (sklearn's log_loss gives only the mean; top losses need each one).
    losses = -np.log(np.clip(p[np.arange(len(y_true)), y_true], _EPSILON, 1.0))
    top_losses = np.argsort(-losses, kind="stable")
    off = [
        (int(t), int(q), int(cm[t, q])) for t in range(n_classes) for q in range(n_classes) if t != q and cm[t, q] > 0
    ]
    most_confused = sorted(off, key=lambda item: (-item[2], item[0], item[1]))

    return Evaluation(
        y_true=y_true,
        y_pred=y_pred,
        probabilities=p,
        class_names=names,
        accuracy=accuracy,
        top2_accuracy=top2,
        loss=float(losses.mean()),
        losses=losses,
        top_losses=top_losses,
        confusion=cm.astype(np.int64),
        confusion_normalized=np.asarray(cm_norm, dtype=np.float64),
        precision=np.asarray(precision, dtype=np.float64),
        recall=np.asarray(recall, dtype=np.float64),
        f1=np.asarray(f1, dtype=np.float64),
        support=np.asarray(support, dtype=np.int64),
        macro_precision=float(averaged["macro"][0]),
        macro_recall=float(averaged["macro"][1]),
        macro_f1=float(averaged["macro"][2]),
        weighted_precision=float(averaged["weighted"][0]),
        weighted_recall=float(averaged["weighted"][1]),
        weighted_f1=float(averaged["weighted"][2]),
        most_confused=most_confused,
        report_text=report_text,
        params=params,
        flops=flops,
        extra=dict(extra or {}),
    )


def evaluate(model_or_probs, x, y, class_names: Sequence[str] | None = None, *, batch_size: int = 512) -> Evaluation:
    """Evaluate a Keras model (or a run folder, or ready probabilities (N, C)) on labelled images.

    With probabilities, ``x`` may be None (it is only checked for length when given).
    """
    y_true = _check_labels(y)
    if isinstance(model_or_probs, (str, os.PathLike)):
        model_or_probs = load_model(model_or_probs)
    if _is_model(model_or_probs) or callable(model_or_probs):
        x = _check_images(x, len(y_true))
        probabilities = predict_probabilities(model_or_probs, x, batch_size=batch_size)
        params, flops = _cost(model_or_probs)
    else:
        if x is not None:
            _check_images(x, len(y_true))
        probabilities, params, flops = model_or_probs, None, None
    return from_probabilities(probabilities, y_true, class_names, params=params, flops=flops)


def ensemble(
    models_or_run_dirs: Iterable, x, y, class_names: Sequence[str] | None = None, *, batch_size: int = 512
) -> Evaluation:
    """Average the members' probability distributions, then argmax (lecture: model ensembles).

    Members may be Keras models, run folders / ``.keras`` files, or probability arrays (N, C).
    ``params``/``flops`` are the members' sums (the cost of running the whole ensemble).
    """
    members = list(models_or_run_dirs)
    if not members:
        raise ValueError("ensemble needs at least one member (a Keras model, run folder or probability array).")
    y_true = _check_labels(y)
    all_probs, params, flops = [], 0, 0
    for member in members:
        if isinstance(member, (str, os.PathLike)):
            member = load_model(member)
        if _is_model(member) or callable(member):
            probs = predict_probabilities(member, _check_images(x, len(y_true)), batch_size=batch_size)
            member_params, member_flops = _cost(member)
        else:
            probs, member_params, member_flops = member, None, None
        probs = _check_probabilities(probs, len(y_true))
        if all_probs and probs.shape != all_probs[0].shape:
            raise ValueError(
                f"ensemble members disagree on the number of classes: {all_probs[0].shape[1]} vs {probs.shape[1]}."
            )
        all_probs.append(probs)
        params = None if params is None or member_params is None else params + member_params
        flops = None if flops is None or member_flops is None else flops + member_flops
    mean = np.mean(all_probs, axis=0)
    return from_probabilities(
        mean, y_true, class_names, params=params, flops=flops, extra={"ensemble_size": len(all_probs)}
    )


def tta_views(x, shifts: bool | int = False) -> list[tuple[str, np.ndarray]]:
    """The test-time views of images (N, H, W, C): identity, horizontal flip, optional shifts.

    ``shifts=True`` adds four 2-pixel shifts (up, down, left, right, zero-filled: a shifted crop);
    an integer chooses the shift in pixels.
    """
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"test-time augmentation needs images of shape (N, H, W, C); got shape {x.shape}.")
    views = [("identity", x), ("flip", x[:, :, ::-1, :])]
    pixels = 2 if shifts is True else int(shifts or 0)
    if pixels < 0 or pixels >= min(x.shape[1:3]):
        raise ValueError(f"shifts must be between 0 and {min(x.shape[1:3]) - 1} pixels; got {pixels}.")
    if pixels:
        # A zero-filled integer translation; no Keras layer does a fixed (non-random) shift.
        for name, dy, dx in (("up", -pixels, 0), ("down", pixels, 0), ("left", 0, -pixels), ("right", 0, pixels)):
            shifted = np.zeros_like(x)
            h, w = x.shape[1:3]
            shifted[:, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = x[
                :, max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
            ]
            views.append((f"shift_{name}", shifted))
    return views


def tta(
    model, x, y, class_names: Sequence[str] | None = None, shifts: bool | int = False, *, batch_size: int = 512
) -> Evaluation:
    """Test-time augmentation: average the probabilities over identity and horizontal flip (and shifts).

    A flip is label-preserving on Fashion-MNIST, but it helps only if the model was trained
    with flips (shoes all point left in the data). ``flops`` counts every view.
    """
    y_true = _check_labels(y)
    if isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    x = _check_images(x, len(y_true))
    views = tta_views(x, shifts)
    probs = [
        _check_probabilities(predict_probabilities(model, view, batch_size=batch_size), len(y_true))
        for _, view in views
    ]
    params, flops = _cost(model)
    if flops is not None:
        flops *= len(views)
    return from_probabilities(
        np.mean(probs, axis=0),
        y_true,
        class_names,
        params=params,
        flops=flops,
        extra={"tta_views": [name for name, _ in views]},
    )
