"""`python -m kit release`: the student repository holds no solutions, no hidden tests, no solution text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kit.assign import HIDDEN_TESTS, assign, find_leaks, release, release_files, solution_lines

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
        "kit/homework.py",
        "tests/conftest.py",
        "datasets/README.md",
    ):
        assert (released / path).is_file(), path
    for name in ("homework.py", "README.md", "README.ru.md", "notebook.py"):
        assert (released / "assignments" / "fashion_mnist" / name).read_bytes() == (
            ROOT / "assignments" / "fashion_mnist" / name
        ).read_bytes()
    assert len(list((released / "tests").glob("test_*.py"))) >= 1


def test_release_has_no_solutions_hidden_tests_or_data(released):
    files = [p.relative_to(released).as_posix() for p in released.rglob("*") if p.is_file()]
    assert not (released / "solutions").exists()
    assert not (released / "tests" / "grading").exists() and not list((released / "tests").glob("test_grade*.py"))
    assert not any(f.endswith((".gz", ".npz", ".keras", ".pyc")) or "__pycache__" in f for f in files)
    # the visible rubric ships (kit check runs it); the hidden checks do not, nor any of their inputs
    assert [f for f in files if Path(f).name.startswith("rubric") and not f.startswith("kit/")] == [
        "assignments/fashion_mnist/rubric.py"
    ]
    from kit.grading import load_rubric

    hidden = [c for c in load_rubric("fashion_mnist", hidden=True).checks if c.visibility == "hidden"]
    assert hidden
    texts = "\n".join(p.read_text(encoding="utf-8", errors="ignore") for p in released.rglob("*") if p.is_file())
    for check in hidden:
        assert check.id not in texts and check.message not in texts, check.id
        assert f"seed={check.params['seed']}" not in texts
    for test in (released / "tests").glob("*.py"):  # a test that needs solutions/ is left out
        text = test.read_text()
        assert "solutions/" not in text and '"solutions"' not in text, test.name
    # the instructor's own tests of solutions and of this release are not shipped
    assert (
        not (released / "tests" / "test_homework.py").exists() and not (released / "tests" / "test_release.py").exists()
    )


def test_no_solution_code_line_anywhere_in_the_release(released):
    lines = solution_lines(ROOT / "solutions")
    assert len(lines) >= 30  # the check has something to find: the homework's regions' code lines
    assert "np.add.at(cm, (y_true, y_pred), 1)" in lines
    leaks = []  # a released line that is, stripped, a solution code line (hints in the stubs are not code lines)
    for path in released.rglob("*"):
        if path.is_file():
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="ignore").splitlines(), start=1):
                if line.strip() in lines:
                    leaks.append(f"{path.relative_to(released)}:{number}: {line.strip()}")
    assert leaks == []
    assert find_leaks(released, lines) == []


def test_in_the_release_the_runner_defaults_to_assignments(released):
    code = "from kit.homework import default_impl, resolve_impl; print(default_impl(), resolve_impl())"
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
