"""kit.layers: Maxout and the lecture's knobs resolved by name."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from keras import ops

from kit import layers as kl


def _numpy(x):
    return ops.convert_to_numpy(x)


@pytest.mark.backend_agnostic
def test_maxout_keeps_the_largest_linear_piece():
    x = np.array([[1.0, 5.0, -3.0, 3.0, 2.0, 7.0]], dtype="float32")
    out = _numpy(kl.Maxout(pieces=2)(x))  # pieces [1, 5, -3] and [3, 2, 7]
    np.testing.assert_array_equal(out, [[3.0, 5.0, 7.0]])
    out3 = _numpy(kl.Maxout(pieces=3)(x))  # pieces [1, 5], [-3, 3], [2, 7]
    np.testing.assert_array_equal(out3, [[2.0, 7.0]])
    maps = np.random.default_rng(0).normal(size=(2, 4, 4, 6)).astype("float32")
    out_maps = _numpy(kl.Maxout()(maps))
    assert out_maps.shape == (2, 4, 4, 3)
    np.testing.assert_allclose(out_maps, np.maximum(maps[..., :3], maps[..., 3:]))


def test_maxout_rejects_channels_not_divisible_by_pieces():
    with pytest.raises(ValueError, match="divisible by 2"):
        kl.Maxout(pieces=2)(np.zeros((1, 5), dtype="float32"))
    with pytest.raises(ValueError, match="pieces >= 1"):
        kl.Maxout(pieces=0)


@pytest.mark.backend_agnostic
def test_maxout_model_saves_and_loads_in_safe_mode(tmp_path):
    inputs = keras.Input((6,))
    x = keras.layers.Dense(8)(inputs)
    x = kl.Maxout(pieces=2, name="maxout")(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    path = tmp_path / "maxout.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert isinstance(loaded.get_layer("maxout"), kl.Maxout)
    assert loaded.get_layer("maxout").get_config()["pieces"] == 2
    x = np.random.default_rng(1).normal(size=(4, 6)).astype("float32")
    np.testing.assert_allclose(_numpy(loaded(x)), _numpy(model(x)), atol=1e-6)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", kl.ACTIVATIONS)
def test_every_activation_layer_runs_on_maps_and_vectors(name):
    maps = np.random.default_rng(0).normal(size=(2, 5, 5, 4)).astype("float32")
    vectors = maps.reshape(2, -1)
    out_maps = _numpy(kl.activation_layer(name, rank=4)(maps))
    out_vectors = _numpy(kl.activation_layer(name, rank=2)(vectors))
    width = kl.maxout_pieces(name)
    assert out_maps.shape == (2, 5, 5, 4 // width)
    assert out_vectors.shape == (2, 100 // width)
    assert np.isfinite(out_maps).all() and np.isfinite(out_vectors).all()
    assert not np.allclose(out_maps, maps[..., : 4 // width])  # every activation changes negatives


@pytest.mark.backend_agnostic
def test_activation_formulas_follow_the_lecture():
    x = np.array([[-2.0, -0.5, 0.0, 1.5]], dtype="float32")
    leaky = _numpy(kl.activation_layer("leaky_relu", rank=2)(x))
    np.testing.assert_allclose(leaky, [[-0.02, -0.005, 0.0, 1.5]], rtol=1e-6)
    prelu = kl.activation_layer("prelu", rank=4)
    maps = np.full((1, 3, 3, 5), -1.0, dtype="float32")
    np.testing.assert_allclose(_numpy(prelu(maps)), -0.25)  # He et al. initial slope
    assert prelu.count_params() == 5  # one learned slope per channel, shared over H and W
    selu = _numpy(kl.activation_layer("selu", rank=2)(x))
    np.testing.assert_allclose(selu[0, 3], 1.0507 * 1.5, rtol=1e-4)
    np.testing.assert_allclose(selu[0, 0], 1.0507 * 1.6733 * (math.exp(-2.0) - 1), rtol=1e-4)
    swish = _numpy(kl.activation_layer("swish", rank=2)(x))
    silu = _numpy(kl.activation_layer("silu", rank=2)(x))
    np.testing.assert_allclose(swish, x / (1 + np.exp(-x)), rtol=1e-5)
    np.testing.assert_array_equal(swish, silu)
    elu = _numpy(kl.activation_layer("elu", rank=2)(x))
    np.testing.assert_allclose(elu[0, 0], math.exp(-2.0) - 1, rtol=1e-5)
    assert kl.inline_activation("relu") == "relu" and kl.inline_activation("prelu") is None


def test_initializer_names_and_aliases_give_fresh_keras_initializers():
    expected = {
        "small_random_normal": keras.initializers.RandomNormal,
        "glorot": keras.initializers.GlorotUniform,
        "xavier": keras.initializers.GlorotUniform,
        "xavier_normal": keras.initializers.GlorotNormal,
        "glorot_uniform": keras.initializers.GlorotUniform,
        "he": keras.initializers.HeNormal,
        "kaiming": keras.initializers.HeNormal,
        "kaiming_uniform": keras.initializers.HeUniform,
        "lecun": keras.initializers.LecunNormal,
        "lecun_uniform": keras.initializers.LecunUniform,
    }
    for name, cls in expected.items():
        assert type(kl.get_initializer(name)) is cls, name
    assert set(expected) <= set(kl.INITIALIZERS)
    original = keras.initializers.HeNormal(seed=3)
    copy = kl.get_initializer(original)
    assert copy is not original and type(copy) is keras.initializers.HeNormal


@pytest.mark.parametrize(
    "name, std",
    [
        ("small_random_normal", lambda fan_in, fan_out: 0.01),  # the lecture's 0.01 * randn
        ("xavier_normal", lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out))),
        ("xavier_uniform", lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out))),
        ("kaiming", lambda fan_in, fan_out: math.sqrt(2.0 / fan_in)),
        ("he_uniform", lambda fan_in, fan_out: math.sqrt(2.0 / fan_in)),
        ("lecun", lambda fan_in, fan_out: math.sqrt(1.0 / fan_in)),
    ],
)
def test_initializer_standard_deviations(name, std):
    fan_in, fan_out = 400, 100
    weights = _numpy(kl.get_initializer(name, seed=0)((fan_in, fan_out)))
    assert abs(weights.mean()) < 0.05 * std(fan_in, fan_out) * 10
    np.testing.assert_allclose(weights.std(), std(fan_in, fan_out), rtol=0.05)


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.backend_agnostic) if n == "group" else n for n in kl.NORMALIZATIONS]
)
def test_every_normalization_runs(name):
    maps = np.random.default_rng(0).normal(3.0, 2.0, size=(4, 6, 6, 16)).astype("float32")
    layer = kl.normalization_layer(name, channels=16, rank=4)
    if name == "none":
        assert layer is None
        return
    out = _numpy(layer(maps, training=True))
    assert out.shape == maps.shape and np.isfinite(out).all()
    if name == "group":  # 8 groups of 2 channels: statistics over H, W and the group's channels
        out, axes = out.reshape(4, 6, 6, 8, 2), (1, 2, 4)
    else:
        axes = {"batch": (0, 1, 2), "layer": (1, 2, 3), "instance": (1, 2)}[name]
    assert np.abs(out.mean(axis=axes)).max() < 1e-3  # normalised over the lecture's axes
    assert np.abs(out.std(axis=axes) - 1).max() < 0.01
    vectors = kl.normalization_layer(name, channels=16, rank=2)
    assert np.isfinite(_numpy(vectors(maps[:, 0, 0, :], training=True))).all()


def test_normalization_layers_match_the_lecture_figure():
    assert isinstance(kl.normalization_layer("batch", channels=8), keras.layers.BatchNormalization)
    assert kl.normalization_layer("layer", channels=8).groups == 1
    assert kl.normalization_layer("instance", channels=8).groups == 8
    assert kl.normalization_layer("group", channels=24).groups == 8
    assert kl.normalization_layer("group", channels=6).groups == 2
    assert isinstance(kl.normalization_layer("layer", channels=8, rank=2), keras.layers.LayerNormalization)
    assert kl.normalization_layer(None, channels=8) is None


def test_regularizers_penalise_as_in_the_lecture():
    w = np.array([[1.0, -2.0], [0.5, 0.0]], dtype="float32")
    l2 = kl.get_regularizer("l2", 1e-2)
    np.testing.assert_allclose(float(_numpy(l2(w))), 1e-2 * (1 + 4 + 0.25), rtol=1e-6)
    l1 = kl.get_regularizer("l1", 1e-2)
    np.testing.assert_allclose(float(_numpy(l1(w))), 1e-2 * 3.5, rtol=1e-6)
    elastic = kl.get_regularizer("elastic_net", 1e-2, l1_ratio=0.25)
    np.testing.assert_allclose(float(_numpy(elastic(w))), 1e-2 * (0.25 * 3.5 + 0.75 * 5.25), rtol=1e-6)
    assert kl.get_regularizer("l2", 0.0) is None
    assert kl.get_regularizer("none", 1e-3) is None
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        kl.get_regularizer("l2", -1.0)


@pytest.mark.parametrize(
    "call, listed",
    [
        (lambda: kl.activation_layer("relu6"), "leaky_relu, maxout"),
        (lambda: kl.get_initializer("glorott"), "he_normal"),
        (lambda: kl.normalization_layer("batchnorm", channels=4), "batch, group, instance, layer, none"),
        (lambda: kl.get_regularizer("l3", 1e-4), "elastic_net, l1, l1_l2, l2, none"),
    ],
)
def test_unknown_names_list_the_valid_ones(call, listed):
    with pytest.raises(ValueError, match="valid names: ") as error:
        call()
    assert listed in str(error.value)
    assert str(error.value).startswith("Unknown ")
