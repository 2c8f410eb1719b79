"""kit.explore: the tables against numpy computed here, the duplicate counts, the pictures and the report."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from kit import explore
from kit.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _unique_rows(x) -> int:
    """Distinct images, by numpy alone (no hashing): each image as one 784-byte void scalar."""
    flat = np.ascontiguousarray(np.asarray(x).reshape(len(x), -1))
    return len(np.unique(flat.view(np.dtype((np.void, flat.shape[1]))).ravel()))


def test_class_counts_and_pixel_stats_match_numpy(small_fashion_mnist):
    d = small_fashion_mnist
    tables = explore.summary(d)
    counts = tables["class_counts"]
    assert list(counts.index) == list(d.class_names) and list(counts.columns) == ["train", "validation", "test", "all"]
    for split, y in (("train", d.y_train), ("validation", d.y_val), ("test", d.y_test)):
        assert counts[split].tolist() == np.bincount(y, minlength=10).tolist()
    assert counts["all"].tolist() == (counts["train"] + counts["validation"] + counts["test"]).tolist()

    stats = tables["pixel_stats"]
    x = d.x_train.astype(np.float64)
    for c, name in enumerate(d.class_names):
        members = x[d.y_train == c]
        assert stats.loc[name, "count"] == len(members)
        assert stats.loc[name, "mean"] == pytest.approx(members.mean(), rel=1e-6)
        assert stats.loc[name, "std"] == pytest.approx(members.std(), rel=1e-6)
        assert stats.loc[name, "zero_fraction"] == pytest.approx((members == 0).mean(), rel=1e-12)
    assert stats.loc["all", "mean"] == pytest.approx(x.mean(), rel=1e-6)
    assert stats.loc["all", "std"] == pytest.approx(x.std(), rel=1e-6)

    splits = tables["split_stats"]
    for split, images in (("train", d.x_train), ("validation", d.x_val), ("test", d.x_test)):
        assert splits.loc[split, "images"] == len(images)
        assert splits.loc[split, "mean"] == pytest.approx(images.astype(np.float64).mean(), rel=1e-6)
        assert splits.loc[split, "std"] == pytest.approx(images.astype(np.float64).std(), rel=1e-6)
        assert splits.loc[split, "zero_fraction"] == pytest.approx((images == 0).mean(), rel=1e-12)
        assert (splits.loc[split, "min"], splits.loc[split, "max"]) == (images.min(), images.max())


def test_uint8_and_float_data_give_the_same_tables(small_fashion_mnist):
    as_uint8 = replace(
        small_fashion_mnist,
        **{
            f"x_{s}": np.rint(getattr(small_fashion_mnist, f"x_{s}") * 255).astype(np.uint8)
            for s in ("train", "val", "test")
        },
    )
    a, b = explore.summary(small_fashion_mnist), explore.summary(as_uint8)
    for name in a:
        np.testing.assert_allclose(a[name].to_numpy(dtype=float), b[name].to_numpy(dtype=float), rtol=1e-12)


@pytest.mark.slow
def test_full_dataset_balance_statistics_and_duplicates(raw_fashion_mnist):
    """The real files: 6,000 / 1,000 per class, the published mean/std, and duplicates as numpy counts them."""
    d = raw_fashion_mnist
    tables = explore.summary(d)
    assert tables["class_counts"]["train"].tolist() == [6000] * 10
    assert tables["class_counts"]["test"].tolist() == [1000] * 10
    assert tables["pixel_stats"].loc["all", "mean"] == pytest.approx(0.2860, abs=5e-5)  # usual normalisation
    assert tables["pixel_stats"].loc["all", "std"] == pytest.approx(0.3530, abs=5e-5)  # constants
    within, between = tables["duplicates_within"], tables["duplicates_between"]
    assert within.loc["train", "duplicate_images"] == 60000 - _unique_rows(d.x_train)
    assert within.loc["test", "duplicate_images"] == 10000 - _unique_rows(d.x_test)
    leaked = (len(d.x_test) + _unique_rows(d.x_train)) - _unique_rows(np.concatenate([d.x_train, d.x_test]))
    # leaked = test images whose pixels occur in train (valid because the test set has no duplicates itself)
    assert within.loc["test", "duplicate_images"] == 0
    assert between.loc["train vs test", "shared_images"] == leaked
    assert between.loc["train+validation vs test", "shared_images"] == leaked  # no validation split here


def test_planted_duplicates_are_counted_exactly(small_fashion_mnist):
    d = small_fashion_mnist
    x_train = np.concatenate([d.x_train, d.x_train[:3], d.x_train[:1]])  # 3 images repeated, one of them twice
    y_train = np.concatenate([d.y_train, d.y_train[:3], (d.y_train[:1] + 1) % 10])  # the second copy relabelled
    x_test = np.concatenate([d.x_test[:-2], d.x_train[10:12]])  # two training images leak into test
    y_test = np.concatenate([d.y_test[:-2], d.y_train[10:11], (d.y_train[11:12] + 1) % 10])
    planted = replace(d, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    within, between = explore.duplicates(planted)
    assert within.loc["train"].to_dict() == {
        "images": 2004,
        "unique": 2000,
        "duplicate_images": 4,
        "duplicate_groups": 3,
        "label_conflicts": 1,
    }
    assert within.loc["test", "duplicate_images"] == 0
    assert between.loc["train vs test"].to_dict() == {
        "images": 1000,
        "shared_images": 2,
        "distinct_shared": 2,
        "label_conflicts": 1,
    }
    assert between.loc["validation vs test", "shared_images"] == 0


def test_images_outside_0_1_are_refused():
    with pytest.raises(ValueError, match=r"uint8 \(0-255\) or float in \[0, 1\]"):
        explore.as_uint8(np.full((2, 28, 28, 1), 3.0, dtype=np.float32))


def _assert_png(path) -> None:
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 5000, path
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and min(pixels.shape[:2]) >= 200 and pixels.std() > 0.05, path


@pytest.mark.slow
def test_report_writes_markdown_json_and_valid_pngs(small_fashion_mnist, tmp_path):
    result = explore.write_dataset_report(small_fashion_mnist, tmp_path / "report")
    out = tmp_path / "report"
    for name, _ in explore.IMAGES.values():
        _assert_png(out / name)
    markdown = (out / "dataset.md").read_text()
    for name, _ in explore.IMAGES.values():
        assert f"]({name})" in markdown
    assert "| T-shirt/top | 200 | 50 | 100 | 350 |" in markdown  # the class-count table
    stored = json.loads((out / "dataset.json").read_text())
    assert stored == {key: value for key, value in result.items() if key != "files"}
    assert stored["tables"]["class_counts"]["Ankle boot"] == {"train": 200, "validation": 50, "test": 100, "all": 350}
    assert stored["findings"]["balanced"] is True and stored["class_names"][9] == "Ankle boot"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["dataset.md", "dataset.json"] + [name for name, _ in explore.IMAGES.values()]
    )


@pytest.mark.slow
def test_explore_command_on_the_real_data(tmp_path, capsys):
    assert main(["explore", "--out", str(tmp_path)]) == 0
    assert "dataset.md" in capsys.readouterr().out
    stored = json.loads((tmp_path / "dataset.json").read_text())
    assert stored["shapes"] == {
        "train": [55000, 28, 28, 1],
        "validation": [5000, 28, 28, 1],
        "test": [10000, 28, 28, 1],
    }
    assert stored["findings"]["images"] == {"train": 55000, "validation": 5000, "test": 10000, "all": 70000}
    _assert_png(tmp_path / "sample_grid.png")
