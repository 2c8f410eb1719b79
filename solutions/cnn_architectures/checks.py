"""The "CNN architectures" assignment's references and check kinds: Keras itself, never the solution.

Every reference builds the Keras layers the student's function describes and reads what Keras
says: the output shape, ``count_params()``, ``kit.models.count_flops``, and the response of a stack
of convolutions to one pixel (the receptive field). Keras is imported inside each function: every
child imports this file, most need no Keras. This file ships with the student release (the
self-check needs it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kit.grading.judges import Verdict
from kit.grading.kinds import PLAIN_KERAS, Kind, ModelBuilderKind, StudentError, check_model, predict

# ------------------------------------------------------------------ 1-3. arithmetic, from Keras


def keras_output_size(size, kernel, stride=1, padding="valid", dilation=1) -> int:
    """``conv_output_size``: the output length of Keras' Conv1D (after ZeroPadding1D(p) for an int padding)."""
    import keras

    stack = []
    if not isinstance(padding, str):
        stack.append(keras.layers.ZeroPadding1D(int(padding)))
        padding = "valid"
    stack.append(keras.layers.Conv1D(1, kernel, strides=stride, padding=padding, dilation_rate=dilation))
    shape = (None, int(size), 1)
    for layer in stack:
        shape = layer.compute_output_shape(shape)
    return int(shape[1])


def _count(layers, shape) -> int:
    total = 0
    for layer in layers:
        layer.build(shape)
        total += layer.count_params()
        shape = layer.compute_output_shape(shape)
    return int(total)


def keras_conv_params(c_in, filters, kernel, groups=1, reduce_to=1) -> dict:
    """``conv_params``: ``count_params()`` of Keras' Conv2D, SeparableConv2D, grouped Conv2D and 1x1 + Conv2D."""
    import keras

    layers, shape = keras.layers, (None, 16, 16, int(c_in))
    return {
        "plain": _count([layers.Conv2D(filters, kernel)], shape),
        "separable": _count([layers.SeparableConv2D(filters, kernel)], shape),
        "grouped": _count([layers.Conv2D(filters, kernel, groups=groups)], shape),
        "reduced": _count([layers.Conv2D(reduce_to, 1), layers.Conv2D(filters, kernel)], shape),
    }


def mistake_separable_with_depthwise_bias(c_in, filters, kernel, groups=1, reduce_to=1) -> dict:
    """A bias per depthwise filter too (Keras' SeparableConv2D has none there)."""
    return {**keras_conv_params(c_in, filters, kernel, groups, reduce_to)} | {
        "separable": kernel * kernel * c_in + c_in + c_in * filters + filters
    }


