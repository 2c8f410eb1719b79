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
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from kit.errors import GradingError
from kit.files import scratch_folder

KIT_DIR = Path(__file__).resolve().parent.parent
WORKER = ("grading", "worker.py")  # below the private copy of kit/
SANDBOX_UID_BASE = 61100  # uids without a passwd entry (clear of 61000-61001, used by earlier kit versions)
SANDBOX_UID_COUNT = 1000  # the range graders claim their slots' uids from (61100-62099)
# Lock files that give one grader a uid exclusively (root only: root-owned folder, files 0600).
UID_LOCK_DIRS = ("/run/kit-grading", "/tmp/kit-grading-uids")
# Signals a process raises by itself when its own code crashes: the student's, not the grader's.
CRASH_SIGNALS = ("SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGABRT", "SIGSYS", "SIGTRAP")


class GraderFault(GradingError):
    """The grader (or the machine) failed, not the submission: never a student's zero."""


class LimitExceeded(GradingError):
    """A file a child wrote is larger (bytes, arrays) than the grader reads back: the limit's, not the answer's."""


REQUEST, RESULT_JSON, RESULT_NPZ = "request.json", "result.json", "result.npz"
# What the grader reads back from one task of a child: result.npz's arrays (an answer or reference of a
# check: e.g. the function kind stores cases x outputs, and the reference (1 + mistakes) x that) and
# their expanded size; result.json's size. Past one, the check's result is a grader fault (no grade,
# the reason), never the student's zero (kit.grading.grader).
MAX_RESULT_ARRAYS = 4096
MAX_RESULT_MB = 128
MAX_RESULT_JSON_MB = 1


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

    def cpu_limit(self) -> int:
        return self.cpu_seconds if self.cpu_seconds is not None else int(2 * self.wall_seconds) + 5

    def rlimits(self) -> dict[str, int]:
        return {
            "RLIMIT_CPU": self.cpu_limit(),
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
    limits: Limits = field(default_factory=Limits)
    cpu_seconds: float = 0.0  # user + system time of the child and its reaped children
    output_bytes: int = 0  # the larger of the stdout / stderr captures
    oom_kills: int = 0  # kernel OOM-killer kills on the machine while the child ran
    load_error: str | None = None  # the student's entry file did not import: why (shown once, at the top)
    over_limit: str | None = None  # the result is larger than the grader reads back (LimitExceeded): why
    folder: Path | None = None  # a batch task's own folder (where the child saved its files)

    @property
    def signal_name(self) -> str | None:
        code = self.exit_code
        if code is None or code >= 0:
            return None
        return signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else f"signal {-code}"

    @property
    def fault(self) -> str | None:
        """Why the grader, not the student, is to blame for how the child ended (None: it is not)."""
        name = self.signal_name
        if name is None or self.timed_out or name in CRASH_SIGNALS or self._limit_hit():
            return None
        cause = (
            f"; the kernel's OOM killer ran {self.oom_kills} time(s) meanwhile: the machine is short of memory"
            if self.oom_kills
            else ""
        )
        return f"a sandboxed child was ended by {name}, which none of the grader's limits sends{cause}"

    def _limit_hit(self) -> str | None:
        """Which of the grader's own limits ended the child, if one did."""
        name, limits = self.signal_name, self.limits
        if self.timed_out:
            return f"the wall-time limit ({limits.wall_seconds:.0f} s)"
        if name == "SIGXCPU" or (name == "SIGKILL" and self.cpu_seconds >= limits.cpu_limit() - 1):
            return f"the CPU-time limit ({limits.cpu_limit()} s)"
        if name == "SIGXFSZ" or self.output_bytes >= limits.file_mb << 20:
            return f"the output limit ({limits.file_mb} MB)"
        return None

    def describe_end(self) -> str:
        """One sentence on how the child ended, for the student-facing output."""
        limit = self._limit_hit()
        if limit:
            return f"it was stopped by {limit}"
        name = self.signal_name
        if name in CRASH_SIGNALS:
            return f"the process crashed ({name})"
        if name is not None:
            return f"the process was ended by {name}"
        return f"the process exited with status {self.exit_code} before reporting a result"


# ------------------------------------------------------------------ safe readers of child output


# ------------------------------------------------------------------ the container's memory
CHILD_NEEDS_MB = 1024  # one TensorFlow child at its heaviest check: ~720-900 MB of data segment (docs/grading.md)
GRADER_MARGIN_MB = 256  # the libraries' page cache and the grader's own growth while it grades


def container_memory_mb(
    proc_cgroup: str | os.PathLike = "/proc/self/cgroup", root: str | os.PathLike = "/sys/fs/cgroup"
) -> int | None:
    """This process's cgroup memory limit in MB (v2 ``memory.max`` or v1 ``memory.limit_in_bytes``), None if unlimited.

    The tightest limit on the way from the process's own cgroup up to the root counts. Written by
    hand: neither the standard library nor psutil reads cgroup limits.
    """
    root = Path(root)
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:
        return None
    places = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":
            places.append((root / path.lstrip("/"), root, "memory.max"))
        elif "memory" in controllers.split(","):
            places.append((root / "memory" / path.lstrip("/"), root / "memory", "memory.limit_in_bytes"))
    limits = []
    for folder, top, name in places:
        while True:
            try:
                value = (folder / name).read_text().strip()
            except OSError:
                value = ""
            if value.isdigit() and int(value) < 1 << 60:  # v1 writes ~2^63 for "no limit", v2 "max"
                limits.append(int(value) >> 20)
            if folder == top or top not in folder.parents:
                break
            folder = folder.parent
    return min(limits) if limits else None


def own_memory_mb() -> int:
    """This process's anonymous resident memory in MB (``RssAnon``: what a memory limit cannot reclaim)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) >> 10
    except (OSError, ValueError, IndexError):
        pass
    return 0


def children_that_fit(container_mb: int, grader_mb: int) -> int:
    """How many sandboxed TensorFlow children the container's memory holds beside the grader."""
    return max(0, container_mb - grader_mb - GRADER_MARGIN_MB) // CHILD_NEEDS_MB


def fit_to_memory(
    limits: Limits, workers: int, *, share: int = 1, container_mb: int | None, grader_mb: int
) -> tuple[Limits, int]:
    """Children at once and each one's ``RLIMIT_DATA`` so that the whole grading fits the container.

    Without this a student's memory blow-up meets the container's OOM killer (a grader fault for
    the whole submission) instead of the child's own limit (a MemoryError: 0 for that check).
    ``share``: how many graders of this process split the container (``kit grade --class --jobs``).
    """
    if container_mb is None:
        return limits, workers
    budget = container_mb - grader_mb - GRADER_MARGIN_MB
    fits = children_that_fit(container_mb, grader_mb) // max(1, share)
    if fits < 1:
        raise GradingError(
            f"This machine (container) allows {container_mb} MB of memory; the grader uses {grader_mb} MB and each "
            f"sandboxed TensorFlow child needs about {CHILD_NEEDS_MB} MB, so grading cannot run"
            + (f" {share} students at once" if share > 1 else "")
            + ". Give it at least 1.5 GB (Gradescope: Autograder Settings, '1.0 CPU, 1.5GB RAM')"
            + (", or fewer --jobs." if share > 1 else ".")
        )
    workers = max(1, min(workers, fits))
    memory_mb = min(limits.memory_mb, budget // (workers * max(1, share)))
    return replace(limits, memory_mb=memory_mb), workers


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
        raise LimitExceeded(f"{Path(path).name} has {len(members)} entries (at most {max_members} allowed).")
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
        raise LimitExceeded(f"{Path(path).name} expands to {total >> 20} MB (at most {max_total_bytes >> 20} MB).")
    return members


def read_json(path: str | os.PathLike, max_bytes: int = MAX_RESULT_JSON_MB << 20) -> Any:
    """Parse a JSON file written by a child, refusing anything larger than ``max_bytes``."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        raise GradingError(f"{path.name} is missing or not a regular file.")
    size = path.stat().st_size
    if size > max_bytes:
        raise LimitExceeded(f"{path.name} is {size} bytes (at most {max_bytes}).")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, RecursionError, UnicodeDecodeError) as error:
        raise GradingError(f"{path.name} is not valid JSON ({type(error).__name__}).") from None


def load_npz(
    path: str | os.PathLike, max_bytes: int = MAX_RESULT_MB << 20, max_arrays: int = MAX_RESULT_ARRAYS
) -> dict[str, np.ndarray]:
    """Arrays of a child's ``.npz``: zip-inspected first, then loaded with ``allow_pickle=False``."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        raise GradingError(f"{path.name} is missing or not a regular file.")
    inspect_zip(path, max_total_bytes=max_bytes, max_ratio=1000.0, max_members=max_arrays)
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


def _copy_kit(destination: Path, modules: dict[str, str | os.PathLike] | None = None) -> None:
    """A private copy of the kit package (``*.py`` only, what the child imports as ``kit``) and ``modules``
    (lib-relative name -> file: the assignment's checks files, which the child cannot read where they are)."""
    target = destination / "kit"
    for source in sorted(KIT_DIR.rglob("*.py")):
        relative = source.relative_to(KIT_DIR)
        if "__pycache__" in relative.parts:
            continue
        (target / relative.parent).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target / relative)
    for name, source in (modules or {}).items():
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination / name)
    for path in [destination, *destination.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


class UidClaim:
    """Sandbox uids held exclusively by this grader: an ``fcntl`` lock per uid, released when it exits.

    Two graders on one machine never share a uid, so ``RLIMIT_NPROC``, the kill of leftovers
    and file ownership are each grader's own (a lock dies with its process: no stale claims).
    """

    def __init__(self, count: int, base: int = SANDBOX_UID_BASE, span: int = SANDBOX_UID_COUNT):
        import fcntl

        self.uids: list[int] = []
        self._handles: list[int] = []
        folder = _uid_lock_dir()
        for uid in range(base, base + span):
            if len(self.uids) == count:
                break
            handle = os.open(folder / f"uid-{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(handle)
                continue
            if _processes_of(uid, zombies=True):  # e.g. a killed fork bomb's zombies, not yet reaped by init:
                os.close(handle)  # they count against RLIMIT_NPROC, so a child of that uid could not start
                continue
            self.uids.append(uid)
            self._handles.append(handle)
        if len(self.uids) < count:
            self.release()
            raise GraderFault(
                f"no free sandbox uid in {base}-{base + span - 1} ({count} needed): too many graders run at once; "
                "wait for some to finish."
            )

    def release(self) -> None:
        for handle in self._handles:
            os.close(handle)
        self._handles, self.uids = [], []


def _uid_lock_dir() -> Path:
    for candidate in UID_LOCK_DIRS:
        folder = Path(candidate)
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            info = folder.stat()
            if info.st_uid == 0 and not info.st_mode & 0o022:
                return folder
        except OSError:
            continue
    raise GraderFault(f"cannot create a private lock folder for sandbox uids (tried {', '.join(UID_LOCK_DIRS)}).")


class Sandbox:
    """A grading session's scratch space and the way to run one child in it.

    ``with Sandbox(hide=[...]) as box: box.run_batch(tasks, request=..., files=..., limits=..., slot=0)``.
    ``slots`` children may run at once (one per thread); as root each slot has a uid of its own,
    claimed exclusively for this grader (``UidClaim``). Entering runs a preflight: a child must be
    able to start the worker and import numpy, pandas and keras before any student code runs.
    """

    def __init__(
        self,
        *,
        hide: list[str | os.PathLike] = (),
        slots: int = 2,
        drop_privileges: bool | None = None,
        namespaces: bool = True,
        python: str | None = None,
        preflight: bool = True,
        modules: dict[str, str | os.PathLike] | None = None,
    ):
        self.hide = [str(Path(p).resolve()) for p in hide if Path(p).exists()]
        self.modules = dict(modules or {})  # lib-relative name -> file: the assignment's checks files
        self.slots = slots
        self.root_mode = os.geteuid() == 0 if drop_privileges is None else drop_privileges
        if self.root_mode and os.geteuid() != 0:
            raise GradingError("drop_privileges=True needs the grader to run as root.")
        self.namespaces = namespaces
        self.python = python or sys.executable
        self.preflight_report: dict = {}
        self._preflight = preflight
        self._dir: Path | None = None
        self._claim: UidClaim | None = None
        self._spare_claims: list[UidClaim] = []  # uids taken for slots whose own still held zombies (_settle)
        self._counter = 0
        self._lock = threading.Lock()

    def __enter__(self) -> Sandbox:
        if self.root_mode:
            self._claim = UidClaim(self.slots)
            for slot in range(self.slots):  # a grader that died may have left processes on a uid we now own
                if not self._kill_leftovers(None, slot):
                    uid = self.uid(slot)
                    self._claim.release()
                    raise GraderFault(f"processes of sandbox uid {uid} survive SIGKILL; nothing was graded.")
        try:
            self._dir = scratch_folder("kit-grade-")  # a killed grader's is removed by the next one
            os.chmod(self._dir, 0o711)  # children may traverse to their own folder, not list others
            _copy_kit(self._dir / "lib", self.modules)
            self._expose = _blocked_interpreter_dirs(self.python) if self.root_mode else []
            if self._preflight:
                self.preflight()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._claim is not None:
            for slot in range(self.slots):
                self._kill_leftovers(None, slot)
            self._claim.release()
            self._claim = None
        for claim in self._spare_claims:
            claim.release()
        self._spare_claims = []
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    def uid(self, slot: int) -> int | None:
        return self._claim.uids[slot] if self._claim is not None else None

    def preflight(self) -> dict:
        """Prove that a sandboxed child starts the worker and finds numpy, pandas and keras; else ``GraderFault``."""
        result = self.run({"action": "preflight", "side": "trusted", "models": []}, limits=Limits(wall_seconds=120))
        report = (result.record or {}).get("data", {}) if result.record and result.record.get("ok") else None
        if report is None:
            error = (result.record or {}).get("error") or result.problem or "no record"
            exposed = set((result.isolation or {}).get("exposed", []))
            unreadable = _unreadable_for_others(
                [p for p in [self.python, *_runtime_prefixes(self.python)] if not _under(p, exposed)]
            )
            symptoms = ("No module named", "Permission denied", "can't open file")
            if unreadable and any(text in str(error) + result.stderr for text in symptoms):
                path, folder = unreadable
                fix = (
                    "the mount-namespace fix needs root with CAP_SYS_ADMIN"
                    if self.root_mode
                    else "the grader does not run as root"
                )
                raise GraderFault(
                    f"the sandbox user cannot read the Python runtime {path} ({folder} is closed to other users and "
                    f"{fix}); make it readable (chmod o+rx {folder}) or install the venv in a readable place "
                    f"(e.g. /opt/kit-venv); nothing was graded."
                )
            detail = str(error)[:300] + ("; " + " ".join(result.stderr.split())[-300:] if result.stderr.strip() else "")
            raise GraderFault(f"the sandbox could not start the grading runtime ({detail}); nothing was graded.")
        self.preflight_report = report
        return report

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

    def _environment(self, work: Path) -> dict[str, str]:
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(work),
            "TMPDIR": str(work),
            "LANG": "C.UTF-8",
            "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow's C++ logs (oneDNN, CUDA) are not the student's output
            "TF_ENABLE_ONEDNN_OPTS": "0",
            "GRPC_VERBOSITY": "ERROR",
            "ABSL_MIN_LOG_LEVEL": "3",
            "PYTHONWARNINGS": "ignore",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": str(work / ".matplotlib"),
            "KERAS_HOME": str(work / ".keras"),
            "CUDA_VISIBLE_DEVICES": "",
            "JAX_PLATFORMS": "cpu",
            "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"),
        }

    def _request(self, request: dict, work: Path, limits: Limits, slot: int) -> dict:
        uid = self.uid(slot)
        return dict(
            request,
            work=str(work),
            rlimits=limits.rlimits(),
            isolation={
                "uid": uid,
                "hide": self.hide if (self.namespaces and uid is not None) else [],
                "expose": self._expose if (self.namespaces and uid is not None) else [],
                "grader_pid": os.getpid(),  # the child dies with the grader (worker: PR_SET_PDEATHSIG)
            },
        )

    def _give(self, folder: Path, slot: int) -> None:
        """Hand a folder and what it holds to the slot's uid (as root)."""
        uid = self.uid(slot)
        if uid is not None:
            for path in [folder, *folder.rglob("*")]:
                os.chown(path, uid, uid)

    def _start(self, work: Path, out_path: Path, err_path: Path) -> subprocess.Popen:
        command = [self.python, "-I", "-B", str(self._dir.joinpath("lib", "kit", *WORKER)), str(work / REQUEST)]
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            return subprocess.Popen(
                command,
                cwd=work,
                env=self._environment(work),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
            )

    def run(self, request: dict, *, limits: Limits = Limits(), slot: int = 0) -> ChildResult:
        """Run the trusted worker on one plain ``request`` (the preflight) in a fresh folder."""
        work = self.new_job_dir(slot)
        (work / REQUEST).write_text(json.dumps(self._request(request, work, limits, slot)))
        self._give(work, slot)
        out_path, err_path = work.parent / "stdout.txt", work.parent / "stderr.txt"
        started = time.monotonic()
        oom_before = _oom_kills()
        child = self._start(work, out_path, err_path)
        status, usage, timed_out = _wait(child, limits.wall_seconds)
        self._end(child, status, slot)
        if status is None:  # killed at the timeout: reap it now
            status, usage, _ = _wait(child, 10)
        result = ChildResult(
            record=None,
            arrays={},
            exit_code=status,
            timed_out=timed_out,
            wall_seconds=time.monotonic() - started,
            stdout=_quiet(read_capped(out_path, limits.output_kb << 10)),
            stderr=_quiet(read_capped(err_path, limits.output_kb << 10)),
            limits=limits,
            cpu_seconds=(usage.ru_utime + usage.ru_stime) if usage is not None else 0.0,
            output_bytes=max(_size(out_path), _size(err_path)),
            oom_kills=max(0, _oom_kills() - oom_before),
        )
        if not timed_out:
            _read_record(result, work)
        return result

    def _end(self, child: subprocess.Popen, status, slot: int) -> None:
        """Kill what is left of a child (its group; as root, its uid); a survivor is the grader's fault."""
        if not self._kill_leftovers(child.pid, slot):
            raise GraderFault(
                f"processes of sandbox uid {self.uid(slot)} survive SIGKILL; the submission was not graded."
            )

    def run_batch(
        self,
        tasks: list[Task],
        *,
        request: dict,
        files: dict[str, str | os.PathLike] = (),
        limits: Limits = Limits(),
        slot: int = 0,
    ) -> list[ChildResult]:
        """Run ``tasks`` in turn in as few children as possible: one child answers them in order, each in its own
        folder with its own wall-time limit; after a task that times out, crashes or hits a limit, a fresh child
        takes over from the next task, so that one task's failure costs that task only.

        ``request`` is common to all (side, entry, checks); ``files`` (the student's entry) are copied into each
        child's folder. A task that ends by a signal none of the grader's limits sends is tried once more, then
        it is the grader's fault (``GraderFault``).
        """
        results: list[ChildResult | None] = [None] * len(tasks)
        retried: set[int] = set()
        start = 0
        while start < len(tasks):
            finished = self._batch_child(tasks, start, request, files, limits, slot)
            for offset, result in enumerate(finished):
                results[start + offset] = result
            last = start + len(finished) - 1
            failed = finished[-1] if finished else None
            if failed is not None and failed.fault:
                if last in retried:
                    raise GraderFault(f"{failed.fault} (twice); the submission was not graded.")
                retried.add(last)
                start = last
                continue
            start = last + 1 if finished else len(tasks)
        return [r for r in results if r is not None]

    def _settle(self, slot: int) -> None:
        """Before a slot's next child: its uid must own no process, not even a zombie.

        A killed fork bomb leaves zombies that count against ``RLIMIT_NPROC`` until init reaps them
        (a fresh child of that uid could not start a thread); if they outlive a few seconds, the slot
        takes another free uid (``UidClaim`` skips uids that own processes).
        """
        uid = self.uid(slot)
        if uid is None:
            return
        deadline = time.monotonic() + 5
        while _processes_of(uid, zombies=True) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _processes_of(uid, zombies=True):
            spare = UidClaim(1)
            self._spare_claims.append(spare)
            self._claim.uids[slot] = spare.uids[0]

    def _batch_child(
        self, tasks: list[Task], start: int, request: dict, files: dict, limits: Limits, slot: int
    ) -> list[ChildResult]:
        """One child for ``tasks[start:]``: the results of the tasks it finished, and of the one it failed at."""
        self._settle(slot)
        work = self.new_job_dir(slot)
        for name, source in dict(files).items():
            shutil.copyfile(source, work / name)
        pending = tasks[start:]
        folders = []
        for number, task in enumerate(pending, start=start):
            folder = work / f"task{number:02d}"
            folder.mkdir(mode=0o700)
            for name, source in task.files.items():
                shutil.copyfile(source, folder / name)
            if task.arrays:
                np.savez(folder / "inputs.npz", **task.arrays)
            folders.append(folder)
        cpu = sum(replace(limits, wall_seconds=task.wall_seconds).cpu_limit() for task in pending)
        batch_limits = replace(limits, cpu_seconds=cpu)
        tasks_json = [{**task.request, "folder": str(folder)} for task, folder in zip(pending, folders, strict=True)]
        (work / REQUEST).write_text(
            json.dumps(self._request({**request, "tasks": tasks_json}, work, batch_limits, slot))
        )
        self._give(work, slot)
        out_path, err_path = work.parent / "stdout.txt", work.parent / "stderr.txt"
        oom_before = _oom_kills()
        started = time.monotonic()
        child = self._start(work, out_path, err_path)
        done: list[ChildResult] = []
        task_start, status, usage, timed_out, delay = started, None, None, False, 0.005
        while True:
            try:
                pid, raw, usage = os.wait4(child.pid, os.WNOHANG)
            except ChildProcessError:
                pid, raw = child.pid, 0
            if pid == child.pid:
                status = child.returncode = os.waitstatus_to_exitcode(raw)
            while len(done) < len(pending) and (folders[len(done)] / RESULT_JSON).exists():
                now = time.monotonic()
                task_limits = replace(limits, wall_seconds=pending[len(done)].wall_seconds)
                result = _task_result(folders[len(done)], work, task_limits, now - task_start)
                _read_record(result, folders[len(done)])
                done.append(result)
                task_start, delay = now, 0.005
            if (work / "import.json").exists() and status is not None:
                self._end(child, status, slot)
                return self._not_loaded(work, pending, limits, request.get("entry") or "your file")
            if status is not None or len(done) == len(pending):
                break
            if time.monotonic() - task_start > pending[len(done)].wall_seconds:
                timed_out = True
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        if status is None and not timed_out:  # every task answered: give the child a moment to exit on its own
            status, usage, _ = _wait(child, 10)
        self._end(child, status, slot)
        if status is None:  # killed: reap it now
            status, usage, _ = _wait(child, 10)
        if len(done) == len(pending):
            return done
        folder = folders[len(done)]
        task_limits = replace(limits, wall_seconds=pending[len(done)].wall_seconds)
        failed = _task_result(folder, work, task_limits, time.monotonic() - task_start)
        failed.exit_code, failed.timed_out = status, timed_out
        failed.limits = replace(task_limits, cpu_seconds=cpu)
        failed.cpu_seconds = (usage.ru_utime + usage.ru_stime) if usage is not None else 0.0
        failed.oom_kills = max(0, _oom_kills() - oom_before)
        failed.stderr += _quiet(read_capped(err_path, limits.output_kb << 10))
        if not timed_out:
            failed.problem = f"no result came back: {failed.describe_end()}"
        else:
            failed.problem = failed.describe_end()
        return [*done, failed]

    def _not_loaded(self, work: Path, pending: list[Task], limits: Limits, entry: str) -> list[ChildResult]:
        """The entry file did not import: every task gets one line, and the import error rides on the first."""
        error = "the submission did not load"
        try:
            error = str(read_json(work / "import.json").get("error") or error)
        except GradingError:
            pass
        results = []
        for task in pending:
            result = _task_result(work / "none", work, replace(limits, wall_seconds=task.wall_seconds), 0.0)
            result.record = {
                "kind": "kit-grade-record",
                "ok": False,
                "error": NOT_LOADED.format(entry=entry),
                "data": {},
            }
            result.load_error = error
            results.append(result)
        return results

    def _kill_leftovers(self, pid: int | None, slot: int) -> bool:
        """SIGKILL the child's process group and, as root, every process of the slot's own uid.

        The uid is this grader's alone (``UidClaim``), so ``kill(-1)`` as that uid reaches only this
        slot's child and what it started, also processes that left the group with ``setsid()``.
        """
        if pid is not None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        uid = self.uid(slot)
        if uid is None:
            return True
        for _ in range(40):  # a fork bomb forks while kill(-1) walks the process list: repeat until none is left
            if not _processes_of(uid):
                return True
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
                    return True
                time.sleep(0.05)
        return not _processes_of(uid)


