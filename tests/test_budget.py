"""kit.budget and training to a time budget: the steps that fit, the correction after a slower epoch, the refusal.

Nothing here is timed: the arithmetic is checked with exact numbers, and the tiny real runs use a
simulated clock that advances by fixed seconds for each training step and each predicted batch,
so every plan is known in advance.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pandas as pd
import pytest

from kit import budget as kb
from kit import train as kt

# --------------------------------------------------------------------------- the arithmetic
COSTS = kb.Costs(step_seconds=1.0, epoch_overhead_seconds=10.0, final_seconds=20.0)


class Counter:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_steps_that_fit_leave_the_reserve_and_may_end_part_way_through_an_epoch():
    # 1,000 s: 20 s reserve (2 %), 20 s final evaluation; each epoch of 100 steps costs 100 s + 10 s
    plan = kb.plan_steps(1000, elapsed=0.0, steps_done=0, steps_per_epoch=100, costs=COSTS)
    # 8 whole epochs (880 s) leave 80 s: a ninth epoch's end (10 s) and 70 more steps
    assert plan.total_steps == 870 and plan.whole_epochs == 9 and plan.epochs == pytest.approx(8.7)
    assert plan.estimated_seconds == pytest.approx(870 + 9 * 10 + 20) == 1000 - kb.reserve(1000)
    # what was spent counts: 100 s later, one epoch done, 100 steps fewer fit (and one epoch end less)
    later = kb.plan_steps(1000, elapsed=110.0, steps_done=100, steps_per_epoch=100, costs=COSTS)
    assert later.total_steps == 870
    # nothing more fits: the plan stays where the run is (stop now)
    done = kb.plan_steps(1000, elapsed=990.0, steps_done=500, steps_per_epoch=100, costs=COSTS)
    assert done.total_steps == 500
    assert kb.reserve(10) == kb.RESERVE_MIN_SECONDS and kb.reserve(3600) == pytest.approx(72)


def test_a_slower_epoch_shortens_the_plan_and_a_faster_one_lengthens_it():
    clock = Counter()
    budget = kb.Budget(seconds=1000, steps_per_epoch=100, clock=clock)
    budget.costs = COSTS
    first = budget.first_plan()
    assert first.total_steps == 870
    # the first epoch ran at twice the planned step time: 200 s of steps, 10 s of validation
    clock.now = 210.0
    budget.observe_epoch(steps=100, train_seconds=200.0, tail_seconds=10.0)
    slower = budget.plan(100, "epoch 1")
    # 1000 - 20 - 210 - 20 = 750 s left: 4 more epoch ends (40 s) and 355 steps of 2 s
    assert slower.total_steps == 100 + 355 and slower.estimated_seconds <= 1000 - kb.reserve(1000)
    # then an epoch at 0.5 s a step: the latest two epochs average 1.25 s a step
    clock.now = 270.0
    budget.observe_epoch(steps=100, train_seconds=50.0, tail_seconds=10.0)
    faster = budget.plan(200, "epoch 2")
    assert budget.costs.step_seconds == pytest.approx(1.25)
    assert faster.total_steps > slower.total_steps and faster.estimated_seconds <= 1000 - kb.reserve(1000)
    record = budget.to_dict()
    assert [p["at"] for p in record["plans"]] == ["start", "epoch 1", "epoch 2"]
    assert record["spent_seconds"] == 270.0 and record["total_steps"] == faster.total_steps


def test_the_recorded_throughput_is_the_whole_runs_not_a_short_last_epochs():
    budget = kb.Budget(seconds=1000, steps_per_epoch=100, batch_size=64, clock=Counter())
    budget.costs = COSTS
    assert budget.to_dict()["measured"]["images_per_second"] == pytest.approx(64 / COSTS.step_seconds, abs=0.1)
    budget.observe_epoch(steps=100, train_seconds=100.0, tail_seconds=10.0)
    budget.observe_epoch(steps=100, train_seconds=100.0, tail_seconds=10.0)
    budget.observe_epoch(steps=10, train_seconds=20.0, tail_seconds=10.0)  # a slow moment of a shared host
    assert budget.costs.step_seconds == pytest.approx(2.0)  # the plan believes the slower machine at once
    assert budget.to_dict()["measured"]["images_per_second"] == pytest.approx(64 * 210 / 220, abs=0.1)


def test_a_budget_too_small_for_one_epoch_is_refused_naming_the_smallest_that_fits():
    clock = Counter()
    budget = kb.Budget(seconds=120, steps_per_epoch=100, clock=clock, what="resnet_fast")
    budget.costs = COSTS
    with pytest.raises(kb.BudgetTooSmall) as refused:
        budget.first_plan()
    smallest = refused.value.smallest_seconds
    # one epoch (100 s + 10 s) + the final evaluation (20 s) + the reserve, rounded up to a tenth of a minute
    assert smallest == 138.0
    message = str(refused.value)
    assert message == (
        "a time budget of 2.0 min (120 s) is too small on this machine: 0 s went to loading and measuring, one "
        "epoch of resnet_fast takes about 1.8 min (110 s) with its validation and the final evaluation 20 s, so the "
        "smallest budget that fits is 2.3 min (138 s); give at least that."
    )
    # the budget named fits one epoch; a tenth of a minute less does not
    fits = kb.Budget(seconds=smallest, steps_per_epoch=100, clock=clock, costs=COSTS).first_plan()
    assert fits.total_steps >= 100
    with pytest.raises(kb.BudgetTooSmall):
        kb.Budget(seconds=smallest - 6, steps_per_epoch=100, clock=clock, costs=COSTS).first_plan()


def test_a_resumed_budget_keeps_only_its_remainder():
    clock = Counter()
    budget = kb.Budget(seconds=1000, steps_per_epoch=100, clock=clock, spent_before=330.0, costs=COSTS)
    plan = budget.first_plan(steps_done=300)
    assert plan.at == "resumed after step 300"
    # 1000 - 20 reserve - 330 spent - 20 final = 630 s: 6 epoch ends (60 s) and 570 steps
    assert plan.total_steps == 300 + 570 and plan.elapsed_seconds == 330
    spent = kb.Budget(seconds=1000, steps_per_epoch=100, clock=clock, spent_before=900.0, costs=COSTS)
    with pytest.raises(kb.BudgetTooSmall, match=r"15.0 min \(900 s\) are spent \(the run's earlier part included\)"):
        spent.first_plan(500)  # 60 s left: 50 steps, not the 100 of an epoch


def _split(seconds: float, epochs: dict, clock: Counter) -> kb.BudgetSplit:
    """Three parts (weights 15/15/70 %) whose one epoch needs ``epochs`` seconds; the first keeps 10 s after it."""
    split = kb.BudgetSplit(
        seconds=seconds,
        clock=clock,
        label="step {}",
        what="the homework",
        advice="run with --minutes {minutes:.1f} or more",
    )
    for part, weight in ((5, 0.15), (6, 0.15), (7, 0.70)):
        estimate = {"model": "net", "images_per_second": 256.0, "smallest_budget": epochs[part]}
        split.add(
            part, weight, estimate, end_seconds=16.0 if part == 5 else 8.0, after_seconds=10.0 if part == 5 else 0
        )
    return split


def test_a_split_budget_shares_by_weight_floors_at_one_epoch_and_refuses_once():
    clock = Counter()
    clock.now = 30.0  # spent before the split was made: it counts from its own start
    split = _split(900.0, {5: 30.0, 6: 42.0, 7: 120.0}, clock)
    clock.now += 20.0  # 20 s spent timing the networks
    kept = 16 + 8 + 8 + 10  # every part's report, and the first part's follow-up
    assert split.kept_back(5) == kept and split.kept_back(6) == kept - 10
    assert split.smallest() == -(-(20 + kept + 1.3 * (30 + 42 + 120)) // 6) * 6
    split.refuse_if_too_small("CPU: test")  # 900 s is enough: nothing floored
    assert split.for_part(5) == pytest.approx(0.15 * (900 - 20 - kept))
    clock.now += split.given[5] - 5  # part 5 leaves 5 s unused: they flow on to parts 6 and 7
    assert split.for_part(6) == pytest.approx((900 - 20 - split.given[5] + 5 - (kept - 10)) * 0.15 / 0.85)
    # a slow part 6 (its epoch more than its 15 %) gets its epoch; the rest is shared by the weights
    slow = _split(900.0, {5: 30.0, 6: 200.0, 7: 120.0}, Counter())
    slow.refuse_if_too_small()
    assert list(slow.shares) == [5, 6, 7] and slow.shares[6] == pytest.approx(1.3 * 200.0)
    assert sum(slow.shares.values()) == pytest.approx(900 - kept)
    assert slow.shares[7] / slow.shares[5] == pytest.approx(0.70 / 0.15)
    with pytest.raises(kb.BudgetTooSmall) as refused:
        _split(120.0, {5: 30.0, 6: 42.0, 7: 120.0}, Counter()).refuse_if_too_small("CPU: test")
    message = str(refused.value)
    assert message.startswith("a time budget of 2.0 min (120 s) is too small for the homework on this machine (CPU:")
    assert "one epoch of each network needs" in message and "step 7's net the most: 2.0 min (120 s)" in message
    assert message.endswith(f"run with --minutes {refused.value.smallest_seconds / 60:.1f} or more.")
    assert kb.split_seconds(60.0, {"a": 1, "b": 3}) == {"a": 15.0, "b": 45.0} and kb.split_seconds(5, {}) == {}


def test_costs_and_budgets_reject_nonsense():
    with pytest.raises(ValueError, match="step_seconds must be > 0"):
        kb.Costs(step_seconds=0, epoch_overhead_seconds=1, final_seconds=1)
    with pytest.raises(ValueError, match="positive number of seconds"):
        kb.Budget(seconds=-5, steps_per_epoch=10)
    with pytest.raises(ValueError, match="time_budget is the run's seconds"):
        kt.preset("smoke", time_budget=0)
    assert kb.format_duration(45) == "45 s" and kb.format_duration(900) == "15.0 min (900 s)"


# --------------------------------------------------------------------------- tiny real runs, simulated clock
STEP, PREDICT_BATCH = 1.0, 0.05  # simulated seconds per training step and per predicted (or validated) batch


class SimulatedClock(keras.callbacks.Callback):
    """Simulated time: ``STEP`` seconds a training step (``slower`` times that from epoch ``slow_from``),
    ``PREDICT_BATCH`` a predicted or validated batch. kit.train adds a clock that is a callback to
    its callbacks, so it sees the steps it times; nothing else moves it."""

    def __init__(self, *, slow_from: int | None = None, slower: float = 1.0, fail_at_epoch: int | None = None):
        super().__init__()
        self.now = 0.0
        self.step = STEP
        self.slow_from, self.slower, self.fail_at_epoch = slow_from, slower, fail_at_epoch

    def __call__(self) -> float:
        return self.now

    def on_epoch_begin(self, epoch, logs=None):
        if self.slow_from is not None and epoch + 1 >= self.slow_from:
            self.step = STEP * self.slower

    def on_train_batch_end(self, batch, logs=None):
        self.now += self.step

    def on_test_batch_end(self, batch, logs=None):
        self.now += PREDICT_BATCH

    def on_predict_batch_end(self, batch, logs=None):
        self.now += PREDICT_BATCH

    def on_epoch_end(self, epoch, logs=None):
        if self.fail_at_epoch == epoch + 1:
            raise KeyboardInterrupt  # as Ctrl+C: BackupAndRestore keeps the last finished epoch


@pytest.fixture(scope="module")
def tiny_data(small_fashion_mnist):
    return small_fashion_mnist.subset(train=256, val=64, test=64)


def _tiny_config(**overrides) -> kt.TrainConfig:
    """8 steps of 32 images an epoch; cosine decay after a one-epoch warm-up."""
    values = dict(name="budget", batch_size=32, schedule="cosine", warmup_epochs=1, monitor="val_accuracy")
    return kt.preset("smoke", **{**values, **overrides})


def _expected_plan(budget_seconds: float) -> int:
    """The plan the simulated clock leads to: first the timed 8 steps, a 1-batch validation, two 1-batch predictions."""
    elapsed = (kt.PROBE_WARM_STEPS + kt.PROBE_TIMED_STEPS) * STEP + 3 * PREDICT_BATCH
    costs = kb.Costs.estimate(
        step_seconds=STEP,
        forward_seconds_per_image=PREDICT_BATCH / 64,
        save_seconds=0.0,
        validation_images=64,
        test_forward_images=64,
    )
    return kb.plan_steps(budget_seconds, elapsed=elapsed, steps_done=0, steps_per_epoch=8, costs=costs).total_steps


@pytest.mark.slow
@pytest.mark.backend_agnostic
def test_a_budgeted_run_trains_the_steps_that_fit_and_ends_its_schedule_at_the_last_step(tiny_data, tmp_path):
    clock = SimulatedClock()
    run = kt.train(_tiny_config(time_budget=61), data=tiny_data, out=tmp_path / "run", verbose=0, clock=clock)
    planned = _expected_plan(61)
    assert planned == 48  # 8.15 s measuring, then 6 epochs of 8 s + 0.1 s validation, 2.05 s final: 58.8 s of 61
    history = run.history
    assert len(history) == 6 and run.budget["total_steps"] == 48 and run.budget["epochs"] == 6
    assert clock.now == pytest.approx(8.15 + 6 * 8.1) and clock.now <= 61 - kb.reserve(61)
    # the schedule is stretched over the 48 steps: one epoch of warm-up, then cosine decay to 0 at the last step
    expected_lr = kt.budget_learning_rates(run.config, 8)(48)
    assert expected_lr[7] == pytest.approx(run.config.learning_rate * 7 / 8)
    np.testing.assert_allclose(history["learning_rate"], expected_lr[7::8], rtol=1e-5, atol=1e-9)
    assert history["learning_rate"].iloc[-1] == pytest.approx(0.0, abs=1e-9)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    recorded = saved["training"]["budget"]
    assert recorded["measured"]["step_seconds"] == pytest.approx(STEP)
    assert recorded["measured"]["images_per_second"] == pytest.approx(32 / STEP)
    assert [p["at"] for p in recorded["plans"]] == ["start"] + [f"epoch {e}" for e in range(1, 6)]
    assert all(p["total_steps"] == 48 for p in recorded["plans"]) and saved["config"]["time_budget"] == 61
    assert saved["training"]["stop_reason"] == "finished" and (tmp_path / "run" / "model.keras").is_file()


@pytest.mark.slow
@pytest.mark.backend_agnostic
def test_a_machine_that_gets_slower_ends_sooner_and_still_within_the_budget(tiny_data, tmp_path):
    clock = SimulatedClock(slow_from=3, slower=3.0)  # from epoch 3 each step takes 3 s instead of 1 s
    run = kt.train(_tiny_config(time_budget=61), data=tiny_data, out=tmp_path / "run", verbose=0, clock=clock)
    plans = run.budget["plans"]
    assert [p["total_steps"] for p in plans[:3]] == [48, 48, 48]
    # after epoch 3 the slower step is believed at once: 48.45 s spent, 9.1 s left for steps -> 3 more steps
    assert plans[3]["at"] == "epoch 3" and plans[3]["step_seconds"] == pytest.approx(3.0)
    assert plans[3]["total_steps"] == 27 == run.budget["total_steps"]
    assert len(run.history) == 4  # the fourth epoch stopped after its third step
    assert clock.now == pytest.approx(48.45 + 3 * 3.0 + 0.1) and clock.now <= 61 - kb.reserve(61)
    assert run.history["learning_rate"].iloc[-1] == pytest.approx(0.0, abs=1e-9)
    # the partial epoch's throughput counts the 2 steps it ran, not 8
    assert run.history["images_per_second"].iloc[-1] > 0


@pytest.mark.slow
@pytest.mark.backend_agnostic
def test_a_budget_too_small_is_refused_before_any_training(tiny_data, tmp_path):
    out = tmp_path / "small"
    with pytest.raises(kb.BudgetTooSmall, match="the smallest budget that fits is") as refused:
        kt.train(_tiny_config(time_budget=15), data=tiny_data, out=out, verbose=0, clock=SimulatedClock())
    # 8.15 s of measuring + one epoch (8 s + 0.1 s) + 2.05 s final + 1 s reserve = 19.3 s -> 24 s (0.4 min)
    assert refused.value.smallest_seconds == 24.0
    assert not (out / "history.csv").exists() and not (out / "model.keras").exists()
    saved = json.loads((out / "config.json").read_text())
    assert saved["training"]["stop_reason"] == "budget too small"


@pytest.mark.slow
def test_a_resumed_budgeted_run_keeps_the_remainder_of_its_budget(tiny_data, tmp_path):
    out = tmp_path / "resumed"
    config = _tiny_config(time_budget=61)
    with pytest.raises(KeyboardInterrupt):  # interrupted at the end of epoch 3, before its backup
        kt.train(config, data=tiny_data, out=out, verbose=0, clock=SimulatedClock(fail_at_epoch=3))
    spent = json.loads((out / "config.json").read_text())["training"]["budget"]["spent_seconds"]
    assert spent == pytest.approx(8.15 + 2 * 8.1)  # as of epoch 2, the last one backed up
    clock = SimulatedClock()
    run = kt.train(config, data=tiny_data, out=out, verbose=0, clock=clock, resume=True)
    plans = run.budget["plans"]
    assert plans[0]["at"] == "resumed after step 16" and plans[0]["elapsed_seconds"] == pytest.approx(spent + 8.15)
    # 61 - 1.22 reserve - 32.5 spent - 2.05 final leaves 3 epochs of 8.1 s: 40 steps in all, 5 epochs
    assert plans[0]["total_steps"] == 40 == run.budget["total_steps"]
    assert run.budget["spent_before_seconds"] == pytest.approx(spent)
    assert spent + clock.now <= 61 - kb.reserve(61)  # the two parts together stay within the one budget
    history = pd.read_csv(out / "history.csv")
    assert list(history["epoch"]) == [1, 2, 3, 4, 5]


@pytest.mark.slow
def test_a_run_is_estimated_before_anything_trains(tiny_data):
    """kit.train.estimate_run: what the homework runner uses to refuse a budget before its first step trains."""
    estimate = kt.estimate_run(_tiny_config(), tiny_data, clock=SimulatedClock())
    assert estimate["costs"].step_seconds == pytest.approx(STEP) and estimate["steps_per_epoch"] == 8
    assert estimate["setup_seconds"] == pytest.approx(8.15) and estimate["images_per_second"] == pytest.approx(32)
    assert estimate["smallest_budget"] == 24.0  # as the refusal of a 15 s run above
    assert keras.config.dtype_policy().name == "float32"  # left as it was


# ------------------------------------------------------------------- demonstrations: part of an epoch (issue 41)
def test_a_demonstration_may_plan_part_of_an_epoch_and_no_less_than_its_least():
    assert kb.least_steps(0, 100) == 100 and kb.least_steps(30, 100) == 70  # a run ends its epoch
    assert kb.least_steps(0, 100, 0.25) == 25 and kb.least_steps(30, 100, 0.25) == 1  # a demonstration, a quarter
    with pytest.raises(ValueError, match=r"in \(0, 1\]; got 1.5"):
        kb.least_steps(0, 100, 1.5)
    clock = Counter()
    # 70 s: 1.4 s reserve, 20 s final, 10 s for the epoch's end: 38 steps of the 100-step epoch
    short = kb.Budget(seconds=70, steps_per_epoch=100, clock=clock, costs=COSTS, least_epochs=0.25).first_plan()
    assert short.total_steps == 38 and short.epochs == pytest.approx(0.38)
    with pytest.raises(kb.BudgetTooSmall, match=r"0.25 of an epoch of the model takes about 35 s") as refused:
        kb.Budget(seconds=50, steps_per_epoch=100, clock=clock, costs=COSTS, least_epochs=0.25).first_plan()
    # 25 steps + 10 epoch end + 20 final = 55 s, / 0.98 -> 56.1 s -> 1.0 min
    assert refused.value.smallest_seconds == 60.0
    assert kb.format_epochs(0.546) == "0.55 of an epoch" and kb.format_epochs(1) == "1 epoch"
    assert kb.format_epochs(7.6) == "7.6 epochs"


def _demonstrations(seconds: float, step_6_least: float) -> kb.BudgetSplit:
    """Steps 5 and 6 may train a quarter of an epoch (their least: 40 s and ``step_6_least`` s); step 7 one epoch."""
    split = kb.BudgetSplit(seconds=seconds, clock=Counter(), label="step {}", what="the homework")
    for part, weight, smallest, least in ((5, 0.15, 40.0, 0.25), (6, 0.15, step_6_least, 0.25), (7, 0.70, 330.0, 1)):
        estimate = {"model": "net", "images_per_second": 300.0, "smallest_budget": smallest, "least_epochs": least}
        split.add(part, weight, estimate)
    return split


def test_a_split_keeps_a_demonstrations_share_below_one_epoch_and_floors_it_at_its_least():
    slow = _demonstrations(900.0, 90.0)  # a slow host: step 6's epoch needs 300 s, its quarter 90 s, its 15 % 135 s
    slow.refuse_if_too_small()
    assert slow.shares[6] == pytest.approx(0.15 * 900) and slow.shares[7] == pytest.approx(0.70 * 900)  # shares hold
    slower = _demonstrations(900.0, 160.0)
    slower.refuse_if_too_small()
    assert slower.shares[6] == pytest.approx(1.3 * 160.0)  # floored at its least (with the margin), not at one epoch
    with pytest.raises(kb.BudgetTooSmall) as refused:
        _demonstrations(300.0, 90.0).refuse_if_too_small()
    assert "the least training of each network (one epoch; 0.25 of an epoch for step 5, step 6) needs" in str(
        refused.value
    )


@pytest.mark.slow
@pytest.mark.backend_agnostic
def test_a_demonstration_trains_part_of_an_epoch_within_its_budget(tiny_data, tmp_path):
    clock = SimulatedClock()
    config = _tiny_config(time_budget=15, least_epochs=0.25)
    run = kt.train(config, data=tiny_data, out=tmp_path / "part", verbose=0, clock=clock)
    # 8.15 s measuring, 2.05 s final, 1 s reserve: 3.8 s for steps and the epoch's end (0.1 s): 3 of 8 steps
    assert run.budget["total_steps"] == 3 and run.budget["epochs"] == pytest.approx(0.375, abs=1e-3)
    assert len(run.history) == 1 and clock.now <= 15 - kb.reserve(15)
    assert run.history["learning_rate"].iloc[-1] == pytest.approx(0.0, abs=1e-9)  # the schedule ended on step 3
    with pytest.raises(kb.BudgetTooSmall, match=r"0.5 of an epoch of") as refused:  # 4 steps do not fit
        kt.train(
            _tiny_config(time_budget=15, least_epochs=0.5),
            data=tiny_data,
            out=tmp_path / "half",
            verbose=0,
            clock=SimulatedClock(),
        )
    assert refused.value.smallest_seconds == 18.0
    with pytest.raises(ValueError, match=r"least_epochs is the fraction of an epoch"):
        _tiny_config(least_epochs=0)
