"""Whole networks for Fashion-MNIST, one registry, and tables to compare them.

``build(name, **options)`` makes any network of ``available()``; every builder takes the
lecture's knobs by name (``activation``, ``kernel_initializer``, ``normalization``, ``dropout``,
``weight_decay``, ``regularizer``, see :mod:`kit.layers`) and ends in a softmax computed in
float32, so ``model.predict`` gives probabilities also under mixed precision.
``describe(model)`` and ``count_flops(model)`` put architectures side by side (params, shapes,
multiply-adds). The blocks of :mod:`kit.blocks` are re-exported here
(``kit.models.inception_module``), and importing this module registers the custom layers, so
``keras.models.load_model(path, safe_mode=True)`` needs nothing but ``import kit.models``.
Parameters, multiply-adds and measured training speed of each network: docs/performance.md.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import pandas as pd

from kit import layers as kl
from kit.blocks import (  # re-exported: kit.models.inception_module etc.
    classifier_head,
    conv_bn_act,
    dense_block,
    inception_module,
    residual_block,
    separable_conv_block,
    softmax_output,
)
from kit.errors import check_options
from kit.layers import Maxout  # noqa: F401  (registers the custom layer for safe-mode loading)

__all__ = [
    "available",
    "build",
    "classifier_head",
    "cnn_mnist",
    "cnn_mnist_inception",
    "conv_bn_act",
    "count_flops",
    "dense_block",
    "describe",
    "inception_module",
    "inception_net",
    "lenet5",
    "mirror_average",
    "mlp",
    "params_and_flops",
    "resnet",
    "resnet_fast",
    "residual_block",
    "separable_conv_block",
    "single_view",
    "softmax_output",
    "transfer_model",
    "vgg_mini",
]

Shape = Sequence[int]
_REGISTRY: dict[str, Callable[..., keras.Model]] = {}


def _register(function: Callable[..., keras.Model]) -> Callable[..., keras.Model]:
    _REGISTRY[function.__name__] = function
    return function


def available() -> list[str]:
    """Names that :func:`build` accepts."""
    return sorted(_REGISTRY)


def build(name: str, *, input_shape: Shape = (28, 28, 1), num_classes: int = 10, **options: Any) -> keras.Model:
    """Build network ``name`` (one of :func:`available`) for ``input_shape`` images and ``num_classes``.

    ``options`` are the builder's keyword arguments (``kit.models.<name>``); an unknown model or
    option name raises ``ValueError`` listing the valid ones.
    """
    key = kl.check_name("model", name, tuple(_REGISTRY))
    builder = _REGISTRY[key]
    valid = [p for p in inspect.signature(builder).parameters if p not in ("input_shape", "num_classes")]
    check_options(f"model {key!r}", options, valid)
    return builder(input_shape=input_shape, num_classes=num_classes, **options)


# ---------------------------------------------------------------- helpers
def _check_shape(input_shape: Shape, num_classes: int) -> tuple[int, ...]:
    shape = tuple(int(d) for d in input_shape)
    if len(shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {tuple(input_shape)}.")
    if int(num_classes) < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}.")
    return shape


def _dropout_pair(dropout: float | Sequence[float]) -> tuple[float, float]:
    """``dropout`` as (after the conv part, in the classifier): a float sets both."""
    pair = (dropout, dropout) if np.isscalar(dropout) else tuple(dropout)
    if len(pair) != 2 or not all(0.0 <= float(p) < 1.0 for p in pair):
        raise ValueError(f"dropout must be a rate in [0, 1) or a pair of rates, got {dropout!r}.")
    return float(pair[0]), float(pair[1])


def _knobs(activation, normalization, kernel_initializer, weight_decay, regularizer, l1_ratio) -> dict:
    """Validate the lecture's knobs once (listing errors up front) and return block keyword arguments."""
    kl.canonical_activation(activation)
    kl.canonical_normalization(normalization)
    kl.get_initializer(kernel_initializer)
    return dict(
        activation=activation,
        normalization=normalization,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=kl.get_regularizer(regularizer, weight_decay, l1_ratio=l1_ratio),
    )


