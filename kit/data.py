"""Fashion-MNIST from verified IDX files -> numpy arrays (get the data, verified, before anything else).

The four files (Xiao, Rasul & Vollgraf 2017, Zalando Research) are looked for in a fixed
order (``candidate_dirs``), every file is verified (gzip, IDX header, 28x28, counts, and the
SHA-256 of its *decompressed* payload against ``datasets/fashion-mnist/SHA256SUMS``), and the
validation split is stratified and carved from the training set only: the test set is never
looked at while a model is chosen (unlike the classic Keras example, which validated on it).

Loaded arrays are kept per process, and for the standard locations also in an ``.npz`` in
``datasets/fashion-mnist/`` (git-ignored), so that repeated loads are instant. Every problem
with the files is one ``DatasetError`` sentence naming the file and the fix.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from kit import REPO_ROOT
from kit.errors import DatasetError, check_name

if TYPE_CHECKING:
    import pandas as pd

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
DATASET_DIR = REPO_ROOT / "datasets" / "fashion-mnist"
# The checksums: datasets/fashion-mnist/SHA256SUMS; a kit installed with pip carries its own copy
# inside the package (pyproject.toml installs datasets/ as kit/_datasets/) and trusts that one.
_INSTALLED_MANIFEST = Path(__file__).resolve().parent / "_datasets" / "fashion-mnist" / "SHA256SUMS"
MANIFEST = _INSTALLED_MANIFEST if _INSTALLED_MANIFEST.is_file() else DATASET_DIR / "SHA256SUMS"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"
# Zalando's own location first (the README of github.com/zalandoresearch/fashion-mnist), then the
# mirror keras.datasets.fashion_mnist uses; $KIT_DATA_URL replaces both. Integrity comes from SHA256SUMS.
UPSTREAM_URLS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
)
IMAGE_SIZE = (28, 28)
EXPECTED_COUNTS = {"train": 60_000, "test": 10_000}
# IDX magic numbers: 0x0000 0803 (unsigned bytes, 3 dims) and 0x0000 0801 (unsigned bytes, 1 dim).
IDX_MAGIC = {"images": 2051, "labels": 2049}
_SPLIT_NAMES = {"train": "training", "test": "test"}
_CACHE_VERSION = 1


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

    def __repr__(self) -> str:
        return (
            f"FashionMNIST(train={len(self.y_train)}, val={len(self.y_val)}, test={len(self.y_test)}, "
            f"dtype={self.x_train.dtype}, source={self.source!r})"
        )

    def subset(self, train: int, val: int | None = None, test: int | None = None, seed: int = 0) -> FashionMNIST:
        """A smaller, stratified copy (for tests and the smoke preset); ``None`` keeps a split whole."""
        x_train, y_train = _stratified_pick(self.x_train, self.y_train, train, seed)
        x_val, y_val = _stratified_pick(self.x_val, self.y_val, val, seed)
        x_test, y_test = _stratified_pick(self.x_test, self.y_test, test, seed)
        return replace(self, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, x_test=x_test, y_test=y_test)

    def select_classes(self, classes: Sequence[int | str]) -> FashionMNIST:
        """Only the images of ``classes`` (indices or names), relabelled 0..k-1 in the given order.

        For transfer learning (lecture "Training networks, part 1"): train on some classes,
        reuse the features on the others.
        """
        index = [self.class_names.index(c) if isinstance(c, str) and c in self.class_names else c for c in classes]
        if not index or any(not isinstance(c, (int, np.integer)) or not 0 <= c < self.num_classes for c in index):
            raise ValueError(
                f"classes must be indices 0..{self.num_classes - 1} or names from {', '.join(self.class_names)}; "
                f"got {list(classes)!r}."
            )
        if len(set(index)) != len(index):
            raise ValueError(f"classes must not repeat; got {list(classes)!r}.")
        relabel = np.full(self.num_classes, -1, dtype=np.int64)
        relabel[index] = np.arange(len(index))

        def pick(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            keep = relabel[y] >= 0
            return x[keep], relabel[y[keep]]

        x_train, y_train = pick(self.x_train, self.y_train)
        x_val, y_val = pick(self.x_val, self.y_val)
        x_test, y_test = pick(self.x_test, self.y_test)
        names = tuple(self.class_names[c] for c in index)
        return replace(
            self,
            x_train=x_train,
            y_train=y_train,
            x_val=x_val,
            y_val=y_val,
            x_test=x_test,
            y_test=y_test,
            class_names=names,
        )


def _stratified_pick(x: np.ndarray, y: np.ndarray, n: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` examples with the class proportions of ``y`` (original order kept)."""
    if n is None or n >= len(y):
        return x, y
    if n < 0:
        raise ValueError(f"subset sizes must be >= 0 or None; got {n}")
    classes = np.unique(y)
    if n < len(classes):  # too few to hold every class: a plain random pick
        take = np.random.default_rng(seed).choice(len(y), size=n, replace=False)
    else:
        from sklearn.model_selection import train_test_split

        take, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    take = np.sort(take)
    return x[take], y[take]


