"""Grades into the LMS: ``grades.csv`` always, ``canvas.csv`` and ``moodle.csv`` from the export's roster.

- ``grades.csv``: a row per student of the class, always (``kit.grading.classroom``): ``student``
  (the key), ``name``, ``email``, each check's points, ``total``, ``max``, the leaderboard figure
  where a model was scored, and ``error`` (why a student has no grade: a grader fault, a
  submission the export could not give). No timings, so the file is the same for any ``--jobs``.
- ``canvas.csv``: Canvas' gradebook import (Grades > Import): ``Student``, ``ID``, ``SIS User ID``,
  ``SIS Login ID``, ``Section``, then one column for the assignment; a first row ``Points
  Possible`` gives its maximum. Canvas matches rows by ``ID``, ``SIS User ID`` or ``SIS Login
  ID``: the export's SID goes to ``SIS User ID`` and its email to ``SIS Login ID`` (``ID`` is
  Canvas' own number, which the export does not know, so it stays empty). Canvas updates an
  existing assignment only where the column is named ``Title (ID)`` as its own gradebook export
  names it (``--lms-column "Homework 1 (12345)"``); another name makes a new assignment. A student
  without a grade has an empty cell; Canvas lists every change on its import page before saving.
- ``moodle.csv``: ``email``, ``grade``, for Moodle's "Import grades from CSV" (map ``email`` to
  "Email address" and ``grade`` to the grade item). Moodle reads an empty cell as "no grade" and
  clears a grade already there, and stops the whole import at an email it cannot find, so only
  students with a grade are written; the others are returned (and listed in the report and on
  stderr), never written as 0 or as an empty cell.

Every file is written through a temporary file of its own name (``kit.files``): a reader never
sees half a file.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pandas as pd

from kit.files import write_text
from kit.grading.submissions import ClassSubmissions

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def grades_table(rows: list[dict]) -> pd.DataFrame:
    """The class table, sorted by student (rows from ``kit.grading.classroom``)."""
    return pd.DataFrame(sorted(rows, key=lambda row: row["student"]))


def write_grades(table: pd.DataFrame, out_dir: str | os.PathLike) -> Path:
    """``grades.csv``: the table as it is."""
    return write_text(Path(out_dir) / "grades.csv", table.to_csv(index=False))


def _grade(value) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):g}"


def _csv(rows: list[list[str]]) -> str:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue()


def write_canvas(
    table: pd.DataFrame, klass: ClassSubmissions, out_dir: str | os.PathLike, *, column: str, points: float
) -> Path:
    """``canvas.csv``: one row per student of the roster, the total under ``column`` (empty: no grade)."""
    totals = dict(zip(table["student"], table["total"], strict=True))
    rows = [[*CANVAS_COLUMNS, column], ["Points Possible", "", "", "", "", f"{points:g}"]]
    for student in klass.students:
        name = student.name or student.student
        rows.append([name, "", student.sid, student.email, student.section, _grade(totals.get(student.student))])
    return write_text(Path(out_dir) / "canvas.csv", _csv(rows))


def write_moodle(
    table: pd.DataFrame, klass: ClassSubmissions, out_dir: str | os.PathLike
) -> tuple[Path | None, list[str]]:
    """``moodle.csv``: email and grade of each roster student with an email and a grade (None where none).

    Returns the path and the students with an email left out for want of a grade.
    """
    with_email = [s for s in klass.students if s.email]
    if not with_email:
        return None, []
    totals = dict(zip(table["student"], table["total"], strict=True))
    rows, left_out = [["email", "grade"]], []
    for student in with_email:
        grade = _grade(totals.get(student.student))
        if grade:
            rows.append([student.email, grade])  # as the export gives it: Moodle compares emails as text
        else:
            left_out.append(student.student)
    return write_text(Path(out_dir) / "moodle.csv", _csv(rows)), left_out


def write_gradebooks(
    table: pd.DataFrame, klass: ClassSubmissions, out_dir: str | os.PathLike, *, column: str, points: float
) -> tuple[list[Path], list[str]]:
    """``grades.csv`` always; ``canvas.csv`` and ``moodle.csv`` where the source gave a roster (SIDs, emails).

    Returns the files written and the students left out of moodle.csv (no grade yet).
    """
    written, left_out = [write_grades(table, out_dir)], []
    if klass.has_roster:
        written.append(write_canvas(table, klass, out_dir, column=column, points=points))
        moodle, left_out = write_moodle(table, klass, out_dir)
        if moodle is not None:
            written.append(moodle)
    return written, left_out
