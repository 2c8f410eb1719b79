"""kit.models: the homework network in both styles, the registry, describe() and count_flops()."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

import kit.models as km
from kit import layers as kl

CNN_MNIST_PARAMS = 1_199_882
# multiply-adds per 28x28 image, by hand: conv1 26*26*(3*3*1)*32, conv2 24*24*(3*3*32)*64,
# dense 9216*128, predictions 128*10
CNN_MNIST_FLOPS = 26 * 26 * 9 * 32 + 24 * 24 * 9 * 32 * 64 + 12 * 12 * 64 * 128 + 128 * 10


def _numpy(x):
    return ops.convert_to_numpy(x)


@pytest.fixture(scope="module")
def batch(fashion_mnist):
    """32 real training images and labels."""
    return fashion_mnist.x_train[:32], fashion_mnist.y_train[:32]


def test_registry_lists_the_seven_networks():
    assert km.available() == sorted(
        ["cnn_mnist", "cnn_mnist_inception", "lenet5", "mlp", "vgg_mini", "inception_net", "resnet", "resnet_fast"]
    )


def test_mlp_is_the_lectures_fully_connected_net():
    model = km.build("mlp", hidden=(100,))
    assert model.count_params() == 784 * 100 + 100 + 100 * 10 + 10
    deep = km.build("mlp", hidden=(64,) * 6, activation="tanh", kernel_initializer="small_random_normal")
    assert [layer.name for layer in deep.layers if layer.name.endswith("_act")] == [f"fc{i}_act" for i in range(1, 7)]
    with pytest.raises(ValueError, match="hidden must list"):
        km.build("mlp", hidden=())


# ---------------------------------------------------------------- the homework network
@pytest.mark.backend_agnostic
def test_cnn_mnist_both_styles_are_the_same_network(batch):
    sequential = km.build("cnn_mnist", style="sequential")
    functional = km.build("cnn_mnist", style="functional")
    assert isinstance(sequential, keras.Sequential)
    assert isinstance(functional, keras.Model) and not isinstance(functional, keras.Sequential)
    assert sequential.count_params() == functional.count_params() == CNN_MNIST_PARAMS
    assert [type(layer) for layer in sequential.layers] == [type(layer) for layer in functional.layers[1:]]
    functional.set_weights(sequential.get_weights())
    x, _ = batch
    out_sequential = _numpy(sequential(x, training=False))
    out_functional = _numpy(functional(x, training=False))
    np.testing.assert_allclose(out_functional, out_sequential, atol=1e-6)
    np.testing.assert_allclose(out_sequential.sum(axis=1), 1.0, atol=1e-5)


def test_cnn_mnist_defaults_are_the_keras_example():
    model = km.build("cnn_mnist")
    summary = [(type(layer).__name__, layer.get_config()) for layer in model.layers]
    assert [name for name, _ in summary] == [
        "Conv2D",
        "Conv2D",
        "MaxPooling2D",
        "Dropout",
        "Flatten",
        "Dense",
        "Dropout",
        "Dense",
    ]
    conv1, conv2 = summary[0][1], summary[1][1]
    assert (conv1["filters"], tuple(conv1["kernel_size"]), conv1["activation"]) == (32, (3, 3), "relu")
    assert (conv2["filters"], tuple(conv2["kernel_size"]), conv2["activation"]) == (64, (3, 3), "relu")
    assert conv1["padding"] == "valid" and conv1["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert tuple(summary[2][1]["pool_size"]) == (2, 2)
    assert summary[3][1]["rate"] == 0.25 and summary[6][1]["rate"] == 0.5
    assert (summary[5][1]["units"], summary[5][1]["activation"]) == (128, "relu")
    assert (summary[7][1]["units"], summary[7][1]["activation"]) == (10, "softmax")
    assert model.layers[-1].dtype_policy.compute_dtype == "float32"


def test_describe_and_count_flops_cnn_mnist_by_hand():
    model = km.build("cnn_mnist", style="functional")
    table = km.describe(model)
    assert list(table["layer"]) == ["conv1", "conv2", "pool", "dropout1", "flatten", "dense", "dropout2", "predictions"]
    assert list(table["output_shape"]) == [
        (26, 26, 32),
        (24, 24, 64),
        (12, 12, 64),
        (12, 12, 64),
        (9216,),
        (128,),
        (128,),
        (10,),
    ]
    assert list(table["params"]) == [3 * 3 * 1 * 32 + 32, 3 * 3 * 32 * 64 + 64, 0, 0, 0, 9216 * 128 + 128, 0, 1290]
    assert list(table["flops"]) == [26 * 26 * 9 * 32, 24 * 24 * 9 * 32 * 64, 0, 0, 0, 9216 * 128, 0, 1280]
    assert table["params"].sum() == table.attrs["total_params"] == CNN_MNIST_PARAMS
    assert km.count_flops(model) == table.attrs["total_flops"] == CNN_MNIST_FLOPS == 11_992_448
    assert km.count_flops(km.build("cnn_mnist")) == CNN_MNIST_FLOPS  # Sequential too


def test_describe_groups_layers_into_blocks():
    model = km.build("resnet", depth=8, width=4)
    blocks = km.describe(model, by="block")
    assert list(blocks["block"]) == ["stem", "stage1block1", "stage2block1", "stage3block1", "head"]
    assert blocks["params"].sum() == model.count_params()
    assert blocks["flops"].sum() == km.count_flops(model)
    assert blocks["output_shape"].iloc[-2] == (7, 7, 16)
    with pytest.raises(ValueError, match="valid names: block, layer"):
        km.describe(model, by="stage")


# ---------------------------------------------------------------- the other networks' architecture
def test_cnn_mnist_inception_is_the_baseline_plus_one_module():
    model = km.build("cnn_mnist_inception")
    concat = model.get_layer("inception_concat")
    assert len(concat.input) == 4
    assert tuple(model.get_layer("conv2").output.shape[1:]) == (24, 24, 64)  # module sits before the pooling
    assert tuple(concat.output.shape[1:]) == (24, 24, 16 + 32 + 8 + 8)
    module = 64 * 16 + 16 + 64 * 24 + 24 + 24 * 9 * 32 + 32 + 64 * 4 + 4 + 4 * 25 * 8 + 8 + 64 * 8 + 8
    assert model.count_params() == CNN_MNIST_PARAMS + module
    assert "before" in km.cnn_mnist_inception.__doc__ and "Why" in km.cnn_mnist_inception.__doc__
    lecture = km.build("cnn_mnist_inception", inception_filters=(64,) * 6)
    assert lecture.get_layer("inception_concat").output.shape[-1] == 256


@pytest.mark.slow
def test_classic_architectures_by_hand():
    assert km.build("lenet5").count_params() == (
        (5 * 5 * 6 + 6) + (5 * 5 * 6 * 16 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    )
    vgg = km.build("vgg_mini")
    kernels = {layer.kernel_size for layer in vgg.layers if isinstance(layer, keras.layers.Conv2D)}
    assert kernels == {(3, 3)}  # stacks of 3x3 only
    inception = km.build("inception_net")
    assert sum(isinstance(layer, keras.layers.Concatenate) for layer in inception.layers) == 3
    assert [layer.name for layer in inception.layers if isinstance(layer, keras.layers.Dense)] == ["head_predictions"]
    resnet20 = km.build("resnet")
    assert sum(isinstance(layer, keras.layers.Add) for layer in resnet20.layers) == 9
    weighted = [layer for layer in resnet20.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    assert len([layer for layer in weighted if "shortcut" not in layer.name]) == 20  # 6n + 2 weighted layers
    assert km.build("resnet", depth=32, width=8).count_params() < resnet20.count_params()
    assert (
        sum(isinstance(layer, keras.layers.Add) for layer in km.build("resnet", depth=29, bottleneck=True).layers) == 9
    )


# ---------------------------------------------------------------- every registry model trains and reloads
def _train_step_and_reload(model, batch, tmp_path):
    x, y = batch
    # TF: eager is faster than tracing a graph for one step; JAX: one jit beats compiling op by op
    eager = keras.backend.backend() == "tensorflow"
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", run_eagerly=eager)
    before = _numpy(model(x, training=False))
    loss = float(model.train_on_batch(x, y))
    assert np.isfinite(loss) and 0 < loss < 10
    after = _numpy(model(x, training=False))
    assert (
        after.dtype == np.float32 and np.isfinite(after).all() and not np.allclose(before, after)
    )  # the step changed the model
    np.testing.assert_allclose(after.sum(axis=1), 1.0, atol=1e-5)
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(_numpy(loaded(x, training=False)), after, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name", km.available())
def test_every_registry_model_trains_one_step_and_reloads(name, batch, tmp_path):
    model = km.build(name)
    assert model.outputs[0].dtype == "float32"
    _train_step_and_reload(model, batch, tmp_path)


SMALL = {  # the same builders, narrow, so the JAX run stays cheap
    "cnn_mnist": dict(style="functional", filters=(4, 8), dense_units=16),
    "cnn_mnist_inception": dict(filters=(4, 8), dense_units=16, inception_filters=(2, 2, 2, 2, 2, 2)),
    "lenet5": dict(activation="maxout"),
    "mlp": dict(hidden=(16, 16)),
    "vgg_mini": dict(widths=(4, 8), dense_units=16),
    "inception_net": dict(width=0.0625),
    "resnet": dict(depth=8, width=4, preactivation=True),
    "resnet_fast": dict(width=4),
}


@pytest.mark.parametrize(
    "name",  # under JAX: a plain stack and a residual net (maxout: test_layers)
    [pytest.param(n, marks=pytest.mark.backend_agnostic) if n in ("cnn_mnist", "resnet") else n for n in sorted(SMALL)],
)
@pytest.mark.slow
def test_narrow_registry_models_train_and_reload(name, batch, tmp_path):
    _train_step_and_reload(km.build(name, **SMALL[name]), batch, tmp_path)


@pytest.mark.slow
def test_softmax_stays_float32_under_mixed_precision(batch):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        for name in km.available():
            model = km.build(name)
            assert model.outputs[0].dtype == "float32", name
        model = km.build("resnet", depth=8, width=4)
        assert model.get_layer("stem_conv").compute_dtype == "bfloat16"
        probs = _numpy(model(batch[0][:4], training=False))
        assert probs.dtype == np.float32
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    finally:
        keras.config.set_dtype_policy(previous)


# ---------------------------------------------------------------- knobs by name
def _run_small_cnn(batch, **knobs):
    model = km.build("cnn_mnist", style="functional", filters=(4, 8), dense_units=16, **knobs)
    probs = _numpy(model(batch[0][:8], training=False))
    assert probs.shape == (8, 10) and np.isfinite(probs).all()
    return model


@pytest.mark.parametrize("activation", kl.ACTIVATIONS)
def test_every_activation_builds_and_runs(activation, batch):
    model = _run_small_cnn(batch, activation=activation)
    if activation == "maxout":
        assert model.get_layer("conv1").filters == 8 and isinstance(model.get_layer("conv1_act"), kl.Maxout)
    resnet = km.build("resnet", depth=8, width=4, activation=activation)
    assert np.isfinite(_numpy(resnet(batch[0][:4], training=False))).all()


@pytest.mark.parametrize("initializer", kl.INITIALIZERS)
def test_every_initializer_builds_and_runs(initializer, batch):
    model = _run_small_cnn(batch, kernel_initializer=initializer)
    config = keras.initializers.serialize(model.get_layer("conv1").kernel_initializer)
    assert config["class_name"] == type(kl.get_initializer(initializer)).__name__
    if initializer == "small_random_normal":
        assert config["config"]["stddev"] == 0.01


@pytest.mark.parametrize("normalization", kl.NORMALIZATIONS)
def test_every_normalization_builds_and_runs(normalization, batch):
    model = _run_small_cnn(batch, normalization=normalization)
    has_norm = normalization != "none"
    assert ("conv1_bn" in {layer.name for layer in model.layers}) is has_norm
    assert model.get_layer("conv1").use_bias is not has_norm
    resnet = km.build("resnet", depth=8, width=4, normalization=normalization)
    assert np.isfinite(_numpy(resnet(batch[0][:4], training=False))).all()


@pytest.mark.parametrize("regularizer", ["l2", "l1", "elastic_net"])
def test_weight_decay_adds_one_penalty_per_kernel(regularizer, batch):
    model = _run_small_cnn(batch, weight_decay=1e-3, regularizer=regularizer)
    assert len(model.losses) == 4  # conv1, conv2, dense, predictions
    kernel = _numpy(model.get_layer("conv1").kernel)
    penalty = {
        "l2": 1e-3 * (kernel**2).sum(),
        "l1": 1e-3 * np.abs(kernel).sum(),
        "elastic_net": 1e-3 * (0.5 * np.abs(kernel).sum() + 0.5 * (kernel**2).sum()),
    }[regularizer]
    np.testing.assert_allclose(float(_numpy(model.get_layer("conv1").losses[0])), penalty, rtol=1e-5)
    assert km.build("cnn_mnist").losses == []


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(name="resnett"), "Unknown model 'resnett'; valid names: cnn_mnist, cnn_mnist_inception, inception_net"),
        (dict(name="cnn_mnist", activation="relu6"), "Unknown activation 'relu6'; valid names: elu, gelu"),
        (dict(name="resnet", kernel_initializer="glorott"), "Unknown initializer 'glorott'; valid names:"),
        (dict(name="vgg_mini", normalization="batchnorm"), "Unknown normalization 'batchnorm'; valid names: batch"),
        (dict(name="lenet5", regularizer="l3", weight_decay=1e-4), "Unknown regularizer 'l3'; valid names:"),
        (dict(name="cnn_mnist", style="keras"), "Unknown style 'keras'; valid names: functional, sequential"),
        (dict(name="resnet", depht=20), "Unknown option 'depht' for model 'resnet'; valid options: activation"),
        (dict(name="resnet", depth=21), r"resnet depth must be 6n \+ 2"),
        (dict(name="cnn_mnist", dropout=1.5), "dropout must be a rate"),
        (dict(name="cnn_mnist", input_shape=(28, 28)), "input_shape must be"),
    ],
)
def test_bad_options_raise_one_clear_sentence(options, message):
    name = options.pop("name")
    with pytest.raises(ValueError, match=message):
        km.build(name, **options)


def test_blocks_are_re_exported():
    for block in ("inception_module", "residual_block", "conv_bn_act", "separable_conv_block", "classifier_head"):
        assert callable(getattr(km, block))


def test_vgg_mini_separable_keeps_the_first_conv_plain():
    plain = km.build("vgg_mini", widths=(8, 16))
    separable = km.build("vgg_mini", widths=(8, 16), separable=True)
    kinds = [type(layer).__name__ for layer in separable.layers if "Conv" in type(layer).__name__]
    assert kinds == ["Conv2D"] + ["SeparableConv2D"] * 3
    assert separable.count_params() < plain.count_params()


def test_transfer_model_freezes_the_features_and_adds_a_head():
    pretrained = km.build("lenet5", num_classes=5)
    model = km.transfer_model(pretrained, 3)
    assert model.output.shape == (None, 3)
    assert [w.name for w in model.trainable_weights] == ["kernel", "bias"]
    assert model.get_layer("f6_dense").weights[0] is pretrained.get_layer("f6_dense").weights[0]
    with pytest.raises(ValueError, match="Unknown feature_layer 'nope'"):
        km.transfer_model(pretrained, 3, feature_layer="nope")


# ---------------------------------------------------------------- test-time augmentation in the model
@pytest.mark.backend_agnostic
def test_mirror_average_is_the_mean_over_image_and_mirror_and_loads_in_safe_mode(batch, tmp_path):
    from kit import visualize
    from kit.evaluate import load_model

    x, _ = batch
    network = km.build("resnet_fast", width=8)
    averaged = km.mirror_average(network)
    expected = (network.predict(x, verbose=0) + network.predict(x[:, :, ::-1], verbose=0)) / 2
    np.testing.assert_allclose(averaged.predict(x, verbose=0), expected, atol=1e-5)
    assert averaged.count_params() == network.count_params()  # the two views share the weights
    assert km.count_flops(averaged) == 2 * km.count_flops(network)
    inside = km.single_view(averaged)
    assert inside is not network and inside.name == network.name and km.single_view(network) is network
    assert all(np.array_equal(a, b) for a, b in zip(inside.get_weights(), network.get_weights(), strict=True))

    averaged.save(tmp_path / "model.keras")
    loaded = load_model(tmp_path / "model.keras")  # safe mode: keras.ops.flip in the graph, no Lambda
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, atol=1e-5)
    assert km.single_view(loaded).name == "resnet_fast"
    # explanations open the averaged model to its network
    assert visualize.last_conv_layer(loaded).name == visualize.last_conv_layer(network).name
    assert visualize.grad_cam(loaded, x[:4]).shape == (4, 28, 28)
    with pytest.raises(ValueError, match="built Keras model"):
        km.mirror_average("resnet_fast")
