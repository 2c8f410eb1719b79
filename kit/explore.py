"""Study the dataset's structure and statistics before modelling: tables, pictures, one report.

``summary(data)`` gives pandas tables (class balance, pixel statistics, exact duplicates);
``write_dataset_report(data, out_dir)`` adds the pictures (sample grid, per-class mean image,
pixel-intensity histogram, class balance) and writes ``dataset.md`` and ``dataset.json``.
Pixel statistics are on the [0, 1] scale, population std (ddof=0), whatever ``normalize`` was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from kit import data as kit_data
from kit.data import FashionMNIST, load_fashion_mnist
from kit.figures import new_figure, save_figure
from kit.files import markdown_table, write_json

SPLITS = ("train", "validation", "test")
IMAGES = {
    "sample_grid": ("sample_grid.png", "Ten random training images per class"),
    "class_means": ("class_means.png", "Mean training image of each class"),
    "pixel_histogram": ("pixel_histogram.png", "Pixel intensities of the training images"),
    "class_balance": ("class_balance.png", "Images per class and split"),
}


def _splits(data: FashionMNIST) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {
        "train": (data.x_train, data.y_train),
        "validation": (data.x_val, data.y_val),
        "test": (data.x_test, data.y_test),
    }


# While a summary or report is being made, float->uint8 conversions are remembered by array
# identity (each is needed several times); outside that, nothing is kept, so no stale copy survives.
_UINT8_CACHE: dict[tuple, tuple[np.ndarray, np.ndarray]] | None = None


@contextlib.contextmanager
def _remember_conversions():
    global _UINT8_CACHE
    outermost = _UINT8_CACHE is None
    if outermost:
        _UINT8_CACHE = {}
    try:
        yield
    finally:
        if outermost:
            _UINT8_CACHE = None


def as_uint8(images: np.ndarray) -> np.ndarray:
    """Images as (N, 28, 28) uint8 0-255, from uint8 or from float in [0, 1] (exact round trip)."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.dtype == np.uint8:
        return images
    # same address, shape, strides and dtype = the same pixels (the cache keeps the array alive)
    key = (images.__array_interface__["data"][0], images.shape, images.strides, images.dtype.str)
    if _UINT8_CACHE is not None and key in _UINT8_CACHE:
        return _UINT8_CACHE[key][1]
    if images.size and (images.min() < 0 or images.max() > 1):
        raise ValueError(
            f"images must be uint8 (0-255) or float in [0, 1]; got {images.dtype} values in "
            f"[{images.min():g}, {images.max():g}]"
        )
    scaled = np.multiply(images, np.float32(255))
    converted = np.rint(scaled, out=scaled).astype(np.uint8)
    if _UINT8_CACHE is not None:
        _UINT8_CACHE[key] = (images, converted)  # holding the source keeps its address from being reused
    return converted


def image_hashes(images: np.ndarray) -> np.ndarray:
    """One 16-byte BLAKE2b digest per image of its uint8 pixels: equal images, equal digests."""
    pixels = as_uint8(images)
    flat = pixels.reshape(len(pixels), int(np.prod(pixels.shape[1:])))
    return np.array([hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in flat], dtype="S16")


def _pixel_moments(images_u8: np.ndarray) -> dict[str, float]:
    """Mean, std and zero fraction from the 256-bin histogram: exact and one pass over the pixels."""
    histogram = np.bincount(images_u8.ravel(), minlength=256).astype(np.float64)
    total = histogram.sum()
    if not total:
        return {"mean": float("nan"), "std": float("nan"), "zero_fraction": float("nan")}
    values = np.arange(256) / 255.0
    mean = float(histogram @ values / total)
    std = float(np.sqrt(histogram @ (values - mean) ** 2 / total))
    return {"mean": mean, "std": std, "zero_fraction": float(histogram[0] / total)}


def class_counts(data: FashionMNIST) -> pd.DataFrame:
    """Images per class (rows) and split (columns train, validation, test, all)."""
    table = kit_data.class_counts(data)
    table["all"] = table.sum(axis=1)
    return table


def pixel_stats(data: FashionMNIST) -> pd.DataFrame:
    """Training images per class and overall ("all"): count, pixel mean, std, fraction of zero pixels."""
    x, y = as_uint8(data.x_train), np.asarray(data.y_train)
    rows = {
        name: {"count": int(np.sum(y == c)), **_pixel_moments(x[y == c])} for c, name in enumerate(data.class_names)
    }
    rows["all"] = {"count": len(y), **_pixel_moments(x)}
    table = pd.DataFrame.from_dict(rows, orient="index").astype({"count": "int64"})
    table.index.name = "class"
    return table


