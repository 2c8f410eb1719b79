"""How long a student waits for `make check`, and Gradescope for a grade: the grader's wall time, measured.

In one run, on this machine (nothing else should run beside it), for the homework's solution with a
CNN-MNIST-sized ``model.keras`` (the lecture's network, 1,199,882 parameters, untrained: scoring
it on the 10,000 test images costs the same as a trained one):

1. the start-up of one ``python -c "import keras"``: the yardstick every sandboxed child pays;
2. grading every visible check (``python -m kit check --no-cache``, in a fresh process);
3. grading every check, hidden ones too (``python -m kit grade --hidden``);
4. a repeated ``python -m kit check`` with nothing changed (answered from the cache);
5. ``python -m kit check`` after one function changed (a comment inside ``confusion_matrix``: the
   per-check cache grades its checks alone; a kit without it grades everything);
6. ``python -m kit class grade`` of ``--class-size`` copies of the submission (every check, hidden
   ones too), per submission (measured once, not in every round: it takes minutes).

Every figure is also given in starts of Keras (its seconds over row 1's, measured in the same run).

``--repo PATH`` measures another checkout of the kit instead (e.g. an older commit in a
``git worktree``: before/after figures on one machine); a kit without the cache grades again in 4.

    python benchmarks/grading.py                      # this checkout, 3 rounds (~3 minutes on 2 cores)
    python benchmarks/grading.py --repo /tmp/kit-old  # the same figures for another checkout
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "fashion_mnist"


def timed(command: list[str], cwd: Path, env: dict, ok: tuple[int, ...] = (0,)) -> float:
    """Wall seconds of one command (it must end with a status in ``ok``)."""
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if finished.returncode not in ok:
        raise SystemExit(f"{' '.join(command)} failed:\n{finished.stdout[-2000:]}\n{finished.stderr[-2000:]}")
    return seconds


def submission(folder: Path, repo: Path) -> Path:
    """The solution's homework.py and an untrained CNN-MNIST model.keras (built by this checkout's Python)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(repo / "solutions" / ASSIGNMENT / "homework.py", folder / "homework.py")
    code = (
        "import keras, sys\n"
        "from keras import layers\n"
        "keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation='relu'),"
        " layers.Conv2D(64, 3, activation='relu'), layers.MaxPooling2D(2), layers.Dropout(0.25),"
        " layers.Flatten(), layers.Dense(128, activation='relu'), layers.Dropout(0.5),"
        " layers.Dense(10, activation='softmax')]).save(sys.argv[1])\n"
    )
    subprocess.run([sys.executable, "-c", code, str(folder / "model.keras")], check=True, capture_output=True)
    return folder


def edit_one_function(path: Path, number: int) -> None:
    """A comment inside ``confusion_matrix`` that differs each time: that function changed, nothing else."""
    head = "def confusion_matrix("
    text = path.read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("    # benchmark edit")) + "\n"
    start = text.index(head)
    body = text.index(":\n", text.index(")", start)) + 2
    path.write_text(text[:body] + f"    # benchmark edit {number}\n" + text[body:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout of the kit to measure (default: this)")
    parser.add_argument("--rounds", type=int, default=3, help="repetitions of each measurement (the median is kept)")
    parser.add_argument("--class-size", type=int, default=4, help="submissions of the class row (0: leave it out)")
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="kit-bench-grading-") as scratch:
        scratch = Path(scratch)
        folder = submission(scratch / "submission", repo)
        env = {**os.environ, "KIT_CACHE_DIR": str(scratch / "cache"), "TF_CPP_MIN_LOG_LEVEL": "2"}
        has_cache = (
            "--no-cache"
            in subprocess.run(
                [python, "-m", "kit", "check", "--help"], cwd=repo, env=env, capture_output=True, text=True
            ).stdout
        )
        takes_assignment = (
            "--assignment"
            in subprocess.run(
                [python, "-m", "kit", "grade", "--help"], cwd=repo, env=env, capture_output=True, text=True
            ).stdout
        )
        named = ["--assignment", ASSIGNMENT] if takes_assignment else []
        check = [python, "-m", "kit", "check", str(folder), *named]
        commands = {
            'python -c "import keras"': [python, "-c", "import keras"],
            "kit check (every visible check, model scored)": [*check, *(["--no-cache"] if has_cache else [])],
            "kit grade --hidden (every check)": [python, "-m", "kit", "grade", str(folder), *named, "--hidden"]
            + ["--out", str(scratch / "results.json")],
            "kit check again, nothing changed": check,
        }
        edited = "kit check after one function changed"
        commands[edited] = check
        if has_cache:
            timed(check, repo, env)  # fills the cache the last rows read
        figures: dict[str, list[float]] = {name: [] for name in commands}
        for round_ in range(args.rounds):  # rounds interleaved: a slow minute of the machine falls on every row
            for name, command in commands.items():
                if name == edited:
                    edit_one_function(folder / "homework.py", round_)
                figures[name].append(timed(command, repo, env))
        if args.class_size:
            klass = scratch / "class"
            for number in range(args.class_size):
                shutil.copytree(folder, klass / f"student{number}")
            grade_class = [python, "-m", "kit", "class", "grade", str(klass), "--out", str(scratch / "graded")]
            grade_class += [*named, "--no-similarity"]
            seconds = timed(grade_class, repo, env, ok=(0, 2))
            figures[f"kit class grade, per submission ({args.class_size})"] = [seconds / args.class_size]
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown CPU")
    print(f"grading wall time, {repo} | {cpu} ({os.cpu_count()} cores) | median of {args.rounds} round(s)")
    keras_start = statistics.median(figures['python -c "import keras"'])
    for name, values in figures.items():
        median = statistics.median(values)
        print(f"{name:<48} {median:7.1f} s  ({median / keras_start:5.1f}x import keras)")
    if not has_cache:
        print("(this checkout has no check cache: the last row grades again)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
