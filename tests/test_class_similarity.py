"""Did anyone copy? Code and model similarity on the test class (issue 31, point 4).

The test class (tests/class_fixtures): five independently written correct solutions in different
styles (loops, vectorised numpy, pandas moments, one-hot products, histograms), each filled into
the released stub as a student fills it; a copy of "loops" with every variable renamed, its
comments rewritten and its functions in another order; a student who handed in the stub
untouched. Models (trained here, never committed): three trained independently, a classmate's
model fine-tuned for one epoch on other images, a byte-identical copy, and another architecture.
The copies must rank above every pair of independent work, and across the thresholds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from class_fixtures.build import INDEPENDENT, make_test_class

from kit.assignments import available, get
from kit.grading.similarity import (
    CODE_THRESHOLD,
    COLUMNS,
    MODEL_THRESHOLD,
    compare_class,
    read_all_weights,
    released_stub,
    write_similarity,
)
from kit.grading.submissions import open_class

ROOT = Path(__file__).resolve().parent.parent
TASK = get("fashion_mnist")
STUB = TASK.student_dir / TASK.entry


@pytest.fixture(scope="module")
def test_class(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("similarity") / "class"
    make_test_class(folder, STUB)
    (folder / "stub_only").mkdir()
    shutil.copyfile(STUB, folder / "stub_only" / TASK.entry)
    return folder


def _pairs(report) -> dict[frozenset, object]:
    return {frozenset((p.a, p.b)): p for p in report.pairs}


def test_the_test_class_solutions_are_correct():
    """Independent means correct too: each style's numpy functions agree with scikit-learn and numpy."""
    import importlib.util

    import numpy as np
    from sklearn.metrics import confusion_matrix, f1_score

    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 6, 200), rng.integers(0, 6, 200)
    y_true[y_true == 5] = 4  # class 5 never true: F1 0, no NaN
    x = rng.integers(0, 256, (200, 28, 28, 1)).astype(np.uint8)
    reference = confusion_matrix(y_true, y_pred, labels=range(6))
    for style in [*INDEPENDENT, "copied_from_loops"]:
        spec = importlib.util.spec_from_file_location(style, ROOT / "tests/class_fixtures/styles" / f"{style}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cm = module.confusion_matrix(y_true, y_pred, 6)
        assert np.array_equal(cm, reference) and cm.dtype == np.int64, style
        per_class, macro = module.f1_scores(cm)
        expected = f1_score(y_true, y_pred, labels=range(6), average=None, zero_division=0)
        assert np.allclose(per_class, expected) and np.isclose(macro, expected.mean()), style
        table = module.dataset_summary(x, y_true, [f"c{i}" for i in range(6)])
        assert list(table["count"]) == [int((y_true == c).sum()) for c in range(6)], style
        assert np.isclose(table["mean"].iloc[0], x[y_true == 0].mean()), style
        assert np.isclose(table["std"].iloc[0], x[y_true == 0].std()), style
        assert np.isnan(table["mean"].iloc[5]), style


def test_a_disguised_copy_ranks_above_every_independent_pair(test_class):
    with open_class(test_class, entry=TASK.entry) as klass:
        report = compare_class(klass, TASK.files, released_stub(TASK))
    pairs = _pairs(report)
    copy = pairs[frozenset(("loops", "copy_of_loops"))]
    independent = [pairs[frozenset((a, b))] for i, a in enumerate(INDEPENDENT) for b in INDEPENDENT[i + 1 :]]
    assert len(independent) == 10
    highest = max(p.code for p in independent)
    assert copy.code > highest and report.pairs[0] is copy
    assert copy.code >= CODE_THRESHOLD > highest, (copy.code, highest)
    assert [p for p in report.flagged] == [copy]
    # the given code never counts: the untouched stub shares nothing with anyone
    assert all(p.code == 0 for key, p in pairs.items() if "stub_only" in key)


def test_without_the_stub_as_boilerplate_independent_work_looks_closer(test_class):
    """What the boilerplate buys: the stub's docstrings and signatures otherwise count as shared code."""
    with open_class(test_class, entry=TASK.entry) as klass:
        with_stub = _pairs(compare_class(klass, TASK.files, released_stub(TASK)))
        without = _pairs(compare_class(klass, TASK.files, []))
    stub_pair = frozenset(("stub_only", "loops"))
    assert with_stub[stub_pair].code == 0 and without[stub_pair].code > 0.2


@pytest.fixture(scope="module")
def models(tmp_path_factory, small_fashion_mnist) -> dict[str, Path]:
    """Three models trained independently, a classmate's model fine-tuned for an epoch, another architecture."""
    import keras
    from keras import layers

    folder = tmp_path_factory.mktemp("models")
    data = small_fashion_mnist

    def cnn():
        return keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                layers.Conv2D(32, 3, activation="relu"),
                layers.Conv2D(64, 3, activation="relu"),
                layers.MaxPooling2D(),
                layers.Dropout(0.25),
                layers.Flatten(),
                layers.Dense(128, activation="relu"),
                layers.Dropout(0.5),
                layers.Dense(10, activation="softmax"),
            ]
        )

    made = {}
    for seed, name in enumerate(("loops", "vectorised", "pandas_moments")):
        keras.utils.set_random_seed(seed)
        model = cnn()
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(data.x_train[:1000], data.y_train[:1000], epochs=1, batch_size=64, verbose=0)
        made[name] = folder / f"{name}.keras"
        model.save(made[name])
    copied = keras.models.load_model(made["loops"])  # the classmate's file, trained one more epoch on other images
    copied.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    copied.fit(data.x_train[1000:1500], data.y_train[1000:1500], epochs=1, batch_size=64, verbose=0)
    made["copy_of_loops"] = folder / "copy_of_loops.keras"
    copied.save(made["copy_of_loops"])
    other = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10, activation="softmax")])
    made["one_hot"] = folder / "one_hot.keras"
    other.save(made["one_hot"])
    made["stub_only"] = made["vectorised"]  # the same file as a classmate's
    return made