def split_stats(data: FashionMNIST) -> pd.DataFrame:
    """Per split: images, pixel mean, std, zero fraction, min and max (on [0, 1])."""
    rows = {}
    for split, (x, _) in _splits(data).items():
        x = as_uint8(x)
        extremes = {"min": x.min() / 255.0, "max": x.max() / 255.0} if x.size else {"min": np.nan, "max": np.nan}
        rows[split] = {"images": len(x), **_pixel_moments(x), **extremes}
    table = pd.DataFrame.from_dict(rows, orient="index").astype({"images": "int64"})
    table.index.name = "split"
    return table


def _within(hashes: np.ndarray, labels: np.ndarray) -> dict[str, int]:
    frame = pd.DataFrame({"hash": hashes, "label": labels})
    copies = frame["hash"].value_counts()
    labels_per_image = frame.groupby("hash")["label"].nunique()
    return {
        "images": len(frame),
        "unique": len(copies),
        "duplicate_images": len(frame) - len(copies),
        "duplicate_groups": int((copies > 1).sum()),
        "label_conflicts": int((labels_per_image > 1).sum()),
    }


def _between(hashes_a, labels_a, hashes_b, labels_b) -> dict[str, int]:
    shared = np.isin(hashes_b, hashes_a)
    pairs = set(zip(hashes_a.tolist(), labels_a.tolist(), strict=True))
    conflicts = sum(
        (image, label) not in pairs
        for image, label in zip(hashes_b[shared].tolist(), labels_b[shared].tolist(), strict=True)
    )
    return {
        "images": len(hashes_b),
        "shared_images": int(shared.sum()),
        "distinct_shared": len(np.unique(hashes_b[shared])),
        "label_conflicts": int(conflicts),
    }


def duplicates(data: FashionMNIST) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Exact duplicates (same 784 pixels), hash based.

    Within a set: ``duplicate_images`` = images that repeat an earlier one, ``duplicate_groups`` =
    distinct images seen more than once, ``label_conflicts`` = groups carrying different labels.
    Between sets A vs B: ``shared_images`` = images of B with an exact copy in A (train-test leakage),
    ``label_conflicts`` = those whose copy in A has a different label.
    """
    hashed = {split: (image_hashes(x), np.asarray(y)) for split, (x, y) in _splits(data).items()}
    hashed["train+validation"] = tuple(np.concatenate([hashed["train"][i], hashed["validation"][i]]) for i in (0, 1))
    within = pd.DataFrame.from_dict(
        {name: _within(*hashed[name]) for name in ("train", "validation", "test", "train+validation")}, orient="index"
    )
    within.index.name = "set"
    pairs = (("train", "validation"), ("train", "test"), ("validation", "test"), ("train+validation", "test"))
    between = pd.DataFrame.from_dict(
        {f"{a} vs {b}": _between(*hashed[a], *hashed[b]) for a, b in pairs}, orient="index"
    )
    between.index.name = "sets"
    return within, between


def summary(data: FashionMNIST) -> dict[str, pd.DataFrame]:
    """The dataset's tables: class_counts, pixel_stats, split_stats, duplicates_within, duplicates_between."""
    with _remember_conversions():
        within, between = duplicates(data)
        return {
            "class_counts": class_counts(data),
            "pixel_stats": pixel_stats(data),
            "split_stats": split_stats(data),
            "duplicates_within": within,
            "duplicates_between": between,
        }


# --------------------------------------------------------------------------- pictures


def plot_sample_grid(data: FashionMNIST, path: str | os.PathLike, *, per_class: int = 10, seed: int = 0) -> Path:
    """Rows of random training images, one row per class, labelled with the class name."""
    rng = np.random.default_rng(seed)
    x, y = as_uint8(data.x_train), np.asarray(data.y_train)
    size, pad = x.shape[1], 2
    cell = size + pad
    # One mosaic drawn by a single imshow: a hundred separate axes would take seconds to render.
    mosaic = np.zeros((data.num_classes * cell - pad, per_class * cell - pad), dtype=np.uint8)
    for c in range(data.num_classes):
        members = np.flatnonzero(y == c)
        picks = rng.choice(members, size=min(per_class, len(members)), replace=False) if len(members) else []
        for j, index in enumerate(picks):
            mosaic[c * cell : c * cell + size, j * cell : j * cell + size] = x[index]
    fig = new_figure(per_class * 0.75 + 1.8, data.num_classes * 0.75 + 0.6)
    ax = fig.subplots()
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=255)
    ax.set_yticks(
        np.arange(data.num_classes) * cell + size / 2 - 0.5, [f"{c}: {name}" for c, name in enumerate(data.class_names)]
    )
    ax.set_xticks([])
    ax.tick_params(length=0)
    ax.set_title(f"Fashion-MNIST: {per_class} random training images per class")
    return save_figure(fig, path)


