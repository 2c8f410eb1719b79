"""The Gradescope autograder end to end on a fresh operating-system root (``make gradescope-check``).

What Gradescope does, done here (as root, slow: minutes, downloads ~700 MB the first time):
1. ``python -m kit grade --package`` writes the zip;
2. ``mmdebstrap`` makes a fresh minbase root (no Python at all): ``--suite jammy`` is Ubuntu 22.04,
   Gradescope's default base image (main + universe, with jammy-updates and jammy-security, as
   Ubuntu's images have them; needs Ubuntu's archive keyring), ``--suite bookworm`` Debian 12;
   both install ``python3.11`` and ``python3.11-venv`` from the distribution's own packages;
3. the zip is unpacked into ``/autograder/source`` and ``setup.sh`` runs there (chroot, with /proc,
   /sys and /dev mounted and the host's resolv.conf for the downloads);
4. a correct submission (``--assignment fashion_mnist``, the default: ``tests/grading/submissions/
   reference/homework.py`` and a ``model.keras`` trained by the kit; another assignment: its solution's
   entry file) goes into ``/autograder/submission``, ``/autograder/run_autograder`` runs
   with no network (``unshare --net``), in its own cgroup (optionally under a memory / CPU limit);
5. ``/autograder/results/results.json`` is read and checked: valid, every code check at full marks.

It prints the figures docs/grading.md quotes: package size, setup time, grading wall time, CPU
seconds (grader and all its children) and peak memory (sum of the RSS of every process, polled, and
the cgroup's own peak). Nothing here is hand-written where a tool does it, except the cgroup
bookkeeping (cgroup v1 or v2 files, because this container has no systemd to ask).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from kit.grading.sandbox import SANDBOX_UID_BASE, UID_LOCK_DIRS  # noqa: E402

REFERENCE = REPO / "tests" / "grading" / "submissions" / "reference" / "homework.py"
GRADING_LOCK = "/tmp/kit-grading.lock"
UID_LOCKS = Path(UID_LOCK_DIRS[0])
DEBIAN_MIRROR = "http://deb.debian.org/debian"
UBUNTU_MIRROR = "http://archive.ubuntu.com/ubuntu"
UBUNTU_SUITES = ("focal", "jammy", "noble")
UBUNTU_KEYRING = "/usr/share/keyrings/ubuntu-archive-keyring.gpg"
CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
}


class CheckError(Exception):
    """One sentence: what went wrong and what to do."""


def log(message: str) -> None:
    print(f"[gradescope-check] {message}", flush=True)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, **kwargs)


# ------------------------------------------------------------------ the operating-system root


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path`` (from /proc/mounts)."""
    prefix = str(path.resolve())
    points = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    return [point for point in points if point == prefix or point.startswith(prefix + "/")]


def remove_tree(path: Path) -> None:
    """``rm -rf`` that refuses while anything is mounted below: a bind of /dev would delete the host's /dev."""
    mounted = mounts_under(path)
    if mounted:
        raise CheckError(
            f"{mounted[0]} is still mounted (a run was killed before it cleaned up); "
            f"unmount it first (`umount -R -l {mounted[0]}`), then run again."
        )
    shutil.rmtree(path)


def make_root(root: Path, suite: str, keyring: str = UBUNTU_KEYRING) -> float:
    """A fresh minbase Debian or Ubuntu root; returns the seconds it took."""
    tool = shutil.which("mmdebstrap")
    if tool is None:
        raise CheckError("mmdebstrap is not installed; run `apt-get install mmdebstrap` (as root) first.")
    command = [tool, "--quiet", "--variant=minbase", "--mode=root"]
    if suite in UBUNTU_SUITES:
        if not Path(keyring).is_file():
            raise CheckError(
                f"{keyring} is missing: install Ubuntu's archive keyring (package ubuntu-keyring; on Debian, unpack "
                f"{UBUNTU_MIRROR}/pool/main/u/ubuntu-keyring/ubuntu-keyring_2021.03.26_all.deb) or pass --keyring FILE."
            )
        mirrors = [f"deb {UBUNTU_MIRROR} {suite}{pocket} main universe" for pocket in ("", "-updates", "-security")]
        # Ubuntu's minbase leaves apt out; Gradescope's image (docker's ubuntu:22.04) has it
        command += [f"--keyring={keyring}", "--include=apt", suite, str(root), *mirrors]
    else:
        command += [suite, str(root), DEBIAN_MIRROR]
    if root.exists():
        remove_tree(root)
    start = time.perf_counter()
    run(command)
    return time.perf_counter() - start


