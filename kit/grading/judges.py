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


# ------------------------------------------------------------------ step 7: the submitted model


def model_points(f1: float, params: dict) -> float:
    points = 0.0
    for threshold, value in sorted((float(t), float(v)) for t, v in params["thresholds"]):
        if f1 >= threshold:
            points = value
    return points


@verdict
def judge_model(probabilities: Any, y_true: np.ndarray, params: dict, description: dict | None = None) -> Verdict:
    """Macro-F1 on the test set -> points by the rubric's thresholds (a fraction of ``max_points``)."""
    from sklearn.metrics import f1_score

    description = description or {}
    probabilities = numeric(probabilities, "the model's predictions")
    n = len(y_true)
    if probabilities.shape != (n, 10):
        raise CheckFailed(
            f"the model's output has shape {shape_text(probabilities.shape)} on the test set; "
            f"expected ({n}, 10): one probability per class. Output shape: {description.get('output_shape')}."
        )
    if not are_probabilities(probabilities):
        raise CheckFailed(
            "the model does not output probabilities (rows must be >= 0 and sum to 1): it looks like "
            "logits. End the model with a softmax activation."
        )
    f1 = float(f1_score(y_true, probabilities.argmax(axis=1), average="macro"))
    points = model_points(f1, params)
    max_points = float(params.get("max_points") or max(float(v) for _, v in params["thresholds"]))
    scale = ", ".join(f">= {float(t):.2f}: {float(v):g}" for t, v in sorted(params["thresholds"]))
    return Verdict(
        points > 0,
        min(points, max_points) / max_points,
        f"macro-F1 on the {n:,} test images: {f1:.4f} ({description.get('params', 0):,} parameters). Points: {scale}.",
        leaderboard={"name": "macro-F1", "value": round(f1, 4), "order": "desc"},
    )