def plot_class_means(data: FashionMNIST, path: str | os.PathLike) -> Path:
    """The mean training image of each class: what a linear model 'sees' per class."""
    x, y = as_uint8(data.x_train), np.asarray(data.y_train)
    fig = new_figure(10, 4.6)
    axes = fig.subplots(2, (data.num_classes + 1) // 2, squeeze=False).ravel()
    for c, (ax, name) in enumerate(zip(axes, data.class_names, strict=False)):
        members = x[y == c]
        if len(members):
            ax.imshow(members.mean(axis=0) / 255.0, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(f"{c}: {name}", fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
    for ax in axes[data.num_classes :]:
        ax.set_axis_off()
    fig.suptitle("Mean training image per class (pixel values 0-1)")
    return save_figure(fig, path)


def plot_pixel_histogram(data: FashionMNIST, path: str | os.PathLike) -> Path:
    """Histogram of the 256 pixel intensities of the training set (log scale: zeros dominate)."""
    histogram = np.bincount(as_uint8(data.x_train).ravel(), minlength=256)
    fig = new_figure(7, 3.8)
    ax = fig.subplots()
    ax.stairs(histogram, np.arange(257) - 0.5, fill=True, color="tab:blue")  # 256 bars, drawn as one patch
    ax.set_yscale("log")
    ax.set_xlim(-1, 256)
    ax.set_xlabel("pixel intensity (0 = background, 255 = brightest)")
    ax.set_ylabel("number of pixels (log scale)")
    share = histogram[0] / max(histogram.sum(), 1)
    ax.set_title(f"Training pixel intensities: {share:.1%} of pixels are exactly 0")
    return save_figure(fig, path)


def plot_class_balance(data: FashionMNIST, path: str | os.PathLike) -> Path:
    """Grouped bar chart of images per class in each split."""
    counts = class_counts(data)[list(SPLITS)]
    fig = new_figure(9, 4)
    ax = fig.subplots()
    positions = np.arange(len(counts))
    width = 0.8 / len(SPLITS)
    for i, split in enumerate(SPLITS):
        ax.bar(positions + (i - 1) * width, counts[split], width=width, label=f"{split} ({counts[split].sum()})")
    ax.set_xticks(positions, counts.index, rotation=30, ha="right")
    ax.set_ylabel("images")
    ax.set_ylim(0, counts.to_numpy().max() * 1.25)  # room for the legend above the bars
    ax.set_title("Class balance per split")
    ax.legend(loc="upper center", ncols=len(SPLITS))
    return save_figure(fig, path)


# --------------------------------------------------------------------------- the report


def _to_jsonable(table: pd.DataFrame) -> dict:
    return json.loads(table.to_json(orient="index"))


def write_dataset_report(
    data: FashionMNIST, out_dir: str | os.PathLike, *, seed: int = 0, title: str = "Fashion-MNIST: the dataset"
) -> dict:
    """Write ``dataset.md`` (under ``title``), ``dataset.json`` and the four PNGs into ``out_dir``; returns the JSON."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with _remember_conversions():
        tables = summary(data)
        plot_sample_grid(data, out / IMAGES["sample_grid"][0], seed=seed)
        plot_class_means(data, out / IMAGES["class_means"][0])
        plot_pixel_histogram(data, out / IMAGES["pixel_histogram"][0])
        plot_class_balance(data, out / IMAGES["class_balance"][0])

    within, between = tables["duplicates_within"], tables["duplicates_between"]
    findings = {
        "images": {split: int(v) for split, v in tables["class_counts"].sum().items()},
        "balanced": bool((tables["class_counts"].nunique() == 1).all()),
        "pixel_mean": float(tables["pixel_stats"].loc["all", "mean"]),
        "pixel_std": float(tables["pixel_stats"].loc["all", "std"]),
        "zero_fraction": float(tables["pixel_stats"].loc["all", "zero_fraction"]),
        "duplicates_within_train": int(within.loc["train+validation", "duplicate_images"]),
        "test_images_also_in_train": int(between.loc["train+validation vs test", "shared_images"]),
    }
    result = {
        "source": data.source,
        "class_names": list(data.class_names),
        "shapes": {split: list(x.shape) for split, (x, _) in _splits(data).items()},
        "findings": findings,
        "tables": {name: _to_jsonable(table) for name, table in tables.items()},
        "images": {key: name for key, (name, _) in IMAGES.items()},
    }
    write_json(out / "dataset.json", result)
    (out / "dataset.md").write_text(_markdown(data, tables, findings, title))
    result["files"] = [str(out / "dataset.md"), str(out / "dataset.json")] + [str(out / n) for n, _ in IMAGES.values()]
    return result


def _markdown(data: FashionMNIST, tables: dict[str, pd.DataFrame], findings: dict, title: str) -> str:
    counts = tables["class_counts"]
    lines = [
        f"# {title}",
        "",
        f"Source: `{data.source}` (files verified against `datasets/fashion-mnist/SHA256SUMS`).",
        f"Splits: {len(data.y_train)} train / {len(data.y_val)} validation (stratified, carved from the "
        f"training file) / {len(data.y_test)} test images of 28x28 grey pixels, {data.num_classes} classes.",
        "",
        "## Findings",
        "",
        f"- Classes are {'exactly balanced' if findings['balanced'] else 'NOT balanced'}: "
        + ", ".join(
            f"{int(counts[s].iloc[0])} per class in {s}"
            for s in counts.columns
            if counts[s].nunique() == 1 and counts[s].sum()
        )
        + ".",
        f"- Training pixels (0-1 scale): mean {findings['pixel_mean']:.4f}, std {findings['pixel_std']:.4f}; "
        f"{findings['zero_fraction']:.1%} of pixels are exactly 0 (background).",
        f"- Exact duplicates: {findings['duplicates_within_train']} training images repeat another training "
        f"image; {findings['test_images_also_in_train']} test images also appear in the training file.",
        "",
        "## Images per class and split",
        "",
        markdown_table(counts, index=True),
        "",
        f"![{IMAGES['class_balance'][1]}]({IMAGES['class_balance'][0]})",
        "",
        "## Pixel statistics of the training split (0-1 scale, population std)",
        "",
        markdown_table(tables["pixel_stats"], index=True),
        "",
        "Per split:",
        "",
        markdown_table(tables["split_stats"], index=True),
        "",
        f"![{IMAGES['pixel_histogram'][1]}]({IMAGES['pixel_histogram'][0]})",
        "",
        "## Exact duplicates (BLAKE2b hash of the 784 pixels)",
        "",
        "Within a set: `duplicate_images` repeat an earlier image of the same set; `duplicate_groups` are "
        "distinct images seen more than once; `label_conflicts` are groups with different labels.",
        "",
        markdown_table(tables["duplicates_within"], index=True),
        "",
        "Between sets A vs B: `shared_images` of B have an exact copy in A; `label_conflicts` of them carry "
        "a different label there.",
        "",
        markdown_table(tables["duplicates_between"], index=True),
        "",
        "## Pictures",
        "",
        f"![{IMAGES['sample_grid'][1]}]({IMAGES['sample_grid'][0]})",
        "",
        f"![{IMAGES['class_means'][1]}]({IMAGES['class_means'][0]})",
        "",
    ]
    return "\n".join(lines)


def command(args) -> int:
    """``python -m kit explore --out DIR``: the dataset report (tables and pictures)."""
    data = load_fashion_mnist(
        getattr(args, "data_dir", None),
        validation_size=getattr(args, "validation_size", 5000),
        seed=getattr(args, "seed", 0),
    )
    result = write_dataset_report(data, args.out, seed=getattr(args, "seed", 0))
    findings = result["findings"]
    print(f"wrote {Path(args.out) / 'dataset.md'}, dataset.json and {len(IMAGES)} PNGs")
    print(
        f"pixel mean {findings['pixel_mean']:.4f}, std {findings['pixel_std']:.4f}, "
        f"zero pixels {findings['zero_fraction']:.1%}; duplicates within train: "
        f"{findings['duplicates_within_train']}, test images also in train: {findings['test_images_also_in_train']}"
    )
    return 0
