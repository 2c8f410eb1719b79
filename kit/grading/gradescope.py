"""Gradescope: ``results.json`` (written atomically) and the autograder zip.

The zip holds ``setup.sh`` and ``run_autograder`` (real files in ``kit/grading/templates/``),
the ``kit`` package with this subpackage, the rubric (visible and hidden; never a solution)
and the Fashion-MNIST files. Gradescope's format: https://gradescope-autograders.readthedocs.io.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from kit.errors import GradingError
from kit.files import write_json
from kit.grading.rubric import ROOT, load_rubric

TEMPLATES = Path(__file__).resolve().parent / "templates"
KIT_DIR = ROOT / "kit"


def write_results(results: dict, out: str | os.PathLike) -> Path:
    """Write ``results.json`` atomically (``kit.files.write_json``: a temporary file renamed over the target)."""
    return write_json(out, results)


def failure_results(message: str) -> dict:
    """A valid results.json when grading itself failed: 0 points, and a message for the staff."""
    return {
        "score": 0.0,
        "execution_time": 0.0,
        "output": f"The autograder failed: {message} Please tell the course staff.",
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": [],
        "leaderboard": [{"name": "macro-F1", "value": 0.0, "order": "desc"}],
    }


def package_files(assignment: str = "fashion_mnist") -> dict[str, Path]:
    """Archive name -> source file of every code and rubric file the package carries."""
    rubric = load_rubric(assignment)
    if not rubric.has_hidden:
        raise GradingError(
            f"solutions/{assignment}/rubric_hidden.py is missing: the Gradescope package runs the hidden checks; "
            "package from the instructor repository."
        )
    files = {"requirements.txt": ROOT / "requirements.txt"}
    for source in sorted(KIT_DIR.rglob("*.py")):
        if "__pycache__" not in source.parts:
            files[f"kit/{source.relative_to(KIT_DIR).as_posix()}"] = source
    files[f"solutions/{assignment}/{rubric.path.name}"] = rubric.path
    files[f"solutions/{assignment}/{rubric.hidden_path.name}"] = rubric.hidden_path
    return files


def write_package(out: str | os.PathLike, assignment: str = "fashion_mnist", data_dir: str | None = None) -> Path:
    """Gradescope's autograder zip: setup.sh, run_autograder, the kit, the rubric (never the solution), the data."""
    from kit.data import FILES, candidate_dirs

    files = package_files(assignment)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data_folder = next(
        (folder for _, folder in candidate_dirs(data_dir) if all((folder / name).is_file() for name in FILES.values())),
        None,
    )
    if data_folder is None:
        raise GradingError(
            "The Fashion-MNIST files were not found; run `make data` first (the package carries the test set)."
        )
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        def add_text(name: str, text: str, mode: int = 0o644):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)

        add_text("setup.sh", (TEMPLATES / "setup.sh").read_text(), 0o755)
        run_autograder = (TEMPLATES / "run_autograder").read_text().replace("@ASSIGNMENT@", assignment)
        add_text("run_autograder", run_autograder, 0o755)
        for name, source in files.items():
            add_text(name, source.read_text(encoding="utf-8"))
        for name in FILES.values():
            archive.write(data_folder / name, f"datasets/fashion-mnist/{name}", compress_type=zipfile.ZIP_STORED)
    return out
