"""kit.train: configs, presets, optimizers, the smoke run, reproducibility, NaN guard, resume after SIGKILL, --minutes.

Training to a time budget itself (the steps that fit, the corrections, the refusal) is tested in test_budget.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from kit import runs
from kit import train as kt
from kit.callbacks import LOSS_EXPLODED

ROOT = Path(__file__).resolve().parent.parent
LEARNING_COLUMNS = ["loss", "accuracy", "val_loss", "val_accuracy", "val_macro_f1", "learning_rate"]


def _env() -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    return env


@pytest.fixture(scope="module")
def smoke_run(small_fashion_mnist, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "smoke"
    return kt.train(kt.preset("smoke"), data=small_fashion_mnist, out=out, verbose=0)


# --------------------------------------------------------------------------- config, presets, names
def test_config_json_round_trip(tmp_path):
    config = kt.preset("full", name="trial", model_options={"dropout": 0.3}, patience=None, seed=7)
    path = config.save(tmp_path / "config.json")
    assert kt.TrainConfig.load(path) == config
    assert kt.TrainConfig.from_dict(json.loads(path.read_text())) == config
    # a run folder's config.json ({"config", "environment", "training"}) loads too
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(json.dumps({"config": config.to_dict(), "environment": {}}))
    assert kt.TrainConfig.load(tmp_path / "run") == config


def test_config_json_of_old_run_folders_loads_early_stopping_as_patience(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"config": {"model": "lenet5", "early_stopping": 4}}))
    config = kt.TrainConfig.load(tmp_path)
    assert config.patience == 4 and config.model == "lenet5"
    assert "early_stopping" not in config.to_dict()


@pytest.mark.backend_agnostic
def test_from_dict_rejects_unknown_keys_listing_valid_ones():
    with pytest.raises(ValueError, match="Unknown TrainConfig key.*'learning_rte'.*valid keys: name, model"):
        kt.TrainConfig.from_dict({"learning_rte": 0.1})
    with pytest.raises(ValueError, match="valid names: smoke, quick, full"):
        kt.preset("tiny")


def test_presets_are_sized_to_the_machine():
    smoke, quick, full = (kt.preset(name) for name in ("smoke", "quick", "full"))
    assert smoke.epochs == 2 and smoke.train_size == 2000 and smoke.precision == "float32"
    assert quick.train_size is None and quick.precision == "auto" and quick.epochs <= 10
    assert full.epochs > quick.epochs and full.augmentation and full.label_smoothing > 0
    assert kt.preset("quick", epochs=3).epochs == 3 and kt.TRAIN_PRESETS["quick"].epochs == quick.epochs


@pytest.mark.backend_agnostic
def test_unknown_names_list_valid_ones():
    cases = [
        (dict(optimizer="adamm"), "Unknown optimizer 'adamm'; valid names: sgd, momentum, nesterov, adagrad"),
        (dict(schedule="cosin"), "Unknown schedule 'cosin'; valid names: constant"),
        (dict(precision="fp8"), "Unknown precision 'fp8'; valid names: auto, float32"),
        (dict(monitor="val_f1"), "Unknown monitor 'val_f1'; valid names: val_loss"),
        (dict(augmentation="flip,blur"), "Unknown augmentation 'blur'; valid names: flip"),
    ]
    for overrides, message in cases:
        with pytest.raises(ValueError, match=message.replace("(", r"\(")):
            kt.preset("smoke", **overrides)
    with pytest.raises(ValueError, match="Unknown model 'resnet9000'; valid names: .*cnn_mnist"):
        kt.build_model(kt.preset("smoke", model="resnet9000"))


def test_minutes_on_the_command_line_are_the_time_budget(capsys):
    from kit.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["train", "--preset", "smoke", "--minutes", "2.5"])
    assert kt._config_from_args(args).time_budget == 150 and kt.preset("smoke").time_budget is None
    with pytest.raises(SystemExit):  # a run lasts its epochs or its minutes, not both
        parser.parse_args(["train", "--minutes", "1", "--epochs", "3"])
    assert "not allowed with argument" in capsys.readouterr().err
    # --epochs on a budgeted config (a recipe, --config) trains those epochs
    args = parser.parse_args(["train", "--epochs", "3"])
    assert kt._config_from_args(args, kt.preset("smoke", time_budget=60)).time_budget is None


# --------------------------------------------------------------------------- the smoke run
@pytest.mark.slow
def test_smoke_run_learns_and_writes_the_run_folder(smoke_run):
    history = smoke_run.history
    assert list(history["epoch"]) == [1, 2]
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    assert history["val_accuracy"].max() > 0.70
    assert list(history.columns[: len(runs.HISTORY_COLUMNS)]) == list(runs.HISTORY_COLUMNS)
    assert (history["images_per_second"] > 0).all() and (history["epoch_seconds"] > 0).all()

    run_dir = smoke_run.run_dir
    for name in ("config.json", "history.csv", "model.keras", "metrics.json", "training_curves.png"):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "backup").exists()  # removed once the run finished
    saved = json.loads((run_dir / "config.json").read_text())
    assert set(saved) == {"config", "environment", "training"}
    assert kt.TrainConfig.from_dict(saved["config"]) == smoke_run.config
    assert saved["environment"]["backend"] == keras.backend.backend()
    assert saved["environment"]["precision"] == "float32" and "device" in saved["environment"]
    training = saved["training"]
    assert training["stop_reason"] == "finished" and training["epochs"] == 2
    assert training["best_epoch"] == int(history.loc[history["val_accuracy"].idxmax(), "epoch"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["n_test"] == 1000 and metrics["params"] == smoke_run.model.count_params()
    assert abs(metrics["accuracy"] - smoke_run.evaluation.accuracy) < 1e-9

    best = keras.models.load_model(run_dir / "model.keras", safe_mode=True)
    x = np.zeros((4, 28, 28, 1), dtype="float32") + 0.5
    np.testing.assert_allclose(best.predict(x, verbose=0), smoke_run.model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.slow
def test_same_seed_and_config_give_the_same_history(smoke_run, small_fashion_mnist, tmp_path):
    again = kt.train(kt.preset("smoke"), data=small_fashion_mnist, out=tmp_path / "again", verbose=0)
    pd.testing.assert_frame_equal(again.history[LEARNING_COLUMNS], smoke_run.history[LEARNING_COLUMNS])


@pytest.mark.slow
def test_one_hot_path_label_smoothing_mixup_and_in_model_augmentation(small_fashion_mnist, tmp_path):
    data = small_fashion_mnist.subset(train=512, val=200, test=200)
    config = kt.preset("smoke", epochs=1, batch_size=64, label_smoothing=0.1, augmentation="flip,translate,mixup")
    run = kt.train(config, data=data, out=tmp_path / "mix", verbose=0)
    assert run.model.get_layer("augmentation") is not None  # prepended, saved with the model
    assert np.isfinite(run.history["loss"]).all() and 0 <= run.history["val_macro_f1"].iloc[0] <= 1
    reloaded = keras.models.load_model(tmp_path / "mix" / "model.keras", safe_mode=True)
    x = data.x_test[:8]
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), run.model.predict(x, verbose=0), atol=1e-6)


def test_precision_auto_measures_and_records(small_fashion_mnist):
    config = kt.preset("smoke", precision="auto")
    candidate, _ = kt._half_precision_candidate()
    policy_before = keras.config.dtype_policy().name
    chosen, record = kt.measure_precision(
        config, small_fashion_mnist.x_train[:64], small_fashion_mnist.y_train[:64], 10, steps=2
    )
    assert keras.config.dtype_policy().name == policy_before  # the global policy is left as it was
    if candidate is None:
        assert chosen == "float32" and "images_per_second" not in record
    else:
        assert set(record["images_per_second"]) == {"float32", candidate}
        assert chosen == record["chosen"] in ("float32", candidate)


def test_precision_benchmark_compares_both_policies_on_any_cpu(small_fashion_mnist, monkeypatch, capsys):
    """benchmarks/precision.py: one row per network, the ratio of the medians, the choice by kit's rule.

    bfloat16 is named as the machine's mixed policy, so the comparison runs on any CPU (TensorFlow
    and JAX run bfloat16 everywhere, only slowly without hardware support)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import precision as bench  # benchmarks/precision.py
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(kt, "_half_precision_candidate", lambda: ("mixed_bfloat16", "named by the test"))
    configs = {name: bench.networks()[name] for name in ("cnn_mnist", "homework-quick")}
    table = bench.measure(configs, small_fashion_mnist, rounds=2, steps=1)
    assert list(table["network"]) == ["cnn_mnist", "homework-quick"]
    assert (table["mixed policy"] == "mixed_bfloat16").all()
    assert (table["float32 img/s"] > 0).all() and (table["mixed img/s"] > 0).all()
    for _, row in table.iterrows():
        assert row["ratio"] == pytest.approx(row["mixed img/s"] / row["float32 img/s"], abs=0.02)
        if abs(row["ratio"] - kt.MIXED_MIN_SPEEDUP) > 0.02:  # away from the threshold, rounding cannot flip it
            expected = "mixed_bfloat16" if row["ratio"] > kt.MIXED_MIN_SPEEDUP else "float32"
            assert row["auto (on the medians)"] == expected
    assert keras.config.dtype_policy().name == "float32"  # left as it was
    assert bench.main(["no_such_net"]) == 2 and "valid names: cnn_mnist" in capsys.readouterr().err


