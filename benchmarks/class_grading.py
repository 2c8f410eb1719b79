"""How long does a class take? ``kit class grade`` on a mixed class, timed with --jobs 1 and 2.

Builds a class of ``--students`` submissions (default 40) of the Fashion-MNIST homework, mixed
as a real one is: correct answers with a valid model file, typical mistakes (each of the grader
tests' mutated submissions in turn), copies of a classmate (comments changed, the same model),
and broken ones (a file that does not parse, nothing handed in). Then, for each ``--jobs``
value, runs ``python -m kit class grade`` into a fresh folder as a child process and measures:
wall time, time per submission, CPU time of the whole process tree, and peak memory (the sum of
every process's anonymous memory, ``RssAnon``, sampled from /proc every 0.2 s; TensorFlow's
shared libraries are not counted once per process, as RSS would). It ends with the figures as
a markdown table, a projection to 300 students, and ``OUT/benchmark.json``.

    python benchmarks/class_grading.py --out runs/class_benchmark        # 40 submissions, --jobs 1 and 2
    python benchmarks/class_grading.py --students 3 --jobs 1 --checks confusion_matrix --out /tmp/b  # wiring check

Grading is CPU-bound: run it on a quiet machine (docs/grading.md, "A class at once", has the figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HELPERS = ROOT / "tests" / "grading" / "helpers.py"
if not HELPERS.is_file():
    sys.exit("error: this benchmark builds its class from tests/grading/ (the instructor repository, not the release).")

from kit.assignments import load_module  # noqa: E402

# by path: tests/grading is a namespace package, and a module named grading may stand earlier on sys.path
_helpers = load_module(HELPERS, "grading_helpers")
SUBMISSIONS, make_submission, save_model = _helpers.SUBMISSIONS, _helpers.make_submission, _helpers.save_model

MUTATIONS = sorted(p.name for p in SUBMISSIONS.iterdir() if p.is_dir() and p.name not in ("reference", "attacks"))


def build_class(folder: Path, students: int) -> dict[str, int]:
    """``students`` submission folders: 40 % correct, 35 % mutated, 15 % copies, 10 % broken; returns the mix."""
    folder.mkdir(parents=True, exist_ok=True)
    kinds = {"correct": 0, "mutated": 0, "copied": 0, "broken": 0}
    plan = (["correct"] * 8 + ["mutated"] * 7 + ["copied"] * 3 + ["broken"] * 2) * (students // 20 + 1)
    plan = ["correct", "mutated", "copied", "broken"] + plan  # every kind even in a tiny class
    for number, kind in enumerate(plan[:students]):
        student = folder / f"student_{number:03d}"
        if kind == "correct":
            make_submission(student)
            save_model(student / "model.keras", "softmax")
        elif kind == "mutated":
            make_submission(student, MUTATIONS[kinds["mutated"] % len(MUTATIONS)])
        elif kind == "copied":
            source = folder / "student_000"
            student.mkdir()
            text = (source / "homework.py").read_text().replace("# ---", "# copied ---")
            (student / "homework.py").write_text(text)
            shutil.copyfile(source / "model.keras", student / "model.keras")
        else:
            student.mkdir()
            if kinds["broken"] % 2 == 0:
                (student / "homework.py").write_text("def confusion_matrix(:\n")
            else:
                (student / "report.md").write_text("I could not finish.")
        kinds[kind] += 1
    return kinds


def _tree(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def _anonymous_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def run(source: Path, out: Path, jobs: int, checks: list[str] | None, hidden: bool = False) -> dict:
    """One ``kit class grade`` run: wall, CPU and peak anonymous memory of its process tree."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "kit", "class", "grade", str(source), "--out", str(out)]
    command += ["--assignment", "fashion_mnist", "--jobs", str(jobs)] + (["--checks", *checks] if checks else [])
    command += [] if hidden else ["--visible"]  # the docs' figures: the visible checks
    log = out.with_suffix(".log")
    started = time.monotonic()
    with open(log, "w") as handle:
        child = subprocess.Popen(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
    peak = {"anonymous_mb": 0.0, "processes": 0}
    done = threading.Event()

    def sample():
        while not done.is_set():
            pids = _tree(child.pid)
            peak["anonymous_mb"] = max(peak["anonymous_mb"], _anonymous_mb(pids))
            peak["processes"] = max(peak["processes"], len(pids))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - started
    done.set()
    sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    output = log.read_text(errors="replace")
    results = sorted(out.glob("results/*/grading.json"))
    seconds = [json.loads(p.read_text())["seconds"] for p in results]
    return {
        "jobs": jobs,
        "exit_status": os.waitstatus_to_exitcode(status),
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "graded": len(results),
        "wall_per_submission_s": round(wall / max(len(results), 1), 1),
        "mean_grading_s": round(sum(seconds) / max(len(seconds), 1), 1),
        "peak_anonymous_mb": round(peak["anonymous_mb"]),
        "peak_processes": peak["processes"],
        "summary": next((line for line in output.splitlines() if line.startswith("graded ")), ""),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--checks", nargs="+", help="grade only these checks (a wiring check, not the figure)")
    parser.add_argument("--hidden", action="store_true", help="every check, as kit class grade does by default")
    parser.add_argument("--out", default="runs/class_benchmark")
    args = parser.parse_args(argv)
    out = Path(args.out)
    source = out / "class"
    shutil.rmtree(source, ignore_errors=True)
    mix = build_class(source, args.students)
    print(f"class of {args.students}: {mix}")
    runs = []
    for jobs in args.jobs:
        figures = run(source, out / f"jobs{jobs}", jobs, args.checks, args.hidden)
        runs.append(figures)
        print(json.dumps(figures))
    names = [
        line.split(":", 1)[1].strip()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("model name")
    ]
    cpu = names[0] if names else platform.processor()
    print(f"\n{args.students} submissions, {os.cpu_count()} CPU(s): {cpu}\n")
    print("| --jobs | wall | per submission | CPU | peak anonymous memory | 300 students (projected) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        projected = r["wall_per_submission_s"] * 300 / 3600
        print(
            f"| {r['jobs']} | {r['wall_s'] / 60:.1f} min | {r['wall_per_submission_s']:.1f} s "
            f"| {r['cpu_s'] / 60:.1f} min | {r['peak_anonymous_mb']:,} MB | {projected:.1f} h |"
        )
    record = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "students": args.students,
        "mix": mix,
        "checks": args.checks,
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "runs": runs,
    }
    (out / "benchmark.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nwrote {out / 'benchmark.json'}")
    return 0 if all(r["graded"] == args.students for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
