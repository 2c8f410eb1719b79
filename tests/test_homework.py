"""The homework end to end: the instructor's solution functions, and `python -m kit homework`.

One smoke run of the solutions (session fixture) is checked against the whole summary.json /
report.md contract; one run of the generated stubs checks that every missing step is reported
and the runner still exits cleanly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "fashion_mnist"
pytestmark = pytest.mark.skipif(not SOLUTION.is_dir(), reason="needs solutions/ (instructor repository only)")

METRICS_KEYS = {"accuracy", "macro_f1", "weighted_f1", "per_class", "confusion_matrix", "most_confused", "n_test"}
MODELS = ("cnn_sequential", "cnn_functional", "cnn_inception", "best")
FUNCTIONS = {
    "dataset_summary": 1,
    "build_cnn_sequential": 3,
    "build_cnn_functional": 3,
    "inception_module": 6,
    "build_inception_cnn": 6,
    "confusion_matrix": 6,
    "f1_scores": 6,
    "best_config": 7,
}


def _homework(cli_args: list[str], out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "kit", "homework", "--assignment", "fashion_mnist", *cli_args, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=900,
    )


@pytest.fixture(scope="session")
def solution_run(tmp_path_factory):
    """`python -m kit homework --impl solutions --preset smoke`, run once: (process, out dir, summary)."""
    out = tmp_path_factory.mktemp("homework_solutions")
    process = _homework(["--impl", "solutions", "--preset", "smoke"], out)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    return process, out, json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="session")
def stub_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("homework_assignments")
    process = _homework(["--impl", "assignments", "--preset", "smoke"], out)
    return process, out


@pytest.fixture(scope="module")
def hw(homework_runner):
    return homework_runner.load_homework(SOLUTION / "homework.py")


# --------------------------------------------------------------------------- the runner, solutions
@pytest.mark.slow
def test_smoke_run_writes_the_summary_contract(solution_run):
    _, out, summary = solution_run
    assert {"dataset", "models", "device", "backend", "preset", "versions"} <= set(summary)
    assert summary["preset"] == "smoke" and summary["backend"] in ("tensorflow", "jax")
    assert summary["device"].startswith(("CPU", "GPU")) and "keras" in summary["versions"]
    assert summary["impl"] == str((SOLUTION / "homework.py").resolve())
    assert summary["todo"] == [] and summary["problems"] == []
    assert set(summary["models"]) == set(MODELS)
    for name in MODELS:
        entry = summary["models"][name]
        assert METRICS_KEYS | {"params", "epochs", "train_seconds"} <= set(entry), name
        assert 0 <= entry["macro_f1"] <= 1 and entry["n_test"] == summary["dataset"]["sizes"]["test"]
        assert np.asarray(entry["confusion_matrix"]).sum() == entry["n_test"]
        run_dir = Path(entry["run_dir"])
        assert run_dir.parent == out and run_dir.name == name
        for file in ("config.json", "history.csv", "model.keras", "metrics.json", "report.md"):
            assert (run_dir / file).is_file(), f"{name}/{file}"
        on_disk = json.loads((run_dir / "metrics.json").read_text())
        assert on_disk["macro_f1"] == pytest.approx(entry["macro_f1"])
    assert summary["models"]["cnn_sequential"]["params"] == 1_199_882
    assert summary["models"]["cnn_sequential"]["train_seconds"] > 0
    assert summary["models"]["best"]["epochs"] == 2  # the smoke preset's budget replaces best_config()'s
    steps = summary["step_seconds"]  # wall time per step (issue 13 asks for it per preset and device)
    assert list(steps) == ["1", "3", "5", "6", "7", "reports"] and all(v >= 0 for v in steps.values())
    assert sum(steps.values()) <= summary["total_seconds"] + 0.5
    assert "step 7 " in (out / "report.md").read_text()


@pytest.mark.slow
def test_functional_twin_predicts_like_the_trained_sequential_model(solution_run):
    _, _, summary = solution_run
    sequential, functional = summary["models"]["cnn_sequential"], summary["models"]["cnn_functional"]
    assert functional["weights_from"] == "cnn_sequential" and functional["train_seconds"] == 0
    assert functional["confusion_matrix"] == sequential["confusion_matrix"]
    check = summary["two_styles"]["equal_outputs"]
    assert check["equal"] and check["max_abs_difference"] <= 1e-5
    assert summary["two_styles"]["cnn_functional"]["params"] == 1_199_882


@pytest.mark.slow
def test_smoke_run_checks_the_students_numpy_metrics_against_sklearn(solution_run):
    _, _, summary = solution_run
    check = summary["f1_check"]
    assert check["model"] == "cnn_inception"
    assert check["confusion_matrix_matches_sklearn"] and check["f1_matches_sklearn"]
    assert check["student_macro_f1"] == pytest.approx(summary["models"]["cnn_inception"]["macro_f1"], abs=1e-9)
    assert summary["inception_module"] == {"output_shape": [12, 12, 256], "params": 156_032, "ok": True}


@pytest.mark.slow
def test_smoke_run_records_the_dataset_and_best_config(solution_run):
    _, out, summary = solution_run
    dataset = summary["dataset"]
    assert dataset["sizes"] == {"train": 500, "validation": 200, "test": 500}
    assert [row["class"] for row in dataset["summary"]] == dataset["class_names"]
    assert sum(row["count"] for row in dataset["summary"]) == 500 and dataset["summary_ok"]
    assert (out / "dataset" / "dataset.md").is_file() and (out / "dataset_summary.csv").is_file()
    assert summary["best_config"]["model"] == "resnet_fast" and summary["best_config"]["augmentation"]
    statuses = {(r["step"], r["name"]): r["status"] for r in summary["steps"]}
    assert statuses[(3, "build_cnn_functional")] == "ok" and statuses[(7, "best")] == "ok"


@pytest.mark.slow
def test_report_is_one_document_with_every_step_and_existing_pictures(solution_run):
    _, out, summary = solution_run
    report = (out / "report.md").read_text()
    for heading in ("## Step 1", "## Step 3", "## Step 5", "## Step 6", "## Step 7", "## Comparison"):
        assert heading in report
    assert "F1 per class" in report and "scikit-learn" in report and "1,199,882" in report
    pictures = [line[line.index("](") + 2 : -1] for line in report.splitlines() if line.startswith("![")]
    assert any("confusion_matrix" in p for p in pictures) and any("training_curves" in p for p in pictures)
    for picture in pictures:
        assert (out / picture).is_file(), picture
    for name in MODELS:  # the comparison table names every trained model with its macro-F1
        assert f"| {name} |" in report and f"{summary['models'][name]['macro_f1']:.4f}" in report


# --------------------------------------------------------------------------- the runner, stubs
@pytest.mark.slow
def test_stubs_report_every_missing_step_and_exit_cleanly(stub_run):
    process, out = stub_run
    assert process.returncode == 0, process.stderr[-3000:]
    assert "Traceback" not in process.stdout + process.stderr
    summary = json.loads((out / "summary.json").read_text())
    expected = [f"step {step}: implement `{name}` in homework.py" for name, step in FUNCTIONS.items()]
    assert sorted(summary["todo"]) == sorted(expected)
    for message in expected:
        assert message in process.stdout
    assert summary["models"] == {name: None for name in MODELS}
    assert summary["problems"] == []
    report = (out / "report.md").read_text()
    assert "Still to write" in report and "No model was trained yet." in report
    assert (out / "dataset" / "dataset.md").is_file()  # step 1's kit part runs without the student's code


def test_impl_resolution(tmp_path, homework_runner):
    default_impl, resolve_impl = homework_runner.default_impl, homework_runner.resolve_impl

    assert default_impl() == "solutions"
    assert resolve_impl() == resolve_impl("solutions") == (SOLUTION / "homework.py").resolve()
    assert resolve_impl("assignments").parent.name == "fashion_mnist"
    assert resolve_impl(str(SOLUTION)) == resolve_impl(str(SOLUTION / "homework.py"))
    assert default_impl(tmp_path) == "assignments"  # a student release has no solutions/
    with pytest.raises(ValueError, match="--impl takes solutions, assignments"):
        resolve_impl(str(tmp_path))


def test_step_log_turns_unwritten_and_broken_functions_into_messages(tmp_path, homework_runner):
    from kit.errors import KitError

    MISSING, StepLog, load_homework = homework_runner.MISSING, homework_runner.StepLog, homework_runner.load_homework

    (tmp_path / "homework.py").write_text(
        "def dataset_summary(x, y, names):\n    raise NotImplementedError('hint')\n"
        "def f1_scores(cm):\n    return 1 / 0\n"
    )
    module = load_homework(tmp_path / "homework.py")
    log = StepLog(echo=lambda line: None)
    assert log.call(module, 1, "dataset_summary", None, None, None) is MISSING
    assert log.call(module, 6, "f1_scores", None) is MISSING
    assert log.call(module, 6, "confusion_matrix", 1, 2, 3) is MISSING
    assert log.todo == [
        "step 1: implement `dataset_summary` in homework.py",
        "step 6: implement `confusion_matrix` in homework.py (it is missing)",
    ]
    assert (
        log.problems[0].startswith("step 6: `f1_scores` raised ZeroDivisionError")
        and "homework.py:4" in log.problems[0]
    )
    (tmp_path / "broken.py").write_text("def f(:\n")
    with pytest.raises(KitError, match="does not import"):
        load_homework(tmp_path / "broken.py")


def test_unknown_preset_is_one_clear_error(tmp_path):
    process = _homework(["--preset", "huge"], tmp_path)
    assert process.returncode == 2 and "invalid choice" in process.stderr


# --------------------------------------------------------------------------- the solution functions
def test_dataset_summary_matches_pandas_on_real_data(hw, small_fashion_mnist):
    import pandas as pd

    data = small_fashion_mnist
    table = hw.dataset_summary(data.x_train, data.y_train, data.class_names)
    assert list(table.index) == list(data.class_names) and list(table.columns) == ["count", "mean", "std"]
    pixels = pd.Series(data.x_train.reshape(-1).astype(np.float64))
    by_class = pixels.groupby(np.repeat(data.y_train, 28 * 28))  # every pixel labelled with its image's class
    assert table["count"].tolist() == np.bincount(data.y_train, minlength=10).tolist()
    np.testing.assert_allclose(table["mean"], by_class.mean(), rtol=1e-9)
    np.testing.assert_allclose(table["std"], by_class.std(ddof=0), rtol=1e-9)
    as_uint8 = hw.dataset_summary((data.x_train * 255).round().astype(np.uint8), data.y_train, data.class_names)
    np.testing.assert_allclose(as_uint8["mean"], table["mean"] * 255, rtol=1e-5)


def test_dataset_summary_of_an_empty_class_is_nan_not_an_error(hw):
    table = hw.dataset_summary(np.ones((3, 28, 28)), np.array([0, 0, 2]), ("a", "b", "c"))
    assert table.loc["b", "count"] == 0 and np.isnan(table.loc["b", "mean"]) and table.loc["a", "mean"] == 1.0


def test_confusion_matrix_matches_sklearn(hw):
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 10, 500), rng.integers(0, 9, 500)  # class 9 is never predicted
    cm = hw.confusion_matrix(y_true, y_pred, 10)
    assert cm.dtype.kind == "i" and cm.shape == (10, 10)
    np.testing.assert_array_equal(cm, confusion_matrix(y_true, y_pred, labels=range(10)))
    with pytest.raises(ValueError, match="outside 0..9"):
        hw.confusion_matrix([0, 10], [0, 1], 10)
    with pytest.raises(ValueError, match="one prediction per label"):
        hw.confusion_matrix([0, 1], [0], 10)


def test_f1_scores_match_sklearn_including_empty_classes_without_warnings(hw):
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 8, 300)  # classes 8 and 9 have no support
    y_pred = np.where(y_true == 3, 4, y_true)  # class 3 is never predicted
    y_pred[:20] = rng.integers(0, 8, 20)
    cm = hw.confusion_matrix(y_true, y_pred, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        per_class, macro = hw.f1_scores(cm)
    expected = f1_score(y_true, y_pred, labels=range(10), average=None, zero_division=0)
    np.testing.assert_allclose(per_class, expected, atol=1e-12)
    assert per_class[8] == per_class[9] == 0 and not np.isnan(per_class).any()
    assert isinstance(macro, float)
    assert macro == pytest.approx(f1_score(y_true, y_pred, labels=range(10), average="macro", zero_division=0))


def test_cnn_in_both_styles_is_the_lectures_example(hw):
    import keras

    sequential, functional = hw.build_cnn_sequential(), hw.build_cnn_functional()
    assert isinstance(sequential, keras.Sequential) and not isinstance(functional, keras.Sequential)
    kinds = ["Conv2D", "Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense", "Dropout", "Dense"]
    assert [type(layer).__name__ for layer in sequential.layers] == kinds
    assert [type(layer).__name__ for layer in functional.layers if type(layer).__name__ != "InputLayer"] == kinds
    assert sequential.count_params() == functional.count_params() == 1_199_882
    assert [layer.rate for layer in sequential.layers if isinstance(layer, keras.layers.Dropout)] == [0.25, 0.5]
    assert hw.build_cnn_sequential((32, 32, 3), 5).output_shape == (None, 5)


@pytest.mark.backend_agnostic
def test_output_stays_float32_under_mixed_precision(hw):
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = hw.build_cnn_functional()
        assert model.layers[1].compute_dtype == "bfloat16"
        assert keras.backend.standardize_dtype(model(np.zeros((2, 28, 28, 1), "float32")).dtype) == "float32"
    finally:
        keras.config.set_dtype_policy(previous)


@pytest.mark.backend_agnostic
def test_inception_module_has_the_four_branches(hw):
    import keras

    inputs = keras.Input(shape=(12, 12, 64))
    outputs = hw.inception_module(inputs, name="mix")
    assert tuple(outputs.shape[1:]) == (12, 12, 256)
    model = keras.Model(inputs, outputs)
    names = {layer.name for layer in model.layers}
    assert {
        "mix_1x1",
        "mix_3x3_reduce",
        "mix_3x3",
        "mix_5x5_reduce",
        "mix_5x5",
        "mix_pool",
        "mix_pool_proj",
        "mix_concat",
    } <= names
    kernel = {layer.name: layer.kernel_size for layer in model.layers if isinstance(layer, keras.layers.Conv2D)}
    assert kernel["mix_3x3"] == (3, 3) and kernel["mix_5x5"] == (5, 5) and kernel["mix_1x1"] == (1, 1)
    # 1x1: 64*64+64; 3x3: (64*64+64) + (9*64*64+64); 5x5: (64*64+64) + (25*64*64+64); pool proj: 64*64+64
    assert model.count_params() == 156_032
    small = hw.inception_module(keras.Input(shape=(7, 7, 8)), 8, 4, 16, 2, 4, 8)
    assert tuple(small.shape[1:]) == (7, 7, 36)


@pytest.mark.backend_agnostic
def test_inception_cnn_trains_one_step(hw):
    import keras

    model = hw.build_inception_cnn()
    assert any(isinstance(layer, keras.layers.Concatenate) for layer in model.layers)
    assert model.output_shape == (None, 10)
    model.compile("adam", "sparse_categorical_crossentropy")
    loss = model.train_on_batch(np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32), np.arange(8))
    assert np.isfinite(float(np.asarray(loss).reshape(-1)[0]))


def test_best_config_is_a_valid_recipe(hw):
    from kit import models
    from kit.train import TrainConfig

    config = hw.best_config()
    assert isinstance(config, TrainConfig)
    assert config.model in models.available() and config.augmentation and config.warmup_epochs > 0
    assert config.use_ema and config.monitor == "val_macro_f1"  # the checkpoint is chosen by step 7's measure
    assert config.tta_in_model  # model.keras, which the autograder scores, averages the image and its mirror
    assert TrainConfig.from_dict(config.to_dict()) == config


# --------------------------------------------------------------------------- the notebook
def test_notebook_source_is_a_percent_script_that_compiles():
    """The notebook runs top to bottom in tests/test_release.py (as the student gets it, .ipynb via nbclient)."""
    source = (SOLUTION / "notebook.py").read_text()
    assert source.count("# %%") >= 10 and "import homework" in source
    compile(source, "notebook.py", "exec")  # it also runs as a script: `python notebook.py`


def test_smoke_run_is_labelled_a_wiring_check_with_correct_plurals(solution_run):
    process, out, summary = solution_run
    assert "smoke preset: a wiring check" in process.stdout
    assert "cnn_sequential trained 1 epoch: test macro-F1" in process.stdout  # not "1 epochs"
    assert "trained 2 epochs: test macro-F1" in process.stdout
    assert "scores mean nothing" in process.stdout.split("cnn_sequential trained 1 epoch")[1].splitlines()[0]
    assert "wiring check" in (out / "report.md").read_text()


def test_compare_understands_the_homework_folder_and_skips_others(solution_run, tmp_path):
    _, out, summary = solution_run
    (tmp_path / "notes").mkdir()
    process = subprocess.run(
        [sys.executable, "-m", "kit", "compare", str(out), str(tmp_path / "notes")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert process.returncode == 0, process.stderr
    for name in MODELS:
        assert f"{summary['models'][name]['macro_f1']:.4f}" in process.stdout
    assert f"skipped {tmp_path / 'notes'}: not a run folder" in process.stderr
    nothing = subprocess.run(
        [sys.executable, "-m", "kit", "compare", str(tmp_path / "notes")], capture_output=True, text=True, cwd=ROOT
    )
    assert nothing.returncode == 2 and "none of the 1 folder(s) is a run folder" in nothing.stderr


# --------------------------------------------------------------------------- by the clock, and --steps (issue 35)
def test_steps_are_parsed_and_an_unknown_step_lists_the_valid_ones(homework_runner):
    parse = homework_runner.parse_steps
    assert parse("5,7") == (5, 7) and parse(" 7 ") == (7,) and parse([7, 5]) == (5, 7)
    assert parse(None) == parse("") == homework_runner.STEPS == (1, 2, 3, 4, 5, 6, 7)
    with pytest.raises(ValueError, match=r"Unknown step '8'; valid steps: 1, 2, 3, 4, 5, 6, 7"):
        parse("5,8")
    args = homework_runner.build_parser().parse_args(["--steps", "7", "--minutes", "4.5"])
    assert args.steps == "7" and args.minutes == 4.5
    presets = homework_runner.HOMEWORK_PRESETS
    assert presets["quick"].minutes == 15 and presets["smoke"].minutes is None and presets["full"].minutes is None


def test_the_homework_shares_its_training_time_and_refuses_a_budget_too_small(homework_runner):
    """The runner's split of its budget (kit.budget.BudgetSplit, whose arithmetic tests/test_budget.py checks)."""
    from kit.budget import BudgetTooSmall

    def split(seconds: float, epochs: dict):
        budget = homework_runner.homework_budget(seconds)
        for step, smallest in epochs.items():
            estimate = {"model": "net", "images_per_second": 256.0, "smallest_budget": smallest}
            twin = step == 5
            budget.add(
                step,
                homework_runner.TRAINING_SHARES[step],
                estimate,
                end_seconds=homework_runner.REPORT_SECONDS * (2 if twin else 1),
                after_seconds=homework_runner.TRANSFER_SECONDS if twin else 0.0,
            )
        return budget

    budget = split(900.0, {5: 30.0, 6: 42.0, 7: 120.0})
    assert sum(budget.shares.values()) == pytest.approx(1.0) and budget.shares[7] == max(budget.shares.values())
    # 4 reports (the functional twin has one) and the twin's evaluation are kept back before step 5
    kept = 4 * homework_runner.REPORT_SECONDS + homework_runner.TRANSFER_SECONDS
    assert budget.kept_back(5) == kept and budget.safety == homework_runner.ESTIMATE_SAFETY == 1.3
    assert budget.for_part(5) == pytest.approx(0.15 * (900.0 - budget.elapsed() - kept), abs=0.5)
    budget.refuse_if_too_small("CPU: test")  # 900 s is enough
    with pytest.raises(BudgetTooSmall) as refused:
        split(120.0, {5: 30.0, 6: 42.0, 7: 120.0}).refuse_if_too_small("CPU: test")
    message = str(refused.value)
    assert message.startswith("a time budget of 2.0 min (120 s) is too small for the homework on this machine (CPU:")
    assert "one epoch of each network needs" in message and "step 7's net the most: 2.0 min (120 s)" in message
    assert message.endswith(f"run with --minutes {refused.value.smallest_seconds / 60:.1f} or more.")