# --------------------------------------------------------------------------- NaN guard and resume (CLI)
@pytest.mark.slow
def test_nan_guard_stops_with_the_lecture_hint_and_leaves_a_valid_folder(tmp_path, capsys):
    from kit.cli import main

    out = tmp_path / "exploded"
    status = main(["train", "--model", "cnn_mnist", "--preset", "smoke", "--lr", "1e3", "--out", str(out)])
    assert status == 2
    err = capsys.readouterr().err
    assert LOSS_EXPLODED in err and "Traceback" not in err
    saved = json.loads((out / "config.json").read_text())
    assert saved["training"]["stop_reason"] == "loss exploded"
    assert saved["config"]["learning_rate"] == 1e3
    history = pd.read_csv(out / "history.csv")
    assert list(history["epoch"]) == [1]  # stopped in the first epoch, its row written
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.slow
def test_a_budget_too_small_is_refused_by_the_command_line_before_training(tmp_path, capsys):
    from kit.cli import main

    out = tmp_path / "short"
    status = main(["train", "--model", "cnn_mnist", "--preset", "smoke", "--minutes", "0.05", "--out", str(out)])
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("error: a time budget of 3 s is too small on this machine (") and "Traceback" not in err
    assert "the smallest budget that fits is" in err and err.strip().endswith("give at least that.")
    assert not (out / "history.csv").exists()
    assert json.loads((out / "config.json").read_text())["training"]["stop_reason"] == "budget too small"


