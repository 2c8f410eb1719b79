"""kit.schedules: values against the formulas, warm-up around every schedule, saving, plotting."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from kit import schedules as S
from kit.schedules import values

STEPS = np.array([0, 1, 5, 9, 10, 11, 19, 20, 21, 49, 50, 99, 100, 250])


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.backend_agnostic
def test_step_decay_multiplies_by_factor_from_each_boundary_step():
    schedule = S.StepDecay(0.1, boundaries=[10, 20, 50], factor=0.1)
    expected = [0.1 * 0.1 ** sum(s >= b for b in (10, 20, 50)) for s in STEPS]
    close(values(schedule, STEPS), expected)
    assert float(schedule(9)) == pytest.approx(0.1) and float(schedule(10)) == pytest.approx(0.01)


@pytest.mark.backend_agnostic
def test_linear_decay_reaches_the_end_value_and_stays():
    schedule = S.LinearDecay(0.1, decay_steps=50, end_learning_rate=0.001)
    expected = [0.1 + (0.001 - 0.1) * min(s, 50) / 50 for s in STEPS]
    close(values(schedule, STEPS), expected)


@pytest.mark.backend_agnostic
def test_inverse_sqrt_is_the_transformer_policy_scaled_to_its_peak():
    w = 10
    schedule = S.InverseSqrtDecay(0.01, warmup_steps=w)
    # Vaswani et al. (eq. 3): d**-0.5 * min(s**-0.5, s * w**-1.5); its peak (s = w) is d**-0.5 * w**-0.5.
    expected = [0.0 if s == 0 else 0.01 * min(s**-0.5, s * w**-1.5) / w**-0.5 for s in STEPS]
    close(values(schedule, STEPS), expected)
    assert float(schedule(w)) == pytest.approx(0.01)
    assert float(schedule(4 * w)) == pytest.approx(0.005)


def _one_cycle_reference(step, max_lr, total, pct, div, final_div):
    """PyTorch OneCycleLR (two phases, cosine annealing) written out independently."""
    initial, minimum = max_lr / div, max_lr / div / final_div
    peak, last = pct * total - 1, total - 1

    def anneal(start, end, p):
        return end + (start - end) / 2 * (math.cos(math.pi * p) + 1)

    if step <= peak:
        return anneal(initial, max_lr, step / peak)
    return anneal(max_lr, minimum, min((step - peak) / (last - peak), 1.0))


@pytest.mark.backend_agnostic
def test_one_cycle_matches_pytorch_formula():
    schedule = S.OneCycle(0.5, total_steps=100, pct_start=0.3, div_factor=25.0, final_div_factor=1e4)
    steps = np.arange(0, 120)
    expected = [_one_cycle_reference(s, 0.5, 100, 0.3, 25.0, 1e4) for s in steps]
    close(values(schedule, steps), expected)
    assert float(schedule(0)) == pytest.approx(0.5 / 25)
    assert float(schedule(29)) == pytest.approx(0.5)
    assert float(schedule(99)) == pytest.approx(0.5 / 25 / 1e4, rel=1e-3)


@pytest.mark.backend_agnostic
def test_make_schedule_converts_epochs_to_steps_for_every_name():
    spe, epochs, lr = 10, 10, 0.1
    total = spe * epochs
    steps = np.arange(0, total + 20)
    made = {name: S.make_schedule(name, lr, steps_per_epoch=spe, epochs=epochs) for name in S.SCHEDULES}
    assert made["constant"] == lr
    close(values(made["step"], steps), [lr * 0.1 ** sum(s >= b for b in (30, 60, 90)) for s in steps])
    assert isinstance(made["cosine"], keras.optimizers.schedules.CosineDecay)
    close(values(made["cosine"], steps), [lr * 0.5 * (1 + math.cos(math.pi * min(s, total) / total)) for s in steps])
    close(values(made["linear"], steps), [lr * (1 - min(s, total) / total) for s in steps])
    assert isinstance(made["exponential"], keras.optimizers.schedules.ExponentialDecay)
    close(values(made["exponential"], steps), [lr * 0.9 ** (s / spe) for s in steps])
    close(values(made["inverse_sqrt"], steps), values(S.InverseSqrtDecay(lr, spe), steps))
    close(values(made["one_cycle"], steps), [_one_cycle_reference(s, lr, total, 0.3, 25.0, 1e4) for s in steps])
    step = S.make_schedule("step", lr, steps_per_epoch=spe, epochs=epochs, boundaries=[2, 5], factor=0.5)
    assert float(step(19)) == pytest.approx(lr) and float(step(20)) == pytest.approx(lr * 0.5)
    assert float(step(50)) == pytest.approx(lr * 0.25)


@pytest.mark.backend_agnostic
def test_make_schedule_with_warmup_keeps_epochs_and_ends_with_the_run():
    spe, epochs, lr = 10, 10, 0.1
    cosine = S.make_schedule("cosine", lr, steps_per_epoch=spe, epochs=epochs, warmup_epochs=2)
    assert isinstance(cosine, S.Warmup)
    close(values(cosine, [0, 10, 20, 60, 100]), [0.0, 0.05, 0.1, 0.05, 0.0])
    step = S.make_schedule("step", lr, steps_per_epoch=spe, epochs=epochs, warmup_epochs=1, boundaries=[3])
    close(values(step, [5, 10, 29, 30]), [0.05, 0.1, 0.1, 0.01])  # decay still at epoch 3
    inv = S.make_schedule("inverse_sqrt", lr, steps_per_epoch=spe, epochs=epochs, warmup_epochs=2)
    assert isinstance(inv, S.InverseSqrtDecay) and inv.warmup_steps == 20
    cycle = S.make_schedule("one_cycle", lr, steps_per_epoch=spe, epochs=epochs, warmup_epochs=2)
    assert float(cycle(19)) == pytest.approx(lr)  # the rising phase is the warm-up
    const = S.make_schedule("constant", lr, steps_per_epoch=spe, epochs=epochs, warmup_epochs=1)
    close(values(const, [0, 5, 10, 99]), [0.0, 0.05, 0.1, 0.1])


def _schedules_to_wrap():
    return {
        "float": 0.05,
        "step": S.StepDecay(0.1, [10, 30]),
        "cosine": keras.optimizers.schedules.CosineDecay(0.1, 40, alpha=0.1),
        "linear": S.LinearDecay(0.1, 40),
        "inverse_sqrt": S.InverseSqrtDecay(0.1, 5),
        "exponential": keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5),
        "one_cycle": S.OneCycle(0.1, 60),
    }


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", list(_schedules_to_wrap()))
def test_warmup_ramps_linearly_then_runs_the_whole_wrapped_schedule(name):
    inner = _schedules_to_wrap()[name]
    w = 8
    wrapped = S.warmup(inner, w)
    steps = np.arange(0, 80)
    inner_values = values(inner, steps)
    expected = np.where(steps < w, inner_values[0] * steps / w, inner_values[np.maximum(steps - w, 0)])
    close(values(wrapped, steps), expected)
    assert float(wrapped(0)) == 0.0
    assert float(wrapped(w)) == pytest.approx(inner_values[0])  # continuous at the end of the warm-up


@pytest.mark.backend_agnostic
def test_warmup_around_cosine_equals_keras_builtin_warmup():
    ours = S.warmup(keras.optimizers.schedules.CosineDecay(0.2, decay_steps=50), 10)
    keras_own = keras.optimizers.schedules.CosineDecay(0.0, decay_steps=50, warmup_target=0.2, warmup_steps=10)
    steps = np.arange(0, 70)
    close(values(ours, steps), values(keras_own, steps))


@pytest.mark.backend_agnostic
def test_unknown_names_and_options_list_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown schedule 'cosin'; valid names: constant, step, cosine"):
        S.make_schedule("cosin", 0.1, steps_per_epoch=10, epochs=5)
    with pytest.raises(ValueError, match="for schedule 'step'; valid options: boundaries, factor"):
        S.make_schedule("step", 0.1, steps_per_epoch=10, epochs=5, gamma=0.5)
    with pytest.raises(ValueError, match="shorter than the run"):
        S.make_schedule("cosine", 0.1, steps_per_epoch=10, epochs=5, warmup_epochs=5)
    with pytest.raises(ValueError, match="warmup"):
        S.warmup("adam", 10)
    with pytest.raises(ValueError, match="OneCycle needs room"):
        S.OneCycle(0.1, total_steps=3, pct_start=0.3)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", list(_schedules_to_wrap()))
def test_serialize_deserialize_round_trip(name):
    schedule = S.warmup(_schedules_to_wrap()[name], 5)
    for obj in (schedule, schedule.schedule):
        if isinstance(obj, float):
            continue
        config = keras.optimizers.schedules.serialize(obj)
        restored = keras.optimizers.schedules.deserialize(config)
        assert type(restored) is type(obj)
        assert restored.get_config() == obj.get_config()
        close(values(restored, np.arange(70)), values(obj, np.arange(70)))


def test_optimizer_schedule_saved_in_keras_file_loads_in_safe_mode(tmp_path, small_fashion_mnist):
    data = small_fashion_mnist
    schedule = S.make_schedule("step", 0.05, steps_per_epoch=4, epochs=3, warmup_epochs=1, boundaries=[2])
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )
    model.compile(keras.optimizers.SGD(learning_rate=schedule, momentum=0.9), "sparse_categorical_crossentropy")
    model.fit(data.x_train[:128], data.y_train[:128], batch_size=32, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    config = loaded.optimizer.get_config()["learning_rate"]
    assert config["registered_name"] == "kit>Warmup"
    assert config["config"]["schedule"]["registered_name"] == "kit>StepDecay"
    assert int(loaded.optimizer.iterations) == 4
    assert float(loaded.optimizer.learning_rate) == pytest.approx(float(schedule(4)))  # warm-up done: 0.05
    restored = keras.optimizers.schedules.deserialize(config)
    close(values(restored, np.arange(12)), values(schedule, np.arange(12)))


@pytest.mark.backend_agnostic
def test_plot_writes_a_png(tmp_path):
    from matplotlib.image import imread

    path = S.plot(S.make_schedule("one_cycle", 0.1, steps_per_epoch=50, epochs=4), 200, tmp_path / "lr" / "one.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width = imread(path).shape[:2]
    assert height > 100 and width > 100
    assert S.plot(0.01, 10, tmp_path / "const.png").stat().st_size > 1000
