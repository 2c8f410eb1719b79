"""The lecture's layer zoo by name: activations, initialisers, normalisation, regularisers.

Every knob a model builder takes (``activation="elu"``, ``kernel_initializer="he"``,
``normalization="group"``, ``regularizer="elastic_net"``) is resolved here, so that one
spelling works everywhere and an unknown name fails with the list of valid names
(scikit-learn style). The one layer Keras lacks, :class:`Maxout`, lives here too, registered
as a serializable so that saved models load with ``safe_mode=True`` after ``import kit.models``.

Feature maps are channels-last (Keras' default ``image_data_format``).
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from kit import errors

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "NORMALIZATIONS",
    "REGULARIZERS",
    "Maxout",
    "activation_layer",
    "canonical_activation",
    "canonical_normalization",
    "check_name",
    "get_initializer",
    "get_regularizer",
    "inline_activation",
    "maxout_pieces",
    "normalization_layer",
]


def check_name(kind: str, name: Any, valid: dict[str, Any] | tuple[str, ...]) -> str:
    """``kit.errors.check_name`` as the lecture's knobs are named: any case, "-" for "_", valid names sorted."""
    return errors.check_name(kind, name, sorted(valid), normalize=True)


# ---------------------------------------------------------------- Maxout (Goodfellow et al., 2013)
@keras.saving.register_keras_serializable(package="kit")
class Maxout(keras.layers.Layer):
    """Maxout unit: the maximum over ``pieces`` linear pieces (Goodfellow et al., 2013).

    The layer before it computes the pieces: its ``pieces * units`` outputs along ``axis`` are
    split into ``pieces`` consecutive groups of ``units`` and the element-wise maximum is kept,
    so ``Dense(2 * units) -> Maxout(2)`` is ``max(W1 x + b1, W2 x + b2)``, the lecture's formula
    (it "doubles the weights", and never saturates or dies). No trainable weights of its own.
    """

    def __init__(self, pieces: int = 2, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        if int(pieces) < 1:
            raise ValueError(f"Maxout needs pieces >= 1, got {pieces}.")
        self.pieces = int(pieces)
        self.axis = int(axis)

    def build(self, input_shape):
        channels = input_shape[self.axis]
        if channels is not None and channels % self.pieces:
            raise ValueError(
                f"Maxout with {self.pieces} pieces needs a channel count divisible by {self.pieces}, "
                f"got {channels}; give the layer before it {self.pieces} x the units."
            )
        self.built = True

    def call(self, inputs):
        parts = ops.split(inputs, self.pieces, axis=self.axis)
        out = parts[0]
        for part in parts[1:]:
            out = ops.maximum(out, part)
        return out

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if shape[self.axis] is not None:
            shape[self.axis] = shape[self.axis] // self.pieces
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "pieces": self.pieces, "axis": self.axis}


# ---------------------------------------------------------------- activations (lecture: training part 1)
# canonical name -> what Keras calls it when it can go into a layer's ``activation=`` argument
_BUILTIN_ACTIVATIONS = {
    "relu": "relu",
    "elu": "elu",  # alpha = 1 as in the lecture
    "selu": "selu",  # alpha 1.6733, lambda 1.0507; self-normalising with lecun_normal init
    "swish": "silu",  # swish(x) = x * sigmoid(x), a.k.a. SiLU
    "silu": "silu",
    "gelu": "gelu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
}
ACTIVATIONS: tuple[str, ...] = tuple(sorted([*_BUILTIN_ACTIVATIONS, "leaky_relu", "prelu", "maxout"]))
LEAKY_RELU_SLOPE = 0.01  # the lecture's max(0.01 x, x)
PRELU_INIT = 0.25  # He et al. (2015) initialise the learned slope at 0.25


def canonical_activation(name: str) -> str:
    """The activation's canonical name (``ValueError`` listing the valid names if unknown)."""
    return check_name("activation", name, ACTIVATIONS)


def maxout_pieces(activation: str, pieces: int = 2) -> int:
    """How many times wider the linear layer before ``activation`` must be (2 for maxout, else 1)."""
    return pieces if canonical_activation(activation) == "maxout" else 1


def inline_activation(activation: str) -> str | None:
    """Keras' name for ``activation`` when it fits a Conv/Dense ``activation=`` argument, else None.

    Layers with weights or settings of their own (PReLU, Leaky ReLU with the lecture's slope,
    Maxout) need a separate layer from :func:`activation_layer`.
    """
    return _BUILTIN_ACTIVATIONS.get(canonical_activation(activation))


def activation_layer(activation: str, *, rank: int = 4, name: str | None = None) -> keras.layers.Layer:
    """A fresh layer applying ``activation`` to a tensor of the given rank (4: feature maps, 2: vectors).

    PReLU learns one slope per channel (shared over the spatial axes, as in He et al. 2015).
    """
    key = canonical_activation(activation)
    if key in _BUILTIN_ACTIVATIONS:
        return keras.layers.Activation(_BUILTIN_ACTIVATIONS[key], name=name)
    if key == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=LEAKY_RELU_SLOPE, name=name)
    if key == "prelu":
        shared = list(range(1, rank - 1)) or None
        return keras.layers.PReLU(
            alpha_initializer=keras.initializers.Constant(PRELU_INIT), shared_axes=shared, name=name
        )
    return Maxout(pieces=2, name=name)


