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


def _kit(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
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

    process = _kit("check", str(submission), "--out", str(tmp_path / "check.json"))
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    checked = json.loads((tmp_path / "check.json").read_text())
    graded = grade(submission, hidden=True, quiet=True)
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
    process = _kit("check", str(tmp_path / "nope"), "--out", str(tmp_path / "results.json"))
    assert process.returncode == 2 and "No folder" in process.stderr and "Traceback" not in process.stderr
    assert not (tmp_path / "results.json").exists()
    (tmp_path / "empty").mkdir()
    process = _kit("check", str(tmp_path / "empty"))
    assert process.returncode == 2 and "has no homework.py" in process.stderr


def test_the_runners_in_process_judges_give_the_graders_verdicts(submission):
    """kit.check.judge_in_process: the solution passes every visible check; the missing Dropout fails with
    the grader's own message (the homework runner's [ok] lines come from here)."""
    from kit.check import NotWritten, judge_in_process, visible_checks
    from kit.homework import load_homework

    checks = [check for check in visible_checks() if check.kind != "model"]
    assert len(checks) == 9
    solution = load_homework(SOLUTION / "homework.py")
    verdicts = {check.id: judge_in_process(solution, check) for check in checks}
    assert all(v.passed and v.fraction == 1 for v in verdicts.values()), verdicts
    broken = load_homework(submission / "homework.py")
    verdict = judge_in_process(broken, next(c for c in checks if c.id == "cnn_sequential"))
    assert not verdict.passed and verdict.message.startswith("layer 4 should be Dropout(0.25), found Flatten")
    stubs = load_homework(ROOT / "assignments" / "fashion_mnist" / "homework.py")
    with pytest.raises(NotWritten):
        judge_in_process(stubs, checks[0])


def test_the_homework_runner_reports_the_graders_verdicts(submission):
    """The issue's case: Dropout left out. The runner said [ok]; now it gives the grader's failure and points."""
    from kit.check import visible_checks
    from kit.homework import StepLog, grader_checks, load_homework

    lines: list[str] = []
    log = StepLog(echo=lines.append)
    grader_checks(load_homework(submission / "homework.py"), 3, visible_checks(), log)
    assert [(r["name"], r["status"]) for r in log.records] == [
        ("build_cnn_sequential", "check failed"),
        ("build_cnn_functional", "ok"),
        ("build_cnn_functional", "ok"),
    ]
    assert lines[0].startswith("[FAIL] step 3: CNN in the Sequential style: layer 4 should be Dropout(0.25)")
    assert lines[0].endswith("(0/10 points)") and lines[1].endswith("passes the autograder's check (10/10 points)")
    assert log.problems == [lines[0][len("[FAIL] ") :]]
