"""Hyperparameter search with KerasTuner (lecture "Training networks, part 2", recipe steps 4-5).

The lecture's recipe: a coarse search of short runs (1-5 epochs), then refine around the best
and train longer; sample at random rather than on a grid (Bergstra & Bengio 2012, "Random
search for hyper-parameter optimization"): with the same budget, random trials try more
distinct values of the few hyperparameters that matter. An assignment's best recipe can use it to push F1 up.

A ``SearchSpace`` maps ``TrainConfig`` fields (or dotted options such as
``"model_options.dropout"``) to a list of choices or a range, e.g.::

    {"learning_rate": ("log", 1e-4, 1e-2), "optimizer": ["adam", "adamw", "momentum"],
     "model_options.dropout": [0.0, 0.25, 0.5]}

KerasTuner proposes the trials (``RandomSearch``/``GridSearch``/``BayesianOptimization``/``Hyperband``
oracles); each trial is one real ``kit.train.train`` run into ``out/trials/<id>/``, so models,
optimizers, schedules, augmentation and label smoothing are exactly those of a training run.
Trials are scored on the validation set (``val_macro_f1`` from ``kit.callbacks``); the test
set is kept out of the search so that it stays an unbiased estimate.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras_tuner
import pandas as pd
from keras_tuner.errors import FailedTrialError, FatalError

from kit import models, runs
from kit.data import load_fashion_mnist
from kit.errors import TrainingError, check_name
from kit.figures import new_figure, save_figure
from kit.optimizers import make_optimizer
from kit.train import MONITORS, TrainConfig, preset, train

ALGORITHMS: tuple[str, ...] = ("random", "grid", "bayesian", "hyperband")
# Fields that hold option dicts: searched as "<field>.<option>".
OPTION_FIELDS: tuple[str, ...] = ("model_options", "optimizer_options", "schedule_options")
# Fields a search may not vary (bookkeeping, or not a hyperparameter).
# (monitor: the search's objective picks every trial's best epoch.)
_NOT_SEARCHABLE = (
    "name",
    "monitor",
    "precision",
    "devices",
    "tensorboard",
    "validation_size",
    "test_size",
) + OPTION_FIELDS
_RANGE_KINDS = ("log", "linear", "int")

# The default space: the lecture's coarse search (LR over two decades, weight decay 1e-4/1e-5/0).
DEFAULT_SPACE: dict[str, Any] = {
    "learning_rate": ("log", 1e-4, 1e-2),
    "optimizer": ["adam", "adamw", "momentum"],
    "optimizer_options.weight_decay": [0.0, 1e-5, 1e-4],
    "model_options.dropout": [0.0, 0.25, 0.5],
}


def searchable_fields() -> list[str]:
    """Valid keys of a search space: TrainConfig fields and "<options field>.<option>"."""
    names = [f.name for f in dataclasses.fields(TrainConfig) if f.name not in _NOT_SEARCHABLE]
    return names + [f"{field}.<option>" for field in OPTION_FIELDS]


@dataclass(frozen=True)
class Dimension:
    """One searched hyperparameter: ``values`` (choices) or a ``low``..``high`` range."""

    name: str
    values: tuple | None = None
    kind: str = "choice"  # choice | log | linear | int
    low: float | None = None
    high: float | None = None

    def to_hp(self, hp, default: Any = None) -> Any:
        """Declare it on a ``keras_tuner.HyperParameters`` and return the sampled value (decoded).

        ``default``: the base config's value, when it is in the space (else KerasTuner's default).
        """
        if self.kind in ("log", "linear", "int"):
            inside = (
                isinstance(default, (int, float)) and not isinstance(default, bool) and self.low <= default <= self.high
            )
            if self.kind == "int":
                return hp.Int(self.name, int(self.low), int(self.high), default=int(default) if inside else None)
            return hp.Float(
                self.name, self.low, self.high, sampling=self.kind, default=float(default) if inside else None
            )
        values, encoded = _choice_values(self.values)
        chosen = None
        for raw, value in zip(self.values, values, strict=True):
            if json.dumps(raw, sort_keys=True) == json.dumps(default, sort_keys=True):
                chosen = value
        value = hp.Choice(self.name, values, default=chosen)
        return json.loads(value) if encoded else value


def _choice_values(values: tuple) -> tuple[list, bool]:
    """hp.Choice takes one type among int, float, str, bool; anything else (None, lists, dicts,
    mixed types) is searched as its JSON text and decoded (written here: KerasTuner lacks it)."""
    types = {type(v) for v in values}
    if types <= {int, float} and float in types:
        return [float(v) for v in values], False
    if len(types) == 1 and types <= {int, float, str, bool}:
        return list(values), False
    return [json.dumps(v, sort_keys=True) for v in values], True


class SearchSpace:
    """A declarative search space over ``TrainConfig``: field -> choice list or range.

    A range is ``("log", low, high)`` (log-uniform, for learning rates and weight decay),
    ``("linear", low, high)`` or ``("int", low, high)``; in JSON a list ``["log", 1e-4, 1e-2]``
    or ``{"sampling": "log", "min": 1e-4, "max": 1e-2}``. Anything else is a list of choices.
    Unknown fields or options raise ``ValueError`` listing the valid ones.
    """

    def __init__(self, space: Mapping[str, Any] | SearchSpace, base_config=None) -> None:
        if isinstance(space, SearchSpace):
            space = space.spec
        if not isinstance(space, Mapping) or not space:
            raise ValueError(
                "a search space must be a non-empty mapping of TrainConfig field -> choices or range; "
                f"valid fields: {', '.join(searchable_fields())}."
            )
        self.spec = dict(space)
        self.dimensions = [self._dimension(name, entry) for name, entry in self.spec.items()]
        if base_config is not None:
            self.check(base_config)

    @classmethod
    def load(cls, path: str | Path, base_config=None) -> SearchSpace:
        """From a JSON file holding the mapping."""
        path = Path(path)
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON ({error}); fix it.") from None
        return cls(spec, base_config)

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    @staticmethod
    def _dimension(name: str, entry: Any) -> Dimension:
        _check_field(name)
        if isinstance(entry, Mapping):
            if set(entry) != {"sampling", "min", "max"} or entry["sampling"] not in _RANGE_KINDS:
                raise ValueError(
                    f"search space entry {name!r}: a range is {{'sampling': one of "
                    f"{', '.join(_RANGE_KINDS)}, 'min': low, 'max': high}}; got {entry!r}."
                )
            entry = (entry["sampling"], entry["min"], entry["max"])
        if isinstance(entry, (str, bytes)) or not isinstance(entry, (list, tuple)) or not entry:
            raise ValueError(
                f"search space entry {name!r} must be a non-empty list of choices or a range "
                f"like ('log', 1e-4, 1e-2); got {entry!r}."
            )
        if (
            len(entry) == 3
            and entry[0] in _RANGE_KINDS
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in entry[1:])
        ):
            kind, low, high = entry[0], float(entry[1]), float(entry[2])
            if not low < high or (kind == "log" and low <= 0):
                raise ValueError(
                    f"search space entry {name!r}: need low < high (and low > 0 for 'log'); got {entry!r}."
                )
            return Dimension(name, kind=kind, low=low, high=high)
        values = tuple(entry)
        if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
            raise ValueError(f"search space entry {name!r} repeats a choice: {list(values)!r}.")
        return Dimension(name, values=values)

    def check(self, base_config) -> None:
        """Every choice gives a valid config, every option exists (one ValueError naming the entry)."""
        for d in self.dimensions:
            probes = list(d.values) if d.values is not None else [d.low, d.high]
            if d.kind == "int":
                probes = [int(p) for p in probes]
            for value in probes:
                try:
                    apply(base_config, {d.name: value})
                except (ValueError, TypeError) as error:
                    raise ValueError(f"search space entry {d.name!r}: {error}") from None
        by_field = {
            f: [d.name.split(".", 1)[1] for d in self.dimensions if d.name.startswith(f + ".")] for f in OPTION_FIELDS
        }
        for model in self._choices("model", base_config):
            valid = [
                p
                for p in inspect.signature(getattr(models, model)).parameters
                if p not in ("input_shape", "num_classes")
            ]
            _check_options("model_options", by_field["model_options"], valid, f"model {model!r}")
        for optimizer in self._choices("optimizer", base_config):
            try:  # make_optimizer lists the valid options of the Keras class itself
                make_optimizer(optimizer, 1e-3, **{o: 0.0 for o in by_field["optimizer_options"]})
            except (ValueError, TypeError) as error:
                if "Unknown option" in str(error):
                    raise ValueError(f"search space: {error}") from None

    def _choices(self, name: str, base_config) -> list:
        for d in self.dimensions:
            if d.name == name:
                return list(d.values)
        return [getattr(base_config, name)]

    def sample(self, hp, base_config=None) -> dict[str, Any]:
        """Declare every dimension on ``hp`` and return {name: value}.

        With ``base_config``, its values (where the space contains them) are KerasTuner's defaults.
        """
        return {
            d.name: d.to_hp(hp, _value(base_config, d.name) if base_config is not None else None)
            for d in self.dimensions
        }

    def __repr__(self) -> str:
        return f"SearchSpace({self.spec!r})"


def _value(config, name: str) -> Any:
    head, _, option = name.partition(".")
    return getattr(config, head).get(option) if option else getattr(config, head)


def _check_field(name: str) -> None:
    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    head, _, option = name.partition(".")
    ok = (
        (head in OPTION_FIELDS and option and "." not in option)
        if option
        else (head in fields and head not in _NOT_SEARCHABLE)
    )
    if not ok:
        raise ValueError(f"Unknown search space field {name!r}; valid fields: {', '.join(searchable_fields())}.")


def _check_options(field: str, options: list[str], valid: list[str], what: str) -> None:
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(
            f"Unknown search space field(s) {', '.join(f'{field}.{o}' for o in unknown)} for {what}; "
            f"valid options: {', '.join(sorted(valid))}."
        )


def apply(config, values: Mapping[str, Any]):
    """``config`` with the sampled ``values`` set (dotted names go into the option dicts)."""
    overrides: dict[str, Any] = {}
    for name, value in values.items():
        head, _, option = name.partition(".")
        if option:
            merged = overrides.setdefault(head, dict(getattr(config, head)))
            merged[option] = value
        else:
            overrides[name] = value
    return config.replace(**overrides)


# --------------------------------------------------------------------------- the search
@dataclass
class TuneResult:
    """What ``search`` returns: the trials table (best first) and the best trial's config."""

    trials: Any  # pandas.DataFrame: trial, status, <objective>, epochs, best_epoch, seconds, <hyperparameters>, run_dir
    best_config: Any  # kit.train.TrainConfig, ready for kit.train.train
    objective: str
    out: Path

    @property
    def best_value(self) -> float:
        return float(self.trials[self.objective].iloc[0])


