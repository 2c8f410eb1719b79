"""Building blocks in Keras-applications style: ``block(x, filters, ..., name=None) -> tensor``.

Each block is a plain function on a functional-API tensor; every layer it makes is named
``<name>_<part>`` so that ``model.summary()`` reads like the lecture's diagrams and
``kit.models.describe(model, by="block")`` can group layers back into blocks (block names
therefore carry no underscore of their own: ``inception3a``, ``res2b``, ``stem``).

The knobs (``activation``, ``normalization``, ``kernel_initializer``) take the names of
:mod:`kit.layers`; ``kernel_regularizer`` is a Keras regularizer (see ``kit.layers.get_regularizer``).
Feature maps are channels-last.
"""

from __future__ import annotations

import keras

from kit.errors import check_name
from kit.layers import (
    activation_layer,
    canonical_activation,
    canonical_normalization,
    get_initializer,
    maxout_pieces,
    normalization_layer,
)

__all__ = [
    "classifier_head",
    "conv_bn_act",
    "dense_block",
    "inception_module",
    "residual_block",
    "separable_conv_block",
    "softmax_output",
]

Initializer = str | keras.initializers.Initializer


def _block_name(name: str | None, prefix: str) -> str:
    return name if name else f"{prefix}{keras.backend.get_uid(prefix)}"


def _norm_act(x, *, normalization, activation, name: str):
    """Normalisation (if any) then activation (if any) on ``x``; used after a linear layer."""
    rank = len(x.shape)
    norm = normalization_layer(normalization, channels=x.shape[-1], rank=rank, name=f"{name}_bn")
    if norm is not None:
        x = norm(x)
    if activation is not None:
        x = activation_layer(activation, rank=rank, name=f"{name}_act")(x)
    return x


def conv_bn_act(
    x,
    filters: int,
    kernel_size: int | tuple[int, int] = 3,
    *,
    strides: int = 1,
    padding: str = "same",
    dilation_rate: int = 1,
    activation: str | None = "relu",
    normalization: str | None = "batch",
    kernel_initializer: Initializer = "he_normal",
    kernel_regularizer=None,
    name: str | None = None,
):
    """Conv2D -> normalisation -> activation, the lecture's order (BN after conv, before the nonlinearity).

    ``dilation_rate > 1`` gives a dilated (atrous) convolution: a k x k kernel with holes sees a
    (k-1)*d+1 field without extra weights. The conv has no bias when a normalisation follows
    (its shift beta replaces it). ``activation=None`` leaves the output linear. With
    ``activation="maxout"`` the conv computes 2 x ``filters`` channels and Maxout keeps the
    larger of each pair, so the block still outputs ``filters`` channels.
    """
    name = _block_name(name, "conv")
    pieces = 1 if activation is None else maxout_pieces(activation)
    has_norm = canonical_normalization(normalization) != "none"
    x = keras.layers.Conv2D(
        filters * pieces,
        kernel_size,
        strides=strides,
        padding=padding,
        dilation_rate=dilation_rate,
        use_bias=not has_norm,
        kernel_initializer=get_initializer(kernel_initializer),
        kernel_regularizer=kernel_regularizer,
        name=f"{name}_conv",
    )(x)
    return _norm_act(x, normalization=normalization, activation=activation, name=name)


def separable_conv_block(
    x,
    filters: int,
    kernel_size: int | tuple[int, int] = 3,
    *,
    strides: int = 1,
    padding: str = "same",
    dilation_rate: int = 1,
    depth_multiplier: int = 1,
    activation: str | None = "relu",
    normalization: str | None = "batch",
    kernel_initializer: Initializer = "he_normal",
    kernel_regularizer=None,
    name: str | None = None,
):
    """Depthwise separable conv (Xception/MobileNet) -> normalisation -> activation.

    A k x k depthwise filter per input channel, then a 1x1 pointwise conv mixing channels:
    C*k*k + C*filters weights instead of C*k*k*filters (the lecture's example: 86 vs 370).
    """
    name = _block_name(name, "sepconv")
    pieces = 1 if activation is None else maxout_pieces(activation)
    has_norm = canonical_normalization(normalization) != "none"
    x = keras.layers.SeparableConv2D(
        filters * pieces,
        kernel_size,
        strides=strides,
        padding=padding,
        dilation_rate=dilation_rate,
        depth_multiplier=depth_multiplier,
        use_bias=not has_norm,
        depthwise_initializer=get_initializer(kernel_initializer),
        pointwise_initializer=get_initializer(kernel_initializer),
        depthwise_regularizer=kernel_regularizer,
        pointwise_regularizer=kernel_regularizer,
        name=f"{name}_sepconv",
    )(x)
    return _norm_act(x, normalization=normalization, activation=activation, name=name)


