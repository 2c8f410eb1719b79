"""The generic ``function`` kind reads values, not types, and a grader limit is the grader's fault.

A teaching assistant's assignment folder (outside the repository, as docs/authoring.md describes)
with references that return a dict, a tuple and numbers of several types; the students' answers
are judged in process (``judge_in_process``, what the runner does) and, for the limits, through
the sandboxed grader, where answers and references come back from children as ``result.npz``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from kit import assignments

COUNTS = {
    "assignment.yml": """\
        title: Convolution parameters, as a teaching assistant writes them
        entry: answers.py
        files: [answers.py]
        datasets: []
        """,
    "answers.py": """\
        def conv_params(c_in, filters, k):
            return {"plain": k * k * c_in * filters + filters, "separable": k * k * c_in + c_in * filters + filters}


        def keep_rate(rate):
            if not 0 <= rate <= 1:
                raise ValueError(f"rate must be within [0, 1]; got {rate}.")
            return 1 - rate


        def many(n):
            return {f"k{i}": i for i in range(n)}
        """,
    "rubric.py": """\
        CASES = [
            {"c_in": 4, "filters": 10, "k": 3, "_label": "the lecture's 32x32x4 input, 10 3x3 filters"},
            {"c_in": 16, "filters": 32, "k": 5},
        ]
        CHECKS = [
            dict(id="as_dict", name="a dict reference", kind="function", points=4, timeout=30,
                 params=dict(function="conv_params", reference="checks:params_dict", cases=CASES,
                             parts={"plain": 1, "separable": 1})),
            dict(id="as_tuple", name="a tuple reference", kind="function", points=4, timeout=30,
                 params=dict(function="conv_params", reference="checks:params_tuple", cases=CASES, parts=[1, 1])),
            dict(id="whole", name="no parts: a case is right or wrong", kind="function", points=2, timeout=30,
                 params=dict(function="conv_params", reference="checks:params_tuple", cases=CASES)),
            dict(id="raises", name="a ValueError as the docstring says", kind="function", points=2, timeout=30,
                 params=dict(function="keep_rate", reference="checks:keep", cases=[
                     {"rate": 0.25}, {"rate": 1.5, "_raises": "ValueError", "_label": "rate 1.5"}])),
            dict(id="big_reference", name="a reference past the limit", kind="function", points=1, timeout=60,
                 params=dict(function="many", reference="checks:many", cases=[{"n": 2100}],
                             mistakes=[{"reference": "checks:many", "message": "never named"}])),
            dict(id="big_answer", name="an answer past the limit", kind="function", points=1, timeout=60,
                 params=dict(function="many", reference="checks:many", cases=[{"n": 4100}])),
        ]
        """,
    "checks.py": """\
        import numpy as np


        def params_dict(c_in, filters, k):
            return {"plain": k * k * c_in * filters + filters, "separable": k * k * c_in + c_in * filters + filters}


        def params_tuple(c_in, filters, k):
            counts = params_dict(c_in, filters, k)
            return np.int64(counts["plain"]), np.int64(counts["separable"])


        def keep(rate):
            return 1.0 - rate


        def many(n):
            return {f"k{i}": float(i) for i in range(n)}
        """,
}


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    _write(root / "solutions" / "counts", COUNTS)
    return assignments.get("counts", root=root)


@pytest.fixture(scope="module")
def judge(course):
    from kit.grading import judge_in_process, load_rubric

    rubric = load_rubric(course)

    def run(source: str, check: str, tmp_path: Path):
        path = tmp_path / "answers.py"
        path.write_text(textwrap.dedent(source))
        module = assignments.load_module(path, f"_values_{abs(hash(source))}")
        return judge_in_process(module, rubric.check(check), rubric.kinds)

    return run


RETURNS = {
    "a dict": "{'plain': plain, 'separable': separable}",
    "a tuple of np.int64": "np.int64(plain), np.int64(separable)",
    "a tuple of Python ints": "plain, separable",
    "a list of 0-d arrays and floats": "[np.array(plain), float(separable)]",
    "a numpy array": "np.array([plain, separable])",
}


def _answer(returns: str) -> str:
    return (
        "import numpy as np\n\n\ndef conv_params(c_in, filters, k):\n"
        "    plain, separable = k * k * c_in * filters + filters, k * k * c_in + c_in * filters + filters\n"
        f"    return {returns}\n"
    )


@pytest.mark.parametrize("check", ["as_dict", "as_tuple", "whole"])
def test_the_same_numbers_score_the_same_whatever_their_container_or_type(judge, check, tmp_path):
    """Issue 43: a correct tuple of np.int64 scored 0 where a dict scored full marks."""
    verdicts = {what: judge(_answer(returns), check, tmp_path) for what, returns in RETURNS.items()}
    assert {what: (v.passed, v.fraction) for what, v in verdicts.items()} == {what: (True, 1.0) for what in RETURNS}


def test_parts_give_each_element_or_key_its_share_and_the_message_names_it(judge, tmp_path):
    wrong = _answer("np.int64(plain), np.int64(separable + 4)")  # the depthwise part's bias counted
    by_key, by_position, whole = (judge(wrong, check, tmp_path) for check in ("as_dict", "as_tuple", "whole"))
    assert by_key.fraction == pytest.approx(0.5) and by_position.fraction == pytest.approx(0.5)
    assert "case 1 (the lecture's 32x32x4 input, 10 3x3 filters): result['separable'] differs: got 90, expected 86" in (
        by_key.message
    )
    assert "result[1] differs: got 90, expected 86" in by_position.message
    assert whole.fraction == 0 and not whole.passed  # without parts a case is right or wrong as a whole


def test_a_wrong_number_of_values_says_what_is_expected(judge, tmp_path):
    verdict = judge(_answer("(plain,)"), "as_dict", tmp_path)
    assert verdict.fraction == 0
    assert "it returned 1 value(s); expected 2 values ('plain', 'separable': a dict with these keys, or a tuple" in (
        verdict.message
    )
    verdict = judge(_answer("{'conv': plain, 'depthwise': separable}"), "as_dict", tmp_path)
    assert "it returned the keys 'conv', 'depthwise'; expected 2 values ('plain', 'separable'" in verdict.message


def test_a_case_can_ask_for_the_exception_the_docstring_promises(judge, tmp_path):
    right = "def keep_rate(rate):\n    if not 0 <= rate <= 1:\n        raise ValueError('no')\n    return 1 - rate\n"
    silent = "def keep_rate(rate):\n    return 1 - rate\n"
    other = "def keep_rate(rate):\n    if rate > 1:\n        raise TypeError('no')\n    return 1 - rate\n"
    assert judge(right, "raises", tmp_path).fraction == 1
    verdict = judge(silent, "raises", tmp_path)
    assert verdict.fraction == 0.5
    assert "case 2 (rate 1.5): it returned a result; the docstring asks it to raise a ValueError here" in (
        verdict.message
    )
    assert "it raised TypeError; the docstring asks for a ValueError here" in judge(other, "raises", tmp_path).message


@pytest.mark.grading
@pytest.mark.slow
def test_past_the_graders_limits_it_is_the_graders_fault_not_the_students_zero(course):
    """Issue 43: a reference of 2 x 2,100 arrays (over result.npz's cap) scored the student 0 ("Your code gave no
    answer"); now the reference and the answer past a limit both end the grading as a grader fault, with the reason.
    Below the limits, a tuple of np.int64 and a dict round-trip through the children and score the same."""
    from kit.grading import grade
    from kit.grading.sandbox import MAX_RESULT_ARRAYS, GraderFault

    solution = course.folder
    results = grade(solution, assignment=course, only=["as_dict", "as_tuple", "raises"], quiet=True)
    assert [(t["tags"][0], t["score"]) for t in results["tests"]] == [("as_dict", 4), ("as_tuple", 4), ("raises", 2)]
    assert 2 * 2100 > MAX_RESULT_ARRAYS >= 2100 and 4100 > MAX_RESULT_ARRAYS
    with pytest.raises(GraderFault, match=r"check 'big_reference': the reference answers .* \(result.npz has 4200"):
        grade(solution, assignment=course, only=["big_reference"], quiet=True)
    with pytest.raises(GraderFault, match=r"check 'big_answer': the answer of the submission's code .* not graded"):
        grade(solution, assignment=course, only=["big_answer"], quiet=True)


def test_in_process_the_runner_meets_the_same_limit(judge, course, tmp_path):
    verdict = judge(COUNTS["answers.py"], "big_reference", tmp_path)
    assert not verdict.passed and "the reference answers hold 4200 arrays; the grader reads at most" in verdict.message
    assert np.isfinite(verdict.fraction)
