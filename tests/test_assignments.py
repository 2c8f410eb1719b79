"""Assignments are folders the kit knows nothing about: manifests, discovery, and a new assignment graded as it is."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kit import assignments
from kit.errors import KitError

ROOT = Path(__file__).resolve().parent.parent
# the course's assignments, read from the folders (a new folder needs no change here)
FOLDERS = sorted(p.parent.name for p in (ROOT / "solutions").glob(f"*/{assignments.MANIFEST}"))


def _kit(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kit", *args], capture_output=True, text=True, cwd=cwd)


def test_the_course_lists_every_assignment_folder_and_each_manifest_reads():
    assert len(FOLDERS) >= 2 and assignments.available() == FOLDERS
    for name in FOLDERS:
        assignment = assignments.get(name)
        assert assignment.name == name and assignment.title and (assignment.folder / assignment.entry).is_file()
    homework = assignments.get("fashion_mnist")
    assert homework.entry == "homework.py" and "model.keras" in homework.files and homework.leaderboard == "macro-F1"
    assert homework.folder == ROOT / "solutions" / "fashion_mnist" and homework.runner == "runner.py"
    assert assignments.get("training_networks").leaderboard is None


def test_several_assignments_and_none_named_is_one_sentence():
    with pytest.raises(KitError, match="Several assignments: name one with --assignment .*fashion_mnist.*training"):
        assignments.get()
    with pytest.raises(KitError, match=f"Unknown assignment 'nope'; valid names: {', '.join(FOLDERS)}"):
        assignments.get("nope")


@pytest.mark.slow
def test_commands_without_an_assignment_name_them_and_exit_2(tmp_path):
    (tmp_path / "homework.py").write_text("x = 1\n")
    for args in (["check", str(tmp_path)], ["grade", str(tmp_path), "--out", str(tmp_path / "r.json")]):
        process = _kit(*args)
        assert process.returncode == 2, process.stderr
        assert process.stderr.strip().splitlines() == [
            f"error: Several assignments: name one with --assignment ({', '.join(FOLDERS)}), or run the command "
            "from inside the assignment's folder."
        ]
    listed = _kit("assignments")
    assert listed.returncode == 0
    from kit.grading import load_rubric

    for line, name in zip(listed.stdout.splitlines(), FOLDERS, strict=True):
        visible = sum(check.points for check in load_rubric(name, hidden=False).checks)
        assert line.split()[:3] == [name, f"{visible:g}", "points"], line


def test_each_assignment_names_its_data_sets_and_make_fetches_only_those():
    """`python -m kit assignments --datasets NAME` prints the manifest's data sets (make check fetches these)."""
    for name in FOLDERS:
        process = _kit("assignments", "--datasets", name)
        assert process.returncode == 0, process.stderr
        assert process.stdout.split() == list(assignments.get(name).datasets)
    wrong = _kit("assignments", "--datasets", "nope")
    assert wrong.returncode == 2 and "Unknown assignment 'nope'" in wrong.stderr
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("run", "check", "grade"):
        assert f"\n{target}: assignment-data\n" in makefile, target


