"""Run untrusted (student) code in a separate, limited child process and read back plain data.

What the grader relies on (see docs/grading.md for the threat model):
- a fresh interpreter (``python -I -B``: no PYTHON* variables, no script folder or user site on
  ``sys.path``) started on the trusted worker ``kit/grading/worker.py`` from a private copy of the
  ``kit`` package (no ``solutions/``, no ``tests/`` next to it), in a temporary folder holding
  only the allow-listed files of one check;
- when the grader runs as root (Gradescope): the child drops to an unprivileged uid of its own
  (one per concurrent slot, so ``RLIMIT_NPROC`` really bounds a fork bomb and every leftover
  process can be killed by uid), sets ``no_new_privs``, and - where the kernel lets it - gets a
  private mount and network namespace in which the ``hide`` folders (solutions, tests, rubric)
  are covered by an empty read-only tmpfs;
- ``resource`` limits: CPU seconds, data segment (memory), address space, file size (also caps
  captured stdout/stderr), process count, no core files; a wall-clock timeout that kills the
  child's whole process group (and, as root, every process of its uid);
- only JSON (size-capped) and ``.npz`` (zip-inspected, ``allow_pickle=False``) come back.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kit.errors import GradingError

KIT_DIR = Path(__file__).resolve().parent.parent
WORKER = ("grading", "worker.py")  # below the private copy of kit/
SANDBOX_UID_BASE = 61000  # uids without a passwd entry, one per concurrent slot (root only)
REQUEST, RESULT_JSON, RESULT_NPZ = "request.json", "result.json", "result.npz"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one child process."""

    wall_seconds: float = 60.0
    cpu_seconds: int | None = None  # default: 2 x wall (two cores)
    memory_mb: int = 3072  # RLIMIT_DATA: heap and anonymous mappings (what numpy allocates)
    address_space_mb: int = 16384  # RLIMIT_AS: TensorFlow alone reserves ~3.4 GB of address space
    file_mb: int = 32  # RLIMIT_FSIZE: every file the child writes, stdout capture included
    processes: int = 64  # RLIMIT_NPROC (threads count too: TF ~10, JAX ~20)
    output_kb: int = 16  # how much of stdout/stderr the grader reads back

    def rlimits(self) -> dict[str, int]:
        cpu = self.cpu_seconds if self.cpu_seconds is not None else int(2 * self.wall_seconds) + 5
        return {
            "RLIMIT_CPU": cpu,
            "RLIMIT_DATA": self.memory_mb << 20,
            "RLIMIT_AS": self.address_space_mb << 20,
            "RLIMIT_FSIZE": self.file_mb << 20,
            "RLIMIT_NPROC": self.processes,
            "RLIMIT_CORE": 0,
        }


@dataclass
class ChildResult:
    """What came back from one child: its record (if any), arrays, and how it ended."""

    record: dict | None
    arrays: dict[str, np.ndarray]
    exit_code: int | None
    timed_out: bool
    wall_seconds: float
    stdout: str
    stderr: str
    problem: str | None = None  # why the record is missing or unreadable
    isolation: dict = field(default_factory=dict)

    def describe_end(self) -> str:
        """One sentence on how the child ended, for the student-facing output."""
        if self.timed_out:
            return f"it did not finish within the time limit ({self.wall_seconds:.0f} s)"
        code = self.exit_code
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            hint = {
                "SIGXCPU": " (CPU time limit)",
                "SIGXFSZ": " (file/output size limit)",
                "SIGKILL": " (killed, e.g. memory)",
                "SIGSEGV": " (crashed)",
            }.get(name, "")
            return f"the process was ended by {name}{hint}"
        return f"the process exited with status {code} before reporting a result"


# ------------------------------------------------------------------ safe readers of child output


def inspect_zip(
    path: str | os.PathLike, *, max_total_bytes: int, max_ratio: float = 200.0, max_members: int = 64
) -> list[zipfile.ZipInfo]:
    """Check a zip's directory without extracting it (zip bombs, path tricks); return its members."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise GradingError(f"{Path(path).name} is not a valid zip archive ({error}).") from None
    if len(members) > max_members:
        raise GradingError(f"{Path(path).name} has {len(members)} entries (at most {max_members} allowed).")
    total = 0
    for info in members:
        name = info.filename
        if name.startswith("/") or ".." in Path(name).parts:
            raise GradingError(f"{Path(path).name} contains an unsafe path {name!r}.")
        total += info.file_size
        if info.file_size > 1 << 20 and info.file_size > max_ratio * max(info.compress_size, 1):
            raise GradingError(
                f"{Path(path).name}: entry {name!r} expands {info.file_size / max(info.compress_size, 1):.0f}x "
                f"(a zip bomb?); at most {max_ratio:.0f}x is accepted."
            )
    if total > max_total_bytes:
        raise GradingError(f"{Path(path).name} expands to {total >> 20} MB (at most {max_total_bytes >> 20} MB).")
    return members


def read_json(path: str | os.PathLike, max_bytes: int = 1 << 20) -> Any:
    """Parse a JSON file written by a child, refusing anything larger than ``max_bytes``."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        raise GradingError(f"{path.name} is missing or not a regular file.")
    size = path.stat().st_size
    if size > max_bytes:
        raise GradingError(f"{path.name} is {size} bytes (at most {max_bytes}).")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, RecursionError, UnicodeDecodeError) as error:
        raise GradingError(f"{path.name} is not valid JSON ({type(error).__name__}).") from None


