"""Training to a time budget: how many steps fit, the correction after each epoch, the refusal of a budget too small.

DESIGN.md "Presets sized to the clock": a run is given seconds, not epochs. ``kit.train`` times a few
training steps of the actual model before it trains (and rewinds them), and this module turns the
measured seconds into the number of steps that fit, so that training, each epoch's validation and
checkpoint, the final test evaluation and saving all end within the budget. After every epoch the
measured seconds replace the estimates and the plan is made again (a machine that got slower ends
sooner, a faster one trains longer); ``kit.callbacks.TimeBudget`` applies each plan to the run.
Li, Yumer and Ramanan ("Budgeted Training", ICLR 2020) count the budget in iterations and anneal
the learning rate to its end at the budget's end; here the iterations come from the clock.

Only arithmetic on seconds lives here (no Keras), so it is tested with an injected clock; no library
plans a run by wall-clock time (TensorFlow Addons' ``TimeStopping`` only stops one), hence this module.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from kit.errors import TrainingError

__all__ = [
    "FINAL_FIXED_SECONDS",
    "RESERVE_FRACTION",
    "Budget",
    "BudgetTooSmall",
    "Clock",
    "Costs",
    "Plan",
    "format_duration",
    "plan_steps",
    "process_seconds",
    "reserve",
    "smallest_budget",
]

Clock = Callable[[], float]  # seconds from any origin, never going back (default time.perf_counter)

RESERVE_FRACTION = 0.02  # of the budget kept unplanned for what the estimates miss (the overrun target is 3 %)
RESERVE_MIN_SECONDS = 1.0
FINAL_FIXED_SECONDS = 2.0  # after the last epoch besides the test predictions: best weights reloaded, curves plotted


def process_seconds() -> float:
    """Seconds since this process started (Linux ``/proc``; 0 elsewhere).

    A command that promises wall minutes (``make run``) starts its clock when Python starts, so
    the interpreter's and the libraries' start-up count too.
    """
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            started_ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
        return max(uptime - started_ticks / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError):
        return 0.0


def reserve(budget_seconds: float) -> float:
    """Seconds of ``budget_seconds`` left unplanned: 2 % (at least one second)."""
    return max(RESERVE_FRACTION * budget_seconds, RESERVE_MIN_SECONDS)


def format_duration(seconds: float) -> str:
    """'45 s', '2.6 min (156 s)': a budget as a user would give it (minutes) and in seconds."""
    seconds = float(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min ({seconds:,.0f} s)"


@dataclass(frozen=True)
class Costs:
    """Seconds of the parts of a run, measured (or, before the first epoch, estimated).

    ``step_seconds``: one training step (one batch). ``epoch_overhead_seconds``: what each epoch's
    end adds (validation, macro-F1, checkpoint, history, backup). ``final_seconds``: what follows
    the last epoch (the test set's predictions, test-time augmentation, saving, the curves).
    """

    step_seconds: float
    epoch_overhead_seconds: float
    final_seconds: float

    def __post_init__(self) -> None:
        if not self.step_seconds > 0:
            raise ValueError(f"step_seconds must be > 0; got {self.step_seconds!r}.")
        if self.epoch_overhead_seconds < 0 or self.final_seconds < 0:
            raise ValueError("epoch_overhead_seconds and final_seconds must be >= 0.")

    @classmethod
    def estimate(
        cls,
        *,
        step_seconds: float,
        forward_seconds_per_image: float,
        save_seconds: float,
        validation_images: int,
        test_forward_images: int,
    ) -> Costs:
        """The costs before any epoch has run, from a few timed steps, predictions and one save.

        Each epoch's end predicts the validation set twice (Keras' validation, then macro-F1) and
        saves twice (the best checkpoint, the backup); the end of the run predicts
        ``test_forward_images`` images (the test set times its views) and saves once or twice.
        """
        return cls(
            step_seconds=step_seconds,
            epoch_overhead_seconds=2 * validation_images * forward_seconds_per_image + 2 * save_seconds,
            final_seconds=test_forward_images * forward_seconds_per_image + 2 * save_seconds + FINAL_FIXED_SECONDS,
        )


@dataclass(frozen=True)
class Plan:
    """How long the run trains: ``total_steps`` (from its very first step), decided at ``at``."""

    total_steps: int
    steps_per_epoch: int
    estimated_seconds: float  # the whole run's seconds by this plan, final evaluation included
    at: str = "start"
    elapsed_seconds: float = 0.0
    costs: Costs | None = None

    @property
    def epochs(self) -> float:
        """Epochs the plan trains (the last one may be partial)."""
        return self.total_steps / self.steps_per_epoch

    @property
    def whole_epochs(self) -> int:
        """Epochs begun: Keras' epoch count, a partial last epoch included."""
        return math.ceil(self.total_steps / self.steps_per_epoch)

    def to_dict(self) -> dict[str, Any]:
        costs = asdict(self.costs) if self.costs else {}
        return {
            "at": self.at,
            "elapsed_seconds": round(self.elapsed_seconds, 2),
            "total_steps": self.total_steps,
            "epochs": round(self.epochs, 3),
            "estimated_seconds": round(self.estimated_seconds, 1),
            **{key: round(value, 4) for key, value in costs.items()},
        }


