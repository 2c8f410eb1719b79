"""The "Training networks" assignment's rubric: the visible checks (read by ``kit.grading``).

Each check: ``id`` (stable, used by ``only=`` and tags), ``name`` (shown to the student), ``kind``
(``function`` and ``model_builder``, the kit's generic kinds: ``kit/grading/kinds.py``), ``points``,
``timeout`` (wall seconds per child process: the reference's child imports Keras), ``message`` (what
the check is about) and ``params``. A ``function`` check calls the student's function on each case
(an argument given as ``{"array": shape, "seed": ...}`` is drawn by the grader, the same for
everyone) and compares it with the reference ``checks:NAME`` (Keras on the same inputs); each case
right earns its share of the points, and a wrong case that equals one of the ``mistakes`` says
which. This file ships with the student release (``python -m kit check`` runs it).
"""

# per child process (kit.grading.sandbox.Limits); each check's `timeout` replaces wall_seconds
LIMITS = {"memory_mb": 3072, "file_mb": 32, "processes": 64, "output_kb": 16}

KERAS_TIMEOUT = 60  # a child that imports Keras (the references, the small net): ~5-10 s on a busy 2-core machine
NUMPY_TIMEOUT = 30  # numpy only, both children


def array(shape, seed, **spec):
    """An input drawn by the grader: normal(0, 1) unless ``distribution``/``loc``/``scale``/``low``/``high`` say."""
    return {"array": list(shape), "seed": seed, **spec}


def steps(values):
    """Step numbers given as they are (integers)."""
    return {"values": list(values), "dtype": "int64"}


INIT_MISTAKES = [
    {
        "reference": "checks:mistake_init_fan_out",
        "message": "This is the std for fan-in = the LAST axis: Keras' kernels are (inputs, outputs) - Dense "
        "(D_in, D_out), Conv2D (k, k, C_in, C_out) - so fan-in comes from everything but the last axis",
    },
    {
        "reference": "checks:mistake_init_channels_only",
        "message": "This is the std for fan-in = C_in: a convolution's unit sees a k x k window of every input "
        "channel, fan-in = k * k * C_in",
    },
    {
        "reference": "checks:mistake_init_he_without_two",
        "message": "This is Xavier's 1/sqrt(fan_in); He's std for ReLU is sqrt(2 / fan_in)",
    },
]

FORWARD_MISTAKES = [
    {
        "reference": "checks:mistake_forward_transposed",
        "message": "These are the activations with each kernel transposed (h @ W.T): a kernel is (D_in, D_out), "
        "the layer computes h @ W",
    },
    {
        "reference": "checks:mistake_forward_linear",
        "message": "These are the activations without the activation function: apply it after each layer",
    },
]

BATCHNORM_MISTAKES = [
    {
        "reference": "checks:mistake_bn_updates_in_inference",
        "message": "The running averages moved in inference mode: at test time they are used, not updated "
        "(the lecture's train/test difference)",
    },
    {
        "reference": "checks:mistake_bn_no_epsilon",
        "message": "This is the output without epsilon: divide by sqrt(variance + epsilon)",
    },
    {
        "reference": "checks:mistake_bn_momentum_swapped",
        "message": "The running averages weight the new batch by momentum (PyTorch's convention); Keras': "
        "running = running * momentum + batch statistic * (1 - momentum)",
    },
    {
        "reference": "checks:mistake_bn_per_position",
        "message": "This normalises a spatial batch per position over the batch axis only; spatial BatchNorm "
        "takes each channel's mean and variance over N, H and W together",
    },
]

DROPOUT_MISTAKES = [
    {
        "reference": "checks:mistake_dropout_not_inverted",
        "message": "This is plain dropout (scaled by 1 - rate at test time); inverted dropout divides the kept "
        "units by 1 - rate in training and leaves test time alone",
    },
    {
        "reference": "checks:mistake_dropout_rate_kept",
        "message": "rate is the share DROPPED (Keras' convention), not the share kept (cs231n's p)",
    },
    {
        "reference": "checks:mistake_dropout_mask_flipped",
        "message": "Units kept where uniform < 1 - rate: keep them where uniform >= rate (the docstring's rule), "
        "so that the grader's mask is yours",
    },
]

