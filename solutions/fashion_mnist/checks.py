"""The Fashion-MNIST homework's check kinds: its inputs, what the student's functions are asked, its judges.

Read by the autograder, the self-check (``python -m kit check``) and the homework's runner
through ``kit.grading.kinds`` (docs/authoring.md). Reference answers come from numpy,
scikit-learn and Keras, never from the solution: this file ships with the student release.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kit.data import CLASS_NAMES
from kit.grading import model_graph
from kit.grading.judges import CheckFailed, Verdict, are_probabilities, numeric, verdict
from kit.grading.kinds import (
    NUMPY_ONLY,
    PLAIN_KERAS,
    Kind,
    ModelBuilderKind,
    StudentError,
    as_numeric_array,
    check_model,
    predict,
)

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


@verdict
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
        got = numeric(answer.get(column), f"column {column}").astype(np.float64).reshape(-1)
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


@verdict
def judge_confusion_matrix(answer: Any, inputs: dict, params: dict) -> Verdict | None:
    """Equal to ``sklearn.metrics.confusion_matrix(y_true, y_pred, labels=range(k))`` (rows = true class)."""
    from sklearn.metrics import confusion_matrix

    k = int(params["num_classes"])
    got = numeric(answer, "the confusion matrix")
    want = confusion_matrix(inputs["y_true"], inputs["y_pred"], labels=list(range(k)))
    if got.shape != want.shape:
        raise CheckFailed(f"the confusion matrix has shape {got.shape}; expected ({k}, {k}).")
    if not np.array_equal(got, want):
        hint = " (it is transposed: rows must be the true class)" if np.array_equal(got.T, want) else ""
        cells = int(np.sum(got != want))
        raise CheckFailed(f"the confusion matrix differs from scikit-learn's in {cells} of {k * k} cells{hint}.")
    return None


@verdict
def judge_f1_scores(answer: Any, inputs: dict, params: dict) -> Verdict | None:
    """Per-class and macro F1 equal to scikit-learn's ``f1_score(..., zero_division=0)``."""
    from sklearn.metrics import f1_score

    if not isinstance(answer, tuple | list) or len(answer) != 2:
        raise CheckFailed(f"f1_scores returned {type(answer).__name__}; expected a tuple (per_class, macro).")
    k = int(params["num_classes"])
    cm = np.asarray(inputs["cm"], dtype=np.float64)
    per_class = numeric(answer[0], "the per-class F1").astype(np.float64)
    macro = numeric(answer[1], "the macro-F1").astype(np.float64)
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


@verdict
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
    # equivalent layers read alike: Conv2D(32, 3x3) then Activation("relu") or ReLU() is Conv2D(32, 3x3, relu)
    got, want = model_graph.equivalent(model_graph.signature(description)), model_graph.equivalent(want)
    if got == want:
        return
    for position, (g, w) in enumerate(zip(got + ["(nothing)"] * 20, want + ["(nothing)"] * 20, strict=False)):
        if g != w:
            raise CheckFailed(
                f"layer {position + 1} should be {w}, found {g}. Expected the lecture's CNN: "
                f"{' -> '.join(want)}; yours: {' -> '.join(got)}."
            )


@verdict
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


@verdict
def judge_weight_transfer(source: np.ndarray | None, target: np.ndarray | None, params: dict) -> Verdict | None:
    """The functional CNN with the Sequential CNN's weights gives the same outputs."""
    source = numeric(source, "the Sequential model's outputs")
    target = numeric(target, "the functional model's outputs")
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


@verdict
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


@verdict
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


# ------------------------------------------------------------------ the check kinds


class DatasetSummary(Kind):
    """Step 1: ``dataset_summary(x, y, class_names)`` -> count, mean and std per class."""

    name = "dataset_summary"

    def inputs(self, params):
        return summary_inputs(params)

    def call(self, student, inputs, params):
        table = student.call("dataset_summary", inputs["x"], inputs["y"], class_names(params))
        try:
            return summary_answer(table)
        except CheckFailed as error:
            raise StudentError(str(error)) from None

    def judge(self, answer, inputs, params):
        return judge_dataset_summary(answer, inputs, params)


class ConfusionMatrix(Kind):
    """Step 6: ``confusion_matrix(y_true, y_pred, num_classes)`` in numpy, equal to scikit-learn's."""

    name = "confusion_matrix"

    def inputs(self, params):
        return label_inputs(params)

    def call(self, student, inputs, params):
        k = int(params["num_classes"])
        cm = student.call("confusion_matrix", inputs["y_true"], inputs["y_pred"], k, rule=NUMPY_ONLY)
        return {"cm": as_numeric_array(cm, "confusion_matrix")}

    def judge(self, answer, inputs, params):
        return judge_confusion_matrix(answer.get("cm"), inputs, params)


class F1Scores(Kind):
    """Step 6: ``f1_scores(cm)`` in numpy -> (per-class F1, macro-F1), equal to scikit-learn's."""

    name = "f1_scores"

    def inputs(self, params):
        return f1_inputs(params)

    def call(self, student, inputs, params):
        answer = student.call("f1_scores", inputs["cm"], rule=NUMPY_ONLY)
        if not isinstance(answer, tuple) or len(answer) != 2:
            raise StudentError(f"f1_scores returned {type(answer).__name__}; expected a tuple (per_class, macro).")
        return {
            "per_class": as_numeric_array(answer[0], "f1_scores (per-class F1)"),
            "macro": as_numeric_array(answer[1], "f1_scores (macro-F1)"),
        }

    def judge(self, answer, inputs, params):
        return judge_f1_scores((answer.get("per_class"), answer.get("macro")), inputs, params)


