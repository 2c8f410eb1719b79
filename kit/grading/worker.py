"""The child side of the autograder: run ONE task and write a plain-data record, nothing else.

Started by ``kit.grading.sandbox.Sandbox.run`` as ``python -I -B <private copy of
kit>/grading/worker.py request.json``. It first locks itself down (namespaces, uid, resource limits), then runs
one check kind's (``kit.grading.kinds``) ``call`` on the student's code ("student" tasks: the only
place student code ever runs) or its ``inspect`` on model files opened with Keras' safe mode
("trusted" tasks: no student file is on disk or on the path).
It writes ``result.json`` (and ``result.npz``) in its own folder. Everything it writes is treated
by the grader as untrusted data: student code runs in this same process and may rewrite it.
"""

from __future__ import annotations

import json
import os
import signal
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
    pr_set_pdeathsig, pr_set_no_new_privs = 1, 38
    # die with the grader (kill -9 of a class grader leaves no worker behind); set after the uid change,
    # which clears it; a grader already gone before this line is seen as a changed parent
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if isolation.get("grader_pid") and os.getppid() != isolation["grader_pid"]:
        os._exit(1)
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
        _write_json(os.path.join(self.work, "result.json"), record)


def _write_json(path: str, payload: dict) -> None:
    """Written to a temporary name, then renamed: the grader reads a task's result as soon as it exists."""
    with open(path + ".part", "w", encoding="utf-8") as handle:
        json.dump(payload, handle, default=str)
    os.replace(path + ".part", path)


def _registry(request: dict) -> dict:
    """The check kinds: the kit's and the assignment's checks files (copied into the private lib)."""
    from kit.assignments import load_module
    from kit.grading.kinds import build_registry

    lib = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return build_registry([load_module(os.path.join(lib, path), "_kit_checks") for path in request.get("checks", [])])


# ------------------------------------------------------------------ student tasks


def _load_entry(path: str):
    """Import the student's entry file; a failure is one ``StudentError`` with the student's own frames only."""
    import importlib.util

    from kit.grading.kinds import StudentError

    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SystemExit as exit_:
        raise StudentError(f"importing {os.path.basename(path)} called sys.exit({exit_.code!r}).") from None
    except BaseException as error:  # noqa: BLE001
        raise StudentError(_student_traceback(error, path)) from None
    return module


def _student_traceback(error: BaseException, path: str | None = None) -> str:
    """The error as the student reads it: only frames of their own file, named as they know it, then the message.

    A ``SyntaxError`` shows the offending line and its caret; no frames of the import machinery, the
    worker or the libraries, no sandbox paths.
    """
    path = path or STUDENT_FILE.get("path", "")
    shown = os.path.basename(path) if path else "your file"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if path and f.filename == path]
    lines = [
        f'  File "{shown}", line {f.lineno}, in {f.name}\n' + (f"    {f.line}\n" if f.line else "") for f in frames
    ]
    message = traceback.format_exception_only(type(error), error)
    if isinstance(error, SyntaxError) and error.filename:
        message = [line.replace(f'File "{error.filename}"', f'File "{shown}"') for line in message]
    text = "".join(lines[-6:] + message)
    if path:
        text = text.replace(path, shown).replace(os.path.dirname(path) + os.sep, "")
    return text[-3000:]


STUDENT_FILE: dict = {}  # {"path": the entry file's path in this child}: whose frames a traceback keeps


def _watch(prefixes: tuple[str, ...]):
    """A profile hook that notes the first Python function called from a module under ``prefixes``."""
    found: list[str] = []

    def profile(frame, event, arg):
        if event == "call" and not found:
            module = frame.f_globals.get("__name__") or ""
            if module.startswith(prefixes) and any(module == p or module.startswith(p + ".") for p in prefixes):
                found.append(f"{module}.{frame.f_code.co_name}")

    return profile, found


