"""`python -m kit check`: the student's self-check gives exactly the autograder's visible scores.

Runs the grader: run this file under the grading lock
(`flock /tmp/kit-grading.lock .venv/bin/python -m pytest tests/test_check.py`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "fashion_mnist"
pytestmark = pytest.mark.skipif(not SOLUTION.is_dir(), reason="needs solutions/ (instructor repository only)")

# The example: Dropout left out of the Sequential CNN. The runner used to say [ok]; the grader gives 0.
NO_DROPOUT = """

def build_cnn_sequential(input_shape=(28, 28, 1), num_classes=10):
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
"""


def _kit(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})},
        timeout=900,
    )


@pytest.fixture(scope="module")
def submission(tmp_path_factory):
    """The solution with the Sequential CNN's Dropout removed, and a tiny (valid, poor) softmax model.keras."""
    import keras

    folder = tmp_path_factory.mktemp("no_dropout")
    (folder / "homework.py").write_text((SOLUTION / "homework.py").read_text() + NO_DROPOUT)
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )
    model.save(folder / "model.keras")
    return folder


@pytest.mark.grading
@pytest.mark.slow
def test_check_scores_equal_the_graders_visible_scores(submission, tmp_path):
    from kit.grading import grade

    process = _kit("check", str(submission), "--assignment", "fashion_mnist", "--out", str(tmp_path / "check.json"))
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    checked = json.loads((tmp_path / "check.json").read_text())
    graded = grade(submission, assignment="fashion_mnist", hidden=True, quiet=True)
    visible = [t for t in graded["tests"] if t["visibility"] != "hidden"]
    assert len(visible) < len(graded["tests"])  # the grader has hidden checks, and check runs none of them
    assert [t["visibility"] for t in checked["tests"]] == ["visible"] * len(visible)

    def key(tests):
        return [(t["name"], t["score"], t["max_score"], t["output"]) for t in tests]

    assert key(checked["tests"]) == key(visible)
    assert checked["score"] == sum(t["score"] for t in visible)
    by_name = {t["name"]: t for t in checked["tests"]}
    assert by_name["Step 3: CNN in the Sequential style"]["score"] == 0  # the missing Dropout is caught
    assert by_name["Step 3: CNN in the functional style"]["score"] == 10
    assert by_name["Step 7: your model's macro-F1 on the test set"]["score"] == 5  # valid model, below 0.88
    # the printed table: every check, its points and what to fix
    lines = process.stdout.splitlines()
    row = next(line for line in lines if line.startswith("Step 3: CNN in the Sequential style"))
    assert "0/10" in row and "layer 4 should be Dropout(0.25)" in row
    assert any(line.startswith("Step 1: dataset_summary") and "10/10" in line and " ok" in line for line in lines)
    assert f"Visible checks: {checked['score']:g} / 100 points" in process.stdout


def test_check_refuses_a_missing_folder_and_writes_nothing(tmp_path):
    process = _kit(
        "check", str(tmp_path / "nope"), "--assignment", "fashion_mnist", "--out", str(tmp_path / "results.json")
    )
    assert process.returncode == 2 and "No folder" in process.stderr and "Traceback" not in process.stderr
    assert not (tmp_path / "results.json").exists()
    (tmp_path / "empty").mkdir()
    process = _kit("check", str(tmp_path / "empty"), "--assignment", "fashion_mnist")
    assert process.returncode == 2 and "has no homework.py" in process.stderr


def test_the_runners_in_process_judges_give_the_graders_verdicts(submission, homework_runner, tmp_path):
    """kit.grading.kinds.judge_in_process: the solution passes every visible check; the missing Dropout fails
    with the grader's own message (the homework runner's [ok] lines come from here)."""
    from kit.grading import load_rubric
    from kit.grading.kinds import NotWritten, judge_in_process

    load_homework = homework_runner.load_homework
    rubric = load_rubric("fashion_mnist", hidden=False)
    checks = [check for check in rubric.checks if rubric.kind(check).needs_entry]
    checks_by_id = {check.id: check for check in checks}
    assert len(checks) == 9
    solution = load_homework(SOLUTION / "homework.py")
    verdicts = {check.id: judge_in_process(solution, check, rubric.kinds) for check in checks}
    assert all(v.passed and v.fraction == 1 for v in verdicts.values()), verdicts
    broken = load_homework(submission / "homework.py")
    verdict = judge_in_process(broken, next(c for c in checks if c.id == "cnn_sequential"), rubric.kinds)
    assert not verdict.passed and verdict.message.startswith("layer 4 should be Dropout(0.25), found Flatten")
    relu_layers = tmp_path / "relu_layers.py"  # the same CNN with linear convolutions and separate ReLU layers
    relu_layers.write_text(
        (SOLUTION / "homework.py").read_text()
        + "\n\ndef build_cnn_sequential(input_shape=(28, 28, 1), num_classes=10):\n"
        "    return keras.Sequential([keras.Input(shape=input_shape), layers.Conv2D(32, 3), layers.ReLU(),\n"
        "        layers.Conv2D(64, 3), layers.Activation('relu'), layers.MaxPooling2D(2), layers.Dropout(0.25),\n"
        "        layers.Flatten(), layers.Dense(128, activation='relu'), layers.Dropout(0.5),\n"
        "        layers.Dense(num_classes), layers.Softmax(dtype='float32')])\n"
    )
    verdict = judge_in_process(load_homework(relu_layers), checks_by_id["cnn_sequential"], rubric.kinds)
    assert verdict.passed and verdict.fraction == 1, verdict.message
    stubs = load_homework(ROOT / "assignments" / "fashion_mnist" / "homework.py")
    with pytest.raises(NotWritten):
        judge_in_process(stubs, checks[0], rubric.kinds)


