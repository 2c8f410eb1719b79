"""Check kinds: what a rubric check feeds the student's code, what it asks of it, and how it judges.

A kind is one class; the whole of it is in one place (docs/authoring.md, "Write a check kind"):

- ``inputs(params)`` (grader): arrays made from the rubric's seeds, the same for grader and self-check;
- ``call(student, inputs, params)`` (a sandboxed child, the only place student code runs): calls the
  student's functions through ``student.call`` and returns plain data: numpy arrays, JSON values,
  or ``Built(model, what)`` for a Keras model (saved as ``.keras``, reopened in safe mode);
- ``inspect(answer, inputs, params)`` (optional; a trusted child with no student code): reads the
  models in ``answer`` (loaded with safe mode) or computes reference answers with Keras;
- ``judge(answer, inputs, params) -> Verdict`` (grader): the points, and a sentence for the student.

The grader runs these steps for every check of a submission in as few children as it can
(``kit.grading.grader``: all the student's calls in one child, in turn, then all inspections in
one trusted child); the runner and the notebook run them in their own process (``judge_in_process``).

The kit offers generic kinds any assignment can use with parameters (``function``: a function on
arrays against a reference; ``model_builder``: a Keras model builder read by ``model_graph`` and run
on probe inputs; ``model``: a submitted model file scored on a data set with thresholds). An
assignment adds its own in ``checks.py`` beside its rubric (``kinds_of`` collects them). Reference
answers come from numpy, scikit-learn, Keras or the kit, never from the solution, because the
visible kinds ship with the student release (the self-check needs them).
"""

from __future__ import annotations

import importlib
import json
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from kit.errors import GradingError
from kit.grading.judges import CheckFailed, Verdict


@dataclass(frozen=True)
class Rule:
    """What a student's function may use: a sentence, and the modules it must not call into."""

    description: str
    forbidden: tuple[str, ...]


NUMPY_ONLY = Rule("numpy only", ("sklearn", "scipy", "pandas", "tensorflow", "keras", "torch", "jax"))
PLAIN_KERAS = Rule("plain keras, not the kit's ready-made networks", ("kit.models", "kit.blocks"))
RULES = {"numpy": NUMPY_ONLY, "plain_keras": PLAIN_KERAS}


class StudentError(Exception):
    """What the student's code returned or did cannot be used by the check (the message is for the student)."""


class NotWritten(Exception):
    """The student's function is missing or still raises NotImplementedError (a to-do, not a failure)."""


@dataclass
class Built:
    """A Keras model a student function built: saved as ``.keras`` by the child, reopened in safe mode."""

    model: Any
    what: str  # the function that built it, for messages


class Student:
    """The student's entry module as a check's ``call`` sees it (sandboxed child or the runner's process)."""

    module: ModuleType

    def call(
        self, function: str, *args, rule: Rule | None = None, hint: Callable[[BaseException], str] | None = None, **kw
    ) -> Any:
        """Call the student's ``function``; its failures become a ``StudentError`` with their traceback.

        ``rule``: the modules it must not call into (``NUMPY_ONLY``); ``hint``: a known mistake's cause
        from the exception it raised (empty: none known).
        """
        raise NotImplementedError


class Kind:
    """One kind of check (see the module's docstring); subclasses set ``name`` and override what they need."""

    name: ClassVar[str] = ""
    needs_entry: ClassVar[bool] = True  # False: the check grades a submitted file, not the entry's code
    # True: where children are small (grader.BATCHED_HEAVY_MIN_MB), the trusted step runs in a child of
    # its own, never batched with others: for the heaviest (a model on a whole test set), whose memory
    # must not add to what a batched child already holds (Gradescope's 1.5 GB leaves one child 1,234 MB
    # of data segment; the model check alone peaks ~700)
    alone: ClassVar[bool] = False

    def inputs(self, params: dict) -> dict[str, np.ndarray]:
        return {}

    def call(self, student: Student, inputs: dict[str, np.ndarray], params: dict) -> dict[str, Any]:
        raise NotImplementedError(f"check kind {self.name!r} calls no student code")

    def inspect(self, answer: dict[str, Any], inputs: dict[str, np.ndarray], params: dict) -> dict[str, Any] | None:
        """Runs in a trusted child; None (the default): the kind has no trusted step."""
        return None

    def judge(self, answer: dict[str, Any], inputs: dict[str, np.ndarray], params: dict) -> Verdict:
        raise NotImplementedError

    @property
    def has_inspect(self) -> bool:
        return type(self).inspect is not Kind.inspect

    def needs_inspection(self, answer: dict[str, Any]) -> bool:
        """Whether this answer needs the trusted step (False: judge it as it is, sparing a child)."""
        return self.has_inspect

    def submitted(self, files, params: dict) -> dict[str, Any]:
        """For a kind that reads a submitted file (``needs_entry`` False): the answer from ``files`` (the grader's
        ``kit.grading.grader.Files``, which refuses bad files), e.g. ``{"model.keras": files.model(params)}``."""
        return {}


