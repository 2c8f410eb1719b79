"""What a student meets first at the command line: one clear sentence instead of a traceback, nothing half-written."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _kit(*args: str, python: list[str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*(python or [sys.executable]), "-m", "kit", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        timeout=300,
    )


def test_outside_the_venv_python_m_kit_says_to_use_the_venv(tmp_path):
    # -S: this Python without its site-packages, as a system Python without the kit's packages is
    for command in (["data"], ["homework", "--preset", "smoke", "--out", str(tmp_path / "hw")]):
        process = _kit(*command, python=[sys.executable, "-S"])
        assert process.returncode == 2, process.stderr
        assert ".venv/bin/python -m kit" in process.stderr and "source .venv/bin/activate" in process.stderr
        assert "scikit-learn" in process.stderr and "keras" in process.stderr
        assert "Traceback" not in process.stderr and "homework.py" not in process.stderr
    assert not (tmp_path / "hw").exists()


def test_an_unknown_model_name_writes_nothing(tmp_path):
    process = _kit("train", "--model", "resnet_huge", "--preset", "quick", "--out", str(tmp_path / "run"))
    assert process.returncode == 2 and "Unknown model 'resnet_huge'; valid names: cnn_mnist" in process.stderr
    assert "Traceback" not in process.stderr and not (tmp_path / "run").exists()


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is not None, reason="TensorBoard is installed here")
def test_tensorboard_without_the_package_is_refused_before_the_run_folder(tmp_path):
    process = _kit("train", "--model", "cnn_mnist", "--tensorboard", "--out", str(tmp_path / "run"))
    assert process.returncode == 2 and "TensorBoard is not installed" in process.stderr
    assert "pip install tensorboard" in process.stderr and "Traceback" not in process.stderr
    assert not (tmp_path / "run").exists()


def test_make_run_takes_a_preset():
    process = subprocess.run(["make", "-n", "run", "PRESET=smoke"], capture_output=True, text=True, cwd=ROOT)
    assert process.returncode == 0 and "-m kit homework --assignment fashion_mnist --preset smoke" in process.stdout
    default = subprocess.run(["make", "-n", "run"], capture_output=True, text=True, cwd=ROOT)
    assert "--preset quick" in default.stdout
    command = ["make", "-n", "run", "ASSIGNMENT=training_networks"]
    other = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert "-m kit homework --assignment training_networks" in other.stdout
    check = subprocess.run(["make", "-n", "check", "OUT=r.json"], capture_output=True, text=True, cwd=ROOT)
    assert "-m kit check" in check.stdout and '--out "r.json"' in check.stdout
    assert "--assignment fashion_mnist" in check.stdout


@pytest.mark.parametrize("epochs, ticks", [([1], [1.0]), ([1, 2], [1.0, 2.0])])
def test_one_or_two_epoch_curves_have_whole_epoch_ticks(epochs, ticks):
    from matplotlib.figure import Figure

    from kit.report import integer_epoch_axis

    ax = Figure().subplots()
    ax.plot(epochs, [0.5] * len(epochs), marker=".")
    integer_epoch_axis(ax, epochs)
    assert list(ax.get_xticks()) == ticks


def test_many_epochs_get_integer_ticks_only():
    from matplotlib.figure import Figure

    from kit.report import integer_epoch_axis

    ax = Figure().subplots()
    ax.plot(range(1, 8), range(7))
    integer_epoch_axis(ax, list(range(1, 8)))
    ax.figure.canvas.draw()
    assert all(float(tick).is_integer() for tick in ax.get_xticks())
