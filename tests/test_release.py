"""`python -m kit release`: the student repository holds no solutions, no hidden tests, no solution text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kit.assign import (
    HIDDEN_TESTS,
    assign,
    find_leaks,
    find_regions,
    release,
    release_files,
    solution_lines,
    strip_generated_header,
)

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.skipif(not (ROOT / "solutions").is_dir(), reason="needs solutions/ (instructor repository only)"),
    pytest.mark.slow,  # writes whole releases and collects their test suite
]


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "student"
    process = subprocess.run(
        [sys.executable, "-m", "kit", "release", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert process.returncode == 0, process.stderr
    return out


def test_release_has_the_student_repository(released):
    for path in (
        "README.md",
        "requirements.txt",
        "Makefile",
        "pyproject.toml",
        ".ci/run",
        "kit/cli.py",
        "kit/assignments.py",
        "assignments/fashion_mnist/runner.py",
        "assignments/fashion_mnist/checks.py",
        "assignments/fashion_mnist/assignment.yml",
        "tests/conftest.py",
        "datasets/README.md",
    ):
        assert (released / path).is_file(), path
    for name in ("homework.py", "README.md", "README.ru.md", "notebook.py", "notebook.ipynb"):
        # the student's copy is the generated one without its "GENERATED, do not edit" line
        assert (released / "assignments" / "fashion_mnist" / name).read_text(
            encoding="utf-8"
        ) == strip_generated_header((ROOT / "assignments" / "fashion_mnist" / name).read_text(encoding="utf-8"))
    assert len(list((released / "tests").glob("test_*.py"))) >= 1


def test_release_has_no_solutions_hidden_tests_or_data(released):
    files = [p.relative_to(released).as_posix() for p in released.rglob("*") if p.is_file()]
    assert not (released / "solutions").exists()
    assert not (released / "tests" / "grading").exists() and not list((released / "tests").glob("test_grade*.py"))
    assert not any(f.endswith((".gz", ".npz", ".keras", ".pyc")) or "__pycache__" in f for f in files)
    # the visible rubric ships (kit check runs it); the hidden checks do not, nor any of their inputs
    from kit.assignments import available
    from kit.grading import load_rubric

    assert sorted(f for f in files if Path(f).name.startswith("rubric") and not f.startswith("kit/")) == [
        f"assignments/{name}/rubric.py" for name in available()
    ]
    texts = "\n".join(p.read_text(encoding="utf-8", errors="ignore") for p in released.rglob("*") if p.is_file())
    for assignment in available():
        hidden = [c for c in load_rubric(assignment, hidden=True).checks if c.visibility == "hidden"]
        assert hidden
        for check in hidden:
            assert check.id not in texts and check.message not in texts, check.id
            if "seed" in check.params:
                assert f"seed={check.params['seed']}" not in texts
    for test in (released / "tests").glob("*.py"):  # a test that needs solutions/ is left out
        text = test.read_text()
        assert "solutions/" not in text and '"solutions"' not in text, test.name
    # the instructor's own tests of solutions and of this release are not shipped
    assert (
        not (released / "tests" / "test_homework.py").exists() and not (released / "tests" / "test_release.py").exists()
    )


def test_no_solution_code_anywhere_in_the_release(released):
    lines = solution_lines(ROOT / "solutions")
    assert len(lines) >= 30  # the check has something to find: the homework's regions' code lines
    assert "np.add.at(cm, (y_true, y_pred), 1)" in lines
    assert find_leaks(released, lines) == []
    # a copy of an answer is found, e.g. f1_scores' body pasted into a released file
    regions = find_regions((ROOT / "solutions" / "fashion_mnist" / "homework.py").read_text(), "homework.py")
    (released / "copied.py").write_text("x = 1\n" + "\n".join(regions[-2].code) + "\n")
    try:
        assert {leak.split(":")[0] for leak in find_leaks(released, lines)} == {"copied.py"}
    finally:
        (released / "copied.py").unlink()


def test_the_release_is_a_students_repository(released):
    readme = (released / "README.md").read_text(encoding="utf-8")
    assert readme == (ROOT / "docs" / "student" / "README.md").read_text(encoding="utf-8")
    for needed in ("make setup", "make run PRESET=smoke", "make check", "What to submit", "How it is scored"):
        assert needed in readme, needed
    for instructor in ("For the instructor", "make release", "make assign", "vgg_mini", "AdamW", "solutions/"):
        assert instructor not in readme, instructor
    assert not (released / "docs" / "student").exists()
    grading = (released / "docs" / "grading.md").read_text(encoding="utf-8")
    assert grading == (ROOT / "docs" / "student" / "grading.md").read_text(encoding="utf-8")
    assert "Hidden checks" in grading  # said to exist, in general words; none of their inputs
    for secret in ("9101", "9105", "9107", "9108", "seed", "int32", "7 classes", "probe"):
        assert secret not in grading, secret
    makefile = (released / "Makefile").read_text(encoding="utf-8")
    assert "\nrun:" in makefile and "\ncheck:" in makefile and "\ntest:" in makefile
    assert "\ngrade:" not in makefile and "\nassign:" not in makefile and "\nrelease:" not in makefile
    assert "instructor only" not in makefile
    homework = (released / "assignments" / "fashion_mnist" / "homework.py").read_text(encoding="utf-8")
    assert "GENERATED" not in homework and "do not edit" not in homework.lower()
    assert homework.startswith('"""The Fashion-MNIST homework: the functions you write')
    for name in ("README.md", "README.ru.md"):
        text = (released / "assignments" / "fashion_mnist" / name).read_text(encoding="utf-8")
        assert "GENERATED" not in text.splitlines()[0]


