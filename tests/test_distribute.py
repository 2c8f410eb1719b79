"""kit.distribute: data-parallel training really runs on two logical CPU devices (TF and JAX)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kit import distribute

ROOT = Path(__file__).resolve().parent.parent

# Runs in a fresh process: the CPU must be split before the backend initialises its devices.
_SCRIPT = r"""
import json, sys
from kit import distribute
distribute.use_logical_cpus(2)  # TF: logical device configuration; JAX: XLA_FLAGS (also set by the test)
import keras
from kit.data import load_fashion_mnist
from kit.train import preset, train

data = load_fashion_mnist(validation_size=200).subset(train=512, val=200, test=200)
run = train(preset("smoke", epochs=1, batch_size=64, devices=2), data=data, out=sys.argv[1], verbose=0)
if keras.backend.backend() == "tensorflow":
    strategy = run.model.distribute_strategy
    evidence = {"kind": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync}
else:
    kernel = run.model.trainable_variables[0]
    evidence = {"kind": type(kernel.value.sharding).__name__, "replicas": len(kernel.value.sharding.device_set)}
print("EVIDENCE " + json.dumps(evidence))
"""


def _run(backend: str, out: Path) -> dict:
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    if backend == "jax":
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("EVIDENCE "))
    return json.loads(line.removeprefix("EVIDENCE "))


def _check_run(out: Path) -> None:
    saved = json.loads((out / "config.json").read_text())
    assert saved["config"]["devices"] == 2 and saved["environment"]["replicas"] == 2
    assert saved["training"]["stop_reason"] == "finished" and saved["training"]["epochs"] == 1
    assert (out / "model.keras").is_file() and (out / "metrics.json").is_file()


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    evidence = _run("tensorflow", tmp_path / "tf")
    assert evidence == {"kind": "MirroredStrategy", "replicas": 2}
    _check_run(tmp_path / "tf")


@pytest.mark.slow
def test_jax_data_parallel_on_two_host_devices(tmp_path):
    pytest.importorskip("jax")
    evidence = _run("jax", tmp_path / "jax")
    assert evidence == {"kind": "NamedSharding", "replicas": 2}  # each weight replicated on both devices
    _check_run(tmp_path / "jax")


@pytest.mark.backend_agnostic
def test_one_device_is_plain_keras_and_too_many_is_a_clear_error():
    with distribute.strategy_scope(1) as scope:
        assert scope is None
    assert distribute.replicas() == 1
    with pytest.raises(ValueError, match=r"--devices 64 asked but the \w+ backend sees \d+ device"):
        with distribute.strategy_scope(64):
            pass
