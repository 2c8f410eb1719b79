"""kit.optimizers: every lecture optimizer by name, option checks, the cross-entropy losses."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kit.optimizers import OPTIMIZERS, make_loss, make_optimizer


@pytest.mark.backend_agnostic
def test_every_optimizer_name_builds_and_steps():
    variable = keras.Variable(np.ones(3, dtype="float32"))
    for name in OPTIMIZERS:
        optimizer = make_optimizer(name, 0.1)
        assert isinstance(optimizer, keras.optimizers.Optimizer), name
        before = keras.ops.convert_to_numpy(variable).copy()
        optimizer.apply_gradients([(keras.ops.ones(3), variable)])
        assert np.all(keras.ops.convert_to_numpy(variable) < before), f"{name} did not descend"
    assert make_optimizer("momentum").momentum == 0.9
    assert make_optimizer("nesterov").nesterov is True
    assert make_optimizer("adamw", weight_decay=1e-4).weight_decay == 1e-4


@pytest.mark.backend_agnostic
def test_unknown_optimizer_and_option_list_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown optimizer 'adamm'; valid names: sgd, momentum, nesterov"):
        make_optimizer("adamm")
    with pytest.raises(ValueError, match="Unknown option.*momentun.*valid options: .*momentum"):
        make_optimizer("sgd", 0.1, momentun=0.9)


@pytest.mark.backend_agnostic
def test_losses_sparse_one_hot_and_label_smoothing():
    sparse = make_loss(one_hot=False)
    smoothed = make_loss(one_hot=True, label_smoothing=0.1)
    assert isinstance(sparse, keras.losses.SparseCategoricalCrossentropy)
    assert isinstance(smoothed, keras.losses.CategoricalCrossentropy) and smoothed.label_smoothing == 0.1
    probabilities = np.array([[0.9, 0.05, 0.05]], dtype="float32")
    plain = float(make_loss(one_hot=True)(np.array([[1.0, 0, 0]], dtype="float32"), probabilities))
    assert np.isclose(float(sparse(np.array([0]), probabilities)), plain, atol=1e-6)
    assert float(smoothed(np.array([[1.0, 0, 0]], dtype="float32"), probabilities)) > plain  # smoothing costs
    with pytest.raises(ValueError, match="label smoothing needs one-hot labels"):
        make_loss(one_hot=False, label_smoothing=0.1)


@pytest.mark.backend_agnostic
def test_weight_decay_is_decoupled_from_the_momentum():
    """Keras shrinks w by lr * weight_decay each step, outside the momentum (AdamW-style): why the
    recipes' 1e-2 is of the order of the classic L2 5e-4 with momentum 0.9 (kit/recipes.py)."""
    variable = keras.Variable(np.ones(2, dtype="float32"))
    optimizer = make_optimizer("nesterov", 0.1, weight_decay=1e-2)
    for _ in range(3):  # a zero gradient: only the decay acts, and the momentum never sees it
        optimizer.apply_gradients([(keras.ops.zeros(2), variable)])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(variable), (1 - 0.1 * 1e-2) ** 3, rtol=1e-6)
