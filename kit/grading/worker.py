"""The child side of the autograder: run ONE task and write a plain-data record, nothing else.

Started by ``kit.grading.sandbox.Sandbox.run`` as ``python -I -B <private copy of
kit>/grading/worker.py request.json``. It first locks itself down (namespaces, uid, resource limits), then either calls
one student function ("student" tasks: the only place student code ever runs) or inspects
model files with Keras' safe mode ("trusted" tasks: no student file is on disk or on the path).
It writes ``result.json`` (and ``result.npz``) in its own folder. Everything it writes is treated
by the grader as untrusted data: student code runs in this same process and may rewrite it.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

RECORD_KIND = "kit-grade-record"
RLIMITS: dict = {}  # this child's limits (set by main), to name the one a student's code ran into


# ------------------------------------------------------------------ lock-down (before any import of numpy/keras)


def _lock_down(request: dict) -> dict:
    """Hide folders (private mount namespace), cut the network, drop root, set rlimits."""
    import ctypes
    import resource

    applied = {"uid": os.geteuid(), "hidden": [], "network": "shared"}
    isolation = request.get("isolation") or {}
    libc = ctypes.CDLL(None, use_errno=True)
    uid = isolation.get("uid")
    if os.geteuid() == 0 and uid is not None:
        clone_newns, clone_newnet = 0x00020000, 0x40000000
        if (isolation.get("hide") or isolation.get("expose")) and libc.unshare(clone_newns) == 0:
            ms_rdonly, ms_nosuid, ms_nodev, ms_noexec, ms_rec, ms_private = 1, 2, 4, 8, 1 << 14, 1 << 18
            libc.mount(b"none", b"/", None, ms_rec | ms_private, None)
            covered = _expose_runtime(libc, request, isolation.get("expose") or [], applied)
            for path in isolation["hide"]:
                if (
                    libc.mount(
                        b"tmpfs",
                        path.encode(),
                        b"tmpfs",
                        ms_rdonly | ms_nosuid | ms_nodev | ms_noexec,
                        b"size=4k,mode=0555",
                    )
                    == 0
                ) or _under(path, covered):
                    applied["hidden"].append(path)
        if libc.unshare(clone_newnet) == 0:
            applied["network"] = "none"
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        applied["uid"] = os.geteuid()
    pr_set_no_new_privs = 38
    libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0)
    for name, value in (request.get("rlimits") or {}).items():
        # CPU: SIGXCPU at the limit, SIGKILL 5 s later (soft == hard would SIGKILL at once)
        hard = value + 5 if name == "RLIMIT_CPU" else value
        resource.setrlimit(getattr(resource, name), (value, hard))
    return applied


def _under(path: str, folders: list[str]) -> bool:
    return any(path == folder or path.startswith(folder.rstrip("/") + "/") for folder in folders)


def _expose_runtime(libc, request: dict, pairs: list, applied: dict) -> list[str]:
    """Make the interpreter's prefixes readable though they sit below a folder others cannot enter.

    E.g. a venv in a clone under ``mktemp -d`` (0700): in this private mount namespace the closed
    folder is covered by an empty tmpfs and each prefix is bound back at its own path, read-only,
    so the unprivileged uid can start Python and import numpy/keras, and sees nothing else there.
    Returns the covered folders (whatever else was inside them is hidden too).
    """
    ms_rdonly, ms_nosuid, ms_nodev, ms_remount, ms_bind, ms_rec = 1, 2, 4, 32, 4096, 1 << 14
    by_folder: dict[str, list[str]] = {}
    for blocked, needed in pairs:
        by_folder.setdefault(blocked, []).append(needed)
    covered = []
    for number, (blocked, prefixes) in enumerate(by_folder.items()):
        staged = []
        for index, needed in enumerate(prefixes):
            staging = os.path.join(request["work"], f".expose{number}-{index}")
            os.mkdir(staging, 0o700)
            if libc.mount(needed.encode(), staging.encode(), None, ms_bind | ms_rec, None) == 0:
                staged.append((needed, staging))
            else:
                os.rmdir(staging)
        if (
            staged
            and libc.mount(b"tmpfs", blocked.encode(), b"tmpfs", ms_nosuid | ms_nodev, b"size=64k,mode=0755") == 0
        ):
            covered.append(blocked)
            for needed, staging in staged:
                os.makedirs(needed, exist_ok=True)
                if libc.mount(staging.encode(), needed.encode(), None, ms_bind | ms_rec, None) == 0:
                    flags = ms_remount | ms_bind | ms_rdonly | ms_nosuid | ms_nodev
                    libc.mount(None, needed.encode(), None, flags, None)
                    applied.setdefault("exposed", []).append(needed)
        for _, staging in staged:
            libc.umount2(staging.encode(), 2)
            os.rmdir(staging)
    return covered


# ------------------------------------------------------------------ plain-data output


class Record:
    """Collects the JSON record and the arrays; ``write`` is the last thing the worker does."""

    def __init__(self, work: str):
        self.work = work
        self.data: dict = {}
        self.arrays: dict = {}

    def write(self, ok: bool, error: str | None = None, isolation: dict | None = None) -> None:
        import numpy as np

        if self.arrays:
            np.savez(os.path.join(self.work, "result.npz"), **self.arrays)
        record = {"kind": RECORD_KIND, "ok": ok, "error": error, "data": self.data, "isolation": isolation or {}}
        with open(os.path.join(self.work, "result.json"), "w", encoding="utf-8") as handle:
            json.dump(record, handle, default=str)


class SubmissionError(Exception):
    """The student's code returned or did something the check cannot use (message for the student)."""