def _linear_norm_act(linear_cls, units: int, *, rank: int, knobs: dict, name: str, **kwargs) -> list:
    """The layers of ``linear -> [norm] -> activation`` as a list (usable in a Sequential).

    With no normalisation and a Keras built-in activation the activation goes inside the
    linear layer, exactly as in the Keras CNN-MNIST example (``Conv2D(32, 3, activation="relu")``).
    """
    activation, normalization = knobs["activation"], knobs["normalization"]
    inline = kl.inline_activation(activation)
    has_norm = kl.canonical_normalization(normalization) != "none"
    width = units * kl.maxout_pieces(activation)
    common = dict(
        kernel_initializer=kl.get_initializer(knobs["kernel_initializer"]),
        kernel_regularizer=knobs["kernel_regularizer"],
        name=name,
        **kwargs,
    )
    if inline and not has_norm:
        return [linear_cls(width, activation=inline, **common)]
    out = [linear_cls(width, use_bias=not has_norm, **common)]
    if has_norm:
        out.append(kl.normalization_layer(normalization, channels=width, rank=rank, name=f"{name}_bn"))
    out.append(kl.activation_layer(activation, rank=rank, name=f"{name}_act"))
    return out


# ---------------------------------------------------------------- the Keras CNN-MNIST example and its Inception variant
@_register
def cnn_mnist(
    input_shape: Shape = (28, 28, 1),
    num_classes: int = 10,
    *,
    style: str = "sequential",
    filters: tuple[int, int] = (32, 64),
    dense_units: int = 128,
    activation: str = "relu",
    kernel_initializer: str = "glorot_uniform",
    normalization: str = "none",
    dropout: float | tuple[float, float] = (0.25, 0.5),
    weight_decay: float = 0.0,
    regularizer: str = "l2",
    l1_ratio: float = 0.5,
) -> keras.Model:
    """The Keras CNN-MNIST example (Keras' examples/mnist_cnn.py, the lecture's first CNN).

    Conv2D(32, 3x3, relu) -> Conv2D(64, 3x3, relu) -> MaxPooling2D(2x2) -> Dropout(0.25) ->
    Flatten -> Dense(128, relu) -> Dropout(0.5) -> Dense(10, softmax): 1,199,882 parameters
    and 11,992,448 multiply-adds per 28x28 image. The defaults reproduce the example exactly
    (Keras' default Glorot-uniform init, no normalisation); ``style="sequential"`` builds a
    ``keras.Sequential``, ``style="functional"`` the same layers with the functional API
    (``keras.Model(inputs, outputs)``), so weights copy from one to the other.
    ``dropout``: one rate for both Dropout layers or the pair (after pooling, before the output).
    """
    shape = _check_shape(input_shape, num_classes)
    styles = ("functional", "sequential")
    style = kl.check_name("style", style, styles)
    rate_conv, rate_dense = _dropout_pair(dropout)
    knobs = _knobs(activation, normalization, kernel_initializer, weight_decay, regularizer, l1_ratio)

    stack: list[keras.layers.Layer] = []
    for i, width in enumerate(filters, start=1):
        stack += _linear_norm_act(keras.layers.Conv2D, width, rank=4, knobs=knobs, name=f"conv{i}", kernel_size=3)
    stack += [
        keras.layers.MaxPooling2D(pool_size=2, name="pool"),
        keras.layers.Dropout(rate_conv, name="dropout1"),
        keras.layers.Flatten(name="flatten"),
    ]
    stack += _linear_norm_act(keras.layers.Dense, dense_units, rank=2, knobs=knobs, name="dense")
    stack += [
        keras.layers.Dropout(rate_dense, name="dropout2"),
        keras.layers.Dense(
            num_classes,
            activation="softmax",
            dtype="float32",  # probabilities in float32 also under mixed precision
            kernel_initializer=kl.get_initializer(kernel_initializer),
            kernel_regularizer=knobs["kernel_regularizer"],
            name="predictions",
        ),
    ]
    if style == "sequential":
        return keras.Sequential([keras.Input(shape=shape, name="image"), *stack], name="cnn_mnist")
    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    for layer in stack:
        x = layer(x)
    return keras.Model(inputs, x, name="cnn_mnist")


