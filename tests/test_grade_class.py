"""A class at once (issue 10, item 7): ``kit grade --class FOLDER --jobs N --out grades.csv``.

Three small submissions (correct, transposed confusion matrix, no homework.py) graded on two
checks: one row each, a results.json each, and the same CSV for --jobs 1 and --jobs 2.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from grading.helpers import make_submission

from kit.grading.classroom import grade_class, results_dir

pytestmark = pytest.mark.grading
ROOT = Path(__file__).resolve().parent.parent
ONLY = ["confusion_matrix", "f1_scores"]


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("class")
    make_submission(folder / "ana")
    make_submission(folder / "boris", "cm_transposed")
    (folder / "chen").mkdir()  # uploaded nothing usable
    (folder / ".DS_Store").write_text("not a student")
    return folder


def test_one_row_per_student_with_every_check_and_the_total(klass, tmp_path):
    out = tmp_path / "one" / "grades.csv"
    table = grade_class(klass, out, jobs=1, progress=False, only=ONLY, timeout_scale=0.6)
    assert list(table["student"]) == ["ana", "boris", "chen"]
    assert list(table.columns) == [
        "student",
        *[c for c in table.columns if c in ONLY],
        "total",
        "max",
        "macro_f1",
        "error",
    ]
    rows = table.set_index("student")
    assert rows.loc["ana", "total"] == 20 and rows.loc["boris", "total"] == 10 and rows.loc["chen", "total"] == 0
    assert rows.loc["boris", "confusion_matrix"] == 0 and rows.loc["boris", "f1_scores"] == 10
    for student in ("ana", "boris", "chen"):
        results = json.loads((results_dir(out) / student / "results.json").read_text())
        assert results["score"] == rows.loc[student, "total"]
    assert pd.read_csv(out)["total"].tolist() == [20, 10, 0]


def test_the_csv_is_the_same_for_any_number_of_jobs(klass, tmp_path):
    one, two = tmp_path / "jobs1.csv", tmp_path / "jobs2.csv"
    grade_class(klass, one, jobs=1, progress=False, only=ONLY, timeout_scale=0.6)
    grade_class(klass, two, jobs=2, progress=False, only=ONLY, timeout_scale=0.6)
    assert one.read_bytes() == two.read_bytes()


def test_cli_class_errors_are_one_sentence(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-m", "kit", "grade", "--class", str(tmp_path / "nobody"), "--out", str(tmp_path / "g.csv")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 2 and "does not exist" in finished.stderr and not (tmp_path / "g.csv").exists()
