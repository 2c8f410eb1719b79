"""Lecture labs (kit.labs): every lab runs on its smoke preset and writes its files; the CLI lists and refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kit import cli, labs
from kit.labs.common import VERDICTS, LabResult, get_preset

LABS = labs.available()


def test_labs_are_discovered():
    assert "initial-loss" in LABS
    assert all("_" not in name for name in LABS)


@pytest.mark.slow
@pytest.mark.parametrize("name", LABS)
def test_lab_runs_on_smoke(name, tmp_path):
    payload = labs.run(name, tmp_path, "smoke")
    written = json.loads((tmp_path / "result.json").read_text())
    assert written == payload
    assert set(payload) >= {"lab", "claim", "measured", "verdict", "explanation", "seconds"}
    assert payload["lab"] == name
    assert payload["verdict"] in VERDICTS
    assert "lecture" in payload["claim"]
    assert payload["measured"] and all(v is None or isinstance(v, (int, float)) for v in payload["measured"].values())
    assert payload["explanation"].strip()
    pictures = sorted(tmp_path.glob("*.png"))
    assert pictures and all(p.stat().st_size > 1000 for p in pictures)
    readme = (tmp_path / "README.md").read_text()
    assert payload["verdict"] in readme and f"]({payload['pictures'][0]})" in readme


def test_lab_result_refuses_bad_values():
    with pytest.raises(ValueError, match="valid names: agrees, disagrees, partly"):
        LabResult(measured={"x": 1.0}, verdict="maybe", explanation="-")
    with pytest.raises(ValueError, match="plain numbers"):
        LabResult(measured={"x": [1.0]}, verdict="agrees", explanation="-")
    with pytest.raises(ValueError, match="valid names: smoke, quick"):
        get_preset("full")


def test_unknown_lab_lists_the_valid_names():
    with pytest.raises(ValueError, match="Unknown lab 'nope'; valid names: .*initial-loss"):
        labs.get("nope")
    assert labs.get("initial_loss").NAME == "initial-loss"


def test_cli_list_one_line_per_lab(capsys):
    assert cli.main(["lab", "--list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("  ")[0] for line in lines] == LABS
    assert all("lecture" in line for line in lines)


def test_cli_unknown_lab_is_one_sentence(capsys, tmp_path):
    assert cli.main(["lab", "nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Unknown lab 'nope'; valid names:") and "initial-loss" in err
    assert "Traceback" not in err
    assert cli.main(["lab", "initial-loss"]) == 2
    assert "--out" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_runs_a_lab_and_all_writes_an_index(capsys, tmp_path):
    assert cli.main(["lab", "initial-loss", "--preset", "smoke", "--out", str(tmp_path / "one")]) == 0
    assert "initial-loss:" in capsys.readouterr().out
    index = labs.run_all(tmp_path / "all", "smoke", names=["initial-loss"])
    text = index.read_text()
    assert "[initial-loss](initial-loss/README.md)" in text
    assert (tmp_path / "all" / "initial-loss" / "result.json").is_file()


NOTEBOOKS = Path(labs.__file__).parent / "notebooks"


@pytest.mark.parametrize("name", LABS)
def test_every_lab_has_a_percent_format_notebook(name):
    source = NOTEBOOKS / f"{name.replace('-', '_')}.py"
    assert source.is_file(), f"lab {name} has no notebook {source}"
    text = source.read_text(encoding="utf-8")
    assert text.startswith("# %% [markdown]") and f"`{name}`" in text.splitlines()[1]
    assert "labs.run(lab.NAME" in text  # ends with the lab itself, as the CLI runs it


def test_lab_notebooks_are_up_to_date():
    """Each .ipynb is what `python -m kit lab --notebooks` writes from its percent-format source."""
    stale = labs.write_notebooks(check=True)
    assert not stale, f"out of date: {[p.name for p in stale]}; run `python -m kit lab --notebooks`"