@_register
def cnn_mnist_inception(
    input_shape: Shape = (28, 28, 1),
    num_classes: int = 10,
    *,
    inception_filters: tuple[int, int, int, int, int, int] = (16, 24, 32, 4, 8, 8),
    reduce: bool = True,
    filters: tuple[int, int] = (32, 64),
    dense_units: int = 128,
    activation: str = "relu",
    kernel_initializer: str = "glorot_uniform",
    normalization: str = "none",
    dropout: float | tuple[float, float] = (0.25, 0.5),
    weight_decay: float = 0.0,
    regularizer: str = "l2",
    l1_ratio: float = 0.5,
) -> keras.Model:
    """``cnn_mnist`` with an Inception module between the second conv and the pooling.

    Where: on the 24x24x64 maps of conv2, before MaxPooling2D. Why there: at full resolution,
    before pooling throws position away, the module lets the net choose per channel among
    1x1, 3x3 and 5x5 receptive fields (and a pooled view); everything else is the baseline, so
    a comparison with ``cnn_mnist`` isolates the module. Filters (1x1, 3x3 reduce, 3x3, 5x5 reduce,
    5x5, pool proj) default to GoogLeNet's inception(3a) divided by 4: 16 + 32 + 8 + 8 = 64
    output channels, the same as conv2, so the classifier head (and its 1.18M weights) is
    unchanged; the 1x1 reductions keep the module at ~6.4M multiply-adds per image (the
    lecture's 64-filter module here would cost ~90M, 7x the whole baseline, and quadruple
    the dense layer). Totals: 1,211,014 parameters, 18.4M multiply-adds per image (baseline
    1,199,882 and 12.0M); its measured training speed is in docs/performance.md.
    """
    shape = _check_shape(input_shape, num_classes)
    if len(inception_filters) != 6:
        raise ValueError(
            "inception_filters needs 6 numbers: 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj; "
            f"got {inception_filters!r}."
        )
    rate_conv, rate_dense = _dropout_pair(dropout)
    knobs = _knobs(activation, normalization, kernel_initializer, weight_decay, regularizer, l1_ratio)
    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    for i, width in enumerate(filters, start=1):
        for layer in _linear_norm_act(keras.layers.Conv2D, width, rank=4, knobs=knobs, name=f"conv{i}", kernel_size=3):
            x = layer(x)
    x = inception_module(x, *inception_filters, reduce=reduce, **knobs, name="inception")
    x = keras.layers.MaxPooling2D(pool_size=2, name="pool")(x)
    x = keras.layers.Dropout(rate_conv, name="dropout1")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for layer in _linear_norm_act(keras.layers.Dense, dense_units, rank=2, knobs=knobs, name="dense"):
        x = layer(x)
    x = keras.layers.Dropout(rate_dense, name="dropout2")(x)
    outputs = softmax_output(
        x, num_classes, kernel_initializer=kernel_initializer, kernel_regularizer=knobs["kernel_regularizer"]
    )
    return keras.Model(inputs, outputs, name="cnn_mnist_inception")


# ---------------------------------------------------------------- the lecture's architectures
@_register
def lenet5(
    input_shape: Shape = (28, 28, 1),
    num_classes: int = 10,
    *,
    activation: str = "tanh",
    kernel_initializer: str = "glorot_uniform",
    normalization: str = "none",
    pooling: str = "avg",
    dropout: float = 0.0,
    weight_decay: float = 0.0,
    regularizer: str = "l2",
    l1_ratio: float = 0.5,
) -> keras.Model:
    """LeNet-5 (LeCun et al., 1998) for 28x28: C1 conv 6@5x5 ("same", as on the padded 32x32
    digits) - S2 subsampling - C3 conv 16@5x5 - S4 - C5 120 - F6 84 - output.

    tanh and average pooling as in 1998 (``activation="relu"``, ``pooling="max"`` modernise it);
    61,706 parameters. ``dropout`` applies after C5 and F6.
    """
    shape = _check_shape(input_shape, num_classes)
    pools = {"avg": keras.layers.AveragePooling2D, "max": keras.layers.MaxPooling2D}
    pool = pools[kl.check_name("pooling", pooling, tuple(pools))]
    knobs = _knobs(activation, normalization, kernel_initializer, weight_decay, regularizer, l1_ratio)
    inputs = keras.Input(shape=shape, name="image")
    x = conv_bn_act(inputs, 6, 5, padding="same", **knobs, name="c1")
    x = pool(2, name="s2")(x)
    x = conv_bn_act(x, 16, 5, padding="valid", **knobs, name="c3")
    x = pool(2, name="s4")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = dense_block(x, 120, dropout=dropout, **knobs, name="c5")
    x = dense_block(x, 84, dropout=dropout, **knobs, name="f6")
    outputs = softmax_output(
        x, num_classes, kernel_initializer=kernel_initializer, kernel_regularizer=knobs["kernel_regularizer"]
    )
    return keras.Model(inputs, outputs, name="lenet5")


