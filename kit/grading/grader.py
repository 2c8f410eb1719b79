"""The autograder: a submission folder -> Gradescope's ``results.json`` (``python -m kit grade``).

The grader (this process) is trusted; the student's code is not. Here nothing of the student's
is imported or unpickled: each rubric check runs the one student function it needs in a
sandboxed child (``kit.sandbox``), model files are opened only by a second, trusted child with
Keras' safe mode, and only JSON / ``.npz`` (``allow_pickle=False``) come back. Every expected
answer is computed here, after the child has exited, from inputs generated here (scikit-learn is
the reference); a check passes only on an explicit, well-formed record that matches.
``results.json`` is written last, atomically, to a path no child is told.
The threat model and its limits: docs/grading.md.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit.errors import GradingError
from kit.sandbox import Limits, Sandbox, copy_from_child, inspect_zip

ROOT = Path(__file__).resolve().parent.parent
VISIBILITIES = ("visible", "hidden", "after_due_date")
ALLOWED_FILES = ("homework.py", "model.keras", "report.md")


# ------------------------------------------------------------------ rubric


@dataclass(frozen=True)
class Check:
    """One rubric line: what is checked, for how many points, shown to whom, with what limits."""

    id: str
    name: str
    kind: str
    points: float
    visibility: str = "visible"
    timeout: float = 90.0
    message: str = ""
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in CHECK_KINDS:
            raise GradingError(
                f"Unknown check kind {self.kind!r} in rubric check {self.id!r}; "
                f"valid kinds: {', '.join(sorted(CHECK_KINDS))}."
            )
        if self.visibility not in VISIBILITIES:
            raise GradingError(
                f"Unknown visibility {self.visibility!r} in rubric check {self.id!r}; valid: {', '.join(VISIBILITIES)}."
            )


@dataclass(frozen=True)
class Rubric:
    assignment: str
    checks: tuple[Check, ...]
    limits: Limits
    path: Path

    @property
    def hide(self) -> list[Path]:
        """Folders a child must not see: solutions, tests, and the rubric's own folder."""
        return [self.path.parent, self.path.parent.parent, ROOT / "tests"]


def rubric_path(assignment: str) -> Path:
    return ROOT / "solutions" / assignment / "rubric.py"


