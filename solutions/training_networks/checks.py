"""The "Training networks" assignment's reference answers and its typical mistakes (for the kit's `function` checks).

The student writes each mechanism in numpy; the rubric's ``function`` checks (``kit.grading.kinds``)
call it on the grader's inputs and compare it with a reference computed here, in the grader's
trusted child, by Keras itself: its initialisers, ``BatchNormalization`` layer, optimizers and
learning-rate schedules, on the same inputs. Only dropout's reference is its definition (Keras'
Dropout draws its own random numbers, so it cannot be given the student's). The ``mistake_*``
functions compute what a typical wrong version returns (mostly Keras again, with the mistake as
a changed argument), so that a failed case can say which mistake it looks like.

This file ships with the student release (the self-check needs it) and is imported by every
sandboxed child, so Keras is imported inside the functions that use it, never at the top.
"""

from __future__ import annotations

import numpy as np

INIT_SEED = 1234  # the seed of the Keras initialisers whose weights' standard deviation is read


def _numpy(tensor) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(tensor), dtype=np.float64)


# ------------------------------------------------------------------ 1. weight initialisation

KERAS_INITIALIZERS = {"xavier": "LecunNormal", "glorot": "GlorotNormal", "he": "HeNormal"}


def keras_std(initializer, shape) -> float:
    """The standard deviation of the weights ``initializer`` (a seeded Keras ``VarianceScaling``) draws for ``shape``.

    Keras draws ``stddev * z`` with z from a standard normal truncated at two standard deviations,
    and ``stddev`` chosen so that the weights' own standard deviation is the method's. The same
    seed gives the same z, so the draw divided by a standard truncated normal of that seed is
    exactly ``stddev``; times the truncated normal's standard deviation (scipy) it is the weights'.
    Exact, unlike the sample standard deviation of one draw, and it uses Keras' own fan-in rule.
    """
    import keras
    from scipy.stats import truncnorm

    shape = tuple(int(size) for size in shape)
    drawn = _numpy(initializer(shape))
    standard = _numpy(keras.random.truncated_normal(shape, seed=initializer.seed))
    return float(np.median(drawn / standard) * truncnorm(-2.0, 2.0).std())


def _initializer(method: str, **changes):
    import keras

    if method not in KERAS_INITIALIZERS:
        raise ValueError(f"unknown method {method!r}")
    base = getattr(keras.initializers, KERAS_INITIALIZERS[method])(seed=INIT_SEED)
    if not changes:
        return base
    options = {"scale": base.scale, "mode": base.mode, "distribution": base.distribution, "seed": INIT_SEED}
    return keras.initializers.VarianceScaling(**{**options, **changes})


def init_std_reference(shape, method: str = "xavier") -> float:
    """``init_std``: the std of Keras' LecunNormal ("xavier"), GlorotNormal ("glorot") or HeNormal ("he")."""
    return keras_std(_initializer(method), shape)


def mistake_init_fan_out(shape, method: str = "xavier") -> float:
    """The kernel read the other way round (fan-in taken from the outputs' axis): Keras' mode="fan_out".

    Glorot's std averages both fans, so reading the kernel the other way round does not change it.
    """
    if method == "glorot":
        return init_std_reference(shape, method)
    return keras_std(_initializer(method, mode="fan_out"), shape)


def mistake_init_channels_only(shape, method: str = "xavier") -> float:
    """A convolution's fan-in without its window (C_in instead of k * k * C_in): the std of a (C_in, C_out) kernel."""
    return keras_std(_initializer(method), tuple(shape)[-2:])


def mistake_init_he_without_two(shape, method: str = "xavier") -> float:
    """He's std without its 2 (the Xavier std for a ReLU net)."""
    return keras_std(_initializer("xavier" if method == "he" else method), shape)


def keras_forward(x, weights, activation: str = "tanh") -> np.ndarray:
    """``forward_activations``: Keras ``Dense(D, use_bias=False, activation=...)`` layers with the given kernels."""
    import keras

    x = np.asarray(x, dtype=np.float32)
    inputs = keras.Input(shape=(x.shape[1],))
    hidden, outputs = inputs, []
    for kernel in weights:
        layer = keras.layers.Dense(kernel.shape[1], use_bias=False, activation=activation)
        hidden = layer(hidden)
        layer.set_weights([np.asarray(kernel, dtype=np.float32)])
        outputs.append(hidden)
    model = keras.Model(inputs, outputs)
    return np.stack([_numpy(layer_output) for layer_output in model(x, training=False)])


