"""kit.evaluate: metrics equal scikit-learn's, confusion orientation, metrics.json, ensembles, TTA, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import (
    classification_report,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)

from kit.evaluate import Evaluation, ensemble, evaluate, from_probabilities, tta, tta_views

METRICS_KEYS = {"accuracy", "macro_f1", "weighted_f1", "per_class", "confusion_matrix", "most_confused", "n_test"}


def _probabilities_for(pred: np.ndarray, n_classes: int, confidence: float = 0.6, seed: int = 0) -> np.ndarray:
    """Rows whose argmax is ``pred``, the rest of the mass spread unevenly (no ties)."""
    rng = np.random.default_rng(seed)
    rest = rng.dirichlet(np.ones(n_classes - 1), size=len(pred)) * (1 - confidence)
    p = np.zeros((len(pred), n_classes))
    for i, c in enumerate(pred):
        p[i, np.arange(n_classes) != c] = rest[i]
        p[i, c] = confidence
    return p


def _tiny_model(seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((28, 28, 1), name="image")
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.MaxPooling2D(4, name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs, outputs, name=f"tiny_{seed}")
    model.compile(optimizer=keras.optimizers.Adam(0.005), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# --------------------------------------------------------------------------- metrics vs scikit-learn
@pytest.mark.backend_agnostic
def test_metrics_equal_scikit_learn_with_never_predicted_and_absent_classes(recwarn):
    # 5 classes: class 3 is never predicted, class 4 never occurs in y_true (but is predicted once).
    y_true = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 0])
    y_pred = np.array([0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 1, 4])
    probs = _probabilities_for(y_pred, 5)
    recwarn.clear()
    ev = evaluate(probs, None, y_true, class_names=["a", "b", "c", "d", "e"])
    assert [str(w.message) for w in recwarn] == []  # no UndefinedMetricWarning spam

    labels = np.arange(5)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    np.testing.assert_allclose(ev.precision, p)
    np.testing.assert_allclose(ev.recall, r)
    np.testing.assert_allclose(ev.f1, f)
    np.testing.assert_array_equal(ev.support, s)
    assert ev.f1[3] == 0.0 and ev.support[4] == 0 and ev.f1[4] == 0.0
    for average in ("macro", "weighted"):
        mp, mr, mf, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average, zero_division=0)
        assert getattr(ev, f"{average}_precision") == pytest.approx(mp)
        assert getattr(ev, f"{average}_recall") == pytest.approx(mr)
        assert getattr(ev, f"{average}_f1") == pytest.approx(mf)
    np.testing.assert_array_equal(ev.confusion, confusion_matrix(y_true, y_pred, labels=labels))
    assert ev.accuracy == pytest.approx(np.mean(y_true == y_pred))
    assert ev.top2_accuracy == pytest.approx(top_k_accuracy_score(y_true, probs, k=2, labels=labels))
    assert ev.loss == pytest.approx(log_loss(y_true, probs, labels=labels))
    assert ev.report_text == classification_report(
        y_true, y_pred, labels=labels, target_names=list("abcde"), digits=4, zero_division=0
    )
    # Row-normalised confusion: rows of present classes sum to 1, the absent class's row is 0.
    np.testing.assert_allclose(ev.confusion_normalized.sum(axis=1), [1, 1, 1, 1, 0])
    np.testing.assert_array_equal(ev.y_pred, y_pred)


@pytest.mark.backend_agnostic
def test_confusion_matrix_rows_are_true_columns_are_predicted():
    # Two "cat" images predicted "dog", one cat right, one dog right.
    y_true = np.array([0, 0, 0, 1])
    y_pred = np.array([1, 1, 0, 1])
    ev = evaluate(_probabilities_for(y_pred, 2, confidence=0.9), None, y_true, class_names=["cat", "dog"])
    np.testing.assert_array_equal(ev.confusion, [[1, 2], [0, 1]])
    assert ev.most_confused == [(0, 1, 2)]
    assert ev.to_dict()["most_confused"] == [{"true": "cat", "predicted": "dog", "count": 2}]
    np.testing.assert_allclose(ev.confusion_normalized, [[1 / 3, 2 / 3], [0, 1]])


def test_most_confused_sorted_and_top_losses_ordered():
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([1, 1, 2, 0, 1, 1, 1, 1, 2])
    ev = evaluate(_probabilities_for(y_pred, 3), None, y_true)
    assert ev.most_confused == [(2, 1, 3), (0, 1, 2), (0, 2, 1), (1, 0, 1)]
    p_true = ev.probabilities[np.arange(9), y_true]
    assert list(ev.top_losses[:1]) == [int(np.argmin(p_true))]
    assert np.all(np.diff(ev.losses[ev.top_losses]) <= 0)
    np.testing.assert_allclose(ev.losses, -np.log(p_true))
    table = ev.top_loss_table(3)
    assert list(table["index"]) == list(ev.top_losses[:3])


def test_sparse_one_hot_and_column_labels_agree():
    y = np.array([0, 1, 2, 2, 1])
    probs = _probabilities_for(np.array([0, 1, 1, 2, 1]), 3)
    sparse = evaluate(probs, None, y)
    assert evaluate(probs, None, np.eye(3)[y]).to_dict() == sparse.to_dict()
    assert evaluate(probs, None, y.reshape(-1, 1)).to_dict() == sparse.to_dict()
    assert evaluate(probs, None, y.astype(np.float32)).to_dict() == sparse.to_dict()


def test_metrics_json_keys_and_types():
    y = np.array([0, 1, 2, 2, 1, 0])
    d = evaluate(_probabilities_for(np.array([0, 1, 1, 2, 1, 2]), 3), None, y, ["x", "y", "z"]).to_dict()
    assert set(d) == METRICS_KEYS
    assert isinstance(d["accuracy"], float) and isinstance(d["macro_f1"], float) and isinstance(d["weighted_f1"], float)
    assert isinstance(d["n_test"], int) and d["n_test"] == 6
    assert [set(row) for row in d["per_class"]] == [{"class", "precision", "recall", "f1", "support"}] * 3
    assert [row["class"] for row in d["per_class"]] == ["x", "y", "z"]
    assert all(isinstance(row["support"], int) and isinstance(row["f1"], float) for row in d["per_class"])
    assert all(isinstance(v, int) for row in d["confusion_matrix"] for v in row)
    assert all(
        set(item) == {"true", "predicted", "count"} and isinstance(item["count"], int) for item in d["most_confused"]
    )
    assert json.loads(json.dumps(d)) == d  # JSON-ready as it is


def test_default_class_names_are_fashion_mnist():
    from kit.data import CLASS_NAMES

    ev = evaluate(np.full((2, 10), 0.1), None, np.array([0, 9]))
    assert ev.class_names == tuple(CLASS_NAMES)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "probs, y, message",
    [
        (np.full((3, 2), 0.5), np.array([0, 1]), "3 rows but y has 2 labels"),
        (np.full((2, 3), 1 / 3), np.array([0, 3]), r"labels must lie in \[0, 3\); found 3"),
        (np.full((2, 3), 1 / 3), np.array([-1, 0]), r"labels must lie in \[0, 3\); found -1"),
        (np.full((2, 3), 1 / 3), np.array([], dtype=int), "y is empty"),
        (np.zeros((0, 3)), np.array([0]), "probabilities are empty"),
        (np.full(3, 1 / 3), np.array([0, 1, 2]), r"shape \(N, num_classes\)"),
        (np.full((2, 3, 1), 1 / 3), np.array([0, 1]), r"shape \(N, num_classes\)"),
        (np.array([[2.0, -1.0], [0.5, 0.5]]), np.array([0, 1]), "sum to 1"),
        (np.array([[3.0, 1.0], [0.5, 0.5]]), np.array([0, 1]), "softmax"),
        (np.array([[np.nan, 1.0], [0.5, 0.5]]), np.array([0, 1]), "NaN"),
        (np.full((2, 2), 0.5), np.array([0.5, 1.0]), "integer class labels"),
    ],
)
def test_bad_input_gives_one_clear_value_error(probs, y, message):
    with pytest.raises(ValueError, match=message):
        evaluate(probs, None, y)


def test_bad_input_images_class_names_and_missing_model(tmp_path):
    with pytest.raises(ValueError, match="x has 3 images but y has 2 labels"):
        evaluate(np.full((2, 2), 0.5), np.zeros((3, 28, 28, 1)), np.array([0, 1]))
    with pytest.raises(ValueError, match="class_names has 3 names but the predictions have 2 classes"):
        evaluate(np.full((2, 2), 0.5), None, np.array([0, 1]), ["a", "b", "c"])
    with pytest.raises(ValueError, match="has no model.keras"):
        evaluate(tmp_path, np.zeros((2, 28, 28, 1)), np.array([0, 1]))
    with pytest.raises(ValueError, match="has no model.keras"):
        ensemble([tmp_path], np.zeros((2, 28, 28, 1)), np.array([0, 1]))
    with pytest.raises(ValueError, match="does not exist"):
        ensemble([tmp_path / "nope"], np.zeros((2, 28, 28, 1)), np.array([0, 1]))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.keras").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="could not load .* with Keras safe mode"):
        evaluate(tmp_path / "broken", np.zeros((2, 28, 28, 1)), np.array([0, 1]))
    with pytest.raises(ValueError, match="x is None"):
        evaluate(lambda images: images, None, np.array([0, 1]))
    with pytest.raises(ValueError, match="at least one member"):
        ensemble([], None, np.array([0, 1]))
    with pytest.raises(ValueError, match="disagree on the number of classes"):
        ensemble([np.full((2, 2), 0.5), np.full((2, 4), 0.25)], None, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        tta_views(np.zeros((2, 28, 28)))


# --------------------------------------------------------------------------- ensembles and TTA
@pytest.mark.backend_agnostic
def test_ensemble_averages_probabilities_then_takes_argmax():
    y = np.array([0, 1, 2])
    a = np.array([[0.6, 0.4, 0.0], [0.1, 0.8, 0.1], [0.5, 0.0, 0.5]])
    b = np.array([[0.0, 0.45, 0.55], [0.3, 0.6, 0.1], [0.0, 0.1, 0.9]])
    ev = ensemble([a, b], None, y)
    np.testing.assert_allclose(ev.probabilities, (a + b) / 2)
    # Row 0: members vote 0 and 2, the average says 1 (0.425) - averaging is not voting.
    np.testing.assert_array_equal(ev.y_pred, [1, 1, 2])
    assert ev.accuracy == pytest.approx(2 / 3)
    assert ev.extra["ensemble_size"] == 2 and ev.params is None


@pytest.mark.backend_agnostic
def test_tta_views_and_average_on_a_hand_made_predictor():
    x = np.zeros((2, 28, 28, 1), dtype=np.float32)
    x[0, 10, 3, 0] = 1.0  # a dot on the left
    x[1, 10, 20, 0] = 1.0  # a dot on the right
    views = dict(tta_views(x, shifts=True))
    assert list(views) == ["identity", "flip", "shift_up", "shift_down", "shift_left", "shift_right"]
    assert views["flip"][0, 10, 24, 0] == 1.0 and views["flip"][1, 10, 7, 0] == 1.0
    assert views["shift_down"][0, 12, 3, 0] == 1.0 and views["shift_up"][0, 8, 3, 0] == 1.0
    assert views["shift_right"][0, 10, 5, 0] == 1.0 and views["shift_left"][0, 10, 1, 0] == 1.0
    assert all(v.sum() == 2.0 for v in views.values())  # zero-filled shifts lose nothing here

    def left_right(images):  # class 0 = ink on the left half, 1 = ink on the right half
        left = images[:, :, :14].sum(axis=(1, 2, 3))
        share = left / images.sum(axis=(1, 2, 3))
        return np.stack([0.1 + 0.8 * share, 0.9 - 0.8 * share], axis=1)

    ev = tta(left_right, x, np.array([0, 1]))
    np.testing.assert_allclose(ev.probabilities, 0.5)  # a flip swaps left and right: the average is 0.5
    assert ev.extra["tta_views"] == ["identity", "flip"]
    plain = evaluate(left_right, x, np.array([0, 1]))
    assert plain.accuracy == 1.0


@pytest.mark.slow
@pytest.mark.backend_agnostic
def test_tta_and_evaluate_on_a_real_model(small_fashion_mnist):
    data = small_fashion_mnist
    x, y = data.x_test[:64], data.y_test[:64]
    model = _tiny_model(seed=1)  # untrained is enough: the arithmetic is what is checked
    plain = evaluate(model, x, y, data.class_names)
    np.testing.assert_allclose(plain.probabilities, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert plain.params == model.count_params()
    d = plain.to_dict()
    assert set(d) == METRICS_KEYS | {"params", "flops"}
    ev = tta(model, x, y, data.class_names)
    expected = (model.predict(x, verbose=0) + model.predict(x[:, :, ::-1], verbose=0)) / 2
    np.testing.assert_allclose(ev.probabilities, expected, rtol=1e-5, atol=1e-6)
    if plain.flops is not None:
        assert ev.flops == 2 * plain.flops


@pytest.mark.slow
def test_ensemble_of_two_differently_seeded_real_models(small_fashion_mnist, tmp_path):
    data = small_fashion_mnist
    run_dirs, members = [], []
    for seed in (1, 2):
        model = _tiny_model(seed)
        model.fit(data.x_train, data.y_train, epochs=2, batch_size=64, verbose=0)
        run_dir = tmp_path / f"run_{seed}"
        run_dir.mkdir()
        model.save(run_dir / "model.keras")
        run_dirs.append(run_dir)
        members.append(model.predict(data.x_test, verbose=0))
    assert not np.allclose(members[0], members[1])  # the seeds really differ
    ev = ensemble(run_dirs, data.x_test, data.y_test, data.class_names)
    assert isinstance(ev, Evaluation)
    mean = (members[0] + members[1]) / 2
    np.testing.assert_allclose(ev.probabilities, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ev.y_pred, mean.argmax(axis=1))
    assert ev.accuracy == pytest.approx(np.mean(mean.argmax(axis=1) == data.y_test))
    assert ev.accuracy > 0.5  # two epochs of a tiny CNN already beat chance (0.1) by far
    assert ev.params == 2 * _tiny_model(0).count_params()
    assert ev.to_dict()["n_test"] == len(data.y_test)
    # The same check from ready probability arrays gives identical numbers.
    assert from_probabilities(mean, data.y_test).to_dict()["confusion_matrix"] == ev.to_dict()["confusion_matrix"]
