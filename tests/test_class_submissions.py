"""A class's submissions from a folder or Gradescope's export (issue 31, points 1 and 6).

Parser tests: the metadata and zips are written here (synthetic, as the standards allow for
parsing and corruption); the homework files in them are the grader tests' real reference answer.
Bad input costs one sentence each and never the rest of the class.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from class_fixtures.build import write_export, zip_folder
from grading.helpers import REFERENCE

from kit.assignments import available
from kit.errors import GradingError
from kit.grading.submissions import open_class

ROOT = Path(__file__).resolve().parent.parent
HOMEWORK = REFERENCE.read_text()
RECORDS = {
    "submission_1001": {"submitters": [("Ana Lima", "1001", "ana@uni.edu")]},
    "submission_1002": {  # a group of two: a row each
        "submitters": [("Boris Ivanov", "1002", "boris@uni.edu"), ("Chen Wei", "", "chen@uni.edu")],
        "created_at": "2026-11-21 09:30:00.000000000 +01:00",
    },
    "submission_1003": {"submitters": [("Dana Noor", "", "")]},  # no sid, no email: named by name
}
FILES = {
    "submission_1001": {"homework.py": HOMEWORK, "report.md": "# mine"},
    "submission_1002": {"homework.py": HOMEWORK + "\n# ours\n"},
    "submission_1003": {"homework.py": HOMEWORK},
}


def test_a_folder_of_student_folders(tmp_path):
    for name in ("zoe", "ana@uni.edu", ".git", "__MACOSX"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "homework.py").write_text(HOMEWORK)
    (tmp_path / "notes.txt").write_text("not a student")
    with open_class(tmp_path, entry="homework.py") as klass:
        assert klass.kind == "folder" and not klass.problems
        assert [s.student for s in klass.students] == ["ana@uni.edu", "zoe"]
        assert klass.has_roster  # a folder named by email gives the gradebook files an email
        assert klass.students[0].email == "ana@uni.edu" and klass.students[1].submission.folder == tmp_path / "zoe"


def test_gradescope_export_unpacked_names_students_by_sid_else_email_else_name(tmp_path):
    write_export(tmp_path, RECORDS, FILES)
    for source in (tmp_path, tmp_path / "assignment_1_export"):  # the zip's folder, or the folder itself
        with open_class(source, entry="homework.py") as klass:
            assert klass.kind == "gradescope" and klass.has_roster and not klass.problems
            keys = [s.student for s in klass.students]
            assert keys == ["1001", "1002", "Dana_Noor", "chen@uni.edu"]
            chen = klass.student("chen@uni.edu")
            assert chen.submission is klass.student("1002").submission  # the group shares one submission
            assert chen.name == "Chen Wei" and chen.sid == "" and chen.submission.id == "submission_1002"
            assert klass.student("1002").submission.created_at.startswith("2026-11-21T09:30:00")
            assert len(klass.submissions()) == 3


def test_gradescope_export_zip_is_extracted_for_the_with_block_only(tmp_path):
    export = write_export(tmp_path / "unpacked", RECORDS, FILES)
    archive = zip_folder(export, tmp_path / "export.zip", prefix="assignment_1_export/")
    with zipfile.ZipFile(archive, "a") as out:  # macOS litter, as Archive Utility leaves it
        out.writestr("__MACOSX/assignment_1_export/._submission_metadata.yml", b"\0")
    with open_class(archive, entry="homework.py") as klass:
        assert klass.source == archive and not klass.problems
        folder = klass.student("1001").submission.folder
        assert (folder / "homework.py").read_text() == HOMEWORK and (folder / "report.md").is_file()
    assert not folder.exists()


def test_a_path_escaping_the_zip_is_skipped_in_one_sentence_and_the_rest_is_read(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("ana/homework.py", HOMEWORK)
        out.writestr("../../escaped.py", "print('out')")
        out.writestr("/etc/absolute.py", "print('out')")
    with open_class(archive, entry="homework.py") as klass:
        assert [s.student for s in klass.students] == ["ana"]
        escaping = [p for p in klass.problems if "points outside the export folder" in p]
        assert len(escaping) == 2 and all(p.count(".") >= 1 and "\n" not in p for p in escaping)
    assert not (tmp_path.parent / "escaped.py").exists() and not (tmp_path / "escaped.py").exists()


def test_a_file_name_that_is_not_utf8_is_named_and_its_folder_keeps_a_row(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("ana/homework.py", HOMEWORK)
        out.writestr("ana/XXXXXXX.py", "x = 1")
    # a cp1251 name without the UTF-8 flag, as an old Windows zip tool writes it: not UTF-8
    archive.write_bytes(archive.read_bytes().replace(b"XXXXXXX", "Задание".encode("cp1251")))
    with open_class(archive, entry="homework.py") as klass:
        assert [s.student for s in klass.students] == ["ana"]
        (problem,) = klass.problems
        assert "not UTF-8" in problem and "skipped" in problem
        assert sorted(p.name for p in klass.students[0].submission.folder.iterdir()) == ["homework.py"]

    folder = tmp_path / "folder"
    (folder / "ana").mkdir(parents=True)
    (folder / "ana" / "homework.py").write_text(HOMEWORK)
    os.mkdir(os.fsencode(folder) + b"/\xe9tudiant")  # latin-1 bytes in a folder name
    with open_class(folder, entry="homework.py") as klass:  # the student keeps a row, with the reason
        assert [s.student for s in klass.students] == ["ana", "xe9tudiant"]
        (problem,) = klass.problems
        assert "not UTF-8" in problem and "\\xe9tudiant" in problem
        assert "not UTF-8" in klass.student("xe9tudiant").submission.problem


def test_a_submission_without_the_entry_file_is_named_and_still_graded(tmp_path):
    files = {**FILES, "submission_1003": {"notes.txt": "I forgot"}}
    write_export(tmp_path, RECORDS, files)
    with open_class(tmp_path, entry="homework.py") as klass:
        assert "Dana_Noor" in [s.student for s in klass.students]
        (problem,) = klass.problems
        assert problem == "submission_1003 (Dana_Noor) has no homework.py: graded as it is (its code checks score 0)."


def test_a_student_in_two_submissions_keeps_the_latest_one(tmp_path):
    records = {
        **RECORDS,
        "submission_1004": {  # Ana again, earlier in UTC although later on the clock
            "submitters": [("Ana Lima", "1001", "ana@uni.edu")],
            "created_at": "2026-11-20 12:00:00.000000000 +09:00",
        },
    }
    write_export(tmp_path, records, {**FILES, "submission_1004": {"homework.py": HOMEWORK}})
    with open_class(tmp_path, entry="homework.py") as klass:
        assert klass.student("1001").submission.id == "submission_1001"
        (problem,) = klass.problems
        assert "1001 appears in 2 submissions" in problem and "the latest, submission_1001, is graded" in problem


def test_a_damaged_entry_marks_its_submission_not_the_class(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as out:
        out.writestr("ana/homework.py", HOMEWORK)
        out.writestr("boris/homework.py", "MARKER" + HOMEWORK)
    data = archive.read_bytes()
    archive.write_bytes(data.replace(b"MARKER", b"MARKEX"))  # boris's bytes no longer match their CRC
    with open_class(archive, entry="homework.py") as klass:
        assert not klass.student("ana").submission.problem
        assert "could not be read" in klass.student("boris").submission.problem
        assert any("boris/homework.py" in p and "could not be read" in p for p in klass.problems)


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"PK\x03\x04 this is not really a zip", "not a zip archive"),
        (b"just text", "not a zip archive"),
    ],
)
def test_a_corrupted_zip_is_one_sentence(tmp_path, content, expected):
    archive = tmp_path / "export.zip"
    archive.write_bytes(content)
    with pytest.raises(GradingError, match=expected) as caught, open_class(archive):
        pass
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)


def test_an_empty_export_is_one_sentence(tmp_path):
    empty_zip = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty_zip, "w"):
        pass
    with pytest.raises(GradingError, match="not a zip archive|holds no files"), open_class(empty_zip):
        pass
    export = tmp_path / "export"
    export.mkdir()
    (export / "submission_metadata.yml").write_text("")
    with pytest.raises(GradingError, match="holds no submissions"), open_class(export):
        pass
    with pytest.raises(GradingError, match="does not exist"), open_class(tmp_path / "nowhere"):
        pass


def test_content_hash_follows_the_graded_files_only(tmp_path):
    (tmp_path / "ana").mkdir()
    (tmp_path / "ana" / "homework.py").write_text(HOMEWORK)
    with open_class(tmp_path) as klass:
        submission = klass.students[0].submission
        files = ("homework.py", "model.keras", "report.md")
        before = submission.content_hash(files)
        (tmp_path / "ana" / "notes.txt").write_text("not graded")
        assert submission.content_hash(files) == before
        (tmp_path / "ana" / "homework.py").write_text(HOMEWORK + "\n# changed\n")
        assert submission.content_hash(files) != before


def test_cli_bad_source_is_one_sentence_and_exit_2(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    for command in (["class", "grade"], ["class", "similarity"]):
        finished = subprocess.run(
            [sys.executable, "-m", "kit", *command, str(tmp_path / "bad.zip"), "--out", str(tmp_path / "out")]
            + ["--assignment", "fashion_mnist"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert finished.returncode == 2, finished.stderr
        assert finished.stderr.startswith("error: ") and "not a zip archive" in finished.stderr
        assert "Traceback" not in finished.stderr and finished.stderr.count("\n") == 1
    finished = subprocess.run(  # several assignments and none named: the valid names, one sentence
        [sys.executable, "-m", "kit", "class", "grade", str(tmp_path), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    expected = f"name one with --assignment ({', '.join(available())})" if len(available()) > 1 else "no submissions"
    assert finished.returncode == 2 and expected in finished.stderr


def test_one_person_is_merged_by_sid_only_where_the_name_or_email_agrees(tmp_path):
    records = {
        "submission_1": {
            "submitters": [("Ana Lima", "1001", "ana@uni.edu")],
            "created_at": "2026-11-20 10:00:00 +00:00",
        },
        "submission_2": {
            "submitters": [("ANA LIMA-SOUZA", "1001", "Ana@Uni.edu")],
            "created_at": "2026-11-21 10:00:00 +00:00",
        },
        "submission_3": {"submitters": [("Boris Ivanov", "1001", "boris@uni.edu")]},
    }
    write_export(tmp_path, records, {name: {"homework.py": HOMEWORK} for name in records})
    with open_class(tmp_path, entry="homework.py") as klass:
        people = {s.student: (s.name, s.submission.id) for s in klass.students}
        # the same email (any case): one person, the latest submission; another name and email: another person
        assert people == {"1001": ("ANA LIMA-SOUZA", "submission_2"), "1001-2": ("Boris Ivanov", "submission_3")}
        assert any("2 different people share the id '1001'" in p for p in klass.problems)
        assert any("1001 appears in 2 submissions" in p for p in klass.problems)
