"""Shared fixtures: the real Fashion-MNIST files, loaded once per test session."""

from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# `kit check` keeps results of unchanged files (kit.check.cache_dir): a test session starts with an empty cache
os.environ["KIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="kit-test-check-cache-")


def _jax_missing() -> bool:
    if os.environ.get("KERAS_BACKEND") != "jax":
        return False
    try:
        import jax  # noqa: F401
    except ImportError:
        return True
    return False


def pytest_collection_modifyitems(config, items):
    if _jax_missing():
        skip = pytest.mark.skip(reason="KERAS_BACKEND=jax but jax is not installed")
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def fashion_mnist():
    """The whole dataset (55,000 train / 5,000 validation / 10,000 test), normalised."""
    from kit.data import load_fashion_mnist

    return load_fashion_mnist()


@pytest.fixture(scope="session")
def raw_fashion_mnist():
    """The files as they are: 60,000 train / 10,000 test uint8 images, no validation split."""
    from kit.data import load_fashion_mnist

    return load_fashion_mnist(validation_size=0, normalize=False)


@pytest.fixture(scope="session")
def small_fashion_mnist(fashion_mnist):
    """A stratified subset for fast training tests: 2,000 train / 500 validation / 1,000 test."""
    return fashion_mnist.subset(train=2000, val=500, test=1000, seed=0)


@pytest.fixture(scope="session")
def homework_runner():
    """The Fashion-MNIST homework's runner module (its runner.py), imported once."""
    from kit.assignments import get

    return get("fashion_mnist").load_runner()


@pytest.fixture(scope="session")
def homework_checks():
    """The Fashion-MNIST homework's check kinds and judges (its checks.py), imported once."""
    from kit.assignments import get

    return get("fashion_mnist").load_module("checks.py")