@pytest.mark.slow
def test_lr_find_command_writes_the_curve_and_a_suggestion(tmp_path, capsys):
    from kit.cli import main

    status = main(
        [
            "lr-find",
            "--model",
            "cnn_mnist",
            "--preset",
            "smoke",
            "--steps",
            "30",
            "--start-lr",
            "1e-5",
            "--end-lr",
            "1",
            "--out",
            str(tmp_path),
        ]
    )
    assert status == 0
    assert "suggested learning rate" in capsys.readouterr().out
    curve = pd.read_csv(tmp_path / "lr_find.csv")
    assert list(curve.columns) == ["learning_rate", "loss", "raw_loss"] and 10 <= len(curve) <= 30
    assert curve["learning_rate"].min() >= 1e-5 and (tmp_path / "lr_find.png").stat().st_size > 1000


def _history_rows(path: Path) -> int:
    try:
        return max(len(path.read_text().strip().splitlines()) - 1, 0)
    except OSError:
        return 0


@pytest.mark.slow
def test_resume_after_sigkill_finishes_exactly_the_asked_epochs(tmp_path):
    out = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "kit",
        "train",
        "--model",
        "cnn_mnist",
        "--preset",
        "smoke",
        "--epochs",
        "4",
        "--out",
        str(out),
    ]
    log = (tmp_path / "first.log").open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    try:
        while _history_rows(out / "history.csv") < 2:
            assert process.poll() is None, (tmp_path / "first.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "epoch 2 did not finish in time"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        log.close()
    assert process.returncode == -signal.SIGKILL
    killed_at = _history_rows(out / "history.csv")
    assert 2 <= killed_at < 4 and (out / "backup").is_dir()

    resumed = subprocess.run(command + ["--resume"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Epoch 4/4" in resumed.stdout and "Epoch 1/4" not in resumed.stdout
    history = pd.read_csv(out / "history.csv")
    assert list(history["epoch"]) == [1, 2, 3, 4]
    assert history[LEARNING_COLUMNS].notna().all().all()
    assert not (out / "backup").exists() and (out / "model.keras").is_file()
    saved = json.loads((out / "config.json").read_text())
    assert saved["training"]["stop_reason"] == "finished" and saved["training"]["epochs"] == 4
    assert saved["training"]["resumed"] is True


@pytest.mark.slow
def test_train_accepts_a_model_builder(small_fashion_mnist, tmp_path):
    def build():  # e.g. a student's build_cnn_functional
        inputs = keras.Input((28, 28, 1))
        outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs))
        return keras.Model(inputs, outputs, name="tiny")

    data = small_fashion_mnist.subset(train=256, val=100, test=100)
    run = kt.train(kt.preset("smoke", name="tiny", epochs=1), data=data, out=tmp_path / "tiny", verbose=0, model=build)
    assert run.model.name == "tiny" and len(run.history) == 1 and (tmp_path / "tiny" / "model.keras").is_file()