# ------------------------------------------------------------------ plain data in and out of children


def split_answer(answer: dict[str, Any]) -> tuple[dict, dict[str, np.ndarray], dict[str, Built]]:
    """(JSON part, arrays, models) of what ``call``/``inspect`` returned; anything else is refused."""
    if not isinstance(answer, dict):
        raise StudentError(f"the check's answer is {type(answer).__name__}, not a dict")
    data, arrays, models = {}, {}, {}
    for key, value in answer.items():
        if isinstance(value, Built):
            models[key] = value
        elif isinstance(value, np.ndarray | np.generic):
            arrays[key] = np.ascontiguousarray(value)
        else:
            try:
                data[key] = json.loads(json.dumps(value, allow_nan=True))
            except (TypeError, ValueError) as error:
                raise StudentError(f"the answer {key!r} is not plain data ({error})") from None
    return data, arrays, models


def as_numeric_array(value: Any, what: str) -> np.ndarray:
    """A plain numeric numpy array from what the student returned, or a clear ``StudentError``."""
    if not isinstance(value, np.ndarray | np.generic | list | tuple | int | float) or isinstance(value, bool):
        raise StudentError(f"{what} returned {type(value).__name__}; expected a numpy array of numbers.")
    try:
        array = np.array(value)  # a copy: a subclass with odd __eq__ becomes a plain ndarray
    except Exception as error:  # noqa: BLE001 - anything the student's object raises
        raise StudentError(f"{what} returned something that is not an array ({type(error).__name__}).") from None
    array = np.asarray(array).view(np.ndarray)
    if array.dtype.kind not in "biuf":
        raise StudentError(f"{what} returned an array of dtype {array.dtype}; expected numbers (int or float).")
    return np.ascontiguousarray(array)


def check_model(value: Any, what: str) -> Built:
    """``Built(value, what)`` if ``value`` is a ``keras.Model``, else a ``StudentError`` naming what it is."""
    import keras

    if not isinstance(value, keras.Model):
        raise StudentError(f"{what} returned {type(value).__name__}; expected a keras.Model.")
    return Built(value, what)


def load_model_safely(path: str | Path):
    """Keras' safe mode only; ``compile=False``: the grader needs predictions, not training state."""
    import keras

    try:
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # noqa: BLE001
        text = str(error)
        if "Lambda" in text or "safe_mode" in text or "unsafe" in text.lower():
            raise StudentError(
                "the model uses a Lambda layer (arbitrary code), which the grader refuses to load; "
                "use built-in Keras layers."
            ) from None
        raise StudentError(
            f"the model could not be loaded with keras.models.load_model(safe_mode=True) "
            f"({type(error).__name__}: {text[:300]})."
        ) from None


