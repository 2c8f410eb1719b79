"""Training networks: the mechanisms of the two lectures, written by you in numpy, checked against Keras.

Lectures "Training networks", parts 1 and 2. Each function below is one mechanism the lectures
explain; you write it with numpy, and the autograder calls it on its own inputs and compares the
result with what Keras computes on the same inputs (its initialisers, BatchNormalization layer,
optimizers and learning-rate schedules):
  1. weight initialisation      -> `init_std` (Xavier, Glorot, He), `forward_activations`
                                   (the lecture's 6-layer tanh net and its collapsing activations)
  2. batch normalisation        -> `batchnorm_forward` (training and inference mode)
  3. dropout                    -> `dropout_forward` (inverted dropout)
  4. update rules               -> `sgd_momentum` (and Nesterov), `rmsprop`, `adam`
  5. learning-rate policies     -> `step_decay`, `warmup_cosine`
  6. a small network            -> `build_small_net` (Keras: He init, BatchNorm before ReLU, Dropout)
The runner (`python -m kit homework --assignment training_networks`) puts them to work: the
activation histograms of the initialisation demo, the initial loss of your small net against
log(10), your net over-fitting 320 Fashion-MNIST images to 100 %, and your schedules drawn.

This file is yours to edit: replace every `raise NotImplementedError(...)` with your code (its
text says where to look); keep the names, the arguments and the return types (the autograder
calls these functions). Functions 1-5 use numpy only (the autograder refuses Keras in them:
writing the mechanism is the point); Keras is imported inside `build_small_net` only, so that
the numpy functions load fast. `make check ASSIGNMENT=training_networks` gives your points on the
autograder's visible checks.
"""

from __future__ import annotations

import numpy as np

# --- 1. Weight initialisation ---------------------------------------------------------------

INIT_METHODS = ("xavier", "glorot", "he")


def init_std(shape, method: str = "xavier") -> float:
    """The standard deviation of the initial weights of a kernel of ``shape`` under ``method``.

    Keras' kernel layouts: the last axis is the layer's outputs, the one before it its inputs,
    any axes before those the kernel's window: Dense (inputs, units), Conv1D (k, C_in, C_out),
    Conv2D (k_h, k_w, C_in, C_out). A unit sums over everything but the last axis, so
    fan_in = (window size) * C_in, e.g. k * k * C_in for a k x k convolution (the lecture:
    "for convolutions D_in = filter_size^2 * input_channels"), and fan_out = (window size) * C_out.

    Methods:
      "xavier": 1 / sqrt(fan_in), the lecture's "Xavier" (W = randn(D_in, D_out) / sqrt(D_in));
                Keras calls this one LecunNormal (LeCun 1998); Keras' GlorotNormal is the next one.
      "glorot": sqrt(2 / (fan_in + fan_out)), Glorot & Bengio (2010)'s compromise between the
                forward and the backward pass; Keras' GlorotNormal.
      "he":     sqrt(2 / fan_in), Kaiming He et al. (2015) for ReLU, which zeroes half of its
                inputs; Keras' HeNormal.

    Returns:
        The standard deviation (a float). Keras draws a normal truncated at two standard
        deviations, rescaled so that the weights' standard deviation is exactly this number.

    Raises:
        ValueError: an unknown method (name the valid ones) or a shape of fewer than 2 axes.
    """
    # BEGIN SOLUTION hint="Read fan_in (and, for Glorot, fan_out) from the shape: everything but the last axis "
    #     "feeds one output unit. Lecture 'Training networks, part 1', slides 'Инициализация весов: Xavier' "
    #     "and 'Kaiming / MSRA'."
    if method not in INIT_METHODS:
        raise ValueError(f"Unknown init method {method!r}; valid methods: {', '.join(INIT_METHODS)}.")
    shape = tuple(int(size) for size in shape)
    if len(shape) < 2:
        raise ValueError(f"A kernel has at least 2 axes (inputs, outputs); got shape {shape}.")
    window = int(np.prod(shape[:-2]))
    fan_in, fan_out = window * shape[-2], window * shape[-1]
    if method == "xavier":
        return float(1.0 / np.sqrt(fan_in))
    if method == "glorot":
        return float(np.sqrt(2.0 / (fan_in + fan_out)))
    return float(np.sqrt(2.0 / fan_in))
    # END SOLUTION