class ConfigTuner(keras_tuner.Tuner):
    """A KerasTuner ``Tuner`` whose trial is one ``kit.train.train`` run (nothing re-implemented)."""

    def __init__(
        self,
        oracle,
        *,
        base_config: TrainConfig,
        space: SearchSpace,
        data,
        epochs: int | None,
        out: Path,
        verbose: Any,
        **kwargs,
    ):
        super().__init__(oracle=oracle, directory=str(out), project_name="keras_tuner", **kwargs)
        self.base_config, self.space, self.data = base_config, space, data
        self.epochs, self.out, self.verbose = epochs, out, verbose
        self.records: dict[str, dict] = {}

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        values = self.space.sample(hp, self.base_config)
        # Hyperband decides each trial's epochs (its successive-halving budget); the trial is
        # re-trained from scratch for that many epochs rather than continued from a checkpoint.
        epochs = int(hp.values.get("tuner/epochs") or self.epochs or self.base_config.epochs)
        name = f"trial_{trial.trial_id}"
        run_dir = self.out / "trials" / name
        try:
            config = apply(self.base_config, values).replace(epochs=epochs, name=name)
        except ValueError as error:
            raise FatalError(str(error)) from None
        record = {
            "trial": trial.trial_id,
            "epochs": epochs,
            "run_dir": str(run_dir),
            "values": values,
            "config": config,
        }
        self.records[trial.trial_id] = record
        try:
            run = train(config, self.data, out=run_dir, verbose=self.verbose)
        except TrainingError as error:  # e.g. the loss exploded at a high LR: a failed trial, not a failed search
            record["message"] = str(error)
            raise FailedTrialError(str(error)) from None
        except ValueError as error:
            raise FatalError(str(error)) from None
        objective = self.oracle.objective.name
        best = runs.best_row(run.history, objective)
        record.update(best_epoch=int(best["epoch"]), seconds=float(run.train_seconds), epochs=int(len(run.history)))
        metrics = {
            k: float(best[k])
            for k in ("val_loss", "val_accuracy", "val_macro_f1")
            if k in best and not math.isnan(best[k])
        }
        metrics[objective] = float(best[objective])
        return metrics


