"""What every lecture lab shares: its result, its presets, its data and the files it writes.

A lab reproduces one claim of the lectures on Fashion-MNIST and says honestly whether the
data agree: ``result.json`` (the numbers and the verdict), ``README.md`` (picture + verdict)
and at least one PNG, all in the lab's output folder.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from kit import figures
from kit.errors import check_name
from kit.files import write_json

VERDICTS = ("agrees", "disagrees", "partly")
RESULT_FILE = "result.json"
README_FILE = "README.md"


@dataclass
class LabResult:
    """What a lab found: ``measured`` (a flat dict of numbers), a verdict and one or two sentences why."""

    measured: dict[str, float]
    verdict: str
    explanation: str
    pictures: list[str] = field(default_factory=list)  # PNG names in the output folder, the first one shown first

    def __post_init__(self) -> None:
        check_name("verdict", self.verdict, VERDICTS)
        for key, value in self.measured.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"measured[{key!r}] is {value!r}; a lab's measured values must be plain numbers.")
        self.measured = {key: _plain(value) for key, value in self.measured.items()}


def _plain(value: float) -> float | int | None:
    if isinstance(value, int):
        return int(value)
    value = float(value)
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class LabPreset:
    """How big a lab runs: ``smoke`` takes seconds (tests), ``quick`` at most 5 minutes on a 2-core CPU.

    ``train``/``val``/``test`` are the data subset's sizes (stratified), ``epochs`` and
    ``batch_size`` the training budget; a lab whose knob is not one of these asks
    ``preset.pick(smoke=..., quick=...)``.
    """

    name: str
    train: int
    val: int
    test: int
    epochs: int
    batch_size: int = 128

    def pick(self, *, smoke: Any, quick: Any) -> Any:
        """The lab-specific number for this preset (``quick`` for any preset not named ``smoke``)."""
        return smoke if self.name == "smoke" else quick

    def replace(self, **changes: Any) -> LabPreset:
        """A copy with some sizes changed (e.g. in a notebook: ``preset.replace(epochs=10)``)."""
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, LabPreset] = {
    "smoke": LabPreset("smoke", train=600, val=200, test=200, epochs=1, batch_size=100),
    "quick": LabPreset("quick", train=6000, val=1000, test=2000, epochs=3, batch_size=128),
}


def get_preset(preset: str | LabPreset) -> LabPreset:
    """A preset by name (``smoke`` or ``quick``), or the given one unchanged."""
    if isinstance(preset, LabPreset):
        return preset
    return PRESETS[check_name("lab preset", preset, PRESETS, normalize=True)]


def lab_data(preset: LabPreset, *, train: int | None = None, seed: int = 0, data_dir=None):
    """A stratified Fashion-MNIST subset of the preset's sizes (``train`` overrides its training size)."""
    from kit.data import load_fashion_mnist

    data = load_fashion_mnist(data_dir, seed=seed)
    return data.subset(train=train or preset.train, val=preset.val, test=preset.test, seed=seed)


# ---------------------------------------------------------------- figures (kit.figures: no pyplot state)
def figure(width: float = 6.0, height: float = 4.0, **subplots: Any):
    """A ``(fig, axes)`` pair from ``kit.figures.new_figure``; ``subplots`` go to ``Figure.subplots``."""
    fig = figures.new_figure(width, height)
    return fig, fig.subplots(**subplots)


def save_figure(fig, path: str | os.PathLike) -> str:
    """Write ``fig`` as PNG to ``path`` (``kit.figures.save_figure``); return the file's name for ``pictures``."""
    return figures.save_figure(fig, path).name


# ---------------------------------------------------------------- the lab's files
def claim_text(lab: ModuleType) -> str:
    """The lecture's claim and where it is made: ``"... (lecture "...")"``."""
    return f'{lab.CLAIM} (lecture "{lab.LECTURE}")'


def write_result(out_dir: str | os.PathLike, lab: ModuleType, result: LabResult, seconds: float) -> dict:
    """Write ``result.json`` and ``README.md`` for ``lab`` into ``out_dir``; return result.json's dict."""
    out_dir = Path(out_dir)
    pictures = result.pictures or sorted(path.name for path in out_dir.glob("*.png"))
    if not pictures:
        raise ValueError(f"lab {lab.NAME!r} wrote no PNG into {out_dir}; every lab draws at least one picture.")
    payload = {
        "lab": lab.NAME,
        "claim": claim_text(lab),
        "measured": result.measured,
        "verdict": result.verdict,
        "explanation": result.explanation,
        "seconds": round(float(seconds), 1),
        "pictures": pictures,
    }
    write_json(out_dir / RESULT_FILE, payload)
    (out_dir / README_FILE).write_text(readme_text(payload), encoding="utf-8")
    return payload


def readme_text(payload: dict) -> str:
    """The lab's one-page report: claim, picture(s), verdict, the numbers."""
    lines = [
        f"# Lab `{payload['lab']}`",
        "",
        f"**Claim:** {payload['claim']}",
        "",
        f"**Verdict: {payload['verdict']}.** {payload['explanation']}",
        "",
    ]
    lines += [f"![{name}]({name})" for name in payload["pictures"]]
    lines += ["", "| measured | value |", "|---|---|"]
    lines += [f"| {key} | {_format(value)} |" for key, value in payload["measured"].items()]
    lines += ["", f"Ran in {payload['seconds']:.1f} s.", ""]
    return "\n".join(lines)


def _format(value: Any) -> str:
    if value is None:
        return "nan"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}"


# ---------------------------------------------------------------- training a lab's variants
def train_variant(
    out_dir: str | os.PathLike, preset: LabPreset, data, name: str, *, builder=None, callbacks=None, **config: Any
):
    """Train one variant of a lab with ``kit.train.train`` into ``out_dir/runs/<name>/``; return its ``Run``.

    ``config`` are ``kit.train.TrainConfig`` fields (``model``, ``model_options``, ``learning_rate``,
    ``optimizer``, ...); the preset gives ``epochs`` and ``batch_size`` unless ``config`` does.
    float32 and no precision measurement: labs compare variants, not speed.
    ``builder``: an uncompiled Keras model (or a function returning one) instead of ``config["model"]``;
    ``callbacks``: extra Keras callbacks (e.g. ``kit.callbacks.StepEvaluation``).
    """
    from kit.train import TrainConfig, train

    fields = {
        "epochs": preset.epochs,
        "batch_size": preset.batch_size,
        "precision": "float32",
        "monitor": "val_accuracy",
        **config,
        "name": name,
    }
    return train(
        TrainConfig(**fields), data, Path(out_dir) / "runs" / name, verbose=0, model=builder, callbacks=callbacks
    )


def show(path: str | os.PathLike) -> None:
    """Show a PNG in a notebook (IPython), or print its path when run as a script."""
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(Image(filename=str(path)))
    else:
        print(f"picture: {path}")
