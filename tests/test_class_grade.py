"""A whole class graded: grades, results, report, similarity, gradebook files, resumable (issue 31, points 2-6).

Most tests grade a small class on two checks (``checks=``: a quick look, written to
``DIR/quick-look``) to stay fast; one slow test grades a small mixed class on the whole rubric.
Submissions are the grader tests' reference and mutations. What a real export throws at the
gradebook (issue 40) is tests/test_class_roster.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from class_fixtures.build import write_export, zip_folder
from grading.helpers import REFERENCE, make_submission, save_model

from kit.errors import GradingError
from kit.grading.classroom import KEY_FILE, grade_class, results_dir

pytestmark = pytest.mark.grading
ROOT = Path(__file__).resolve().parent.parent
CHECKS = ["confusion_matrix", "f1_scores"]
FAST = {"checks": CHECKS, "timeout_scale": 0.6, "progress": False, "assignment": "fashion_mnist"}


def _class(folder: Path) -> Path:
    make_submission(folder / "ana")
    make_submission(folder / "boris", "cm_transposed")
    (folder / "chen").mkdir(parents=True)
    (folder / "chen" / "notes.txt").write_text("I uploaded the wrong file")
    make_submission(folder / "dan")  # ana's answer with its comments changed
    text = (folder / "dan" / "homework.py").read_text().replace("# --- Step", "# Step")
    (folder / "dan" / "homework.py").write_text(text)
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(source, the class folder, the quick look's folder, the result)."""
    base = tmp_path_factory.mktemp("class")
    source, out = _class(base / "source"), base / "out"
    result = grade_class(source, out, jobs=2, **FAST)
    return source, out, result.out_dir, result


def _png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_row_per_student_with_each_check_the_total_and_results(graded):
    source, klass, out, result = graded
    assert result.quick_look and out == klass / "quick-look"
    assert not (klass / "grades.csv").exists() and not (klass / "report.md").exists()  # the class's own: untouched
    table = pd.read_csv(out / "grades.csv", keep_default_na=False, na_values=[""])
    assert list(table.columns) == ["student", "name", "email", *CHECKS, "total", "max", "error"]  # no model: no figure
    assert table["name"].tolist() == ["ana", "boris", "chen", "dan"]
    rows = table.set_index("student")
    assert rows["total"].to_dict() == {"ana": 20, "boris": 10, "chen": 0, "dan": 20}
    assert rows.loc["boris", "confusion_matrix"] == 0 and rows.loc["boris", "f1_scores"] == 10
    assert table["error"].isna().all() and not result.faults and sorted(result.graded) == list(rows.index)
    for student in rows.index:
        results = json.loads((results_dir(out) / student / "results.json").read_text())
        assert results["score"] == rows.loc[student, "total"]
        assert {t["tags"][0] for t in results["tests"]} == set(CHECKS)
        assert len(json.loads((results_dir(out) / student / KEY_FILE).read_text())["key"]) == 64
    assert not (out / "canvas.csv").exists()  # a folder of names gives no roster


def test_the_report_shows_what_went_wrong_with_pictures(graded):
    _, _, out, result = graded
    report = (out / "report.md").read_text()
    sections = ("## Scores", "## Checks", "## What went wrong", "## Similarity", "## Problems with the submissions")
    assert all(section in report for section in sections)
    assert _png(out / "scores.png") and _png(out / "checks.png")
    assert "- **1** x the confusion matrix differs from scikit-learn's" in report  # boris, counted
    assert "- **1** x No homework.py in the submission" in report  # chen, on each check
    assert "| confusion_matrix | visible | 10 | 4 | 5.00 | 50 | 0 | 50 |" in report
    assert "(a quick look)" in report and "never changes" in report
    assert "chen has no homework.py" in report
    assert "| ana | dan | 1.00 |" in report  # the copy, flagged; the reference pair ana-boris too
    assert (out / "similarity.html").is_file() and (out / "similarity.csv").is_file()


def test_a_second_run_grades_only_what_changed(graded, tmp_path):
    source, klass, _, _ = graded
    shutil.copytree(source, tmp_path / "source")
    shutil.copytree(klass, tmp_path / "out")
    before = (tmp_path / "out" / "quick-look" / "grades.csv").read_bytes()
    again = grade_class(tmp_path / "source", tmp_path / "out", **FAST)
    assert again.graded == [] and sorted(again.kept) == ["ana", "boris", "chen", "dan"]
    assert (tmp_path / "out" / "quick-look" / "grades.csv").read_bytes() == before
    shutil.copyfile(REFERENCE, tmp_path / "source" / "boris" / "homework.py")  # boris fixes his matrix
    (tmp_path / "source" / "ana" / "notes.txt").write_text("not a graded file: no regrade")
    fixed = grade_class(tmp_path / "source", tmp_path / "out", **FAST)
    assert fixed.graded == ["boris"] and fixed.table.set_index("student").loc["boris", "total"] == 20
    only = grade_class(tmp_path / "source", tmp_path / "out", students=["chen"], **FAST)
    assert only.graded == ["chen"] and len(only.kept) == 3
    with pytest.raises(GradingError, match="No student 'zed'.*students: ana, boris, chen, dan"):
        grade_class(tmp_path / "source", tmp_path / "out", students=["zed"], **FAST)