def mistake_forward_transposed(x, weights, activation: str = "tanh") -> np.ndarray:
    """Each kernel used transposed (h @ W.T): Keras' Dense kernel has the inputs along its rows."""
    return keras_forward(x, np.swapaxes(np.asarray(weights), -1, -2), activation)


def mistake_forward_linear(x, weights, activation: str = "tanh") -> np.ndarray:
    """The activation function left out (every layer linear)."""
    return keras_forward(x, weights, "linear")


# ------------------------------------------------------------------ 2. batch normalisation


def keras_batchnorm(x, gamma, beta, running_mean, running_var, training, momentum=0.99, epsilon=1e-3):
    """``batchnorm_forward``: ``keras.layers.BatchNormalization(momentum, epsilon)`` on x, and its new moving stats."""
    import keras

    x = np.asarray(x, dtype=np.float32)
    layer = keras.layers.BatchNormalization(axis=-1, momentum=momentum, epsilon=epsilon)
    layer.build(x.shape)
    layer.set_weights([np.asarray(w, dtype=np.float32) for w in (gamma, beta, running_mean, running_var)])
    out = layer(x, training=bool(training))
    return _numpy(out), _numpy(layer.moving_mean), _numpy(layer.moving_variance)


def mistake_bn_updates_in_inference(x, gamma, beta, running_mean, running_var, training, momentum=0.99, epsilon=1e-3):
    """Inference mode that still moves the running averages towards the batch's statistics."""
    out, *_ = keras_batchnorm(x, gamma, beta, running_mean, running_var, training, momentum, epsilon)
    _, moved_mean, moved_var = keras_batchnorm(x, gamma, beta, running_mean, running_var, True, momentum, epsilon)
    return out, moved_mean, moved_var


def mistake_bn_no_epsilon(x, gamma, beta, running_mean, running_var, training, momentum=0.99, epsilon=1e-3):
    """The variance without epsilon under the square root."""
    return keras_batchnorm(x, gamma, beta, running_mean, running_var, training, momentum, 0.0)


def mistake_bn_momentum_swapped(x, gamma, beta, running_mean, running_var, training, momentum=0.99, epsilon=1e-3):
    """momentum as the weight of the new batch (PyTorch's convention), not of the old running value (Keras')."""
    return keras_batchnorm(x, gamma, beta, running_mean, running_var, training, 1.0 - momentum, epsilon)


def mistake_bn_per_position(x, gamma, beta, running_mean, running_var, training, momentum=0.99, epsilon=1e-3):
    """A spatial batch normalised per (row, column, channel) over the batch axis only, not per channel over N, H, W."""
    x = np.asarray(x)
    if x.ndim == 2:
        return keras_batchnorm(x, gamma, beta, running_mean, running_var, training, momentum, epsilon)
    per_position = x.shape[1:]
    flat = [np.broadcast_to(np.asarray(v), per_position).reshape(-1) for v in (gamma, beta, running_mean, running_var)]
    out, moved_mean, moved_var = keras_batchnorm(x.reshape(len(x), -1), *flat, training, momentum, epsilon)
    return out.reshape(x.shape), moved_mean.reshape(per_position), moved_var.reshape(per_position)


# ------------------------------------------------------------------ 3. dropout


def dropout_reference(x, rate, uniform, training) -> np.ndarray:
    """``dropout_forward`` by its definition (TensorFlow's rule, which Keras' Dropout runs; rate 1: zeros, as Keras).

    Written out because Keras draws its own random numbers: it cannot be handed the student's.
    """
    inputs = np.asarray(x, dtype=np.float64)
    if not training:
        return inputs
    if rate >= 1.0:
        return np.zeros_like(inputs)
    kept = np.asarray(uniform) >= rate
    return np.where(kept, inputs * (1.0 / (1.0 - rate)), 0.0)


def mistake_dropout_not_inverted(x, rate, uniform, training) -> np.ndarray:
    """Plain ("biased") dropout: no rescaling in training, the output scaled by (1 - rate) at test time."""
    inputs = np.asarray(x, dtype=np.float64)
    return np.where(np.asarray(uniform) >= rate, inputs, 0.0) if training else inputs * (1.0 - rate)


