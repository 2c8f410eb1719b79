"""The autograder and the checks it shares with the student's self-check; it knows no assignment.

A teaching assistant finds each part by its file name (docs/authoring.md: how to add an assignment):

- ``kinds.py``: check kinds (inputs -> the student's call -> inspection -> judge), the generic ones
  (``function``, ``model_builder``, ``model``); an assignment adds its own in its ``checks.py``;
- ``rubric.py``: the rubric as data (``Check``, ``Rubric``, ``load_rubric``); visible checks in
  ``rubric.py`` of the assignment, hidden ones in the instructor-only ``rubric_hidden.py``;
- ``judges.py``: ``Verdict``, ``CheckFailed`` and the judge of a submitted model's predictions;
- ``model_graph.py``: reading Keras model graphs (layer tokens, branches);
- ``sandbox.py``: the limited child processes student code runs in; ``worker.py``: that child;
- ``grader.py``: ``grade(submission, assignment=...) -> results``; ``command.py``: ``python -m kit grade``;
- ``gradescope.py``: results.json and the autograder zip (``templates/setup.sh``, ``templates/run_autograder``);
- ``classroom.py``: a class of submissions at once;
- ``engine.py``: the grading engine's digest (what a kept result, a class's or a self-check's, is keyed on).

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
    "judge_model": "kit.grading.judges",
    "Kind": "kit.grading.kinds",
    "judge_in_process": "kit.grading.kinds",
    "write_results": "kit.grading.gradescope",
    "write_package": "kit.grading.gradescope",
    "grade_class": "kit.grading.classroom",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kit.grading' has no attribute {name!r}")
