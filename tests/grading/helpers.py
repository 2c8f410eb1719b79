"""Build the grader's test submissions: reference + override, planted files, and model files.

Submissions are kept small in git: ``submissions/reference/homework.py`` is a correct answer and
each broken or attack submission is only an ``override.py`` that redefines one or two functions
(or runs code at import time); ``*.planted`` files are copied beside homework.py without that
suffix (so that pytest never imports e.g. the planted ``conftest.py``). Model files are built by
the tests, never committed.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUBMISSIONS = HERE / "submissions"
REFERENCE = SUBMISSIONS / "reference" / "homework.py"


def make_submission(destination: Path, name: str | None = None) -> Path:
    """A submission folder: the reference homework.py, with ``name``'s override appended."""
    destination.mkdir(parents=True, exist_ok=True)
    source = REFERENCE.read_text()
    if name is not None:
        folder = SUBMISSIONS / name
        source += "\n\n# --- override: " + name + "\n" + (folder / "override.py").read_text()
        for planted in folder.glob("*.planted"):
            shutil.copyfile(planted, destination / planted.name[: -len(".planted")])
    (destination / "homework.py").write_text(source)
    return destination


def save_model(path: Path, kind: str) -> Path:
    """A small model file the grader must refuse or score: logits, wrong_input, lambda, h5, softmax."""
    import keras

    layers = keras.layers
    if kind == "logits":
        model = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10)])
    elif kind == "wrong_input":
        model = keras.Sequential([keras.Input((784,)), layers.Dense(10, activation="softmax")])
    elif kind == "lambda":
        model = keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                layers.Lambda(lambda t: t * 2.0),
                layers.Flatten(),
                layers.Dense(10, activation="softmax"),
            ]
        )
    elif kind in ("h5", "softmax"):
        model = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10, activation="softmax")])
    else:
        raise ValueError(f"unknown model kind {kind!r}")
    if kind == "h5":
        model.save_weights(str(path.with_suffix(".weights.h5")))
        shutil.move(path.with_suffix(".weights.h5"), path)  # an HDF5 file, as legacy model.save('x.h5') writes
    else:
        model.save(path)
    return path


def write_zip_bomb(path: Path, expanded_mb: int = 1024) -> Path:
    """A small zip whose one entry expands to ``expanded_mb`` MB of zeros (built in chunks, never in memory)."""
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("config.json", '{"class_name": "Sequential", "config": {}}')
        with archive.open("model.weights.h5", "w", force_zip64=True) as entry:
            for _ in range(expanded_mb):
                entry.write(chunk)
    return path
