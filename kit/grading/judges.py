"""What every judge shares: ``Verdict``, ``CheckFailed``, and the judge of a submitted model's predictions.

A judge gets plain data (numpy arrays, lists, dicts, a model's ``model_graph.describe``) and
returns a ``Verdict``; it never runs student code. The check kinds (``kit.grading.kinds`` and each
assignment's ``checks.py``) hold the judges of their own answers and build on these helpers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


class CheckFailed(Exception):
    """A check's answer is wrong or missing; the message is for the student."""

    def __init__(self, message: str, student_output: str = ""):
        super().__init__(message)
        self.student_output = student_output


@dataclass(frozen=True)
class Verdict:
    """A judge's decision: passed, the fraction of the check's points earned, and why."""

    passed: bool
    fraction: float
    message: str = ""
    leaderboard: dict | None = None

    def points(self, max_points: float) -> float:
        return round(float(max_points) * self.fraction, 4)


def verdict(judge: Callable[..., Verdict | None]) -> Callable[..., Verdict]:
    """A judge written with ``raise CheckFailed(...)`` returns a failing ``Verdict`` instead."""

    @functools.wraps(judge)
    def wrapper(*args, **kwargs) -> Verdict:
        try:
            return judge(*args, **kwargs) or Verdict(True, 1.0)
        except CheckFailed as failure:
            return Verdict(False, 0.0, str(failure))

    return wrapper


def numeric(value: Any, what: str) -> np.ndarray:
    """A plain float/int array from an answer, or a clear failure."""
    if value is None:
        raise CheckFailed(f"{what} did not come back.")
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - whatever the answer's object raises
        raise CheckFailed(f"{what} is not an array of numbers.") from None
    if array.dtype.kind not in "biuf":
        raise CheckFailed(f"{what} is not a numeric array (dtype {array.dtype}).")
    return np.asarray(array).view(np.ndarray)


def shape_text(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def are_probabilities(values: np.ndarray, tolerance: float = 1e-3) -> bool:
    values = np.asarray(values, dtype=np.float64)
    return bool(
        values.ndim == 2
        and np.all(np.isfinite(values))
        and np.all(values >= -1e-6)
        and np.allclose(values.sum(axis=1), 1.0, atol=tolerance)
    )


# ------------------------------------------------------------------ a submitted model


def model_points(f1: float, params: dict) -> float:
    points = 0.0
    for threshold, value in sorted((float(t), float(v)) for t, v in params["thresholds"]):
        if f1 >= threshold:
            points = value
    return points


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="macro"))


def _accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


# A model check's figures (its ``metric`` param): name -> (how the student reads it, the function of labels)
METRICS = {"macro_f1": ("macro-F1", _macro_f1), "accuracy": ("accuracy", _accuracy)}


@verdict
def judge_model(
    probabilities: Any,
    y_true: np.ndarray,
    params: dict,
    description: dict | None = None,
    column: str | None = None,
) -> Verdict:
    """The rubric's ``metric`` (default macro-F1) on the test set -> points by its thresholds (a fraction of the max).

    ``params``: ``thresholds``, ``metric`` (a ``METRICS`` name), ``num_classes`` (default: the classes
    in the test labels), ``max_points``. ``column``: the leaderboard's column (the assignment's
    manifest's ``leaderboard``; None: no leaderboard entry).
    """
    from kit.errors import GradingError

    description = description or {}
    metric = params.get("metric", "macro_f1")
    if metric not in METRICS:
        raise GradingError(f"Unknown metric {metric!r} in a model check; valid names: {', '.join(METRICS)}.")
    label, score = METRICS[metric]
    classes = int(params.get("num_classes") or len(np.unique(y_true)))
    probabilities = numeric(probabilities, "the model's predictions")
    n = len(y_true)
    if probabilities.shape != (n, classes):
        raise CheckFailed(
            f"the model's output has shape {shape_text(probabilities.shape)} on the test set; "
            f"expected ({n}, {classes}): one probability per class. Output shape: {description.get('output_shape')}."
        )
    if not are_probabilities(probabilities):
        raise CheckFailed(
            "the model does not output probabilities (rows must be >= 0 and sum to 1): it looks like "
            "logits. End the model with a softmax activation."
        )
    figure = score(y_true, probabilities.argmax(axis=1))
    points = model_points(figure, params)
    max_points = float(params.get("max_points") or max(float(v) for _, v in params["thresholds"]))
    scale = ", ".join(f">= {float(t):.2f}: {float(v):g}" for t, v in sorted(params["thresholds"]))
    return Verdict(
        points > 0,
        min(points, max_points) / max_points,
        f"{label} on the {n:,} test images: {figure:.4f} ({description.get('params', 0):,} parameters). "
        f"Points: {scale}.",
        leaderboard={"name": column, "value": round(figure, 4), "order": "desc"} if column else None,
    )