def load_npz(path: str | os.PathLike, max_bytes: int = 128 << 20) -> dict[str, np.ndarray]:
    """Arrays of a child's ``.npz``: zip-inspected first, then loaded with ``allow_pickle=False``."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        raise GradingError(f"{path.name} is missing or not a regular file.")
    inspect_zip(path, max_total_bytes=max_bytes, max_ratio=1000.0)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise GradingError(f"{path.name} holds something other than plain numeric arrays ({error}).") from None


def read_capped(path: Path, max_bytes: int) -> str:
    """The first ``max_bytes`` of a capture file (never the whole file: it may be huge)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
            size = os.fstat(handle.fileno()).st_size
    except OSError:
        return ""
    text = data[:max_bytes].decode("utf-8", errors="replace")
    if size > max_bytes:
        text += f"\n... [output cut: {size} bytes in all]"
    return text


# ------------------------------------------------------------------ the sandbox


def _copy_kit(destination: Path) -> None:
    """A private copy of the kit package and its subpackages (``*.py`` only): what the child imports as ``kit``."""
    target = destination / "kit"
    for source in sorted(KIT_DIR.rglob("*.py")):
        relative = source.relative_to(KIT_DIR)
        if "__pycache__" in relative.parts:
            continue
        (target / relative.parent).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target / relative)
    for path in [destination, *target.rglob("*"), target]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


