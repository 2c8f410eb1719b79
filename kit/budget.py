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
    "BudgetSplit",
    "BudgetTooSmall",
    "Clock",
    "Costs",
    "Plan",
    "check_least_epochs",
    "format_duration",
    "format_epochs",
    "least_steps",
    "plan_steps",
    "process_seconds",
    "reserve",
    "smallest_budget",
    "split_seconds",
    "too_small",
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


def format_epochs(epochs: float) -> str:
    """'0.55 of an epoch', '1 epoch', '7.6 epochs': what a run trained, a part of one epoch said as such."""
    if epochs < 1:
        return f"{epochs:.2f} of an epoch"
    return "1 epoch" if epochs == 1 else f"{epochs:.3g} epochs"


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


def check_least_epochs(least_epochs: Any) -> None:
    """One ValueError sentence where ``least_epochs`` is not a fraction of an epoch in (0, 1]."""
    if isinstance(least_epochs, bool) or not (isinstance(least_epochs, (int, float)) and 0 < least_epochs <= 1):
        raise ValueError(
            f"least_epochs is the fraction of an epoch a timed run trains at least, in (0, 1]; got {least_epochs!r}."
        )


def least_steps(steps_done: int, steps_per_epoch: int, least_epochs: float = 1.0) -> int:
    """The fewest steps a run must still train: to the end of its epoch, or to ``least_epochs`` of one (< 1).

    A demonstration run may stop part-way through its only epoch (``least_epochs`` 0.25: a quarter
    of an epoch is enough to show that a network learns); every other run ends at least one epoch.
    """
    check_least_epochs(least_epochs)
    if least_epochs < 1 and steps_done < steps_per_epoch:
        return max(math.ceil(least_epochs * steps_per_epoch) - steps_done, 1)
    return steps_per_epoch - steps_done % steps_per_epoch