# --------------------------------------------------------------------------- where the files are


def candidate_dirs(data_dir: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """Where the files are looked for, in order, as (source name, folder)."""
    found = []
    if data_dir is not None:
        found.append(("data_dir argument", Path(data_dir)))
    if os.environ.get("KIT_DATA_DIR"):
        found.append(("$KIT_DATA_DIR", Path(os.environ["KIT_DATA_DIR"])))
    found.append(("datasets/fashion-mnist", DATASET_DIR))
    found.append((f"Debian package {DEBIAN_PACKAGE}", DEBIAN_DIR))
    keras_home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    found.append(("Keras cache", keras_home / "datasets" / "fashion-mnist"))
    return found


def _download_hint(folder: Path | None = None) -> str:
    if folder is None or _same_dir(folder, DATASET_DIR):
        return "run `make data` (Debian package, else download) or `python -m kit data --download`"
    return f"run `python -m kit data --download --data-dir {folder}`"


def _replace_hint(folder: Path) -> str:
    """How to get a good copy of a bad file in ``folder``."""
    if _same_dir(folder, DEBIAN_DIR):
        return f"reinstall it with `apt-get install --reinstall {DEBIAN_PACKAGE}`"
    return f"delete it and {_download_hint(folder)}, which fetches a verified copy"


def _shown(path: Path) -> str:
    """``path`` relative to the repository where it lies in it (datasets/fashion-mnist/SHA256SUMS), else in full."""
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def find_data_dir(data_dir: str | os.PathLike | None = None) -> tuple[str, Path]:
    """The first folder in the resolution order that holds the files, as (source name, folder).

    An explicit folder (``data_dir`` or ``$KIT_DATA_DIR``) is used as given, never skipped:
    if it lacks files that is an error, not a reason to read some other copy silently.
    """
    candidates = candidate_dirs(data_dir)
    explicit = [c for c in candidates if c[0] in ("data_dir argument", "$KIT_DATA_DIR")]
    if explicit:
        source, folder = explicit[0]
        given = "set in $KIT_DATA_DIR" if source == "$KIT_DATA_DIR" else "given as data_dir / --data-dir"
        if not folder.exists():
            raise DatasetError(
                f"Fashion-MNIST folder {folder} ({given}) does not exist; point it at the folder "
                f"holding the four .gz files or {_download_hint(folder)}."
            )
        if not folder.is_dir():
            raise DatasetError(
                f"Fashion-MNIST folder {folder} ({given}) is not a folder; point it at the folder "
                f"holding the four .gz files or {_download_hint(folder)}."
            )
        _check_all_present(folder)
        return source, folder
    partial = []
    for source, folder in candidates:
        present = [name for name in FILES.values() if (folder / name).exists()]
        if len(present) == len(FILES):
            return source, folder
        if present:
            partial.append(folder)
    if partial:  # e.g. an interrupted download: name the file that is missing there
        _check_all_present(partial[0])
    searched = ", ".join(str(folder) for _, folder in candidates)
    raise DatasetError(
        f"Fashion-MNIST files not found in {searched}; {_download_hint()}, or `apt-get install {DEBIAN_PACKAGE}`."
    )


def _check_all_present(folder: Path) -> None:
    for name in FILES.values():
        if not (folder / name).exists():
            raise DatasetError(f"Fashion-MNIST file {folder / name} is missing; {_download_hint(folder)}.")


# --------------------------------------------------------------------------- reading and verifying


def read_manifest(path: str | os.PathLike = MANIFEST) -> dict[str, str]:
    """``{file name: SHA-256 of its decompressed payload}`` from a ``sha256sum``-style file."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise DatasetError(
            f"checksum manifest {path} cannot be read ({error.strerror or error}); restore it "
            f"from the repository (`git checkout -- datasets/fashion-mnist/SHA256SUMS`)."
        ) from None
    sums = {}
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DatasetError(
                f"checksum manifest {path} line {number} is not 'SHA256  FILE'; restore it from the "
                f"repository (`git checkout -- datasets/fashion-mnist/SHA256SUMS`)."
            )
        sums[parts[1].lstrip("*")] = parts[0].lower()
    missing = [name for name in FILES.values() if name not in sums]
    if missing:
        raise DatasetError(
            f"checksum manifest {path} has no entry for {', '.join(missing)}; restore it from the "
            f"repository (`git checkout -- datasets/fashion-mnist/SHA256SUMS`)."
        )
    return sums


def _decompress(path: Path) -> bytes:
    """The payload of one .gz file, or a DatasetError naming the file and the fix."""
    fix = _replace_hint(path.parent)
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise DatasetError(
            f"{path} is a folder, not a file; remove it and put the .gz file there ({_download_hint(path.parent)})."
        ) from None
    except OSError as error:
        raise DatasetError(
            f"cannot read {path} ({error.strerror or error}); make it readable (`chmod a+r {path}`) or {fix}."
        ) from None
    if not raw:
        raise DatasetError(f"{path} is empty (0 bytes), probably an interrupted copy or download; {fix}.")
    if raw[:2] != b"\x1f\x8b":
        raise DatasetError(
            f"{path} is not a gzip file (it starts with {raw[:4]!r}, gzip starts with b'\\x1f\\x8b'); {fix}."
        )
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise DatasetError(
            f"{path} is a truncated gzip file (its compressed stream ends early after {len(raw)} bytes); {fix}."
        ) from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise DatasetError(f"{path} is a corrupt gzip file ({error}); {fix}.") from None


def _parse_idx(payload: bytes, path: Path, kind: str) -> np.ndarray:
    """IDX bytes -> uint8 array, checking magic number, dimensions and length."""
    fix = _replace_hint(path.parent)
    if len(payload) < 4:
        raise DatasetError(f"{path} is too short ({len(payload)} bytes) to hold an IDX header; {fix}.")
    magic = int.from_bytes(payload[:4], "big")
    if magic != IDX_MAGIC[kind]:
        other = {v: k for k, v in IDX_MAGIC.items()}.get(magic)
        looks = f" (that of an IDX {other} file)" if other else ""
        raise DatasetError(
            f"{path} has IDX magic number {magic}{looks}, expected {IDX_MAGIC[kind]} for Fashion-MNIST {kind}; {fix}."
        )
    ndim = payload[3]
    header = 4 + 4 * ndim
    if len(payload) < header:
        raise DatasetError(f"{path} ends inside its IDX header ({len(payload)} bytes); {fix}.")
    dims = tuple(int.from_bytes(payload[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if kind == "images" and dims[1:] != IMAGE_SIZE:
        size = "x".join(map(str, dims[1:])) or "no"
        raise DatasetError(f"{path} holds images of {size} pixels, expected 28x28 for Fashion-MNIST; {fix}.")
    expected_bytes = header + int(np.prod(dims, dtype=np.int64))
    if len(payload) != expected_bytes:
        raise DatasetError(
            f"{path} holds {len(payload) - header} bytes of data but its IDX header "
            f"{'x'.join(map(str, dims))} promises {expected_bytes - header}; {fix}."
        )
    array = np.frombuffer(payload, dtype=np.uint8, offset=header).reshape(dims)
    if kind == "labels" and array.size and array.max() >= len(CLASS_NAMES):
        raise DatasetError(f"{path} holds label {int(array.max())}, expected labels 0-{len(CLASS_NAMES) - 1}; {fix}.")
    return array


def read_idx(path: str | os.PathLike, kind: str) -> np.ndarray:
    """One gzipped IDX file as a uint8 array; ``kind`` is 'images' or 'labels' (checks magic and shape)."""
    if kind not in IDX_MAGIC:
        check_name("IDX kind", kind, IDX_MAGIC)
    path = Path(path)
    return _parse_idx(_decompress(path), path, kind)


def _read_folder(folder: Path) -> dict[str, np.ndarray]:
    """All four files of ``folder``, verified; raw uint8 arrays keyed like ``FILES``.

    Checks run from the most specific to the most general (each file's own structure, then
    images against labels, then the expected counts, then the checksums), so the sentence
    names the real problem.
    """
    _check_all_present(folder)
    sums = read_manifest()
    payloads, arrays = {}, {}
    for key, name in FILES.items():
        payloads[key] = _decompress(folder / name)
        arrays[key] = _parse_idx(payloads[key], folder / name, key.split("_")[1])
    for split in ("train", "test"):
        images_path, labels_path = folder / FILES[f"{split}_images"], folder / FILES[f"{split}_labels"]
        n_images, n_labels = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if n_images != n_labels:
            raise DatasetError(
                f"{images_path} holds {n_images} images but {labels_path} holds {n_labels} "
                f"labels, so they cannot belong together; {_replace_hint(folder)}."
            )
    for split in ("train", "test"):
        images_path, count = folder / FILES[f"{split}_images"], len(arrays[f"{split}_images"])
        if count != EXPECTED_COUNTS[split]:
            raise DatasetError(
                f"{images_path} holds {count} images, expected {EXPECTED_COUNTS[split]} for "
                f"the Fashion-MNIST {_SPLIT_NAMES[split]} set; {_replace_hint(folder)}."
            )
    for key, name in FILES.items():
        digest = hashlib.sha256(payloads[key]).hexdigest()
        if digest != sums[name]:
            raise DatasetError(
                f"{folder / name} does not match its checksum (SHA-256 of the decompressed data is "
                f"{digest[:12]}..., {_shown(MANIFEST)} says {sums[name][:12]}...), "
                f"so it is corrupt or not Fashion-MNIST; {_replace_hint(folder)}."
            )
    return arrays


def verify(data_dir: str | os.PathLike | None = None) -> tuple[str, Path]:
    """Find and fully verify the files (no cache is trusted); returns (source name, folder)."""
    source, folder = find_data_dir(data_dir)
    _remember(folder, _read_folder(folder))
    return source, folder


# --------------------------------------------------------------------------- caches

_MEMORY_CACHE: dict[tuple, dict[str, np.ndarray]] = {}
_MEMORY_CACHE_SIZE = 3  # copies of the dataset (55 MB each) kept per process, most recent first out last


def _signature(folder: Path) -> tuple | None:
    """What identifies the files' contents cheaply: path, size, mtime of each, plus the manifest."""
    try:
        parts = [MANIFEST.read_bytes()]
        for name in FILES.values():
            stat = (folder / name).stat()
            parts.append((str((folder / name).resolve()), stat.st_size, stat.st_mtime_ns))
    except OSError:  # reading the files will say what is wrong
        return None
    return tuple(parts)


def _npz_path(folder: Path) -> Path:
    return DATASET_DIR / f"cache-{hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:10]}.npz"


def _signature_digest(signature: tuple) -> str:
    return hashlib.sha256(repr((_CACHE_VERSION, signature)).encode()).hexdigest()


def _load_npz(folder: Path, signature: tuple) -> dict[str, np.ndarray] | None:
    path = _npz_path(folder)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["signature"]) != _signature_digest(signature):
                return None
            return {key: stored[key] for key in FILES}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # a broken or foreign cache is rebuilt
        return None