def predict(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """A model's outputs on ``x`` as float64 (uint8 images are scaled to 0..1 first)."""
    if x.dtype == np.uint8:
        x = x.astype("float32") / 255.0
    return np.asarray(model.predict(x, verbose=0, batch_size=batch_size), dtype=np.float64)


def resolve(reference: str, checks: Iterable[ModuleType] = ()) -> Callable:
    """A reference callable named ``"module:attribute"``; ``"checks:NAME"`` is the assignment's checks module."""
    module_name, _, attribute = reference.partition(":")
    if not attribute:
        raise GradingError(f"reference {reference!r} must read 'module:function' (e.g. 'checks:he_std').")
    if module_name == "checks":
        for module in checks:
            if hasattr(module, attribute):
                return getattr(module, attribute)
        raise GradingError(f"reference {reference!r}: the assignment's checks.py has no {attribute!r}.")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise GradingError(f"reference {reference!r} cannot be imported ({error}).") from None


# ------------------------------------------------------------------ generic kind 1: a function on arrays


def make_array(spec: dict) -> np.ndarray:
    """An input array from its rubric spec: ``{"array": shape, "seed": s, "distribution": ..., "dtype": ...}``.

    distribution ``normal`` (``loc``, ``scale``; the default), ``uniform`` (``low``, ``high``) or
    ``integers`` (``low``, ``high`` exclusive); ``zeros``/``ones``; ``values`` gives the array itself.
    """
    if "values" in spec:
        return np.asarray(spec["values"], dtype=spec.get("dtype", "float64"))
    rng = np.random.default_rng(spec.get("seed", 0))
    shape = tuple(spec["array"])
    distribution = spec.get("distribution", "normal")
    if distribution == "normal":
        array = rng.normal(spec.get("loc", 0.0), spec.get("scale", 1.0), size=shape)
    elif distribution == "uniform":
        array = rng.uniform(spec.get("low", 0.0), spec.get("high", 1.0), size=shape)
    elif distribution == "integers":
        array = rng.integers(spec.get("low", 0), spec["high"], size=shape)
    elif distribution in ("zeros", "ones"):
        array = np.zeros(shape) if distribution == "zeros" else np.ones(shape)
    else:
        raise GradingError(
            f"unknown distribution {distribution!r}; valid: integers, normal, ones, uniform, values, zeros."
        )
    return array.astype(spec.get("dtype", "int64" if distribution == "integers" else "float64"))


def _is_array_spec(value: Any) -> bool:
    return isinstance(value, dict) and ("array" in value or "values" in value)


def case_arguments(case: dict, index: int, inputs: dict[str, np.ndarray]) -> dict[str, Any]:
    """One case's keyword arguments: array specs replaced by the arrays ``inputs`` holds (copies)."""
    return {
        key: (np.array(inputs[f"case{index}.{key}"]) if _is_array_spec(value) else value)
        for key, value in case.items()
        if not key.startswith("_")
    }


def case_label(case: dict, index: int, inputs: dict[str, np.ndarray]) -> str:
    """A case as the student reads it: its label, or its arguments (arrays as dtype and shape)."""
    if "_label" in case:
        return f"case {index + 1} ({case['_label']})"
    parts = []
    for key, value in case.items():
        if key.startswith("_"):
            continue
        if _is_array_spec(value):
            array = inputs[f"case{index}.{key}"]
            parts.append(f"{key}: {array.dtype} array of shape {tuple(array.shape)}")
        else:
            parts.append(f"{key}={value!r}")
    return f"case {index + 1} ({', '.join(parts)})"


def _is_scalar(value: Any) -> bool:
    """A number of any type: a Python or numpy scalar, or a 0-d array (bool is a number here too)."""
    if isinstance(value, np.ndarray):
        return value.ndim == 0
    return isinstance(value, int | float | np.generic)


def flatten_output(value: Any, what: str, prefix: str = "out") -> dict[str, np.ndarray]:
    """A function's result as named float64 arrays: an array, a number, or a tuple/list/dict of them.

    A tuple or list of numbers (Python or numpy scalars, 0-d arrays, in any mix) is one 1-d array;
    a dict gives ``prefix.key`` per key, a tuple or list of arrays ``prefix.0``, ``prefix.1``, ...
    The judge reads values, not types: ``align`` matches a tuple with a dict (in the dict's order) and a
    list of arrays with their stack.
    """
    if isinstance(value, dict):
        found = {}
        for key, item in value.items():
            found.update(flatten_output(item, f"{what}[{key!r}]", f"{prefix}.{key}"))
        return found
    if isinstance(value, tuple | list) and value and not all(_is_scalar(v) for v in value):
        found = {}
        for position, item in enumerate(value):
            found.update(flatten_output(item, f"{what}[{position}]", f"{prefix}.{position}"))
        return found
    if isinstance(value, tuple | list) and value:
        value = [np.asarray(v).item() if isinstance(v, np.ndarray | np.generic) else v for v in value]
    return {prefix: as_numeric_array(value, what).astype(np.float64)}


def _describe_key(key: str) -> str:
    parts = key.split(".")[2:]  # "case0.out.1" -> "1"
    return "the result" if not parts else "result" + "".join(f"[{p}]" if p.isdigit() else f"[{p!r}]" for p in parts)


def _numbered(keys: list[str]) -> bool:
    return all(key.rsplit(".", 1)[-1].isdigit() for key in keys)


def align(
    got: dict[str, np.ndarray], want: dict[str, np.ndarray]
) -> list[tuple[str, Any, np.ndarray, np.ndarray]] | str:
    """The pairs to compare, ``(what the student reads, weight key, got, want)``, or why the shapes cannot match.

    Values, not types: the same keys pair by key (a dict with a dict, a tuple with a tuple); a tuple or
    list answers a dict in the dict's order (and a dict a tuple); a sequence of arrays (or numbers)
    answers one array whose first axis runs over them, and one array a sequence.
    """
    want_keys, got_keys = list(want), list(got)
    if set(got) == set(want):
        return [(_describe_key(k), _weight_key(k, i), got[k], want[k]) for i, k in enumerate(want_keys)]
    if len(want) == 1 and len(got) > 1:  # a sequence (or a dict) where one array is expected
        (key,) = want_keys
        w = want[key]
        if w.ndim >= 1 and w.shape[0] == len(got) and all(_leaf(got[k]) == w.shape[1:] for k in got_keys):
            return [(f"result[{i}]", i, got[k].reshape(w[i].shape), w[i]) for i, k in enumerate(got_keys)]
    if len(got) == 1 and len(want) > 1:  # one array where a sequence (or a dict) is expected
        (key,) = got_keys
        g = got[key]
        if g.ndim >= 1 and g.shape[0] == len(want) and all(_leaf(want[k]) == g.shape[1:] for k in want_keys):
            return [
                (_describe_key(k), _weight_key(k, i), g[i], want[k].reshape(g[i].shape))
                for i, k in enumerate(want_keys)
            ]
    if len(got) == len(want) > 1 and (_numbered(got_keys) or _numbered(want_keys)):  # a tuple and a dict
        return [
            (_describe_key(w), _weight_key(w, i), got[g], want[w])
            for i, (g, w) in enumerate(zip(got_keys, want_keys, strict=True))
        ]
    count = len(want) if len(want) > 1 else (want[want_keys[0]].size if want else 0)
    expected = "one value" if len(want) == 1 else f"{len(want)} values"
    if len(want) > 1 and not _numbered(want_keys):
        names = ", ".join(repr(k.split(".", 2)[-1]) for k in want_keys)
        expected = f"{len(want)} values ({names}: a dict with these keys, or a tuple in this order)"
    elif len(want) == 1 and count > 1 and want[want_keys[0]].ndim == 1:
        expected = f"one value (an array of {count}, or a tuple or list of {count} numbers)"
    if len(got) > 1 and not _numbered(got_keys) and len(want) > 1 and not _numbered(want_keys):
        names = ", ".join(repr(k.split(".", 2)[-1]) for k in got_keys)
        return f"it returned the keys {names}; expected {expected} (check what the function returns)"
    return f"it returned {len(got)} value(s); expected {expected} (check what the function returns)"


def _leaf(array: np.ndarray) -> tuple:
    """An output's shape, a number's (stored as shape (1,)) read as ()."""
    return () if array.shape == (1,) else tuple(array.shape)


def _weight_key(key: str, position: int) -> Any:
    """What ``parts`` weighs an output by: its dict key where it has one, else its position."""
    last = key.split(".", 2)[-1] if key.count(".") >= 2 else ""
    return last if last and not last.isdigit() else position


def _differs(where: str, g: np.ndarray, w: np.ndarray, rtol: float, atol: float) -> str | None:
    if g.shape != w.shape:
        return f"{where} has shape {tuple(g.shape)}; expected {tuple(w.shape)}"
    close = np.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return None
    bad = np.unravel_index(int(np.flatnonzero(~close.reshape(-1))[0]), close.shape) if g.ndim else ()
    if where == "the result" and g.ndim == 1:  # a tuple of numbers, or a 1-d array: name the element
        return f"result[{int(bad[0])}] differs: got {float(g[bad]):.6g}, expected {float(w[bad]):.6g}"
    at = f" at index {list(map(int, bad))}" if bad else ""
    return f"{where} differs{at}: got {float(g[bad]):.6g}, expected {float(w[bad]):.6g}"


def compare(got: dict[str, np.ndarray], want: dict[str, np.ndarray], rtol: float, atol: float) -> str | None:
    """None where ``got`` equals ``want`` within tolerances (values, not types: see ``align``); else what
    differs first (one sentence naming the element)."""
    pairs = align(got, want)
    if isinstance(pairs, str):
        return pairs
    for where, _, g, w in pairs:
        problem = _differs(where, g, w, rtol, atol)
        if problem:
            return problem
    return None


class FunctionKind(Kind):
    """Generic: the student's function, called on each case, equals a reference (numpy/scikit-learn/Keras).

    params:

    - ``function``: the student's function; ``cases``: a list of keyword arguments (an argument may
      be an array spec, see ``make_array``; ``_label`` names a case; ``_function`` and ``_reference``
      give a case its own function and reference, so that the edge cases of several functions share
      one check and one trusted child; ``_raises: "ValueError"`` makes a case pass when the function
      raises that exception, or a subclass, as its docstring promises for bad input: no reference runs);
    - ``reference``: "checks:NAME" (the assignment's checks.py) or "module:NAME", called with the
      same arguments in a trusted child; ``rtol``/``atol``; ``rule``: "numpy" | "plain_keras";
    - ``partial`` (default true): each right case earns its share of the points; ``parts``: weights
      of a result's outputs, a list by position (a tuple's outputs, e.g. ``[2, 1, 1]`` for BatchNorm's
      output, running mean and variance, or a tuple of numbers' elements) or a dict by key (a dict
      result); an output it does not name weighs 1: a wrong case earns the weighted share of its
      outputs that are right (without ``parts`` a case is right or wrong as a whole);
    - ``mistakes``: ``[{"reference": ..., "message": ..., "functions": [...]}]``: a typical
      mistake's outputs (of those functions only, where given), recognised and named.

    Values, not types (``align``): numbers compare as float64 whatever their type (Python, numpy
    scalars, 0-d arrays); a tuple or list answers a dict in the dict's order and a dict a tuple; a
    sequence of arrays or numbers answers one array over its first axis. Messages name the element
    that differs (``result[1]``, ``result['conv']``).
    """

    name = "function"
    checks_modules: tuple[ModuleType, ...] = ()  # set by build_registry: where "checks:NAME" is looked up

    def inputs(self, params: dict) -> dict[str, np.ndarray]:
        return {
            f"case{index}.{key}": make_array(value)
            for index, case in enumerate(params["cases"])
            for key, value in case.items()
            if _is_array_spec(value)
        }

    @staticmethod
    def function_of(case: dict, params: dict) -> str:
        return case.get("_function") or params["function"]

    def call(self, student: Student, inputs: dict[str, np.ndarray], params: dict) -> dict[str, Any]:
        rule = RULES.get(params.get("rule", ""))
        answer: dict[str, Any] = {}
        for index, case in enumerate(params["cases"]):
            function = self.function_of(case, params)
            raised: list[str] = []

            def note(error: BaseException, raised=raised) -> str:  # the exception's classes, for `_raises`
                raised.extend(cls.__name__ for cls in type(error).__mro__)
                return ""

            try:
                result = student.call(
                    function,
                    rule=rule,
                    hint=note if case.get("_raises") else None,
                    **case_arguments(case, index, inputs),
                )
                if case.get("_raises"):
                    answer[f"case{index}.raised"] = []  # it returned: nothing raised
                else:
                    answer.update(flatten_output(result, f"`{function}`", f"case{index}.out"))
            except StudentError as error:
                if raised:
                    answer[f"case{index}.raised"] = raised
                else:
                    answer[f"case{index}.error"] = str(error)
        return answer

    def needs_inspection(self, answer: dict) -> bool:
        """No reference child for an answer with no output to compare (e.g. the released stubs)."""
        return any(".out" in key for key in answer)

    def inspect(self, answer: dict, inputs: dict[str, np.ndarray], params: dict) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for index, case in enumerate(params["cases"]):
            if f"case{index}.error" in answer or case.get("_raises"):
                continue
            function = self.function_of(case, params)
            references = {"want": case.get("_reference") or params["reference"]}
            for number, mistake in enumerate(params.get("mistakes", [])):
                if function in mistake.get("functions", [function]):
                    references[f"mistake{number}"] = mistake["reference"]
            for prefix, name in references.items():
                result = resolve(name, self.checks_modules)(**case_arguments(case, index, inputs))
                for key, array in flatten_output(result, name, f"case{index}.out").items():
                    found[f"{prefix}.{key}"] = array
        return found

    def judge_case(self, answer: dict, index: int, params: dict) -> tuple[float, str | None]:
        """(share of the case earned, what is wrong or None) for case ``index``."""
        if f"case{index}.error" in answer:
            return 0.0, str(answer[f"case{index}.error"])
        expected = params["cases"][index].get("_raises")
        if expected:
            raised = answer.get(f"case{index}.raised")
            if isinstance(raised, list) and expected in raised:
                return 1.0, None
            if isinstance(raised, list) and raised:
                return 0.0, f"it raised {raised[0]}; the docstring asks for a {expected} here"
            return 0.0, f"it returned a result; the docstring asks it to raise a {expected} here"
        rtol, atol = float(params.get("rtol", 1e-6)), float(params.get("atol", 1e-8))

        def outputs(prefix: str) -> dict[str, np.ndarray]:
            start = f"{prefix}case{index}.out"
            return {k[len(prefix) :]: np.asarray(v) for k, v in answer.items() if k.startswith(start)}

        got, want = outputs(""), outputs("want.")
        problem = compare(got, want, rtol, atol)
        if problem is None:
            return 1.0, None
        named = next(
            (
                mistake["message"]
                for number, mistake in enumerate(params.get("mistakes", []))
                if any(k.startswith(f"mistake{number}.case{index}.") for k in answer)
                and compare(got, outputs(f"mistake{number}."), rtol, atol) is None
            ),
            None,
        )
        share = _share_right(got, want, rtol, atol, params.get("parts"))
        return share, problem + (f". {named}" if named else "")

    def judge(self, answer: dict, inputs: dict[str, np.ndarray], params: dict) -> Verdict:
        cases = params["cases"]
        scores, failures = [], []
        for index, case in enumerate(cases):
            share, problem = self.judge_case(answer, index, params)
            scores.append(share)
            if problem is not None:
                failures.append(f"{case_label(case, index, inputs)}: {problem}")
        if not failures:
            return Verdict(True, 1.0, f"all {len(cases)} cases equal the reference.")
        right = len(cases) - len(failures)
        fraction = sum(scores) / len(cases) if params.get("partial", True) else 0.0
        partly = " (a case with some outputs right earns their share)" if params.get("parts") and fraction else ""
        more = f" (and {len(failures) - 1} more case(s))" if len(failures) > 1 else ""
        return Verdict(fraction > 0, fraction, f"{right} of {len(cases)} cases right{partly}; {failures[0]}{more}.")


def _share_right(got: dict, want: dict, rtol: float, atol: float, weights: list | dict | None) -> float:
    """The weighted share of a result's outputs equal to the reference: ``weights`` by position (a list: a
    tuple's outputs, a tuple of numbers' elements) or by key (a dict); an output it does not name weighs 1."""
    pairs = align(got, want)
    if not weights or isinstance(pairs, str):
        return 0.0
    if len(pairs) == 1 and pairs[0][3].ndim == 1 and pairs[0][2].shape == pairs[0][3].shape:  # a tuple of numbers
        _, _, g, w = pairs[0]
        pairs = [(f"result[{i}]", i, g[i], w[i]) for i in range(len(w))]
    total = earned = 0.0
    for where, key, g, w in pairs:
        if isinstance(weights, dict):
            weight = float(weights.get(key, 1.0))
        else:
            weight = float(weights[key]) if isinstance(key, int) and key < len(weights) else 1.0
        total += weight
        if _differs(where, g, w, rtol, atol) is None:
            earned += weight
    return earned / total if total else 0.0


# ------------------------------------------------------------------ generic kind 2: a Keras model builder


class ModelBuilderKind(Kind):
    """Generic: a student function that builds a Keras model, read by ``model_graph`` and run on probe inputs.

    params: ``function``, ``args`` (its positional arguments, default ``[input_shape, num_classes]``),
    ``input_shape``, ``num_classes``, ``probe`` (how many random inputs), ``seed``, ``rule``
    ("plain_keras" by default), and what to expect: ``signature`` (``model_graph.signature`` tokens),
    ``params`` (the parameter count), ``output_shape``, ``probabilities`` (rows sum to 1; default true:
    a model that is not a classifier needs ``probabilities=False``), ``initializers`` (``[{"layer": token,
    "scale": 2.0, "mode": "fan_in", "name": "He initialisation ..."}]``: the kernels of the layers with that
    token drawn by that variance rule, whatever the initialiser's spelling).

    The signature is compared with equivalent layers read alike (``model_graph.equivalent``:
    ``Activation("relu")`` is ``ReLU()``, ``Dense(10)`` then ``Softmax()`` is ``Dense(10, softmax)``); a
    Sequential and a functional model with the same layers both pass (say so in the docstring). Each
    unmet expectation is 0 points with a sentence naming it. Subclasses add their own facts in
    ``inspect`` and checks in ``judge``.
    """

    name = "model_builder"
    save_as = "model.keras"

    def inputs(self, params: dict) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(params.get("seed", 0))
        shape = params.get("probe_shape") or params.get("input_shape")
        return {"x": rng.random((int(params.get("probe", 16)), *shape)).astype(np.float32)}

    def arguments(self, params: dict) -> list:
        return list(params.get("args") or [tuple(params["input_shape"]), int(params.get("num_classes", 10))])

    def call(self, student: Student, inputs: dict[str, np.ndarray], params: dict) -> dict[str, Any]:
        function = params["function"]
        rule = RULES.get(params.get("rule", "plain_keras"))
        return {self.save_as: check_model(student.call(function, *self.arguments(params), rule=rule), function)}

    def inspect(self, answer: dict, inputs: dict[str, np.ndarray], params: dict) -> dict[str, Any]:
        from kit.grading.model_graph import describe

        model = answer[self.save_as]
        facts: dict[str, Any] = {"description": describe(model)}
        try:
            facts["outputs"] = predict(model, inputs["x"])
        except Exception as error:  # noqa: BLE001 - a model that cannot run is the judge's to report
            facts["description"]["predict_error"] = f"{type(error).__name__}: {str(error)[:300]}"
        return facts

    def judge(self, answer: dict, inputs: dict[str, np.ndarray], params: dict) -> Verdict:
        from kit.grading import judges, model_graph

        description, outputs = answer.get("description") or {}, answer.get("outputs")
        function = params["function"]
        if "signature" in params:
            got = model_graph.equivalent(model_graph.signature(description))
            want = model_graph.equivalent(list(params["signature"]))
            if got != want:
                pairs = zip([*got, "(nothing)"], [*want, "(nothing)"], strict=False)
                position = next(i for i, (g, w) in enumerate(pairs) if g != w)
                found = got[position] if position < len(got) else "(nothing)"
                should = want[position] if position < len(want) else "(nothing)"
                return Verdict(
                    False,
                    0.0,
                    f"{function}'s layer {position + 1} is {found}; expected {should}. "
                    f"Expected {' -> '.join(want)}; yours: {' -> '.join(got)}.",
                )
        for rule in params.get("initializers", []):
            problem = _initializer_problem(description, rule, function)
            if problem:
                return Verdict(False, 0.0, problem)
        if "params" in params and description.get("params") != params["params"]:
            return Verdict(
                False, 0.0, f"the model has {description.get('params'):,} parameters; expected {params['params']:,}."
            )
        if "output_shape" in params and description.get("output_shape") != [None, *params["output_shape"]]:
            return Verdict(False, 0.0, f"the model's output shape is {description.get('output_shape')}.")
        if outputs is None:
            return Verdict(False, 0.0, f"the grader could not run the model ({description.get('predict_error')}).")
        if params.get("probabilities", True) and not judges.are_probabilities(outputs):
            return Verdict(False, 0.0, "the model's outputs are not probabilities per input (end with a softmax).")
        return Verdict(True, 1.0)


def _initializer_problem(description: dict, rule: dict, function: str) -> str | None:
    """Why the layers ``rule["layer"]`` names (their ``model_graph.layer_token``) do not draw their kernels by
    the variance rule ``rule`` asks (``scale``, ``mode``: He is 2, "fan_in"), or None."""
    from kit.grading import model_graph

    want = (float(rule["scale"]), str(rule["mode"]))
    layers = [layer for layer in description.get("layers", []) if model_graph.layer_token(layer) == rule["layer"]]
    if not layers:
        return f"{function}'s model has no {rule['layer']} layer, whose initialiser the docstring prescribes."
    for layer in layers:
        name, got = model_graph.kernel_initializer(layer)
        if got is None or not (np.isclose(got[0], want[0]) and got[1] == want[1]):
            default = " (Keras' default, used when kernel_initializer is not given)" if name == "GlorotUniform" else ""
            shown = rule["layer"].replace(", linear)", ")")
            return (
                f"{function}'s {shown} layer draws its weights with {name}{default}; the docstring asks for "
                f"{rule.get('name', f'an initialiser of scale {want[0]:g}, mode {want[1]}')}."
            )
    return None


# ------------------------------------------------------------------ generic kind 3: a submitted model file


class ModelFileKind(Kind):
    """Generic: a submitted ``.keras`` file scored on a data set's test split, with points by thresholds.

    params: ``file`` (default ``model.keras``), ``dataset`` (a ``kit.data`` name), ``metric``
    (``macro_f1`` | ``accuracy``), ``num_classes`` (default: the test labels'), ``thresholds``
    ([(figure, points), ...]), ``max_mb``. Its figure goes to the leaderboard column the
    assignment's manifest names (``leaderboard``).
    The file is checked in the grader (size, zip, no HDF5, no Lambda layer) before a trusted child
    opens it with Keras' safe mode.
    """

    name = "model"
    needs_entry = False
    alone = True
    leaderboard: str | None = None  # the leaderboard's column: the manifest's ``leaderboard`` (set by load_rubric)

    def inputs(self, params: dict) -> dict[str, np.ndarray]:
        from kit import data

        test = data.load_test_split(params["dataset"])
        return {"x": test.x, "y": test.y}

    def submitted(self, files, params: dict) -> dict[str, Any]:
        return {params.get("file", "model.keras"): files.model(params)}

    def judge(self, answer: dict, inputs: dict[str, np.ndarray], params: dict) -> Verdict:
        from kit.grading import judges

        return judges.judge_model(
            answer.get("probabilities"),
            np.asarray(inputs["y"]),
            params,
            answer.get("description") or {},
            self.leaderboard,
        )

    def inspect(self, answer: dict, inputs: dict[str, np.ndarray], params: dict) -> dict[str, Any]:
        for module in ("kit.layers", "kit.blocks", "kit.augment", "kit.models"):  # the kit's registered layers
            try:
                importlib.import_module(module)
            except Exception:  # noqa: BLE001
                pass
        model = answer[params.get("file", "model.keras")]
        shape = lambda s: [None if d is None else int(d) for d in s]  # noqa: E731
        description = {
            "input_shape": shape(model.inputs[0].shape) if len(model.inputs) == 1 else None,
            "output_shape": shape(model.outputs[0].shape) if len(model.outputs) == 1 else None,
            "n_inputs": len(model.inputs),
            "params": int(model.count_params()),
        }
        x = inputs["x"]
        want = [None, *x.shape[1:]]
        if description["n_inputs"] != 1 or description["input_shape"] != want:
            raise StudentError(
                f"the model takes input of shape {description['input_shape']}; it must take {tuple(want)} images."
            )
        try:
            # batches of 100: under Gradescope's 1.5 GB (a child's RLIMIT_DATA 1,234 MB) batches of 500
            # ended in std::bad_alloc (measured: the child's data segment 910 MB at 500, 692 MB at 100)
            probabilities = predict(model, x, batch_size=100).astype(np.float32)
        except Exception as error:  # noqa: BLE001
            raise StudentError(
                f"the model failed on the test images ({type(error).__name__}: {str(error)[:300]})."
            ) from None
        return {"description": description, "probabilities": probabilities}


GENERIC = (FunctionKind, ModelBuilderKind, ModelFileKind)


# ------------------------------------------------------------------ an assignment's kinds


def kinds_of(module: ModuleType) -> dict[str, Kind]:
    """The check kinds a ``checks.py`` defines: its ``Kind`` subclasses with a ``name`` of their own."""
    found: dict[str, Kind] = {}
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Kind) and value.__module__ == module.__name__:
            if value.name and "name" in vars(value):
                if value.name in found:
                    raise GradingError(f"{module.__file__} defines check kind {value.name!r} twice.")
                found[value.name] = value()
    return found


