"""Optimizers and losses by the lecture's names ("Training networks, part 2": SGD, momentum, Nesterov,
AdaGrad, RMSProp, Adam, AdamW, ...), and the cross-entropy loss with label smoothing.

Used by kit.train (the run), kit.callbacks (the LR range test) and kit.tune (checking a search
space); it imports nothing of the kit above kit.errors, so none of them import each other for it.
"""

from __future__ import annotations

import inspect
from typing import Any

import keras

from kit.errors import check_name, check_options

OPTIMIZERS: tuple[str, ...] = (
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adam",
    "adamw",
    "nadam",
    "adadelta",
)

# name -> (Keras class, the lecture's defaults on top of Keras' own)
_TABLE: dict[str, tuple[type, dict[str, Any]]] = {
    "sgd": (keras.optimizers.SGD, {}),
    "momentum": (keras.optimizers.SGD, {"momentum": 0.9}),  # lecture: rho 0.9 (or 0.99)
    "nesterov": (keras.optimizers.SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (keras.optimizers.Adagrad, {}),
    "rmsprop": (keras.optimizers.RMSprop, {}),
    "adam": (keras.optimizers.Adam, {}),  # beta1 0.9, beta2 0.999 (Keras defaults)
    "adamw": (keras.optimizers.AdamW, {}),
    "nadam": (keras.optimizers.Nadam, {}),
    "adadelta": (keras.optimizers.Adadelta, {}),
}


def check_optimizer(name: Any) -> str:
    """``name`` if it is one of ``OPTIMIZERS``, else ``ValueError`` listing them."""
    return check_name("optimizer", name, OPTIMIZERS)


def optimizer_options(name: str) -> list[str]:
    """The keyword options the Keras class behind optimizer ``name`` accepts (besides learning_rate)."""
    cls, _ = _TABLE[check_optimizer(name)]
    return sorted(p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "learning_rate", "kwargs"))


def make_optimizer(
    name: str, learning_rate: Any = 1e-3, *, ema_momentum: float | None = None, **options: Any
) -> keras.optimizers.Optimizer:
    """A Keras optimizer by the lecture's name; ``learning_rate`` may be a float or a schedule.

    momentum and nesterov are SGD with momentum 0.9 (Nesterov's variant for the latter);
    ``options`` go to the Keras class (e.g. ``weight_decay``, ``beta_1``, ``clipnorm``).
    ``ema_momentum`` (e.g. 0.99) also keeps an exponential moving average of the weights
    (Polyak averaging; Keras' ``use_ema=True``), which ``fit`` copies into the model at the end.
    """
    check_options(f"optimizer {name!r}", options, optimizer_options(name))
    if ema_momentum is not None:
        if not 0 <= ema_momentum < 1:
            raise ValueError(f"ema_momentum must be in [0, 1); got {ema_momentum!r}.")
        options = {**options, "use_ema": True, "ema_momentum": float(ema_momentum)}
    cls, defaults = _TABLE[name]
    return cls(learning_rate=learning_rate, **{**defaults, **options})


def make_loss(one_hot: bool, label_smoothing: float = 0.0) -> keras.losses.Loss:
    """Cross-entropy for sparse integer labels, or for one-hot labels (needed by label smoothing and MixUp/CutMix)."""
    if one_hot:
        return keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
    if label_smoothing:
        raise ValueError("label smoothing needs one-hot labels (one_hot=True).")
    return keras.losses.SparseCategoricalCrossentropy()
