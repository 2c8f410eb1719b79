"""Assignment 2, "Training networks", through the sandboxed grader: the solution, the stubs, typical mistakes,
and `kit check` in a student release giving exactly the grader's visible scores.

Runs the grader: run this file under the grading lock
(`flock /tmp/kit-grading.lock .venv/bin/python -m pytest tests/test_grade_training_networks.py`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from grading.training_networks.mutations import ONE_PER_CHECK, SOLUTION, write_submission

ROOT = Path(__file__).resolve().parent.parent
NAME = "training_networks"
pytestmark = [
    pytest.mark.skipif(not SOLUTION.is_file(), reason="needs solutions/ (instructor repository only)"),
    pytest.mark.slow,
    pytest.mark.grading,
]


def test_the_solution_scores_full_points_on_every_check():
    from kit.grading import grade

    results = grade(SOLUTION.parent, assignment=NAME, hidden=True, quiet=True)
    assert {t["visibility"] for t in results["tests"]} == {"visible", "hidden"}
    assert all(t["score"] == t["max_score"] for t in results["tests"]), [
        (t["name"], t["score"], t["output"][-300:]) for t in results["tests"] if t["score"] != t["max_score"]
    ]
    assert results["score"] == 125 and len(results["tests"]) == 15
    assert results["leaderboard"] == []  # the manifest's leaderboard: null


def test_the_stubs_score_zero_and_say_what_is_not_written():
    """Checks of each sort the rubric has (every check of the stubs is judged in process in
    tests/test_training_networks.py): ``function`` with a numpy reference, ``function`` with a Keras
    reference and weighted outputs, and ``model_builder``; the stubs need no reference child at all."""
    from kit.grading import grade

    checks = ["dropout_forward", "batchnorm_forward", "small_net"]
    results = grade(ROOT / "assignments" / NAME, assignment=NAME, only=checks, quiet=True)
    assert results["score"] == 0 and len(results["tests"]) == 3
    for test in results["tests"]:
        assert "is not implemented yet" in test["output"], test["output"]


@pytest.fixture(scope="module")
def release_dir(tmp_path_factory):
    """A student release (no solutions, no hidden checks), its .venv the kit's own (linked)."""
    from kit.assign import release

    out = tmp_path_factory.mktemp("release") / "student"
    release(out)
    (out / ".venv").symlink_to(ROOT / ".venv")
    assert not (out / "solutions").exists() and not (out / "assignments" / NAME / "rubric_hidden.py").exists()
    return out


def test_in_a_release_kit_check_equals_the_grader_and_each_mistake_keeps_its_fair_points(release_dir, tmp_path):
    """Nine typical mistakes, each in another check, in one submission: `kit check` in the release (which has
    only the visible rubric and checks.py) and the instructor's grader give the same visible scores and messages;
    each broken check keeps the points of its cases that are still right and names the mistake; every other
    check keeps all its points."""
    from kit.grading import grade

    submission = write_submission(tmp_path / "mutated", *(m.name for m in ONE_PER_CHECK))
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "kit",
            "check",
            str(submission),
            "--assignment",
            NAME,
            "--out",
            str(tmp_path / "c.json"),
        ],
        capture_output=True,
        text=True,
        cwd=release_dir,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        timeout=900,
    )
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    checked = json.loads((tmp_path / "c.json").read_text())
    graded = grade(submission, assignment=NAME, quiet=True)

    def key(tests):
        return [(t["name"], t["score"], t["max_score"], t["output"]) for t in tests]

    assert key(checked["tests"]) == key(graded["tests"]) and len(checked["tests"]) == 10
    by_id = {t["tags"][0]: t for t in graded["tests"]}
    for mutation in ONE_PER_CHECK:
        test = by_id.pop(mutation.check)
        assert test["score"] == pytest.approx(mutation.points, abs=1e-3), (mutation.name, test["output"])
        assert mutation.named in test["output"], (mutation.name, test["output"])
    assert [t["score"] == t["max_score"] for t in by_id.values()] == [True]  # small_net: untouched
    lost = sum(t["max_score"] for t in graded["tests"]) - graded["score"]
    assert 40 < lost < 100  # partial: a fair share of each broken check is kept
    assert f"Visible checks: {checked['score']:g} / 100 points" in process.stdout
