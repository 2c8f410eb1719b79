"""Lecture labs: each claim of the lectures reproduced on Fashion-MNIST, with a picture, a number and a verdict.

One module per lab in this package (file name = the lab's name with ``-`` -> ``_``), each with
``NAME``, ``CLAIM`` (the lecture's words in English), ``LECTURE`` and
``run(out_dir, preset) -> LabResult``. ``python -m kit lab --list`` lists them;
``python -m kit lab NAME --out DIR`` runs one; ``python -m kit lab all --out DIR`` runs every lab
and writes ``index.md``. Each lab is also a notebook: ``kit/labs/notebooks/<module>.py`` (percent
format, the source) and its ``.ipynb`` (``python -m kit lab --notebooks`` regenerates them).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import time
from pathlib import Path
from types import ModuleType

from kit.assign import notebook_text
from kit.errors import check_name
from kit.labs.common import PRESETS, README_FILE, LabResult, claim_text, get_preset, write_result

_NOT_LABS = {"common"}
INDEX_FILE = "index.md"
NOTEBOOKS = Path(__file__).parent / "notebooks"


def _module_names() -> dict[str, str]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.ispkg or info.name.startswith("_") or info.name in _NOT_LABS:
            continue
        found[info.name.replace("_", "-")] = f"{__name__}.{info.name}"
    return found


def available() -> list[str]:
    """The labs' names, sorted (e.g. ``initial-loss``)."""
    return sorted(_module_names())


def get(name: str) -> ModuleType:
    """The lab's module by name (``initial-loss`` or ``initial_loss``); unknown -> ``ValueError`` listing the labs."""
    modules = _module_names()
    key = name.strip().lower().replace("_", "-") if isinstance(name, str) else name
    if key not in modules:
        check_name("lab", name, sorted(modules))  # raises, listing the labs
    return importlib.import_module(modules[key])


def run(name: str, out_dir: str | os.PathLike, preset: str = "quick", *, seed: int = 0) -> dict:
    """Run one lab into ``out_dir`` (result.json, README.md, PNGs); return result.json's dict."""
    from kit.environment import set_seed

    lab = get(name)
    lab_preset = get_preset(preset)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    set_seed(seed)
    start = time.perf_counter()
    result = lab.run(out_dir, lab_preset)
    if not isinstance(result, LabResult):
        raise TypeError(f"lab {lab.NAME!r} returned {type(result).__name__}, not a LabResult.")
    return write_result(out_dir, lab, result, time.perf_counter() - start)


def run_all(out_dir: str | os.PathLike, preset: str = "quick", *, names: list[str] | None = None) -> Path:
    """Run every lab into ``out_dir/<name>/`` and write ``out_dir/index.md``; return the index's path.

    A lab that fails is listed in the index with its error; the others still run.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names or available():
        try:
            payload = run(name, out_dir / name, preset)
        except Exception as error:  # noqa: BLE001 - one lab's failure must not hide the others' results
            lab = get(name)
            payload = {"lab": name, "claim": claim_text(lab), "verdict": "error", "seconds": None, "error": str(error)}
        rows.append(payload)
    lines = [
        f"# Lecture labs (preset `{get_preset(preset).name}`)",
        "",
        "| lab | claim | verdict | seconds |",
        "|---|---|---|---|",
    ]
    for row in rows:
        verdict = row["verdict"] if "error" not in row else f"error: {row['error']}"
        seconds = "" if row["seconds"] is None else f"{row['seconds']:.0f}"
        lines.append(f"| [{row['lab']}]({row['lab']}/{README_FILE}) | {row['claim']} | {verdict} | {seconds} |")
    index = out_dir / INDEX_FILE
    index.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return index


def notebook_source(name: str) -> Path:
    """The lab's percent-format notebook, ``kit/labs/notebooks/<module>.py``."""
    return NOTEBOOKS / f"{get(name).__name__.rsplit('.', 1)[-1]}.py"


def write_notebooks(*, check: bool = False) -> list[Path]:
    """Write every lab's ``.ipynb`` beside its percent-format source; ``check``: only list the stale ones."""
    stale = []
    for name in available():
        source = notebook_source(name)
        if not source.is_file():
            raise ValueError(f"lab {name!r} has no notebook {source}; write one (see kit/labs/notebooks/).")
        target = source.with_suffix(".ipynb")
        text = notebook_text(source.read_text(encoding="utf-8"))
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            stale.append(target)
            if not check:
                target.write_text(text, encoding="utf-8")
    return stale


def command(args) -> int:
    """``python -m kit lab``: ``--list``, one lab, or ``all`` (see kit/cli.py)."""
    if args.notebooks:
        written = write_notebooks()
        print("\n".join(f"wrote {path}" for path in written) or "every lab notebook is up to date")
        return 0
    if args.list:
        for name in available():
            print(f"{name}  {claim_text(get(name))}")
        return 0
    if not args.name:
        raise ValueError(f"Name a lab to run, 'all', or --list; valid names: {', '.join(available())}.")
    name = args.name.strip().lower().replace("_", "-")
    check_name("lab", name, [*available(), "all"])
    if not args.out:
        raise ValueError("Give --out DIR: the folder for the lab's result.json, README.md and pictures.")
    if name == "all":
        index = run_all(args.out, args.preset)
        print(index.read_text(encoding="utf-8"))
        return 1 if "| error: " in index.read_text(encoding="utf-8") else 0
    payload = run(name, args.out, args.preset)
    print(f"{payload['lab']}: {payload['verdict']} ({payload['seconds']:.0f} s). {payload['explanation']}")
    print(f"measured: {payload['measured']}")
    print(f"wrote {Path(args.out) / 'result.json'} and {Path(args.out) / README_FILE}")
    return 0


__all__ = ["PRESETS", "LabResult", "available", "get", "run", "run_all", "command"]