SGD_MISTAKES = [
    {
        "reference": "checks:mistake_sgd_nesterov_as_momentum",
        "message": "With nesterov=True this is plain momentum's step: Nesterov steps by momentum * v - "
        "learning_rate * g after updating v",
    },
    {
        "reference": "checks:mistake_sgd_velocity_average",
        "message": "The velocity is an average here (v = momentum * v + (1 - momentum) * g); Keras' and the "
        "lecture's: v = momentum * v - learning_rate * g",
    },
]

RMSPROP_MISTAKES = [
    {
        "reference": "checks:mistake_rmsprop_epsilon_outside",
        "message": "epsilon is outside the square root here (the slide's form); Keras divides by sqrt(s + epsilon)",
    },
    {
        "reference": "checks:mistake_rmsprop_adagrad",
        "message": "This is AdaGrad (a sum of squared gradients); RMSProp keeps a leaky average, "
        "s = rho * s + (1 - rho) * g ** 2",
    },
]

ADAM_MISTAKES = [
    {
        "reference": "checks:mistake_adam_no_bias_correction",
        "message": "This is Adam without bias correction: the moments start at 0, so divide by 1 - beta ** t "
        "(t = 1, 2, ...)",
    },
    {
        "reference": "checks:mistake_adam_epsilon_on_corrected",
        "message": "epsilon is added to sqrt(v_hat) here (the slide's form); Keras' step is learning_rate * "
        "sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t) * m / (sqrt(v) + epsilon)",
    },
]

STEP_DECAY_MISTAKES = [
    {
        "reference": "checks:mistake_step_decay_at_boundary",
        "message": "The rate drops AT the boundary step; Keras' PiecewiseConstantDecay keeps the old rate up to "
        "and including the boundary (step <= boundaries[0])",
    },
]

WARMUP_COSINE_MISTAKES = [
    {
        "reference": "checks:mistake_warmup_off_by_one",
        "message": "The warm-up is one step ahead: it starts from 0 at step 0 (peak * step / warmup_steps)",
    },
    {
        "reference": "checks:mistake_cosine_from_step_zero",
        "message": "The cosine counts from step 0; it starts at the peak when the warm-up ends (step - warmup_steps)",
    },
    {
        "reference": "checks:mistake_cosine_without_alpha",
        "message": "The cosine decays to 0; it decays to alpha * peak",
    },
]

SMALL_NET_SIGNATURE = [
    "Flatten",
    "Dense(256, linear)",
    "BatchNormalization",
    "ReLU",
    "Dropout(0.25)",
    "Dense(10, softmax)",
]

