"""Data augmentation (lecture "Training networks, part 2": flips, crops/scales, Cutout, Mixup).

Two kinds, routed by ``split_spec``:

* **In the model** (flip, translate, rotate, zoom, erasing): Keras preprocessing layers in a
  ``keras.Sequential`` named ``augmentation`` that ``kit.train`` puts right after the model's
  input. They run on the accelerator with the model, are active only in training
  (``training=True``) and are the identity at inference, so ``predict``/evaluation/grading see
  the clean images. They are Keras' own layers, so the model saves and loads with safe mode.
* **Batch mixing** (mixup, cutmix): they mix *labels* too, which a layer inside the model cannot
  do, so ``MixingDataset`` (a ``keras.utils.PyDataset``) mixes whole batches and yields one-hot
  float labels (train with ``categorical_crossentropy``; label smoothing is a loss option there).

Images are float32 in [0, 1], shape (28, 28, 1) (``kit.data.load_fashion_mnist``).
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from kit.errors import check_name, check_options

IN_MODEL: tuple[str, ...] = ("flip", "translate", "rotate", "zoom", "erasing")
MIXING: tuple[str, ...] = ("mixup", "cutmix")
AUGMENTATIONS: tuple[str, ...] = IN_MODEL + MIXING

__all__ = [
    "AUGMENTATIONS",
    "IN_MODEL",
    "MIXING",
    "split_spec",
    "augmentation_layers",
    "one_hot",
    "CutMix",
    "MixingDataset",
]

Spec = str | Sequence[str] | Mapping[str, Mapping[str, Any] | None] | None

# name -> (Keras layer, kit defaults). Fills are constant 0: Fashion-MNIST's background is black,
# so shifted/rotated/zoomed-out borders look like the data (Keras' default "reflect" mirrors the item).
_LAYERS: dict[str, tuple[type, dict[str, Any]]] = {
    "flip": (keras.layers.RandomFlip, {"mode": "horizontal"}),
    "translate": (keras.layers.RandomTranslation, {"factor": 0.1, "fill_mode": "constant", "fill_value": 0.0}),
    "rotate": (keras.layers.RandomRotation, {"factor": 0.03, "fill_mode": "constant", "fill_value": 0.0}),
    "zoom": (keras.layers.RandomZoom, {"factor": 0.1, "fill_mode": "constant", "fill_value": 0.0}),
    # Random Erasing (Zhong et al. 2017) / Cutout (DeVries & Taylor 2017): one rectangle of 2-33 %
    # of each side erased in half of the images; value_range must be (0, 1) for our images, else
    # Keras' noise fill is scaled to 0..255.
    "erasing": (
        keras.layers.RandomErasing,
        {"probability": 0.5, "scale": (0.02, 0.33), "fill_value": None, "value_range": (0.0, 1.0)},
    ),
}
# Options that are the kit's shorthands, not the Keras layer's own arguments.
_SHORTHANDS: dict[str, dict[str, str]] = {
    "translate": {"factor": "height_factor and width_factor (fraction of the image size)"},
    "zoom": {"factor": "height_factor (the width follows, keeping the aspect ratio)"},
    "erasing": {"probability": "chance that an image is erased (Keras' factor=(p, p))"},
}
_MIXING_DEFAULTS: dict[str, dict[str, float]] = {"mixup": {"alpha": 0.2}, "cutmix": {"alpha": 1.0}}


def _normalise(spec: Spec) -> dict[str, dict[str, Any]]:
    """Any accepted spec form -> {name: options} in the order given."""
    if spec is None:
        return {}
    if isinstance(spec, str):
        spec = [part for part in (p.strip() for p in spec.split(",")) if part]
    if isinstance(spec, Mapping):
        items = list(spec.items())
    elif isinstance(spec, Sequence):
        items = [(name, None) for name in spec]
    else:
        raise ValueError(f"An augmentation spec is a list of names or a dict name -> options; got {spec!r}.")
    out: dict[str, dict[str, Any]] = {}
    for name, options in items:
        key = check_name("augmentation", name, AUGMENTATIONS, normalize=True)
        if options is not None and not isinstance(options, Mapping):
            raise ValueError(
                f"Options of augmentation {key!r} must be a dict (e.g. {{'factor': 0.1}}); got {options!r}."
            )
        out[key] = dict(options or {})
    return out


def split_spec(spec: Spec) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Split a spec into (in-model spec, mixing spec), each a dict name -> options.

    The first goes to ``augmentation_layers``, the second to ``MixingDataset.from_spec``.
    """
    normal = _normalise(spec)
    in_model = {k: v for k, v in normal.items() if k in IN_MODEL}
    mixing = {k: v for k, v in normal.items() if k in MIXING}
    return in_model, mixing