class BestConfig(Kind):
    """Step 7: ``best_config()`` is a ``kit.train.TrainConfig`` that loads.

    Judged in the trusted child with kit.train, which keeps TensorFlow out of the grader's own
    process (~300 MB less beside the children, which matters under a 1.5 GB container).
    """

    name = "best_config"

    def call(self, student, inputs, params):
        config = student.call("best_config")
        to_dict = getattr(config, "to_dict", None)
        if not callable(to_dict):
            raise StudentError(f"best_config returned {type(config).__name__}; expected a kit.train.TrainConfig.")
        return {"class": f"{type(config).__module__}.{type(config).__qualname__}", "config": to_dict()}

    def inspect(self, answer, inputs, params):
        judged = judge_best_config(answer.get("config"))
        return {"verdict": {"passed": judged.passed, "fraction": judged.fraction, "message": judged.message}}

    def judge(self, answer, inputs, params):
        return Verdict(**answer["verdict"])


def reference_cnn(input_shape, num_classes):
    """The lecture's CNN-MNIST network, built by the grader to compare outputs with the student's."""
    import keras

    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=tuple(input_shape)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )


class Cnn(ModelBuilderKind):
    """Step 3: the lecture's CNN in one style; with the student's weights it computes what the grader's CNN does."""

    name = "cnn"

    def inputs(self, params):
        return {"x": probe_images(params)}

    def arguments(self, params):
        return [tuple(params.get("input_shape", (28, 28, 1))), int(params.get("num_classes", 10))]

    def inspect(self, answer, inputs, params):
        facts = super().inspect(answer, inputs, params)
        reference = reference_cnn(params.get("input_shape", (28, 28, 1)), params.get("num_classes", 10))
        try:
            reference.set_weights(answer[self.save_as].get_weights())
            facts["reference_outputs"] = predict(reference, inputs["x"])
        except Exception as error:  # noqa: BLE001 - weights that do not fit: the judge names the wrong layer
            facts["description"]["reference_error"] = f"{type(error).__name__}: {str(error)[:300]}"
        return facts

    def judge(self, answer, inputs, params):
        return judge_cnn(
            answer.get("description") or {}, answer.get("outputs"), answer.get("reference_outputs"), params
        )


class WeightTransfer(Kind):
    """Step 3: the functional CNN with the Sequential CNN's weights gives the same outputs."""

    name = "weight_transfer"
    builds = (("build_cnn_sequential", "sequential.keras"), ("build_cnn_functional", "functional.keras"))

    def inputs(self, params):
        return {"x": probe_images(params)}

    def call(self, student, inputs, params):
        shape = tuple(params.get("input_shape", (28, 28, 1)))
        return {
            save_as: check_model(student.call(function, shape, 10, rule=PLAIN_KERAS), function)
            for function, save_as in self.builds
        }

    def inspect(self, answer, inputs, params):
        source, target = (answer[save_as] for _, save_as in self.builds)
        try:
            target.set_weights(source.get_weights())
        except Exception as error:  # noqa: BLE001 - any mismatch of the two student networks is the answer
            raise StudentError(
                f"the weights of the Sequential model do not fit the functional one ({str(error)[:300]})."
            ) from None
        return {"source": predict(source, inputs["x"]), "target": predict(target, inputs["x"])}

    def judge(self, answer, inputs, params):
        return judge_weight_transfer(answer.get("source"), answer.get("target"), params)


def concatenate_hint(error: BaseException) -> str:
    """The common mistake behind a failed Concatenate of the branches (empty when it is another error)."""
    text = str(error)
    if "Concatenate" in text and "matching shapes" in text:
        return (
            "hint: the branches' outputs have different heights or widths, so they cannot be concatenated; "
            "give every Conv2D and the MaxPooling2D padding='same' and stride 1"
        )
    return ""


class InceptionModule(ModelBuilderKind):
    """Step 6: ``inception_module(x)`` on a feature map: four branches, concatenated."""

    name = "inception_module"
    save_as = "module.keras"

    def inputs(self, params):
        return {"x": module_inputs(params)}

    def call(self, student, inputs, params):
        import keras

        tensor = keras.Input(shape=tuple(params["input_shape"]), name="grader_input")
        outputs = student.call(
            "inception_module", tensor, rule=PLAIN_KERAS, hint=concatenate_hint, **dict(params.get("kwargs", {}))
        )
        try:
            model = keras.Model(tensor, outputs, name="grader_inception_probe")
        except Exception as error:  # noqa: BLE001 - whatever the student's function returned, report it
            raise StudentError(
                f"inception_module's result is not a tensor computed from its input ({error})."
            ) from None
        return {self.save_as: check_model(model, "inception_module")}

    def judge(self, answer, inputs, params):
        return judge_inception_module(answer.get("description") or {}, answer.get("outputs"), params)


class InceptionCnn(ModelBuilderKind):
    """Step 6: the CNN with the Inception module: 28x28x1 -> 10 probabilities."""

    name = "inception_cnn"

    def inputs(self, params):
        return {"x": probe_images(params)}

    def arguments(self, params):
        return [tuple(params.get("input_shape", (28, 28, 1))), int(params.get("num_classes", 10))]

    def judge(self, answer, inputs, params):
        return judge_inception_cnn(answer.get("description") or {}, answer.get("outputs"), params)