def load_rubric(assignment: str = "fashion_mnist") -> Rubric:
    """The rubric of ``solutions/<assignment>/rubric.py`` (trusted instructor code) as ``Check``s."""
    path = rubric_path(assignment)
    if not path.is_file():
        known = sorted(p.parent.name for p in (ROOT / "solutions").glob("*/rubric.py"))
        raise GradingError(
            f"No rubric for assignment {assignment!r} ({path} is missing); "
            f"assignments with a rubric: {', '.join(known) or 'none'}."
        )
    spec = importlib.util.spec_from_file_location(f"_rubric_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    checks = tuple(Check(**entry) for entry in module.CHECKS)
    ids = [check.id for check in checks]
    if len(set(ids)) != len(ids):
        raise GradingError(f"Rubric {path} has duplicate check ids.")
    return Rubric(assignment, checks, Limits(**getattr(module, "LIMITS", {})), path)


# ------------------------------------------------------------------ outcome of one check


@dataclass
class Outcome:
    score: float
    status: str  # "passed" / "failed"
    detail: str  # why (student-facing, no student output for hidden checks)
    student_output: str = ""  # captured stdout/stderr and tracebacks (visible checks only)
    leaderboard: dict | None = None
    seconds: float = 0.0


def _fail(detail: str, student_output: str = "") -> Outcome:
    return Outcome(0.0, "failed", detail, student_output)


def _pass(points: float, detail: str = "") -> Outcome:
    return Outcome(float(points), "passed", detail)


class CheckFailed(Exception):
    """A check's answer is wrong or missing; the message is for the student."""

    def __init__(self, message: str, student_output: str = ""):
        super().__init__(message)
        self.student_output = student_output


@dataclass
class Context:
    """What a check runner needs: the sandbox, its slot, the submission and the grader's limits."""

    sandbox: Sandbox
    slot: int
    submission: Path
    limits: Limits
    data_dir: str | None
    isolation: list = field(default_factory=list)

    def child(
        self,
        check: Check,
        request: dict,
        *,
        files: dict | None = None,
        arrays: dict | None = None,
        work: Path | None = None,
    ):
        limits = Limits(**{**self.limits.__dict__, "wall_seconds": check.timeout})
        result = self.sandbox.run(request, files=files or {}, arrays=arrays, limits=limits, slot=self.slot, work=work)
        self.isolation.append(result.isolation)
        output = _student_output(result)
        if result.record is None:
            raise CheckFailed(f"Your code gave no answer: {result.problem}.", output)
        if not result.record.get("ok"):
            raise CheckFailed(str(result.record.get("error") or "the check failed")[:4000], output)
        return result, output

    def student(self, check: Check, request: dict, arrays: dict | None = None):
        """Run one student function (only ``homework.py`` is copied in)."""
        return self.child(
            check, {**request, "side": "student"}, files={"homework.py": self.submission / "homework.py"}, arrays=arrays
        )

    def trusted(self, check: Check, request: dict, models: dict[str, Path], arrays: dict | None = None):
        """Open model files with Keras' safe mode in a child that has no student code."""
        return self.child(check, {**request, "side": "trusted", "models": list(models)}, files=models, arrays=arrays)


def _student_output(result) -> str:
    parts = []
    if result.stdout.strip():
        parts.append("stdout:\n" + result.stdout[-2000:])
    if result.stderr.strip():
        parts.append("stderr:\n" + result.stderr[-2000:])
    return "\n".join(parts)


# ------------------------------------------------------------------ inputs and reference answers (grader side)


def _labels(params: dict, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """Random (y_true, y_pred) with ~``accuracy`` correct; ``empty`` classes never occur in either."""
    k, n = int(params["num_classes"]), int(params["n"])
    present = np.array([c for c in range(k) if c not in set(params.get("empty", []))])
    y_true = rng.choice(present, size=n)
    wrong = rng.random(n) > params.get("accuracy", 0.6)
    y_pred = np.where(wrong, rng.choice(present, size=n), y_true)
    return y_true.astype(params.get("dtype", "int64")), y_pred.astype(params.get("dtype", "int64")), k


def _require(arrays: dict, name: str, what: str) -> np.ndarray:
    if name not in arrays:
        raise CheckFailed(f"{what} did not come back.")
    value = arrays[name]
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        raise CheckFailed(f"{what} is not a numeric array.")
    return value


def _shape_text(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


# ------------------------------------------------------------------ check kinds


def check_dataset_summary(check: Check, ctx: Context) -> Outcome:
    from kit.data import CLASS_NAMES

    p = check.params
    rng = np.random.default_rng(p["seed"])
    k, n = len(CLASS_NAMES), int(p["n"])
    present = [c for c in range(k) if c not in set(p.get("empty", []))]
    y = rng.choice(present, size=n).astype(np.int64)
    brightness = rng.uniform(0.2, 1.0, size=k)[y][:, None, None]  # classes differ, as garments do
    shape = (n, 28, 28, 1) if p.get("channel", True) else (n, 28, 28)
    x = np.clip(rng.random((n, 28, 28)) * brightness, 0, 1).reshape(shape)
    x = (x * 255).astype(np.uint8) if p.get("dtype", "uint8") == "uint8" else x.astype(np.float32)
    result, output = ctx.student(
        check, {"action": "dataset_summary", "class_names": list(CLASS_NAMES)}, {"x": x, "y": y}
    )
    data = result.record.get("data", {})
    index, columns = data.get("index"), data.get("columns")
    if index != list(CLASS_NAMES):
        raise CheckFailed(f"the table's index should be the class names in label order; got {str(index)[:200]}.")
    missing = [c for c in ("count", "mean", "std") if c not in (columns or [])]
    if missing:
        raise CheckFailed(f"the table has no column(s) {', '.join(missing)}; it has {columns}.")
    pixels = x.reshape(n, -1).astype(np.float64)
    expected = {
        "count": np.array([np.sum(y == c) for c in range(k)], dtype=np.float64),
        "mean": np.array([pixels[y == c].mean() if np.any(y == c) else np.nan for c in range(k)]),
        "std": np.array([pixels[y == c].std() if np.any(y == c) else np.nan for c in range(k)]),
    }
    for column, want in expected.items():
        got = _require(result.arrays, column, f"column {column}").astype(np.float64)
        if got.shape != want.shape:
            raise CheckFailed(f"column {column} has {got.size} rows; expected {want.size}.")
        tolerance = 0 if column == "count" else 1e-4
        if not np.allclose(
            got, want, rtol=tolerance, atol=tolerance * max(1.0, float(np.nanmax(np.abs(want)))), equal_nan=True
        ):
            bad = int(np.flatnonzero(~np.isclose(got, want, rtol=tolerance, atol=1e-6, equal_nan=True))[0])
            raise CheckFailed(
                f"column {column} is wrong for class {CLASS_NAMES[bad]!r}: got {got[bad]:.6g}, "
                f"expected {want[bad]:.6g} (over every pixel of the class's images; NaN for an empty class)."
            )
    return _pass(check.points)


def check_confusion_matrix(check: Check, ctx: Context) -> Outcome:
    from sklearn.metrics import confusion_matrix

    y_true, y_pred, k = _labels(check.params, np.random.default_rng(check.params["seed"]))
    result, _ = ctx.student(
        check, {"action": "confusion_matrix", "num_classes": k}, {"y_true": y_true, "y_pred": y_pred}
    )
    got = _require(result.arrays, "cm", "the confusion matrix")
    want = confusion_matrix(y_true, y_pred, labels=list(range(k)))
    if got.shape != want.shape:
        raise CheckFailed(f"the confusion matrix has shape {got.shape}; expected ({k}, {k}).")
    if not np.array_equal(got, want):
        hint = " (it is transposed: rows must be the true class)" if np.array_equal(got.T, want) else ""
        cells = int(np.sum(got != want))
        raise CheckFailed(f"the confusion matrix differs from scikit-learn's in {cells} of {k * k} cells{hint}.")
    return _pass(check.points)


def check_f1_scores(check: Check, ctx: Context) -> Outcome:
    from sklearn.metrics import confusion_matrix, f1_score

    y_true, y_pred, k = _labels(check.params, np.random.default_rng(check.params["seed"]))
    labels = list(range(k))
    cm = confusion_matrix(y_true, y_pred, labels=labels).astype(np.int64)
    result, _ = ctx.student(check, {"action": "f1_scores"}, {"cm": cm})
    per_class = _require(result.arrays, "per_class", "the per-class F1").astype(np.float64)
    macro = _require(result.arrays, "macro", "the macro-F1").astype(np.float64)
    want = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    want_macro = f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
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
    return _pass(check.points)


def check_best_config(check: Check, ctx: Context) -> Outcome:
    result, _ = ctx.student(check, {"action": "best_config"})
    values = result.record.get("data", {}).get("config")
    if not isinstance(values, dict):
        raise CheckFailed("best_config() did not give a TrainConfig (its to_dict() is not a dict).")
    try:
        from kit.train import TrainConfig
    except ImportError as error:  # the grader's own kit is incomplete: not the student's fault
        raise GradingError(f"the grader cannot import kit.train ({error}).") from None
    try:
        config = TrainConfig.from_dict(values)
    except (TypeError, ValueError, KeyError) as error:
        raise CheckFailed(f"best_config() is not a valid TrainConfig: {error}") from None
    try:
        from kit.models import available

        if config.model not in available():
            raise CheckFailed(f"best_config() names model {config.model!r}; valid names: {', '.join(available())}.")
    except ImportError:
        pass
    return _pass(check.points, f"model {config.model}, optimizer {config.optimizer}, schedule {config.schedule}")


# --- models built by student code, inspected by a trusted child


def _probe_images(params: dict) -> np.ndarray:
    rng = np.random.default_rng(params.get("seed", 0))
    return rng.random((int(params.get("probe", 16)), *params.get("input_shape", (28, 28, 1)))).astype(np.float32)


def _build_and_describe(
    check: Check,
    ctx: Context,
    builds: list[tuple[str, str]],
    *,
    action: str = "build_model",
    extra: dict | None = None,
    trusted: dict | None = None,
    arrays: dict | None = None,
):
    """Child A (student) builds and saves models; child B (trusted) loads them with safe mode."""
    p = check.params
    models = {}
    for function, save_as in builds:
        request = {
            "action": action,
            "function": function,
            "save_as": save_as,
            "input_shape": list(p.get("input_shape", (28, 28, 1))),
            "num_classes": p.get("num_classes", 10),
            **(extra or {}),
        }
        ctx.student(check, request)
        models[save_as] = _fetch_model(ctx, save_as)
    request = {
        "action": "describe",
        "input_shape": list(p.get("input_shape", (28, 28, 1))),
        "num_classes": p.get("num_classes", 10),
        **(trusted or {}),
    }
    result, _ = ctx.trusted(check, request, models, arrays)
    return result


def _fetch_model(ctx: Context, name: str) -> Path:
    """The model file the last student child saved, copied out and zip-inspected."""
    work = ctx.sandbox.last_work(ctx.slot)
    destination = Path(tempfile.mkdtemp(dir=work.parent.parent)) / name
    try:
        copy_from_child(work, name, destination, max_bytes=64 << 20)
        inspect_zip(destination, max_total_bytes=128 << 20)
    except GradingError as error:
        raise CheckFailed(f"the model could not be saved and read back: {error}") from None
    return destination


def _layer_token(layer: dict) -> str:
    """A readable signature of one layer, e.g. ``Conv2D(32, 3x3, relu)``."""
    kind, config = layer.get("class_name"), layer.get("config") or {}

    def act():
        activation = config.get("activation")
        return activation if isinstance(activation, str) else str(activation)

    def size(value):
        return "x".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)

    if kind == "Conv2D":
        extras = [] if list(config.get("strides", [1, 1])) == [1, 1] else [f"stride {size(config.get('strides'))}"]
        extras += [] if config.get("padding", "valid") == "valid" else [str(config.get("padding"))]
        return f"Conv2D({config.get('filters')}, {size(config.get('kernel_size'))}, {act()}{''.join(', ' + e for e in extras)})"
    if kind == "MaxPooling2D":
        return f"MaxPooling2D({size(config.get('pool_size'))})"
    if kind == "Dropout":
        return f"Dropout({config.get('rate')})"
    if kind == "Dense":
        return f"Dense({config.get('units')}, {act()})"
    return str(kind)


def _signature(description: dict) -> list[str]:
    return [_layer_token(layer) for layer in description.get("layers", []) if layer.get("class_name") != "InputLayer"]


def _check_cnn(check: Check, description: dict, arrays: dict, index: int) -> None:
    p = check.params
    want_signature = list(p["signature"])
    got_signature = _signature(description)
    if got_signature != want_signature:
        for position, (got, want) in enumerate(
            zip(got_signature + ["(nothing)"] * 20, want_signature + ["(nothing)"] * 20)
        ):
            if got != want:
                raise CheckFailed(
                    f"layer {position + 1} should be {want}, found {got}. Expected the lecture's CNN: "
                    f"{' -> '.join(want_signature)}; yours: {' -> '.join(got_signature)}."
                )
    if description.get("params") != p["params"]:
        raise CheckFailed(f"the model has {description.get('params'):,} parameters; expected {p['params']:,}.")
    if description.get("input_shape") != [None, *p.get("input_shape", (28, 28, 1))]:
        raise CheckFailed(f"the model's input shape is {description.get('input_shape')}; expected (None, 28, 28, 1).")
    if "reference_error" in description or f"ref{index}" not in arrays or f"out{index}" not in arrays:
        raise CheckFailed(
            f"the grader could not run the model ({description.get('reference_error') or description.get('predict_error')})."
        )
    out, ref = arrays[f"out{index}"], arrays[f"ref{index}"]
    if out.shape != ref.shape or not np.allclose(out, ref, rtol=1e-4, atol=1e-5):
        raise CheckFailed(
            "with the same weights, the model's outputs differ from the lecture's CNN "
            "(check each layer's activation and the order of the layers)."
        )


def check_cnn(check: Check, ctx: Context) -> Outcome:
    p = check.params
    x = _probe_images(p)
    result = _build_and_describe(
        check, ctx, [(p["function"], "model.keras")], trusted={"reference_cnn": True}, arrays={"x": x}
    )
    description = result.record["data"].get("model.keras") or {}
    style = description.get("class_name")
    if p["style"] == "sequential" and style != "Sequential":
        raise CheckFailed(f"{p['function']} must return a keras.Sequential model; it returned a {style} model.")
    if p["style"] == "functional" and style == "Sequential":
        raise CheckFailed(
            f"{p['function']} must use the functional style (keras.Model(inputs, outputs)), not Sequential."
        )
    _check_cnn(check, description, result.arrays, 0)
    return _pass(check.points)


def check_weight_transfer(check: Check, ctx: Context) -> Outcome:
    p = check.params
    builds = [("build_cnn_sequential", "sequential.keras"), ("build_cnn_functional", "functional.keras")]
    ctx.student(
        check,
        {
            "action": "build_model",
            "builds": builds,
            "input_shape": list(p.get("input_shape", (28, 28, 1))),
            "num_classes": 10,
        },
    )  # one child builds both: the check needs both anyway
    models = {name: _fetch_model(ctx, name) for _, name in builds}
    result, _ = ctx.trusted(check, {"action": "transfer"}, models, {"x": _probe_images(p)})
    source, target = _require(result.arrays, "source", "outputs"), _require(result.arrays, "target", "outputs")
    if source.shape != (len(_probe_images(p)), 10) or target.shape != source.shape:
        raise CheckFailed(f"the models' outputs have shapes {source.shape} and {target.shape}; expected (N, 10).")
    if not np.allclose(source, target, rtol=1e-4, atol=1e-5):
        raise CheckFailed("after copying the Sequential model's weights into the functional one, their outputs differ.")
    return _pass(check.points)


def _graph(description: dict) -> tuple[dict, dict, list[str], list[str]]:
    """(layers by name, inbound layer names by name, input layer names, output layer names) from a Functional config."""
    config = description.get("config") or {}
    layers, inbound = {}, {}

    def histories(value):
        if isinstance(value, dict):
            history = (
                (value.get("config") or {}).get("keras_history")
                if value.get("class_name") == "__keras_tensor__"
                else None
            )
            if history:
                yield history[0]
            for item in value.values():
                yield from histories(item)
        elif isinstance(value, list):
            for item in value:
                yield from histories(item)

    for layer in config.get("layers", []):
        name = layer.get("name") or (layer.get("config") or {}).get("name")
        layers[name] = layer
        inbound[name] = list(histories(layer.get("inbound_nodes", [])))

    def first(entries):  # [[name, node, index], ...] or, for one tensor, [name, node, index]
        if isinstance(entries, list) and entries and isinstance(entries[0], str):
            return [entries[0]]
        return [entry[0] for entry in entries or [] if isinstance(entry, list) and entry]

    return layers, inbound, first(config.get("input_layers", [])), first(config.get("output_layers", []))


def _inception_branches(description: dict) -> tuple[dict, list[list[str]], str]:
    """(the concatenating layer, each branch as layer tokens from the input to the merge, merge kind)."""
    layers, inbound, inputs, outputs = _graph(description)
    if len(outputs) != 1 or outputs[0] not in layers:
        raise CheckFailed("inception_module must return one tensor.")
    merge = layers[outputs[0]]
    branches = []
    for start in inbound.get(outputs[0], []):
        chain, name = [], start
        while name not in inputs:
            if name not in layers or len(chain) > 10:
                raise CheckFailed("a branch of the module does not lead back to the module's input.")
            chain.append(
                _layer_token(layers[name])
                if layers[name].get("class_name") != "MaxPooling2D"
                else _pool_token(layers[name])
            )
            parents = inbound.get(name, [])
            if len(parents) != 1:
                raise CheckFailed(f"layer {name!r} inside a branch merges several tensors; each branch is a chain.")
            name = parents[0]
        branches.append(list(reversed(chain)))
    return merge, branches, str(merge.get("class_name"))


def _pool_token(layer: dict) -> str:
    config = layer.get("config") or {}
    size = lambda v: "x".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)  # noqa: E731
    return (
        f"MaxPooling2D({size(config.get('pool_size'))}, stride {size(config.get('strides'))}, {config.get('padding')})"
    )


def check_inception_module(check: Check, ctx: Context) -> Outcome:
    p = check.params
    kwargs = dict(p.get("kwargs", {}))
    filters = {
        "filters_1x1": 64,
        "filters_3x3_reduce": 64,
        "filters_3x3": 64,
        "filters_5x5_reduce": 64,
        "filters_5x5": 64,
        "filters_pool_proj": 64,
        **{k: v for k, v in kwargs.items() if k != "name"},
    }
    height, width, _ = p["input_shape"]
    x = np.random.default_rng(p.get("seed", 0)).random((4, *p["input_shape"])).astype(np.float32)
    result = _build_and_describe(
        check,
        ctx,
        [("inception_module", "module.keras")],
        action="inception_module",
        extra={"kwargs": kwargs},
        arrays={"x": x},
    )
    description = result.record["data"].get("module.keras") or {}
    merge, branches, merge_kind = _inception_branches(description)
    if merge_kind != "Concatenate":
        raise CheckFailed(
            f"the module's branches must be joined by layers.Concatenate (channel axis); found {merge_kind}."
        )
    if (merge.get("config") or {}).get("axis") not in (-1, 3):
        raise CheckFailed("the branches must be concatenated along the channel axis (axis=-1).")
    same = lambda f, k: f"Conv2D({f}, {k}x{k}, relu, same)"  # noqa: E731
    expected = [
        [same(filters["filters_1x1"], 1)],
        [same(filters["filters_3x3_reduce"], 1), same(filters["filters_3x3"], 3)],
        [same(filters["filters_5x5_reduce"], 1), same(filters["filters_5x5"], 5)],
        ["MaxPooling2D(3x3, stride 1x1, same)", same(filters["filters_pool_proj"], 1)],
    ]
    if len(branches) != 4:
        raise CheckFailed(f"the module has {len(branches)} branches into the Concatenate; the lecture's has 4.")
    if sorted(map(tuple, branches)) != sorted(map(tuple, expected)):
        missing = [" -> ".join(b) for b in expected if b not in branches]
        found = [" -> ".join(b) for b in branches if b not in expected]
        raise CheckFailed(
            f"branches not as in the lecture. Missing: {'; '.join(missing)}. Found instead: {'; '.join(found)}."
        )
    channels = filters["filters_1x1"] + filters["filters_3x3"] + filters["filters_5x5"] + filters["filters_pool_proj"]
    want_shape = [None, height, width, channels]
    if description.get("output_shape") != want_shape:
        raise CheckFailed(
            f"the module's output shape is {description.get('output_shape')}; expected {want_shape} "
            f"(same height and width, channels = the sum of the four branches)."
        )
    out = result.arrays.get("out0")
    if out is None or out.shape != (len(x), height, width, channels):
        raise CheckFailed("the module did not produce an output of the expected shape on the grader's input.")
    if kwargs.get("name"):
        names = [layer["name"] for layer in description.get("layers", []) if layer.get("class_name") != "InputLayer"]
        unnamed = [n for n in names if not str(n).startswith(kwargs["name"])]
        if unnamed:
            raise CheckFailed(
                f"with name={kwargs['name']!r}, every layer's name should start with it; not: {', '.join(unnamed[:5])}."
            )
    return _pass(check.points)


def check_inception_cnn(check: Check, ctx: Context) -> Outcome:
    p = check.params
    x = _probe_images(p)
    result = _build_and_describe(check, ctx, [(p["function"], "model.keras")], arrays={"x": x})
    description = result.record["data"].get("model.keras") or {}
    if description.get("input_shape") != [None, 28, 28, 1] or description.get("output_shape") != [None, 10]:
        raise CheckFailed(
            f"the model maps {description.get('input_shape')} to {description.get('output_shape')}; "
            "expected (None, 28, 28, 1) -> (None, 10)."
        )
    layers, inbound, _, _ = _graph(description)
    merges = [
        name
        for name, layer in layers.items()
        if layer.get("class_name") == "Concatenate" and len(inbound.get(name, [])) == 4
    ]
    shapes = {layer["name"]: layer.get("output_shape") for layer in description.get("layers", [])}
    if not merges:
        raise CheckFailed("the model has no Concatenate of four branches (the Inception module).")
    if not any((shapes.get(name) or [0])[-1] == p.get("channels", 256) for name in merges):
        raise CheckFailed(f"the Inception module's output should have {p.get('channels', 256)} channels.")
    out = result.arrays.get("out0")
    if out is None or out.shape != (len(x), 10) or not _are_probabilities(out):
        raise CheckFailed("the model's outputs are not 10 probabilities per image (end with a softmax).")
    return _pass(check.points)


def _are_probabilities(values: np.ndarray, tolerance: float = 1e-3) -> bool:
    return bool(
        np.all(np.isfinite(values)) and np.all(values >= -1e-6) and np.allclose(values.sum(axis=1), 1.0, atol=tolerance)
    )


# --- the submitted model


def _model_config_problem(path: Path) -> str | None:
    """Look into ``config.json`` inside the .keras zip (plain JSON) for layers the grader refuses."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if "config.json" not in names:
            return "model.keras has no config.json: save it with model.save('model.keras') (Keras 3)."
        info = archive.getinfo("config.json")
        if info.file_size > 16 << 20:
            return "model.keras's config.json is larger than 16 MB."
        try:
            config = json.loads(archive.read("config.json").decode("utf-8"))
        except (ValueError, RecursionError, UnicodeDecodeError):
            return "model.keras's config.json is not valid JSON."

    def classes(value):
        if isinstance(value, dict):
            if "class_name" in value:
                yield str(value["class_name"])
            for item in value.values():
                yield from classes(item)
        elif isinstance(value, list):
            for item in value:
                yield from classes(item)

    try:
        found = set(classes(config))
    except RecursionError:
        return "model.keras's config.json is nested too deeply."
    if "Lambda" in found:
        return (
            "the model contains a Lambda layer (arbitrary Python code), which the grader refuses to load; "
            "rebuild it from built-in Keras layers."
        )
    return None


def check_model(check: Check, ctx: Context) -> Outcome:
    p = check.params
    submission = ctx.submission
    path = submission / "model.keras"
    if not path.exists():
        others = sorted(q.name for q in submission.iterdir() if q.suffix.lower() in (".h5", ".hdf5", ".keras", ".pb"))
        if any(name.lower().endswith((".h5", ".hdf5")) for name in others):
            raise CheckFailed(
                "found an .h5 model: only the Keras 3 format is accepted; save with model.save('model.keras')."
            )
        raise CheckFailed("no model.keras in the submission (save your best model with model.save('model.keras')).")
    if path.is_symlink() or not path.is_file():
        raise CheckFailed("model.keras must be a regular file.")
    size = path.stat().st_size
    if size > p.get("max_mb", 200) << 20:
        raise CheckFailed(f"model.keras is {size >> 20} MB; at most {p.get('max_mb', 200)} MB is accepted.")
    with open(path, "rb") as handle:
        if handle.read(8).startswith(b"\x89HDF"):
            raise CheckFailed("model.keras is an HDF5 (.h5) file renamed: save with model.save('model.keras').")
    try:
        inspect_zip(path, max_total_bytes=p.get("max_unzipped_mb", 400) << 20, max_ratio=100.0)
    except GradingError as error:
        raise CheckFailed(f"model.keras was refused: {error}") from None
    problem = _model_config_problem(path)
    if problem:
        raise CheckFailed(problem)
    from kit.data import load_fashion_mnist

    data = load_fashion_mnist(ctx.data_dir, normalize=False)
    x_test, y_test = data.x_test, np.asarray(data.y_test)
    result, _ = ctx.trusted(check, {"action": "evaluate_model"}, {"model.keras": path}, {"x": x_test})
    description = result.record["data"].get("model.keras") or {}
    probabilities = _require(result.arrays, "probabilities", "the model's predictions")
    if probabilities.shape != (len(y_test), 10):
        raise CheckFailed(
            f"the model's output has shape {_shape_text(probabilities.shape)} on the test set; "
            f"expected ({len(y_test)}, 10): one probability per class. Output shape: {description.get('output_shape')}."
        )
    if not _are_probabilities(probabilities.astype(np.float64)):
        raise CheckFailed(
            "the model does not output probabilities (rows must be >= 0 and sum to 1): it looks like "
            "logits. End the model with a softmax activation."
        )
    from sklearn.metrics import f1_score

    f1 = float(f1_score(y_test, probabilities.argmax(axis=1), average="macro"))
    points = 0.0
    for threshold, value in sorted((float(t), float(v)) for t, v in p["thresholds"]):
        if f1 >= threshold:
            points = value
    board = {"name": "macro-F1", "value": round(f1, 4), "order": "desc"}
    scale = ", ".join(f">= {float(t):.2f}: {float(v):g}" for t, v in sorted(p["thresholds"]))
    outcome = Outcome(
        min(points, check.points),
        "passed" if points > 0 else "failed",
        f"macro-F1 on the {len(y_test):,} test images: {f1:.4f} ({description.get('params', 0):,} parameters). "
        f"Points: {scale}.",
        leaderboard=board,
    )
    return outcome


CHECK_KINDS: dict[str, Callable[[Check, Context], Outcome]] = {
    "dataset_summary": check_dataset_summary,
    "confusion_matrix": check_confusion_matrix,
    "f1_scores": check_f1_scores,
    "best_config": check_best_config,
    "cnn": check_cnn,
    "weight_transfer": check_weight_transfer,
    "inception_module": check_inception_module,
    "inception_cnn": check_inception_cnn,
    "model": check_model,
}


# ------------------------------------------------------------------ grading a submission


def _run_one(check: Check, ctx: Context) -> Outcome:
    started = time.monotonic()
    try:
        outcome = CHECK_KINDS[check.kind](check, ctx)
    except CheckFailed as failure:
        outcome = _fail(str(failure), failure.student_output)
    except GradingError as error:
        outcome = _fail(f"The grader could not run this check ({error}); please tell the course staff.")
    except Exception as error:  # noqa: BLE001 - a grader bug must not cost the other checks
        traceback.print_exc()
        outcome = _fail(
            f"The grader hit an internal error on this check ({type(error).__name__}); please tell the course staff."
        )
    outcome.seconds = time.monotonic() - started
    return outcome


def _test_entry(number: int, check: Check, outcome: Outcome) -> dict:
    lines = [check.message] if check.message else []
    if outcome.detail:
        lines.append(outcome.detail)
    if outcome.status == "passed" and outcome.score == check.points:
        lines.append("Passed.")
    if outcome.student_output and check.visibility == "visible":
        lines.append("Your code's output (cut):\n" + outcome.student_output)
    return {
        "name": check.name,
        "number": str(number),
        "score": round(float(outcome.score), 4),
        "max_score": float(check.points),
        "status": outcome.status,
        "output": "\n".join(lines)[:8000],
        "output_format": "text",
        "visibility": check.visibility,
        "tags": [check.id, check.kind],
    }


def grade(
    submission: str | os.PathLike,
    *,
    assignment: str = "fashion_mnist",
    hidden: bool = False,
    only: Iterable[str] | None = None,
    out: str | os.PathLike | None = None,
    timeout_scale: float = 1.0,
    workers: int = 2,
    data_dir: str | None = None,
    quiet: bool = False,
    sandbox_options: dict | None = None,
) -> dict:
    """Grade one submission folder; return (and, with ``out``, write) Gradescope's results dict.

    ``hidden`` runs the hidden checks too (Gradescope); ``only`` restricts to some check ids
    (for tests); ``timeout_scale`` multiplies every check's timeout.
    """
    started = time.monotonic()
    rubric = load_rubric(assignment)
    submission = Path(submission).resolve()
    if not submission.is_dir():
        raise GradingError(f"Submission folder {submission} does not exist; pass the folder holding homework.py.")
    checks = [c for c in rubric.checks if hidden or c.visibility != "hidden"]
    if only is not None:
        only = list(only)
        unknown = sorted(set(only) - {c.id for c in rubric.checks})
        if unknown:
            raise GradingError(
                f"Unknown check id(s) {', '.join(unknown)}; valid ids: {', '.join(c.id for c in rubric.checks)}."
            )
        checks = [c for c in checks if c.id in only]
    checks = [Check(**{**c.__dict__, "timeout": c.timeout * timeout_scale}) for c in checks]
    notes = _submission_notes(submission)
    outcomes: dict[str, Outcome] = {}
    has_homework = (submission / "homework.py").is_file() and not (submission / "homework.py").is_symlink()
    isolation: list = []
    slots: queue.Queue = queue.Queue()
    for slot in range(max(1, workers)):
        slots.put(slot)

    with Sandbox(hide=rubric.hide, slots=max(1, workers), **(sandbox_options or {})) as box:

        def run(check: Check) -> tuple[str, Outcome]:
            if check.kind != "model" and not has_homework:
                return check.id, _fail(
                    "No homework.py in the submission (upload homework.py itself, not a folder or zip)."
                )
            slot = slots.get()
            try:
                ctx = Context(box, slot, submission, rubric.limits, data_dir, isolation)
                return check.id, _run_one(check, ctx)
            finally:
                slots.put(slot)

        # the slowest checks first, so that two workers finish together
        order = sorted(checks, key=lambda c: -c.timeout)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for check_id, outcome in pool.map(run, order):
                outcomes[check_id] = outcome

    tests = [_test_entry(number, check, outcomes[check.id]) for number, check in enumerate(checks, start=1)]
    results = {
        "score": round(sum(t["score"] for t in tests), 4),
        "execution_time": round(time.monotonic() - started, 2),
        "output": _summary_output(tests, notes),
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
        "leaderboard": [outcomes[c.id].leaderboard for c in checks if outcomes[c.id].leaderboard]
        or [{"name": "macro-F1", "value": 0.0, "order": "desc"}],
    }
    if not quiet:
        print(summary_table(results))
        print(_isolation_note(isolation, rubric))
    if out is not None:
        write_results(results, out)
    return results


def _submission_notes(submission: Path) -> list[str]:
    ignored = sorted(p.name for p in submission.iterdir() if p.name not in ALLOWED_FILES) if submission.is_dir() else []
    if ignored:
        return [f"Ignored (only {', '.join(ALLOWED_FILES)} are graded): {', '.join(ignored[:20])}."]
    return []


def _summary_output(tests: list[dict], notes: list[str]) -> str:
    visible = [t for t in tests if t["visibility"] != "hidden"]
    got = sum(t["score"] for t in visible)
    total = sum(t["max_score"] for t in visible)
    return "\n".join([f"Visible checks: {got:g} / {total:g} points.", *notes])


def _isolation_note(isolation: list, rubric: Rubric) -> str:
    hidden = {path for entry in isolation for path in entry.get("hidden", [])}
    uids = {entry.get("uid") for entry in isolation}
    wanted = {str(p.resolve()) for p in rubric.hide if p.exists()}
    lines = [
        f"isolation: child uid(s) {sorted(u for u in uids if u is not None)}; "
        f"hidden folders: {len(hidden)} of {len(wanted)}"
    ]
    if 0 in uids:
        lines.append("WARNING: student code ran as root; run the grader as root so that it can drop privileges.")
    if wanted - hidden and isolation:
        lines.append(
            "NOTE: " + ", ".join(sorted(wanted - hidden)) + " could not be hidden from the child "
            "(no mount namespace); rely on file permissions (the packaged autograder makes its source 0700)."
        )
    return "\n".join(lines)


def summary_table(results: dict) -> str:
    """The human summary: one line per check, then the total."""
    import pandas as pd

    table = pd.DataFrame(
        [
            {
                "#": t["number"],
                "check": t["name"],
                "visibility": t["visibility"],
                "score": f"{t['score']:g}/{t['max_score']:g}",
                "status": t["status"],
            }
            for t in results["tests"]
        ]
    )
    total = sum(t["max_score"] for t in results["tests"])
    board = results.get("leaderboard") or []
    f1 = f"; model macro-F1 {board[0]['value']:.4f}" if board else ""
    text = table.to_string(index=False) if len(table) else "(no checks)"
    return f"{text}\nTotal: {results['score']:g} / {total:g} points in {results['execution_time']:.1f} s{f1}"


def write_results(results: dict, out: str | os.PathLike) -> Path:
    """Write ``results.json`` atomically (a temporary file renamed over the target)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".results-", dir=out.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(results, stream, indent=2, allow_nan=False)
    os.chmod(temporary, 0o644)
    os.replace(temporary, out)
    return out


def failure_results(message: str) -> dict:
    """A valid results.json when grading itself failed: 0 points, and a message for the staff."""
    return {
        "score": 0.0,
        "execution_time": 0.0,
        "output": f"The autograder failed: {message} Please tell the course staff.",
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": [],
        "leaderboard": [{"name": "macro-F1", "value": 0.0, "order": "desc"}],
    }


# ------------------------------------------------------------------ Gradescope package

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when the autograder image is built.
set -euo pipefail
apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
# the venv lives outside /autograder/source, which run_autograder makes unreadable to student code
python3 -m venv /opt/kit-venv
/opt/kit-venv/bin/pip install --quiet --upgrade pip
/opt/kit-venv/bin/pip install --quiet -r /autograder/source/requirements.txt
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission, as root: /autograder/submission -> /autograder/results/results.json
set -u
cd /autograder/source
mkdir -p /autograder/results
# the grader's source (rubric) and the submission are readable by root only; student code runs
# as an unprivileged uid (kit.sandbox), so it cannot read them
chmod -R go-rwx /autograder/source /autograder/submission
export TF_CPP_MIN_LOG_LEVEL=2 KIT_DATA_DIR=/autograder/source/datasets/fashion-mnist
/opt/kit-venv/bin/python -m kit grade /autograder/submission --assignment {assignment} --hidden \\
    --out /autograder/results/results.json
status=$?
if [ ! -s /autograder/results/results.json ]; then
  /opt/kit-venv/bin/python -c 'import json; json.dump({{"score": 0.0, "execution_time": 0, "stdout_visibility": "hidden", "tests": [], "output": "The autograder failed (status '"$status"'); please tell the course staff."}}, open("/autograder/results/results.json", "w"))'
fi
exit 0
"""


def write_package(out: str | os.PathLike, assignment: str = "fashion_mnist", data_dir: str | None = None) -> Path:
    """Gradescope's autograder zip: setup.sh, run_autograder, the kit, the rubric (never the solution), the data."""
    rubric = load_rubric(assignment)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from kit.data import FILES, candidate_dirs

    data_folder = next(
        (folder for _, folder in candidate_dirs(data_dir) if all((folder / name).is_file() for name in FILES.values())),
        None,
    )
    if data_folder is None:
        raise GradingError(
            "The Fashion-MNIST files were not found; run `make data` first (the package carries the test set)."
        )
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        def add_text(name: str, text: str, mode: int = 0o644):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)

        add_text("setup.sh", SETUP_SH, 0o755)
        add_text("run_autograder", RUN_AUTOGRADER.format(assignment=assignment), 0o755)
        add_text("requirements.txt", (ROOT / "requirements.txt").read_text())
        for source in sorted((ROOT / "kit").glob("*.py")):
            add_text(f"kit/{source.name}", source.read_text())
        add_text(f"solutions/{assignment}/rubric.py", rubric.path.read_text())
        for name in FILES.values():
            archive.write(data_folder / name, f"datasets/fashion-mnist/{name}", compress_type=zipfile.ZIP_STORED)
    return out


# ------------------------------------------------------------------ CLI


def command(args) -> int:
    """``python -m kit grade``: grade a submission (always writing a valid results.json) or write the package."""
    if args.package:
        path = write_package(args.package, args.assignment)
        print(f"wrote {path} (upload it as the Gradescope autograder; it runs hidden checks too)")
        return 0
    if not args.submission:
        raise GradingError(
            "Pass a submission folder (python -m kit grade SUBMISSION_DIR --out results.json) or --package OUT.zip."
        )
    try:
        grade(args.submission, assignment=args.assignment, hidden=args.hidden, out=args.out)
    except Exception as error:  # noqa: BLE001 - always leave a valid results.json behind
        write_results(failure_results(str(error)), args.out)
        raise GradingError(f"grading failed ({error}); wrote a 0-point results.json to {args.out}.") from None
    return 0