def plan_steps(
    budget_seconds: float, *, elapsed: float, steps_done: int, steps_per_epoch: int, costs: Costs, at: str = "start"
) -> Plan:
    """The most training steps that end, with their epochs' ends and the final evaluation, within the budget.

    ``steps_done`` steps have run in ``elapsed`` seconds. Each further epoch that begins costs its
    steps and one ``epoch_overhead_seconds``; the run's end costs ``final_seconds``; ``reserve``
    stays unplanned. The last epoch may stop part-way (at any step), so no time is left idle that
    a step could use. The plan never goes below ``steps_done`` (nothing more fits: stop now).
    """
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1; got {steps_per_epoch!r}.")
    available = budget_seconds - reserve(budget_seconds) - elapsed - costs.final_seconds
    into_epoch = steps_done % steps_per_epoch
    best = 0
    epochs = 1
    while True:  # 1, 2, ... more epoch ends: the steps they allow, and the steps the time allows
        time_for_steps = available - epochs * costs.epoch_overhead_seconds
        if time_for_steps <= 0:
            break
        room = epochs * steps_per_epoch - into_epoch
        fits = min(room, math.floor(time_for_steps / costs.step_seconds))
        best = max(best, fits)
        if fits < room:  # the time ran out inside these epochs: another epoch end would only cost more
            break
        epochs += 1
    epoch_ends = math.ceil((into_epoch + best) / steps_per_epoch) if best else 0
    estimated = elapsed + best * costs.step_seconds + epoch_ends * costs.epoch_overhead_seconds + costs.final_seconds
    return Plan(
        total_steps=steps_done + best,
        steps_per_epoch=steps_per_epoch,
        estimated_seconds=estimated,
        at=at,
        elapsed_seconds=elapsed,
        costs=costs,
    )


def smallest_budget(*, elapsed: float, steps_done: int, steps_per_epoch: int, costs: Costs) -> float:
    """The smallest budget (seconds, rounded up to a tenth of a minute) in which the current epoch ends.

    From the start of a run that is one whole epoch: its steps, its validation and checkpoint,
    the final evaluation, what has been spent already (``elapsed``) and the reserve.
    """
    needed = (
        elapsed
        + (steps_per_epoch - steps_done % steps_per_epoch) * costs.step_seconds
        + costs.epoch_overhead_seconds
        + costs.final_seconds
    )
    budget = max(needed / (1 - RESERVE_FRACTION), needed + RESERVE_MIN_SECONDS)
    return math.ceil(budget / 6) * 6.0  # whole tenths of a minute


