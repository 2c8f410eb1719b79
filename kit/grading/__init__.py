"""The autograder and the checks it shares with the student's self-check.

A teaching assistant finds each part by its file name:

- ``rubric.py``: the rubric as data (``Check``, ``Rubric``, ``load_rubric``); visible checks in
  ``rubric.py`` of the assignment, hidden ones in the instructor-only ``rubric_hidden.py``;
- ``judges.py``: the reference answers (inputs for each check, and judges of an answer);
- ``model_graph.py``: reading Keras model graphs (layer tokens, branches);
- ``sandbox.py``: the limited child process student code runs in; ``worker.py``: that child;
- ``grader.py``: ``grade(submission) -> results``; ``command.py``: ``python -m kit grade`` (one, a class, the package);
- ``gradescope.py``: results.json and the autograder zip (``templates/setup.sh``, ``templates/run_autograder``);
- ``classroom.py``: a folder of submissions at once (``python -m kit grade --class``).

Names are imported on first use, so that the sandboxed worker imports only what it needs.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "grade": "kit.grading.grader",
    "summary_table": "kit.grading.grader",
    "Check": "kit.grading.rubric",
    "Rubric": "kit.grading.rubric",
    "load_rubric": "kit.grading.rubric",
    "Verdict": "kit.grading.judges",
    "CheckFailed": "kit.grading.judges",
    "judge_dataset_summary": "kit.grading.judges",
    "judge_confusion_matrix": "kit.grading.judges",
    "judge_f1_scores": "kit.grading.judges",
    "judge_best_config": "kit.grading.judges",
    "judge_cnn": "kit.grading.judges",
    "judge_weight_transfer": "kit.grading.judges",
    "judge_inception_module": "kit.grading.judges",
    "judge_inception_cnn": "kit.grading.judges",
    "judge_model": "kit.grading.judges",
    "write_results": "kit.grading.gradescope",
    "write_package": "kit.grading.gradescope",
    "grade_class": "kit.grading.classroom",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kit.grading' has no attribute {name!r}")