@_register
def vgg_mini(
    input_shape: Shape = (28, 28, 1),
    num_classes: int = 10,
    *,
    widths: Sequence[int] = (32, 64, 128),
    convs_per_stage: int = 2,
    dense_units: int = 256,
    dilation_rate: int = 1,
    separable: bool = False,
    activation: str = "relu",
    kernel_initializer: str = "he_normal",
    normalization: str = "batch",
    dropout: float | tuple[float, float] = (0.2, 0.5),
    weight_decay: float = 0.0,
    regularizer: str = "l2",
    l1_ratio: float = 0.5,
) -> keras.Model:
    """VGG in miniature (Simonyan & Zisserman, 2015): stages of 3x3 convs, each stage ended by 2x2 max-pool.

    Two stacked 3x3 convs see a 5x5 field with fewer weights and one more nonlinearity; widths
    double as the maps halve (28 -> 14 -> 7 -> 3). Conv-BN-ReLU, then Flatten -> FC
    ``dense_units`` -> softmax as VGG's classifier. ``dropout`` = (after each stage, before the
    output). ``dilation_rate`` > 1 makes the last stage's convs dilated. ``separable=True`` makes
    every conv but the first depthwise-separable (MobileNet keeps its first conv plain: a depthwise
    filter over one grey channel is just a 3x3 conv).
    """
    shape = _check_shape(input_shape, num_classes)
    rate_conv, rate_dense = _dropout_pair(dropout)
    knobs = _knobs(activation, normalization, kernel_initializer, weight_decay, regularizer, l1_ratio)
    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    for stage, width in enumerate(widths, start=1):
        dilation = dilation_rate if stage == len(widths) else 1
        for conv in range(1, convs_per_stage + 1):
            block = separable_conv_block if separable and (stage, conv) != (1, 1) else conv_bn_act
            x = block(x, width, 3, dilation_rate=dilation, **knobs, name=f"block{stage}_conv{conv}")
        x = keras.layers.MaxPooling2D(2, name=f"block{stage}_pool")(x)
        if rate_conv:
            x = keras.layers.Dropout(rate_conv, name=f"block{stage}_dropout")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    if dense_units:
        x = dense_block(x, dense_units, dropout=rate_dense, **knobs, name="fc1")
    outputs = softmax_output(
        x, num_classes, kernel_initializer=kernel_initializer, kernel_regularizer=knobs["kernel_regularizer"]
    )
    return keras.Model(inputs, outputs, name="vgg_mini")


# GoogLeNet's inception(3a), (3b), (4a) filters: 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj
_GOOGLENET = {
    "inception3a": (64, 96, 128, 16, 32, 32),
    "inception3b": (128, 128, 192, 32, 96, 64),
    "inception4a": (192, 96, 208, 16, 48, 64),
}