def test_in_the_release_the_runner_defaults_to_assignments(released):
    code = (
        "from kit.assignments import get; runner = get('fashion_mnist').load_runner(); "
        "print(runner.default_impl(), runner.resolve_impl())"
    )
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=released)
    assert process.returncode == 0, process.stderr
    impl, path = process.stdout.split()
    assert (
        impl == "assignments" and Path(path) == (released / "assignments" / "fashion_mnist" / "homework.py").resolve()
    )


def test_release_test_suite_collects_without_solutions(released):
    process = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        cwd=released,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        timeout=600,
    )
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert "error" not in process.stdout.lower().splitlines()[-1]


def test_leaks_are_found_and_the_release_refuses_to_write_them(tmp_path):
    root = tmp_path / "repo"
    (root / "solutions" / "hw").mkdir(parents=True)
    (root / "solutions" / "hw" / "homework.py").write_text(
        "def f(x):\n    # BEGIN SOLUTION\n    return sorted(set(x), key=lambda item: -item)\n    # END SOLUTION\n"
    )
    assign(root / "solutions" / "hw", root / "assignments" / "hw")
    (root / "kit").mkdir()
    (root / "kit" / "helper.py").write_text("def g(x):\n    return sorted(set(x), key=lambda item: -item)\n")  # a copy
    (root / "README.md").write_text("# repo\n")
    with pytest.raises(ValueError, match="solution text would leak.*kit/helper.py:2"):
        release(tmp_path / "out", root=root)
    assert not (tmp_path / "out").exists()
    (root / "kit" / "helper.py").write_text("y = 1\n")
    files = release(tmp_path / "out", root=root)
    assert "kit/helper.py" in files and "assignments/hw/homework.py" in files
    assert find_leaks(tmp_path / "out", solution_lines(root / "solutions")) == []
    with pytest.raises(ValueError, match="not empty"):
        release(tmp_path / "out", root=root)