def _oracle(algorithm: str, objective, max_trials: int, epochs: int, seed: int, hyperparameters):
    check_name("search algorithm", algorithm, ALGORITHMS)
    common = dict(objective=objective, seed=seed, hyperparameters=hyperparameters)
    if algorithm == "random":
        return keras_tuner.oracles.RandomSearchOracle(max_trials=max_trials, **common)
    if algorithm == "grid":
        # Every combination of the choices, in order, until max_trials (KerasTuner takes 10 evenly
        # spaced values of a range); the lecture's coarse grid, which random search beats.
        return keras_tuner.oracles.GridSearchOracle(max_trials=max_trials, **common)
    if algorithm == "bayesian":
        return keras_tuner.oracles.BayesianOptimizationOracle(max_trials=max_trials, **common)
    # Hyperband (Li et al. 2018): many short runs, the best continued longer (max_epochs, factor 3).
    # KerasTuner plans no trial when max_epochs < factor: factor 3, or 2 for a 2-epoch budget.
    epochs = max(int(epochs), 2)
    return keras_tuner.oracles.HyperbandOracle(max_epochs=epochs, factor=min(3, epochs), **common)


def search(
    base_config,
    space: Mapping[str, Any] | SearchSpace | None = None,
    *,
    data=None,
    max_trials: int = 10,
    epochs: int | None = None,
    objective: str = "val_macro_f1",
    out: str | Path = "runs/tune",
    algorithm: str = "random",
    seed: int = 0,
    verbose: Any = 0,
    data_dir: str | Path | None = None,
) -> TuneResult:
    """Search ``space`` around ``base_config``: ``max_trials`` short ``kit.train`` runs, best first.

    ``epochs`` per trial (default ``base_config.epochs``; the lecture: 1-5 for the coarse search;
    Hyperband's maximum). ``objective`` is a validation metric of history.csv (val_macro_f1,
    val_accuracy: maximised; val_loss: minimised). Everything is written under ``out``:
    ``keras_tuner/`` (the oracle's state), ``trials/<id>/`` (run folders), ``trials.csv``,
    ``best_config.json`` and ``objective_vs_hyperparameters.png``. A fresh search replaces ``out``'s tuner state.
    """
    check_name("objective", objective, MONITORS)
    if int(max_trials) < 1:
        raise ValueError(f"max_trials must be >= 1; got {max_trials!r}.")
    if epochs is not None and int(epochs) < 1:
        raise ValueError(f"epochs must be >= 1; got {epochs!r}.")
    original = base_config.validate()
    space = SearchSpace(DEFAULT_SPACE if space is None else space, original)
    # Select on validation only: keep the test set out of the search, and pick the best epoch by the objective.
    base_config = original.replace(monitor=objective, test_size=None)
    if data is None:
        data = load_fashion_mnist(data_dir, validation_size=base_config.validation_size, seed=base_config.seed)
    if len(data.y_val) == 0:
        raise ValueError("hyperparameter search needs a validation set; use validation_size > 0.")
    data = dataclasses.replace(data, x_test=data.x_test[:0], y_test=data.y_test[:0])

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    goal = keras_tuner.Objective(objective, runs.monitor_mode(objective))
    trial_epochs = int(epochs or base_config.epochs)
    # The whole space up front; defaults are the base config's values, except for the grid: KerasTuner's
    # grid starts at the defaults and steps forward, so it must start at every dimension's first value.
    declared = keras_tuner.HyperParameters()
    space.sample(declared, None if algorithm == "grid" else base_config)
    oracle = _oracle(algorithm, goal, int(max_trials), trial_epochs, seed, declared)
    tuner = ConfigTuner(
        oracle,
        base_config=base_config,
        space=space,
        data=data,
        epochs=trial_epochs,
        out=out,
        verbose=verbose,
        overwrite=True,
    )
    try:
        tuner.search(verbose=1 if verbose else 0)  # KerasTuner's per-trial summary
    except FatalError as error:
        raise ValueError(str(error).strip().splitlines()[-1]) from None
    except RuntimeError as error:  # KerasTuner: too many consecutive failed trials
        if "consecutive failures" not in str(error):
            raise
        raise TrainingError(
            f"{max(oracle.max_consecutive_failed_trials, 1)} trials in a row failed (e.g. the loss "
            "exploded): narrow the search space, e.g. lower the learning-rate range."
        ) from None

    trials = _trials_table(tuner, space, objective)
    finished = trials[trials["status"] == "COMPLETED"] if len(trials) else trials
    if finished.empty:
        raise TrainingError(f"no trial finished; see the run folders in {out / 'trials'}.")
    best_record = tuner.records[str(finished["trial"].iloc[0])]
    best_config = best_record["config"].replace(
        name=f"{original.name or original.model}_tuned",
        epochs=original.epochs,
        monitor=original.monitor,
        test_size=original.test_size,
    )
    best_config = TrainConfig.from_dict(best_config.to_dict())
    trials.to_csv(out / "trials.csv", index=False)
    best_config.save(out / "best_config.json")
    plot_trials(trials, space, objective, out / "objective_vs_hyperparameters.png")
    return TuneResult(trials=trials, best_config=best_config, objective=objective, out=out)