NOT_LOADED = "{entry} did not load (the error is at the top), so this check could not run."


@dataclass
class Task:
    """One check's turn in a batch child: its request (kind, params, ...), input arrays, files, wall-time limit."""

    request: dict
    arrays: dict[str, np.ndarray] | None
    files: dict[str, str | os.PathLike]
    wall_seconds: float


def _task_result(folder: Path, work: Path, limits: Limits, wall: float) -> ChildResult:
    """A task's result shell: its own output (after the entry's import-time output) and how long it took."""
    output = {}
    for name in ("stdout.txt", "stderr.txt"):
        text = read_capped(work / f"import-{name}", limits.output_kb << 10) + read_capped(
            folder / name, limits.output_kb << 10
        )
        output[name] = _quiet(text) if text.strip() else ""
    return ChildResult(
        record=None,
        arrays={},
        exit_code=0,
        timed_out=False,
        wall_seconds=wall,
        stdout=output["stdout.txt"],
        stderr=output["stderr.txt"],
        limits=limits,
        output_bytes=max(_size(folder / "stdout.txt"), _size(folder / "stderr.txt")),
        folder=folder,
    )


def _read_record(result: ChildResult, folder: Path) -> None:
    """The child's record and arrays (JSON and .npz only, size-capped), or why they could not be read."""
    try:
        record = read_json(folder / RESULT_JSON)
        if not isinstance(record, dict) or record.get("kind") != "kit-grade-record" or "ok" not in record:
            raise GradingError("result.json is not a grading record.")
        result.record = record
        result.isolation = record.get("isolation", {}) if isinstance(record.get("isolation"), dict) else {}
        if (folder / RESULT_NPZ).exists():
            result.arrays = load_npz(folder / RESULT_NPZ)
    except GradingError as error:
        result.record = None
        result.over_limit = str(error) if isinstance(error, LimitExceeded) else None
        result.problem = (
            f"no result came back: {result.describe_end()}"
            if not (folder / RESULT_JSON).exists()
            else f"the result could not be read: {error}"
        )


