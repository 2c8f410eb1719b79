"""The student's kit: installed with pip (the wheel), in the release (its commands), and `make data`'s one line.

The wheel is built from pyproject.toml as `pip install .` builds it, installed into a fresh
virtual environment outside the repository, and run from there on a course folder (an
assignment folder as the release ships it). To stay fast and offline, that environment takes the
kit's dependencies from .venv (a .pth line; the repository itself is never on its path) and the
kit from the wheel alone (`pip install --no-deps`); a test checks those installed versions satisfy
the wheel's declared dependencies.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from kit.cli import INSTRUCTOR_COMMANDS

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = ROOT / "assignments" / "fashion_mnist"
STUDENT_COMMANDS = ("data", "train", "homework", "check", "lab")


def _run(command: list[str], cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    process = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)
    assert process.returncode == 0, f"{command}: {process.stdout[-3000:]}{process.stderr[-3000:]}"
    return process


def _listed_commands(help_text: str) -> set[str]:
    """The command names `python -m kit --help` lists (the indented first words under COMMAND)."""
    block = help_text.split("COMMAND\n", 1)[1].split("\noptions:", 1)[0]
    return {line.split()[0] for line in block.splitlines() if line.startswith("    ") and not line.startswith("     ")}


# --------------------------------------------------------------------------- the release's commands
def test_help_lists_the_instructors_commands_only_beside_solutions(tmp_path):
    """The instructor's repository lists assign, release, grade, class; a kit without solutions/ beside it does not."""
    if (ROOT / "solutions").is_dir():
        here = _listed_commands(_run([sys.executable, "-m", "kit", "--help"], ROOT).stdout)
        assert set(INSTRUCTOR_COMMANDS) | set(STUDENT_COMMANDS) <= here

    release = tmp_path / "student"  # the release's layout: kit/ without solutions/ beside it
    shutil.copytree(ROOT / "kit", release / "kit", ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    listed = _listed_commands(_run([sys.executable, "-m", "kit", "--help"], release, env).stdout)
    assert set(STUDENT_COMMANDS) <= listed
    assert not listed & set(INSTRUCTOR_COMMANDS), listed


def test_make_data_says_in_one_line_what_it_found_where():
    from kit.data import find_data_dir

    source, folder = find_data_dir()
    process = _run(["make", "-s", "-o", "setup", "data"], ROOT)
    assert process.stdout == f"Fashion-MNIST: verified files in {folder} ({source})\n"


@pytest.mark.slow
def test_kit_release_ends_by_naming_the_students_commands(tmp_path):
    if not (ROOT / "solutions").is_dir():
        pytest.skip("needs solutions/ (instructor repository only)")
    out = tmp_path / "student"
    process = _run([sys.executable, "-m", "kit", "release", str(out)], ROOT)
    last = process.stdout.strip().splitlines()[-1]
    assert "make check" in last and "make run" in last and "make test" not in last
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    listed = _listed_commands(_run([sys.executable, "-m", "kit", "--help"], out, env).stdout)
    assert set(STUDENT_COMMANDS) <= listed and not listed & set(INSTRUCTOR_COMMANDS)


# --------------------------------------------------------------------------- the wheel
@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """`pip wheel .` of the kit, from a copy of what pyproject.toml names (the build writes build/ beside it)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.gz", "*.npz")
    for name in ("kit", "datasets"):
        shutil.copytree(ROOT / name, source / name, ignore=junk)
    out = tmp_path_factory.mktemp("wheel")
    # offline: the setuptools of .venv (requirements.txt pins it), no isolated build environment to download
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), "."], source)
    (found,) = out.glob("*.whl")
    return found


@pytest.mark.slow
def test_the_wheel_carries_the_whole_kit(wheel):
    """Every file of kit/ (every package, the Gradescope templates, the labs' notebooks) and the data manifest."""
    names = set(zipfile.ZipFile(wheel).namelist())
    kit_files = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "kit").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert kit_files - names == set()
    assert {"kit/grading/worker.py", "kit/grading/templates/setup.sh", "kit/labs/notebooks/batchnorm.ipynb"} <= names
    manifest = zipfile.ZipFile(wheel).read("kit/_datasets/fashion-mnist/SHA256SUMS")
    assert manifest == (ROOT / "datasets" / "fashion-mnist" / "SHA256SUMS").read_bytes()


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, dict]:
    """A fresh venv outside the repository with the wheel installed: (its python, the environment to run it in)."""
    venv = tmp_path_factory.mktemp("venv") / "kit-venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], venv.parent)
    python = venv / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run([str(python), "-c", purelib], venv).stdout.strip())
    (site / "kit_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # .venv's packages, not kit
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)], venv.parent)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KIT_DATA_DIR")}
    from kit.data import find_data_dir

    source, folder = find_data_dir()
    if source == "datasets/fashion-mnist":  # the repository's own copy: the installed kit is told where it is
        env["KIT_DATA_DIR"] = str(folder)
    return python, env