def _save_npz(folder: Path, signature: tuple, arrays: dict[str, np.ndarray]) -> None:
    target = _npz_path(folder)
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".cache-", suffix=".npz")
    except OSError:  # read-only checkout: the cache is only an optimisation
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, signature=np.array(_signature_digest(signature)), **arrays)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the data are public
        os.replace(temporary, target)  # atomic: a concurrent reader sees the old file or the new one
    except OSError:
        Path(temporary).unlink(missing_ok=True)


def _remember(folder: Path, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    for array in arrays.values():
        array.flags.writeable = False  # shared by every load in this process
    signature = _signature(folder)
    if signature is not None:
        _MEMORY_CACHE.pop(signature, None)
        _MEMORY_CACHE[signature] = arrays
        while len(_MEMORY_CACHE) > _MEMORY_CACHE_SIZE:
            del _MEMORY_CACHE[next(iter(_MEMORY_CACHE))]
    return arrays


def clear_cache() -> None:
    """Forget the arrays kept in this process (the .npz files are checked against the files anyway)."""
    _MEMORY_CACHE.clear()


def _load_raw(folder: Path, *, standard_location: bool) -> dict[str, np.ndarray]:
    """Verified uint8 arrays of ``folder``: from memory, the .npz cache, or the files themselves.

    The caches are keyed by each file's path, size and modification time and by the manifest,
    so a replaced or edited file is verified again.
    """
    signature = _signature(folder)
    arrays = _MEMORY_CACHE.get(signature) if signature is not None else None
    if arrays is None and standard_location and signature is not None:
        arrays = _load_npz(folder, signature)
    if arrays is None:
        arrays = _read_folder(folder)
        if standard_location and signature is not None:
            _save_npz(folder, signature, arrays)
    return _remember(folder, arrays)


# --------------------------------------------------------------------------- download


def download_fashion_mnist(
    target_dir: str | os.PathLike | None = None, *, base_url: str | None = None, timeout: float = 60.0
) -> Path:
    """Fetch the files missing (or failing their checksum) in ``target_dir`` and verify them.

    ``target_dir`` defaults to ``datasets/fashion-mnist/``; the base URL to ``$KIT_DATA_URL``, else
    Zalando's location, then Keras' mirror. Each file lands under a temporary name and is renamed
    only once its decompressed SHA-256 matches the manifest, so an interrupted download leaves nothing.
    """
    target = Path(target_dir) if target_dir is not None else DATASET_DIR
    base_url = base_url or os.environ.get("KIT_DATA_URL")
    bases = [base_url] if base_url else list(UPSTREAM_URLS)
    sums = read_manifest()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatasetError(
            f"cannot create the dataset folder {target} ({error.strerror or error}); choose a "
            f"writable folder with --data-dir."
        ) from None
    for name in FILES.values():
        path = target / name
        if path.is_file() and _payload_matches(path, sums[name]):
            continue
        _download_one(name, target, bases, sums[name], timeout)
    _remember(target, _read_folder(target))
    return target


def _download_target(data_dir: str | os.PathLike | None) -> Path:
    """Where a download goes: the explicit folder if there is one, else datasets/fashion-mnist/."""
    if data_dir is not None:
        return Path(data_dir)
    if os.environ.get("KIT_DATA_DIR"):
        return Path(os.environ["KIT_DATA_DIR"])
    return DATASET_DIR


def _payload_matches(path: Path, digest: str) -> bool:
    try:
        return hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest() == digest
    except (OSError, EOFError, zlib.error):
        return False


def _download_one(name: str, target: Path, bases: list[str], digest: str, timeout: float) -> None:
    import urllib.error
    import urllib.request  # here, not at the top: only a download needs it

    failures = []
    for base in bases:
        url = base.rstrip("/") + "/" + name
        part = target / f".{name}.part"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as handle:
                shutil.copyfileobj(response, handle)
        except urllib.error.HTTPError as error:
            part.unlink(missing_ok=True)
            failures.append(f"{url}: HTTP {error.code} {error.reason}")
            continue
        except (urllib.error.URLError, OSError, ValueError) as error:
            part.unlink(missing_ok=True)
            failures.append(f"{url}: {getattr(error, 'reason', None) or error}")
            continue
        if _payload_matches(part, digest):
            os.replace(part, target / name)
            return
        part.unlink(missing_ok=True)
        failures.append(f"{url}: its decompressed SHA-256 does not match {MANIFEST.name}")
    raise DatasetError(
        f"could not download {name} ({'; '.join(failures)}); check the internet connection, "
        f"or `apt-get install {DEBIAN_PACKAGE}`, or copy the four files into {target}."
    )


# --------------------------------------------------------------------------- loading


def load_fashion_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    validation_size: int | float = 5000,
    seed: int = 0,
    normalize: bool = True,
    download: bool = False,
) -> FashionMNIST:
    """Load the verified dataset with a stratified validation split carved from the training set.

    ``validation_size``: number of training images held out (or a fraction in (0, 1)); 0 gives
    no validation split. ``normalize``: float32 in [0, 1], else the raw uint8. ``download``: fetch
    the files into ``data_dir`` (or ``datasets/fashion-mnist/``) when they are not found.
    """
    _check_validation_size(validation_size)
    explicit = data_dir is not None or bool(os.environ.get("KIT_DATA_DIR"))
    try:
        source, folder = find_data_dir(data_dir)
        arrays = _load_raw(folder, standard_location=not explicit)
    except DatasetError:
        if not download:
            raise
        folder = download_fashion_mnist(_download_target(data_dir))  # fetches what is missing or bad
        source = f"downloaded from {os.environ.get('KIT_DATA_URL') or UPSTREAM_URLS[0]}"
        arrays = _load_raw(folder, standard_location=not explicit)

    x_train, y_train = arrays["train_images"], arrays["train_labels"].astype(np.int64)
    x_test, y_test = arrays["test_images"], arrays["test_labels"].astype(np.int64)
    if validation_size:
        from sklearn.model_selection import train_test_split

        idx_train, idx_val = train_test_split(
            np.arange(len(y_train)), test_size=validation_size, stratify=y_train, random_state=seed
        )
        idx_train, idx_val = np.sort(idx_train), np.sort(idx_val)  # keep the files' order
        x_train, x_val, y_train, y_val = x_train[idx_train], x_train[idx_val], y_train[idx_train], y_train[idx_val]
    else:
        x_val, y_val = x_train[:0], y_train[:0]
    x_train, x_val, x_test = (_as_model_input(x, normalize) for x in (x_train, x_val, x_test))
    return FashionMNIST(x_train, y_train, x_val, y_val, x_test, y_test, CLASS_NAMES, f"{source}: {folder}")


