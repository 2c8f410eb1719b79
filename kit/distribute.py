"""Data-parallel training on several devices: the kit's one backend-specific module.

Synchronous data parallelism (each device gets a slice of every batch; gradients are averaged)
through each backend's own API: TensorFlow's ``tf.distribute.MirroredStrategy`` and Keras'
``keras.distribution.DataParallel`` under JAX. TensorFlow is imported here only, and only when
asked, so the rest of the kit stays backend-agnostic (DESIGN.md).

On a machine without enough accelerators, ``use_logical_cpus(n)`` splits the CPU into ``n``
logical devices (how CI exercises the multi-device path); it must run before the backend
initialises its devices.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import keras

_JAX_HOST_FLAG = "--xla_force_host_platform_device_count"


def _backend() -> str:
    return keras.backend.backend()


def use_logical_cpus(n: int) -> None:
    """Expose the CPU as ``n`` logical devices (for data-parallel runs without ``n`` GPUs).

    TensorFlow: ``tf.config.set_logical_device_configuration``, only where fewer than ``n`` GPUs
    exist; JAX: the ``XLA_FLAGS`` host device count, which JAX reads when it first starts its CPU
    backend. Raises ``RuntimeError`` when the backend has already initialised its devices.
    """
    n = int(n)
    if n <= 1:
        return
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "jax" or _backend() == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        if _JAX_HOST_FLAG not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} {_JAX_HOST_FLAG}={n}".strip()
        return
    if _backend() != "tensorflow":
        return
    import tensorflow as tf

    if len(tf.config.list_physical_devices("GPU")) >= n:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) >= n:
        return
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])


def available_devices() -> list[Any]:
    """The devices a data-parallel run would use: the GPUs if any, else the (logical) CPUs."""
    name = _backend()
    if name == "tensorflow":
        import tensorflow as tf

        return tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    if name == "jax":
        import jax

        return list(jax.devices())
    return []


@contextmanager
def strategy_scope(devices: int | None = None) -> Iterator[Any]:
    """Context in which to build, compile and fit a model data-parallel on ``devices`` devices.

    ``devices`` None or 1: no distribution (yields None; plain Keras, no overhead). Otherwise
    yields the ``MirroredStrategy`` (TensorFlow) or ``DataParallel`` distribution (JAX). The
    batch size stays global: each of the ``n`` devices computes ``batch_size / n`` images.
    """
    if devices is None or int(devices) <= 1:
        yield None
        return
    devices = int(devices)
    name = _backend()
    pool = available_devices()
    if len(pool) < devices:
        raise ValueError(
            f"--devices {devices} asked but the {name} backend sees {len(pool)} device(s); "
            f"use --devices {len(pool) or 1}, or call kit.distribute.use_logical_cpus({devices}) "
            "before Keras starts to split the CPU."
        )
    if name == "tensorflow":
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy(devices=[d.name for d in pool[:devices]])
        with strategy.scope():
            yield strategy
    elif name == "jax":
        distribution = keras.distribution.DataParallel(devices=pool[:devices])
        with distribution.scope():
            yield distribution
    else:
        raise ValueError(f"data-parallel training is supported under the tensorflow and jax backends, not {name!r}.")


def replicas() -> int:
    """How many devices the current distribution scope trains on (1 outside any)."""
    name = _backend()
    if name == "tensorflow":
        import tensorflow as tf

        return int(tf.distribute.get_strategy().num_replicas_in_sync)
    if name == "jax":
        distribution = keras.distribution.distribution()
        return len(distribution.device_mesh.devices.reshape(-1)) if distribution is not None else 1
    return 1


def gpu_compute_capability() -> float | None:
    """Compute capability of the first GPU (e.g. 8.0 for A100, 9.0 for H100), None without a GPU.

    Used by ``kit.train`` to choose precision candidates: bfloat16 needs >= 8.0 (Ampere),
    float16 tensor cores >= 7.0 (Volta).
    """
    name = _backend()
    try:
        if name == "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform == "gpu"]
            if gpus and getattr(gpus[0], "compute_capability", None):
                return float(gpus[0].compute_capability)
            return None
        if name == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                major, minor = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
                return float(f"{major}.{minor}")
    except Exception:  # noqa: BLE001 - a broken GPU driver (any error type) must not stop a CPU run
        return None
    return None