# ---------------------------------------------------------------- initialisers (lecture: weight init)
# canonical name -> (Keras class name, config); aliases follow the lecture's vocabulary
_INITIALIZERS = {
    "small_random_normal": ("RandomNormal", {"mean": 0.0, "stddev": 0.01}),  # the lecture's W = 0.01 * randn
    "glorot_normal": ("GlorotNormal", {}),
    "glorot_uniform": ("GlorotUniform", {}),
    "he_normal": ("HeNormal", {}),
    "he_uniform": ("HeUniform", {}),
    "lecun_normal": ("LecunNormal", {}),
    "lecun_uniform": ("LecunUniform", {}),
}
_INITIALIZER_ALIASES = {
    "glorot": "glorot_uniform",  # Keras' default
    "xavier": "glorot_uniform",
    "xavier_normal": "glorot_normal",
    "xavier_uniform": "glorot_uniform",
    "he": "he_normal",  # Kaiming: std = sqrt(2 / fan_in), for ReLU
    "kaiming": "he_normal",
    "kaiming_normal": "he_normal",
    "kaiming_uniform": "he_uniform",
    "lecun": "lecun_normal",
}
INITIALIZERS: tuple[str, ...] = tuple(sorted([*_INITIALIZERS, *_INITIALIZER_ALIASES]))


def get_initializer(spec: str | keras.initializers.Initializer, *, seed: int | None = None):
    """A fresh Keras initializer from a lecture name (e.g. ``"xavier"``, ``"kaiming"``) or an instance.

    A new object per layer, so that no two layers share one unseeded initializer.
    """
    if isinstance(spec, keras.initializers.Initializer):
        return spec.__class__.from_config(spec.get_config())
    key = check_name("initializer", spec, INITIALIZERS)
    class_name, config = _INITIALIZERS[_INITIALIZER_ALIASES.get(key, key)]
    return getattr(keras.initializers, class_name)(**config, seed=seed)


# ---------------------------------------------------------------- normalisation (lecture: BN, LN, GN, IN)
NORMALIZATIONS: tuple[str, ...] = ("batch", "group", "instance", "layer", "none")
GROUPS = 8  # group norm: Wu & He (2018) use 32 groups; our nets are narrower


def canonical_normalization(name: str | None) -> str:
    """The normalisation's canonical name; ``None`` means ``"none"``."""
    return check_name("normalization", "none" if name is None else name, NORMALIZATIONS)


def normalization_layer(
    normalization: str | None, *, channels: int, rank: int = 4, name: str | None = None
) -> keras.layers.Layer | None:
    """A fresh normalisation layer for ``channels`` features, or None for ``"none"``.

    As in the lecture's figure (Wu & He, 2018) on feature maps: batch norm averages over
    (N, H, W) per channel; layer norm over (H, W, C) per image (group norm with one group, with
    per-channel scale and shift); instance norm over (H, W) per image and channel; group norm
    over (H, W) and groups of channels (gcd(channels, 8) groups). On vectors (rank 2) layer norm
    is Keras' ``LayerNormalization``.
    """
    key = canonical_normalization(normalization)
    if key == "none":
        return None
    if key == "batch":
        return keras.layers.BatchNormalization(name=name)
    if key == "layer":
        if rank == 2:
            return keras.layers.LayerNormalization(name=name)
        return keras.layers.GroupNormalization(groups=1, name=name)
    if key == "instance":
        return keras.layers.GroupNormalization(groups=channels, name=name)
    return keras.layers.GroupNormalization(groups=math.gcd(int(channels), GROUPS), name=name)


# ---------------------------------------------------------------- regularisers (lecture: training part 2)
REGULARIZERS: tuple[str, ...] = ("elastic_net", "l1", "l1_l2", "l2", "none")


def get_regularizer(
    regularizer: str | None = "l2", weight_decay: float = 0.0, *, l1_ratio: float = 0.5
) -> keras.regularizers.Regularizer | None:
    """The weight penalty added to the loss: ``weight_decay * R(W)``, or None when it is zero.

    ``"l2"``: sum W^2 (weight decay); ``"l1"``: sum |W|; ``"elastic_net"`` (= ``"l1_l2"``):
    ``l1_ratio`` of the strength on L1 and the rest on L2, as in scikit-learn's ElasticNet.
    """
    key = check_name("regularizer", "none" if regularizer is None else regularizer, REGULARIZERS)
    strength = float(weight_decay)
    if strength < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}.")
    if not 0.0 <= float(l1_ratio) <= 1.0:
        raise ValueError(f"l1_ratio must be between 0 and 1, got {l1_ratio}.")
    if key == "none" or strength == 0.0:
        return None
    if key == "l2":
        return keras.regularizers.L2(strength)
    if key == "l1":
        return keras.regularizers.L1(strength)
    return keras.regularizers.L1L2(l1=strength * l1_ratio, l2=strength * (1.0 - l1_ratio))
