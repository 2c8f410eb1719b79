"""The network fitted to the host: in a time budget, a slow machine trains a narrower network for more epochs.

Budgeted training (Li, Yumer and Ramanan, ICLR 2020) and the CIFAR-10 speedruns (airbench) fit the
whole recipe to the budget, not only its schedule. Here a config that asks for it
(``TrainConfig.fit_to_host``) keeps its recipe and gets the width of ``resnet_fast`` whose expected
test macro-F1 is highest for the seconds it has at the speed measured on this machine: each width's
speed relative to the config's (measured on both host types) turns the seconds into the epochs
that width would train (``kit.budget.plan_steps``, as the run itself plans them), and its measured
curve of test macro-F1 against epochs turns the epochs into an expected score
(``benchmarks/host_fit.py`` measures both; docs/performance.md has the figures). Only arithmetic
on measured numbers lives here: the table is data, and no library chooses a network for a budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from kit.budget import Costs, plan_steps

__all__ = ["TABLES", "Choice", "Variant", "check", "choose", "expected_f1", "fit"]


@dataclass(frozen=True)
class Variant:
    """One width of a network, measured: its training speed relative to the reference width, and its test
    macro-F1 after the epochs trained (``(epochs, macro-F1)`` points, by the clock or by epochs, the cosine
    fitted to them)."""

    width: int
    speed: float  # training images/s over the reference width's (benchmarks/host_fit.py, both host types)
    f1_by_epochs: tuple[tuple[float, float], ...]


# resnet_fast (best_config()'s recipe: batch 256, Nesterov, cosine, flips, EMA, mirror TTA in the file).
# Speeds: kit.train.estimate_run on the 2-core AMD EPYC with AVX512-BF16 and on the same host throttled
# to the slow host type's throughput (2026-12-07): width 16 2.83x / 2.80x of width 32, width 24 1.29x /
# 1.50x. Test macro-F1: benchmarks/host_fit.py (2026-12-07, widths 16, 24, 32 at 10, 5, 4 epochs) and
# width 32 by the clock, benchmarks/budget.py (2026-12-03: 4.23, 7.5, 11.87, 23.07 epochs).
TABLES: dict[str, tuple[str, tuple[Variant, ...]]] = {
    "resnet_fast": (
        "width",
        (
            Variant(16, 2.8, ((10.0, 0.9311),)),
            Variant(24, 1.4, ((5.0, 0.9234),)),
            Variant(32, 1.0, ((4.0, 0.9256), (4.23, 0.9261), (7.5, 0.9318), (11.87, 0.9382), (23.07, 0.9375))),
        ),
    ),
}
REFERENCE_WIDTH = 32  # the width whose curve has the most points: the others' curves take its shape
LEAST_GAIN = 0.002  # a narrower network must be expected this much better (about the spread of seeds)


def _curve(points: tuple[tuple[float, float], ...], epochs: float) -> float:
    """Macro-F1 at ``epochs`` from measured points: linear in log(epochs) between them, flat after the last,
    and before the first the slope of the first two (fewer epochs, lower score)."""
    points = tuple(sorted(points))
    if len(points) == 1:
        return points[0][1]
    if epochs > points[-1][0]:
        return points[-1][1]
    pairs = list(zip(points, points[1:], strict=False))
    (e0, f0), (e1, f1) = next((a, b) for a, b in pairs if epochs <= b[0])
    return f0 + (f1 - f0) * (math.log(epochs) - math.log(e0)) / (math.log(e1) - math.log(e0))


def expected_f1(variant: Variant, epochs: float, reference: Variant) -> float:
    """Expected test macro-F1 of ``variant`` after ``epochs``: its own curve where it has two points or more,
    else the reference width's curve moved to pass through its one point (one shape for every width)."""
    if epochs <= 0:
        return 0.0
    if len(variant.f1_by_epochs) > 1:
        return _curve(variant.f1_by_epochs, epochs)
    anchor_epochs, anchor_f1 = variant.f1_by_epochs[0]
    return anchor_f1 + _curve(reference.f1_by_epochs, epochs) - _curve(reference.f1_by_epochs, anchor_epochs)


def _table(model: str) -> tuple[str, tuple[Variant, ...]]:
    """``model``'s (option, variants), or a ValueError naming the models with a measured table."""
    if model not in TABLES:
        raise ValueError(
            f"fit_to_host has no measured table for model {model!r}; models with one: {', '.join(TABLES)}."
        )
    return TABLES[model]


