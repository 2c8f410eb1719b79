"""Where a run happens: backend, device, library versions, seeds.

Every run folder and report records these (DESIGN.md: "Reproducible").
"""

from __future__ import annotations

import os
import platform
import random
from functools import lru_cache
from importlib import metadata

import keras
import numpy as np

from kit import __version__

_PACKAGES = ("keras", "tensorflow", "jax", "numpy", "scikit-learn", "pandas", "matplotlib", "keras-tuner")


def backend() -> str:
    """The Keras backend in use ('tensorflow' unless KERAS_BACKEND says otherwise)."""
    return keras.backend.backend()


@lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Installed versions of Python and the libraries a run depends on."""
    found = {"python": platform.python_version(), "kit": __version__}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """CPU feature flags from /proc/cpuinfo (empty where it cannot be read)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


@lru_cache(maxsize=1)
def accelerators() -> tuple[str, ...]:
    """Names of the GPUs the current backend can use (empty on a CPU-only machine)."""
    name = backend()
    try:
        if name == "jax":
            import jax

            return tuple(d.device_kind for d in jax.devices() if d.platform == "gpu")
        if name == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            return tuple(tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus)
        if name == "torch":
            import torch

            return tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    except Exception:  # noqa: BLE001 - a broken GPU driver (any error type) must not stop a CPU run
        return ()
    return ()


def device() -> str:
    """One line naming the hardware, e.g. 'GPU: NVIDIA H100' or 'CPU: Intel Xeon (2 cores)'."""
    gpus = accelerators()
    if gpus:
        return "GPU: " + ", ".join(gpus)
    return f"CPU: {_cpu_name()} ({os.cpu_count()} cores)"


def describe() -> dict:
    """Backend, device and versions as one JSON-ready dict (recorded in every run folder)."""
    return {"backend": backend(), "device": device(), "versions": versions()}


def set_seed(seed: int) -> None:
    """Seed Python, numpy and the Keras backend from one number."""
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