def test_the_homework_runner_reports_the_graders_verdicts(submission, homework_runner):
    """The issue's case: Dropout left out. The runner said [ok]; now it gives the grader's failure and points."""
    from kit.grading import load_rubric
    from kit.runner import visible_checks

    lines: list[str] = []
    log = homework_runner.StepLog(echo=lines.append)
    homework = homework_runner.load_homework(submission / "homework.py")
    visible_checks(homework, load_rubric("fashion_mnist", hidden=False), log, step=3)  # kit.runner, every runner's
    assert [(r["name"], r["status"]) for r in log.records] == [
        ("build_cnn_sequential", "check failed"),
        ("build_cnn_functional", "ok"),
        ("build_cnn_functional", "ok"),
    ]
    assert lines[0].startswith("[FAIL] step 3: CNN in the Sequential style: layer 4 should be Dropout(0.25)")
    assert lines[0].endswith("(0/10 points)") and lines[1].endswith("passes the autograder's check (10/10 points)")
    assert log.problems == [lines[0][len("[FAIL] ") :]]


# ------------------------------------------------------------------ errors a student can act on, and the cache

SYNTAX_ERROR = "import numpy as np\n\n\ndef confusion_matrix(y_true, y_pred, k):\n    return np.zeros((2, 2)\n"
RUNTIME_ERROR = (
    "import numpy as np\n\n\ndef _count(k):\n    return np.zeros((k, k)) + undefined_name\n\n\n"
    "def confusion_matrix(y_true, y_pred, num_classes):\n    return _count(num_classes)\n"
)


@pytest.mark.grading
@pytest.mark.slow
def test_a_file_that_does_not_compile_is_reported_once_at_the_top(tmp_path):
    from kit.grading import grade

    (tmp_path / "homework.py").write_text(SYNTAX_ERROR)
    results = grade(tmp_path, assignment="fashion_mnist", only=["confusion_matrix", "f1_scores"], quiet=True)
    top = results["output"]
    assert top.startswith('homework.py did not load:\n  File "homework.py", line 5\n    return np.zeros((2, 2)\n')
    assert "^" in top and "SyntaxError: '(' was never closed" in top
    assert "importlib" not in top and "/tmp" not in top and "kit-grade" not in top
    for test in results["tests"]:
        assert test["score"] == 0
        assert test["output"].splitlines()[1] == (
            "homework.py did not load (the error is at the top), so this check could not run."
        )


@pytest.mark.grading
@pytest.mark.slow
def test_an_error_in_a_function_shows_the_students_own_frames_only(tmp_path):
    from kit.grading import grade

    (tmp_path / "homework.py").write_text(RUNTIME_ERROR)
    results = grade(tmp_path, assignment="fashion_mnist", only=["confusion_matrix"], quiet=True)
    output = results["tests"][0]["output"]
    assert "`confusion_matrix` raised an error:" in output
    assert 'File "homework.py", line 9, in confusion_matrix\n    return _count(num_classes)' in output
    assert 'File "homework.py", line 5, in _count' in output
    assert "NameError: name 'undefined_name' is not defined" in output
    assert "worker.py" not in output and "kinds.py" not in output and "/tmp" not in output


