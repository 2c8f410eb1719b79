"""Grades into the LMS: grades.csv, Canvas' gradebook import and Moodle's CSV import (issue 31, point 5)."""

from __future__ import annotations

import csv

import pandas as pd
from class_fixtures.build import write_export
from grading.helpers import REFERENCE

from kit.grading.gradebook import CANVAS_COLUMNS, write_gradebooks
from kit.grading.submissions import open_class

RECORDS = {
    "submission_1": {"submitters": [("Ana Lima", "1001", "ana@uni.edu")]},
    "submission_2": {"submitters": [("Boris Ivanov", "1002", "boris@uni.edu"), ("Chen Wei", "1003", "")]},
    "submission_3": {"submitters": [("Dana Noor", "", "dana@uni.edu")]},
}
FILES = {name: {"homework.py": REFERENCE.read_text()} for name in RECORDS}


def _table(totals: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [{"student": s, "total": t, "max": 100.0, "error": "" if t is not None else "fault"} for s, t in totals.items()]
    )


def test_canvas_and_moodle_files_from_the_exports_roster(tmp_path):
    write_export(tmp_path / "export", RECORDS, FILES)
    table = _table({"1001": 87.5, "1002": 60.0, "1003": 60.0, "dana@uni.edu": None})  # dana: a grader fault
    with open_class(tmp_path / "export") as klass:
        written, left_out = write_gradebooks(table, klass, tmp_path / "out", column="Homework 1", points=100)
    assert [p.name for p in written] == ["grades.csv", "canvas.csv", "moodle.csv"] and left_out == ["dana@uni.edu"]
    rows = list(csv.reader((tmp_path / "out" / "canvas.csv").open()))
    assert rows[0] == [*CANVAS_COLUMNS, "Homework 1"] and rows[1] == ["Points Possible", "", "", "", "", "100"]
    assert ["Ana Lima", "", "1001", "ana@uni.edu", "", "87.5"] in rows
    assert ["Chen Wei", "", "1003", "", "", "60"] in rows  # a group member has the group's grade
    assert ["Dana Noor", "", "", "dana@uni.edu", "", ""] in rows  # no grade: empty, never 0
    moodle = list(csv.reader((tmp_path / "out" / "moodle.csv").open()))
    # no row without a grade (Moodle would clear dana's grade), none without an email (chen)
    assert moodle == [["email", "grade"], ["ana@uni.edu", "87.5"], ["boris@uni.edu", "60"]]
    assert pd.read_csv(tmp_path / "out" / "grades.csv")["student"].tolist() == list(table["student"])


def test_a_folder_without_a_roster_gets_grades_csv_only(tmp_path):
    (tmp_path / "class" / "ana").mkdir(parents=True)
    with open_class(tmp_path / "class") as klass:
        written, _ = write_gradebooks(_table({"ana": 50.0}), klass, tmp_path / "out", column="Homework 1", points=100)
    assert [p.name for p in written] == ["grades.csv"] and not (tmp_path / "out" / "canvas.csv").exists()