def _trials_table(tuner, space: SearchSpace, objective: str) -> pd.DataFrame:
    rows = []
    for trial in tuner.oracle.trials.values():
        record = tuner.records.get(trial.trial_id, {})
        row = {"trial": trial.trial_id, "status": str(trial.status)}
        metric = trial.metrics.get_best_value(objective) if trial.metrics.exists(objective) else None
        row[objective] = float(metric) if metric is not None else float("nan")
        row.update(epochs=record.get("epochs"), best_epoch=record.get("best_epoch"), seconds=record.get("seconds"))
        for name in space.names:
            value = record.get("values", {}).get(name, trial.hyperparameters.values.get(name))
            row[name] = json.dumps(value) if isinstance(value, (list, dict)) or value is None else value
        row["run_dir"] = record.get("run_dir")
        rows.append(row)
    columns = ["trial", "status", objective, "epochs", "best_epoch", "seconds", *space.names, "run_dir"]
    table = pd.DataFrame(rows, columns=columns)
    ascending = runs.monitor_mode(objective) == "min"
    return table.sort_values(objective, ascending=ascending, na_position="last", kind="stable").reset_index(drop=True)


def plot_trials(trials, space: SearchSpace, objective: str, path: str | Path) -> Path | None:
    """One panel per numeric hyperparameter: the objective of each trial against its value (log axis for log ranges)."""
    numeric = [
        d
        for d in space.dimensions
        if d.kind != "choice" or all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in d.values)
    ]
    if not numeric or trials.empty:
        return None
    figure = new_figure(4 * len(numeric), 3.2)
    axes = figure.subplots(1, len(numeric), squeeze=False)[0]
    for ax, d in zip(axes, numeric, strict=True):
        x = trials[d.name].astype(float)
        ax.scatter(x, trials[objective].astype(float), color="tab:blue")
        best = trials.iloc[0]
        ax.scatter([float(best[d.name])], [float(best[objective])], color="tab:red", label="best")
        if d.kind == "log" or (d.kind == "choice" and x.min() > 0 and x.max() / x.min() >= 100):
            ax.set_xscale("log")
        ax.set_xlabel(d.name)
        ax.set_ylabel(objective)
        ax.grid(alpha=0.3)
    axes[0].legend()
    return save_figure(figure, path)


# --------------------------------------------------------------------------- command line
def command(args) -> int:
    """``python -m kit tune``: random search around a preset; writes trials.csv and best_config.json."""
    overrides = {"model": args.model, "name": args.model} if args.model else {}
    base = preset(args.preset, **overrides)
    space = SearchSpace.load(args.space, base) if args.space else SearchSpace(DEFAULT_SPACE, base)
    out = Path(args.out) if args.out else Path("runs") / f"tune_{base.model}"
    result = search(
        base,
        space,
        max_trials=args.max_trials,
        epochs=args.epochs,
        objective=args.objective,
        out=out,
        algorithm=args.algorithm,
        seed=args.seed,
        verbose=2,
        data_dir=args.data_dir,
    )
    shown = result.trials.drop(columns=["run_dir"])
    print(shown.to_string(index=False))
    print(
        f"best {result.objective} {result.best_value:.4f}; best config in {out / 'best_config.json'} "
        f"(train it: python -m kit train --config {out / 'best_config.json'})"
    )
    return 0