def check(model: str, model_options: dict) -> None:
    """A ValueError naming what ``fit_to_host`` can fit where ``model`` or its width has no measured table."""
    option, variants = _table(model)
    widths = [variant.width for variant in variants]
    asked = model_options.get(option, REFERENCE_WIDTH)
    if asked not in widths:
        raise ValueError(
            f"fit_to_host starts from a measured {option} of {model}; got {option} {asked!r}; "
            f"measured: {', '.join(map(str, widths))}."
        )


@dataclass(frozen=True)
class Choice:
    """What ``choose`` decided: the width, the epochs and expected macro-F1 of each candidate, and why."""

    option: str
    chosen: int
    asked: int
    candidates: tuple[dict[str, float], ...]

    @property
    def changed(self) -> bool:
        return self.chosen != self.asked

    def sentence(self) -> str:
        """'width 16 (expected test macro-F1 0.930 in 9.8 epochs) over width 32 (0.922 in 3.5 epochs)'."""
        by_width = {int(row["width"]): row for row in self.candidates}
        chosen = by_width[self.chosen]
        others = ", ".join(
            f"{self.option} {width} ({row['expected_f1']:.3f} in {row['epochs']:.1f} epochs)"
            for width, row in by_width.items()
            if width != self.chosen
        )
        return (
            f"{self.option} {self.chosen} (expected test macro-F1 {chosen['expected_f1']:.3f} in "
            f"{chosen['epochs']:.1f} epochs at {chosen['images_per_second']:,.0f} images/s)"
            + (f" over {others}" if others else "")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "option": self.option,
            "chosen": self.chosen,
            "asked": self.asked,
            "candidates": [dict(row) for row in self.candidates],
            "why": self.sentence(),
        }


def choose(model: str, asked_width: int, seconds: float, estimate: dict[str, Any]) -> Choice:
    """The width of ``model`` with the best expected test macro-F1 in ``seconds`` at the speed of ``estimate``.

    ``estimate``: ``kit.train.estimate_run`` of the config as asked (its ``costs``, ``steps_per_epoch``,
    ``setup_seconds``, ``images_per_second``). Each width's costs are the asked width's scaled by the
    speeds' ratio; its epochs are what ``kit.budget.plan_steps`` plans in ``seconds``. The asked width
    is kept unless another is expected ``LEAST_GAIN`` better.
    """
    option, variants = _table(model)
    check(model, {option: asked_width})
    by_width = {variant.width: variant for variant in variants}
    reference, asked = by_width[REFERENCE_WIDTH], by_width[asked_width]
    costs: Costs = estimate["costs"]
    rows = []
    for variant in variants:
        ratio = variant.speed / asked.speed
        scaled = Costs(
            step_seconds=costs.step_seconds / ratio,
            epoch_overhead_seconds=costs.epoch_overhead_seconds / ratio,
            final_seconds=costs.final_seconds / ratio,
        )
        plan = plan_steps(
            seconds,
            elapsed=estimate["setup_seconds"],
            steps_done=0,
            steps_per_epoch=estimate["steps_per_epoch"],
            costs=scaled,
        )
        rows.append(
            {
                "width": variant.width,
                "images_per_second": round(estimate["images_per_second"] * ratio, 1),
                "epochs": round(plan.epochs, 2),
                "expected_f1": round(expected_f1(variant, plan.epochs, reference), 4),
            }
        )
    best = max(rows, key=lambda row: row["expected_f1"])
    kept = next(row for row in rows if row["width"] == asked_width)
    chosen = best if best["expected_f1"] >= kept["expected_f1"] + LEAST_GAIN else kept
    return Choice(option, int(chosen["width"]), int(asked_width), tuple(rows))


def fit(config: Any, seconds: float, estimate: dict[str, Any]) -> tuple[Any, Choice]:
    """``config`` (a ``TrainConfig`` with ``fit_to_host``) with the width ``choose`` gives; ``fit_to_host`` cleared."""
    option, _ = _table(config.model)
    asked = config.model_options.get(option, REFERENCE_WIDTH)
    choice = choose(config.model, asked, seconds, estimate)
    fitted = config.replace(model_options={**config.model_options, option: choice.chosen}, fit_to_host=False)
    return fitted, choice
