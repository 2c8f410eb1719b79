"""The gradebook never loses a student (issue 40): a class as Gradescope's export really comes.

One export zip holds what real courses produce: a group, two people typed with the same SID, two
SIDs that make the same folder name, a ``homework.py`` that is a link, one taken for a zip bomb,
one with a bad CRC, and a roster entry whose folder is missing. It is graded once on the whole
rubric (hidden checks included: the default); each test then asserts that every roster student
has a row and that nothing graded is lost, on that folder or on a copy (a quick look on it, an
engine change, two graders at once). The submissions are cheap on purpose (a file that does not
parse, the reference's two numpy functions): what is graded is tested by the grader's own tests.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from class_fixtures.build import write_export, zip_folder
from grading.helpers import REFERENCE

from kit.errors import GradingError
from kit.grading.classroom import KEY_FILE, LOCK_FILE, grade_class, results_dir
from kit.grading.engine import engine_key
from kit.grading.rubric import load_rubric
from kit.grading.submissions import open_class

pytestmark = pytest.mark.grading
ROOT = Path(__file__).resolve().parent.parent
BROKEN = "def confusion_matrix(:\n"  # does not parse: every check 0, graded in seconds
COLUMN = "Homework 1 (12345)"
ROSTER = {  # submission folder -> submitters (name, sid, email)
    "submission_1": [("Ana Lima", "1001", "ana@uni.edu"), ("Boris Ivanov", "1002", "boris@uni.edu")],  # a group
    "submission_2": [("Chen Wei", "1003", "chen@uni.edu")],
    "submission_3": [("Dana Noor", "1003", "dana@uni.edu")],  # the same SID typed for another person
    "submission_4": [("Eve Stone", "12/34", "eve@uni.edu")],
    "submission_5": [("Farid Khan", "12 34", "farid@uni.edu")],  # another SID, the same folder name 12_34
    "submission_6": [("Gita Rao", "1006", "gita@uni.edu")],  # homework.py is a symbolic link in the zip
    "submission_7": [("Hugo Berg", "1007", "hugo@uni.edu")],  # a valid 19 MB homework.py: taken for a zip bomb
    "submission_8": [("Ines Roth", "1008", "ines@uni.edu")],  # its bytes no longer match their CRC
    "submission_9": [("Jon Park", "1009", "jon@uni.edu")],  # in the metadata, no folder in the zip
}
GRADED = {"1001", "1002", "1003", "1003-2", "12_34", "12_34-2"}
NOT_GRADED = {
    "1006": "symbolic link",
    "1007": "zip bomb",
    "1008": "could not be read",
    "1009": "no folder",
}


def _numpy_functions() -> str:
    """The reference's confusion_matrix and f1_scores alone: 30 points, no start of Keras in the student's child."""
    source = REFERENCE.read_text()
    keep = [node for node in ast.parse(source).body if getattr(node, "name", "") in ("confusion_matrix", "f1_scores")]
    return "import numpy as np\n\n\n" + "\n\n\n".join(ast.get_source_segment(source, node) for node in keep) + "\n"


def build_export(folder: Path) -> Path:
    """The export zip (module docstring)."""
    records = {name: {"submitters": people} for name, people in ROSTER.items()}
    files = {
        name: {"homework.py": BROKEN} for name in ROSTER if name not in ("submission_6", "submission_7", "submission_9")
    }
    files["submission_1"] = {"homework.py": _numpy_functions()}
    files["submission_8"] = {"homework.py": "MARKER" + BROKEN}
    export = write_export(folder / "unpacked", records, files)
    archive = zip_folder(export, folder / "export.zip", prefix="assignment_1_export/", stored=True)
    archive.write_bytes(archive.read_bytes().replace(b"MARKER", b"MARKEX"))  # ines's CRC no longer matches
    with zipfile.ZipFile(archive, "a", compression=zipfile.ZIP_DEFLATED) as out:
        link = zipfile.ZipInfo("assignment_1_export/submission_6/homework.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        out.writestr(link, "../../../../etc/passwd")
        padded = BROKEN + "\n" * 19_000_000  # blank lines: a valid file that compresses ~1000:1
        out.writestr("assignment_1_export/submission_7/homework.py", padded)
    return archive


def _points(*, hidden: bool) -> float:
    return sum(check.points for check in load_rubric("fashion_mnist").select(hidden=hidden))


def _everyone(table: pd.DataFrame) -> None:
    """Each roster person has exactly one row, with their name and email."""
    people = {(name, email) for submitters in ROSTER.values() for name, _, email in submitters}
    assert set(zip(table["name"], table["email"], strict=True)) == people and len(table) == len(people)
    assert set(table["student"]) == GRADED | set(NOT_GRADED)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """(the export, the class folder, the result): graded once on the whole rubric."""
    base = tmp_path_factory.mktemp("roster")
    archive = build_export(base)
    result = grade_class(archive, base / "class", jobs=2, progress=False, assignment="fashion_mnist", lms_column=COLUMN)
    return archive, base / "class", result


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "quick-look" not in p.parts and p.name != LOCK_FILE
    }


def test_every_roster_student_has_a_row_and_the_reason_where_there_is_no_grade(graded_class):
    _, folder, result = graded_class
    assert not result.quick_look and result.out_dir == folder and not result.complete
    table = pd.read_csv(folder / "grades.csv", dtype={"student": str}, keep_default_na=False, na_values=[""])
    _everyone(table)
    rows = table.set_index("student")
    assert rows.loc["1001", "total"] == rows.loc["1002", "total"] == 30  # the group: one grading, two rows
    assert rows.loc["1003", "name"] == "Chen Wei" and rows.loc["1003-2", "name"] == "Dana Noor"  # never merged
    assert {rows.loc["12_34", "name"], rows.loc["12_34-2", "name"]} == {"Eve Stone", "Farid Khan"}  # never dropped
    for student in GRADED - {"1001", "1002"}:
        assert rows.loc[student, "total"] == 0 and pd.isna(rows.loc[student, "error"])
    for student, reason in NOT_GRADED.items():
        assert pd.isna(rows.loc[student, "total"]) and reason in rows.loc[student, "error"], student
    assert rows.loc["1001", "max"] == _points(hidden=True) > _points(hidden=False)  # hidden included: Gradescope's
    assert "macro-F1" not in table.columns  # no model was scored: no leaderboard of zeros
    for student in GRADED:
        assert (results_dir(folder) / student / "results.json").is_file()
    problems = " ".join(result.problems)
    assert "2 different people share the id '1003'" in problems and "kept as 12_34-2" in problems
    report = (folder / "report.md").read_text()
    assert "- `1006` (Gita Rao, gita@uni.edu): " in report and "## macro-F1" not in report


def test_the_lms_files_name_everyone_canvas_can_match_and_moodle_erases_no_grade(graded_class):
    _, folder, result = graded_class
    canvas = list(csv.reader((folder / "canvas.csv").open(encoding="utf-8")))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", COLUMN]
    assert canvas[1] == ["Points Possible", "", "", "", "", f"{_points(hidden=True):g}"]
    assert len(canvas) == 2 + 10 and ["Ana Lima", "", "1001", "ana@uni.edu", "", "30"] in canvas
    assert ["Gita Rao", "", "1006", "gita@uni.edu", "", ""] in canvas  # no grade: empty, which Canvas leaves as it is
    moodle = list(csv.reader((folder / "moodle.csv").open(encoding="utf-8")))
    assert moodle[0] == ["email", "grade"] and all(grade != "" for _, grade in moodle[1:])
    assert {email for email, _ in moodle[1:]} == {
        "ana@uni.edu", "boris@uni.edu", "chen@uni.edu", "dana@uni.edu", "eve@uni.edu", "farid@uni.edu"
    }  # fmt: skip
    assert sorted(result.not_in_lms) == sorted(NOT_GRADED)
    assert "## Not in moodle.csv" in (folder / "report.md").read_text()


def test_a_quick_look_on_a_full_folder_changes_nothing_of_the_class(graded_class, tmp_path):
    archive, folder, _ = graded_class
    shutil.copytree(folder, tmp_path / "class")
    before = _snapshot(tmp_path / "class")
    look = grade_class(
        archive, tmp_path / "class", checks=["confusion_matrix"], progress=False, assignment="fashion_mnist"
    )
    assert look.quick_look and look.out_dir == tmp_path / "class" / "quick-look"
    assert (
        _snapshot(tmp_path / "class") == before
    )  # grades.csv, canvas.csv, moodle.csv, report.md, results: as they were
    table = pd.read_csv(look.out_dir / "grades.csv", dtype={"student": str})
    _everyone(table)
    assert not (look.out_dir / "canvas.csv").exists() and not (look.out_dir / "moodle.csv").exists()
    again = grade_class(archive, tmp_path / "class", progress=False, assignment="fashion_mnist", lms_column=COLUMN)
    assert again.graded == [] and sorted(again.kept) == sorted(GRADED)  # the full grading is still whole


@pytest.mark.slow
def test_an_engine_change_regrades_everyone_and_one_grader_at_a_time(graded_class, tmp_path):
    archive, folder, _ = graded_class
    shutil.copytree(folder, tmp_path / "class")
    for meta_path in results_dir(tmp_path / "class").glob(f"*/{KEY_FILE}"):  # graded by an older engine
        meta = json.loads(meta_path.read_text())
        meta_path.write_text(json.dumps({**meta, "engine": "an earlier engine"}))
    with pytest.raises(GradingError, match="run without --only to regrade everyone"):
        grade_class(archive, tmp_path / "class", students=["1001"], progress=False, assignment="fashion_mnist")
    command = [sys.executable, "-m", "kit", "class", "grade", str(archive), "--out", str(tmp_path / "class")]
    command += ["--assignment", "fashion_mnist", "--no-similarity", "--lms-column", COLUMN]
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = tmp_path / "class" / LOCK_FILE
    deadline = time.monotonic() + 120
    while f"pid {child.pid}," not in (lock.read_text() if lock.is_file() else "") and time.monotonic() < deadline:
        time.sleep(0.1)
    with pytest.raises(GradingError, match="is being graded by another `kit class grade`") as caught:
        grade_class(archive, tmp_path / "class", progress=False, assignment="fashion_mnist")
    assert f"pid {child.pid}" in str(caught.value) and "\n" not in str(caught.value)
    out, err = child.communicate(timeout=600)
    assert child.returncode == 2, err  # four roster students have no grade: never a silent 0 exit
    assert "changed since 6 student(s) were graded: regrading them" in out
    assert "\nleft out of moodle.csv (no grade yet" in err and "error: 4 student(s) could not be graded" in err
    assert "Traceback" not in err
    engine = engine_key()
    for student in GRADED:
        assert json.loads((results_dir(tmp_path / "class") / student / KEY_FILE).read_text())["engine"] == engine
    table = pd.read_csv(tmp_path / "class" / "grades.csv", dtype={"student": str})
    _everyone(table)
    assert table.set_index("student").loc["1001", "total"] == 30


def test_the_engine_key_follows_the_kits_source_but_not_the_labs(tmp_path):
    (tmp_path / "grading").mkdir()
    (tmp_path / "labs").mkdir()
    (tmp_path / "grading" / "judges.py").write_text("THRESHOLD = 0.5\n")
    (tmp_path / "labs" / "lab.py").write_text("x = 1\n")
    before = engine_key(tmp_path)
    (tmp_path / "labs" / "lab.py").write_text("x = 2\n")
    assert engine_key(tmp_path) == before
    (tmp_path / "grading" / "judges.py").write_text("THRESHOLD = 0.6\n")
    assert engine_key(tmp_path) != before and engine_key() != before


def test_what_is_not_a_class_is_refused_in_one_sentence(tmp_path):
    project = tmp_path / "project.zip"  # a student's own project zip
    with zipfile.ZipFile(project, "w") as out:
        out.writestr("homework.py", BROKEN)
        out.writestr("runs/notes.txt", "mine")
    no_roster = tmp_path / "no_roster.zip"  # an export that lost its submission_metadata.yml
    with zipfile.ZipFile(no_roster, "w") as out:
        out.writestr("assignment_1_export/submission_1/homework.py", BROKEN)
        out.writestr("assignment_1_export/submission_2/homework.py", BROKEN)
    cases = {project: "one student's submission, not a class", no_roster: "without its submission_metadata.yml"}
    for source, expected in cases.items():
        with pytest.raises(GradingError, match=expected) as caught, open_class(source, entry="homework.py"):
            pass
        assert "\n" not in str(caught.value) and str(caught.value).endswith(".")
    (tmp_path / "class" / "ana").mkdir(parents=True)
    (tmp_path / "class" / "ana" / "homework.py").write_text(BROKEN)
    with pytest.raises(GradingError, match="is inside the source"):
        grade_class(tmp_path / "class", tmp_path / "class" / "graded", progress=False, assignment="fashion_mnist")
    assert not (tmp_path / "class" / "graded").exists()


def test_a_wrapped_class_folder_is_read_through_its_wrapper(tmp_path):
    archive = tmp_path / "class.zip"  # a zip of a folder of student folders
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("hw1/ana/homework.py", BROKEN)
        out.writestr("hw1/boris/homework.py", BROKEN)
    with open_class(archive, entry="homework.py") as klass:
        assert [s.student for s in klass.students] == ["ana", "boris"] and not klass.problems


def test_the_similarity_page_shows_a_bounded_excerpt_of_a_huge_file(tmp_path):
    from kit.assignments import get
    from kit.grading.similarity import EXCERPT_CHARS, compare_class, write_similarity

    stub = "import numpy as np\n\n\ndef confusion_matrix(y_true, y_pred, num_classes):\n    return np.zeros(3)\n"
    for name, extra in (("ana", 40_000), ("boris", 1)):
        (tmp_path / "class" / name).mkdir(parents=True)
        lines = "".join(f"value_{i} = {i} * {i % 7}\n" for i in range(extra))
        (tmp_path / "class" / name / "homework.py").write_text(stub + lines)
    with open_class(tmp_path / "class") as klass:
        found = compare_class(klass, get("fashion_mnist").files)
        page = write_similarity(found, tmp_path / "out")
    size = (tmp_path / "class" / "ana" / "homework.py").stat().st_size
    assert size > 10 * EXCERPT_CHARS and page.stat().st_size < 3 * EXCERPT_CHARS
    assert "more characters not shown" in page.read_text()


def test_the_scratch_folders_of_a_dead_process_are_swept(tmp_path, monkeypatch):
    from kit.files import scratch_folder, sweep_scratch

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    left = tmp_path / f"kit-test-{int(dead.stdout)}-abcd"
    left.mkdir()
    (left / "file").write_text("left by a killed run")
    mine = scratch_folder("kit-test-")
    assert not left.exists() and mine.is_dir() and mine.name.startswith(f"kit-test-{os.getpid()}-")
    assert sweep_scratch("kit-test-") == [] and mine.is_dir()  # a live process's folder stays
