"""Grades into the LMS: ``grades.csv`` always, ``canvas.csv`` and ``moodle.csv`` from the export's roster.

- ``grades.csv``: a row per student, first column ``student``; each check's points, ``total``,
  ``max``, the leaderboard figure where the assignment has one, and ``error`` (why a student has
  no grade: a grader fault, a submission the export could not give). No timings, so the file is
  the same for any ``--jobs``.
- ``canvas.csv``: Canvas' gradebook import (Grades > Import): ``Student``, ``ID``, ``SIS User ID``,
  ``SIS Login ID``, ``Section``, then one column named for the assignment; a first row
  ``Points Possible`` gives its maximum. Canvas matches rows by ``ID``, ``SIS User ID`` or ``SIS
  Login ID``: the export's SID goes to ``SIS User ID`` and its email to ``SIS Login ID`` (``ID`` is
  Canvas' own number, which the export does not know, so it stays empty).
- ``moodle.csv``: ``email``, ``grade``, for Moodle's "Import grades from CSV" (map ``email`` to
  "Email address" and ``grade`` to the grade item).

A student without a grade (grader fault, not graded) has an empty grade in the LMS files, never 0.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd

from kit.grading.submissions import ClassSubmissions

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def grades_table(rows: list[dict]) -> pd.DataFrame:
    """The class table, sorted by student (rows from ``kit.grading.classroom``)."""
    return pd.DataFrame(sorted(rows, key=lambda row: row["student"]))


def write_grades(table: pd.DataFrame, out_dir: str | os.PathLike) -> Path:
    path = Path(out_dir) / "grades.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return path


def _grade(value) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):g}"


def write_canvas(
    table: pd.DataFrame, klass: ClassSubmissions, out_dir: str | os.PathLike, *, column: str, points: float
) -> Path:
    """``canvas.csv``: one row per student of the roster, the total under ``column``."""
    path = Path(out_dir) / "canvas.csv"
    totals = dict(zip(table["student"], table["total"], strict=True))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*CANVAS_COLUMNS, column])
        writer.writerow(["Points Possible", "", "", "", "", f"{points:g}"])
        for student in klass.students:
            name = student.name or student.student
            writer.writerow(
                [name, "", student.sid, student.email, student.section, _grade(totals.get(student.student))]
            )
    return path


def write_moodle(table: pd.DataFrame, klass: ClassSubmissions, out_dir: str | os.PathLike) -> Path | None:
    """``moodle.csv``: email and grade of each student the roster gives an email; None where none has one."""
    with_email = [s for s in klass.students if s.email]
    if not with_email:
        return None
    totals = dict(zip(table["student"], table["total"], strict=True))
    path = Path(out_dir) / "moodle.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "grade"])
        for student in with_email:
            writer.writerow([student.email, _grade(totals.get(student.student))])
    return path


def write_gradebooks(
    table: pd.DataFrame, klass: ClassSubmissions, out_dir: str | os.PathLike, *, column: str, points: float
) -> list[Path]:
    """``grades.csv`` always; ``canvas.csv`` and ``moodle.csv`` where the source gave a roster (SIDs, emails)."""
    written = [write_grades(table, out_dir)]
    if klass.has_roster:
        written.append(write_canvas(table, klass, out_dir, column=column, points=points))
        moodle = write_moodle(table, klass, out_dir)
        if moodle is not None:
            written.append(moodle)
    return written