class Mounts:
    """/proc, /sys, /dev and /dev/pts inside the root, unmounted again on exit (in reverse order)."""

    def __init__(self, root: Path, extra_binds: tuple[str, ...] = ()):
        self.root, self.done, self.extra = root, [], extra_binds

    def __enter__(self):
        binds = [("bind", folder, folder.lstrip("/")) for folder in self.extra]
        for kind, source, target in [
            ("proc", "proc", "proc"),
            ("bind", "/sys", "sys"),
            ("bind", "/dev", "dev"),
            ("bind", "/dev/pts", "dev/pts"),
            *binds,
        ]:
            path = self.root / target
            path.mkdir(parents=True, exist_ok=True)
            if kind == "proc":
                run(["mount", "-t", "proc", "proc", str(path)])
            else:
                run(["mount", "--rbind" if target != "dev/pts" else "--bind", source, str(path)])
                run(["mount", "--make-rslave", str(path)])
            self.done.append(path)
        return self

    def __exit__(self, *exc):
        for path in reversed(self.done):
            subprocess.run(["umount", "-R", "-l", str(path)], check=False)


def unpack(package: Path, root: Path) -> None:
    """The zip into /autograder/source with its file modes (Gradescope's layout); run_autograder beside it."""
    source = root / "autograder" / "source"
    source.mkdir(parents=True)
    with zipfile.ZipFile(package) as archive:
        for info in archive.infolist():
            target = source / info.filename
            archive.extract(info, source)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                os.chmod(target, mode)
    shutil.copy2(source / "run_autograder", root / "autograder" / "run_autograder")
    (root / "autograder" / "results").mkdir()


# ------------------------------------------------------------------ measuring


class Cgroup:
    """A cgroup of our own for run_autograder: peak memory, optional memory and CPU limits.

    cgroup v2 (one ``unified`` tree) where the machine has it, else v1 (``memory`` and ``cpu`` trees).
    The cgroup is made under the one this process is in, so the machine's own accounting still holds.
    """

    def __init__(self, memory_max: int | None, cpus: float | None):
        self.memory_max, self.cpus, self.dirs = memory_max, cpus, {}
        name = f"kit-gradescope-check-{os.getpid()}"
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        own = {}
        for line in lines:
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                own[controller] = path
        if Path("/sys/fs/cgroup/cgroup.controllers").exists():  # pure v2
            self.version, base = 2, Path("/sys/fs/cgroup") / own[""].lstrip("/")
            self.dirs["memory"] = self.dirs["cpu"] = base / name
        elif Path("/sys/fs/cgroup/memory/memory.max_usage_in_bytes").exists():
            self.version = 1
            self.dirs["memory"] = Path("/sys/fs/cgroup/memory") / own["memory"].lstrip("/") / name
            self.dirs["cpu"] = (
                Path("/sys/fs/cgroup/cpu") / own.get("cpu", own.get("cpu,cpuacct", "/")).lstrip("/") / name
            )
        else:
            raise CheckError("no cgroup memory controller is mounted under /sys/fs/cgroup; run on a machine with one.")

    def __enter__(self):
        for path in set(self.dirs.values()):
            path.mkdir()
        memory, cpu = self.dirs["memory"], self.dirs["cpu"]
        if self.version == 2:
            if self.memory_max:
                (memory / "memory.max").write_text(str(self.memory_max))
                (memory / "memory.swap.max").write_text("0")
            if self.cpus:
                (cpu / "cpu.max").write_text(f"{int(self.cpus * 100_000)} 100000")
        else:
            if self.memory_max:
                (memory / "memory.limit_in_bytes").write_text(str(self.memory_max))
            if self.cpus:
                (cpu / "cpu.cfs_period_us").write_text("100000")
                (cpu / "cpu.cfs_quota_us").write_text(str(int(self.cpus * 100_000)))
        return self

    def join(self) -> None:
        """Called in the child before exec: move it into the cgroup(s)."""
        for path in set(self.dirs.values()):
            (path / "cgroup.procs").write_text(str(os.getpid()))

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in (self.dirs["memory"] / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def anon_bytes(self) -> int:
        """Anonymous memory (heap, stacks) of the whole cgroup now: what a memory limit cannot reclaim."""
        stat = dict(line.split() for line in (self.dirs["memory"] / "memory.stat").read_text().splitlines())
        return int(stat["anon"] if self.version == 2 else stat["total_rss"])

    def peak_bytes(self) -> int | None:
        """The cgroup's own peak charge (page cache included), where the kernel keeps one."""
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        path = self.dirs["memory"] / name
        return int(path.read_text()) if path.exists() else None

    def oom_kills(self) -> int:
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        stat = dict(line.split() for line in (self.dirs["memory"] / name).read_text().splitlines())
        return int(stat.get("oom_kill", 0))

    def __exit__(self, *exc):
        for path in set(self.dirs.values()):
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def rss_bytes(pid: int) -> tuple[int, int]:
    """(resident, of which anonymous) bytes of one process; (0, 0) once it is gone."""
    sizes = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "RssAnon:")):
                sizes[line.split(":")[0]] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return sizes.get("VmRSS", 0), sizes.get("RssAnon", 0)