@pytest.mark.grading
@pytest.mark.slow
def test_an_unchanged_folder_is_answered_from_the_cache_and_a_change_grades_again(tmp_path):
    (tmp_path / "homework.py").write_text(RUNTIME_ERROR)
    (tmp_path / "out").mkdir()
    env = {"KIT_CACHE_DIR": str(tmp_path / "out" / "cache")}  # not shared with this worker's other tests
    first = _kit(
        "check", str(tmp_path), "--assignment", "fashion_mnist", "--out", str(tmp_path / "out" / "a.json"), env=env
    )
    assert first.returncode == 0 and "from the cache" not in first.stdout
    again = _kit(
        "check", str(tmp_path), "--assignment", "fashion_mnist", "--out", str(tmp_path / "out" / "b.json"), env=env
    )
    assert again.returncode == 0 and "nothing changed since your last check" in again.stdout
    first_json, again_json = (json.loads((tmp_path / "out" / n).read_text()) for n in ("a.json", "b.json"))
    assert {**first_json, "execution_time": 0} == {**again_json, "execution_time": 0}
    (tmp_path / "homework.py").write_text(RUNTIME_ERROR.replace("undefined_name", "undefined_name2"))
    changed = _kit("check", str(tmp_path), "--assignment", "fashion_mnist", env=env)
    assert changed.returncode == 0 and "nothing changed since your last check" not in changed.stdout
    row = changed.stdout.split("Step 6: confusion matrix", 1)[1].split("Step 6: per-class", 1)[0]
    assert "(from the cache)" not in row  # the function that changed is graded again
    forced = _kit("check", str(tmp_path), "--assignment", "fashion_mnist", "--no-cache", env=env)
    assert forced.returncode == 0 and "from the cache" not in forced.stdout


@pytest.mark.grading
@pytest.mark.slow
def test_a_check_from_inside_a_copy_of_the_folder_fits_100_columns_and_strict_fails(tmp_path):
    """A student who copied the released folder elsewhere runs `python -m kit check --strict` inside it (issue 42)."""
    import shutil

    folder = tmp_path / "my_homework"
    shutil.copytree(ROOT / "assignments" / "training_networks", folder)  # the stubs and the release's own files
    (folder / "notes.txt").write_text("mine")
    finished = _kit("check", "--strict", "--no-cache", cwd=folder)
    assert finished.returncode == 1, finished.stderr  # points are missing: --strict says so to a script
    lines = finished.stdout.splitlines()
    assert lines[0].startswith("kit check on the folder you are in: the autograder's visible checks")
    assert all(len(line) <= 100 for line in lines), max(lines, key=len)
    ignored = [line for line in lines if line.startswith("Ignored")]
    assert ignored == ["Ignored (only homework.py, report.md are graded): notes.txt."]  # not README.md, rubric.py, ...
    assert "Visible checks: 0 / 100 points." in finished.stdout
    lenient = _kit("check", cwd=folder)
    assert lenient.returncode == 0 and "nothing changed since your last check" in lenient.stdout


CONFUSION = (
    "def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:\n"
    "    counts = np.zeros((num_classes, num_classes), dtype=np.int64)\n"
    "    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)\n"
    "    return counts\n"
)


@pytest.mark.grading
@pytest.mark.slow
def test_after_editing_one_function_only_its_checks_are_graded(tmp_path):
    """The per-function cache (issue 42): edit confusion_matrix, and the other checks answer from the cache."""
    folder = tmp_path / "mine"
    folder.mkdir()
    stub = (ROOT / "assignments" / "fashion_mnist" / "homework.py").read_text()
    (folder / "homework.py").write_text(stub)
    env = {"KIT_CACHE_DIR": str(tmp_path / "cache")}
    first = _kit("check", str(folder), "--assignment", "fashion_mnist", "--out", str(tmp_path / "a.json"), env=env)
    assert first.returncode == 0 and "from the cache" not in first.stdout, first.stderr
    head = "def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:\n"
    start = stub.index(head)
    end = stub.index("\n\n\n", start)
    (folder / "homework.py").write_text(stub[:start] + CONFUSION + stub[end:] + "\n# a comment changes no check\n")
    second = _kit("check", str(folder), "--assignment", "fashion_mnist", "--out", str(tmp_path / "b.json"), env=env)
    assert second.returncode == 0, second.stderr
    tests = json.loads((tmp_path / "b.json").read_text())["tests"]
    assert {t["tags"][0]: t["score"] for t in tests}["confusion_matrix"] == 10
    assert f"{len(tests) - 1} of {len(tests)} checks from the cache" in second.stdout  # f1_scores does not call it
    rows = second.stdout.split("Step 6: confusion matrix", 1)[1].split("Step 6: per-class", 1)[0]
    assert "(from the cache)" not in rows  # the one graded again
    only = _kit("check", str(folder), "--assignment", "fashion_mnist", "--only", "f1_scores", "--no-cache", env=env)
    assert only.returncode == 0 and "Visible checks: 0 / 10 points." in only.stdout  # one function, graded again
    unknown = _kit("check", str(folder), "--assignment", "fashion_mnist", "--only", "f1", env=env)
    assert unknown.returncode == 2 and "Unknown function or check 'f1'; valid: " in unknown.stderr