@_register
def inception_net(
    input_shape: Shape = (28, 28, 1),
    num_classes: int = 10,
    *,
    width: float = 0.5,
    activation: str = "relu",
    kernel_initializer: str = "he_normal",
    normalization: str = "batch",
    dropout: float = 0.2,
    weight_decay: float = 0.0,
    regularizer: str = "l2",
    l1_ratio: float = 0.5,
) -> keras.Model:
    """A small GoogLeNet (Szegedy et al., 2015) for 28x28 images.

    Stem conv3x3 @28x28 -> max-pool -> conv3x3 @14x14 -> inception 3a, 3b -> max-pool ->
    inception 4a @7x7 -> global average pooling -> dropout -> softmax: no FC layers, as in
    GoogLeNet. Module filters are GoogLeNet's times ``width`` (0.5: 128, 240, 256 channels).
    Batch norm after every conv (Inception v2) replaces the auxiliary classifiers, which a
    net this shallow does not need.
    """
    shape = _check_shape(input_shape, num_classes)
    knobs = _knobs(activation, normalization, kernel_initializer, weight_decay, regularizer, l1_ratio)

    def scaled(n: int) -> int:
        return max(1, int(round(n * width)))

    inputs = keras.Input(shape=shape, name="image")
    x = conv_bn_act(inputs, scaled(64), 3, **knobs, name="stem_conv1")
    x = keras.layers.MaxPooling2D(2, name="stem_pool1")(x)
    x = conv_bn_act(x, scaled(128), 3, **knobs, name="stem_conv2")
    for block in ("inception3a", "inception3b"):
        x = inception_module(x, *map(scaled, _GOOGLENET[block]), **knobs, name=block)
    x = keras.layers.MaxPooling2D(2, name="pool3")(x)
    x = inception_module(x, *map(scaled, _GOOGLENET["inception4a"]), **knobs, name="inception4a")
    outputs = classifier_head(
        x,
        num_classes,
        pooling="avg",
        dropout=dropout,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=knobs["kernel_regularizer"],
    )
    return keras.Model(inputs, outputs, name="inception_net")


@_register
def resnet(
    input_shape: Shape = (28, 28, 1),
    num_classes: int = 10,
    *,
    depth: int = 20,
    width: int = 16,
    preactivation: bool = False,
    bottleneck: bool = False,
    activation: str = "relu",
    kernel_initializer: str = "he_normal",
    normalization: str = "batch",
    dropout: float = 0.0,
    weight_decay: float = 0.0,
    regularizer: str = "l2",
    l1_ratio: float = 0.5,
) -> keras.Model:
    """ResNet for small images (He et al., 2016, the CIFAR nets): depth = 6n + 2 (9n + 2 with bottlenecks).

    Stem conv3x3 (``width`` filters) -> three stages of n residual blocks with ``width``,
    2 x ``width``, 4 x ``width`` filters on 28x28, 14x14, 7x7 maps (the first block of stages 2
    and 3 has stride 2 and a projection shortcut) -> global average pooling -> softmax.
    ``depth=20, width=16`` is ResNet-20 (272k parameters); ``preactivation=True`` is ResNet v2.
    ``dropout`` applies before the classifier.
    """
    shape = _check_shape(input_shape, num_classes)
    per_block = 9 if bottleneck else 6
    if depth < per_block + 2 or (depth - 2) % per_block:
        examples = ", ".join(str(per_block * n + 2) for n in (1, 2, 3, 5, 9))
        raise ValueError(
            f"resnet depth must be {per_block}n + 2{' with bottleneck' if bottleneck else ''} "
            f"(e.g. {examples}), got {depth}."
        )
    blocks_per_stage = (depth - 2) // per_block
    knobs = _knobs(activation, normalization, kernel_initializer, weight_decay, regularizer, l1_ratio)
    inputs = keras.Input(shape=shape, name="image")
    if preactivation:  # ResNet v2: the blocks normalise their own input
        x = keras.layers.Conv2D(
            width,
            3,
            padding="same",
            kernel_initializer=kl.get_initializer(kernel_initializer),
            kernel_regularizer=knobs["kernel_regularizer"],
            name="stem_conv",
        )(inputs)
    else:
        x = conv_bn_act(inputs, width, 3, **knobs, name="stem")
    for stage in range(3):
        for block in range(blocks_per_stage):
            x = residual_block(
                x,
                width * 2**stage,
                stride=2 if stage and not block else 1,
                preactivation=preactivation,
                bottleneck=bottleneck,
                **knobs,
                name=f"stage{stage + 1}block{block + 1}",
            )
    if preactivation:  # v2 ends with the BN-act its last block did not apply
        norm = kl.normalization_layer(normalization, channels=x.shape[-1], name="post_bn")
        if norm is not None:
            x = norm(x)
        x = kl.activation_layer(activation, name="post_act")(x)
    outputs = classifier_head(
        x,
        num_classes,
        pooling="avg",
        dropout=dropout,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=knobs["kernel_regularizer"],
    )
    return keras.Model(inputs, outputs, name=f"resnet{depth}")


