"""Files the kit writes: JSON written atomically, markdown tables.

One place for what train, report, explore, tune and the homework runner all write, so that
every JSON file and every markdown table in a run folder looks the same.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def jsonable(value: Any) -> Any:
    """numpy scalars/arrays, paths, tuples and DataFrames -> plain JSON types (NaN and infinity -> None)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return str(value)


def write_json(path: str | os.PathLike, payload: Any) -> Path:
    """Write ``payload`` (made ``jsonable``) as indented JSON; atomic (temporary file + rename).

    A reader never sees half a file, even when training is killed while config.json is written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(jsonable(payload), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_json(path: str | os.PathLike, *, fix: str = "re-create it") -> Any:
    """A JSON file's content; invalid JSON is one ``ValueError`` sentence ending in ``fix``."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"'{path}' is not valid JSON ({error.msg} at line {error.lineno}); {fix}.") from None


def _cell(value: Any, floatfmt: str) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else format(float(value), floatfmt)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):,}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame, floatfmt: str | dict[str, str] = ".4f", index: bool = False) -> str:
    """A DataFrame as a GitHub markdown table; ``floatfmt`` is one format or {column: format} (default .4f).

    Numbers are right-aligned, integers get thousands separators, NaN is an empty cell.
    Written by hand: ``DataFrame.to_markdown`` needs the optional ``tabulate`` package.
    """
    if index:
        frame = frame.reset_index()
    formats = [(floatfmt.get(c, ".4f") if isinstance(floatfmt, dict) else floatfmt) for c in frame.columns]
    header = "| " + " | ".join(_cell(c, "") for c in frame.columns) + " |"
    rule = "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(frame[c]) else "---" for c in frame.columns) + "|"
    rows = [
        "| " + " | ".join(_cell(v, f) for v, f in zip(row, formats, strict=True)) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])
