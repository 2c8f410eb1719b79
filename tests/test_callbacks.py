"""kit.callbacks: validation macro-F1, NaN guard, timer/LR logging, the standard list, the LR range test."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from sklearn.metrics import f1_score

from kit import callbacks as kc


def _small_net(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


@pytest.mark.slow
@pytest.mark.backend_agnostic
def test_macro_f1_timer_and_learning_rate_are_logged_each_epoch(small_fashion_mnist):
    data = small_fashion_mnist
    x, y, x_val, y_val = data.x_train[:600], data.y_train[:600], data.x_val[:300], data.y_val[:300]
    model = _small_net()
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=10, decay_rate=0.5)
    model.compile(keras.optimizers.SGD(schedule), "sparse_categorical_crossentropy", metrics=["accuracy"])
    sparse_f1 = kc.ValidationMacroF1(x_val, y_val, batch_size=128)
    one_hot_f1 = kc.ValidationMacroF1(x_val, keras.utils.to_categorical(y_val, 10), batch_size=128)
    history = model.fit(
        x,
        y,
        batch_size=100,
        epochs=2,
        validation_data=(x_val, y_val),
        verbose=0,
        callbacks=[sparse_f1, kc.LearningRateLogger(), kc.EpochTimer(len(x))],
    )
    logs = history.history
    expected = f1_score(y_val, model.predict(x_val, verbose=0).argmax(axis=1), average="macro")
    assert logs["val_macro_f1"][-1] == pytest.approx(expected, abs=1e-12)
    one_hot_logs: dict = {}
    one_hot_f1.set_model(model)
    one_hot_f1.on_epoch_end(1, one_hot_logs)  # one-hot labels (MixUp, label smoothing) give the same F1
    assert one_hot_logs["val_macro_f1"] == pytest.approx(expected, abs=1e-12)
    # 6 steps per epoch: after epoch 2 the schedule is at step 12
    assert logs["learning_rate"][-1] == pytest.approx(0.01 * 0.5 ** (12 / 10), rel=1e-5)
    assert all(s > 0 for s in logs["epoch_seconds"]) and all(r > 0 for r in logs["images_per_second"])


@pytest.mark.backend_agnostic
def test_nan_guard_stops_on_nan_inf_and_exploding_loss():
    for losses, expected in (
        ([2.3, 2.1, 1.9], False),
        ([2.3, float("nan")], True),
        ([2.3, float("inf")], True),
        ([2.3, 40.0, 2e3], True),
    ):
        guard = kc.NaNGuard()
        model = _small_net()
        guard.set_model(model)
        guard.on_train_begin()
        model.stop_training = False
        for batch, loss in enumerate(losses):
            guard.on_batch_end(batch, {"loss": loss})
        assert guard.exploded is expected and model.stop_training is expected, losses
    # the guard that fired carries the lecture's hint, which kit.train shows the user
    assert guard.message == kc.LOSS_EXPLODED
    assert "learning rate too high" in guard.message and "LR / 10" in guard.message


def test_standard_callbacks_are_keras_own_configured(tmp_path, small_fashion_mnist):
    data = small_fashion_mnist
    listed = kc.standard_callbacks(
        tmp_path,
        x_val=data.x_val,
        y_val=data.y_val,
        images_per_epoch=100,
        monitor="val_macro_f1",
        patience=3,
        resume=True,
        best_so_far=0.8,
    )
    kinds = [type(c) for c in listed]
    # metric-adding callbacks come before those that read the logs; the backup comes after the CSV row
    assert kinds.index(kc.ValidationMacroF1) < kinds.index(keras.callbacks.EarlyStopping)
    assert kinds.index(kc.EpochTimer) < kinds.index(kc.EpochCSVLogger) < kinds.index(keras.callbacks.BackupAndRestore)
    early = listed[kinds.index(keras.callbacks.EarlyStopping)]
    assert early.restore_best_weights and early.patience == 3 and early.mode == "max"
    checkpoint = listed[kinds.index(keras.callbacks.ModelCheckpoint)]
    assert checkpoint.save_best_only and checkpoint.best == 0.8 and str(checkpoint.filepath).endswith("model.keras")
    assert listed[kinds.index(kc.EpochCSVLogger)].append is True
    assert keras.callbacks.TensorBoard not in kinds
    assert keras.callbacks.TensorBoard in [
        type(c)
        for c in kc.standard_callbacks(
            tmp_path, x_val=data.x_val, y_val=data.y_val, images_per_epoch=1, tensorboard=True
        )
    ]
    assert kc.monitor_mode("val_loss") == "min" and kc.monitor_mode("val_accuracy") == "max"


@pytest.mark.backend_agnostic
def test_standard_callbacks_keep_keras_asynchronous_dispatch(tmp_path, small_fashion_mnist):
    """A callback with a batch hook that is not ``async_safe`` makes Keras wait for the device every
    step (under JAX it halved the CNN's images/s on an H100 at batch 1024, issue 13)."""
    from keras.src.callbacks.callback_list import CallbackList
    from keras.src.utils.python_utils import is_default

    data = small_fashion_mnist
    for ema in (False, True):
        listed = kc.standard_callbacks(
            tmp_path / str(ema), x_val=data.x_val, y_val=data.y_val, images_per_epoch=1, patience=2, ema=ema
        )
        for callback in listed:
            hooks = (callback.on_batch_end, callback.on_train_batch_end)
            assert all(is_default(h) for h in hooks) or callback.async_safe, type(callback).__name__
        if keras.backend.backend() == "jax":  # Keras dispatches asynchronously only where the backend is thread-safe
            assert CallbackList(listed)._async_train
    per_batch = keras.callbacks.ModelCheckpoint(tmp_path / "m.keras", save_freq=10)
    with pytest.raises(ValueError, match="save_freq='epoch'"):
        kc.epoch_only(per_batch)


@pytest.mark.slow
@pytest.mark.backend_agnostic
def test_lr_find_suggests_inside_the_range_and_leaves_the_weights_alone(small_fashion_mnist, tmp_path):
    model = _small_net()  # a small real network: the test is about the range test, and runs under JAX too
    before = [w.copy() for w in model.get_weights()]
    result = kc.lr_find(
        model,
        small_fashion_mnist.x_train,
        small_fashion_mnist.y_train,
        start_lr=1e-5,
        end_lr=100.0,
        steps=60,
        batch_size=64,
        smoothing=0.9,
    )
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    n = len(result.learning_rates)
    assert 10 <= n <= 60 and len(result.losses) == n == len(result.raw_losses)
    assert np.all(np.diff(result.learning_rates) > 0) and result.learning_rates[0] == pytest.approx(1e-5)
    assert result.stopped_early and n < 60  # Adam diverges long before LR = 100
    assert 1e-5 <= result.suggestion <= result.learning_rates[-1]
    assert result.suggestion <= result.learning_rates[int(np.argmin(result.losses))]
    assert math.isfinite(result.lr_min_div_10)
    path = kc.plot_lr_find(result, tmp_path / "lr_find.png")
    assert path.stat().st_size > 1000
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        kc.lr_find(model, small_fashion_mnist.x_train, small_fashion_mnist.y_train, start_lr=1.0, end_lr=0.1)


@pytest.mark.backend_agnostic
def test_step_evaluation_measures_the_model_every_few_steps(small_fashion_mnist):
    data = small_fashion_mnist
    model = _small_net()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    probe = kc.StepEvaluation(data.x_train[:200], data.y_train[:200], every=4)
    model.fit(data.x_train[:640], data.y_train[:640], batch_size=64, epochs=2, callbacks=[probe], verbose=0)
    assert probe.steps == [0, 4, 8, 12, 16, 20]
    assert probe.errors[0] > 0.5 and probe.errors[-1] < probe.errors[0]
    assert probe.losses[-1] < probe.losses[0]
    assert probe.first_step_below(1.0) == 0 and probe.first_step_below(-1.0) is None


@pytest.mark.backend_agnostic
def test_stop_at_target_stops_on_the_first_epoch_that_reaches_it(small_fashion_mnist):
    data = small_fashion_mnist
    model = _small_net()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    stop = kc.StopAtTarget("accuracy", 0.5)
    history = model.fit(data.x_train[:640], data.y_train[:640], batch_size=64, epochs=30, callbacks=[stop], verbose=0)
    accuracy = history.history["accuracy"]
    assert stop.reached_epoch == len(accuracy) < 30
    assert accuracy[-1] >= 0.5 and all(a < 0.5 for a in accuracy[:-1])