@_register
def resnet_fast(
    input_shape: Shape = (28, 28, 1),
    num_classes: int = 10,
    *,
    width: int = 32,
    blocks: Sequence[int] = (1, 1, 1),
    pooling: str = "avg",
    activation: str = "relu",
    kernel_initializer: str = "he_normal",
    normalization: str = "batch",
    dropout: float = 0.0,
    weight_decay: float = 0.0,
    regularizer: str = "l2",
    l1_ratio: float = 0.5,
) -> keras.Model:
    """A small ResNet built for speed on a CPU, after the fast CIFAR-10 nets (Page's ResNet-9, airbench).

    Three stages of conv3x3-BN-ReLU -> max-pool 2x2 -> ``blocks[i]`` residual blocks, with
    ``width``, 2 x ``width``, 4 x ``width`` filters: the maps are halved *before* the residual
    blocks run (28 -> 14 -> 7 -> 3), so most of the depth works on small maps and an image costs
    a fraction of a ResNet-20's multiply-adds, and the first conv sees the 1-channel image
    directly (no stem). Global average pooling -> softmax (ResNet-9 pools by max and scales the
    logits by 1/8; unscaled, ``pooling="max"`` made the first epochs of Nesterov SGD at LR 0.1
    spike). BatchNorm everywhere (lecture "Training networks, part 1"). ``width=32``: ~0.5M
    parameters; 64: ~1.9M.
    """
    shape = _check_shape(input_shape, num_classes)
    blocks = tuple(int(b) for b in blocks)
    if len(blocks) != 3 or min(blocks) < 0:
        raise ValueError(f"blocks needs 3 numbers >= 0 (residual blocks per stage); got {blocks!r}.")
    if int(width) < 1:
        raise ValueError(f"width must be >= 1; got {width!r}.")
    knobs = _knobs(activation, normalization, kernel_initializer, weight_decay, regularizer, l1_ratio)
    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    for stage, count in enumerate(blocks, start=1):
        filters = int(width) * 2 ** (stage - 1)
        x = conv_bn_act(x, filters, 3, **knobs, name=f"stage{stage}_conv")
        x = keras.layers.MaxPooling2D(2, name=f"stage{stage}_pool")(x)
        for block in range(1, count + 1):
            x = residual_block(x, filters, **knobs, name=f"stage{stage}block{block}")
    outputs = classifier_head(
        x,
        num_classes,
        pooling=pooling,
        dropout=dropout,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=knobs["kernel_regularizer"],
    )
    return keras.Model(inputs, outputs, name="resnet_fast")