def test_release_refuses_stale_assignments(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(
        ROOT / "solutions" / "fashion_mnist",
        root / "solutions" / "fashion_mnist",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    assign(root / "solutions" / "fashion_mnist", root / "assignments" / "fashion_mnist")
    with open(root / "solutions" / "fashion_mnist" / "README.md", "a") as handle:
        handle.write("\nOne more line.\n")
    with pytest.raises(ValueError, match="out of date.*README.md.*make assign"):
        release(tmp_path / "out", root=root)


def test_hidden_test_patterns_and_solution_detection(tmp_path):
    root = tmp_path / "repo"
    (root / "assignments").mkdir(parents=True)
    (root / "tests" / "grading").mkdir(parents=True)
    for name, text in {
        "conftest.py": "",
        "test_public.py": "def test(): pass\n",
        "test_grade_rubric.py": "",
        "grading/test_hidden.py": "",
        "test_uses_solution.py": "P = ROOT / 'solutions' / 'fashion_mnist'\n",
    }.items():
        (root / "tests" / name).write_text(text)
    assert sorted(f for f in release_files(root) if f.startswith("tests/")) == [
        "tests/conftest.py",
        "tests/test_public.py",
    ]
    assert "tests/grading/*" in HIDDEN_TESTS


# --------------------------------------------------------------------------- a student's walk through the release
def _student(release_dir: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(command),
        capture_output=True,
        text=True,
        cwd=release_dir,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        timeout=900,
    )


# The venv's Python by its own path: the grader's sandbox user must be able to read the runtime, and
# pytest's tmp folder (0700) is not readable to it (the grader says so and grades nothing).
PY = f"PY={ROOT / '.venv' / 'bin' / 'python'}"


@pytest.fixture(scope="module")
def student_repo(tmp_path_factory):
    """A fresh release, set up as a student's: .venv (the kit's own, linked: installing TensorFlow again
    would take minutes and the network) and the data check of `make data`."""
    out = tmp_path_factory.mktemp("walk") / "homework"
    release(out)
    (out / ".venv").symlink_to(ROOT / ".venv")
    # -o setup: .venv is there already (make setup would pip install requirements.txt into it)
    process = _student(out, "make", "-o", "setup", "data", PY)
    assert process.returncode == 0, process.stdout + process.stderr
    return out


@pytest.mark.grading
@pytest.mark.slow
def test_a_student_checks_the_stubs_then_a_filled_in_homework(student_repo):
    import json

    import keras

    # 1. the stubs, as released: every visible check listed, 0 points, and what to fix
    process = _student(student_repo, "make", "-o", "setup", "check", "OUT=stubs.json", PY)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    stubs = json.loads((student_repo / "stubs.json").read_text())
    assert stubs["score"] == 0 and len(stubs["tests"]) == 10
    assert {t["visibility"] for t in stubs["tests"]} == {"visible"}
    assert "Visible checks: 0 / 100 points" in process.stdout
    assert all("not implemented yet" in t["output"] for t in stubs["tests"] if t["name"].startswith("Step 1"))
    assert " ".join(process.stdout.split()).count("not implemented yet") >= 8  # the table says it (wrapped)
    assert "no model.keras" in process.stdout and "cp runs/homework/best/model.keras" in process.stdout

    # 2. filled in (the instructor's answers) with a small model.keras
    folder = student_repo / "assignments" / "fashion_mnist"
    (folder / "homework.py").write_text((ROOT / "solutions" / "fashion_mnist" / "homework.py").read_text())
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )
    model.save(folder / "model.keras")
    process = _student(student_repo, "make", "-o", "setup", "check", "OUT=filled.json", PY)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    filled = json.loads((student_repo / "filled.json").read_text())
    scores = {t["name"]: (t["score"], t["max_score"]) for t in filled["tests"]}
    assert scores.pop("Step 7: your model's macro-F1 on the test set") == (5, 25)  # valid, below 0.88
    assert all(score == top for score, top in scores.values()), scores
    assert "Visible checks: 80 / 100 points" in process.stdout


def test_the_released_notebook_runs_top_to_bottom_on_the_smoke_preset(student_repo, tmp_path, run_student_notebook):
    """notebook.ipynb in the student's folder, executed by a Jupyter kernel (nbclient) beside a filled-in homework."""
    homework = (ROOT / "solutions" / "fashion_mnist" / "homework.py").read_text()
    text = run_student_notebook(student_repo / "assignments" / "fashion_mnist", student_repo / "kit", homework)
    assert "confusion matrix equal to scikit-learn's: True" in text
    assert "largest difference with shared weights: 0.0" in text
    for name in ("cnn_sequential", "cnn_inception", "best", "dataset"):
        assert (tmp_path / "out" / name).is_dir()