def test_step_seconds_for_the_notebook_follow_the_shares(homework_runner):
    presets = homework_runner.HOMEWORK_PRESETS
    seconds = homework_runner.step_seconds(presets["quick"])
    assert list(seconds) == [5, 6, 7] and sum(seconds.values()) == pytest.approx(15 * 60 * 0.9)
    assert seconds[7] == pytest.approx(0.7 * 810) and seconds[5] == seconds[6]
    assert homework_runner.step_seconds(presets["smoke"]) == {}  # smoke trains its epochs
    assert homework_runner.step_seconds(presets["smoke"], minutes=2, steps=(7,)) == {7: pytest.approx(108)}


@pytest.mark.slow
def test_a_budget_too_small_for_the_homework_is_refused_before_any_training(tmp_path):
    out = tmp_path / "refused"
    process = _homework(["--assignment", "fashion_mnist", "--preset", "smoke", "--minutes", "0.2", "--steps", "7"], out)
    assert process.returncode == 2, process.stdout[-2000:] + process.stderr[-2000:]
    assert process.stderr.startswith("error: a time budget of 12 s is too small for the homework on this machine")
    assert "the smallest budget that fits is" in process.stderr and "Traceback" not in process.stderr
    assert not (out / "best").exists() and not (out / "summary.json").exists()  # nothing trained