def dense_block(
    x,
    units: int,
    *,
    activation: str | None = "relu",
    normalization: str | None = "none",
    dropout: float = 0.0,
    kernel_initializer: Initializer = "he_normal",
    kernel_regularizer=None,
    name: str | None = None,
):
    """Fully connected layer -> normalisation -> activation -> dropout (inverted dropout, p = ``dropout``)."""
    name = _block_name(name, "fc")
    pieces = 1 if activation is None else maxout_pieces(activation)
    has_norm = canonical_normalization(normalization) != "none"
    x = keras.layers.Dense(
        units * pieces,
        use_bias=not has_norm,
        kernel_initializer=get_initializer(kernel_initializer),
        kernel_regularizer=kernel_regularizer,
        name=f"{name}_dense",
    )(x)
    x = _norm_act(x, normalization=normalization, activation=activation, name=name)
    if dropout:
        x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return x


def softmax_output(
    x,
    num_classes: int,
    *,
    kernel_initializer: Initializer = "glorot_uniform",
    kernel_regularizer=None,
    name: str = "predictions",
):
    """The classifier: Dense(num_classes, softmax) computed in float32 (also under mixed precision).

    So ``model.predict`` always gives float32 probabilities that sum to 1.
    """
    return keras.layers.Dense(
        num_classes,
        activation="softmax",
        dtype="float32",
        kernel_initializer=get_initializer(kernel_initializer),
        kernel_regularizer=kernel_regularizer,
        name=name,
    )(x)


def classifier_head(
    x,
    num_classes: int,
    *,
    pooling: str = "avg",
    dropout: float = 0.0,
    kernel_initializer: Initializer = "glorot_uniform",
    kernel_regularizer=None,
    name: str = "head",
):
    """Global average / global max pooling (or flatten) -> dropout -> softmax classifier.

    Global pooling (Network in Network, GoogLeNet, ResNet) replaces the big FC layers: one
    number per channel, no weights, any input size.
    """
    choices = {
        "avg": keras.layers.GlobalAveragePooling2D,
        "max": keras.layers.GlobalMaxPooling2D,
        "flatten": keras.layers.Flatten,
    }
    check_name("pooling", pooling, sorted(choices))
    x = choices[pooling](name=f"{name}_{pooling}pool" if pooling != "flatten" else f"{name}_flatten")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return softmax_output(
        x,
        num_classes,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=kernel_regularizer,
        name=f"{name}_predictions",
    )


def inception_module(
    x,
    filters_1x1: int = 64,
    filters_3x3_reduce: int = 64,
    filters_3x3: int = 64,
    filters_5x5_reduce: int = 64,
    filters_5x5: int = 64,
    filters_pool_proj: int = 64,
    reduce: bool = True,
    *,
    activation: str = "relu",
    normalization: str | None = "none",
    kernel_initializer: Initializer = "he_normal",
    kernel_regularizer=None,
    name: str | None = None,
):
    """GoogLeNet's Inception module (Szegedy et al., 2015): four parallel branches, concatenated.

    Branches on the same input, all "same" padding so the maps line up: 1x1 conv; 1x1 -> 3x3;
    1x1 -> 5x5; 3x3 max-pool (stride 1) -> 1x1. The net picks its receptive field per channel;
    the 1x1 "reductions" shrink the channels first so the 3x3/5x5 convs stay cheap. Output
    channels = filters_1x1 + filters_3x3 + filters_5x5 + filters_pool_proj (256 with the
    lecture's defaults). ``reduce=False`` is the naive module: no 1x1 reductions, and the pool
    branch passes its input channels through (output = 1x1 + 3x3 + 5x5 filters + input channels).
    ``normalization="batch"`` adds BN after every conv (Inception v2).
    """
    name = _block_name(name, "inception")
    knobs = dict(
        activation=activation,
        normalization=normalization,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=kernel_regularizer,
    )
    branch_1 = conv_bn_act(x, filters_1x1, 1, **knobs, name=f"{name}_1x1")
    branch_3, branch_5 = x, x
    if reduce:
        branch_3 = conv_bn_act(x, filters_3x3_reduce, 1, **knobs, name=f"{name}_3x3_reduce")
        branch_5 = conv_bn_act(x, filters_5x5_reduce, 1, **knobs, name=f"{name}_5x5_reduce")
    branch_3 = conv_bn_act(branch_3, filters_3x3, 3, **knobs, name=f"{name}_3x3")
    branch_5 = conv_bn_act(branch_5, filters_5x5, 5, **knobs, name=f"{name}_5x5")
    branch_pool = keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    if reduce:
        branch_pool = conv_bn_act(branch_pool, filters_pool_proj, 1, **knobs, name=f"{name}_pool_proj")
    return keras.layers.Concatenate(axis=-1, name=f"{name}_concat")([branch_1, branch_3, branch_5, branch_pool])