class Sandbox:
    """A grading session's scratch space and the way to run one child in it.

    ``with Sandbox(hide=[...]) as box: box.run(request, files=..., arrays=..., limits=..., slot=0)``.
    ``slots`` children may run at once (one per thread); each slot has its own uid when root.
    """

    def __init__(
        self,
        *,
        hide: list[str | os.PathLike] = (),
        slots: int = 2,
        drop_privileges: bool | None = None,
        namespaces: bool = True,
        python: str | None = None,
    ):
        self.hide = [str(Path(p).resolve()) for p in hide if Path(p).exists()]
        self.slots = slots
        self.root_mode = os.geteuid() == 0 if drop_privileges is None else drop_privileges
        if self.root_mode and os.geteuid() != 0:
            raise GradingError("drop_privileges=True needs the grader to run as root.")
        self.namespaces = namespaces
        self.python = python or sys.executable
        self._dir: Path | None = None
        self._counter = 0
        self._lock = threading.Lock()
        self._last_work: dict[int, Path] = {}

    def __enter__(self) -> Sandbox:
        self._dir = Path(tempfile.mkdtemp(prefix="kit-grade-"))
        os.chmod(self._dir, 0o711)  # children may traverse to their own folder, not list others
        _copy_kit(self._dir / "lib")
        self._expose = _blocked_interpreter_dirs(self.python) if self.root_mode else []
        return self

    def __exit__(self, *exc) -> None:
        for slot in range(self.slots):
            self._kill_leftovers(None, slot)
        shutil.rmtree(self._dir, ignore_errors=True)

    def uid(self, slot: int) -> int | None:
        return SANDBOX_UID_BASE + slot if self.root_mode else None

    def new_job_dir(self, slot: int) -> Path:
        """A fresh folder for one child: ``job/`` (grader only) holding ``job/work`` (the child's)."""
        with self._lock:
            self._counter += 1
            job = self._dir / f"job{self._counter:03d}"
        job.mkdir(mode=0o711)
        work = job / "work"
        work.mkdir(mode=0o700)
        uid = self.uid(slot)
        if uid is not None:
            os.chown(work, uid, uid)
        return work

    def run(
        self,
        request: dict,
        *,
        files: dict[str, str | os.PathLike] = (),
        arrays: dict[str, np.ndarray] | None = None,
        limits: Limits = Limits(),
        slot: int = 0,
        work: Path | None = None,
    ) -> ChildResult:
        """Run the trusted worker on ``request`` in a fresh folder with copies of ``files``."""
        work = work or self.new_job_dir(slot)
        self._last_work[slot] = work
        uid = self.uid(slot)
        for name, source in dict(files).items():
            shutil.copyfile(source, work / name)
        if arrays is not None:
            np.savez(work / "inputs.npz", **arrays)
        request = dict(
            request,
            work=str(work),
            rlimits=limits.rlimits(),
            isolation={
                "uid": uid,
                "hide": self.hide if (self.namespaces and uid is not None) else [],
                "expose": self._expose if uid is not None else [],
            },
        )
        (work / REQUEST).write_text(json.dumps(request))
        if uid is not None:
            for path in work.iterdir():
                os.chown(path, uid, uid)
        # a record from an earlier child can never be mistaken for this one's
        for name in (RESULT_JSON, RESULT_NPZ):
            (work / name).unlink(missing_ok=True)

        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(work),
            "TMPDIR": str(work),
            "LANG": "C.UTF-8",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": str(work / ".matplotlib"),
            "KERAS_HOME": str(work / ".keras"),
            "CUDA_VISIBLE_DEVICES": "",
            "JAX_PLATFORMS": "cpu",
            "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"),
        }
        command = [self.python, "-I", "-B", str(self._dir.joinpath("lib", "kit", *WORKER)), str(work / REQUEST)]
        out_path, err_path = work.parent / "stdout.txt", work.parent / "stderr.txt"
        started = time.monotonic()
        timed_out = False
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            child = subprocess.Popen(
                command,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
            )
            try:
                child.wait(timeout=limits.wall_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                self._kill_leftovers(child.pid, slot)
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:  # pragma: no cover - a process that survives SIGKILL
                    pass
        wall = time.monotonic() - started
        result = ChildResult(
            record=None,
            arrays={},
            exit_code=child.returncode,
            timed_out=timed_out,
            wall_seconds=wall,
            stdout=read_capped(out_path, limits.output_kb << 10),
            stderr=read_capped(err_path, limits.output_kb << 10),
        )
        if timed_out:
            result.problem = result.describe_end()
            return result
        try:
            record = read_json(work / RESULT_JSON)
            if not isinstance(record, dict) or record.get("kind") != "kit-grade-record" or "ok" not in record:
                raise GradingError("result.json is not a grading record.")
            result.record = record
            result.isolation = record.get("isolation", {}) if isinstance(record.get("isolation"), dict) else {}
            if (work / RESULT_NPZ).exists():
                result.arrays = load_npz(work / RESULT_NPZ)
        except GradingError as error:
            result.record = None
            result.problem = (
                f"no result came back: {result.describe_end()}"
                if not (work / RESULT_JSON).exists()
                else f"the result could not be read: {error}"
            )
        return result

    def last_work(self, slot: int) -> Path:
        """The folder of the slot's last child (where it saved its files)."""
        return self._last_work[slot]

    def _kill_leftovers(self, pid: int | None, slot: int) -> None:
        """SIGKILL the child's process group and, as root, every process of the slot's uid."""
        if pid is not None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        uid = self.uid(slot)
        if uid is None:
            return
        # kill(-1) from a process of that uid reaches every process of the uid (and not itself):
        # also the ones that left the process group with setsid().
        for _ in range(3):
            subprocess.run(
                [
                    self.python,
                    "-I",
                    "-S",
                    "-c",
                    f"import os, signal\nos.setgroups([]); os.setgid({uid}); os.setuid({uid})\n"
                    "try: os.kill(-1, signal.SIGKILL)\nexcept ProcessLookupError: pass",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=30,
                env={},
            )
            for _ in range(20):  # SIGKILL is delivered asynchronously: give the kernel a moment
                if not _processes_of(uid):
                    return
                time.sleep(0.05)


def _blocked_interpreter_dirs(python: str) -> list[tuple[str, str]]:
    """(folder others cannot enter, interpreter folder below it) pairs: what an unprivileged child must see.

    E.g. a pyenv Python under /root (mode 0700). The worker fixes this in its mount namespace.
    """
    query = "import sys; print(sys.base_prefix); print(sys.prefix)"
    prefixes = subprocess.run(
        [python, "-I", "-S", "-c", query], capture_output=True, text=True, timeout=60
    ).stdout.split()
    pairs = []
    for prefix in dict.fromkeys(str(Path(p).resolve()) for p in prefixes):
        blocked = None
        for folder in reversed(Path(prefix).parents):
            if folder != Path("/") and not folder.stat().st_mode & 0o001:
                blocked = folder
                break
        if blocked is not None:
            pairs.append((str(blocked), prefix))
    return pairs


def _processes_of(uid: int) -> list[int]:
    """Live processes of ``uid`` (zombies, already dead and waiting to be reaped, are left out)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                    if state not in ("Z", "X"):
                        found.append(int(entry.name))
            except (OSError, IndexError):
                pass
    return found


def copy_from_child(work: Path, name: str, destination: Path, *, max_bytes: int) -> Path:
    """Copy a file a child wrote (e.g. a built model) out of its folder, refusing links and huge files."""
    source = work / name
    if source.is_symlink() or not source.is_file():
        raise GradingError(f"{name} was not written.")
    if source.stat().st_size > max_bytes:
        raise GradingError(f"{name} is larger than {max_bytes >> 20} MB.")
    shutil.copyfile(source, destination)
    return destination
