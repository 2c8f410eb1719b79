"""kit.host_fit: the width of step 7's network chosen for the machine's speed (issue 41).

The choice is arithmetic on a measured table; here it runs on a small table written for the test
(so the test does not move when the measured figures do) and, once, through ``kit.train`` on a tiny
real run with a simulated clock.
"""

from __future__ import annotations

import json

import pytest

from kit import budget as kb
from kit import host_fit
from kit import train as kt

TABLE = {
    "resnet_fast": (
        "width",
        (
            host_fit.Variant(16, 3.0, ((10.0, 0.930),)),
            host_fit.Variant(32, 1.0, ((4.0, 0.925), (12.0, 0.938))),
        ),
    )
}


def _estimate(images_per_second: float) -> dict:
    """Width 32 timed at ``images_per_second`` (batch 256, 215 steps an epoch, 10 s to start)."""
    step = 256 / images_per_second
    costs = kb.Costs(step_seconds=step, epoch_overhead_seconds=5.0, final_seconds=15.0)
    return {"costs": costs, "steps_per_epoch": 215, "setup_seconds": 10.0, "images_per_second": images_per_second}


def test_a_slow_host_gets_the_narrow_network_and_a_fast_one_keeps_its_width(monkeypatch):
    monkeypatch.setattr(host_fit, "TABLES", TABLE)
    slow = host_fit.choose("resnet_fast", 32, 520.0, _estimate(380.0))
    rows = {row["width"]: row for row in slow.candidates}
    assert rows[32]["epochs"] == pytest.approx(3.1, abs=0.2) and rows[16]["epochs"] > 3 * rows[32]["epochs"] - 1
    assert slow.chosen == 16 and slow.changed
    assert rows[16]["expected_f1"] > rows[32]["expected_f1"] + host_fit.LEAST_GAIN
    assert slow.sentence().startswith("width 16 (expected test macro-F1 ")
    assert "over width 32 (" in slow.sentence() and slow.to_dict()["why"] == slow.sentence()
    fast = host_fit.choose("resnet_fast", 32, 520.0, _estimate(1200.0))
    assert fast.chosen == 32 and not fast.changed  # 11 epochs of width 32 beat 33 of width 16 by the curves
    # the curve: linear in log(epochs) between points, flat after the last, lower before the first
    reference = TABLE["resnet_fast"][1][1]
    assert host_fit.expected_f1(reference, 12.0, reference) == pytest.approx(0.938)
    assert host_fit.expected_f1(reference, 40.0, reference) == pytest.approx(0.938)
    assert host_fit.expected_f1(reference, 2.0, reference) < 0.925 < host_fit.expected_f1(reference, 6.0, reference)
    narrow = TABLE["resnet_fast"][1][0]  # one point: the reference's shape through it
    assert host_fit.expected_f1(narrow, 10.0, reference) == pytest.approx(0.930)
    assert host_fit.expected_f1(narrow, 5.0, reference) < 0.930


def test_a_config_that_cannot_be_fitted_is_refused_in_one_sentence():
    with pytest.raises(ValueError, match=r"no measured table for model 'cnn_mnist'; models with one: resnet_fast"):
        kt.TrainConfig(model="cnn_mnist", fit_to_host=True)
    with pytest.raises(ValueError, match=r"got width 40; measured: 16, 24, 32"):
        kt.TrainConfig(model="resnet_fast", model_options={"width": 40}, fit_to_host=True)
    kt.TrainConfig(model="resnet_fast", model_options={"width": 56})  # without fit_to_host any width trains


@pytest.mark.slow
def test_a_fitted_run_records_its_choice_and_trains_the_chosen_width(small_fashion_mnist, tmp_path, capsys):
    from test_budget import SimulatedClock

    data = small_fashion_mnist.subset(train=256, val=64, test=64)
    config = kt.preset(
        "smoke", model="resnet_fast", batch_size=32, time_budget=90, fit_to_host=True, monitor="val_accuracy"
    )
    run = kt.train(config, data=data, out=tmp_path / "fitted", verbose=0, clock=SimulatedClock())
    saved = json.loads((tmp_path / "fitted" / "config.json").read_text())
    choice = saved["training"]["host_fit"]
    widths = [variant.width for variant in host_fit.TABLES["resnet_fast"][1]]
    assert choice["asked"] == 32 and choice["chosen"] in widths and len(choice["candidates"]) == len(widths)
    assert saved["config"]["model_options"]["width"] == choice["chosen"] and saved["config"]["fit_to_host"] is False
    assert run.config.model_options["width"] == choice["chosen"]
    assert f"kit train: fitted to this machine: {choice['why']}" in capsys.readouterr().out


@pytest.mark.slow
def test_a_resumed_fitted_run_keeps_the_width_it_chose(small_fashion_mnist, tmp_path, capsys):
    from test_budget import SimulatedClock

    data = small_fashion_mnist.subset(train=256, val=64, test=64)
    config = kt.preset(
        "smoke", model="resnet_fast", batch_size=32, time_budget=90, fit_to_host=True, monitor="val_accuracy"
    )
    with pytest.raises(KeyboardInterrupt):  # killed at the end of epoch 2
        kt.train(config, data=data, out=tmp_path / "run", verbose=0, clock=SimulatedClock(fail_at_epoch=2))
    chosen = json.loads((tmp_path / "run" / "config.json").read_text())["training"]["host_fit"]["chosen"]
    capsys.readouterr()
    run = kt.train(config, data=data, out=tmp_path / "run", verbose=0, clock=SimulatedClock(), resume=True)
    assert run.config.model_options["width"] == chosen  # not measured again: the weights are that width's
    assert "fitted to this machine" not in capsys.readouterr().out