@pytest.mark.slow
def test_only_the_steps_asked_run_and_step_7_trains_by_the_clock(tmp_path):
    out = tmp_path / "step7"
    process = _homework(["--assignment", "fashion_mnist", "--preset", "smoke", "--minutes", "2", "--steps", "7"], out)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps_asked"] == [7] and {r["step"] for r in summary["steps"]} == {7}
    assert [name for name, entry in summary["models"].items() if entry] == ["best"]
    assert not (out / "cnn_sequential").exists() and not (out / "dataset").exists()
    budget = summary["budget"]
    assert budget["seconds"] == 120 and budget["shares"] == {"7": 1.0}
    best = summary["models"]["best"]["budget"]
    assert best["epochs"] > 0 and best["images_per_second"] > 0 and best["spent_seconds"] <= best["budget_seconds"]
    assert best["budget_seconds"] == pytest.approx(budget["given_seconds"]["7"], abs=0.1)
    config = json.loads((out / "best" / "config.json").read_text())
    assert config["config"]["time_budget"] == pytest.approx(best["budget_seconds"])
    assert config["training"]["budget"]["plans"][0]["at"] == "start"
    fitted = summary["host_fit"]  # best_config() asks fit_to_host: the width chosen for this machine (issue 41)
    assert fitted["asked"] == 32 and config["config"]["model_options"]["width"] == fitted["chosen"]
    assert f"step 7: fitted to this machine: {fitted['why']}" in process.stdout
    report = (out / "report.md").read_text()
    assert "## Time budget" in report and "| 7 | best |" in report
    assert "Step 7's network was fitted to this machine (`fit_to_host`, `kit.host_fit`)" in report
    assert "Not run: this run asked for step 7 only (`--steps`)." in report
    assert list(summary["step_seconds"]) == ["timing", "7", "reports"]