def mistake_dropout_rate_kept(x, rate, uniform, training) -> np.ndarray:
    """``rate`` read as the share KEPT (cs231n's p): units kept where uniform < rate, divided by rate."""
    inputs = np.asarray(x, dtype=np.float64)
    if not training or rate == 0:
        return inputs
    return np.where(np.asarray(uniform) < rate, inputs / rate, 0.0)


def mistake_dropout_mask_flipped(x, rate, uniform, training) -> np.ndarray:
    """Units kept where uniform < 1 - rate: the right share, but not the grader's rule (kept where uniform >= rate)."""
    inputs = np.asarray(x, dtype=np.float64)
    if not training or rate >= 1:
        return dropout_reference(x, rate, uniform, training)
    return np.where(np.asarray(uniform) < 1.0 - rate, inputs / (1.0 - rate), 0.0)


# ------------------------------------------------------------------ 4. update rules


def keras_steps(optimizer, w, grads) -> np.ndarray:
    """The weights after each of ``optimizer``'s steps on the given gradients (a Keras variable started at ``w``)."""
    import keras

    variable = keras.Variable(np.asarray(w, dtype=np.float32))
    trajectory = []
    for gradient in np.asarray(grads, dtype=np.float32):
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient), variable)])
        trajectory.append(_numpy(variable))
    return np.stack(trajectory)


def keras_sgd(w, grads, learning_rate=0.01, momentum=0.9, nesterov=False) -> np.ndarray:
    """``sgd_momentum``: ``keras.optimizers.SGD(learning_rate, momentum, nesterov)``."""
    import keras

    return keras_steps(keras.optimizers.SGD(learning_rate, momentum=momentum, nesterov=nesterov), w, grads)


def mistake_sgd_nesterov_as_momentum(w, grads, learning_rate=0.01, momentum=0.9, nesterov=False) -> np.ndarray:
    """Nesterov's step taken as plain momentum's (the look-ahead term missing)."""
    return keras_sgd(w, grads, learning_rate, momentum, False)


def mistake_sgd_velocity_average(w, grads, learning_rate=0.01, momentum=0.9, nesterov=False) -> np.ndarray:
    """The velocity as an average, v = momentum * v + (1 - momentum) * g: the step is (1 - momentum) times too small."""
    return keras_sgd(w, grads, learning_rate * (1.0 - momentum), momentum, nesterov)


def keras_rmsprop(w, grads, learning_rate=0.001, rho=0.9, epsilon=1e-7) -> np.ndarray:
    """``rmsprop``: ``keras.optimizers.RMSprop(learning_rate, rho, epsilon=epsilon)`` (no momentum, not centred)."""
    import keras

    return keras_steps(keras.optimizers.RMSprop(learning_rate, rho=rho, epsilon=epsilon), w, grads)


def mistake_rmsprop_epsilon_outside(w, grads, learning_rate=0.001, rho=0.9, epsilon=1e-7) -> np.ndarray:
    """epsilon added outside the square root, sqrt(s) + epsilon (the slide's form); Keras adds it inside."""
    position = np.array(w, dtype=np.float64)
    leaky_square = np.zeros_like(position)
    path = []
    for g in np.asarray(grads, dtype=np.float64):
        leaky_square = leaky_square * rho + np.square(g) * (1 - rho)
        position = position - learning_rate * g / (epsilon + np.sqrt(leaky_square))
        path.append(position)
    return np.stack(path)


def mistake_rmsprop_adagrad(w, grads, learning_rate=0.001, rho=0.9, epsilon=1e-7) -> np.ndarray:
    """AdaGrad's sum of squared gradients (no leak): Keras' Adagrad with its accumulator started at 0."""
    import keras

    optimizer = keras.optimizers.Adagrad(learning_rate, initial_accumulator_value=0.0, epsilon=epsilon)
    return keras_steps(optimizer, w, grads)


def keras_adam(w, grads, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7) -> np.ndarray:
    """``adam``: ``keras.optimizers.Adam(learning_rate, beta_1, beta_2, epsilon)``."""
    import keras

    optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    return keras_steps(optimizer, w, grads)