def residual_block(
    x,
    filters: int,
    stride: int = 1,
    preactivation: bool = False,
    bottleneck: bool = False,
    *,
    expansion: int = 4,
    activation: str = "relu",
    normalization: str | None = "batch",
    kernel_initializer: Initializer = "he_normal",
    kernel_regularizer=None,
    name: str | None = None,
):
    """ResNet's residual block (He et al., 2016): ``act(F(x) + shortcut(x))``.

    F = conv3x3-BN-act-conv3x3-BN (basic) or 1x1-3x3-1x1 with ``expansion`` x ``filters`` outputs
    (``bottleneck=True``; the stride sits on the 3x3). The shortcut is the identity when the
    shapes match and a 1x1 projection conv (+BN) with the block's stride when they do not.
    ``preactivation=True`` is ResNet v2 ("Identity mappings", He et al., 2016): BN-act-conv
    ordering, nothing after the addition, so the identity path is clean from block to block.

    Maxout needs a linear layer in front of it, so with ``activation="maxout"`` the last conv of
    F is widened and followed by Maxout before the addition (max(W1 h, W2 h) + x is a maxout of
    the two linear pieces W_i h + x); pre-activation blocks cannot use maxout.
    """
    name = _block_name(name, "res")
    maxout = canonical_activation(activation) == "maxout"
    if preactivation and maxout:
        raise ValueError("Maxout needs a linear layer before it; use preactivation=False with activation='maxout'.")
    out_channels = filters * expansion if bottleneck else filters
    projection = stride != 1 or x.shape[-1] != out_channels
    knobs = dict(
        normalization=normalization, kernel_initializer=kernel_initializer, kernel_regularizer=kernel_regularizer
    )
    has_norm = canonical_normalization(normalization) != "none"

    if preactivation:
        pre = _norm_act(x, normalization=normalization, activation=activation, name=f"{name}_preact")
        shortcut = x
        if projection:
            shortcut = _conv(
                pre, out_channels, 1, stride, True, kernel_initializer, kernel_regularizer, f"{name}_shortcut_conv"
            )
        plan = (
            [(filters, 1, 1), (filters, 3, stride), (out_channels, 1, 1)]
            if bottleneck
            else [(filters, 3, stride), (out_channels, 3, 1)]
        )
        h = pre
        for i, (width, kernel, step) in enumerate(plan, start=1):
            if i > 1:
                h = _norm_act(h, normalization=normalization, activation=activation, name=f"{name}_{i}")
            last = i == len(plan)
            h = _conv(
                h, width, kernel, step, last or not has_norm, kernel_initializer, kernel_regularizer, f"{name}_{i}_conv"
            )
        return keras.layers.Add(name=f"{name}_add")([shortcut, h])

    shortcut = x
    if projection:
        shortcut = conv_bn_act(x, out_channels, 1, strides=stride, activation=None, **knobs, name=f"{name}_shortcut")
    if bottleneck:
        h = conv_bn_act(x, filters, 1, activation=activation, **knobs, name=f"{name}_1")
        h = conv_bn_act(h, filters, 3, strides=stride, activation=activation, **knobs, name=f"{name}_2")
        last = 3
    else:
        h = conv_bn_act(x, filters, 3, strides=stride, activation=activation, **knobs, name=f"{name}_1")
        last = 2
    h = conv_bn_act(
        h, out_channels, 1 if bottleneck else 3, activation="maxout" if maxout else None, **knobs, name=f"{name}_{last}"
    )
    out = keras.layers.Add(name=f"{name}_add")([shortcut, h])
    if not maxout:
        out = activation_layer(activation, rank=4, name=f"{name}_out")(out)
    return out


def _conv(x, filters, kernel_size, strides, use_bias, kernel_initializer, kernel_regularizer, name):
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=use_bias,
        kernel_initializer=get_initializer(kernel_initializer),
        kernel_regularizer=kernel_regularizer,
        name=name,
    )(x)
