"""The class report's reading of results (issue 31, point 3): failure messages grouped, hidden twins paired."""

from __future__ import annotations

from kit.grading.class_report import failure_message, frequent_failures, hidden_twins, message_pattern
from kit.grading.rubric import load_rubric


def test_a_failure_message_is_the_verdict_without_the_fixed_message_or_the_students_output():
    test = {
        "output": "Write it with numpy.\nthe matrix differs in 70 of 100 cells.\n"
        "Your code's output (cut):\nstdout:\nhi",
        "score": 0,
        "max_score": 10,
        "tags": ["confusion_matrix", "confusion_matrix"],
    }
    assert failure_message(test, "Write it with numpy.") == "the matrix differs in 70 of 100 cells."
    assert failure_message({"output": ""}) == "(no message)"


def test_messages_that_differ_only_in_numbers_are_one_group():
    assert message_pattern("differs in 70 of 100 cells") == message_pattern("differs in 3 of 100 cells")
    assert message_pattern("macro-F1 0.81 < 0.88") == "macro-F# # < #"

    class Check:
        id, message = "f1_scores", ""

    def result(text, score=0):
        return {"tests": [{"tags": ["f1_scores"], "score": score, "max_score": 10, "output": text}]}

    results = {
        "a": result("F1 of class 3 is NaN"),
        "b": result("F1 of class 7 is NaN"),
        "c": result("returned a list"),
        "d": result("Passed.", score=10),
    }
    assert frequent_failures(results, [Check()]) == {"f1_scores": [(2, "F1 of class 3 is NaN"), (1, "returned a list")]}


def test_each_hidden_check_stands_beside_its_visible_twins():
    from kit.assignments import available

    rubric = load_rubric("fashion_mnist", hidden=True)
    pairs = {hidden.id: [c.id for c in twins] for twins, hidden in hidden_twins(rubric.checks)}
    assert pairs == {
        "dataset_summary_hidden": ["dataset_summary"],
        "inception_module_hidden": ["inception_module"],
        "confusion_matrix_hidden": ["confusion_matrix"],
        "f1_scores_hidden": ["f1_scores"],
    }
    for name in available():  # any assignment: every hidden check has a row, twins are visible checks
        checks = load_rubric(name, hidden=True).checks
        pairs = hidden_twins(checks)
        assert [h.id for _, h in pairs] == [c.id for c in checks if c.visibility == "hidden"], name
        assert all(t.visibility == "visible" for twins, _ in pairs for t in twins), name
