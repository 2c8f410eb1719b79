"""Shared fixtures: the real Fashion-MNIST files, loaded once per test session."""

from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# `kit check` keeps results of unchanged files (kit.check.cache_dir): a test session starts with an empty cache
os.environ["KIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="kit-test-check-cache-")


def _jax_missing() -> bool:
    if os.environ.get("KERAS_BACKEND") != "jax":
        return False
    try:
        import jax  # noqa: F401
    except ImportError:
        return True
    return False


def pytest_collection_modifyitems(config, items):
    if _jax_missing():
        skip = pytest.mark.skip(reason="KERAS_BACKEND=jax but jax is not installed")
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def fashion_mnist():
    """The whole dataset (55,000 train / 5,000 validation / 10,000 test), normalised."""
    from kit.data import load_fashion_mnist

    return load_fashion_mnist()


@pytest.fixture(scope="session")
def raw_fashion_mnist():
    """The files as they are: 60,000 train / 10,000 test uint8 images, no validation split."""
    from kit.data import load_fashion_mnist

    return load_fashion_mnist(validation_size=0, normalize=False)


@pytest.fixture(scope="session")
def small_fashion_mnist(fashion_mnist):
    """A stratified subset for fast training tests: 2,000 train / 500 validation / 1,000 test."""
    return fashion_mnist.subset(train=2000, val=500, test=1000, seed=0)


@pytest.fixture(scope="session")
def homework_runner():
    """The Fashion-MNIST homework's runner module (its runner.py), imported once."""
    from kit.assignments import get

    return get("fashion_mnist").load_runner()


@pytest.fixture(scope="session")
def homework_checks():
    """The Fashion-MNIST homework's check kinds and judges (its checks.py), imported once."""
    from kit.assignments import get

    return get("fashion_mnist").load_module("checks.py")


@pytest.fixture
def run_student_notebook(tmp_path, monkeypatch):
    """A function that runs an assignment's notebook.ipynb the way a student does, on the smoke preset.

    ``run(assignment_folder, kit_dir, homework_text)``: the folder copied into the release's layout
    (the kit two folders up) with ``homework_text`` as its homework.py, executed by a Jupyter kernel
    (nbclient); returns the cells' text output. The notebook writes into ``tmp_path / "out"``.
    """
    import shutil

    import nbformat
    from nbclient import NotebookClient

    def run(assignment_folder, kit_dir, homework_text: str) -> str:
        folder = tmp_path / "repo" / "assignments" / assignment_folder.name
        shutil.copytree(assignment_folder, folder)
        (tmp_path / "repo" / "kit").symlink_to(kit_dir)
        (folder / "homework.py").write_text(homework_text)
        notebook = nbformat.reads((folder / "notebook.ipynb").read_text(), as_version=4)
        monkeypatch.setenv("KIT_NOTEBOOK_PRESET", "smoke")
        monkeypatch.setenv("KIT_NOTEBOOK_OUT", str(tmp_path / "out"))
        resources = {"metadata": {"path": str(folder)}}
        NotebookClient(notebook, timeout=600, kernel_name="python3", resources=resources).execute()
        return "\n".join(
            output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
        )

    return run