def _wait(child: subprocess.Popen, timeout: float):
    """(exit code, rusage, timed out) of ``child``; rusage gives its CPU time (was a CPU limit hit?)."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        except ChildProcessError:
            return child.returncode, None, False
        if pid == child.pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            return child.returncode, usage, False
        if time.monotonic() >= deadline:
            return None, None, True
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _oom_kills() -> int:
    """The kernel's count of OOM-killer kills (``/proc/vmstat``; 0 where unknown)."""
    try:
        for line in Path("/proc/vmstat").read_text().splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


# TensorFlow / absl / CUDA start-up lines that reach stderr before Python can silence them.
_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] .*"
    r"|.*(oneDNN custom operations are on|TF_ENABLE_ONEDNN_OPTS|cuda drivers|cuInit|cuFFT|cuDNN|cuBLAS"
    r"|computation placer|TensorFlow binary is optimized|rebuild TensorFlow with the appropriate compiler).*)$"
)


def _quiet(text: str) -> str:
    """A child's captured output without the runtime's own log lines (they are not the student's)."""
    return "\n".join(line for line in text.splitlines() if not _NOISE.match(line)) + ("\n" if text.strip() else "")


def _runtime_prefixes(python: str) -> list[str]:
    """The folders the interpreter imports from: its venv (``sys.prefix``, set by ``site``), the base
    installation, and any folder on its path outside both (added by a ``.pth`` file, e.g. a venv that
    borrows another venv's packages)."""
    query = "import sys; print(sys.prefix); print(sys.base_prefix); print(*sys.path, sep='\\n')"
    lines = subprocess.run([python, "-I", "-c", query], capture_output=True, text=True, timeout=60).stdout
    found = [str(Path(p).resolve()) for p in lines.splitlines() if p.strip()]
    prefixes = list(dict.fromkeys(found[:2]))
    extra = [p for p in found[2:] if Path(p).is_dir() and not _under(p, set(prefixes))]
    return prefixes + list(dict.fromkeys(extra))