def as_numeric_array(value, what: str):
    """A plain numeric numpy array from what the student returned, or a clear error."""
    import numpy as np

    if not isinstance(value, (np.ndarray, np.generic, list, tuple, int, float)) or isinstance(value, bool):
        raise SubmissionError(f"{what} returned {type(value).__name__}; expected a numpy array of numbers.")
    try:
        array = np.array(value)  # a copy: a subclass with odd __eq__ becomes a plain ndarray
    except Exception as error:  # noqa: BLE001 - anything the student's object raises
        raise SubmissionError(f"{what} returned something that is not an array ({type(error).__name__}).") from None
    array = np.asarray(array).view(np.ndarray) if isinstance(array, np.ndarray) else np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise SubmissionError(f"{what} returned an array of dtype {array.dtype}; expected numbers (int or float).")
    return np.ascontiguousarray(array)


# ------------------------------------------------------------------ student tasks


def _load_homework(path: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location("homework", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["homework"] = module
    try:
        spec.loader.exec_module(module)
    except SystemExit as exit_:
        raise SubmissionError(f"importing homework.py called sys.exit({exit_.code!r}).") from None
    except BaseException as error:  # noqa: BLE001
        raise SubmissionError("importing homework.py failed:\n" + _student_traceback(error)) from None
    return module


def _student_traceback(error: BaseException) -> str:
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    return "".join(lines[-8:])[-3000:]


# The homework's rules on what a function may use: (rule, modules it must not call into).
NUMPY_ONLY = ("numpy only", ("sklearn", "scipy", "pandas", "tensorflow", "keras", "torch", "jax"))
PLAIN_KERAS = ("plain keras, not the kit's ready-made networks", ("kit.models", "kit.blocks"))
RULES = {
    "confusion_matrix": NUMPY_ONLY,
    "f1_scores": NUMPY_ONLY,
    "build_cnn_sequential": PLAIN_KERAS,
    "build_cnn_functional": PLAIN_KERAS,
    "build_inception_cnn": PLAIN_KERAS,
    "inception_module": PLAIN_KERAS,
}


def _watch(prefixes: tuple[str, ...]):
    """A profile hook that notes the first Python function called from a module under ``prefixes``."""
    found: list[str] = []

    def profile(frame, event, arg):
        if event == "call" and not found:
            module = frame.f_globals.get("__name__") or ""
            if module.startswith(prefixes) and any(module == p or module.startswith(p + ".") for p in prefixes):
                found.append(f"{module}.{frame.f_code.co_name}")

    return profile, found


def _hint(error: BaseException) -> str:
    """A common mistake's cause, from the error it raises (empty when none is known)."""
    text = str(error)
    if "Concatenate" in text and "matching shapes" in text:
        return (
            "hint: the branches' outputs have different heights or widths, so they cannot be concatenated; "
            "give every Conv2D and the MaxPooling2D padding='same' and stride 1"
        )
    return ""


def _call(module, function_name: str, *args, **kwargs):
    name = function_name
    function = getattr(module, name, None)
    if not callable(function):
        raise SubmissionError(f"homework.py has no function `{name}`.")
    rule, forbidden = RULES.get(name, ("", ()))
    profile, found = _watch(forbidden)
    try:
        if forbidden:
            sys.setprofile(profile)
        try:
            answer = function(*args, **kwargs)
        finally:
            sys.setprofile(None)
        if found:
            raise SubmissionError(f"`{name}` must be written with {rule} (the homework's rule); it called {found[0]}.")
        return answer
    except SubmissionError:
        raise
    except NotImplementedError:
        raise SubmissionError(f"`{name}` is not implemented yet (it raises NotImplementedError).") from None
    except SystemExit as exit_:
        raise SubmissionError(f"`{name}` called sys.exit({exit_.code!r}).") from None
    except MemoryError:
        limit = RLIMITS.get("RLIMIT_DATA", 0) >> 20
        raise SubmissionError(f"`{name}` ran out of memory: it hit the memory limit ({limit} MB per check).") from None
    except BlockingIOError:
        limit = RLIMITS.get("RLIMIT_NPROC", 0)
        raise SubmissionError(
            f"`{name}` could not start another process or thread: it hit the process limit ({limit} per check)."
        ) from None
    except OSError as error:
        if error.errno != 27:  # EFBIG: RLIMIT_FSIZE, which also caps the captured output
            raise SubmissionError(f"`{name}` raised an error:\n" + _student_traceback(error)) from None
        limit = RLIMITS.get("RLIMIT_FSIZE", 0) >> 20
        raise SubmissionError(f"`{name}` wrote more than the output limit ({limit} MB per file).") from None
    except BaseException as error:  # noqa: BLE001
        hint = _hint(error)
        hint = f" ({hint})" if hint else ""
        raise SubmissionError(f"`{name}` raised an error{hint}:\n" + _student_traceback(error)) from None


def task_student(request: dict, record: Record, inputs: dict) -> None:
    """Call one student function on the grader's inputs and record its answer as plain data."""
    action = request["action"]
    module = _load_homework(os.path.join(request["work"], "homework.py"))
    if action == "dataset_summary":
        from kit.grading.judges import CheckFailed, summary_answer

        table = _call(module, "dataset_summary", inputs["x"], inputs["y"], list(request["class_names"]))
        try:
            answer = summary_answer(table)
        except CheckFailed as error:
            raise SubmissionError(str(error)) from None
        record.data["index"], record.data["columns"] = answer.pop("index"), answer.pop("columns")
        record.arrays.update(answer)
    elif action == "confusion_matrix":
        cm = _call(module, "confusion_matrix", inputs["y_true"], inputs["y_pred"], int(request["num_classes"]))
        record.arrays["cm"] = as_numeric_array(cm, "confusion_matrix")
    elif action == "f1_scores":
        answer = _call(module, "f1_scores", inputs["cm"])
        if not isinstance(answer, tuple) or len(answer) != 2:
            raise SubmissionError(f"f1_scores returned {type(answer).__name__}; expected a tuple (per_class, macro).")
        record.arrays["per_class"] = as_numeric_array(answer[0], "f1_scores (per-class F1)")
        record.arrays["macro"] = as_numeric_array(answer[1], "f1_scores (macro-F1)")
    elif action == "build_model":
        import keras

        for function, save_as in request.get("builds") or [(request["function"], request["save_as"])]:
            model = _call(module, function, tuple(request["input_shape"]), int(request["num_classes"]))
            _save_model(model, function, os.path.join(request["work"], save_as), keras)
    elif action == "inception_module":
        import keras

        inputs_ = keras.Input(shape=tuple(request["input_shape"]), name="grader_input")
        outputs = _call(module, "inception_module", inputs_, **request["kwargs"])
        try:
            model = keras.Model(inputs_, outputs, name="grader_inception_probe")
        except Exception as error:  # noqa: BLE001
            raise SubmissionError(
                f"inception_module's result is not a tensor computed from its input ({error})."
            ) from None
        _save_model(model, "inception_module", os.path.join(request["work"], request["save_as"]), keras)
    elif action == "best_config":
        config = _call(module, "best_config")
        to_dict = getattr(config, "to_dict", None)
        if not callable(to_dict):
            raise SubmissionError(f"best_config returned {type(config).__name__}; expected a kit.train.TrainConfig.")
        record.data["class"] = f"{type(config).__module__}.{type(config).__qualname__}"
        try:
            record.data["config"] = json.loads(json.dumps(to_dict()))
        except Exception as error:  # noqa: BLE001
            raise SubmissionError(f"best_config().to_dict() is not plain JSON data ({error}).") from None
    else:
        raise ValueError(f"unknown student action {action!r}")


def _save_model(model, what: str, path: str, keras) -> None:
    if not isinstance(model, keras.Model):
        raise SubmissionError(f"{what} returned {type(model).__name__}; expected a keras.Model.")
    try:
        model.save(path)
    except Exception as error:  # noqa: BLE001
        raise SubmissionError(f"the model from {what} could not be saved as .keras ({error}).") from None


# ------------------------------------------------------------------ trusted tasks (no student code)


def _load_model(path: str, keras):
    """Keras' safe mode only; ``compile=False``: the grader needs predictions, not training state."""
    try:
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # noqa: BLE001
        text = str(error)
        if "Lambda" in text or "safe_mode" in text or "unsafe" in text.lower():
            raise SubmissionError(
                "the model uses a Lambda layer (arbitrary code), which the grader refuses to load; "
                "use built-in Keras layers."
            ) from None
        raise SubmissionError(
            f"the model could not be loaded with keras.models.load_model(safe_mode=True) "
            f"({type(error).__name__}: {text[:300]})."
        ) from None


def _shape(shape) -> list:
    return [None if d is None else int(d) for d in shape]


def _reference_cnn(keras, input_shape, num_classes):
    """The lecture's CNN-MNIST network, built by the grader to compare outputs with the student's."""
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


def task_trusted(request: dict, record: Record, inputs: dict) -> None:
    """Load model files with safe mode and report descriptions and outputs (no student code)."""
    import keras
    import numpy as np

    action = request["action"]
    if action == "best_config":  # the config's JSON (from the student's child) judged with kit.train
        from kit.grading.judges import judge_best_config

        verdict = judge_best_config(request.get("config"))
        record.data["verdict"] = {"passed": verdict.passed, "fraction": verdict.fraction, "message": verdict.message}
        return
    if action == "evaluate_model":
        for module in ("kit.layers", "kit.blocks", "kit.augment"):  # the kit's registered serializable layers
            try:
                __import__(module)
            except Exception:  # noqa: BLE001
                pass
    from kit.grading.model_graph import describe

    work = request["work"]
    models = {name: _load_model(os.path.join(work, name), keras) for name in request["models"]}
    x = inputs.get("x")
    if x is not None and x.dtype == np.uint8:
        x = x.astype("float32") / 255.0
    for name, model in models.items():
        record.data[name] = (
            describe(model)
            if action != "evaluate_model"
            else {
                "input_shape": _shape(model.inputs[0].shape) if len(model.inputs) == 1 else None,
                "output_shape": _shape(model.outputs[0].shape) if len(model.outputs) == 1 else None,
                "n_inputs": len(model.inputs),
                "n_outputs": len(model.outputs),
                "params": int(model.count_params()),
            }
        )
    if action == "describe":
        for index, (name, model) in enumerate(models.items()):
            if x is not None:
                try:
                    record.arrays[f"out{index}"] = np.asarray(
                        model.predict(x, verbose=0, batch_size=256), dtype=np.float64
                    )
                except Exception as error:  # noqa: BLE001
                    record.data[name]["predict_error"] = f"{type(error).__name__}: {str(error)[:300]}"
            if request.get("reference_cnn"):
                reference = _reference_cnn(keras, request["input_shape"], request["num_classes"])
                try:
                    reference.set_weights(model.get_weights())
                    record.arrays[f"ref{index}"] = np.asarray(
                        reference.predict(x, verbose=0, batch_size=256), dtype=np.float64
                    )
                except Exception as error:  # noqa: BLE001
                    record.data[name]["reference_error"] = f"{type(error).__name__}: {str(error)[:300]}"
    elif action == "transfer":
        source, target = (models[name] for name in request["models"])
        try:
            target.set_weights(source.get_weights())
        except Exception as error:  # noqa: BLE001
            raise SubmissionError(
                f"the weights of the Sequential model do not fit the functional one ({str(error)[:300]})."
            ) from None
        record.arrays["source"] = np.asarray(source.predict(x, verbose=0, batch_size=256), dtype=np.float64)
        record.arrays["target"] = np.asarray(target.predict(x, verbose=0, batch_size=256), dtype=np.float64)
    elif action == "evaluate_model":
        ((name, model),) = models.items()
        shape = record.data[name]["input_shape"]
        if record.data[name]["n_inputs"] != 1 or shape is None or shape[1:] != [28, 28, 1]:
            raise SubmissionError(f"the model takes input of shape {shape}; it must take (None, 28, 28, 1) images.")
        try:
            probabilities = model.predict(x, verbose=0, batch_size=500)
        except Exception as error:  # noqa: BLE001
            raise SubmissionError(
                f"the model failed on the test images ({type(error).__name__}: {str(error)[:300]})."
            ) from None
        record.arrays["probabilities"] = np.asarray(probabilities, dtype=np.float32)
    else:
        raise ValueError(f"unknown trusted action {action!r}")


# ------------------------------------------------------------------ preflight


def task_preflight(record: Record) -> None:
    """Before any student code: this uid can run the worker, import numpy and pandas, and read keras."""
    import importlib.util

    import numpy
    import pandas

    record.data.update(python=sys.version.split()[0], prefix=sys.prefix, numpy=numpy.__version__)
    record.data["pandas"] = pandas.__version__
    for name in ("keras",):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            raise ModuleNotFoundError(f"No module named {name!r}")
        with open(spec.origin, "rb") as handle:  # a package folder we cannot read fails here
            handle.read(1)
        record.data[name] = os.path.dirname(spec.origin)


# ------------------------------------------------------------------ entry point


def main(request_path: str) -> int:
    with open(request_path, encoding="utf-8") as handle:
        request = json.load(handle)
    isolation = _lock_down(request)
    RLIMITS.update(request.get("rlimits") or {})
    # the private copy of the kit: <lib>/kit/grading/worker.py -> <lib>
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    os.chdir(request["work"])
    record = Record(request["work"])
    try:
        import numpy as np

        inputs = {}
        inputs_path = os.path.join(request["work"], "inputs.npz")
        if os.path.exists(inputs_path):
            with np.load(inputs_path, allow_pickle=False) as data:
                inputs = {name: data[name] for name in data.files}
        if request["action"] == "preflight":
            task_preflight(record)
        elif request["side"] == "student":
            task_student(request, record, inputs)
        else:
            task_trusted(request, record, inputs)
    except SubmissionError as error:
        record.arrays = {}
        record.write(False, str(error), isolation)
        return 0
    except BaseException as error:  # noqa: BLE001 - an unexpected failure is still a record
        record.arrays = {}
        record.write(False, f"{type(error).__name__}: {str(error)[:500]}", isolation)
        return 0
    record.write(True, None, isolation)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
