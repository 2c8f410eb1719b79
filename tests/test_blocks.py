"""kit.blocks: parameter counts by hand, Inception and residual structure read from the graph."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from kit import blocks
from kit.models import count_flops


def _model(block, input_shape, **kwargs):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, block(inputs, **kwargs))


def _producers(model):
    """Map each tensor of the graph to the layer that made it (public API: layer.output)."""
    return {id(layer.output): layer for layer in model.layers}


def _path_to_input(model, tensor):
    """The layers from the model input to ``tensor``, following single-input layers backwards."""
    producers, path = _producers(model), []
    layer = producers[id(tensor)]
    while not isinstance(layer, keras.layers.InputLayer):
        path.append(layer)
        layer = producers[id(layer.input)]
    return path[::-1]


# ---------------------------------------------------------------- the lecture's depthwise-separable example
@pytest.mark.backend_agnostic
def test_lecture_depthwise_separable_example_370_vs_86():
    plain = _model(
        blocks.conv_bn_act,
        (32, 32, 4),
        filters=10,
        kernel_size=3,
        padding="valid",
        activation=None,
        normalization="none",
        name="plain",
    )
    separable = _model(
        blocks.separable_conv_block,
        (32, 32, 4),
        filters=10,
        kernel_size=3,
        padding="valid",
        activation=None,
        normalization="none",
        name="separable",
    )
    assert plain.count_params() == (4 * 3 * 3) * 10 + 10 == 370
    assert separable.count_params() == (4 * 3 * 3) * 1 + (4 * 1 * 1) * 10 + 10 == 86
    assert plain.output.shape == separable.output.shape == (None, 30, 30, 10)
    assert count_flops(plain) == 30 * 30 * (3 * 3 * 4) * 10
    assert count_flops(separable) == 30 * 30 * 3 * 3 * 4 + 30 * 30 * 4 * 10


def test_conv_bn_act_counts_layers_and_parameters():
    model = _model(blocks.conv_bn_act, (28, 28, 3), filters=8, kernel_size=3, name="c1")
    names = [layer.name for layer in model.layers[1:]]
    assert names == ["c1_conv", "c1_bn", "c1_act"]
    conv = model.get_layer("c1_conv")
    assert conv.use_bias is False  # BN's beta replaces the bias
    assert model.count_params() == 3 * 3 * 3 * 8 + 4 * 8  # kernel + BN gamma, beta, mean, variance
    assert isinstance(conv.kernel_initializer, keras.initializers.HeNormal)


def test_dilated_convolution_widens_the_field_without_weights():
    plain = _model(blocks.conv_bn_act, (28, 28, 1), filters=4, padding="valid", normalization="none")
    dilated = _model(blocks.conv_bn_act, (28, 28, 1), filters=4, padding="valid", dilation_rate=2, normalization="none")
    assert plain.output.shape == (None, 26, 26, 4)
    assert dilated.output.shape == (None, 24, 24, 4)  # 3x3 with holes sees 5x5
    assert plain.count_params() == dilated.count_params() == 9 * 4 + 4


def test_maxout_doubles_the_linear_layer_and_keeps_the_width():
    model = _model(blocks.conv_bn_act, (10, 10, 3), filters=6, activation="maxout", normalization="none", name="m")
    assert model.get_layer("m_conv").filters == 12
    assert model.output.shape == (None, 10, 10, 6)
    assert model.count_params() == 2 * (3 * 3 * 3 * 6 + 6)  # the lecture: maxout doubles the weights


def test_dense_block_and_heads():
    inputs = keras.Input((7, 7, 16))
    for pooling, layer_type in [
        ("avg", keras.layers.GlobalAveragePooling2D),
        ("max", keras.layers.GlobalMaxPooling2D),
        ("flatten", keras.layers.Flatten),
    ]:
        outputs = blocks.classifier_head(inputs, 10, pooling=pooling, dropout=0.3, name=f"head{pooling}")
        model = keras.Model(inputs, outputs)
        assert isinstance(model.layers[1], layer_type)
        assert all(layer.name.startswith(f"head{pooling}_") for layer in model.layers[1:])
        assert model.output.dtype == "float32"
    with pytest.raises(ValueError, match="valid names: avg, flatten, max"):
        blocks.classifier_head(inputs, 10, pooling="mean")
    fc = _model(blocks.dense_block, (20,), units=5, normalization="batch", dropout=0.5, name="fc")
    assert [layer.name for layer in fc.layers[1:]] == ["fc_dense", "fc_bn", "fc_act", "fc_dropout"]
    assert fc.count_params() == 20 * 5 + 4 * 5


# ---------------------------------------------------------------- Inception
def _inception_branches(model):
    concat = next(layer for layer in model.layers if isinstance(layer, keras.layers.Concatenate))
    return concat, [_path_to_input(model, tensor) for tensor in concat.input]


@pytest.mark.backend_agnostic
def test_inception_module_matches_the_lecture_figure():
    model = _model(blocks.inception_module, (12, 12, 32), name="inc")
    assert model.output.shape == (None, 12, 12, 256)  # 4 x 64, "same" padding everywhere
    concat, branches = _inception_branches(model)
    assert len(branches) == 4
    convs = [[layer for layer in branch if isinstance(layer, keras.layers.Conv2D)] for branch in branches]
    assert [[c.kernel_size for c in branch] for branch in convs] == [
        [(1, 1)],
        [(1, 1), (3, 3)],
        [(1, 1), (5, 5)],
        [(1, 1)],
    ]
    pool = branches[3][0]
    assert isinstance(pool, keras.layers.MaxPooling2D)
    assert pool.pool_size == (3, 3) and pool.strides == (1, 1) and pool.padding == "same"
    assert all(c.padding == "same" for branch in convs for c in branch)
    assert all(isinstance(branch[-1], keras.layers.Activation) for branch in branches)  # ReLU closes each branch
    assert all(layer.name.startswith("inc_") for layer in model.layers[1:])
    c = 32
    expected = (c * 64 + 64) + (c * 64 + 64) + (64 * 9 * 64 + 64) + (c * 64 + 64) + (64 * 25 * 64 + 64) + (c * 64 + 64)
    assert model.count_params() == expected


def test_inception_output_channels_are_the_sum_of_branch_filters():
    model = _model(
        blocks.inception_module,
        (9, 9, 5),
        filters_1x1=3,
        filters_3x3_reduce=2,
        filters_3x3=7,
        filters_5x5_reduce=1,
        filters_5x5=4,
        filters_pool_proj=6,
    )
    assert model.output.shape[-1] == 3 + 7 + 4 + 6


def test_naive_inception_module_passes_the_pool_branch_through():
    model = _model(
        blocks.inception_module, (9, 9, 24), filters_1x1=8, filters_3x3=16, filters_5x5=4, reduce=False, name="naive"
    )
    assert model.output.shape == (None, 9, 9, 8 + 16 + 4 + 24)
    _, branches = _inception_branches(model)
    assert len(branches) == 4
    kernels = [[layer.kernel_size for layer in branch if isinstance(layer, keras.layers.Conv2D)] for branch in branches]
    assert kernels == [[(1, 1)], [(3, 3)], [(5, 5)], []]
    assert [type(layer) for layer in branches[3]] == [keras.layers.MaxPooling2D]


def test_inception_module_optional_batch_norm():
    model = _model(
        blocks.inception_module,
        (8, 8, 16),
        filters_1x1=4,
        filters_3x3_reduce=4,
        filters_3x3=4,
        filters_5x5_reduce=4,
        filters_5x5=4,
        filters_pool_proj=4,
        normalization="batch",
    )
    _, branches = _inception_branches(model)
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 6  # one after each conv
    assert all(not layer.use_bias for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    for branch in branches:  # conv -> BN -> act in every branch
        types = [type(layer) for layer in branch if not isinstance(layer, keras.layers.MaxPooling2D)]
        assert types[-3:] == [keras.layers.Conv2D, keras.layers.BatchNormalization, keras.layers.Activation]


# ---------------------------------------------------------------- residual blocks
def _add_layer(model):
    return next(layer for layer in model.layers if isinstance(layer, keras.layers.Add))


@pytest.mark.parametrize(
    "in_channels, filters, stride, bottleneck, projection, out_shape",
    [
        pytest.param(16, 16, 1, False, False, (28, 28, 16), marks=pytest.mark.backend_agnostic),  # identity
        (8, 16, 1, False, True, (28, 28, 16)),  # more channels: 1x1 projection
        pytest.param(16, 16, 2, False, True, (14, 14, 16), marks=pytest.mark.backend_agnostic),  # strided projection
        (16, 32, 2, False, True, (14, 14, 32)),
        (16, 4, 1, True, False, (28, 28, 16)),  # bottleneck 4 -> 4 x 4 = 16: identity
        (16, 8, 2, True, True, (14, 14, 32)),
    ],
)
def test_residual_block_shortcut_and_shapes(in_channels, filters, stride, bottleneck, projection, out_shape):
    model = _model(
        blocks.residual_block, (28, 28, in_channels), filters=filters, stride=stride, bottleneck=bottleneck, name="res"
    )
    assert model.output.shape == (None, *out_shape)
    add = _add_layer(model)
    shortcut_path = [_path_to_input(model, tensor) for tensor in add.input]
    identity = any(path == [] for path in shortcut_path)  # one input of Add is the block input itself
    assert identity is not projection
    names = {layer.name for layer in model.layers}
    assert ("res_shortcut_conv" in names) is projection
    if projection:
        conv = model.get_layer("res_shortcut_conv")
        assert conv.kernel_size == (1, 1) and conv.strides == (stride, stride)
    residual = max(shortcut_path, key=len)
    kernels = [layer.kernel_size for layer in residual if isinstance(layer, keras.layers.Conv2D)]
    assert kernels == ([(1, 1), (3, 3), (1, 1)] if bottleneck else [(3, 3), (3, 3)])
    assert isinstance(model.layers[-1], keras.layers.Activation)  # act(F(x) + x)


def test_residual_block_basic_parameter_count():
    c = 16
    model = _model(blocks.residual_block, (8, 8, c), filters=c, name="res")
    assert model.count_params() == 2 * (3 * 3 * c * c + 4 * c)  # two conv3x3 + two BN, identity shortcut


def test_stride_two_on_odd_maps_rounds_up():
    model = _model(blocks.residual_block, (7, 7, 8), filters=8, stride=2)
    assert model.output.shape == (None, 4, 4, 8)


def test_preactivation_block_has_nothing_after_the_addition():
    model = _model(blocks.residual_block, (8, 8, 8), filters=16, stride=2, preactivation=True, name="pre")
    assert isinstance(model.layers[-1], keras.layers.Add)
    assert model.output.shape == (None, 4, 4, 16)
    assert isinstance(model.get_layer("pre_preact_bn"), keras.layers.BatchNormalization)
    identity = _model(blocks.residual_block, (8, 8, 8), filters=8, preactivation=True)
    assert any(_path_to_input(identity, t) == [] for t in _add_layer(identity).input)
    with pytest.raises(ValueError, match="preactivation=False"):
        _model(blocks.residual_block, (8, 8, 8), filters=8, preactivation=True, activation="maxout")


def test_maxout_residual_block_keeps_the_width():
    model = _model(blocks.residual_block, (8, 8, 8), filters=8, activation="maxout", name="mx")
    assert model.output.shape == (None, 8, 8, 8)
    assert model.get_layer("mx_2_conv").filters == 16


@pytest.mark.slow
@pytest.mark.backend_agnostic
def test_gradients_reach_the_first_layer_of_a_20_block_stack():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    x = blocks.conv_bn_act(inputs, 4, 3, name="first")
    for i in range(20):
        x = blocks.residual_block(x, 4, name=f"block{i}")
    outputs = blocks.classifier_head(x, 3)
    model = keras.Model(inputs, outputs)
    assert sum(isinstance(layer, keras.layers.Add) for layer in model.layers) == 20
    lr = 0.1
    eager = keras.backend.backend() == "tensorflow"  # one step: TF eager beats tracing; JAX jits
    model.compile(keras.optimizers.SGD(learning_rate=lr), "sparse_categorical_crossentropy", run_eagerly=eager)
    rng = np.random.default_rng(0)
    x_batch = rng.normal(size=(16, 8, 8, 1)).astype("float32")
    y_batch = rng.integers(0, 3, size=16)
    first = model.get_layer("first_conv")
    before = ops.convert_to_numpy(first.kernel).copy()
    loss = model.train_on_batch(x_batch, y_batch)
    after = ops.convert_to_numpy(first.kernel)
    gradient = (before - after) / lr  # plain SGD: w <- w - lr * dL/dw
    assert np.isfinite(loss) and np.isfinite(gradient).all()
    assert np.abs(gradient).max() > 1e-4
    assert np.count_nonzero(gradient) > gradient.size // 2