def _layer_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Kit defaults + user options -> the Keras layer's keyword arguments."""
    layer_cls, defaults = _LAYERS[name]
    valid = set(inspect.signature(layer_cls.__init__).parameters) - {"self", "kwargs", "name", "seed"}
    valid |= set(_SHORTHANDS.get(name, {}))
    check_options(f"augmentation {name!r}", options, valid)
    kwargs = {**defaults, **options}
    if name == "translate":
        factor = kwargs.pop("factor")
        if "height_factor" not in options:
            kwargs["height_factor"] = factor
        if "width_factor" not in options:
            kwargs["width_factor"] = factor
    elif name == "zoom":
        factor = kwargs.pop("factor")
        if "height_factor" not in options:
            kwargs["height_factor"] = factor
    elif name == "erasing":
        probability = kwargs.pop("probability")
        if "factor" in options and "probability" in options:
            raise ValueError("Give erasing either 'probability' or Keras' 'factor', not both.")
        if "factor" not in options:
            if not 0.0 <= float(probability) <= 1.0:
                raise ValueError(f"erasing probability must be between 0 and 1; got {probability!r}.")
            kwargs["factor"] = (float(probability), float(probability))
    return kwargs


def augmentation_layers(spec: Spec, seed: int | None = None) -> keras.Sequential | None:
    """The in-model augmentations of ``spec`` as a ``keras.Sequential`` named ``augmentation`` (None if none).

    ``spec``: a list of names (``["flip", "translate"]``), a comma-separated string, or a dict
    name -> options (``{"translate": {"factor": 0.1}}``); options are the Keras layer's own
    arguments plus the shorthands ``factor`` (translate, zoom) and ``probability`` (erasing).
    ``seed`` makes the random draws reproducible (layer i gets ``seed + i``).
    MixUp/CutMix are refused here: they mix labels, so they belong to ``MixingDataset``.
    """
    in_model, mixing = split_spec(spec)
    if mixing:
        raise ValueError(
            f"{', '.join(mixing)} mix labels and cannot be layers of the model; "
            "route them with kit.augment.split_spec to MixingDataset."
        )
    if not in_model:
        return None
    layers = []
    for i, (name, options) in enumerate(in_model.items()):
        layer_cls, _ = _LAYERS[name]
        layers.append(
            layer_cls(**_layer_options(name, options), seed=None if seed is None else seed + i, name=f"augment_{name}")
        )
    return keras.Sequential(layers, name="augmentation")


def one_hot(y: np.ndarray | Sequence[int], num_classes: int) -> np.ndarray:
    """Integer labels (N,) -> one-hot float32 (N, num_classes): what mixing and label smoothing need."""
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"one_hot expects a 1-D array of integer class labels; got shape {y.shape}, dtype {y.dtype}.")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"Labels must be in 0..{num_classes - 1}; found {y.min()}..{y.max()}.")
    out = np.zeros((y.size, num_classes), dtype="float32")
    out[np.arange(y.size), y] = 1.0
    return out


@keras.saving.register_keras_serializable(package="kit")
class CutMix(keras.layers.CutMix):
    """Keras' CutMix (Yun et al. 2019) with the label weight equal to the pasted pixel fraction and Beta(alpha, alpha).

    Two small fixes over ``keras.layers.CutMix`` (3.15): its label weight comes from the
    continuous box size while the mask pastes whole pixels (off by up to a row and a column), and
    its Beta parameter is drawn from U(factor); here ``factor=(alpha, alpha)`` fixes it to alpha.
    """

    def __init__(self, alpha: float = 1.0, seed: int | None = None, **kwargs: Any) -> None:
        kwargs.pop("factor", None)
        if not 0.0 < float(alpha) <= 1.0:
            raise ValueError(f"cutmix alpha must be in (0, 1] (the paper uses 1.0); got {alpha!r}.")
        super().__init__(factor=(float(alpha), float(alpha)), seed=seed, **kwargs)
        self.alpha = float(alpha)

    def get_random_transformation(self, data, training=True, seed=None):
        transformation = super().get_random_transformation(data, training=training, seed=seed)
        if transformation is None:
            return None
        masks = self.backend.cast(transformation["batch_masks"], self.compute_dtype)
        pasted = self.backend.numpy.mean(masks, axis=(1, 2, 3))
        transformation["mix_weight"] = 1.0 - pasted
        return transformation

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("factor", None)
        return {**config, "alpha": self.alpha}


