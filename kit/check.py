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
    only: list[str] | None = None,
) -> dict:
    """Run the visible checks on `folder` (default: the folder you are in, else the assignment's); print the
    table; return the results.

    ``only``: the checks of these functions or check ids alone. With ``cache``, a check whose inputs did
    not change (the function it checks and what that calls in your file, the file's imports and
    constants, the rubric, the grading engine: ``check_keys``) answers from the cache at once; only the
    others are graded, so after editing one function only its checks run.
    """
    from kit import assignments
    from kit.grading import load_rubric, write_results

    own = assignments.from_folder(folder) if folder and not assignment else None  # an assignment's own folder
    if folder is None and assignment is None:  # run from where the student is: an assignment's folder, or a copy
        own = assignments.infer(Path.cwd())
        folder = Path.cwd() if own is not None and (Path.cwd() / own.entry).is_file() else None
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
    echo(f"kit check on {_shown(folder)}: the autograder's visible checks (hidden ones: after you submit)")
    rubric = load_rubric(assignment, hidden=False)
    checks = selected(rubric, only)
    for check_ in checks:
        name = check_.params.get("file", "model.keras")
        if not rubric.kind(check_).needs_entry and not (folder / name).is_file():
            made = assignment.output(name)  # where the assignment's runner writes it (its manifest's `outputs`)
            source = f"e.g. `cp {made} {folder}/`" if made else "from your run folder"
            echo(
                f"note: no {name} in {folder}: the model check ({check_.points:g} points) needs one; copy your best "
                f"run's, {source} (see the assignment's README, 'What to submit')."
            )
    keys = check_keys(folder, rubric, checks)
    kept = {c.id: found for c in checks if cache and (found := read_cached(keys[c.id])) and "test" in found}
    todo = [c.id for c in checks if c.id not in kept]
    fresh = None
    if todo:
        from kit.grading import grade

        fresh = grade(folder, assignment=assignment, hidden=False, only=todo, quiet=True)
        files = {c.id for c in checks if not rubric.kind(c).needs_entry}  # a model check gives the leaderboard
        for test in fresh["tests"]:
            board = fresh.get("leaderboard") if test["tags"][0] in files else None
            write_cached(keys[test["tags"][0]], {"test": test, "leaderboard": board})
    elif kept:
        echo("(nothing changed since your last check: its results, from the cache; --no-cache grades again)")
    results = assemble(checks, kept, fresh, folder, assignment)
    if out is not None:
        write_results(results, out)
    echo(table(results, cached=set(kept)))
    if out is not None:
        echo(f"wrote {out} (Gradescope's results.json format, visible checks only)")
    return results


def run_checks(*names: str, folder: str | os.PathLike | None = None, cache: bool = True) -> dict:
    """The self-check from a notebook, like Otter's ``grader.check("q1")``: ``run_checks("f1_scores")``.

    Checks the functions (or check ids) named, all visible checks with none, on the ``homework.py``
    saved beside the notebook (the folder the kernel runs in, or ``folder``): save the file first.
    Nothing of the student's runs in this process: as in ``python -m kit check``, each call runs in
    a sandboxed child (kit.grading.sandbox) that reads the file from disk, and only plain data comes
    back. Prints the table; returns the results (``["score"]``, ``["tests"]``).
    """
    return check(folder, only=list(names) or None, cache=cache)


def selected(rubric, only: list[str] | None) -> list:
    """The visible checks, or those of the functions or check ids in ``only`` (unknown names: one sentence)."""
    checks = rubric.select(hidden=False)
    if not only:
        return checks
    known = {c.id for c in checks} | {c.function for c in checks if c.function}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise ValueError(
            f"Unknown function or check {', '.join(map(repr, unknown))}; valid: {', '.join(sorted(known))}."
        )
    return [c for c in checks if c.id in only or c.function in only]