def _adam_by_hand(w, grads, learning_rate, beta_1, beta_2, epsilon, *, corrected: bool):
    """Adam as the slide writes it: epsilon on sqrt(v_hat); without ``corrected``, no bias correction at all."""
    position = np.array(w, dtype=np.float64)
    moment_1, moment_2, path = np.zeros_like(position), np.zeros_like(position), []
    for step, g in enumerate(np.asarray(grads, dtype=np.float64), start=1):
        moment_1 = moment_1 * beta_1 + g * (1 - beta_1)
        moment_2 = moment_2 * beta_2 + np.square(g) * (1 - beta_2)
        unbiased_1 = moment_1 / (1 - beta_1**step) if corrected else moment_1
        unbiased_2 = moment_2 / (1 - beta_2**step) if corrected else moment_2
        position = position - learning_rate * unbiased_1 / (np.sqrt(unbiased_2) + epsilon)
        path.append(position)
    return np.stack(path)


def mistake_adam_no_bias_correction(w, grads, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Adam without the bias correction (the slide's "simplified" Adam): the first steps are far too large."""
    return _adam_by_hand(w, grads, learning_rate, beta_1, beta_2, epsilon, corrected=False)


def mistake_adam_epsilon_on_corrected(w, grads, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """epsilon added to sqrt(v_hat), the slide's form; Keras adds it to sqrt(v) (the docstring's formula)."""
    return _adam_by_hand(w, grads, learning_rate, beta_1, beta_2, epsilon, corrected=True)


# ------------------------------------------------------------------ 5. learning-rate policies


def _schedule_values(schedule, steps) -> np.ndarray:
    """A Keras schedule at each of ``steps`` (any shape), in one vectorised call (its ``cond`` becomes a select)."""
    import keras

    steps = np.asarray(steps)
    flat = keras.ops.convert_to_tensor(steps.reshape(-1).astype(np.int32))
    return _numpy(keras.ops.vectorized_map(schedule, flat)).reshape(steps.shape)


def keras_step_decay(steps, initial_learning_rate, boundaries, factor=0.1) -> np.ndarray:
    """``step_decay``: ``keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, [lr, lr * f, ...])``."""
    import keras

    values = [initial_learning_rate * factor**index for index in range(len(boundaries) + 1)]
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([int(b) for b in boundaries], values)
    return _schedule_values(schedule, steps)


def mistake_step_decay_at_boundary(steps, initial_learning_rate, boundaries, factor=0.1) -> np.ndarray:
    """The rate drops AT each boundary step; Keras' PiecewiseConstantDecay still has the old rate there."""
    return keras_step_decay(steps, initial_learning_rate, [int(b) - 1 for b in boundaries], factor)


def keras_warmup_cosine(steps, peak_learning_rate, warmup_steps, decay_steps, alpha=0.0) -> np.ndarray:
    """``warmup_cosine``: ``CosineDecay(0.0, decay_steps, alpha, warmup_target=peak, warmup_steps=warmup_steps)``."""
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps, alpha=alpha, warmup_target=peak_learning_rate, warmup_steps=warmup_steps
    )
    return _schedule_values(schedule, steps)


def mistake_warmup_off_by_one(steps, peak_learning_rate, warmup_steps, decay_steps, alpha=0.0) -> np.ndarray:
    """The warm-up one step ahead, peak * (step + 1) / warmup_steps: it must start from 0 at step 0."""
    steps = np.asarray(steps)
    ahead = keras_warmup_cosine(steps + 1, peak_learning_rate, warmup_steps, decay_steps, alpha)
    return np.where(
        steps < warmup_steps, ahead, keras_warmup_cosine(steps, peak_learning_rate, warmup_steps, decay_steps, alpha)
    )


def mistake_cosine_from_step_zero(steps, peak_learning_rate, warmup_steps, decay_steps, alpha=0.0) -> np.ndarray:
    """The cosine counted from step 0, not from the end of the warm-up."""
    import keras

    plain = keras.optimizers.schedules.CosineDecay(peak_learning_rate, decay_steps, alpha=alpha)
    steps = np.asarray(steps)
    warm = keras_warmup_cosine(steps, peak_learning_rate, warmup_steps, decay_steps, alpha)
    return np.where(steps < warmup_steps, warm, _schedule_values(plain, steps))


def mistake_cosine_without_alpha(steps, peak_learning_rate, warmup_steps, decay_steps, alpha=0.0) -> np.ndarray:
    """alpha left out: the cosine decays to 0 instead of to alpha * peak."""
    return keras_warmup_cosine(steps, peak_learning_rate, warmup_steps, decay_steps, 0.0)
