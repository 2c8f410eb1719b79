"""The Gradescope package's install side: pinned grading requirements, setup.sh's loud failures.

The full proof (a fresh Debian root, setup.sh, a graded submission) is `make gradescope-check`:
slow and run by hand, its figures in docs/grading.md. These tests are the fast part.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import tomllib
import zipfile
from pathlib import Path

from kit.grading import write_package

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "kit" / "grading" / "templates"


def pins(path: Path) -> dict[str, str]:
    """``{package: version}`` of the ``name==version`` lines of a requirements file (extras dropped)."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s#]+)", line)
        if match:
            found[match.group(1).lower()] = match.group(3)
    return found


def test_grading_requirements_are_the_kits_versions_and_nothing_more():
    grading, kit = pins(ROOT / "requirements-grading.txt"), pins(ROOT / "requirements.txt")
    assert set(grading) == {"tensorflow", "keras", "numpy", "scikit-learn", "pandas", "matplotlib", "pyyaml"}
    for name, version in grading.items():
        # the kit's own pin where it has one, else the version the kit is tested with (numpy)
        assert version == kit.get(name, importlib.metadata.version(name)), name


def test_python_support_is_what_the_pins_need():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    setup = (TEMPLATES / "setup.sh").read_text()
    assert "(3, 11) <= sys.version_info[:2] <= (3, 13)" in setup  # tensorflow 2.21 has wheels for 3.11-3.13


def test_package_installs_only_the_grading_requirements_and_verifies_its_data(tmp_path):
    with zipfile.ZipFile(write_package(tmp_path / "autograder.zip", "fashion_mnist")) as archive:
        names = set(archive.namelist())
        assert archive.read("requirements-grading.txt") == (ROOT / "requirements-grading.txt").read_bytes()
        assert "requirements.txt" not in names
        assert b"requirements-grading.txt" in archive.read("setup.sh")
        # the model check verifies the test set against SHA256SUMS, with no network on Gradescope
        assert {"datasets/fashion-mnist/SHA256SUMS", "datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"} <= names
        # what grading imports, not the lecture labs (issue 39)
        assert "kit/grading/worker.py" in names and not any(name.startswith("kit/labs/") for name in names)


def test_setup_sh_fails_loudly_without_its_requirements(tmp_path):
    # on this machine /autograder/source does not exist: the first check must stop it, with one sentence
    done = subprocess.run(["bash", str(TEMPLATES / "setup.sh")], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("setup.sh failed: /autograder/source/requirements-grading.txt is missing")