def assemble(checks: list, kept: dict[str, dict], fresh: dict | None, folder: Path, assignment) -> dict:
    """One results dict in the rubric's order from the tests kept in the cache and those graded now."""
    from kit.grading.grader import submission_notes, summary_output
    from kit.grading.gradescope import empty_leaderboard

    graded = {t["tags"][0]: t for t in (fresh or {}).get("tests", [])}
    tests = []
    for number, check_ in enumerate(checks, start=1):
        test = graded[check_.id] if check_.id in graded else kept[check_.id]["test"]
        tests.append({**test, "number": str(number)})
    notes = submission_notes(folder, assignment.files, assignment.student_dir)
    output = (fresh or {}).get("output") or summary_output(tests, notes)
    if fresh is not None and kept:  # the graded part's summary line counted its own checks only
        output = summary_output(tests, [line for line in output.splitlines() if not line.startswith("Visible")])
    boards = [kept[c.id]["leaderboard"] for c in checks if c.id in kept and kept[c.id].get("leaderboard")]
    board = next(iter(boards), None) or (fresh or {}).get("leaderboard") or empty_leaderboard(assignment.leaderboard)
    return {
        "score": round(sum(t["score"] for t in tests), 4),
        "execution_time": (fresh or {}).get("execution_time", 0.0),
        "output": output,
        "tests": tests,
        "leaderboard": board,
    }


def _shown(folder: Path) -> str:
    """The folder as the student knows it: the one they are in, else the shorter of its relative and full path."""
    here = Path.cwd().resolve()
    if folder.resolve() == here:
        return "the folder you are in"
    try:
        relative = os.path.relpath(folder.resolve(), here)
    except ValueError:  # another drive (Windows)
        return str(folder)
    return min(relative, str(folder), key=len)


# ------------------------------------------------------------------ the cache of unchanged checks