@pytest.mark.slow
def test_a_fine_tuned_copy_of_a_classmates_model_ranks_above_independent_models(test_class, models, tmp_path):
    klass_folder = tmp_path / "class"
    shutil.copytree(test_class, klass_folder)
    for name, path in models.items():
        shutil.copyfile(path, klass_folder / name / "model.keras")
    (klass_folder / "histogram" / "model.keras").write_bytes(b"PK\x03\x04 not a model")  # unreadable: one sentence
    with open_class(klass_folder, entry=TASK.entry) as klass:
        report = compare_class(klass, TASK.files, released_stub(TASK))
    pairs = _pairs(report)
    fine_tuned = pairs[frozenset(("loops", "copy_of_loops"))]
    identical = pairs[frozenset(("vectorised", "stub_only"))]
    independent = [pairs[frozenset(p)] for p in (("loops", "vectorised"), ("loops", "pandas_moments"))]
    independent.append(pairs[frozenset(("vectorised", "pandas_moments"))])
    assert identical.model == 1.0 and identical.model_note == "identical weights"
    assert fine_tuned.model >= MODEL_THRESHOLD > max(p.model for p in independent), (fine_tuned.model, independent)
    assert fine_tuned.model > 0.9 and max(abs(p.model) for p in independent) < 0.1
    assert pairs[frozenset(("loops", "one_hot"))].model == 0.0  # another architecture
    assert pairs[frozenset(("loops", "histogram"))].model is None  # no readable model on one side
    assert len(report.problems) == 1 and report.problems[0].startswith("histogram: ")

    page = write_similarity(report, tmp_path / "out", title="fashion_mnist")
    table = pd.read_csv(tmp_path / "out" / "similarity.csv")
    assert list(table.columns) == COLUMNS and len(table) == len(report.pairs) == 21
    assert table[["code_similarity", "model_similarity"]].stack().dropna().between(0, 1).all()
    assert table["model_similarity"].isna().sum() == 6  # histogram's pairs: empty, not 0
    text = page.read_text()
    assert "<mark class='a'>" in text and "copy_of_loops" in text and "identical weights" in text


def test_reading_weights_of_broken_files_costs_a_sentence_each(tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip at all")
    found = read_all_weights([broken, tmp_path / "missing.keras"])
    assert "could not be read" in found[broken].problem
    assert "not a regular file" in found[tmp_path / "missing.keras"].problem


def test_cli_similarity_writes_the_page_and_the_csv(test_class, tmp_path):
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "kit",
            "class",
            "similarity",
            str(test_class),
            "--out",
            str(tmp_path / "out"),
            "--assignment",
            "fashion_mnist",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    assert "compared 21 pairs; 1 at or above the thresholds" in finished.stdout
    table = pd.read_csv(tmp_path / "out" / "similarity.csv")
    assert {table.iloc[0]["student_a"], table.iloc[0]["student_b"]} == {"copy_of_loops", "loops"}
    assert table["model_similarity"].isna().all()  # no models handed in: empty, never 0


@pytest.mark.parametrize("name", available())
def test_every_assignment_gets_the_stub_removed_and_copies_found(name, tmp_path):
    """Any assignment of the kit: its own stub is the boilerplate, its own files are compared."""
    task = get(name)
    solution = (task.solution_dir / task.entry).read_text()
    for student, text in (("ana", solution), ("ben", solution), ("cleo", released_stub(task)[0])):
        (tmp_path / student).mkdir()
        (tmp_path / student / task.entry).write_text(text)
    with open_class(tmp_path, entry=task.entry) as klass:
        report = compare_class(klass, task.files, released_stub(task))
    pairs = _pairs(report)
    assert pairs[frozenset(("ana", "ben"))].code == 1.0 and report.flagged == [pairs[frozenset(("ana", "ben"))]]
    assert pairs[frozenset(("ana", "cleo"))].code == 0 and pairs[frozenset(("ben", "cleo"))].code == 0
    assert all(p.model is None for p in report.pairs)  # no model handed in (or none in the assignment)
