"""The kit parts the lecture labs added: grid search in kit.tune, and kit.visualize (filters, Grad-CAM, features)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kit import models, tune, visualize
from kit.train import preset


@pytest.mark.slow
def test_grid_search_covers_the_grid_whatever_the_base_config(small_fashion_mnist, tmp_path):
    # The base config's values sit in the middle of the grid: KerasTuner's grid starts at the
    # defaults and steps forward, so without care it would skip the combinations "before" them.
    base = preset("smoke", model="lenet5", epochs=1, learning_rate=1e-3, train_size=300, test_size=None)
    space = {"learning_rate": [1e-4, 1e-3], "batch_size": [32, 64]}
    data = small_fashion_mnist.subset(train=300, val=100, test=0)
    result = tune.search(base, space, data=data, max_trials=10, out=tmp_path / "grid", algorithm="grid")
    combos = set(zip(result.trials["learning_rate"], result.trials["batch_size"], strict=True))
    assert combos == {(1e-4, 32), (1e-4, 64), (1e-3, 32), (1e-3, 64)}
    assert len(result.trials) == 4  # the grid is exhausted, not repeated


def test_unknown_search_algorithm_lists_grid(small_fashion_mnist, tmp_path):
    with pytest.raises(ValueError, match="valid names: random, grid, bayesian, hyperband"):
        tune.search(preset("smoke"), {"learning_rate": [1e-3]}, data=small_fashion_mnist, out=tmp_path, algorithm="x")


def _quadrant_model(sign: float) -> keras.Model:
    """image -> 1x1 conv (identity, ReLU) -> flatten -> Dense(2): class 0's score sums the maps times ``sign``."""
    inputs = keras.Input((8, 8, 1))
    maps = keras.layers.Conv2D(1, 1, activation="relu", name="conv")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax", name="predictions")(keras.layers.Flatten()(maps))
    model = keras.Model(inputs, outputs)
    model.get_layer("conv").set_weights([np.ones((1, 1, 1, 1), "float32"), np.zeros(1, "float32")])
    kernel = np.zeros((64, 2), "float32")
    kernel[:, 0] = sign
    model.get_layer("predictions").set_weights([kernel, np.zeros(2, "float32")])
    return model


@pytest.mark.backend_agnostic
def test_grad_cam_lights_up_what_raises_the_score():
    image = np.zeros((1, 8, 8, 1), "float32")
    image[0, :4, :4] = 1.0  # only the top-left quadrant is bright
    cam = visualize.grad_cam(_quadrant_model(+1.0), image, classes=[0])
    assert cam.shape == (1, 8, 8) and cam.max() == pytest.approx(1.0)
    assert cam[0, :4, :4].sum() / cam.sum() > 0.9
    # A class whose score falls with these maps has no positive evidence: ReLU leaves nothing.
    assert visualize.grad_cam(_quadrant_model(-1.0), image, classes=[0]).max() == 0.0


@pytest.mark.backend_agnostic
def test_visualize_reads_the_kits_networks():
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    model = models.build("cnn_mnist")
    assert visualize.filters(model).shape == (32, 3, 3, 1)
    assert visualize.activation_maps(model, x).shape == (4, 26, 26, 32)
    assert visualize.features(model, x).shape == (4, 128)
    cam = visualize.grad_cam(model, x)
    assert cam.shape == (4, 28, 28) and 0.0 <= cam.min() and cam.max() <= 1.0
    # Inside an Inception module a branch's conv is no cut of the graph: the concatenation is taken.
    inception = models.build("cnn_mnist_inception")
    assert visualize.last_conv_layer(inception).name == "inception_concat"
    with pytest.raises(ValueError, match="other paths bypass"):
        visualize.grad_cam(inception, x, layer="inception_3x3_conv")
    with pytest.raises(ValueError, match="has no layer 'nope'; valid names: conv1, conv2"):
        visualize.activation_maps(model, x, layer="nope")


def test_embed_pca_and_tsne_and_unknown_method():
    values = np.random.default_rng(0).normal(size=(40, 5))
    assert visualize.embed(values, "pca").shape == (40, 2)
    assert visualize.embed(values, "tsne").shape == (40, 2)
    with pytest.raises(ValueError, match="valid names: tsne, pca"):
        visualize.embed(values, "umap")