def _as_model_input(images: np.ndarray, normalize: bool) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 28, 28, 1), float32 in [0, 1] when ``normalize`` (lecture: input scaling)."""
    images = images[..., None]
    if normalize:
        return np.divide(images, np.float32(255), dtype=np.float32)
    return images if images.flags.writeable else images.copy()  # never hand out the cached arrays


def _check_validation_size(validation_size) -> None:
    total = EXPECTED_COUNTS["train"]
    if isinstance(validation_size, bool) or not isinstance(validation_size, (int, np.integer, float)):
        raise ValueError(
            f"validation_size must be a number of images (0 to {total - len(CLASS_NAMES)}) or a "
            f"fraction in (0, 1); got {validation_size!r}"
        )
    if isinstance(validation_size, float) and not validation_size.is_integer():
        if not 0 < validation_size < 1:
            raise ValueError(f"validation_size as a fraction must lie in (0, 1); got {validation_size}")
        return
    if validation_size != 0 and not len(CLASS_NAMES) <= validation_size <= total - len(CLASS_NAMES):
        raise ValueError(
            f"validation_size must be 0 (no validation split) or between {len(CLASS_NAMES)} and "
            f"{total - len(CLASS_NAMES)} images so that every class is on both sides; "
            f"got {validation_size}"
        )


# --------------------------------------------------------------------------- command line


def class_counts(data: FashionMNIST) -> pd.DataFrame:
    """Images per class and split (index: class names; columns: train, validation, test)."""
    import pandas as pd

    counts = {
        name: np.bincount(y, minlength=data.num_classes)
        for name, y in (("train", data.y_train), ("validation", data.y_val), ("test", data.y_test))
    }
    return pd.DataFrame(counts, index=pd.Index(data.class_names, name="class"))


def command(args) -> int:
    """``python -m kit data``: find and verify the files; describe them unless ``--check``."""
    data_dir = getattr(args, "data_dir", None)
    found = None  # (source, folder) once verified
    if getattr(args, "download", False):
        try:
            found = verify(data_dir)
        except DatasetError as problem:
            target = _download_target(data_dir)
            state = (
                "not found"
                if any(words in str(problem) for words in ("not found", "is missing", "does not exist"))
                else "not valid"
            )
            print(f"Fashion-MNIST {state}; downloading it into {target}", flush=True)
            found = ("downloaded just now", download_fashion_mnist(target))
    if args.check:
        source, folder = found or verify(data_dir)
        if getattr(args, "summary", False):  # `make data`: one line
            print(f"Fashion-MNIST: verified files in {folder} ({source})")
        return 0
    data = load_fashion_mnist(
        data_dir, validation_size=getattr(args, "validation_size", 5000), seed=getattr(args, "seed", 0)
    )
    print(f"Fashion-MNIST from {data.source}")
    print(
        f"verified: {len(FILES)} files (gzip, IDX header, 28x28, counts, SHA-256 of the decompressed data "
        f"against {_shown(MANIFEST)})"
    )
    for split in ("train", "val", "test"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        print(f"x_{split:<5} {str(x.shape):<20} {x.dtype}   y_{split:<5} {str(y.shape):<10} {y.dtype}")
    table = class_counts(data)
    table.loc["total"] = table.sum()
    print("images per class:")
    print(table.to_string())
    return 0


class TestSplit(NamedTuple):
    """A data set's test images (raw, as stored) and labels: what a submitted model is scored on."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class DataSet:
    """What the grader needs of a data set an assignment names (its manifest's ``datasets``, a rubric's ``dataset``)."""

    test_split: Callable[[str | os.PathLike | None], TestSplit]
    files: Callable[[str | os.PathLike | None], dict[str, Path]]  # repository path -> file (a Gradescope package)


def _fashion_mnist_test(data_dir: str | os.PathLike | None) -> TestSplit:
    data = load_fashion_mnist(data_dir, validation_size=0, normalize=False)
    return TestSplit(data.x_test, data.y_test)


def _fashion_mnist_files(data_dir: str | os.PathLike | None) -> dict[str, Path]:
    _, folder = verify(data_dir)
    place = DATASET_DIR.relative_to(REPO_ROOT).as_posix()
    return {f"{place}/{MANIFEST.name}": MANIFEST, **{f"{place}/{name}": folder / name for name in FILES.values()}}


DATASETS = {"fashion_mnist": DataSet(_fashion_mnist_test, _fashion_mnist_files)}


def dataset(name: str) -> DataSet:
    """The data set an assignment names; unknown names -> ValueError listing ``DATASETS``."""
    return DATASETS[check_name("data set", name, DATASETS)]


def load_test_split(name: str, data_dir: str | os.PathLike | None = None) -> TestSplit:
    """The test split of the data set ``name``, verified like every load."""
    return dataset(name).test_split(data_dir)
