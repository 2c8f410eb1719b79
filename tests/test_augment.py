"""kit.augment: in-model augmentation on real Fashion-MNIST, MixUp/CutMix label mixing, saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kit import augment as A


@pytest.fixture(scope="module")
def images(small_fashion_mnist):
    return small_fashion_mnist.x_train[:32]


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("name", A.IN_MODEL)
def test_each_in_model_augmentation_changes_training_inputs_and_is_identity_at_inference(name, images):
    layer = A.augmentation_layers([name], seed=3).layers[0]
    trained = _np(layer(images, training=True))
    inferred = _np(layer(images, training=False))
    assert trained.shape == images.shape and trained.dtype == np.float32
    changed = np.any(trained != images, axis=(1, 2, 3))
    assert changed.mean() >= 0.25, f"{name} changed only {changed.sum()} of {len(images)} images"
    assert trained.min() >= 0.0 and trained.max() <= 1.0
    np.testing.assert_array_equal(inferred, images)


@pytest.mark.backend_agnostic
def test_erasing_erases_one_rectangle_with_values_in_unit_range(images):
    layer = A.augmentation_layers({"erasing": {"probability": 1.0, "fill_value": 0.5}}, seed=0).layers[0]
    out = _np(layer(images, training=True))
    for before, after in zip(images[..., 0], out[..., 0], strict=True):
        rows, cols = np.nonzero(after != before)
        assert rows.size > 0
        top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        assert np.all(after[top:bottom, left:right] == 0.5)  # the whole rectangle is filled
        outside = np.ones_like(before, dtype=bool)
        outside[top:bottom, left:right] = False
        np.testing.assert_array_equal(after[outside], before[outside])
        assert 1 <= bottom - top <= 17 and 1 <= right - left <= 17  # sides: sqrt(2..33 %) of 28
    noisy = _np(A.augmentation_layers({"erasing": {"probability": 1.0}}, seed=1)(images, training=True))
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0  # value_range (0, 1): noise fill stays in range
    assert np.all(np.any(noisy != images, axis=(1, 2, 3)))


@pytest.mark.backend_agnostic
def test_translate_factor_shorthand_and_spec_forms():
    seq = A.augmentation_layers({"translate": {"factor": 0.2}, "flip": None})
    translate = seq.get_layer("augment_translate")
    assert translate.height_factor == 0.2 and translate.width_factor == 0.2
    assert translate.fill_mode == "constant"
    assert [layer.name for layer in A.augmentation_layers("flip, zoom").layers] == ["augment_flip", "augment_zoom"]
    assert A.augmentation_layers([]) is None and A.augmentation_layers(None) is None
    assert A.split_spec(["flip", "mixup", "erasing"]) == ({"flip": {}, "erasing": {}}, {"mixup": {}})
    assert A.split_spec({"cutmix": {"alpha": 0.5}}) == ({}, {"cutmix": {"alpha": 0.5}})


@pytest.mark.backend_agnostic
def test_bad_specs_name_the_valid_choices():
    valid = "flip, translate, rotate, zoom, erasing, mixup, cutmix"
    with pytest.raises(ValueError, match=f"Unknown augmentation 'flop'; valid names: {valid}"):
        A.augmentation_layers(["flop"])
    with pytest.raises(ValueError, match="Unknown option.*'translate'; valid options:.*factor"):
        A.augmentation_layers({"translate": {"facter": 0.1}})
    with pytest.raises(ValueError, match="mix labels"):
        A.augmentation_layers(["flip", "mixup"])
    with pytest.raises(ValueError, match="valid options: alpha"):
        A.MixingDataset.from_spec(np.zeros((4, 28, 28, 1), "float32"), np.zeros(4, int), 2, 10, {"mixup": {"beta": 1}})
    with pytest.raises(ValueError, match="Labels must be in 0..9"):
        A.one_hot([0, 10], 10)


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("mixing", ["mixup", "cutmix"])
def test_mixed_labels_match_the_mixed_images(mixing):
    # Each image is constant with its own value and its own class, so where a mixed image's
    # pixels came from can be read off them and compared with the label weights exactly.
    batch = 16
    levels = ((np.arange(batch) + 1) / (batch + 1)).astype("float32")
    x = np.ones((batch, 28, 28, 1), "float32") * levels[:, None, None, None]
    dataset = A.MixingDataset.from_spec(x, np.arange(batch), batch, batch, [mixing], seed=4, shuffle=False)
    mixed_x, mixed_y = dataset[0]
    assert mixed_y.dtype == np.float32 and mixed_y.shape == (batch, batch)
    np.testing.assert_allclose(mixed_y.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(mixed_y >= 0) and np.all((mixed_y > 0).sum(axis=1) <= 2)
    assert np.mean((mixed_y > 0).sum(axis=1) == 2) > 0.5  # most images really got a partner
    np.testing.assert_allclose(mixed_x.mean(axis=(1, 2, 3)), mixed_y @ levels, atol=1e-5)
    if mixing == "cutmix":  # label weight of each source == fraction of its pixels in the image
        for i in range(batch):
            for k in np.flatnonzero(mixed_y[i]):
                assert np.mean(mixed_x[i] == levels[k]) == pytest.approx(mixed_y[i, k], abs=1e-6)
    else:  # MixUp blends the whole image with the same weights as the labels
        assert np.allclose(mixed_x, mixed_x[:, :1, :1, :], atol=1e-6)


def test_mixing_dataset_batches_real_images_and_reshuffles(small_fashion_mnist):
    data = small_fashion_mnist
    x, y = data.x_train[:300], data.y_train[:300]
    dataset = A.MixingDataset(x, y, 64, 10, mixup_alpha=0.2, cutmix_alpha=1.0, seed=0)
    assert len(dataset) == 5
    first_order = dataset._order.copy()
    for index in range(len(dataset)):
        images, labels = dataset[index]
        assert images.shape == (64 if index < 4 else 44, 28, 28, 1) and images.dtype == np.float32
        assert images.min() >= 0.0 and images.max() <= 1.0
        np.testing.assert_allclose(labels.sum(axis=1), 1.0, rtol=1e-6)
        assert np.all((labels > 0).sum(axis=1) <= 2)
    dataset.on_epoch_end()
    assert not np.array_equal(dataset._order, first_order)  # reshuffled each epoch
    again = A.MixingDataset(x, y, 64, 10, mixup_alpha=0.2, cutmix_alpha=1.0, seed=0)
    np.testing.assert_array_equal(again._order, first_order)  # same seed, same order
    plain = A.MixingDataset(x, y, 64, 10, shuffle=False)
    np.testing.assert_array_equal(plain[1][1], A.one_hot(y[64:128], 10))
    np.testing.assert_array_equal(plain[1][0], x[64:128])


@pytest.mark.slow
@pytest.mark.backend_agnostic
def test_model_fits_on_mixed_batches(small_fashion_mnist):
    data = small_fashion_mnist
    # batches of 16 like the other mixing tests: under JAX each new shape costs a compilation
    dataset = A.MixingDataset(data.x_train[:128], data.y_train[:128], 16, 10, mixup_alpha=0.2, cutmix_alpha=1.0)
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    )
    model.compile("adam", "categorical_crossentropy")
    history = model.fit(dataset, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"])) and len(history.history["loss"]) == 2


@pytest.mark.backend_agnostic
def test_mixing_stays_float32_under_mixed_precision(images):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")  # what kit.train sets while it fits
    try:
        for alphas in ({"cutmix_alpha": 1.0}, {"mixup_alpha": 0.2}):
            mixed_x, mixed_y = A.MixingDataset(images[:16], np.arange(16) % 10, 16, 10, **alphas)[0]
            assert mixed_x.dtype == np.float32 and mixed_y.dtype == np.float32
            np.testing.assert_allclose(mixed_y.sum(axis=1), 1.0, rtol=1e-6)
    finally:
        keras.config.set_dtype_policy(previous)


def test_model_with_augmentation_saves_and_loads_in_safe_mode(tmp_path, images):
    inputs = keras.Input((28, 28, 1))
    x = A.augmentation_layers(["flip", "translate", "rotate", "zoom", "erasing"], seed=0)(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    augmentation = loaded.get_layer("augmentation")
    assert [type(layer).__name__ for layer in augmentation.layers] == [
        "RandomFlip",
        "RandomTranslation",
        "RandomRotation",
        "RandomZoom",
        "RandomErasing",
    ]
    assert tuple(augmentation.get_layer("augment_erasing").value_range) == (0.0, 1.0)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)


@pytest.mark.backend_agnostic
def test_kit_cutmix_layer_round_trips_and_checks_alpha():
    layer = A.CutMix(alpha=0.5, seed=1)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, A.CutMix) and restored.alpha == 0.5
    with pytest.raises(ValueError, match="cutmix alpha"):
        A.CutMix(alpha=2.0)
