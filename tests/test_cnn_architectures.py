"""Assignment 3, "CNN architectures": the folder, its checks judged in process and through the sandbox, its runner.

The checks are judged as the runner judges them (``judge_in_process``: the grader's inputs, Keras
references and messages) for the solution, the stubs and each typical mistake; the sandboxed grader
runs only the checks whose answers cross its children in other forms (dicts, frozen models, expected
ValueErrors), for the solution and two mistakes. Lean on purpose: the whole suite has a time budget.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from grading.cnn_architectures.mutations import BY_NAME, MUTATIONS, SOLUTION, mutated_source

ROOT = Path(__file__).resolve().parent.parent
NAME = "cnn_architectures"
STUBS = ROOT / "assignments" / NAME / "homework.py"
pytestmark = pytest.mark.skipif(not SOLUTION.is_file(), reason="needs solutions/ (instructor repository only)")


@pytest.fixture(scope="module")
def rubric():
    from kit.grading import load_rubric

    return load_rubric(NAME, hidden=True)


@pytest.fixture(scope="module")
def load(tmp_path_factory):
    from kit.assignments import load_module

    folder = tmp_path_factory.mktemp("cnn")

    def load_source(source: str, tag: str):
        path = folder / f"{tag}.py"
        path.write_text(source, encoding="utf-8")
        return load_module(path, f"_test_cnn_{tag}")

    return load_source


def test_the_folder_is_an_assignment_and_its_student_folder_is_generated():
    from kit import assignments
    from kit.assign import out_of_date

    assignment = assignments.get(NAME)
    assert assignment.datasets == ("fashion_mnist",) and assignment.runner == "runner.py"
    assert out_of_date(ROOT / "solutions" / NAME, ROOT / "assignments" / NAME) == []
    assert not (ROOT / "assignments" / NAME / "rubric_hidden.py").exists()
    stub = STUBS.read_text(encoding="utf-8")
    raised = [line for line in stub.splitlines() if line.strip().startswith("raise NotImplementedError(")]
    assert len(raised) == 7 and "BEGIN SOLUTION" not in stub


def test_the_rubric_is_100_visible_and_25_hidden_points_of_keras_references(rubric):
    visible = [c for c in rubric.checks if c.visibility == "visible"]
    hidden = [c for c in rubric.checks if c.visibility == "hidden"]
    assert sum(c.points for c in visible) == 100 and sum(c.points for c in hidden) == 25
    checks_text = (ROOT / "solutions" / NAME / "checks.py").read_text(encoding="utf-8")
    assert "import homework" not in checks_text and "solutions" not in checks_text


@pytest.mark.backend_agnostic
def test_the_solution_passes_every_check_and_the_stubs_are_not_written(rubric, load):
    from kit.grading.kinds import NotWritten, judge_in_process

    solution = load(SOLUTION.read_text(encoding="utf-8"), "solution")
    verdicts = {check.id: judge_in_process(solution, check, rubric.kinds) for check in rubric.checks}
    assert all(v.passed and v.fraction == 1 for v in verdicts.values()), verdicts
    stubs = load(STUBS.read_text(encoding="utf-8"), "stubs")
    for check in rubric.checks:
        with pytest.raises(NotWritten):
            judge_in_process(stubs, check, rubric.kinds)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_a_typical_mistake_keeps_its_fair_points_and_is_named(mutation, rubric, load):
    from kit.grading.kinds import judge_in_process

    module = load(mutated_source(mutation.name), mutation.name)
    check = rubric.check(mutation.check)
    verdict = judge_in_process(module, check, rubric.kinds)
    assert verdict.points(check.points) == pytest.approx(mutation.points, abs=1e-3), verdict.message
    assert mutation.named in verdict.message, verdict.message


@pytest.mark.slow
@pytest.mark.grading
def test_through_the_sandbox_dicts_frozen_models_and_value_errors_come_back_as_in_process(tmp_path):
    """One grading of the checks whose answers cross the children in other forms: the counts as a tuple of np.int64
    where the reference returns a dict, a model whose layers' trainable flags are read after safe-mode loading (not
    frozen here: 0), hidden cases expecting a ValueError. Every check is judged in process above."""
    from kit.grading import grade

    submission = tmp_path / "mutated"
    submission.mkdir()
    (submission / "homework.py").write_text(mutated_source("params_as_tuple", "transfer_not_frozen"), encoding="utf-8")
    only = ["conv_params", "transfer_model", "arithmetic_hidden"]
    graded = {t["tags"][0]: t for t in grade(submission, assignment=NAME, hidden=True, only=only, quiet=True)["tests"]}
    assert {name: test["score"] for name, test in graded.items()} == {
        "conv_params": 20,  # a tuple of np.int64 scores as the dict does
        "transfer_model": 0,
        "arithmetic_hidden": 10,
    }, [t["output"][-300:] for t in graded.values()]
    assert BY_NAME["transfer_not_frozen"].named in graded["transfer_model"]["output"]


@pytest.mark.slow
def test_the_runner_on_the_smoke_preset_writes_the_table_and_the_curve(tmp_path):
    from kit.assignments import get

    lines: list[str] = []
    summary = get(NAME).load_runner().run_assignment(None, "smoke", tmp_path / "run", echo=lines.append)
    assert sum("passes the autograder's check" in line for line in lines) == 7, lines
    assert summary["todo"] == [] and sum(c["points"] for c in summary["checks"]) == 100
    rows = {row["network"]: row for row in summary["architectures"]}
    assert rows["LeNet-5"]["keras_params"] == rows["LeNet-5"]["your_params"] == 61_706
    assert rows["VGG-16"]["keras_params"] == 138_357_544 and rows["VGG-16"]["your_macs"] == rows["VGG-16"]["keras_macs"]
    assert summary["fine_tuning"]["trainable_params"] == 64 * 5 + 5
    report = (tmp_path / "run" / "report.md").read_text()
    assert "Visible checks: 100 / 100 points" in report and "(fine_tuning.png)" in report
    assert (tmp_path / "run" / "fine_tuning.png").stat().st_size > 10_000