def command_line(pid: int) -> str:
    """The last two words of a process's command line, e.g. 'worker.py request.json'."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    return " ".join(Path(word).name for word in words if word)[-80:]


def run_measured(command: list[str], cgroup: Cgroup, log_path: Path, timeout: float) -> dict:
    """Run ``command`` in ``cgroup``; wall and CPU seconds of it and all its children, peak memory."""
    peaks = {"rss_sum": 0, "anon": 0, "processes": 0}
    per_process: dict[int, tuple[int, int, str]] = {}
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            pids = cgroup.pids()
            sizes = {pid: rss_bytes(pid) for pid in pids}
            for pid, (rss, anon) in sizes.items():
                if rss > per_process.get(pid, (0, 0, ""))[0]:
                    per_process[pid] = (rss, anon, per_process.get(pid, (0, 0, ""))[2] or command_line(pid))
            peaks["rss_sum"] = max(peaks["rss_sum"], sum(rss for rss, _ in sizes.values()))
            peaks["processes"] = max(peaks["processes"], len(pids))
            peaks["anon"] = max(peaks["anon"], cgroup.anon_bytes())
            stop.wait(0.1)

    with open(log_path, "wb") as output:
        start = time.perf_counter()
        child = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=CHROOT_ENV, preexec_fn=cgroup.join
        )
        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                child.kill()
                raise CheckError(f"run_autograder ran past {timeout:.0f} s; see {log_path}.")
            time.sleep(0.05)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        stop.set()
        watcher.join()
    return {
        "exit_code": child.returncode,
        "wall_s": wall,
        # the rusage of a waited-for child includes every descendant it waited for (the grader waits for all)
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_sum_mb": peaks["rss_sum"] / 2**20,
        "peak_anon_mb": peaks["anon"] / 2**20,
        "peak_cgroup_mb": (cgroup.peak_bytes() or 0) / 2**20,
        "max_single_rss_mb": usage.ru_maxrss / 1024,
        "max_processes": peaks["processes"],
        "oom_kills": cgroup.oom_kills(),
        "largest_processes": [
            f"{rss / 2**20:.0f} MB ({anon / 2**20:.0f} MB anonymous) {name}"
            for rss, anon, name in sorted(per_process.values(), reverse=True)[:4]
        ],
    }


# ------------------------------------------------------------------ the steps


def run_setup(root: Path, work: Path) -> dict:
    """setup.sh as Gradescope runs it (as root, in /autograder/source); its seconds and the venv's size."""
    shutil.copy2("/etc/resolv.conf", root / "etc" / "resolv.conf")
    env = dict(CHROOT_ENV)
    host_ca = os.environ.get("PIP_CERT")
    if host_ca and Path(host_ca).is_file():
        # this machine reaches PyPI through a TLS proxy with its own CA; Gradescope's image needs no such thing
        shutil.copy2(host_ca, root / "etc" / "kit-check-ca.crt")
        env["PIP_CERT"] = "/etc/kit-check-ca.crt"
    log("running setup.sh in the root (downloads the pinned wheels)")
    with Mounts(root):
        start = time.perf_counter()
        with open(work / "setup.log", "wb") as output:
            done = subprocess.run(
                ["chroot", str(root), "/bin/bash", "-c", "cd /autograder/source && bash ./setup.sh"],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
            )
        seconds = time.perf_counter() - start
    print((work / "setup.log").read_text()[-3000:])
    if done.returncode != 0:
        raise CheckError(f"setup.sh exited with status {done.returncode}; see {work / 'setup.log'}.")
    du = subprocess.run(["du", "-sm", str(root / "opt" / "kit-venv")], capture_output=True, text=True, check=True)
    return {"setup_s": seconds, "venv_mb": int(du.stdout.split()[0])}