def forward_activations(x: np.ndarray, weights, activation: str = "tanh") -> np.ndarray:
    """The lecture's initialisation demo: every hidden layer's activations in a deep, bias-free net.

    The slide's loop, for any weights:

        hs = []
        for W in weights:
            x = np.tanh(x.dot(W))
            hs.append(x)

    Each layer is ``keras.layers.Dense(D, use_bias=False, activation=activation)``: h = f(h @ W),
    with W of shape (D_in, D_out) (inputs along the rows, Keras' layout).

    Args:
        x: inputs, shape (N, D).
        weights: ``depth`` kernels of shape (D, D): a list of arrays or one array (depth, D, D).
        activation: "tanh", "relu" or "linear" (no nonlinearity: the layers stay linear, the
            activations' scale still shrinks or grows by the weights' alone).

    Returns:
        The activations after each layer, shape (depth, N, D): result[i] is layer i + 1's output.
        The runner draws their histograms, and their per-layer mean and standard deviation show
        the lecture's collapse: with W = 0.01 * randn and D = 4096 the scale shrinks by about
        0.01 * sqrt(4096) = 0.64 per layer.
    """
    # BEGIN SOLUTION hint="The slide's loop: multiply by each kernel (inputs along its rows), apply the "
    #     "activation, keep every layer's output; np.stack makes them one array. Lecture 'Training networks, "
    #     "part 1', slide 'Инициализация весов: статистика'."
    functions = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0), "linear": lambda z: z}
    if activation not in functions:
        raise ValueError(f"Unknown activation {activation!r}; valid: {', '.join(functions)}.")
    layer_outputs = []
    hidden = np.asarray(x, dtype=np.float64)
    for kernel in weights:
        hidden = functions[activation](hidden @ np.asarray(kernel, dtype=np.float64))
        layer_outputs.append(hidden)
    return np.stack(layer_outputs)
    # END SOLUTION


# --- 2. Batch normalisation -----------------------------------------------------------------


