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

ASSIGNMENT = "fashion_mnist"
SUBMISSION_FILES = ("homework.py", "model.keras")


def default_folder(assignment: str = ASSIGNMENT, root: Path | None = None) -> Path:
    """The folder a student edits: `assignments/<assignment>` (in the instructor repository too)."""
    from kit.runner import REPO_ROOT

    return (root or REPO_ROOT) / "assignments" / assignment


def check(folder: str | os.PathLike | None = None, *, assignment: str = ASSIGNMENT, out=None, echo=print) -> dict:
    """Run the visible checks on `folder` (default: the assignment folder); print the table; return results."""
    from kit.grading import grade, write_results

    folder = Path(folder) if folder else default_folder(assignment)
    if not folder.is_dir():
        raise ValueError(
            f"No folder '{folder}'; pass the folder that holds your homework.py (and model.keras), "
            f"e.g. `python -m kit check assignments/{assignment}`."
        )
    if not (folder / "homework.py").is_file():
        raise ValueError(f"'{folder}' has no homework.py; pass the folder that holds your homework.py.")
    echo(f"kit check: the autograder's visible checks on {folder} (hidden checks run only after you submit)")
    if not (folder / "model.keras").is_file():
        echo(
            f"note: no model.keras in {folder}: the model check (25 points) needs one; copy your best run's, "
            f"e.g. `cp runs/homework/best/model.keras {folder}/` (see the assignment's README, 'What to submit')."
        )
    results = grade(folder, assignment=assignment, hidden=False, quiet=True)
    if out is not None:
        write_results(results, out)
    echo(table(results))
    if out is not None:
        echo(f"wrote {out} (Gradescope's results.json format, visible checks only)")
    return results


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
    out = [
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
    """`python -m kit check [FOLDER] [--out results.json]`."""
    check(args.folder, assignment=args.assignment, out=args.out)
    return 0