@_register
def mlp(
    input_shape: Shape = (28, 28, 1),
    num_classes: int = 10,
    *,
    hidden: Sequence[int] = (100,),
    activation: str = "relu",
    kernel_initializer: str = "he_normal",
    normalization: str = "none",
    dropout: float = 0.0,
    weight_decay: float = 0.0,
    regularizer: str = "l2",
    l1_ratio: float = 0.5,
) -> keras.Model:
    """A fully connected net, the lectures' first networks: Flatten -> FC ``hidden[i]`` ... -> softmax.

    ``hidden=(100,)`` is the recap's 2-layer net (3072 -> 100 -> 10, here 784 -> 100 -> 10);
    ``hidden=(4096,) * 6`` with tanh is the weight-initialisation demo. Hidden layer ``i`` is the
    block ``fc<i>`` (``fc<i>_dense``, ``fc<i>_act``: its activations are that layer's output).
    """
    shape = _check_shape(input_shape, num_classes)
    if not hidden or any(int(units) < 1 for units in hidden):
        raise ValueError(f"hidden must list at least one positive layer width, got {hidden!r}.")
    knobs = _knobs(activation, normalization, kernel_initializer, weight_decay, regularizer, l1_ratio)
    inputs = keras.Input(shape=shape, name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    for i, units in enumerate(hidden, start=1):
        x = dense_block(x, int(units), dropout=dropout, **knobs, name=f"fc{i}")
    outputs = softmax_output(
        x, num_classes, kernel_initializer=kernel_initializer, kernel_regularizer=knobs["kernel_regularizer"]
    )
    return keras.Model(inputs, outputs, name="mlp")


def transfer_model(
    pretrained: keras.Model, num_classes: int, *, feature_layer: str | None = None, freeze: bool = True
) -> keras.Model:
    """``pretrained`` up to ``feature_layer`` (default: the layer before its classifier) + a new softmax head.

    Transfer learning as the lecture puts it: keep the features learnt on a big dataset, freeze
    them (``freeze=True``: only the new head ``transfer_predictions`` trains) and retrain the top;
    then unfreeze (``layer.trainable = True``) and fine-tune with ~1/10 of the learning rate.
    The new model shares the pretrained layers (and their weights) with ``pretrained``.
    """
    names = [layer.name for layer in pretrained.layers]
    feature_layer = feature_layer or names[-2]
    if feature_layer not in names:
        raise ValueError(f"Unknown feature_layer {feature_layer!r}; valid names: {', '.join(names)}.")
    for layer in pretrained.layers:
        layer.trainable = not freeze
    features = pretrained.get_layer(feature_layer).output
    outputs = softmax_output(features, num_classes, name="transfer_predictions")
    return keras.Model(pretrained.inputs, outputs, name=f"{pretrained.name}_transfer")


# ---------------------------------------------------------------- test-time augmentation in the file
MIRROR_AVERAGE = "mirror_average"


def mirror_average(model: keras.Model, name: str | None = None) -> keras.Model:
    """``model``'s probabilities averaged over the image and its mirror: test-time augmentation inside a model.

    Lecture "Training networks, part 2" (augmentation at test time). A left-right flip keeps a
    Fashion-MNIST class, so a net trained with flips scores a little higher on the mean of the two
    views (docs/performance.md), and a file saved from this model carries that gain to whoever
    loads it, the autograder included. Both views go through one copy of ``model`` (a clone with
    its weights but not its optimizer: a nested model's training settings would be loaded with
    the file, and a kit learning-rate schedule would then need the kit). The flip is
    ``keras.ops.flip`` in the graph (no Lambda), so the file loads in safe mode. Images are
    (N, H, W, C); :func:`single_view` gives the network back.
    """
    if not isinstance(model, keras.Model) or not model.inputs:
        raise ValueError("mirror_average needs a built Keras model (one with inputs).")
    # a copy from the architecture alone: keras.models.clone_model would compile it like the original
    network = type(model).from_config(model.get_config())
    network.set_weights(model.get_weights())
    inputs = keras.Input(shape=tuple(model.input_shape[1:]), name="image")
    mirrored = keras.ops.flip(inputs, axis=2)  # width axis of (N, H, W, C)
    outputs = keras.layers.Average(name=MIRROR_AVERAGE)([network(inputs), network(mirrored)])
    return keras.Model(inputs, outputs, name=name or f"{model.name}_{MIRROR_AVERAGE}")


def single_view(model: keras.Model) -> keras.Model:
    """The network inside a :func:`mirror_average` model (one loaded from a file, too); any other model as it is."""
    layers = getattr(model, "layers", None) or []
    inner = [layer for layer in layers if isinstance(layer, keras.Model)]
    averaged = bool(layers) and isinstance(layers[-1], keras.layers.Average) and layers[-1].name == MIRROR_AVERAGE
    return inner[0] if averaged and len(inner) == 1 else model


# ---------------------------------------------------------------- comparing architectures
def _flat_layers(model: keras.Model):
    """The model's layers, nested models opened up, input layers left out."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _flat_layers(layer)
        elif not isinstance(layer, keras.layers.InputLayer):
            yield layer


def _io_shapes(layer) -> list[tuple[tuple, tuple]]:
    """(input shape, output shape) of every call of ``layer`` in the graph (shared layers count each call)."""
    try:
        return [(tuple(layer.input.shape), tuple(layer.output.shape))]
    except (AttributeError, ValueError):  # called more than once: read each node (Keras internals)
        pairs = []
        for node in getattr(layer, "_inbound_nodes", []):
            if node.input_tensors and node.output_tensors:
                pairs.append((tuple(node.input_tensors[0].shape), tuple(node.output_tensors[0].shape)))
        return pairs


def _layer_flops(layer) -> int:
    """Multiply-adds per image of one conv or dense layer (0 for other layers); bias adds not counted.

    Written by hand: Keras has no FLOP counter that works on every backend.
    """
    total = 0
    for in_shape, out_shape in _io_shapes(layer):
        if isinstance(in_shape[0], (list, tuple)):  # layers with several inputs carry no MACs here
            continue
        c_in = in_shape[-1]
        if isinstance(layer, keras.layers.Dense):
            positions = math.prod(d for d in in_shape[1:-1] if d)
            total += positions * c_in * layer.units
        elif isinstance(layer, (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)):
            out_positions = math.prod(out_shape[1:-1])
            kernel = math.prod(layer.kernel_size)
            depthwise = out_positions * kernel * c_in * layer.depth_multiplier
            total += depthwise + out_positions * c_in * layer.depth_multiplier * layer.filters
        elif isinstance(layer, (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)):
            total += math.prod(out_shape[1:-1]) * math.prod(layer.kernel_size) * out_shape[-1]
        elif isinstance(
            layer, (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)
        ):
            total += math.prod(in_shape[1:-1]) * math.prod(layer.kernel_size) * c_in * layer.filters
        elif isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)):
            groups = getattr(layer, "groups", 1) or 1
            total += math.prod(out_shape[1:-1]) * math.prod(layer.kernel_size) * (c_in // groups) * layer.filters
    return int(total)


def count_flops(model: keras.Model) -> int:
    """Multiply-adds per image of the model's conv and dense layers (the usual "FLOPs" of papers).

    A :func:`mirror_average` model runs its network twice per image and counts twice.
    """
    network = single_view(model)
    views = 1 if network is model else 2
    return views * sum(_layer_flops(layer) for layer in _flat_layers(network))


def params_and_flops(model: keras.Model) -> tuple[int, int]:
    """(parameters, multiply-adds per image): what a model costs, as metrics.json and reports give it."""
    return int(model.count_params()), int(count_flops(model))


def describe(model: keras.Model, *, by: str = "layer") -> pd.DataFrame:
    """A table of the architecture: per layer (or per block) its type, output shape, parameters, FLOPs.

    ``by="block"`` groups the layers whose names share the part before the first underscore
    (the kit's blocks name their layers ``<block>_<part>``). Totals are in ``df.attrs``:
    ``total_params``, ``trainable_params`` and ``total_flops`` (multiply-adds per image).
    """
    by = kl.check_name("grouping", by, ("block", "layer"))
    rows = []
    for layer in _flat_layers(model):
        shapes = _io_shapes(layer)
        out_shape = shapes[-1][1] if shapes else None
        if out_shape and isinstance(out_shape[0], (list, tuple)):
            out_shape = out_shape[0]
        rows.append(
            {
                "layer": layer.name,
                "block": layer.name.split("_", 1)[0],
                "type": type(layer).__name__,
                "output_shape": tuple(out_shape[1:]) if out_shape else None,
                "params": int(layer.count_params()),
                "flops": _layer_flops(layer),
            }
        )
    table = pd.DataFrame(rows, columns=["layer", "block", "type", "output_shape", "params", "flops"])
    if by == "block":
        table = (
            table.groupby("block", sort=False)
            .agg(
                layers=("layer", "size"),
                type=("type", lambda types: types.iloc[0] if len(types) == 1 else "block"),
                output_shape=("output_shape", "last"),
                params=("params", "sum"),
                flops=("flops", "sum"),
            )
            .reset_index()
        )
    table.attrs["model"] = model.name
    table.attrs["total_params"] = int(model.count_params())
    table.attrs["trainable_params"] = int(sum(math.prod(w.shape) for w in model.trainable_weights))
    table.attrs["total_flops"] = int(table["flops"].sum())
    return table
