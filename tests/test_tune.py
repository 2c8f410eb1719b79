"""kit.tune: a real KerasTuner random search over kit.train runs, and the search-space checks."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from kit import tune
from kit.train import TrainConfig, preset

SPACE = {"learning_rate": ("log", 1e-4, 1e-2), "model_options.dropout": [0.0, 0.25, 0.5]}


def _base() -> TrainConfig:
    # the smallest model, 1 epoch: the lecture's short coarse-search runs
    return preset("smoke", model="lenet5", epochs=3, train_size=None, test_size=None)


@pytest.mark.slow
def test_random_search_two_trials(small_fashion_mnist, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths: anything written outside `out` would land here
    result = tune.search(_base(), SPACE, data=small_fashion_mnist, max_trials=2, epochs=1, out="out", seed=0)
    out = tmp_path / "out"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out / "keras_tuner" / "oracle.json").is_file()  # the oracle's state lives inside out

    trials = result.trials
    assert len(trials) == 2 and list(trials["status"]) == ["COMPLETED", "COMPLETED"]
    assert list(trials["epochs"]) == [1, 1]
    scores = trials["val_macro_f1"].tolist()
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    assert 1e-4 <= trials["learning_rate"].min() and trials["learning_rate"].max() <= 1e-2
    assert set(trials["model_options.dropout"]) <= {0.0, 0.25, 0.5}
    pairs = set(zip(trials["learning_rate"], trials["model_options.dropout"], strict=True))
    assert len(pairs) == 2, trials

    best = result.best_config
    assert best.learning_rate == pytest.approx(trials["learning_rate"].iloc[0])
    assert best.model_options == {"dropout": trials["model_options.dropout"].iloc[0]}
    assert best.model == "lenet5" and best.epochs == 3  # train the winner longer (recipe step 5)
    assert result.best_value == pytest.approx(scores[0])
    # the best trial's score is its run folder's best validation macro-F1
    history = pd.read_csv(tmp_path / trials["run_dir"].iloc[0] / "history.csv")
    assert history["val_macro_f1"].max() == pytest.approx(scores[0])

    assert TrainConfig.load(out / "best_config.json") == best
    assert TrainConfig.from_dict(json.loads(json.dumps(best.to_dict()))) == best
    written = pd.read_csv(out / "trials.csv")
    assert len(written) == 2 and written["val_macro_f1"].iloc[0] == pytest.approx(scores[0])
    assert (out / "objective_vs_hyperparameters.png").stat().st_size > 0
    assert not (out / "trials" / trials["run_dir"].iloc[0].split("/")[-1] / "metrics.json").exists()  # no test set used


@pytest.mark.backend_agnostic
@pytest.mark.parametrize(
    "space, fragment",
    [
        (
            {"learnin_rate": [1e-3]},
            "Unknown search space field 'learnin_rate'; valid fields: model, optimizer, learning_rate,",
        ),
        ({"model_options.dropuot": [0.1]}, "model_options.dropuot for model 'lenet5'; valid options: activation,"),
        ({"optimizer_options.weight_decy": [0.0]}, "weight_decy"),
        ({"optimizer": ["adam", "adamm"]}, "Unknown optimizer 'adamm'; valid names: sgd, momentum"),
        ({"learning_rate": ("log", 0.0, 1e-2)}, "need low < high"),
        ({"learning_rate": 1e-3}, "must be a non-empty list of choices or a range"),
        ({"name": ["a", "b"]}, "Unknown search space field 'name'"),
    ],
)
def test_invalid_space_lists_valid_fields(space, fragment):
    with pytest.raises(ValueError, match="search space") as error:
        tune.SearchSpace(space, _base())
    assert fragment in str(error.value)
    if "valid fields" in fragment:
        assert "learning_rate" in str(error.value) and "optimizer_options.<option>" in str(error.value)


@pytest.mark.backend_agnostic
def test_space_to_keras_tuner_hyperparameters():
    import keras_tuner

    space = tune.SearchSpace(
        {
            "learning_rate": ["log", 1e-4, 1e-2],
            "patience": [None, 2],
            "augmentation": ["", "flip,translate"],
            "label_smoothing": [0, 0.1],
            "optimizer_options.weight_decay": {"sampling": "log", "min": 1e-5, "max": 1e-3},
        },
        _base(),
    )
    hp = keras_tuner.HyperParameters()
    values = space.sample(hp)
    assert isinstance(hp._hps["learning_rate"][0], keras_tuner.engine.hyperparameters.Float)
    assert hp._hps["learning_rate"][0].sampling == "log"
    assert values["patience"] is None  # JSON-encoded choice, decoded back
    assert values["label_smoothing"] == 0.0 and math.isclose(values["optimizer_options.weight_decay"], 1e-5)
    config = tune.apply(_base(), values)
    assert config.optimizer_options == {"weight_decay": values["optimizer_options.weight_decay"]}
    assert config.learning_rate == values["learning_rate"]


def test_cli_bad_space_is_one_line(tmp_path, capsys):
    from kit.cli import main

    space = tmp_path / "space.json"
    space.write_text(json.dumps({"lr": [1e-3]}))
    assert main(["tune", "--model", "lenet5", "--space", str(space), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: Unknown search space field 'lr'; valid fields:") and "\n" not in err
    assert not (tmp_path / "o").exists()