def build_registry(modules: Iterable[ModuleType]) -> dict[str, Kind]:
    """The generic kinds plus those of ``modules``; an assignment's kind may not reuse a generic name."""
    modules = tuple(modules)
    registry: dict[str, Kind] = {}
    for cls in GENERIC:
        kind = cls()
        if isinstance(kind, FunctionKind):
            kind.checks_modules = modules
        registry[cls.name] = kind
    for module in modules:
        for name, kind in kinds_of(module).items():
            if name in registry:
                raise GradingError(
                    f"{module.__file__}: check kind {name!r} is already defined "
                    f"({'by the kit' if name in {c.name for c in GENERIC} else 'by another checks file'}); rename it."
                )
            if isinstance(kind, FunctionKind):
                kind.checks_modules = modules
            registry[name] = kind
    return registry


# ------------------------------------------------------------------ the same checks in the runner's own process


class InProcessStudent(Student):
    """The student's module imported in this process (the runner, the notebook): no sandbox, same checks."""

    def __init__(self, module: ModuleType):
        self.module = module

    def call(self, function, *args, rule=None, hint=None, **kwargs):
        target = getattr(self.module, function, None)
        if not callable(target):
            raise NotWritten(function)
        try:
            return target(*args, **kwargs)
        except NotImplementedError:
            raise NotWritten(function) from None
        except Exception as error:  # noqa: BLE001 - the student's bug is this check's failure
            cause = hint(error) if hint else ""
            raise StudentError(
                f"`{function}` raised {type(error).__name__}: {str(error)[:300]}" + (f" ({cause})" if cause else "")
            ) from None


