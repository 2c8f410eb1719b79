"""The reference answers: inputs for each check, and judges of an already-computed answer.

One place for what "correct" means, so that the autograder (answers computed in a sandboxed
child, ``kit.grading.grader``), the student's self-check and the in-process homework runner
use the same inputs, tolerances and messages. Nothing here runs student code: a judge gets
plain data (numpy arrays, lists, dicts, a model's ``model_graph.describe``) and returns a
``Verdict``. Expected answers are computed here from the inputs (numpy / scikit-learn), never
stored anywhere.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kit.data import CLASS_NAMES
from kit.grading import model_graph


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


def _verdict(judge: Callable[..., Verdict | None]) -> Callable[..., Verdict]:
    """A judge written with ``raise CheckFailed(...)`` returns a failing ``Verdict`` instead."""

    @functools.wraps(judge)
    def wrapper(*args, **kwargs) -> Verdict:
        try:
            return judge(*args, **kwargs) or Verdict(True, 1.0)
        except CheckFailed as failure:
            return Verdict(False, 0.0, str(failure))

    return wrapper


def _numeric(value: Any, what: str) -> np.ndarray:
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


def _shape_text(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


# ------------------------------------------------------------------ inputs (the same for grader and self-check)


def class_names(params: dict) -> list[str]:
    return list(params.get("class_names", CLASS_NAMES))


def summary_inputs(params: dict) -> dict[str, np.ndarray]:
    """Images and labels for ``dataset_summary``: classes differ in brightness, and so do images of one class.

    Each image is one brightness level times pixel noise, so the std over all of a class's pixels
    is several times the mean of per-image stds (that common mistake fails by a wide margin).
    """
    rng = np.random.default_rng(params["seed"])
    k, n = len(class_names(params)), int(params["n"])
    present = [c for c in range(k) if c not in set(params.get("empty", []))]
    y = rng.choice(present, size=n).astype(np.int64)
    class_level = rng.uniform(0.35, 1.0, size=k)[y]
    image_level = class_level * rng.uniform(0.15, 1.0, size=n)
    x = np.clip(image_level[:, None, None] * (0.9 + 0.2 * rng.random((n, 28, 28))), 0, 1)
    x = x.reshape((n, 28, 28, 1) if params.get("channel", True) else (n, 28, 28))
    x = (x * 255).astype(np.uint8) if params.get("dtype", "uint8") == "uint8" else x.astype(np.float32)
    return {"x": x, "y": y}


def label_inputs(params: dict) -> dict[str, np.ndarray]:
    """Random (y_true, y_pred) with ~``accuracy`` correct; ``empty`` classes occur in neither."""
    rng = np.random.default_rng(params["seed"])
    k, n = int(params["num_classes"]), int(params["n"])
    present = np.array([c for c in range(k) if c not in set(params.get("empty", []))])
    y_true = rng.choice(present, size=n)
    wrong = rng.random(n) > params.get("accuracy", 0.6)
    y_pred = np.where(wrong, rng.choice(present, size=n), y_true)
    dtype = params.get("dtype", "int64")
    return {"y_true": y_true.astype(dtype), "y_pred": y_pred.astype(dtype)}


def f1_inputs(params: dict) -> dict[str, np.ndarray]:
    """The confusion matrix ``f1_scores`` gets (scikit-learn's, from ``label_inputs``)."""
    from sklearn.metrics import confusion_matrix

    labels = label_inputs(params)
    k = int(params["num_classes"])
    return {"cm": confusion_matrix(labels["y_true"], labels["y_pred"], labels=list(range(k))).astype(np.int64)}


def probe_images(params: dict) -> np.ndarray:
    """Random images a built model is run on (float32 in 0..1)."""
    rng = np.random.default_rng(params.get("seed", 0))
    return rng.random((int(params.get("probe", 16)), *params.get("input_shape", (28, 28, 1)))).astype(np.float32)


def module_inputs(params: dict) -> np.ndarray:
    """Feature maps an Inception module is run on."""
    return np.random.default_rng(params.get("seed", 0)).random((4, *params["input_shape"])).astype(np.float32)


INCEPTION_DEFAULTS = {
    "filters_1x1": 64,
    "filters_3x3_reduce": 64,
    "filters_3x3": 64,
    "filters_5x5_reduce": 64,
    "filters_5x5": 64,
    "filters_pool_proj": 64,
}


# ------------------------------------------------------------------ step 1: dataset_summary


def summary_answer(table) -> dict[str, Any]:
    """A ``dataset_summary`` DataFrame as plain data: index and columns as strings, count/mean/std as floats."""
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise CheckFailed(f"dataset_summary returned {type(table).__name__}; expected a pandas DataFrame.")
    answer: dict[str, Any] = {
        "index": [str(label) for label in list(table.index)],
        "columns": [str(column) for column in list(table.columns)],
    }
    for column in ("count", "mean", "std"):
        if column in table.columns:
            try:
                answer[column] = np.asarray(table[column].to_numpy(), dtype=np.float64).reshape(-1)
            except (TypeError, ValueError):
                raise CheckFailed(f"dataset_summary's column `{column}` does not hold numbers.") from None
    return answer


def expected_summary(inputs: dict, names: Sequence[str]) -> dict[str, np.ndarray]:
    """count, mean and std of every pixel of each class, in the units of x (NaN for an empty class)."""
    x, y = np.asarray(inputs["x"]), np.asarray(inputs["y"])
    pixels = x.reshape(len(y), -1).astype(np.float64)
    k = len(names)
    return {
        "count": np.array([np.sum(y == c) for c in range(k)], dtype=np.float64),
        "mean": np.array([pixels[y == c].mean() if np.any(y == c) else np.nan for c in range(k)]),
        "std": np.array([pixels[y == c].std() if np.any(y == c) else np.nan for c in range(k)]),
    }


def _close(got: np.ndarray, want: np.ndarray, tolerance: float) -> np.ndarray:
    scale = max(1.0, float(np.nanmax(np.abs(want)))) if np.any(np.isfinite(want)) else 1.0
    return np.isclose(got, want, rtol=tolerance, atol=tolerance * scale, equal_nan=True)


@_verdict
def judge_dataset_summary(answer: dict, inputs: dict, params: dict) -> Verdict | None:
    """The table's index is the class names in order; count/mean/std match numpy over each class's pixels."""
    names = class_names(params)
    want = expected_summary(inputs, names)
    index, columns = answer.get("index"), answer.get("columns")
    if index != names:
        missing = [name for name in names if name not in (index or [])]
        empty = [names[c] for c in range(len(names)) if want["count"][c] == 0]
        if missing and set(missing) <= set(empty) and [n for n in names if n not in missing] == index:
            raise CheckFailed(
                f"the table has no row for {', '.join(map(repr, missing))}, a class with no images here: "
                "every class needs a row (count 0, NaN mean and std)."
            )
        raise CheckFailed(f"the table's index should be the class names in label order; got {str(index)[:200]}.")
    absent = [c for c in ("count", "mean", "std") if c not in (columns or [])]
    if absent:
        raise CheckFailed(f"the table has no column(s) {', '.join(absent)}; it has {columns}.")
    for column, expected in want.items():
        got = _numeric(answer.get(column), f"column {column}").astype(np.float64).reshape(-1)
        if got.shape != expected.shape:
            raise CheckFailed(f"column {column} has {got.size} rows; expected {expected.size}.")
        ok = _close(got, expected, 0 if column == "count" else 1e-4)
        if ok.all():
            continue
        bad = int(np.flatnonzero(~ok)[0])
        finite = np.isfinite(expected) & np.isfinite(got) & (expected != 0)
        if column != "count" and finite.any():
            ratio = np.median(got[finite] / expected[finite])
            if np.isclose(ratio, 1 / 255, rtol=1e-3) or np.isclose(ratio, 255, rtol=1e-3):
                raise CheckFailed(
                    f"column {column} is off by a factor of 255 ({got[bad]:.6g} instead of {expected[bad]:.6g} "
                    f"for {names[bad]!r}): keep the units of x (do not divide or multiply by 255)."
                )
        if column == "std" and _is_mean_of_image_stds(got, inputs, len(names)):
            raise CheckFailed(
                f"column std is the mean of per-image standard deviations ({got[bad]:.6g} instead of "
                f"{expected[bad]:.6g} for {names[bad]!r}): take one std over every pixel of the class's images."
            )
        raise CheckFailed(
            f"column {column} is wrong for class {names[bad]!r}: got {got[bad]:.6g}, expected {expected[bad]:.6g} "
            "(over every pixel of the class's images; NaN for an empty class)."
        )
    return None


def _is_mean_of_image_stds(got: np.ndarray, inputs: dict, k: int) -> bool:
    x, y = np.asarray(inputs["x"]), np.asarray(inputs["y"])
    per_image = x.reshape(len(y), -1).astype(np.float64).std(axis=1)
    wrong = np.array([per_image[y == c].mean() if np.any(y == c) else np.nan for c in range(k)])
    return bool(np.all(_close(got, wrong, 1e-4)))


# ------------------------------------------------------------------ step 6: confusion matrix and F1


@_verdict
def judge_confusion_matrix(answer: Any, inputs: dict, params: dict) -> Verdict | None:
    """Equal to ``sklearn.metrics.confusion_matrix(y_true, y_pred, labels=range(k))`` (rows = true class)."""
    from sklearn.metrics import confusion_matrix

    k = int(params["num_classes"])
    got = _numeric(answer, "the confusion matrix")
    want = confusion_matrix(inputs["y_true"], inputs["y_pred"], labels=list(range(k)))
    if got.shape != want.shape:
        raise CheckFailed(f"the confusion matrix has shape {got.shape}; expected ({k}, {k}).")
    if not np.array_equal(got, want):
        hint = " (it is transposed: rows must be the true class)" if np.array_equal(got.T, want) else ""
        cells = int(np.sum(got != want))
        raise CheckFailed(f"the confusion matrix differs from scikit-learn's in {cells} of {k * k} cells{hint}.")
    return None


@_verdict
def judge_f1_scores(answer: Any, inputs: dict, params: dict) -> Verdict | None:
    """Per-class and macro F1 equal to scikit-learn's ``f1_score(..., zero_division=0)``."""
    from sklearn.metrics import f1_score

    if not isinstance(answer, tuple | list) or len(answer) != 2:
        raise CheckFailed(f"f1_scores returned {type(answer).__name__}; expected a tuple (per_class, macro).")
    k = int(params["num_classes"])
    cm = np.asarray(inputs["cm"], dtype=np.float64)
    per_class = _numeric(answer[0], "the per-class F1").astype(np.float64)
    macro = _numeric(answer[1], "the macro-F1").astype(np.float64)
    # F1 from the matrix equals scikit-learn's on the labels it came from; computed by sklearn on those labels
    true_labels = np.repeat(np.arange(k), cm.sum(axis=1).astype(int))
    predicted = np.concatenate([np.repeat(np.arange(k), cm[i].astype(int)) for i in range(k)])
    labels = list(range(k))
    want = f1_score(true_labels, predicted, labels=labels, average=None, zero_division=0)
    want_macro = f1_score(true_labels, predicted, labels=labels, average="macro", zero_division=0)
    if per_class.shape != (k,):
        raise CheckFailed(f"the per-class F1 has shape {per_class.shape}; expected ({k},).")
    if not np.all(np.isfinite(per_class)):
        raise CheckFailed("the per-class F1 has NaN or infinite values (a class with an empty denominator must get 0).")
    if not np.allclose(per_class, want, atol=1e-6):
        raise CheckFailed("the per-class F1 differs from scikit-learn's f1_score(average=None, zero_division=0).")
    if macro.size != 1 or not np.isfinite(macro.reshape(-1)[0]):
        raise CheckFailed("the macro-F1 must be one finite number.")
    if not np.isclose(float(macro.reshape(-1)[0]), want_macro, atol=1e-6):
        raise CheckFailed(
            f"the macro-F1 is {float(macro.reshape(-1)[0]):.6f}; scikit-learn's macro average is "
            f"{want_macro:.6f} (the plain mean over classes)."
        )
    return None


# ------------------------------------------------------------------ step 7: best_config


@_verdict
def judge_best_config(answer: Any, inputs: dict | None = None, params: dict | None = None) -> Verdict | None:
    """``best_config().to_dict()`` loads with ``TrainConfig.from_dict`` and names a model of the kit."""
    from kit.models import available
    from kit.train import TrainConfig

    if not isinstance(answer, dict):
        raise CheckFailed("best_config() did not give a TrainConfig (its to_dict() is not a dict).")
    try:
        config = TrainConfig.from_dict(answer)
    except (TypeError, ValueError, KeyError) as error:
        raise CheckFailed(f"best_config() is not a valid TrainConfig: {error}") from None
    if config.model not in available():
        raise CheckFailed(f"best_config() names model {config.model!r}; valid names: {', '.join(available())}.")
    return Verdict(True, 1.0, f"model {config.model}, optimizer {config.optimizer}, schedule {config.schedule}")


# ------------------------------------------------------------------ step 3: the CNN in two styles


def _check_signature(description: dict, want: list[str]) -> None:
    got = model_graph.signature(description)
    if got == want:
        return
    for position, (g, w) in enumerate(zip(got + ["(nothing)"] * 20, want + ["(nothing)"] * 20, strict=False)):
        if g != w:
            raise CheckFailed(
                f"layer {position + 1} should be {w}, found {g}. Expected the lecture's CNN: "
                f"{' -> '.join(want)}; yours: {' -> '.join(got)}."
            )


@_verdict
def judge_cnn(
    description: dict, outputs: np.ndarray | None, reference_outputs: np.ndarray | None, params: dict
) -> Verdict | None:
    """The lecture's CNN: layer signature, parameters, style, and equal outputs to the grader's own
    CNN after copying the student's weights into it (``reference_outputs``)."""
    function, style = params["function"], params["style"]
    kind = description.get("class_name")
    if style == "sequential" and kind != "Sequential":
        raise CheckFailed(f"{function} must return a keras.Sequential model; it returned a {kind} model.")
    if style == "functional" and kind == "Sequential":
        raise CheckFailed(f"{function} must use the functional style (keras.Model(inputs, outputs)), not Sequential.")
    _check_signature(description, list(params["signature"]))
    if description.get("params") != params["params"]:
        raise CheckFailed(f"the model has {description.get('params'):,} parameters; expected {params['params']:,}.")
    if description.get("input_shape") != [None, *params.get("input_shape", (28, 28, 1))]:
        raise CheckFailed(f"the model's input shape is {description.get('input_shape')}; expected (None, 28, 28, 1).")
    if outputs is None or reference_outputs is None:
        raise CheckFailed(
            "the grader could not run the model "
            f"({description.get('reference_error') or description.get('predict_error') or 'no outputs'})."
        )
    if outputs.shape != reference_outputs.shape or not np.allclose(outputs, reference_outputs, rtol=1e-4, atol=1e-5):
        raise CheckFailed(
            "with the same weights, the model's outputs differ from the lecture's CNN "
            "(check each layer's activation and the order of the layers)."
        )
    return None


@_verdict
def judge_weight_transfer(source: np.ndarray | None, target: np.ndarray | None, params: dict) -> Verdict | None:
    """The functional CNN with the Sequential CNN's weights gives the same outputs."""
    source = _numeric(source, "the Sequential model's outputs")
    target = _numeric(target, "the functional model's outputs")
    n = int(params.get("probe", 16))
    if source.shape != (n, 10) or target.shape != source.shape:
        raise CheckFailed(f"the models' outputs have shapes {source.shape} and {target.shape}; expected ({n}, 10).")
    if not np.allclose(source, target, rtol=1e-4, atol=1e-5):
        raise CheckFailed("after copying the Sequential model's weights into the functional one, their outputs differ.")
    return None


# ------------------------------------------------------------------ step 6: the Inception module


def inception_filters(params: dict) -> dict[str, int]:
    return {**INCEPTION_DEFAULTS, **{k: v for k, v in params.get("kwargs", {}).items() if k != "name"}}


def expected_branches(filters: dict[str, int]) -> list[list[str]]:
    """The lecture's four branches as layer tokens (input first)."""
    same = lambda f, k: f"Conv2D({f}, {k}x{k}, relu, same)"  # noqa: E731
    return [
        [same(filters["filters_1x1"], 1)],
        [same(filters["filters_3x3_reduce"], 1), same(filters["filters_3x3"], 3)],
        [same(filters["filters_5x5_reduce"], 1), same(filters["filters_5x5"], 5)],
        ["MaxPooling2D(3x3, stride 1x1, same)", same(filters["filters_pool_proj"], 1)],
    ]


def _is_relu(layer: dict) -> bool:
    """``Activation("relu")`` or a plain ``ReLU()`` (no cap, no leak, no threshold)."""
    kind, config = layer.get("class_name"), layer.get("config") or {}
    if kind == "Activation":
        return config.get("activation") == "relu"
    if kind == "ReLU":
        return config.get("max_value") is None and not config.get("negative_slope") and not config.get("threshold")
    return False


def branch_tokens(chain: list[dict]) -> list[str]:
    """A branch's layers as tokens; a pool keeps stride and padding.

    A linear ``Conv2D`` followed by ``Activation("relu")`` or ``ReLU()`` computes the same as
    ``Conv2D(..., activation="relu")``: both read as the fused token, so either way is accepted.
    """
    tokens: list[str] = []
    previous: dict | None = None
    for layer in chain:
        conv_config = (previous or {}).get("config") or {}
        if (
            _is_relu(layer)
            and previous is not None
            and previous.get("class_name") == "Conv2D"
            and conv_config.get("activation") in ("linear", None)
        ):
            tokens[-1] = model_graph.layer_token({**previous, "config": {**conv_config, "activation": "relu"}})
            previous = None
            continue
        kind = layer.get("class_name")
        tokens.append(model_graph.pool_token(layer) if kind == "MaxPooling2D" else model_graph.layer_token(layer))
        previous = layer
    return tokens


@_verdict
def judge_inception_module(description: dict, outputs: np.ndarray | None, params: dict) -> Verdict | None:
    """Four branches (1x1; 1x1->3x3; 1x1->5x5; 3x3/1 max-pool->1x1) joined by a channel Concatenate."""
    filters = inception_filters(params)
    height, width, _ = params["input_shape"]
    try:
        merge, chains = model_graph.branches(description)
    except model_graph.GraphError as error:
        raise CheckFailed(str(error)) from None
    if merge.get("class_name") != "Concatenate":
        raise CheckFailed(
            "the module's branches must be joined by layers.Concatenate (channel axis); "
            f"found {merge.get('class_name')}."
        )
    if (merge.get("config") or {}).get("axis") not in (-1, 3):
        raise CheckFailed("the branches must be concatenated along the channel axis (axis=-1).")
    expected = expected_branches(filters)
    got = [branch_tokens(chain) for chain in chains]
    if len(got) != 4:
        raise CheckFailed(f"the module has {len(got)} branches into the Concatenate; the lecture's has 4.")
    if sorted(map(tuple, got)) != sorted(map(tuple, expected)):
        missing = [" -> ".join(b) for b in expected if b not in got]
        found = [" -> ".join(b) for b in got if b not in expected]
        raise CheckFailed(
            f"branches not as in the lecture. Missing: {'; '.join(missing)}. Found instead: {'; '.join(found)}."
        )
    channels = filters["filters_1x1"] + filters["filters_3x3"] + filters["filters_5x5"] + filters["filters_pool_proj"]
    want_shape = [None, height, width, channels]
    if description.get("output_shape") != want_shape:
        raise CheckFailed(
            f"the module's output shape is {description.get('output_shape')}; expected {want_shape} "
            "(same height and width, channels = the sum of the four branches)."
        )
    if outputs is None or np.shape(outputs) != (len(module_inputs(params)), height, width, channels):
        raise CheckFailed("the module did not produce an output of the expected shape on the grader's input.")
    name = params.get("kwargs", {}).get("name")
    if name:
        names = [layer["name"] for layer in description.get("layers", []) if layer.get("class_name") != "InputLayer"]
        unnamed = [n for n in names if not str(n).startswith(name)]
        if unnamed:
            raise CheckFailed(
                f"with name={name!r}, every layer's name should start with it; not: {', '.join(unnamed[:5])}."
            )
    return None


def are_probabilities(values: np.ndarray, tolerance: float = 1e-3) -> bool:
    values = np.asarray(values, dtype=np.float64)
    return bool(
        values.ndim == 2
        and np.all(np.isfinite(values))
        and np.all(values >= -1e-6)
        and np.allclose(values.sum(axis=1), 1.0, atol=tolerance)
    )


@_verdict
def judge_inception_cnn(description: dict, outputs: np.ndarray | None, params: dict) -> Verdict | None:
    """28x28x1 -> 10 probabilities, with a four-way Concatenate of ``channels`` channels."""
    if description.get("input_shape") != [None, 28, 28, 1] or description.get("output_shape") != [None, 10]:
        raise CheckFailed(
            f"the model maps {description.get('input_shape')} to {description.get('output_shape')}; "
            "expected (None, 28, 28, 1) -> (None, 10)."
        )
    layers, inbound, _, _ = model_graph.graph(description)
    merges = [
        name for name, layer in layers.items() if layer.get("class_name") == "Concatenate" and len(inbound[name]) == 4
    ]
    shapes = {layer["name"]: layer.get("output_shape") for layer in description.get("layers", [])}
    if not merges:
        raise CheckFailed("the model has no Concatenate of four branches (the Inception module).")
    channels = params.get("channels", 256)
    if not any((shapes.get(name) or [0])[-1] == channels for name in merges):
        raise CheckFailed(f"the Inception module's output should have {channels} channels.")
    n = int(params.get("probe", 16))
    if outputs is None or np.shape(outputs) != (n, 10) or not are_probabilities(outputs):
        raise CheckFailed("the model's outputs are not 10 probabilities per image (end with a softmax).")
    return None


# ------------------------------------------------------------------ step 7: the submitted model


def model_points(f1: float, params: dict) -> float:
    points = 0.0
    for threshold, value in sorted((float(t), float(v)) for t, v in params["thresholds"]):
        if f1 >= threshold:
            points = value
    return points


@_verdict
def judge_model(probabilities: Any, y_true: np.ndarray, params: dict, description: dict | None = None) -> Verdict:
    """Macro-F1 on the test set -> points by the rubric's thresholds (a fraction of ``max_points``)."""
    from sklearn.metrics import f1_score

    description = description or {}
    probabilities = _numeric(probabilities, "the model's predictions")
    n = len(y_true)
    if probabilities.shape != (n, 10):
        raise CheckFailed(
            f"the model's output has shape {_shape_text(probabilities.shape)} on the test set; "
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