def build_package(out: Path, assignment: str) -> Path:
    run([sys.executable, "-m", "kit", "grade", "--package", str(out), "--assignment", assignment], cwd=REPO)
    return out


def correct_submission(folder: Path, assignment: str) -> list[str]:
    """A correct submission: the homework's reference homework.py, else the solution's entry file.

    Returns the other files the assignment accepts that the caller must add (e.g. model.keras).
    """
    sys.path.insert(0, str(REPO))
    from kit.assignments import get

    manifest = get(assignment)
    source = REFERENCE if assignment == "fashion_mnist" else manifest.solution_dir / manifest.entry
    shutil.copy2(source, folder / manifest.entry)
    return [name for name in manifest.files if name.endswith(".keras")]


def train_model(out: Path) -> Path:
    """model.keras from the kit's smoke preset: enough for the model check to load and score it."""
    run_dir = out.parent / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run([sys.executable, "-m", "kit", "train", "--preset", "smoke", "--out", str(run_dir)], cwd=REPO)
    shutil.copy2(run_dir / "model.keras", out)
    return out


def check_results(path: Path) -> dict:
    """results.json as Gradescope reads it; every code check at full marks (the model earns what it earns)."""
    try:
        results = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CheckError(f"{path} is missing or not JSON ({error}); see the run_autograder log.") from None
    tests = results.get("tests", [])
    if not tests:
        raise CheckError(f"{path} has no tests: the grader failed ({results.get('output', '')[:300]}).")
    short = [t for t in tests if "model" not in t.get("name", "").lower() and t.get("score") != t.get("max_score")]
    if short:
        names = ", ".join(f"{t['name']} {t.get('score')}/{t.get('max_score')}" for t in short)
        raise CheckError(f"the correct submission lost points on: {names}; see {path}.")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/kit-gradescope-check"), help="working folder")
    parser.add_argument(
        "--suite",
        default="bookworm",
        help="release of the root: jammy (Ubuntu 22.04, Gradescope's) or bookworm (Debian 12)",
    )
    parser.add_argument("--keyring", default=UBUNTU_KEYRING, help="Ubuntu's archive keyring (Ubuntu suites only)")
    parser.add_argument("--model", type=Path, help="model.keras to submit (default: train one, smoke preset)")
    parser.add_argument("--memory-max", help="memory limit for run_autograder, e.g. 3G (cgroup; default none)")
    parser.add_argument("--cpus", type=float, help="CPU limit for run_autograder, e.g. 1.0 (cgroup quota)")
    parser.add_argument(
        "--reuse-root", action="store_true", help="keep the last run's root (and its venv, if setup.sh finished)"
    )
    parser.add_argument(
        "--override", help="submit the reference with this tests/grading/submissions override (e.g. attacks/memory)"
    )
    parser.add_argument(
        "--no-wait-for-lock",
        dest="wait_for_lock",
        action="store_false",
        help=f"do not wait for {GRADING_LOCK} (safe: the root's grader uses uids older graders never touch)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds run_autograder may take")
    parser.add_argument("--assignment", default="fashion_mnist", help="the assignment whose package is checked")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise CheckError("run this as root: it builds an operating-system root and chroots into it.")
    memory_max = None
    if args.memory_max:
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        text = args.memory_max.upper().rstrip("B")
        memory_max = int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)

    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    root = work / "root"
    figures = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus_on_machine": os.cpu_count()}
    package = build_package(work / "autograder.zip", args.assignment)
    figures["package_mb"] = package.stat().st_size / 2**20
    log(f"package {package}: {figures['package_mb']:.1f} MB")

    installed = any(root.glob("opt/kit-venv/lib/python3*/site-packages/keras"))
    if args.reuse_root and root.exists():
        log(f"reusing {root}; replacing /autograder from the new zip")
        old_requirements = root / "autograder" / "source" / "requirements-grading.txt"
        if (
            not old_requirements.exists()
            or old_requirements.read_text() != (REPO / "requirements-grading.txt").read_text()
        ):
            installed = False  # the venv was made from other requirements: setup.sh again
        if (root / "autograder").exists():
            remove_tree(root / "autograder")
    else:
        log(f"making a fresh {args.suite} root in {root} (mmdebstrap, minbase)")
        figures["debootstrap_s"] = make_root(root, args.suite, args.keyring)
    unpack(package, root)
    if not (args.reuse_root and installed):
        figures.update(run_setup(root, work))

    submission = root / "autograder" / "submission"
    submission.mkdir(exist_ok=True)
    models = ["model.keras"]
    if args.override:  # e.g. attacks/memory: what a student sees when their code misbehaves under the limits
        sys.path.insert(0, str(REPO / "tests" / "grading"))
        from helpers import make_submission

        make_submission(submission, args.override)
    else:
        models = correct_submission(submission, args.assignment)
    if models:
        model = args.model or work / "model.keras"
        if not model.exists():
            log("training a model.keras for the submission (smoke preset)")
            train_model(model)
        shutil.copy2(model, submission / models[0])

    log(
        "running run_autograder (no network"
        + (f", memory limit {args.memory_max}" if args.memory_max else "")
        + (f", {args.cpus} CPUs" if args.cpus else "")
        + ")"
    )
    # graders inside and outside the root claim sandbox uids with lock files in this folder: share it,
    # so that they never pick the same uid (the root's uids are the host's). Graders older than the
    # uid claims always use the first two uids and kill every process of them: hold those two here,
    # so that the grader in the root takes others.
    UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
    held = []
    for uid in (SANDBOX_UID_BASE, SANDBOX_UID_BASE + 1):
        handle = open(UID_LOCKS / f"uid-{uid}.lock", "a")
        fcntl.flock(handle, fcntl.LOCK_EX)
        held.append(handle)
    with Mounts(root, extra_binds=(str(UID_LOCKS),)), Cgroup(memory_max, args.cpus) as cgroup:
        command = ["unshare", "--net", "chroot", str(root), "/autograder/run_autograder"]
        with open(GRADING_LOCK, "a") as lock:
            # the machine's convention while old graders are about; waiting for it is not part of the figures
            if args.wait_for_lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
            figures.update(run_measured(command, cgroup, work / "run_autograder.log", args.timeout))
    for handle in held:
        handle.close()
    print((work / "run_autograder.log").read_text()[-4000:])
    results_path = root / "autograder" / "results" / "results.json"
    if args.override:
        results = json.loads(results_path.read_text())
        for test in results.get("tests", []):
            if test.get("score") != test.get("max_score"):
                log(f"{test['name']}: {test.get('score')}/{test.get('max_score')}: {test.get('output', '')[:400]!r}")
    else:
        results = check_results(results_path)
    figures["score"] = results["score"]
    figures["max_score"] = sum(t.get("max_score", 0) for t in results.get("tests", []))
    figures["submission"] = args.override or "reference"
    figures["memory_limit"] = args.memory_max or "none"
    figures["cpu_limit"] = args.cpus or "none"
    (work / "figures.json").write_text(json.dumps(figures, indent=2))
    log("figures: " + json.dumps(figures, indent=2))
    log(f"OK: results.json scored {results['score']} / {figures['max_score']} ({work / 'figures.json'})")
    return 0


def _terminate(signum, frame):
    raise SystemExit(f"gradescope-check stopped by signal {signum}")  # so that the mounts and cgroup are undone


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        sys.exit(main())
    except CheckError as error:
        print(f"gradescope-check failed: {error}", file=sys.stderr)
        sys.exit(1)
    except subprocess.CalledProcessError as error:
        print(
            f"gradescope-check failed: `{' '.join(map(str, error.cmd))}` exited with {error.returncode}.",
            file=sys.stderr,
        )
        sys.exit(1)