CHECKS = [
    dict(
        id="init_std",
        name="1. init_std: Xavier, Glorot and He",
        kind="function",
        points=10,
        timeout=KERAS_TIMEOUT,
        message="init_std(shape, method) equals the std of Keras' LecunNormal (the lecture's Xavier), GlorotNormal "
        "and HeNormal weights, for dense and convolution kernels (fan-in = k * k * C_in).",
        params=dict(
            function="init_std",
            reference="checks:init_std_reference",
            rule="numpy",
            rtol=1e-5,
            atol=0.0,
            mistakes=INIT_MISTAKES,
            cases=[
                {"shape": [784, 256], "method": "xavier", "_label": "Dense kernel (784, 256), xavier"},
                {"shape": [784, 256], "method": "glorot", "_label": "Dense kernel (784, 256), glorot"},
                {"shape": [784, 256], "method": "he", "_label": "Dense kernel (784, 256), he"},
                {"shape": [3, 3, 64, 128], "method": "xavier", "_label": "Conv2D kernel (3, 3, 64, 128), xavier"},
                {"shape": [3, 3, 64, 128], "method": "he", "_label": "Conv2D kernel (3, 3, 64, 128), he"},
                {"shape": [5, 5, 3, 6], "method": "glorot", "_label": "Conv2D kernel (5, 5, 3, 6), glorot"},
            ],
        ),
    ),
    dict(
        id="forward_activations",
        name="1. forward_activations: the 6-layer initialisation demo",
        kind="function",
        points=10,
        timeout=KERAS_TIMEOUT,
        message="forward_activations(x, weights, activation): every layer's activations (so their mean and std per "
        "layer) equal a Keras forward pass through Dense(use_bias=False) layers with the same kernels.",
        params=dict(
            function="forward_activations",
            reference="checks:keras_forward",
            rule="numpy",
            rtol=1e-4,
            atol=1e-6,
            mistakes=FORWARD_MISTAKES,
            cases=[
                {
                    "x": array([16, 128], 201),
                    "weights": array([6, 128, 128], 202, scale=0.0566),
                    "activation": "tanh",
                    "_label": "6 tanh layers of 128 units, W ~ N(0, 0.0566^2): x0.64 per layer, the lecture's collapse",
                },
                {
                    "x": array([16, 128], 203),
                    "weights": array([6, 128, 128], 204, scale=0.0884),
                    "activation": "tanh",
                    "_label": "6 tanh layers, Xavier std 1/sqrt(128)",
                },
                {
                    "x": array([16, 128], 205),
                    "weights": array([6, 128, 128], 206, scale=0.125),
                    "activation": "relu",
                    "_label": "6 ReLU layers, He std sqrt(2/128)",
                },
            ],
        ),
    ),
    dict(
        id="batchnorm_forward",
        name="2. batchnorm_forward: training and inference, dense and spatial",
        kind="function",
        points=15,
        timeout=KERAS_TIMEOUT,
        message="batchnorm_forward(...) equals keras.layers.BatchNormalization(momentum, epsilon): the output and "
        "the new running mean and variance (output 1/2 of a case, each running average 1/4).",
        params=dict(
            function="batchnorm_forward",
            reference="checks:keras_batchnorm",
            rule="numpy",
            rtol=1e-5,
            atol=1e-5,
            parts=[2, 1, 1],
            mistakes=BATCHNORM_MISTAKES,
            cases=[
                {
                    "x": array([32, 8], 301, loc=0.5, scale=0.1),
                    "gamma": array([8], 302, loc=1.0, scale=0.2),
                    "beta": array([8], 303, scale=0.2),
                    "running_mean": array([8], 304, scale=0.1),
                    "running_var": array([8], 305, distribution="uniform", low=0.5, high=1.5),
                    "training": True,
                    "momentum": 0.9,
                    "epsilon": 1e-3,
                    "_label": "dense batch (32, 8), training",
                },
                {
                    "x": array([32, 8], 311, loc=0.5, scale=0.1),
                    "gamma": array([8], 312, loc=1.0, scale=0.2),
                    "beta": array([8], 313, scale=0.2),
                    "running_mean": array([8], 314, loc=0.5, scale=0.1),
                    "running_var": array([8], 315, distribution="uniform", low=0.005, high=0.02),
                    "training": False,
                    "momentum": 0.9,
                    "epsilon": 1e-3,
                    "_label": "dense batch (32, 8), inference",
                },
                {
                    "x": array([8, 5, 5, 3], 321, loc=-0.3, scale=0.1),
                    "gamma": array([3], 322, loc=1.0, scale=0.2),
                    "beta": array([3], 323, scale=0.2),
                    "running_mean": array([3], 324, scale=0.1),
                    "running_var": array([3], 325, distribution="uniform", low=0.5, high=1.5),
                    "training": True,
                    "_label": "spatial batch (8, 5, 5, 3), training, default momentum and epsilon",
                },
                {
                    "x": array([4, 5, 5, 3], 331, loc=-0.3, scale=0.1),
                    "gamma": array([3], 332, loc=1.0, scale=0.2),
                    "beta": array([3], 333, scale=0.2),
                    "running_mean": array([3], 334, loc=-0.3, scale=0.1),
                    "running_var": array([3], 335, distribution="uniform", low=0.005, high=0.02),
                    "training": False,
                    "_label": "spatial batch (4, 5, 5, 3), inference, default momentum and epsilon",
                },
            ],
        ),
    ),
    dict(
        id="dropout_forward",
        name="3. dropout_forward: inverted dropout",
        kind="function",
        points=10,
        timeout=NUMPY_TIMEOUT,
        message="dropout_forward(x, rate, uniform, training): units kept where uniform >= rate and divided by "
        "1 - rate in training (the expectation kept), the identity at test time.",
        params=dict(
            function="dropout_forward",
            reference="checks:dropout_reference",
            rule="numpy",
            mistakes=DROPOUT_MISTAKES,
            cases=[
                {
                    "x": array([64, 10], 401),
                    "rate": 0.5,
                    "uniform": array([64, 10], 402, distribution="uniform"),
                    "training": True,
                    "_label": "(64, 10), rate 0.5, training",
                },
                {
                    "x": array([64, 10], 403),
                    "rate": 0.5,
                    "uniform": array([64, 10], 404, distribution="uniform"),
                    "training": False,
                    "_label": "(64, 10), rate 0.5, test time",
                },
                {
                    "x": array([4, 6, 6, 3], 405),
                    "rate": 0.2,
                    "uniform": array([4, 6, 6, 3], 406, distribution="uniform"),
                    "training": True,
                    "_label": "(4, 6, 6, 3), rate 0.2, training",
                },
                {
                    "x": array([4, 6, 6, 3], 407),
                    "rate": 0.2,
                    "uniform": array([4, 6, 6, 3], 408, distribution="uniform"),
                    "training": False,
                    "_label": "(4, 6, 6, 3), rate 0.2, test time",
                },
            ],
        ),
    ),
    dict(
        id="sgd_momentum",
        name="4. sgd_momentum: momentum and Nesterov",
        kind="function",
        points=10,
        timeout=KERAS_TIMEOUT,
        message="sgd_momentum(w, grads, learning_rate, momentum, nesterov): the weights after each step equal "
        "keras.optimizers.SGD(learning_rate, momentum, nesterov) on the same gradients.",
        params=dict(
            function="sgd_momentum",
            reference="checks:keras_sgd",
            rule="numpy",
            rtol=1e-5,
            atol=1e-6,
            mistakes=SGD_MISTAKES,
            cases=[
                {
                    "w": array([3, 4], 501),
                    "grads": array([6, 3, 4], 502),
                    "learning_rate": 0.01,
                    "momentum": 0.9,
                    "_label": "momentum 0.9, learning_rate 0.01, 6 steps",
                },
                {
                    "w": array([5], 503),
                    "grads": array([8, 5], 504),
                    "learning_rate": 0.1,
                    "momentum": 0.5,
                    "_label": "momentum 0.5, learning_rate 0.1, 8 steps",
                },
                {
                    "w": array([3, 4], 505),
                    "grads": array([6, 3, 4], 506),
                    "learning_rate": 0.01,
                    "momentum": 0.9,
                    "nesterov": True,
                    "_label": "Nesterov, momentum 0.9, learning_rate 0.01, 6 steps",
                },
                {
                    "w": array([5], 507),
                    "grads": array([8, 5], 508),
                    "learning_rate": 0.05,
                    "momentum": 0.99,
                    "nesterov": True,
                    "_label": "Nesterov, momentum 0.99, learning_rate 0.05, 8 steps",
                },
            ],
        ),
    ),
    dict(
        id="rmsprop",
        name="4. rmsprop",
        kind="function",
        points=8,
        timeout=KERAS_TIMEOUT,
        message="rmsprop(w, grads, learning_rate, rho, epsilon): the weights after each step equal "
        "keras.optimizers.RMSprop(learning_rate, rho, epsilon=epsilon) on the same gradients.",
        params=dict(
            function="rmsprop",
            reference="checks:keras_rmsprop",
            rule="numpy",
            rtol=1e-5,
            atol=1e-6,
            mistakes=RMSPROP_MISTAKES,
            cases=[
                {
                    "w": array([3, 4], 601),
                    "grads": array([6, 3, 4], 602, loc=1.0, scale=0.25),
                    "_label": "defaults, gradients near 1",
                },
                {
                    "w": array([5], 603),
                    "grads": array([8, 5], 604, loc=-1.0, scale=0.25),
                    "learning_rate": 0.01,
                    "rho": 0.95,
                    "_label": "learning_rate 0.01, rho 0.95, gradients near -1",
                },
                {
                    "w": array([4], 605),
                    "grads": array([5, 4], 606, scale=0.01),
                    "learning_rate": 0.01,
                    "epsilon": 1e-3,
                    "_label": "small gradients, epsilon 1e-3: where epsilon goes matters",
                },
            ],
        ),
    ),
    dict(
        id="adam",
        name="4. adam (with bias correction)",
        kind="function",
        points=12,
        timeout=KERAS_TIMEOUT,
        message="adam(w, grads, learning_rate, beta_1, beta_2, epsilon): the weights after each step equal "
        "keras.optimizers.Adam on the same gradients (bias correction, Keras' epsilon).",
        params=dict(
            function="adam",
            reference="checks:keras_adam",
            rule="numpy",
            rtol=1e-5,
            atol=1e-6,
            mistakes=ADAM_MISTAKES,
            cases=[
                {
                    "w": array([3, 4], 701),
                    "grads": array([6, 3, 4], 702, loc=1.0, scale=0.25),
                    "_label": "defaults, gradients near 1",
                },
                {
                    "w": array([5], 703),
                    "grads": array([8, 5], 704, loc=-1.0, scale=0.25),
                    "learning_rate": 0.01,
                    "beta_1": 0.8,
                    "beta_2": 0.99,
                    "_label": "learning_rate 0.01, beta_1 0.8, beta_2 0.99, gradients near -1",
                },
                {
                    "w": array([4], 705),
                    "grads": array([5, 4], 706, scale=0.01),
                    "learning_rate": 0.01,
                    "epsilon": 0.01,
                    "_label": "small gradients, epsilon 0.01: where epsilon goes matters",
                },
            ],
        ),
    ),
    dict(
        id="step_decay",
        name="5. step_decay",
        kind="function",
        points=7,
        timeout=KERAS_TIMEOUT,
        message="step_decay(steps, initial_learning_rate, boundaries, factor) equals "
        "keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, [lr, lr * factor, ...]).",
        params=dict(
            function="step_decay",
            reference="checks:keras_step_decay",
            rule="numpy",
            rtol=1e-5,
            atol=1e-12,
            mistakes=STEP_DECAY_MISTAKES,
            cases=[
                {
                    "steps": steps(range(121)),
                    "initial_learning_rate": 0.1,
                    "boundaries": [30, 60, 90],
                    "factor": 0.1,
                    "_label": "steps 0-120, x0.1 after 30, 60 and 90 (the lecture's ResNet)",
                },
                {
                    "steps": steps([0, 5, 20, 40, 70, 100]),
                    "initial_learning_rate": 0.1,
                    "boundaries": [30, 60, 90],
                    "factor": 0.1,
                    "_label": "steps between the boundaries",
                },
                {
                    "steps": steps([0, 9, 10, 11, 24, 25, 26, 100]),
                    "initial_learning_rate": 0.5,
                    "boundaries": [10, 25],
                    "factor": 0.5,
                    "_label": "x0.5 after steps 10 and 25, at and around them",
                },
            ],
        ),
    ),
    dict(
        id="warmup_cosine",
        name="5. warmup_cosine: linear warm-up, then cosine",
        kind="function",
        points=10,
        timeout=KERAS_TIMEOUT,
        message="warmup_cosine(steps, peak, warmup_steps, decay_steps, alpha) equals "
        "keras.optimizers.schedules.CosineDecay(0.0, decay_steps, alpha, warmup_target=peak, warmup_steps).",
        params=dict(
            function="warmup_cosine",
            reference="checks:keras_warmup_cosine",
            rule="numpy",
            rtol=1e-5,
            atol=1e-7,
            mistakes=WARMUP_COSINE_MISTAKES,
            cases=[
                {
                    "steps": steps(range(56)),
                    "peak_learning_rate": 0.1,
                    "warmup_steps": 10,
                    "decay_steps": 40,
                    "_label": "steps 0-55: 10 warm-up steps, 40 of cosine, then flat",
                },
                {
                    "steps": steps(range(28)),
                    "peak_learning_rate": 1.0,
                    "warmup_steps": 5,
                    "decay_steps": 20,
                    "alpha": 0.1,
                    "_label": "steps 0-27, alpha 0.1",
                },
                {
                    "steps": steps([10, 20, 30, 45, 50]),
                    "peak_learning_rate": 0.1,
                    "warmup_steps": 10,
                    "decay_steps": 40,
                    "_label": "after the warm-up only",
                },
            ],
        ),
    ),
    dict(
        id="small_net",
        name="6. build_small_net",
        kind="model_builder",
        points=8,
        timeout=90,
        message="build_small_net(input_shape, num_classes, dropout): Flatten -> Dense(256, He initialisation) -> "
        "BatchNormalization -> ReLU -> Dropout -> Dense(softmax), 28x28x1 images -> 10 probabilities "
        "(Activation('relu') counts as ReLU(); Sequential or functional).",
        params=dict(
            function="build_small_net",
            args=[[28, 28, 1], 10, 0.25],
            input_shape=[28, 28, 1],
            signature=SMALL_NET_SIGNATURE,
            initializers=[
                dict(
                    layer="Dense(256, linear)",
                    scale=2.0,
                    mode="fan_in",
                    name='He initialisation (kernel_initializer="he_normal"): std sqrt(2 / fan_in), for the ReLU '
                    "after it",
                ),
            ],
            output_shape=[10],
            seed=801,
        ),
    ),
]