def test_every_assignment_is_in_the_student_facing_lists():
    """docs/authoring.md: a new assignment joins the README's table and docs/student/README.md (the release's
    README: without it students never hear of the assignment)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    student = (ROOT / "docs" / "student" / "README.md").read_text(encoding="utf-8")
    table = [line for line in readme.splitlines() if line.startswith("| [`")]
    for name in FOLDERS:
        assert any(line.startswith(f"| [`{name}`](assignments/{name}/)") for line in table), name
        assert f"assignments/{name}" in student, name


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


def test_a_bad_manifest_is_one_sentence_naming_the_key(tmp_path):
    _write(tmp_path / "solutions" / "a", {"assignment.yml": "title: A\nentry: a.py\npoints: 3\n"})
    with pytest.raises(KitError, match=r"Unknown key\(s\) points in .*; valid keys: title, entry, files"):
        assignments.get("a", root=tmp_path)
    _write(tmp_path / "solutions" / "a", {"assignment.yml": "entry: a.py\n"})
    with pytest.raises(KitError, match="lacks title; every manifest names its title and entry file"):
        assignments.get("a", root=tmp_path)
    _write(tmp_path / "solutions" / "a", {"assignment.yml": "title: [unclosed\n"})
    with pytest.raises(KitError, match="is not valid YAML"):
        assignments.get("a", root=tmp_path)


TINY = {
    "assignment.yml": """\
        title: A tiny assignment written by a teaching assistant
        entry: answers.py
        files: [answers.py]
        """,
    "answers.py": """\
        import numpy as np


        def running_total(values):
            return np.cumsum(values)
        """,
    "rubric.py": """\
        CHECKS = [
            dict(
                id="running_total",
                name="running_total equals numpy's cumsum",
                kind="function",
                points=4,
                timeout=30,
                message="running_total(values): the running sums.",
                params=dict(
                    function="running_total",
                    cases=[{"values": {"array": [n], "seed": n}} for n in (1, 5, 9, 20)],
                    reference="checks:running_sums",
                    rule="numpy",
                    mistakes=[{"reference": "checks:sum_without_first", "message": "The first value is missing."}],
                ),
            ),
            dict(id="twice", name="twice", kind="twice", points=1, timeout=30, params={}),
        ]
        """,
    "checks.py": """\
        import numpy as np

        from kit.grading.judges import Verdict
        from kit.grading.kinds import Kind, as_numeric_array


        def running_sums(values):
            return np.cumsum(values)


        def sum_without_first(values):
            return np.concatenate([[0.0], np.cumsum(values)[1:] - values[0]])


        class Twice(Kind):
            name = "twice"

            def call(self, student, inputs, params):
                return {"out": as_numeric_array(student.call("running_total", [1.0, 1.0]), "running_total")}

            def judge(self, answer, inputs, params):
                ok = np.allclose(answer["out"], [1.0, 2.0])
                return Verdict(ok, float(ok), "" if ok else "running_total([1, 1]) should be [1, 2]")
        """,
}


@pytest.mark.grading
@pytest.mark.slow
def test_a_broken_reference_is_the_graders_fault_not_the_students(tmp_path):
    from kit.grading import grade

    root = tmp_path / "course"
    broken = {**TINY, "rubric.py": TINY["rubric.py"].replace("checks:running_sums", "numpy:cumsum")}
    solution = _write(root / "solutions" / "tiny", broken)  # numpy's cumsum takes `a`, not `values`
    results = grade(solution, assignment=assignments.get("tiny", root=root), only=["running_total"], quiet=True)
    output = results["tests"][0]["output"]
    assert results["tests"][0]["score"] == 0
    assert "The grader could not run this check (its trusted step failed: TypeError" in output
    assert "please tell the course staff" in output


@pytest.mark.grading
@pytest.mark.slow
def test_a_new_assignment_folder_is_graded_by_the_unchanged_kit(tmp_path):
    """A teaching assistant's folder outside this repository: manifest, rubric with a generic and an own kind."""
    from kit.grading import grade, judge_in_process, load_rubric

    root = tmp_path / "course"
    solution = _write(root / "solutions" / "tiny", TINY)
    tiny = assignments.get("tiny", root=root)
    results = grade(solution, assignment=tiny, quiet=True)
    assert [(t["tags"][0], t["score"]) for t in results["tests"]] == [("running_total", 4.0), ("twice", 1.0)]
    wrong_code = (
        "import numpy as np\n\n\ndef running_total(values):\n"
        "    if len(values) < 6:\n        return np.cumsum(values)\n"
        "    return np.concatenate([[0.0], np.cumsum(values)[1:] - values[0]])\n"
    )
    wrong = _write(tmp_path / "wrong", {"answers.py": wrong_code, "notes.txt": "not graded"})
    results = grade(wrong, assignment=tiny, quiet=True)
    first = results["tests"][0]
    assert first["score"] == 2.0  # the arrays of 1 and 5 values are right: 2 of 4 cases, half the points
    assert "2 of 4 cases right; case 3 (values: float64 array of shape (9,))" in first["output"]
    assert "The first value is missing." in first["output"]
    assert "Ignored (only answers.py are graded): notes.txt." in results["output"]
    rubric = load_rubric(tiny)
    module = tiny.load_module("answers.py")
    assert [judge_in_process(module, check, rubric.kinds).fraction for check in rubric.checks] == [1.0, 1.0]


def test_an_assignments_own_files_load_under_one_stable_name_each():
    """Issue 39: loading a rubric or a runner again does not add modules to sys.modules (class grading loads many)."""
    import sys

    from kit.grading import load_rubric

    load_rubric("training_networks")
    before = set(sys.modules)
    for _ in range(3):
        load_rubric("training_networks")
        assignments.get("training_networks").load_runner()
    added = {
        name for name in set(sys.modules) - before if name.startswith("_kit")
    }  # the libraries a runner imports aside
    assert added <= {"_kit_training_networks_runner", "_kit_training_networks_checks"}, sorted(added)
    assert sys.modules["_kit_training_networks_rubric"].CHECKS  # the stable name holds the latest load
