"""Gradescope: ``results.json`` (written atomically) and the autograder zip.

The zip holds ``setup.sh`` and ``run_autograder`` (real files in ``kit/grading/templates/``),
the ``kit`` package with this subpackage (not the lecture labs: grading never imports them), the
assignment's manifest, rubric (visible and hidden) and check kinds (never a solution), and the
files of the data sets its manifest names. Gradescope's format: https://gradescope-autograders.readthedocs.io.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from kit.assignments import MANIFEST
from kit.errors import DatasetError, GradingError
from kit.files import write_json
from kit.grading.rubric import ROOT, Rubric, load_rubric

TEMPLATES = Path(__file__).resolve().parent / "templates"
KIT_DIR = ROOT / "kit"
NOT_GRADING = ("labs", "runner.py")  # what grading never imports (the lecture labs, the runners' skeleton): not zipped


def write_results(results: dict, out: str | os.PathLike) -> Path:
    """Write ``results.json`` atomically (``kit.files.write_json``: a temporary file renamed over the target)."""
    return write_json(out, results)


def empty_leaderboard(column: str | None) -> list[dict]:
    """Gradescope's leaderboard before any figure: the assignment's column at 0 (none without a column)."""
    return [{"name": column, "value": 0.0, "order": "desc"}] if column else []


def failure_results(message: str, leaderboard: str | None = None) -> dict:
    """A valid results.json when grading itself failed: 0 points, and a message for the staff."""
    return {
        "score": 0.0,
        "execution_time": 0.0,
        "output": f"The autograder failed: {message} Please tell the course staff.",
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": [],
        "leaderboard": empty_leaderboard(leaderboard),
    }


def package_files(assignment: str | Rubric | None = None) -> dict[str, Path]:
    """Archive name -> source file of every code and rubric file the package carries (the rubric's, hidden included)."""
    rubric = assignment if isinstance(assignment, Rubric) else load_rubric(assignment)
    name = rubric.assignment.name
    if not rubric.has_hidden:
        raise GradingError(
            f"solutions/{name}/rubric_hidden.py is missing: the Gradescope package runs the hidden checks; "
            "package from the instructor repository."
        )
    files = {"requirements-grading.txt": ROOT / "requirements-grading.txt"}  # setup.sh installs only this
    for source in sorted(KIT_DIR.rglob("*.py")):
        if "__pycache__" not in source.parts and source.relative_to(KIT_DIR).parts[0] not in NOT_GRADING:
            files[f"kit/{source.relative_to(KIT_DIR).as_posix()}"] = source
    for source in (rubric.assignment.path(MANIFEST), rubric.path, rubric.hidden_path, *rubric.checks_files):
        files[f"solutions/{name}/{source.name}"] = source  # never the solution: only the grader's files
    return files


def write_package(out: str | os.PathLike, assignment: str | None = None, data_dir: str | None = None) -> Path:
    """Gradescope's autograder zip: setup.sh, run_autograder, the kit, the rubric (never the solution), the data."""
    from kit.data import dataset

    rubric = load_rubric(assignment)  # the assignment resolved once: its rubric, manifest and data sets
    files = package_files(rubric)
    name = rubric.assignment.name
    data_files: dict[str, Path] = {}
    for data_name in rubric.assignment.datasets:
        try:
            data_files.update(dataset(data_name).files(data_dir))
        except DatasetError as error:
            raise GradingError(f"{error} Run `make data` first (the package carries the data).") from None
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        def add_text(name: str, text: str, mode: int = 0o644):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)

        add_text("setup.sh", (TEMPLATES / "setup.sh").read_text(), 0o755)
        run_autograder = (TEMPLATES / "run_autograder").read_text().replace("@ASSIGNMENT@", name)
        add_text("run_autograder", run_autograder, 0o755)
        for archive_name, source in files.items():
            add_text(archive_name, source.read_text(encoding="utf-8"))
        # the grader verifies the data files against their SHA256SUMS before scoring a model on them, offline
        for archive_name, source in data_files.items():
            archive.write(source, archive_name, compress_type=zipfile.ZIP_STORED)
    return out