class SandboxedStudent:
    """The student's entry module in this child: ``kit.grading.kinds.Student`` with the sandbox's messages."""

    def __init__(self, module, entry: str):
        self.module, self.entry = module, entry

    def call(self, function_name: str, *args, rule=None, hint=None, **kwargs):
        from kit.grading.kinds import StudentError

        name = function_name
        function = getattr(self.module, name, None)
        if not callable(function):
            raise StudentError(f"{self.entry} has no function `{name}`.")
        profile, found = _watch(rule.forbidden if rule else ())
        try:
            if rule:
                sys.setprofile(profile)
            try:
                answer = function(*args, **kwargs)
            finally:
                sys.setprofile(None)
            if found:
                raise StudentError(
                    f"`{name}` must be written with {rule.description} (the assignment's rule); it called {found[0]}."
                )
            return answer
        except StudentError:
            raise
        except NotImplementedError:
            raise StudentError(f"`{name}` is not implemented yet (it raises NotImplementedError).") from None
        except SystemExit as exit_:
            raise StudentError(f"`{name}` called sys.exit({exit_.code!r}).") from None
        except MemoryError:
            limit = RLIMITS.get("RLIMIT_DATA", 0) >> 20
            raise StudentError(f"`{name}` ran out of memory: it hit the memory limit ({limit} MB per check).") from None
        except BlockingIOError:
            limit = RLIMITS.get("RLIMIT_NPROC", 0)
            raise StudentError(
                f"`{name}` could not start another process or thread: it hit the process limit ({limit} per check)."
            ) from None
        except OSError as error:
            if error.errno != 27:  # EFBIG: RLIMIT_FSIZE, which also caps the captured output
                raise StudentError(f"`{name}` raised an error:\n" + _student_traceback(error)) from None
            limit = RLIMITS.get("RLIMIT_FSIZE", 0) >> 20
            raise StudentError(f"`{name}` wrote more than the output limit ({limit} MB per file).") from None
        except BaseException as error:  # noqa: BLE001
            cause = hint(error) if hint else ""
            cause = f" ({cause})" if cause else ""
            raise StudentError(f"`{name}` raised an error{cause}:\n" + _student_traceback(error)) from None


def _record_answer(answer: dict, record: Record, work: str) -> None:
    """The answer as plain data: JSON, arrays, and each model saved as ``.keras`` in the child's folder."""
    from kit.grading.kinds import StudentError, split_answer

    data, arrays, models = split_answer(answer)
    for name, built in models.items():
        try:
            built.model.save(os.path.join(work, name))
        except Exception as error:  # noqa: BLE001
            raise StudentError(f"the model from {built.what} could not be saved as .keras ({error}).") from None
    record.data.update(answer=data, models=sorted(models))
    record.arrays.update(arrays)


def task_student(kind, module, task: dict, record: Record, inputs: dict, entry: str) -> None:
    """Call the student's functions as the check kind asks, on the grader's inputs; record the answer."""
    answer = kind.call(SandboxedStudent(module, entry), inputs, task["params"])
    _record_answer(answer, record, task["folder"])


# ------------------------------------------------------------------ trusted tasks (no student code)


def task_trusted(kind, task: dict, record: Record, inputs: dict) -> None:
    """The check kind's ``inspect``: models loaded with safe mode, the answer's data, no student code."""
    from kit.grading.kinds import load_model_safely, split_answer

    answer = dict(task.get("answer") or {})
    answer.update({k[len("answer.") :]: v for k, v in inputs.items() if k.startswith("answer.")})
    answer.update({name: load_model_safely(os.path.join(task["folder"], name)) for name in task["models"]})
    given = {k[len("input.") :]: v for k, v in inputs.items() if k.startswith("input.")}
    data, arrays, _ = split_answer(kind.inspect(answer, given, task["params"]) or {})
    record.data.update(answer=data)
    record.arrays.update(arrays)


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