CHECK_DEPENDENCIES = """
from importlib import metadata
from packaging.requirements import Requirement

import kit

print(kit.__file__)
for line in metadata.requires("fashion-mnist-kit"):
    requirement = Requirement(line)
    version = metadata.version(requirement.name)
    assert requirement.specifier.contains(version, prereleases=True), f"{requirement} but {version} is installed"
"""


@pytest.mark.slow
def test_the_installed_kit_is_the_wheels_and_its_dependencies_are_met(installed, tmp_path):
    python, env = installed
    where = _run([str(python), "-c", CHECK_DEPENDENCIES], tmp_path, env).stdout.strip()
    assert Path(where).is_relative_to(python.parent.parent), where  # the wheel's kit, not the repository's


@pytest.mark.slow
@pytest.mark.grading
def test_the_installed_kit_checks_data_lists_labs_and_grades_a_released_assignment(installed, tmp_path):
    """`kit data --check`, `lab --list`, `--help` and `check` run from the installed kit, `check` on a course folder."""
    if not (ROOT / "solutions").is_dir():
        pytest.skip("needs solutions/ (a filled-in homework.py)")
    import keras

    python, env = installed
    outside = tmp_path / "anywhere"
    outside.mkdir()
    summary = _run([str(python), "-m", "kit", "data", "--check", "--summary"], outside, env).stdout
    assert summary.startswith("Fashion-MNIST: verified files in ")
    labs = _run([str(python), "-m", "kit", "lab", "--list"], outside, env).stdout
    assert labs.splitlines()[0].split()[0] == "batchnorm" and len(labs.splitlines()) >= 10
    listed = _listed_commands(_run([str(python), "-m", "kit", "--help"], outside, env).stdout)
    assert set(STUDENT_COMMANDS) <= listed and not listed & set(INSTRUCTOR_COMMANDS)

    # a course folder as a student has it: the released assignment, filled in, with a small model.keras
    course = tmp_path / "course"
    folder = course / "assignments" / "fashion_mnist"
    shutil.copytree(ASSIGNMENT, folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "solutions" / "fashion_mnist" / "homework.py", folder / "homework.py")
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )
    model.save(folder / "model.keras")
    process = _run(
        [str(python), "-m", "kit", "check", "assignments/fashion_mnist", "--out", "results.json"], course, env, 900
    )
    results = json.loads((course / "results.json").read_text())
    scores = {test["name"]: (test["score"], test["max_score"]) for test in results["tests"]}
    model_score, model_top = scores.pop("Step 7: your model's macro-F1 on the test set")
    assert 0 < model_score < model_top  # loaded and scored on the test set (a valid model, far below the bar)
    assert scores and all(score == top for score, top in scores.values()), scores
    got, top = sum(s for s, _ in scores.values()) + model_score, sum(t for _, t in scores.values()) + model_top
    assert f"Visible checks: {got:g} / {top:g} points" in process.stdout
