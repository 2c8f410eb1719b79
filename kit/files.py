"""Files the kit writes: JSON written atomically, markdown tables.

One place for what train, report, explore, tune and the homework runner all write, so that
every JSON file and every markdown table in a run folder looks the same.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
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
    return write_text(path, json.dumps(jsonable(payload), indent=2) + "\n")


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` atomically through a temporary file of a unique name, renamed over ``path``.

    Unique names, so that two writers of one folder (two graders of one class) never write through
    each other's temporary file; the last rename wins whole.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed over ``path`` when the block ends without error."""
    path = Path(path)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a results file from the course staff's group
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------ scratch folders that outlive no one


def scratch_folder(prefix: str) -> Path:
    """A new temporary folder ``<tmp>/<prefix><pid>-XXXX`` (the pid lets a later run tell it is left over)."""
    sweep_scratch(prefix)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """``scratch_folder`` for the ``with`` block only."""
    folder = scratch_folder(prefix)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sweep_scratch(prefix: str) -> list[Path]:
    """Remove the scratch folders of ``prefix`` whose process is gone (killed with ``kill -9``); return them.

    Only this user's folders, and only where the pid in the name runs no more: a live grader's stay.
    """
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*-*"):
        pid = folder.name[len(prefix) :].split("-", 1)[0]
        try:
            if not pid.isdigit() or folder.is_symlink() or folder.stat().st_uid != os.geteuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        except OSError:  # PermissionError: the pid is alive (another user's process)
            continue
    return removed


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
