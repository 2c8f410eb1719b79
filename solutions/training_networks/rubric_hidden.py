"""The "Training networks" assignment's hidden checks: other seeds, and the edges of each mechanism.

Instructor-only: never copied into assignments/ or the student release, and covered by an empty
tmpfs while student code runs. Only inputs are described here; the references in ``checks.py``
(Keras on the same inputs) compute the expected answers. Each check covers several functions
(the ``function`` kind's ``_function`` per case: one trusted child imports Keras once for all of them);
the typical mistakes are the visible rubric's, each limited to its own function.
"""

from pathlib import Path

from kit.assignments import load_module

visible = load_module(Path(__file__).with_name("rubric.py"), "_training_networks_visible_rubric")
array, steps = visible.array, visible.steps


def mistakes_of(function: str, mistakes: list[dict]) -> list[dict]:
    """The visible rubric's typical mistakes of ``function``, for a check that calls several functions."""
    return [{**mistake, "functions": [function]} for mistake in mistakes]


def values(rows) -> dict:
    """An input given as it is (floats)."""
    return {"values": rows}


CHECKS = [
    dict(
        id="initialisation_hidden",
        name="1. initialisation (hidden inputs)",
        kind="function",
        points=5,
        visibility="hidden",
        timeout=visible.KERAS_TIMEOUT,
        message="a Conv1D and a 1x1 convolution kernel, a one-unit layer; a batch of one through a saturating "
        "tanh net, Xavier under ReLU, linear layers; an unknown method and a one-axis shape raise ValueError.",
        params=dict(
            rule="numpy",
            rtol=1e-4,
            atol=1e-6,
            mistakes=mistakes_of("init_std", visible.INIT_MISTAKES)
            + mistakes_of("forward_activations", visible.FORWARD_MISTAKES),
            cases=[
                {
                    "_function": "init_std",
                    "_reference": "checks:init_std_reference",
                    "shape": [5, 16, 32],
                    "method": "he",
                    "_label": "init_std, Conv1D kernel (5, 16, 32), he",
                },
                {
                    "_function": "init_std",
                    "_reference": "checks:init_std_reference",
                    "shape": [1, 1, 64, 32],
                    "method": "xavier",
                    "_label": "init_std, 1x1 convolution kernel (1, 1, 64, 32), xavier",
                },
                {
                    "_function": "init_std",
                    "_reference": "checks:init_std_reference",
                    "shape": [10, 1],
                    "method": "glorot",
                    "_label": "init_std, Dense kernel (10, 1), glorot",
                },
                {
                    "_function": "forward_activations",
                    "_reference": "checks:keras_forward",
                    "x": array([1, 64], 9201),
                    "weights": array([6, 64, 64], 9202, scale=0.2),
                    "activation": "tanh",
                    "_label": "forward_activations, a batch of one, W std 0.2 (tanh saturates)",
                },
                {
                    "_function": "forward_activations",
                    "_reference": "checks:keras_forward",
                    "x": array([3, 64], 9203),
                    "weights": array([5, 64, 64], 9204, scale=0.125),
                    "activation": "relu",
                    "_label": "forward_activations, 5 ReLU layers with Xavier's std",
                },
                {
                    "_function": "forward_activations",
                    "_reference": "checks:keras_forward",
                    "x": array([4, 32], 9205),
                    "weights": array([3, 32, 32], 9206, scale=0.2),
                    "activation": "linear",
                    "_label": "forward_activations, 3 linear layers (activation 'linear')",
                },
                {
                    "_function": "init_std",
                    "_raises": "ValueError",
                    "shape": [3, 3],
                    "method": "kaiming",
                    "_label": "init_std, an unknown method 'kaiming' (the docstring: ValueError)",
                },
                {
                    "_function": "init_std",
                    "_raises": "ValueError",
                    "shape": [256],
                    "method": "he",
                    "_label": "init_std, a shape of one axis (the docstring: ValueError)",
                },
            ],
        ),
    ),
    dict(
        id="batchnorm_hidden",
        name="2. batchnorm_forward (hidden inputs)",
        kind="function",
        points=5,
        visibility="hidden",
        timeout=visible.KERAS_TIMEOUT,
        message="a batch of one (dense and spatial), a large epsilon, momentum 0.",
        params=dict(
            function="batchnorm_forward",
            reference="checks:keras_batchnorm",
            rule="numpy",
            rtol=1e-5,
            atol=1e-5,
            parts=[2, 1, 1],
            mistakes=visible.BATCHNORM_MISTAKES,
            cases=[
                {
                    "x": array([1, 6], 9301),
                    "gamma": array([6], 9302, loc=1.0, scale=0.2),
                    "beta": array([6], 9303, scale=0.2),
                    "running_mean": array([6], 9304, scale=0.1),
                    "running_var": array([6], 9305, distribution="uniform", low=0.5, high=1.5),
                    "training": True,
                    "_label": "a dense batch of one, training (its variance is 0)",
                },
                {
                    "x": array([1, 3, 3, 2], 9311, loc=0.2, scale=0.1),
                    "gamma": array([2], 9312, loc=1.0, scale=0.2),
                    "beta": array([2], 9313, scale=0.2),
                    "running_mean": array([2], 9314, scale=0.1),
                    "running_var": array([2], 9315, distribution="uniform", low=0.5, high=1.5),
                    "training": True,
                    "momentum": 0.8,
                    "_label": "a spatial batch of one (1, 3, 3, 2), training",
                },
                {
                    "x": array([8, 4], 9321, loc=1.0, scale=0.5),
                    "gamma": array([4], 9322, loc=1.0, scale=0.2),
                    "beta": array([4], 9323, scale=0.2),
                    "running_mean": array([4], 9324, loc=1.0, scale=0.1),
                    "running_var": array([4], 9325, distribution="uniform", low=0.1, high=0.3),
                    "training": False,
                    "epsilon": 0.5,
                    "_label": "epsilon 0.5, inference",
                },
                {
                    "x": array([16, 4], 9331, loc=-1.0, scale=2.0),
                    "gamma": array([4], 9332, loc=1.0, scale=0.2),
                    "beta": array([4], 9333, scale=0.2),
                    "running_mean": array([4], 9334, scale=0.1),
                    "running_var": array([4], 9335, distribution="uniform", low=0.5, high=1.5),
                    "training": True,
                    "momentum": 0.0,
                    "_label": "momentum 0, training (the running averages become the batch's)",
                },
            ],
        ),
    ),
    dict(
        id="dropout_hidden",
        name="3. dropout_forward (hidden inputs)",
        kind="function",
        points=5,
        visibility="hidden",
        timeout=visible.NUMPY_TIMEOUT,
        message="rate 0 and rate 1 (the largest legal rate), in training and at test time; a high rate; a rate "
        "outside [0, 1] raises ValueError.",
        params=dict(
            function="dropout_forward",
            reference="checks:dropout_reference",
            rule="numpy",
            mistakes=visible.DROPOUT_MISTAKES,
            cases=[
                {
                    "x": array([16, 5], 9401),
                    "rate": 0.0,
                    "uniform": array([16, 5], 9402, distribution="uniform"),
                    "training": True,
                    "_label": "rate 0, training (nothing dropped)",
                },
                {
                    "x": array([16, 5], 9403),
                    "rate": 1.0,
                    "uniform": array([16, 5], 9404, distribution="uniform"),
                    "training": True,
                    "_label": "rate 1, training (everything dropped: zeros)",
                },
                {
                    "x": array([16, 5], 9405),
                    "rate": 1.0,
                    "uniform": array([16, 5], 9406, distribution="uniform"),
                    "training": False,
                    "_label": "rate 1, test time",
                },
                {
                    "x": array([1000], 9407),
                    "rate": 0.9,
                    "uniform": array([1000], 9408, distribution="uniform"),
                    "training": True,
                    "_label": "rate 0.9, training",
                },
                {
                    "x": array([4, 3], 9409),
                    "rate": 1.5,
                    "uniform": array([4, 3], 9410, distribution="uniform"),
                    "training": True,
                    "_raises": "ValueError",
                    "_label": "rate 1.5 (the docstring: ValueError)",
                },
                {
                    "x": array([4, 3], 9411),
                    "rate": -0.1,
                    "uniform": array([4, 3], 9412, distribution="uniform"),
                    "training": False,
                    "_raises": "ValueError",
                    "_label": "rate -0.1 at test time (the docstring: ValueError)",
                },
            ],
        ),
    ),
    dict(
        id="update_rules_hidden",
        name="4. update rules (hidden inputs)",
        kind="function",
        points=5,
        visibility="hidden",
        timeout=visible.KERAS_TIMEOUT,
        message="zero gradients (all, or one step of them), Adam's first step, momentum 0.",
        params=dict(
            rule="numpy",
            rtol=1e-5,
            atol=1e-6,
            mistakes=mistakes_of("sgd_momentum", visible.SGD_MISTAKES)
            + mistakes_of("rmsprop", visible.RMSPROP_MISTAKES)
            + mistakes_of("adam", visible.ADAM_MISTAKES),
            cases=[
                {
                    "_function": "sgd_momentum",
                    "_reference": "checks:keras_sgd",
                    "w": array([3], 9501),
                    "grads": array([4, 3], 9502, distribution="zeros"),
                    "_label": "sgd_momentum, zero gradients (nothing moves)",
                },
                {
                    "_function": "sgd_momentum",
                    "_reference": "checks:keras_sgd",
                    "w": array([4], 9503),
                    "grads": array([5, 4], 9504),
                    "learning_rate": 0.1,
                    "momentum": 0.0,
                    "_label": "sgd_momentum, momentum 0 (plain SGD)",
                },
                {
                    "_function": "sgd_momentum",
                    "_reference": "checks:keras_sgd",
                    "w": values([0.5, -0.5]),
                    "grads": values([[1.0, -2.0], [0.0, 0.0], [0.5, 1.0], [0.0, 0.0]]),
                    "learning_rate": 0.1,
                    "momentum": 0.9,
                    "nesterov": True,
                    "_label": "sgd_momentum, Nesterov through zero-gradient steps",
                },
                {
                    "_function": "rmsprop",
                    "_reference": "checks:keras_rmsprop",
                    "w": values([0.5, -0.5]),
                    "grads": values([[1.0, -2.0], [0.0, 0.0], [0.5, 1.0]]),
                    "learning_rate": 0.01,
                    "_label": "rmsprop through a zero-gradient step",
                },
                {
                    "_function": "adam",
                    "_reference": "checks:keras_adam",
                    "w": array([6], 9505),
                    "grads": array([1, 6], 9506),
                    "learning_rate": 0.01,
                    "_label": "adam, the first step only",
                },
                {
                    "_function": "adam",
                    "_reference": "checks:keras_adam",
                    "w": values([0.5, -0.5]),
                    "grads": values([[1.0, -2.0], [0.0, 0.0], [0.0, 0.0], [0.5, 1.0]]),
                    "learning_rate": 0.01,
                    "_label": "adam through zero-gradient steps (the moments still move it)",
                },
                {
                    "_function": "adam",
                    "_reference": "checks:keras_adam",
                    "w": array([3], 9507),
                    "grads": array([3, 3], 9508, distribution="zeros"),
                    "_label": "adam, zero gradients (nothing moves)",
                },
            ],
        ),
    ),
    dict(
        id="schedules_hidden",
        name="5. learning-rate policies (hidden inputs)",
        kind="function",
        points=5,
        visibility="hidden",
        timeout=visible.KERAS_TIMEOUT,
        message="steps as a 2-D array, one boundary, steps past every boundary; a one-step warm-up, none at all, "
        "steps long after the decay ended.",
        params=dict(
            rule="numpy",
            rtol=1e-5,
            atol=1e-7,
            mistakes=mistakes_of("step_decay", visible.STEP_DECAY_MISTAKES)
            + mistakes_of("warmup_cosine", visible.WARMUP_COSINE_MISTAKES),
            cases=[
                {
                    "_function": "step_decay",
                    "_reference": "checks:keras_step_decay",
                    "steps": {"values": [[0, 50], [75, 76]], "dtype": "int64"},
                    "initial_learning_rate": 0.02,
                    "boundaries": [75],
                    "factor": 0.5,
                    "_label": "step_decay, steps of shape (2, 2), one boundary",
                },
                {
                    "_function": "step_decay",
                    "_reference": "checks:keras_step_decay",
                    "steps": steps(range(7)),
                    "initial_learning_rate": 1.0,
                    "boundaries": [1, 2, 3],
                    "factor": 0.1,
                    "_label": "step_decay, boundaries at steps 1, 2, 3, steps past them all",
                },
                {
                    "_function": "warmup_cosine",
                    "_reference": "checks:keras_warmup_cosine",
                    "steps": steps(range(7)),
                    "peak_learning_rate": 0.3,
                    "warmup_steps": 1,
                    "decay_steps": 4,
                    "_label": "warmup_cosine, a one-step warm-up",
                },
                {
                    "_function": "warmup_cosine",
                    "_reference": "checks:keras_warmup_cosine",
                    "steps": steps(range(0, 12, 2)),
                    "peak_learning_rate": 0.3,
                    "warmup_steps": 0,
                    "decay_steps": 10,
                    "_label": "warmup_cosine, no warm-up (warmup_steps 0)",
                },
                {
                    "_function": "warmup_cosine",
                    "_reference": "checks:keras_warmup_cosine",
                    "steps": steps([0, 3, 100, 1000]),
                    "peak_learning_rate": 0.05,
                    "warmup_steps": 3,
                    "decay_steps": 7,
                    "alpha": 0.2,
                    "_label": "warmup_cosine, steps long after the decay ended, alpha 0.2",
                },
            ],
        ),
    ),
]