class MixingDataset(keras.utils.PyDataset):
    """Batches of (images, one-hot float32 labels) mixed with MixUp and/or CutMix, for ``model.fit``.

    MixUp (Zhang et al. 2018, ``keras.layers.MixUp``): image and label are
    ``lam * a + (1 - lam) * b`` with ``lam ~ Beta(mixup_alpha, mixup_alpha)``. CutMix (Yun et
    al. 2019): a rectangle of another image is pasted and the label weights are the area
    fractions. With both alphas > 0 each batch uses one of the two at random (as timm does).
    With both 0 the labels are just one-hot (e.g. for label smoothing). The partner of each image
    is another image of the same batch; rows of the labels sum to 1. Shuffled each epoch.
    Runs on the CPU in the input pipeline; the mixing is cheap next to the model.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        num_classes: int,
        *,
        mixup_alpha: float = 0.0,
        cutmix_alpha: float = 0.0,
        seed: int = 0,
        shuffle: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)  # workers / use_multiprocessing / max_queue_size
        x = np.asarray(x)
        if x.dtype == np.uint8:
            raise ValueError("MixingDataset expects float32 images in [0, 1]; load them with normalize=True.")
        if len(x) != len(y):
            raise ValueError(f"x and y have different lengths ({len(x)} and {len(y)}).")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
        if mixup_alpha < 0 or cutmix_alpha < 0:
            raise ValueError("mixup_alpha and cutmix_alpha must be >= 0 (0 turns that mixing off).")
        y = np.asarray(y)
        self.labels = np.asarray(y, dtype="float32") if y.ndim == 2 else one_hot(y, num_classes)
        if self.labels.shape[1] != num_classes:
            raise ValueError(f"One-hot labels have {self.labels.shape[1]} columns, expected {num_classes}.")
        self.images = x.astype("float32", copy=False)
        self.batch_size = int(batch_size)
        self.num_classes = int(num_classes)
        self.mixup_alpha = float(mixup_alpha)
        self.cutmix_alpha = float(cutmix_alpha)
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.epoch = 0
        # float32 whatever the global policy: under mixed_bfloat16 labels would lose precision
        # and Keras' CutMix fails on bfloat16 inputs.
        self._mixers: list[keras.layers.Layer] = []
        if self.mixup_alpha > 0:
            self._mixers.append(
                keras.layers.MixUp(alpha=self.mixup_alpha, seed=self.seed, name="mixup", dtype="float32")
            )
        if self.cutmix_alpha > 0:
            self._mixers.append(CutMix(alpha=self.cutmix_alpha, seed=self.seed + 1, name="cutmix", dtype="float32"))
        self._order = self._new_order()

    @classmethod
    def from_spec(
        cls, x: np.ndarray, y: np.ndarray, batch_size: int, num_classes: int, spec: Spec, **kwargs: Any
    ) -> MixingDataset:
        """Build from the mixing part of a spec, e.g. ``{"mixup": {"alpha": 0.2}}`` (defaults: 0.2, cutmix 1.0)."""
        _, mixing = split_spec(spec)
        alphas = {}
        for name, options in mixing.items():
            check_options(f"augmentation {name!r}", options, ["alpha"])
            alphas[f"{name}_alpha"] = float({**_MIXING_DEFAULTS[name], **options}["alpha"])
        return cls(x, y, batch_size, num_classes, **alphas, **kwargs)

    def _new_order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.images))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.images))

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= index < len(self):
            raise IndexError(f"Batch {index} out of range for {len(self)} batches.")
        take = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        images, labels = self.images[take], self.labels[take]
        if self._mixers and len(take) > 1:
            pick = np.random.default_rng([self.seed, self.epoch, index]).integers(len(self._mixers))
            with warnings.catch_warnings():  # Keras' MixUp asks JAX for an int64 arange (harmless, int32 used)
                warnings.filterwarnings("ignore", message="Explicitly requested dtype int64", category=UserWarning)
                mixed = self._mixers[pick]({"images": images, "labels": labels}, training=True)
            images = np.asarray(ops.convert_to_numpy(mixed["images"]), dtype="float32")
            labels = np.asarray(ops.convert_to_numpy(mixed["labels"]), dtype="float32")
        return images, labels

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._order = self._new_order()