def _capture(folder: str, prefix: str = "") -> None:
    """Send file descriptors 1 and 2 to files in ``folder``: the grader reads each task's output apart."""
    for stream, number, name in ((sys.stdout, 1, "stdout.txt"), (sys.stderr, 2, "stderr.txt")):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
        handle = os.open(os.path.join(folder, prefix + name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(handle, number)
        os.close(handle)


def _kill_strays(sandbox_uid: int | None) -> None:
    """SIGKILL every other process of this sandbox uid (what a task left behind), so the next task starts clean.

    Only under a uid of the sandbox's own (the grader ran as root): otherwise the uid is the user's.
    """
    if sandbox_uid is None or os.geteuid() != sandbox_uid:
        return
    me = os.getpid()
    for _ in range(3):
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != me:
                try:
                    if os.stat(f"/proc/{entry}").st_uid == os.geteuid():
                        os.kill(int(entry), 9)
                except OSError:
                    pass


def serve(request: dict, isolation: dict) -> int:
    """Run the request's tasks in turn, each check's answer in its own folder (see ``Sandbox.run_batch``).

    The student's entry file is imported once; if it does not import, ``import.json`` says why (once)
    and no task runs. Each task: ``started`` marker, its own output files, then ``result.json``.
    """
    import numpy as np

    from kit.grading.kinds import StudentError

    work = request["work"]
    module, entry = None, request.get("entry", "")
    if request["side"] == "student":
        STUDENT_FILE["path"] = os.path.join(work, entry)
        _capture(work, "import-")
        try:
            module = _load_entry(STUDENT_FILE["path"])
        except StudentError as error:
            _write_json(os.path.join(work, "import.json"), {"kind": RECORD_KIND, "error": str(error)})
            return 0
    kinds: dict = {}
    for task in request["tasks"]:
        folder = task["folder"]
        _capture(folder)
        with open(os.path.join(folder, "started"), "w"):
            pass
        record = Record(folder)
        try:
            os.chdir(folder)
            if not kinds:
                kinds.update(_registry(request))
            inputs = {}
            if os.path.exists(os.path.join(folder, "inputs.npz")):
                with np.load(os.path.join(folder, "inputs.npz"), allow_pickle=False) as data:
                    inputs = {name: data[name] for name in data.files}
            kind = kinds[task["kind"]]
            if module is not None:
                task_student(kind, module, task, record, inputs, entry)
            else:
                task_trusted(kind, task, record, inputs)
        except StudentError as error:
            record.arrays = {}
            record.write(False, str(error), isolation)
        except BaseException as error:  # noqa: BLE001 - an unexpected failure is still a record
            record.arrays = {}
            if module is None:  # trusted code failed (a reference, an inspection): the grader is to blame
                record.data["grader_error"] = True
            record.write(False, f"{type(error).__name__}: {str(error)[:500]}", isolation)
        else:
            record.write(True, None, isolation)
        _forget_models()
        _kill_strays((request.get("isolation") or {}).get("uid"))
    return 0


def _forget_models() -> None:
    """Free what one task's Keras models hold before the next task (a batch child answers many checks)."""
    import gc

    keras = sys.modules.get("keras")
    if keras is not None:
        try:
            keras.backend.clear_session()
        except Exception:  # noqa: BLE001 - the student's code may have broken Keras: the next task will say so
            pass
    gc.collect()


def main(request_path: str) -> int:
    with open(request_path, encoding="utf-8") as handle:
        request = json.load(handle)
    isolation = _lock_down(request)
    RLIMITS.update(request.get("rlimits") or {})
    # the private copy of the kit: <lib>/kit/grading/worker.py -> <lib>
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    os.chdir(request["work"])
    if "tasks" in request:
        return serve(request, isolation)
    record = Record(request["work"])
    try:
        task_preflight(record)
    except BaseException as error:  # noqa: BLE001 - an unexpected failure is still a record
        record.write(False, f"{type(error).__name__}: {str(error)[:500]}", isolation)
        return 0
    record.write(True, None, isolation)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