def test_a_gradescope_zip_with_a_group_hidden_checks_and_a_damaged_entry(tmp_path):
    """The export as Gradescope hands it out: a row per submitter, the LMS files, hidden vs visible."""
    reference = REFERENCE.read_text()
    transposed = make_submission(tmp_path / "made", "cm_transposed") / "homework.py"
    records = {
        "submission_1": {"submitters": [("Ana Lima", "1001", "ana@uni.edu")]},
        "submission_2": {"submitters": [("Boris Ivanov", "1002", "boris@uni.edu"), ("Chen Wei", "1003", "")]},
        "submission_3": {"submitters": [("Dana Noor", "1004", "dana@uni.edu")]},
    }
    files = {
        "submission_1": {"homework.py": reference},
        "submission_2": {"homework.py": transposed.read_text()},
        "submission_3": {"homework.py": "MARKER" + reference},
    }
    export = write_export(tmp_path / "unpacked", records, files)
    archive = zip_folder(export, tmp_path / "export.zip", prefix="assignment_1_export/", stored=True)
    archive.write_bytes(archive.read_bytes().replace(b"MARKER", b"MARKEX"))  # dana's bytes no longer match their CRC
    options = {**FAST, "checks": ["confusion_matrix", "confusion_matrix_hidden"]}
    result = grade_class(archive, tmp_path / "out", similarity=False, **options)  # hidden checks: the default
    table = result.table.set_index("student")
    assert list(table.index) == ["1001", "1002", "1003", "1004"]
    assert table.loc["1001", "total"] == 15 and table.loc["1002", "total"] == table.loc["1003", "total"] == 0
    assert pd.isna(table.loc["1004", "total"]) and "could not be read" in table.loc["1004", "error"]
    assert "1004" in result.not_graded and not result.faults and not result.complete
    assert table.loc["1004", "name"] == "Dana Noor" and table.loc["1004", "email"] == "dana@uni.edu"
    assert not list((tmp_path / "out").glob("*.csv"))  # a quick look writes no LMS file
    report = (result.out_dir / "report.md").read_text()
    assert "## Hidden versus visible checks" in report
    assert "| confusion_matrix_hidden | confusion_matrix | 33% | 33% | 0 |" in report
    assert "- `1004` (Dana Noor, dana@uni.edu): " in report  # who could not be graded, by name
    stored = [json.loads((results_dir(result.out_dir) / s / "results.json").read_text()) for s in ("1002", "1003")]
    assert stored[0] == stored[1]  # one grading, written for each member of the group


def _sandbox_processes(grader_pid: int) -> list[int]:
    """Live processes started from a grader's sandbox folder (``/tmp/kit-grade-<pid>-...``)."""
    marker = f"kit-grade-{grader_pid}-".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_kill_9_loses_nothing_already_graded_and_leaves_no_orphan(tmp_path):
    source = tmp_path / "source"
    for name in ("ana", "boris", "chen"):
        make_submission(source / name)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "kit", "class", "grade", str(source), "--out", str(out)]
    command += ["--assignment", "fashion_mnist", "--checks", "confusion_matrix", "--no-similarity"]
    child = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL)
    look = results_dir(out / "quick-look")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and child.poll() is None:  # killed while a sandbox child works
        if list(look.glob(f"*/{KEY_FILE}")) and _sandbox_processes(child.pid):
            break
        time.sleep(0.1)
    os.kill(child.pid, signal.SIGKILL)  # the grader alone, as the OOM killer would: not its process group
    child.wait()
    first = {p.parent.name for p in look.glob(f"*/{KEY_FILE}")}
    assert first and len(first) < 3, "the run finished before it could be killed"
    deadline = time.monotonic() + 10
    while _sandbox_processes(child.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _sandbox_processes(child.pid)  # the sandbox workers died with the grader (PR_SET_PDEATHSIG)
    left = list(Path(tempfile.gettempdir()).glob(f"kit-grade-{child.pid}-*"))
    assert left  # the killed grader could not clean up its scratch folder ...
    resumed = grade_class(source, out, checks=["confusion_matrix"], progress=False, assignment="fashion_mnist")
    assert not any(p.exists() for p in left)  # ... the next run removed it
    assert set(resumed.kept) == first and set(resumed.graded) == {"ana", "boris", "chen"} - first
    assert resumed.table["total"].tolist() == [10, 10, 10]


@pytest.mark.slow
def test_a_small_mixed_class_graded_on_the_whole_rubric(tmp_path):
    source = tmp_path / "source"
    make_submission(source / "ana")
    save_model(source / "ana" / "model.keras", "softmax")  # a valid, untrained probability model
    make_submission(source / "boris", "cm_transposed")
    (source / "chen").mkdir()
    (source / "chen" / "homework.py").write_text("def confusion_matrix(:\n")  # does not even parse
    result = grade_class(source, tmp_path / "out", jobs=2, hidden=False, progress=False, assignment="fashion_mnist")
    table = result.table.set_index("student")
    assert "macro-F1" in table.columns and table.loc["ana", "macro-F1"] < 0.5
    assert pd.isna(table.loc["boris", "macro-F1"])  # no model: no figure (never a 0 on the leaderboard)
    assert table.loc["ana", "total"] == 80 and table.loc["ana", "model"] == 5  # every code check + a valid model
    assert table.loc["boris", "total"] == 65 and table.loc["chen", "total"] == 0  # boris: no model, cm 0
    assert table.loc["ana", "max"] == 100 and not result.faults
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## macro-F1 of the submitted models" in report and _png(tmp_path / "out" / "figure.png")
    assert "| 1 | ana | ana |" in report and "(1 models)" in report  # the leaderboard: scored models only