def smallest_budget(
    *, elapsed: float, steps_done: int, steps_per_epoch: int, costs: Costs, least_epochs: float = 1.0
) -> float:
    """The smallest budget (seconds, rounded up to a tenth of a minute) in which the run's least training ends.

    From the start of a run that is one whole epoch (``least_epochs`` of one, for a demonstration):
    its steps, its validation and checkpoint, the final evaluation, what has been spent already
    (``elapsed``) and the reserve.
    """
    needed = (
        elapsed
        + least_steps(steps_done, steps_per_epoch, least_epochs) * costs.step_seconds
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


def too_small(
    seconds: float, smallest: float, *, device: str = "", spent: str, need: str, what: str = "", advice: str = ""
) -> BudgetTooSmall:
    """The one refusal of a budget too small: what was spent, what one epoch needs, the smallest budget that fits.

    ``what`` names the whole ("the homework": "too small for the homework"); ``advice`` is how to
    give more (default "give at least that"). Returned, for the caller to raise.
    """
    machine = f"this machine ({device})" if device else "this machine"
    whole = f" for {what}" if what else ""
    return BudgetTooSmall(
        f"a time budget of {format_duration(seconds)} is too small{whole} on {machine}: {spent}, {need}, so the "
        f"smallest budget that fits is {smallest / 60:.1f} min ({smallest:,.0f} s); {advice or 'give at least that'}.",
        smallest,
    )


def split_seconds(seconds: float, weights: dict[Any, float]) -> dict[Any, float]:
    """``seconds`` shared by ``weights`` ({part: weight}): {part: seconds}; {} without parts."""
    total = sum(weights.values())
    return {part: seconds * weight / total for part, weight in weights.items()} if total else {}


@dataclass
class BudgetSplit:
    """One wall budget shared among the parts of a run that train (a runner's steps), by weights with floors.

    Each part is timed before any trains (``add``: its weight, the seconds one epoch of it needs, and
    the seconds kept back for it: ``end_seconds`` until the very end, e.g. its report, and
    ``after_seconds`` right after its training). A part starts with its weight's share of what is
    left then (``for_part``), so the seconds one part leaves unused go to the next. ``refuse_if_too_small``
    is the one place that decides that not every part fits its least training (one epoch, or the
    fraction ``estimate["least_epochs"]`` of one for a demonstration), and floors every share there
    otherwise (a slow part takes from the others). ``clock`` is injectable.
    """

    seconds: float
    safety: float = 1.3  # a run's own start can take longer than its estimate: a part needs this much more
    clock: Clock = time.perf_counter
    started: float | None = None
    label: str = "part {}"  # how a part is named in the refusal and the record
    what: str = ""  # the whole, named in the refusal ("the homework")
    advice: str = ""  # how to give more, in the refusal ("run with --minutes {minutes:.1f} or more")
    shares: dict[Any, float] = field(default_factory=dict)
    estimates: dict[Any, dict] = field(default_factory=dict)
    given: dict[Any, float] = field(default_factory=dict)
    kept: dict[Any, tuple[float, float]] = field(default_factory=dict)  # part -> (end_seconds, after_seconds)

    def __post_init__(self) -> None:
        if self.started is None:
            self.started = self.clock()

    def add(self, part: Any, weight: float, estimate: dict, *, end_seconds: float = 0.0, after_seconds: float = 0.0):
        """A part that will train: ``estimate`` holds ``smallest_budget`` (its least training, seconds), ``model``
        and, for a demonstration that may stop inside its epoch, ``least_epochs`` (``kit.train.estimate_run``)."""
        self.shares[part], self.estimates[part] = weight, estimate
        self.kept[part] = (float(end_seconds), float(after_seconds))

    def elapsed(self) -> float:
        return self.clock() - self.started

    def kept_back(self, part: Any) -> float:
        """Seconds kept for what follows the training of ``part`` and the later parts."""
        order = list(self.shares)
        later = order[order.index(part) :] if part in order else []
        return sum(end for end, _ in self.kept.values()) + sum(self.kept[p][1] for p in later)

    def for_part(self, part: Any) -> float:
        """The seconds ``part`` trains for: its weight's share of what is left (unused seconds flow on)."""
        order = list(self.shares)
        later = order[order.index(part) :]
        left = self.seconds - self.elapsed() - self.kept_back(part)
        self.given[part] = max(left, 0.0) * self.shares[part] / sum(self.shares[p] for p in later)
        return self.given[part]

    def needs(self) -> dict[Any, float]:
        """Seconds each part needs for its least training (its start, validation and evaluation), with the margin."""
        return {part: self.safety * self.estimates[part]["smallest_budget"] for part in self.shares}

    def smallest(self) -> float:
        """The smallest budget (seconds, whole tenths of a minute) in which every part fits its least training."""
        seconds = self.elapsed() + self.kept_back(next(iter(self.shares))) + sum(self.needs().values())
        return -(-seconds // 6) * 6.0

    def refuse_if_too_small(self, device: str = "") -> None:
        """``BudgetTooSmall`` where the parts cannot each fit their least training; else floors every share there."""
        if not self.shares:
            return
        smallest = self.smallest()
        if smallest > self.seconds:
            needs = self.needs()
            slowest = max(needs, key=needs.get)
            raise too_small(
                self.seconds,
                smallest,
                device=device,
                what=self.what,
                spent=f"{format_duration(self.elapsed())} went to starting, the data and timing the networks",
                need=f"and {self._least_training()} needs {format_duration(sum(needs.values()))} "
                f"({self.label.format(slowest)}'s {self.estimates[slowest]['model']} the most: "
                f"{format_duration(self.estimates[slowest]['smallest_budget'])})",
                advice=self.advice.format(minutes=smallest / 60),
            )
        self.shares = self.seconds_with_floors()

    def _least_training(self) -> str:
        """'one epoch of each network', or with demonstrations 'the least training of each network (one epoch;
        0.25 of an epoch for step 5, step 6)'."""
        least = {part: estimate.get("least_epochs", 1.0) for part, estimate in self.estimates.items()}
        partial = {part: fraction for part, fraction in least.items() if fraction < 1}
        if not partial:
            return "one epoch of each network"
        fractions = sorted(set(partial.values()))
        parts = ", ".join(self.label.format(part) for part in partial)
        return (
            f"the least training of each network (one epoch; {'/'.join(f'{f:g}' for f in fractions)} "
            f"of an epoch for {parts})"
        )

    def seconds_with_floors(self) -> dict[Any, float]:
        """Each part's training seconds: its share of what is left, never less than its least (water-filling)."""
        available = self.seconds - self.elapsed() - self.kept_back(next(iter(self.shares)))
        needs, fixed = self.needs(), {}
        while True:
            free = {part: self.shares[part] for part in self.shares if part not in fixed}
            given = split_seconds(available - sum(fixed.values()), free)
            short = [part for part in free if given[part] < needs[part]]
            if not short:
                return {part: fixed.get(part, given.get(part)) for part in self.shares}  # the parts' order kept
            fixed.update({part: needs[part] for part in short})

    def to_dict(self) -> dict[str, Any]:
        total = sum(self.shares.values()) or 1.0
        return {
            "minutes": round(self.seconds / 60, 3),
            "seconds": self.seconds,
            "shares": {str(part): round(share / total, 4) for part, share in self.shares.items()},
            "estimates": {
                str(part): {
                    "model": estimate["model"],
                    "images_per_second": round(estimate["images_per_second"], 1),
                    "smallest_budget_seconds": estimate["smallest_budget"],
                }
                for part, estimate in self.estimates.items()
            },
            "given_seconds": {str(part): round(seconds, 1) for part, seconds in self.given.items()},
        }


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
    least_epochs: float = 1.0  # the least it trains (a fraction: a demonstration that may stop inside its epoch)
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
        needed = least_steps(steps_done, self.steps_per_epoch, self.least_epochs)
        if plan.total_steps - steps_done < needed:
            smallest = smallest_budget(
                elapsed=plan.elapsed_seconds,
                steps_done=steps_done,
                steps_per_epoch=self.steps_per_epoch,
                costs=self.costs,
                least_epochs=self.least_epochs,
            )
            epoch = needed * self.costs.step_seconds + self.costs.epoch_overhead_seconds
            least = (
                "one epoch"
                if needed >= self.steps_per_epoch - steps_done % self.steps_per_epoch
                else (f"{needed / self.steps_per_epoch:.2g} of an epoch")
            )
            started = (
                f"{format_duration(plan.elapsed_seconds)} are spent (the run's earlier part included)"
                if self.spent_before
                else f"{format_duration(plan.elapsed_seconds)} went to loading and measuring"
            )
            raise too_small(
                self.seconds,
                smallest,
                device=self.device,
                spent=started,
                need=f"{least} of {self.what} takes about {format_duration(epoch)} with its validation and the "
                f"final evaluation {format_duration(self.costs.final_seconds)}",
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
