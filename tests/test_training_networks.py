"""Assignment 2, "Training networks": the folder, its checks judged in process, its runner and its notebook.

The checks here are judged as the runner judges them (``kit.grading.kinds.judge_in_process``: the
grader's inputs, Keras references and messages, in this process); tests/test_grade_training_networks.py
runs the same checks through the sandboxed grader and ``kit check`` in a release.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from grading.training_networks.mutations import MUTATIONS, SOLUTION, mutated_source

ROOT = Path(__file__).resolve().parent.parent
NAME = "training_networks"
STUBS = ROOT / "assignments" / NAME / "homework.py"
pytestmark = pytest.mark.skipif(not SOLUTION.is_file(), reason="needs solutions/ (instructor repository only)")


@pytest.fixture(scope="module")
def rubric():
    from kit.grading import load_rubric

    return load_rubric(NAME, hidden=True)


@pytest.fixture(scope="module")
def load():
    from kit.assignments import load_module

    def load_source(source: str, folder: Path):
        path = folder / "homework.py"
        path.write_text(source, encoding="utf-8")
        return load_module(path, "_test_training_networks")

    return load_source


def test_the_folder_is_an_assignment_the_kit_lists():
    from kit import assignments

    assignment = assignments.get(NAME)
    assert assignment.files == ("homework.py", "report.md") and assignment.leaderboard is None
    assert assignment.runner == "runner.py" and assignment.datasets == ("fashion_mnist",)
    process = subprocess.run(
        [sys.executable, "-m", "kit", "assignments"], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert process.returncode == 0, process.stderr
    assert any(line.split()[:3] == [NAME, "100", "points"] for line in process.stdout.splitlines()), process.stdout


def test_the_student_folder_is_generated_from_the_solution():
    from kit.assign import out_of_date

    assert out_of_date(ROOT / "solutions" / NAME, ROOT / "assignments" / NAME) == []
    assert not (ROOT / "assignments" / NAME / "rubric_hidden.py").exists()
    stub = STUBS.read_text(encoding="utf-8")
    raised = [line for line in stub.splitlines() if line.strip().startswith("raise NotImplementedError(")]
    assert len(raised) == 10  # one per function, each with its hint
    assert "Lecture 'Training networks, part 1'" in stub and "BEGIN SOLUTION" not in stub


def test_the_rubric_ships_only_inputs_and_names_keras_references(rubric):
    visible = [c for c in rubric.checks if c.visibility == "visible"]
    hidden = [c for c in rubric.checks if c.visibility == "hidden"]
    assert sum(c.points for c in visible) == 100 and sum(c.points for c in hidden) == 25
    assert {c.kind for c in rubric.checks} == {"function", "model_builder"}  # the kit's generic kinds only
    checks_text = (ROOT / "solutions" / NAME / "checks.py").read_text(encoding="utf-8")
    assert "import homework" not in checks_text and "solutions" not in checks_text  # never the solution
    for check in visible:
        if check.kind != "model_builder":
            assert check.params.get("rule") == "numpy", check.id


@pytest.mark.backend_agnostic
def test_the_solution_passes_every_check(rubric, load, tmp_path):
    from kit.grading.kinds import judge_in_process

    solution = load(SOLUTION.read_text(encoding="utf-8"), tmp_path)
    verdicts = {check.id: judge_in_process(solution, check, rubric.kinds) for check in rubric.checks}
    assert all(v.passed and v.fraction == 1 for v in verdicts.values()), verdicts


def test_the_stubs_are_reported_as_not_written(rubric, load, tmp_path):
    from kit.grading.kinds import NotWritten, judge_in_process

    stubs = load(STUBS.read_text(encoding="utf-8"), tmp_path)
    for check in rubric.checks:
        with pytest.raises(NotWritten):
            judge_in_process(stubs, check, rubric.kinds)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_a_typical_mistake_keeps_its_fair_points_and_is_named(mutation, rubric, load, tmp_path):
    from kit.grading.kinds import judge_in_process

    module = load(mutated_source(mutation.name), tmp_path)
    check = rubric.check(mutation.check)
    verdict = judge_in_process(module, check, rubric.kinds)
    assert verdict.points(check.points) == pytest.approx(mutation.points, abs=1e-3), verdict.message
    assert verdict.passed == (mutation.points > 0)
    assert mutation.named in verdict.message, verdict.message


@pytest.mark.backend_agnostic
def test_the_init_reference_is_the_std_of_the_weights_keras_draws():
    """checks.keras_std reads the std exactly (same seed): it equals the std of a large draw within sampling error."""
    import keras

    from kit.assignments import get

    checks = get(NAME).load_module("checks.py")
    for method, name in (("xavier", "LecunNormal"), ("glorot", "GlorotNormal"), ("he", "HeNormal")):
        shape = (3, 3, 64, 128)
        weights = keras.ops.convert_to_numpy(getattr(keras.initializers, name)(seed=7)(shape))
        exact = checks.init_std_reference(shape, method)
        assert float(np.std(weights)) == pytest.approx(exact, rel=0.01)
    assert checks.init_std_reference((784, 256), "xavier") == pytest.approx(1 / np.sqrt(784), rel=1e-6)


def test_an_unknown_function_or_wrong_shape_is_one_clear_sentence(rubric, load, tmp_path):
    """A student function that returns the wrong structure gets a message saying so, not a traceback."""
    from kit.grading.kinds import judge_in_process

    source = SOLUTION.read_text(encoding="utf-8") + (
        "\n\ndef batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.99, epsilon=1e-3):\n"
        "    return x\n"
    )
    verdict = judge_in_process(load(source, tmp_path), rubric.check("batchnorm_forward"), rubric.kinds)
    assert verdict.fraction == 0 and "expected 3 values (check what the function returns)" in verdict.message


# --------------------------------------------------------------------------- the runner and the notebook
@pytest.mark.slow
def test_the_runner_writes_the_report_with_its_pictures(tmp_path):
    out = tmp_path / "run"
    process = subprocess.run(
        [sys.executable, "-m", "kit", "homework", "--assignment", NAME, "--preset", "smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        timeout=900,
    )
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert process.stdout.count("passes the autograder's check") == 10
    summary = json.loads((out / "summary.json").read_text())
    assert summary["todo"] == [] and sum(c["points"] for c in summary["checks"]) == 100
    demo = summary["init_demo"]
    assert demo["small_shrink_per_layer"] == pytest.approx(demo["small_shrink_theory"], rel=0.1)  # 0.01 * sqrt(D)
    assert abs(summary["initial_loss"]["losses"]["output layer x0.01"] - np.log(10)) < 0.01
    assert (
        summary["schedules"]["step_decay"]["equal_to_keras"] and summary["schedules"]["warmup_cosine"]["equal_to_keras"]
    )
    report = (out / "report.md").read_text()
    for picture in (
        "activation_histograms.png",
        "activation_scale.png",
        "initial_loss.png",
        "overfit_320.png",
        "lr_schedules.png",
    ):
        assert (out / picture).stat().st_size > 10_000 and f"({picture})" in report
    assert "Visible checks: 100 / 100 points" in report


@pytest.mark.slow
def test_the_runner_on_the_stubs_lists_what_to_write_and_still_reports(tmp_path):
    from kit.assignments import get

    runner = get(NAME).load_runner()
    lines: list[str] = []
    summary = runner.run_assignment(str(STUBS), "smoke", tmp_path / "run", echo=lines.append)
    assert sum(c["points"] for c in summary["checks"]) == 0 and len(summary["checks"]) == 10
    assert any("implement `init_std` in homework.py" in line for line in lines)
    assert any("implement `build_small_net` in homework.py" in line for line in lines)
    assert summary["init_demo"]["rows"] == {} and summary["overfit"] == {}
    report = (tmp_path / "run" / "report.md").read_text()
    assert "Visible checks: 0 / 100 points" in report and "Still to write:" in report


@pytest.mark.slow
def test_the_notebook_runs_top_to_bottom_on_the_smoke_preset(tmp_path, run_student_notebook):
    """notebook.ipynb of the student folder, run by a Jupyter kernel (nbclient) beside the solution's homework.py."""
    text = run_student_notebook(ROOT / "assignments" / NAME, ROOT / "kit", SOLUTION.read_text())
    assert "[ok] initialisation demo" in text and "'equal_to_keras': True" in text
    assert "at test time the layer is the identity: True" in text
    for picture in ("activation_histograms.png", "initial_loss.png", "overfit_320.png", "lr_schedules.png"):
        assert (tmp_path / "out" / picture).is_file()