def mistake_no_biases(c_in, filters, kernel, groups=1, reduce_to=1) -> dict:
    """Every count without its biases."""
    window = kernel * kernel
    return {
        "plain": window * c_in * filters,
        "separable": window * c_in + c_in * filters,
        "grouped": window * (c_in // groups) * filters,
        "reduced": c_in * reduce_to + window * reduce_to * filters,
    }


def keras_conv_flops(input_shape, filters, kernel, stride=1, padding="valid") -> int:
    """``conv_flops``: kit.models.count_flops of a one-layer Keras model."""
    import keras

    from kit.models import count_flops

    inputs = keras.Input(shape=tuple(int(v) for v in input_shape))
    model = keras.Model(inputs, keras.layers.Conv2D(filters, kernel, strides=stride, padding=padding)(inputs))
    return int(count_flops(model))


def mistake_flops_on_input_positions(input_shape, filters, kernel, stride=1, padding="valid") -> int:
    """Multiply-adds counted at every input position instead of every output position."""
    height, width, channels = (int(v) for v in input_shape)
    return height * width * kernel * kernel * channels * filters


def keras_receptive_field(layers) -> int:
    """``receptive_field``: Keras Conv1D layers of ones, fed one pixel at a time; the input pixels the middle
    output unit responds to (a pooling window reaches as far as a convolution of its size)."""
    import keras

    span = 1
    for layer in layers:
        span = span * int(layer[1]) + int(layer[2] if len(layer) > 2 else 1) * (int(layer[0]) - 1)
    length = 4 * span + 16
    model = keras.Sequential([keras.Input(shape=(length, 1))])
    for layer in layers:
        dilation = int(layer[2]) if len(layer) > 2 else 1
        model.add(
            keras.layers.Conv1D(
                1,
                int(layer[0]),
                strides=int(layer[1]),
                dilation_rate=dilation,
                use_bias=False,
                kernel_initializer="ones",
            )
        )
    pixels = np.eye(length, dtype="float32")[:, :, None]  # image i: one pixel at position i
    response = np.asarray(model.predict(pixels, verbose=0))[:, :, 0]  # (input pixel, output unit)
    return int(np.count_nonzero(response[:, response.shape[1] // 2]))


def mistake_receptive_field_sum(layers) -> int:
    """The kernels' spans added, ignoring the strides below each layer."""
    return 1 + sum(int(layer[2] if len(layer) > 2 else 1) * (int(layer[0]) - 1) for layer in layers)


# ------------------------------------------------------------------ 4. the residual block, by behaviour


class ResidualBlock(ModelBuilderKind):
    """``model_builder`` plus the residual's behaviour: with the main path's weights zeroed (convolutions 0,
    BatchNorm the identity) an identity block outputs ReLU(x), and a Add layer joins two paths."""

    name = "residual_block"

    def inputs(self, params: dict) -> dict[str, np.ndarray]:  # negative values too: ReLU(x) differs from x
        rng = np.random.default_rng(params.get("seed", 0))
        return {"x": rng.standard_normal((int(params.get("probe", 4)), *params["input_shape"])).astype(np.float32)}

    def inspect(self, answer: dict, inputs: dict[str, np.ndarray], params: dict) -> dict[str, Any]:
        facts = super().inspect(answer, inputs, params)
        model = answer[self.save_as]
        for layer in model.layers:
            kind = type(layer).__name__
            weights = layer.get_weights()
            if kind in ("Conv2D", "Dense", "SeparableConv2D", "DepthwiseConv2D"):
                layer.set_weights([np.zeros_like(w) for w in weights])
            elif kind == "BatchNormalization":  # gamma 1, beta 0, moving mean 0, moving variance 1
                names = [w.path.rsplit("/", 1)[-1] for w in layer.weights]
                values = {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0, "moving_variance": 1.0}
                layer.set_weights([np.full_like(w, values.get(n, 0.0)) for w, n in zip(weights, names, strict=True)])
        try:
            facts["zeroed_outputs"] = predict(model, inputs["x"])
        except Exception:  # noqa: BLE001 - reported by the judge as a model that cannot run
            pass
        return facts

    def judge(self, answer: dict, inputs: dict[str, np.ndarray], params: dict) -> Verdict:
        verdict = super().judge(answer, inputs, params)
        if not verdict.passed:
            return verdict
        classes = [layer.get("class_name") for layer in (answer.get("description") or {}).get("layers", [])]
        if "Add" not in classes:
            return Verdict(False, 0.0, "the block has no Add layer: the shortcut must be added to the main path.")
        if params.get("identity"):
            zeroed = answer.get("zeroed_outputs")
            want = np.maximum(np.asarray(inputs["x"], dtype=np.float64), 0.0)
            if zeroed is None or np.shape(zeroed) != want.shape or not np.allclose(zeroed, want, atol=1e-3):
                return Verdict(
                    False,
                    0.0,
                    "with its convolutions' weights zeroed the block should output ReLU(x) (the identity shortcut "
                    "carries x); yours does not: add x itself to the main path, then apply the ReLU.",
                )
        return Verdict(True, 1.0)


# ------------------------------------------------------------------ 5. fine-tuning


def pretrained_base(seed: int, input_shape=(28, 28, 1), features: int = 32, classes: int = 5):
    """The 'pretrained' network a fine-tuning check hands the student: a small CNN with seeded weights
    (the same in every child), its last layer a Dense softmax over ``classes``."""
    import keras

    layers = keras.layers

    def init(offset: int):
        return keras.initializers.GlorotUniform(seed=seed + offset)

    inputs = keras.Input(shape=tuple(input_shape))
    x = layers.Conv2D(8, 3, activation="relu", kernel_initializer=init(1), bias_initializer=init(2), name="conv")(
        inputs
    )
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(
        features, activation="relu", kernel_initializer=init(3), bias_initializer=init(4), name="features"
    )(x)
    outputs = layers.Dense(classes, activation="softmax", kernel_initializer=init(5), name="old_top")(x)
    return keras.Model(inputs, outputs, name="pretrained")


class Transfer(Kind):
    """``transfer_model(base, num_classes)``: the pretrained feature extractor kept and frozen, a new top only
    trains, probabilities over ``num_classes``.

    params: ``function``, ``seed`` (the base's weights), ``num_classes``, ``input_shape``, ``features``,
    ``probe``.
    """

    name = "transfer"
    save_as = "model.keras"

    def inputs(self, params: dict) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(params.get("seed", 0))
        return {"x": rng.random((int(params.get("probe", 8)), *params["input_shape"])).astype(np.float32)}

    def _base(self, params: dict):
        return pretrained_base(int(params["seed"]), params["input_shape"], int(params.get("features", 32)))

    def call(self, student, inputs: dict[str, np.ndarray], params: dict) -> dict[str, Any]:
        base = self._base(params)
        model = student.call(params["function"], base, int(params["num_classes"]), rule=PLAIN_KERAS)
        return {self.save_as: check_model(model, params["function"])}

    def inspect(self, answer: dict, inputs: dict[str, np.ndarray], params: dict) -> dict[str, Any]:
        model = answer[self.save_as]
        base = self._base(params)
        pretrained = [w for layer in base.layers[:-1] for w in layer.get_weights()]
        frozen = [np.asarray(w) for w in model.non_trainable_weights]
        trained = [np.asarray(w) for w in model.trainable_weights]

        def found(weight, pool):
            return any(w.shape == weight.shape and np.allclose(w, weight) for w in pool)

        facts: dict[str, Any] = {
            "output_shape": [None if d is None else int(d) for d in model.outputs[0].shape],
            "pretrained_frozen": int(sum(found(w, frozen) for w in pretrained)),
            "pretrained_training": int(sum(found(w, trained) for w in pretrained)),
            "pretrained": len(pretrained),
            "trainable_params": int(sum(int(np.prod(w.shape)) for w in trained)),
        }
        try:
            facts["outputs"] = predict(model, inputs["x"])
        except Exception as error:  # noqa: BLE001
            raise StudentError(f"the model failed on 28x28 images ({type(error).__name__}: {error}).") from None
        return facts

    def judge(self, answer: dict, inputs: dict[str, np.ndarray], params: dict) -> Verdict:
        from kit.grading import judges

        function, classes = params["function"], int(params["num_classes"])
        head = int(params.get("features", 32)) * classes + classes
        if answer.get("output_shape") != [None, classes]:
            return Verdict(
                False,
                0.0,
                f"the model's output shape is {answer.get('output_shape')}; expected "
                f"[None, {classes}]: a new top over the new classes (the old top had 5).",
            )
        if answer.get("pretrained_training"):
            return Verdict(
                False,
                0.0,
                f"{answer['pretrained_training']} of the pretrained feature extractor's "
                "weight arrays still train: set layer.trainable = False for the base's layers.",
            )
        if answer.get("pretrained_frozen") != answer.get("pretrained"):
            return Verdict(
                False,
                0.0,
                "the model does not keep the pretrained feature extractor's weights: reuse "
                "base's layers (base.layers[-2].output), do not build new ones.",
            )
        if answer.get("trainable_params") != head:
            return Verdict(
                False,
                0.0,
                f"{answer.get('trainable_params'):,} parameters train; only the new top "
                f"should: Dense({classes}) on {params.get('features', 32)} features, {head:,} parameters.",
            )
        if not judges.are_probabilities(np.asarray(answer.get("outputs"))):
            return Verdict(False, 0.0, "the model's outputs are not probabilities (end with a softmax).")
        return Verdict(True, 1.0, f"{function}: the features frozen, {head:,} parameters train.")
