"""Fashion-MNIST from verified IDX files -> numpy arrays (homework step 1).

MINIMAL BOOTSTRAP VERSION: the data-layer issue replaces the internals (verification,
errors, caching, download); the public API below is the contract other modules use.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kit.errors import DatasetError

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class FashionMNIST:
    """The three splits as numpy arrays; images (N, 28, 28, 1), labels int64."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])

    def subset(self, train: int, val: int | None = None, test: int | None = None, seed: int = 0) -> "FashionMNIST":
        """A smaller, stratified copy (for tests and the smoke preset)."""
        rng = np.random.default_rng(seed)

        def pick(x, y, n):
            if n is None or n >= len(y):
                return x, y
            per_class = [np.flatnonzero(y == c) for c in np.unique(y)]
            take = np.concatenate([rng.choice(idx, size=max(1, n * len(idx) // len(y)), replace=False) for idx in per_class])
            take = np.sort(take)[:n]
            return x[take], y[take]

        x_train, y_train = pick(self.x_train, self.y_train, train)
        x_val, y_val = pick(self.x_val, self.y_val, val)
        x_test, y_test = pick(self.x_test, self.y_test, test)
        return replace(self, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, x_test=x_test, y_test=y_test)


def candidate_dirs(data_dir: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """Where the files are looked for, in order, as (source name, folder)."""
    found = []
    if data_dir is not None:
        found.append(("data_dir argument", Path(data_dir)))
    if os.environ.get("KIT_DATA_DIR"):
        found.append(("$KIT_DATA_DIR", Path(os.environ["KIT_DATA_DIR"])))
    found.append(("datasets/fashion-mnist", REPO_ROOT / "datasets" / "fashion-mnist"))
    found.append(("Debian package dataset-fashion-mnist", Path("/usr/share/datasets/fashion-mnist")))
    found.append(("Keras cache", Path.home() / ".keras" / "datasets" / "fashion-mnist"))
    return found


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion_mnist(data_dir=None, *, validation_size: int = 5000, seed: int = 0,
                       normalize: bool = True, download: bool = False) -> FashionMNIST:
    """Load the dataset; the validation split is stratified and carved from the training set."""
    for source, folder in candidate_dirs(data_dir):
        if all((folder / name).is_file() for name in FILES.values()):
            break
    else:
        raise DatasetError("Fashion-MNIST files not found; run `make data` or `apt-get install dataset-fashion-mnist`.")
    arrays = {key: _read_idx(folder / name) for key, name in FILES.items()}
    x_train, y_train = arrays["train_images"][..., None], arrays["train_labels"].astype(np.int64)
    x_test, y_test = arrays["test_images"][..., None], arrays["test_labels"].astype(np.int64)
    if normalize:
        x_train = x_train.astype(np.float32) / 255.0
        x_test = x_test.astype(np.float32) / 255.0
    if validation_size:
        from sklearn.model_selection import train_test_split

        idx_train, idx_val = train_test_split(np.arange(len(y_train)), test_size=validation_size,
                                              stratify=y_train, random_state=seed)
        x_val, y_val = x_train[idx_val], y_train[idx_val]
        x_train, y_train = x_train[idx_train], y_train[idx_train]
    else:
        x_val, y_val = x_train[:0], y_train[:0]
    return FashionMNIST(x_train, y_train, x_val, y_val, x_test, y_test, CLASS_NAMES, f"{source}: {folder}")
