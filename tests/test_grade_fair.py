"""Fair checks (issue 10, item 5): every correct way of writing a step scores; common mistakes get a hint.

Each fixture is an override snippet in tests/grading/submissions/ (see tests/grading/helpers.py),
graded end to end on the checks it targets.
"""

from __future__ import annotations

import numpy as np
import pytest
from grading.helpers import make_submission

from kit.grading import grade, load_rubric

pytestmark = pytest.mark.grading
RUBRIC = {check.id: check for check in load_rubric("fashion_mnist").checks}


def graded(tmp_path, name: str, only: list[str]) -> dict[str, tuple[float, str]]:
    hidden = any(RUBRIC[check].visibility == "hidden" for check in only)
    submission = make_submission(tmp_path / name, name)
    results = grade(submission, assignment="fashion_mnist", only=only, hidden=hidden, quiet=True, timeout_scale=0.6)
    return {t["tags"][0]: (t["score"], t["output"]) for t in results["tests"]}


# ------------------------------------------------------------------ accepted forms of the Inception module

ACCEPTED = {
    "inception_activation_layer": ["inception_module", "inception_module_hidden"],
    "inception_relu_layer": ["inception_module"],
    "inception_branch_order": ["inception_module", "inception_module_hidden"],
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_every_correct_form_of_the_inception_module_gets_full_marks(tmp_path, name):
    results = graded(tmp_path, name, ACCEPTED[name])
    assert {check: score for check, (score, _) in results.items()} == {
        check: RUBRIC[check].points for check in ACCEPTED[name]
    }, results


def test_the_kits_own_inception_block_passes_the_same_judge(homework_checks):
    """kit.blocks.inception_module (Conv2D, then a separate Activation layer) judged in-process, like the self-check."""
    import keras

    from kit.blocks import inception_module
    from kit.grading import model_graph

    judges = homework_checks

    for check_id in ("inception_module", "inception_module_hidden"):
        params = RUBRIC[check_id].params
        x = keras.Input(shape=tuple(params["input_shape"]))
        kwargs = {"name": "probe", **params["kwargs"]}
        model = keras.Model(x, inception_module(x, **kwargs))
        outputs = model.predict(judges.module_inputs(params), verbose=0)
        verdict = judges.judge_inception_module(model_graph.describe(model), outputs, params)
        assert verdict.passed and verdict.fraction == 1.0, verdict.message


# ------------------------------------------------------------------ hints for common mistakes

HINTS = {
    "inception_valid_padding": ("inception_module", "padding='same'"),
    "summary_divided_by_255": ("dataset_summary", "keep the units of x"),
    "summary_no_empty_row": ("dataset_summary_hidden", "no row for 'Coat'"),
    "summary_per_image_std": ("dataset_summary", "mean of per-image standard deviations"),
}


@pytest.mark.parametrize("name", sorted(HINTS))
def test_a_common_mistake_scores_zero_with_a_hint_at_its_cause(tmp_path, name):
    check, hint = HINTS[name]
    results = graded(tmp_path, name, [check])
    score, output = results[check]
    assert score == 0 and hint in output, output
    assert "Traceback" not in output or RUBRIC[check].visibility == "visible"


def test_the_per_image_std_mistake_misses_by_a_wide_margin(homework_checks):
    judges = homework_checks

    for check_id in ("dataset_summary", "dataset_summary_hidden"):
        params = RUBRIC[check_id].params
        inputs = judges.summary_inputs(params)
        x = inputs["x"].reshape(len(inputs["y"]), -1).astype(np.float64)
        for c in np.unique(inputs["y"]):
            pooled, per_image = x[inputs["y"] == c].std(), x[inputs["y"] == c].std(axis=1).mean()
            assert pooled > 3 * per_image


# ------------------------------------------------------------------ the homework's rules are enforced

RULES = {
    "cm_sklearn": ("confusion_matrix", "numpy only", "sklearn.metrics"),
    "f1_sklearn": ("f1_scores", "numpy only", "sklearn.metrics"),
    "cnn_kit_models": ("cnn_sequential", "plain keras", "kit.models"),
}


@pytest.mark.parametrize("name", sorted(RULES))
def test_a_stated_rule_broken_scores_zero_and_says_which_call(tmp_path, name):
    check, rule, module = RULES[name]
    score, output = graded(tmp_path, name, [check])[check]
    assert score == 0 and rule in output and module in output, output