class InProcess:
    """The grader's session, in this process: answers round-trip as the grader receives them."""

    def __init__(self, module: ModuleType):
        self.student = InProcessStudent(module)

    def ask_student(self, kind: Kind, check, inputs: dict) -> dict:
        data, arrays, models = split_answer(kind.call(self.student, inputs, check.params))
        _fits(arrays, "the answer")
        return {**data, **arrays, **models}

    def inspect(self, kind: Kind, check, answer: dict, inputs: dict) -> dict:
        with tempfile.TemporaryDirectory(prefix="kit-check-") as folder:
            loaded = {}
            for key, value in answer.items():
                if isinstance(value, Built):  # as the grader sees it: saved as .keras, loaded back with safe mode
                    path = Path(folder) / key
                    try:
                        value.model.save(path)
                    except Exception as error:  # noqa: BLE001
                        raise StudentError(
                            f"the model from {value.what} could not be saved as .keras ({error})."
                        ) from None
                    loaded[key] = load_model_safely(path)
                else:
                    loaded[key] = value
            data, arrays, _ = split_answer(kind.inspect(loaded, inputs, check.params) or {})
        _fits(arrays, "the reference answers")
        return {**data, **arrays}


def _fits(arrays: dict, what: str) -> None:
    """In process, the limit the sandbox's children are read back under (so a runner or a test meets it too)."""
    from kit.grading.sandbox import MAX_RESULT_ARRAYS

    if len(arrays) > MAX_RESULT_ARRAYS:
        raise GradingError(
            f"{what} hold {len(arrays)} arrays; the grader reads at most {MAX_RESULT_ARRAYS} back from a child "
            "(a grader fault in the autograder: split the check)"
        )


def judge_in_process(module: ModuleType, check, registry: dict[str, Kind]) -> Verdict:
    """Judge one rubric check on an imported student module: the grader's inputs, judge and message.

    What the autograder does in its sandboxed children, done in the runner's own process, so that
    the runner's ``[ok]`` lines agree with ``make check``. Raises ``NotWritten`` for a function not
    written yet; any other error of the student's code is a failed verdict.
    """
    kind = registry[check.kind]
    session = InProcess(module)
    try:
        inputs = kind.inputs(check.params)
        answer = session.ask_student(kind, check, inputs)
        if kind.needs_inspection(answer):
            answer = {**answer, **session.inspect(kind, check, answer, inputs)}
        return kind.judge(answer, inputs, check.params)
    except (NotWritten, KeyboardInterrupt):
        raise
    except (CheckFailed, StudentError) as failure:
        return Verdict(False, 0.0, str(failure))
    except Exception as error:  # noqa: BLE001 - the student's bug is this check's failure, not the runner's
        return Verdict(False, 0.0, f"{type(error).__name__}: {str(error)[:300]}")
