"""``kit grade --class`` (issue 10, item 7), now another name for ``kit class grade`` (issue 31).

The CSV holds no timings: it is the same for --jobs 1 and --jobs 2. The older command line
(``--out grades.csv``) still writes grades.csv where asked, with the class folder beside it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from grading.helpers import make_submission

from kit.grading.classroom import grade_class, results_dir

pytestmark = pytest.mark.grading
ROOT = Path(__file__).resolve().parent.parent
OPTIONS = {"checks": ["confusion_matrix", "f1_scores"], "timeout_scale": 0.6, "progress": False}


def test_the_csv_is_the_same_for_any_number_of_jobs(tmp_path):
    make_submission(tmp_path / "class" / "ana")
    make_submission(tmp_path / "class" / "boris", "cm_transposed")
    one = grade_class(tmp_path / "class", tmp_path / "jobs1", jobs=1, assignment="fashion_mnist", **OPTIONS)
    two = grade_class(tmp_path / "class", tmp_path / "jobs2", jobs=2, assignment="fashion_mnist", **OPTIONS)
    assert one.table["total"].tolist() == [20, 10]
    assert (one.out_dir / "grades.csv").read_bytes() == (two.out_dir / "grades.csv").read_bytes()


def test_kit_grade_class_is_kept_as_another_name(tmp_path):
    (tmp_path / "class" / "chen").mkdir(parents=True)  # handed in nothing the grader reads: fast to grade
    (tmp_path / "class" / "chen" / "notes.txt").write_text("oops")
    out = tmp_path / "grades.csv"
    finished = subprocess.run(
        [sys.executable, "-m", "kit", "grade", "--class", str(tmp_path / "class"), "--out", str(out)]
        + ["--assignment", "fashion_mnist"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    table = pd.read_csv(out)
    assert table["student"].tolist() == ["chen"] and table["total"].tolist() == [0]
    assert (tmp_path / "grades" / "report.md").is_file()
    assert (results_dir(tmp_path / "grades") / "chen" / "results.json").is_file()


def test_cli_class_errors_are_one_sentence(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-m", "kit", "grade", "--class", str(tmp_path / "nobody"), "--out", str(tmp_path / "g.csv")]
        + ["--assignment", "fashion_mnist"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 2 and "does not exist" in finished.stderr and not (tmp_path / "g.csv").exists()
    assert finished.stderr.count("\n") == 1