class BudgetTooSmall(TrainingError):
    """A time budget in which not one epoch fits; ``smallest_seconds`` is the budget that would."""

    def __init__(self, message: str, smallest_seconds: float) -> None:
        super().__init__(message)
        self.smallest_seconds = float(smallest_seconds)


@dataclass
class Budget:
    """A run's time budget as it goes: the clock, what was spent before a resume, the costs and every plan.

    ``clock()`` is read at the run's start (``started``) and whenever the run measures itself; inject
    a simulated clock to test the arithmetic without timing anything. ``spent_before`` is what a
    resumed run had used already (the remainder is what is left of ``seconds``).
    """

    seconds: float
    steps_per_epoch: int
    clock: Clock = time.perf_counter
    spent_before: float = 0.0
    what: str = "the model"  # named in the refusal: "one epoch of <what>"
    device: str = ""  # named in the refusal: "on this machine (<device>)"
    batch_size: int | None = None  # to report training images per second
    costs: Costs | None = None
    plans: list[Plan] = field(default_factory=list)
    measured: dict[str, Any] = field(default_factory=dict)
    epochs_seen: list[tuple[int, float, float]] = field(default_factory=list)  # (steps, train s, tail s) each epoch
    started: float | None = None  # clock() when the run started (default: now)

    def __post_init__(self) -> None:
        if not (isinstance(self.seconds, (int, float)) and self.seconds > 0):
            raise ValueError(f"a time budget must be a positive number of seconds; got {self.seconds!r}.")
        if self.started is None:
            self.started = self.clock()

    def elapsed(self) -> float:
        """Seconds of the budget used so far (before a resume included)."""
        return self.spent_before + self.clock() - self.started

    @property
    def current(self) -> Plan | None:
        return self.plans[-1] if self.plans else None

    def plan(self, steps_done: int, at: str) -> Plan:
        """Plan again from now with the current costs; the plan is kept in ``plans``."""
        if self.costs is None:
            raise ValueError("Budget.plan needs costs: measure the run first (Budget.costs).")
        new = plan_steps(
            self.seconds,
            elapsed=self.elapsed(),
            steps_done=steps_done,
            steps_per_epoch=self.steps_per_epoch,
            costs=self.costs,
            at=at,
        )
        self.plans.append(new)
        return new

    def first_plan(self, steps_done: int = 0) -> Plan:
        """The plan before training; refuses (``BudgetTooSmall``) a budget in which the next epoch cannot end."""
        plan = self.plan(steps_done, "start" if steps_done == 0 else f"resumed after step {steps_done}")
        if plan.total_steps - steps_done < self.steps_per_epoch - steps_done % self.steps_per_epoch:
            smallest = smallest_budget(
                elapsed=plan.elapsed_seconds,
                steps_done=steps_done,
                steps_per_epoch=self.steps_per_epoch,
                costs=self.costs,
            )
            epoch = self.steps_per_epoch * self.costs.step_seconds + self.costs.epoch_overhead_seconds
            machine = f"this machine ({self.device})" if self.device else "this machine"
            started = (
                f"{format_duration(plan.elapsed_seconds)} are spent (the run's earlier part included)"
                if self.spent_before
                else f"{format_duration(plan.elapsed_seconds)} went to loading and measuring"
            )
            raise BudgetTooSmall(
                f"a time budget of {format_duration(self.seconds)} is too small on {machine}: {started}, one epoch "
                f"of {self.what} takes about {format_duration(epoch)} with its validation and the final evaluation "
                f"{format_duration(self.costs.final_seconds)}, so the smallest budget that fits is "
                f"{smallest / 60:.1f} min ({smallest:,.0f} s); give at least that.",
                smallest,
            )
        return plan

    def observe_start(
        self,
        *,
        step_seconds: float,
        forward_seconds_per_image: float,
        save_seconds: float,
        validation_images: int,
        test_forward_images: int,
    ) -> Costs:
        """The costs from the measurements before training (``Costs.estimate``), kept in ``measured``."""
        self.costs = Costs.estimate(
            step_seconds=step_seconds,
            forward_seconds_per_image=forward_seconds_per_image,
            save_seconds=save_seconds,
            validation_images=validation_images,
            test_forward_images=test_forward_images,
        )
        self.measured.update(
            step_seconds=step_seconds,
            forward_seconds_per_image=forward_seconds_per_image,
            save_seconds=save_seconds,
            test_forward_images=int(test_forward_images),
        )
        return self.costs

    RECENT_EPOCHS = 2  # the costs: the latest epoch, or the mean of the latest two where that is slower

    def observe_epoch(
        self, *, steps: int, train_seconds: float, tail_seconds: float, forward_seconds_per_image: float | None = None
    ) -> Costs:
        """Replace the estimates with measured seconds: the latest epoch's, or the latest two's mean if slower.

        A machine that got slower is believed at once (the budget must hold); one that got faster
        only as far as the latest two epochs agree (one quick epoch on a shared host is no promise).

        ``train_seconds``: the epoch's ``steps`` training steps; ``tail_seconds``: everything after
        them until the epoch ended (validation, macro-F1, checkpoint, history, backup).
        ``forward_seconds_per_image`` (timed on the validation set) rescales the final evaluation's
        test predictions; the rest of that estimate (saving, plotting) stays.
        """
        if self.costs is None:
            raise ValueError("Budget.observe_epoch needs the costs measured before training (observe_start).")
        self.epochs_seen.append((int(steps), float(train_seconds), float(tail_seconds)))
        recent = self.epochs_seen[-self.RECENT_EPOCHS :]
        steps_seen = sum(s for s, _, _ in recent)
        step = sum(t for _, t, _ in recent) / steps_seen if steps_seen else self.costs.step_seconds
        if steps > 0:
            step = max(step, train_seconds / steps)
        tail = max(sum(t for _, _, t in recent) / len(recent), tail_seconds)
        final = self.costs.final_seconds
        if forward_seconds_per_image:
            before = self.measured.get("forward_seconds_now", self.measured.get("forward_seconds_per_image"))
            final += self.measured.get("test_forward_images", 0) * (forward_seconds_per_image - (before or 0.0))
            self.measured["forward_seconds_now"] = forward_seconds_per_image
        self.costs = Costs(
            step_seconds=max(step, 1e-9), epoch_overhead_seconds=max(tail, 0.0), final_seconds=max(final, 0.0)
        )
        return self.costs

    def run_step_seconds(self) -> float:
        """Seconds per training step over every epoch trained (before training: the measured estimate).

        The run's throughput, as report.md states it: over the whole run, so a short last epoch on a
        shared host does not stand for it (measured: 15 steps in 20 s ended a 30-minute run of 0.25 s steps).
        """
        steps = sum(s for s, _, _ in self.epochs_seen)
        if steps == 0:
            return self.costs.step_seconds
        return sum(t for _, t, _ in self.epochs_seen) / steps

    def to_dict(self) -> dict[str, Any]:
        """What config.json records: the budget, the measurements, every plan, the seconds spent."""
        plan = self.current
        measured = {k: round(v, 6) if isinstance(v, float) else v for k, v in self.measured.items()}
        if self.batch_size and self.costs is not None:
            measured["images_per_second"] = round(self.batch_size / self.run_step_seconds(), 1)
        return {
            "seconds": self.seconds,
            "spent_before_seconds": round(self.spent_before, 2),
            "spent_seconds": round(self.elapsed(), 2),
            "measured": measured,
            "total_steps": plan.total_steps if plan else None,
            "epochs": round(plan.epochs, 3) if plan else None,
            "plans": [p.to_dict() for p in self.plans],
        }