def cache_dir() -> Path:
    """Where checked results are kept: `$KIT_CACHE_DIR`, else `$XDG_CACHE_HOME/kit/check`, else `~/.cache/kit/check`."""
    if os.environ.get("KIT_CACHE_DIR"):
        return Path(os.environ["KIT_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kit" / "check"


def check_keys(folder: Path, rubric, checks: list) -> dict[str, str]:
    """Per check id, a digest of everything its visible grade depends on.

    The check itself (its rubric entry, the rubric's limits and files), the grading engine
    (``kit.grading.engine``), and what it reads of the submission: for a check of a function, that
    function's source and the sources of the functions and classes of your file it uses (by name,
    transitively) with the file's module-level code (imports, constants); for a check of a file (a
    model), the submission's files other than the entry file. A file that does not parse, or a check
    that names no function: the whole file.
    Written by hand: no caching library keys on the parts of a Python file a function reaches.
    """
    import dataclasses
    import hashlib

    from kit.assignments import MANIFEST
    from kit.grading.engine import engine_key

    assignment = rubric.assignment
    base = hashlib.sha256(engine_key().encode() + repr(sorted(rubric.limits.items())).encode())
    for path in (assignment.path(MANIFEST), rubric.path, *rubric.checks_files):
        base.update(path.name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    source = StudentSource(folder / assignment.entry)
    keys = {}
    for check_ in checks:
        digest = base.copy()
        digest.update(repr(dataclasses.astuple(check_)).encode())
        if rubric.kind(check_).needs_entry:
            digest.update(source.reached(check_.function, check_.params).encode())
        else:
            for name in sorted(set(assignment.files) - {assignment.entry}):  # what a file check reads
                path = folder / name
                digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"-") + b"\0")
        keys[check_.id] = digest.hexdigest()
    return keys


class StudentSource:
    """The student's entry file read as parts: module-level code, and each top-level function or class."""

    def __init__(self, path: Path):
        import ast

        try:
            self.text = path.read_text(encoding="utf-8")
            tree = ast.parse(self.text)
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            self.text, self.parts = (path.read_bytes().decode("latin-1") if path.is_file() else ""), None
            return
        lines = self.text.splitlines()
        self.module, self.parts, self.uses = [], {}, {}
        for node in tree.body:
            first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
            text = "\n".join(lines[first - 1 : node.end_lineno])
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.parts[node.name] = text
                self.uses[node.name] = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            else:
                self.module.append(text)

    def reached(self, function: str | None, params: dict) -> str:
        """The source a check of ``function`` (and of functions its params name) depends on."""
        names = {function} if function else set()
        names |= {value for value in _strings(params) if self.parts and value in self.parts}
        if self.parts is None or not names & set(self.parts):
            return self.text  # cannot tell what it reaches: all of it
        todo, seen = list(names & set(self.parts)), set()
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo += [used for used in self.uses[name] if used in self.parts]
        return "\n".join([*self.module, *(f"{name}\n{self.parts[name]}" for name in sorted(seen))])


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def read_cached(key: str) -> dict | None:
    """The check's result kept under `key` (``{"test": ..., "leaderboard": ...}``), or None (absent or unreadable)."""
    import json

    try:
        return json.loads((cache_dir() / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_cached(key: str, results: dict) -> None:
    """Keep one check's result under `key` (best effort: a cache that cannot be written only costs time)."""
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


def table(results: dict, width: int = 100, cached: set[str] = frozenset()) -> str:
    """One row per check: check, points (got/max), what to fix (wrapped to fit ``width`` columns); then the total.

    A check's name wider than half the table goes on a line of its own, so that the advice keeps
    room to be read in an 80- or 100-column terminal.
    """
    rows = [
        (test["name"], f"{test['score']:g}/{test['max_score']:g}", what_to_fix(test), test["tags"][0] in cached)
        for test in results["tests"]
        if test.get("visibility") != "hidden"
    ]
    name_width = min(max([len("check"), *(len(r[0]) for r in rows)]), width // 2)
    points_width = max([len("points"), *(len(r[1]) for r in rows)])
    fix_width = width - name_width - points_width - 4
    notes = [line for line in results.get("output", "").splitlines() if not line.startswith("Visible checks:")]
    out = [
        *[line for note in notes for line in textwrap.wrap(note, width) or [""]],
        *([""] if notes else []),
        f"{'check':<{name_width}}  {'points':>{points_width}}  what to fix",
        "-" * width,
    ]
    for name, points, fix, cached in rows:
        wrapped = textwrap.wrap(fix + (" (from the cache)" if cached else ""), fix_width) or [""]
        if len(name) > name_width:
            out.append(name)
            name = ""
        out.append(f"{name:<{name_width}}  {points:>{points_width}}  {wrapped[0]}")
        out += [f"{'':<{name_width}}  {'':>{points_width}}  {line}" for line in wrapped[1:]]
    got = sum(float(t["score"]) for t in results["tests"] if t.get("visibility") != "hidden")
    total = sum(float(t["max_score"]) for t in results["tests"] if t.get("visibility") != "hidden")
    cached = sum(1 for row in rows if row[3])
    from_cache = f" {cached} of {len(rows)} checks from the cache (unchanged)." if cached else ""
    out += textwrap.wrap(
        f"Visible checks: {got:g} / {total:g} points.{from_cache} "
        "Hidden checks (other inputs, edge cases) add more after you submit.",
        width,
    )
    return "\n".join(out)


def command(args) -> int:
    """`python -m kit check [FOLDER] [--assignment NAME] [--out results.json] [--no-cache] [--strict]`.

    Exit status 0 whatever the score (a check that ran is a success); with ``--strict``, 1 when any
    visible point is missing, for scripts and CI.
    """
    results = check(args.folder, assignment=args.assignment, out=args.out, cache=not args.no_cache, only=args.only)
    shown = [t for t in results["tests"] if t.get("visibility") != "hidden"]
    missing = sum(float(t["max_score"]) - float(t["score"]) for t in shown)
    return 1 if getattr(args, "strict", False) and missing > 0 else 0