def batchnorm_forward(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    training: bool,
    momentum: float = 0.99,
    epsilon: float = 1e-3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch normalisation's forward pass, as ``keras.layers.BatchNormalization`` computes it.

    Per feature (the last axis: D of a dense (N, D) batch, the C channels of a spatial
    (N, H, W, C) batch, where the mean and variance run over N, H and W together):

      training:  mean and variance of this batch (the biased variance, dividing by the count),
                 out = gamma * (x - mean) / sqrt(variance + epsilon) + beta, and the running
                 averages move towards the batch's:
                 running = running * momentum + batch statistic * (1 - momentum)
                 (Keras' convention: momentum is the weight of the old value).
      inference: out = gamma * (x - running_mean) / sqrt(running_var + epsilon) + beta;
                 the running averages are used, and returned unchanged.

    Args:
        x: a batch, shape (N, D) or (N, H, W, C).
        gamma, beta, running_mean, running_var: shape (D,) or (C,).
        training: True for a training step, False at test time.

    Returns:
        (out, new_running_mean, new_running_var): out has x's shape, the others gamma's.
    """
    # BEGIN SOLUTION hint="Reduce over every axis but the last (axis=tuple(range(x.ndim - 1))). "
    #     "Lecture 'Training networks, part 1', slides on batch normalisation; Keras' formulas are in "
    #     "the BatchNormalization docs (keras.io/api/layers/normalization_layers/batch_normalization)."
    x = np.asarray(x, dtype=np.float64)
    if training:
        batch_axes = tuple(range(x.ndim - 1))
        centre = x.mean(axis=batch_axes)
        spread = ((x - centre) ** 2).mean(axis=batch_axes)
        kept = momentum
        new_mean = kept * np.asarray(running_mean) + (1.0 - kept) * centre
        new_var = kept * np.asarray(running_var) + (1.0 - kept) * spread
    else:
        centre, spread = np.asarray(running_mean, dtype=np.float64), np.asarray(running_var, dtype=np.float64)
        new_mean, new_var = centre.copy(), spread.copy()
    normalised = (x - centre) / np.sqrt(spread + epsilon)
    return np.asarray(gamma) * normalised + np.asarray(beta), new_mean, new_var
    # END SOLUTION


# --- 3. Dropout -----------------------------------------------------------------------------


def dropout_forward(x: np.ndarray, rate: float, uniform: np.ndarray, training: bool) -> np.ndarray:
    """Inverted dropout: drop units in training and rescale the kept ones, so that test time changes nothing.

    The lecture's "inverted dropout": in training each unit is dropped (set to 0) with probability
    ``rate`` and the kept ones are divided by (1 - rate), so that the expected output equals the
    input; at test time the layer is the identity. ``uniform`` is the random source, a sample of
    U[0, 1) of x's shape: keep unit i where uniform[i] >= rate (the rule of TensorFlow's dropout,
    which Keras' Dropout layer runs). ``rate`` is the share dropped (Keras' convention), not the
    share kept (the "p" of some slides and of cs231n's code).

    Args:
        x: activations, any shape.
        rate: 0 <= rate <= 1; rate 0 keeps everything, rate 1 drops everything (all zeros, as Keras).
        uniform: U[0, 1) numbers of x's shape.
        training: True in training, False at test time.

    Returns:
        The output, x's shape.

    Raises:
        ValueError: a rate outside [0, 1] (also at test time).
    """
    # BEGIN SOLUTION hint="A boolean mask from uniform and rate; scale what is kept so that the mean is kept. "
    #     "Lecture 'Training networks, part 2', slides 'Dropout' and 'Inverted dropout'."
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be within [0, 1]; got {rate}.")
    x = np.asarray(x, dtype=np.float64)
    if not training or rate == 0.0:
        return x.copy()
    if rate == 1.0:
        return np.zeros_like(x)
    keep = np.asarray(uniform) >= rate
    return x * keep / (1.0 - rate)
    # END SOLUTION


# --- 4. Update rules ------------------------------------------------------------------------
# Each rule starts from weights w with its state at zero and takes one step per gradient in
# `grads` (shape (steps, *w.shape): the gradients are given, as if a network had computed them).
# Each returns the weights after every step, shape (steps, *w.shape).


def sgd_momentum(
    w: np.ndarray, grads: np.ndarray, learning_rate: float = 0.01, momentum: float = 0.9, nesterov: bool = False
) -> np.ndarray:
    """SGD with momentum, or Nesterov momentum, as ``keras.optimizers.SGD(learning_rate, momentum, nesterov)``.

    The velocity v starts at 0; each step, with gradient g:
      momentum: v = momentum * v - learning_rate * g;  w = w + v
      Nesterov: v = momentum * v - learning_rate * g;  w = w + momentum * v - learning_rate * g
    (the lecture's "look-ahead" form after the change of variable, cs231n's
    w += -momentum * v_prev + (1 + momentum) * v, is the same rule). momentum = 0 is plain SGD.

    Returns:
        The weights after each step, shape (steps, *w.shape).
    """
    # BEGIN SOLUTION hint="One loop over the gradients, a velocity of w's shape kept across steps; store a copy "
    #     "of w after each step. Lecture 'Training networks, part 2', slides 'SGD + Momentum' and 'Nesterov "
    #     "Momentum'."
    weights = np.array(w, dtype=np.float64)
    velocity = np.zeros_like(weights)
    trajectory = []
    for gradient in np.asarray(grads, dtype=np.float64):
        velocity = momentum * velocity - learning_rate * gradient
        if nesterov:
            weights = weights + momentum * velocity - learning_rate * gradient
        else:
            weights = weights + velocity
        trajectory.append(weights.copy())
    return np.stack(trajectory)
    # END SOLUTION


def rmsprop(
    w: np.ndarray, grads: np.ndarray, learning_rate: float = 0.001, rho: float = 0.9, epsilon: float = 1e-7
) -> np.ndarray:
    """RMSProp ("leaky AdaGrad"), as ``keras.optimizers.RMSprop(learning_rate, rho, epsilon=epsilon)``.

    The running mean of squared gradients s starts at 0; each step, with gradient g:
      s = rho * s + (1 - rho) * g ** 2;   w = w - learning_rate * g / sqrt(s + epsilon)
    Keras adds epsilon INSIDE the square root (the slide adds 1e-7 outside it: with a tiny
    epsilon the two barely differ, with a larger one they do, and the grader follows Keras).

    Returns:
        The weights after each step, shape (steps, *w.shape).
    """
    # BEGIN SOLUTION hint="Like sgd_momentum's loop, with a running mean of squared gradients as the state. "
    #     "Lecture 'Training networks, part 2', slide 'RMSProp: AdaGrad с утечкой'; mind where Keras puts epsilon."
    weights = np.array(w, dtype=np.float64)
    mean_square = np.zeros_like(weights)
    trajectory = []
    for gradient in np.asarray(grads, dtype=np.float64):
        mean_square = rho * mean_square + (1.0 - rho) * gradient**2
        weights = weights - learning_rate * gradient / np.sqrt(mean_square + epsilon)
        trajectory.append(weights.copy())
    return np.stack(trajectory)
    # END SOLUTION


def adam(
    w: np.ndarray,
    grads: np.ndarray,
    learning_rate: float = 0.001,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
) -> np.ndarray:
    """Adam with bias correction, as ``keras.optimizers.Adam(learning_rate, beta_1, beta_2, epsilon)``.

    The first and second moments m and v start at 0; at step t = 1, 2, ... with gradient g:
      m = beta_1 * m + (1 - beta_1) * g;   v = beta_2 * v + (1 - beta_2) * g ** 2
      bias correction (both moments start at 0, so the first steps underestimate them):
      w = w - learning_rate * sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t) * m / (sqrt(v) + epsilon)
    This is Keras' form: the slide's m_hat = m / (1 - beta_1 ** t), v_hat = v / (1 - beta_2 ** t),
    w -= learning_rate * m_hat / (sqrt(v_hat) + epsilon) is the same rule except for where epsilon
    sits (it differs only with a large epsilon, and the grader follows Keras).

    Returns:
        The weights after each step, shape (steps, *w.shape).
    """
    # BEGIN SOLUTION hint="Two moments kept across steps, a step counter t from 1 for the bias correction. "
    #     "Lecture 'Training networks, part 2', slide 'Adam (полная версия)'; Keras' form of the step is in "
    #     "the docstring above."
    weights = np.array(w, dtype=np.float64)
    first, second = np.zeros_like(weights), np.zeros_like(weights)
    trajectory = []
    for t, gradient in enumerate(np.asarray(grads, dtype=np.float64), start=1):
        first = beta_1 * first + (1.0 - beta_1) * gradient
        second = beta_2 * second + (1.0 - beta_2) * gradient**2
        step_size = learning_rate * np.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)
        weights = weights - step_size * first / (np.sqrt(second) + epsilon)
        trajectory.append(weights.copy())
    return np.stack(trajectory)
    # END SOLUTION


# --- 5. Learning-rate policies --------------------------------------------------------------


def step_decay(steps: np.ndarray, initial_learning_rate: float, boundaries, factor: float = 0.1) -> np.ndarray:
    """Step decay: the learning rate times ``factor`` after each boundary (the lecture: x0.1 after epochs 30, 60, 90).

    As ``keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)`` with
    values = [initial, initial * factor, initial * factor ** 2, ...]: the rate is
    ``initial_learning_rate`` while step <= boundaries[0], ``initial * factor`` while
    boundaries[0] < step <= boundaries[1], and so on (a boundary step still has the old rate).

    Args:
        steps: step numbers (integers from 0), any shape.
        boundaries: increasing step numbers.

    Returns:
        The learning rate at each step, an array of steps' shape.
    """
    # BEGIN SOLUTION hint="Count, for each step, the boundaries it is past (strictly); np.searchsorted or a "
    #     "comparison summed over the boundaries does it. Lecture 'Training networks, part 2', slide "
    #     "'Затухание скорости обучения'."
    passed = np.searchsorted(np.asarray(boundaries), np.asarray(steps), side="left")
    return initial_learning_rate * float(factor) ** passed
    # END SOLUTION


def warmup_cosine(
    steps: np.ndarray, peak_learning_rate: float, warmup_steps: int, decay_steps: int, alpha: float = 0.0
) -> np.ndarray:
    """A linear warm-up from 0 to the peak, then a cosine decay to ``alpha * peak``.

    As ``keras.optimizers.schedules.CosineDecay(0.0, decay_steps, alpha=alpha,
    warmup_target=peak_learning_rate, warmup_steps=warmup_steps)``:
      step < warmup_steps:  peak * step / warmup_steps   (0 at step 0: the warm-up starts from 0)
      otherwise:            with s = min(step - warmup_steps, decay_steps),
                            peak * ((1 - alpha) * (1 + cos(pi * s / decay_steps)) / 2 + alpha)
    so the decay starts at the peak when the warm-up ends and stays at alpha * peak after
    warmup_steps + decay_steps steps. Lecture: "linear warm-up" (Goyal et al. 2017) and "cosine"
    (Loshchilov & Hutter 2017).

    Args:
        steps: step numbers (integers from 0), any shape.

    Returns:
        The learning rate at each step, an array of steps' shape.
    """
    # BEGIN SOLUTION hint="Two formulas, chosen per step with np.where; clip the decay's step count at "
    #     "decay_steps. Lecture 'Training networks, part 2', slides 'Cosine' and 'Линейный прогрев'."
    steps = np.asarray(steps, dtype=np.float64)
    ramp = peak_learning_rate * steps / max(warmup_steps, 1)
    into_decay = np.clip(steps - warmup_steps, 0.0, decay_steps)
    cosine = 0.5 * (1.0 + np.cos(np.pi * into_decay / decay_steps))
    decayed = peak_learning_rate * ((1.0 - alpha) * cosine + alpha)
    return np.where(steps < warmup_steps, ramp, decayed)
    # END SOLUTION


# --- 6. A small network ---------------------------------------------------------------------


def build_small_net(input_shape=(28, 28, 1), num_classes: int = 10, dropout: float = 0.5):
    """A small Keras classifier with what the lectures recommend: He init, BatchNorm before ReLU, Dropout.

    Layers, in order (``keras.Sequential``):
      keras.Input(shape=input_shape) -> layers.Flatten()
      -> layers.Dense(256, kernel_initializer="he_normal") (no activation: BatchNorm comes first;
         ``use_bias=False`` is allowed, BatchNorm's beta does the bias's job)
      -> layers.BatchNormalization() -> layers.ReLU() -> layers.Dropout(dropout)
      -> layers.Dense(num_classes, activation="softmax")

    Accepted as the same: the same layers in the functional API (``keras.Model(inputs, outputs)``);
    ``layers.Activation("relu")`` for ``layers.ReLU()``; ``Dense(num_classes)`` followed by
    ``layers.Softmax()``; any initialiser with He's std sqrt(2 / fan_in) ("he_normal", "he_uniform",
    ``keras.initializers.HeNormal(seed=...)``). Not accepted: Keras' default initialiser (Glorot), an
    activation on the Dense(256) layer itself, BatchNorm after the ReLU.

    The runner measures its loss before training (it should be near log(10) = 2.303) and
    trains it with ``dropout=0`` on 320 images until it fits them all (100 % training accuracy).

    Returns:
        An uncompiled ``keras.Model``.
    """
    import keras  # here, not at the top: the numpy functions above load without Keras

    # BEGIN SOLUTION hint="A keras.Sequential list of the layers the docstring names, in that order "
    #     "(keras.io/api/layers). Lecture 'Training networks, part 1': BatchNorm after the FC layer, before "
    #     "the nonlinearity; He initialisation for ReLU."
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=input_shape, name="images"),
            layers.Flatten(),
            layers.Dense(256, kernel_initializer="he_normal", use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Dropout(dropout),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="small_net",
    )
    # END SOLUTION