def _under(path: str, folders: set[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def _closed_ancestor(path: str) -> Path | None:
    """The outermost folder above ``path`` that other users cannot enter (no ``o+x``), if any."""
    for folder in reversed(Path(path).parents):
        try:
            if folder != Path("/") and not folder.stat().st_mode & 0o001:
                return folder
        except OSError:
            return folder
    return None


def _unreadable_for_others(paths: list[str]) -> tuple[str, Path] | None:
    """(path, the folder that closes it) for the first path an unprivileged uid cannot reach."""
    for path in paths:
        folder = _closed_ancestor(path)
        if folder is not None:
            return path, folder
    return None


def _blocked_interpreter_dirs(python: str) -> list[tuple[str, str]]:
    """(folder others cannot enter, interpreter prefix below it) pairs: what an unprivileged child must see.

    E.g. a venv inside a clone under ``mktemp -d`` (mode 0700), or pyenv under /root. The worker
    covers that folder with an empty tmpfs in its mount namespace and binds the prefix back, read-only.
    """
    pairs = []
    for prefix in _runtime_prefixes(python):
        blocked = _closed_ancestor(prefix)
        if blocked is not None:
            pairs.append((str(blocked), prefix))
    return pairs


def _processes_of(uid: int, *, zombies: bool = False) -> list[int]:
    """Live processes of ``uid``; zombies (dead, waiting to be reaped) too with ``zombies=True``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                    if zombies or state not in ("Z", "X"):
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
