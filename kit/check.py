"""`python -m kit check [FOLDER]`: the student's self-check, which is the autograder's visible checks.

Nothing here judges anything: it calls the grader (`grade(..., hidden=False)`) on the folder,
with the same sandbox, the same reference answers, messages and points as Gradescope's visible
checks, and prints one line per check (check, points, what to fix). `--out` writes the same
Gradescope `results.json`. So a student's visible score before submitting is the score after.
The hidden checks (other inputs and edge cases) run only on the autograder.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from kit.assignments import Assignment


def default_folder(assignment: Assignment) -> Path:
    """The folder a student edits: `assignments/<assignment>` (in the instructor repository too)."""
    return assignment.student_dir


def check(
    folder: str | os.PathLike | None = None,
    *,
    assignment: str | None = None,
    out=None,
    echo=print,
    cache: bool = True,
) -> dict:
    """Run the visible checks on `folder` (default: the assignment folder); print the table; return results.

    With `cache`, unchanged files (the submission's, the rubric's and the kit's) answer from the last
    check's results at once (`cache_key`); anything changed grades again.
    """
    from kit import assignments
    from kit.grading import load_rubric, write_results

    own = assignments.from_folder(folder) if folder and not assignment else None  # an assignment's own folder
    assignment = own or assignments.get(assignment)
    entry = assignment.entry
    folder = Path(folder) if folder else default_folder(assignment)
    if not folder.is_dir():
        raise ValueError(
            f"No folder '{folder}'; pass the folder that holds your {entry}, "
            f"e.g. `python -m kit check assignments/{assignment.name}`."
        )
    if not (folder / entry).is_file():
        raise ValueError(f"'{folder}' has no {entry}; pass the folder that holds your {entry}.")
    echo(f"kit check: the autograder's visible checks on {folder} (hidden checks run only after you submit)")
    rubric = load_rubric(assignment, hidden=False)
    for check_ in rubric.checks:
        name = check_.params.get("file", "model.keras")
        if not rubric.kind(check_).needs_entry and not (folder / name).is_file():
            echo(
                f"note: no {name} in {folder}: the model check ({check_.points:g} points) needs one; copy your best "
                f"run's, e.g. `cp runs/homework/best/{name} {folder}/` (see the assignment's README, 'What to submit')."
            )
    key = cache_key(folder, rubric)
    results = read_cached(key) if cache else None
    if results is not None:
        echo("(nothing changed since your last check: its results, from the cache; --no-cache grades again)")
    else:
        from kit.grading import grade

        results = grade(folder, assignment=assignment, hidden=False, quiet=True)
        write_cached(key, results)
    if out is not None:
        write_results(results, out)
    echo(table(results))
    if out is not None:
        echo(f"wrote {out} (Gradescope's results.json format, visible checks only)")
    return results


# ------------------------------------------------------------------ the cache of unchanged checks


def cache_dir() -> Path:
    """Where checked results are kept: `$KIT_CACHE_DIR`, else `$XDG_CACHE_HOME/kit/check`, else `~/.cache/kit/check`."""
    if os.environ.get("KIT_CACHE_DIR"):
        return Path(os.environ["KIT_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kit" / "check"


def cache_key(folder: Path, rubric) -> str:
    """A digest of everything a visible grade depends on: the submission's files, the rubric and checks, the kit.

    Written by hand: it hashes file contents in a fixed order, which no caching library keys on by itself.
    """
    import hashlib
    import platform
    from importlib import metadata

    from kit import REPO_ROOT
    from kit.assignments import MANIFEST

    digest = hashlib.sha256()

    def add(label: str, path: Path | None) -> None:
        digest.update(label.encode() + b"\0")
        if path is not None and path.is_file():
            digest.update(path.read_bytes())
        digest.update(b"\0")

    assignment = rubric.assignment
    for name in sorted(assignment.files):
        add(f"submission/{name}", folder / name)
    for path in (assignment.path(MANIFEST), rubric.path, *rubric.checks_files):
        add(f"rubric/{path.name}", path)
    kit_dir = REPO_ROOT / "kit"
    for path in sorted(kit_dir.rglob("*.py")):
        add(path.relative_to(kit_dir).as_posix(), path)
    versions = [platform.python_version()]
    for package in ("keras", "numpy", "scikit-learn", "tensorflow", "jax"):
        try:
            versions.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    digest.update(" ".join([*versions, os.environ.get("KERAS_BACKEND", "")]).encode())
    return digest.hexdigest()


def read_cached(key: str) -> dict | None:
    """The results kept under `key`, or None (absent or unreadable: grade again)."""
    import json

    try:
        return json.loads((cache_dir() / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_cached(key: str, results: dict) -> None:
    """Keep `results` under `key` (best effort: a cache that cannot be written only costs time)."""
    from kit.files import write_json

    try:
        write_json(cache_dir() / f"{key}.json", results)
    except OSError:
        pass


def what_to_fix(test: dict) -> str:
    """The grader's verdict without the check's description: 'ok', or what went wrong (one paragraph)."""
    lines = test.get("output", "").split("\n")
    lines = lines[1:] if len(lines) > 1 else lines  # the first line describes the check (rubric message)
    kept = []
    for line in lines:
        if line.startswith("Your code's output"):
            kept.append("(your code's output: see results.json)")
            break
        if line.strip() and line.strip() != "Passed.":
            kept.append(line.strip())
    full = float(test["score"]) >= float(test["max_score"])
    if full:
        return "ok" + (f" ({' '.join(kept)})" if kept else "")
    return " ".join(kept) or "failed (no detail)"


def table(results: dict, width: int = 70) -> str:
    """One row per check: check, points (got/max), what to fix (wrapped); then the total."""
    rows = [
        (test["name"], f"{test['score']:g}/{test['max_score']:g}", what_to_fix(test))
        for test in results["tests"]
        if test.get("visibility") != "hidden"
    ]
    name_width = max([len("check"), *(len(r[0]) for r in rows)])
    points_width = max([len("points"), *(len(r[1]) for r in rows)])
    notes = [line for line in results.get("output", "").splitlines() if not line.startswith("Visible checks:")]
    out = [
        *notes,
        *([""] if notes else []),
        f"{'check':<{name_width}}  {'points':>{points_width}}  what to fix",
        "-" * (name_width + points_width + 4 + width),
    ]
    for name, points, fix in rows:
        wrapped = textwrap.wrap(fix, width) or [""]
        out.append(f"{name:<{name_width}}  {points:>{points_width}}  {wrapped[0]}")
        out += [f"{'':<{name_width}}  {'':>{points_width}}  {line}" for line in wrapped[1:]]
    got = sum(float(t["score"]) for t in results["tests"] if t.get("visibility") != "hidden")
    total = sum(float(t["max_score"]) for t in results["tests"] if t.get("visibility") != "hidden")
    out.append(
        f"Visible checks: {got:g} / {total:g} points. "
        "Hidden checks (other inputs, edge cases) add more after you submit."
    )
    return "\n".join(out)


def command(args) -> int:
    """`python -m kit check [FOLDER] [--assignment NAME] [--out results.json] [--no-cache]`."""
    check(args.folder, assignment=args.assignment, out=args.out, cache=not args.no_cache)
    return 0
