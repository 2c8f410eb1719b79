"""The course's assignments: each one a folder the kit reads, and knows nothing else about.

DESIGN.md "An assignment is a folder": ``solutions/<name>/`` (the instructor's single source) or,
in the student release, ``assignments/<name>/`` holds ``assignment.yml``, the manifest::

    title: "Training networks: initialisation, BatchNorm, dropout, update rules"
    entry: homework.py            # the file the student writes (its functions are checked)
    files: [homework.py, report.md]   # what a submission may hold; the rest is ignored
    datasets: []                  # data sets the checks or the runner need (kit.data names)
    leaderboard: null             # the leaderboard column's name, or null
    runner: runner.py             # optional: `python -m kit homework --assignment NAME` runs it
    outputs: {}                   # optional: where the runner writes a file a submission holds (kit check's hint)

beside the entry file, ``rubric.py`` (visible checks), ``rubric_hidden.py`` (instructor only),
``checks.py`` (the assignment's own check kinds, see ``kit.grading.kinds``), the notebook source
and the READMEs. Adding an assignment adds a folder; no file of ``kit/`` changes (docs/authoring.md).
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from kit import REPO_ROOT
from kit.errors import KitError

MANIFEST = "assignment.yml"
KEYS = ("title", "entry", "files", "datasets", "leaderboard", "runner", "outputs", "lectures")
FOLDERS = ("solutions", "assignments")  # where an assignment's folder is looked for, in this order
_module_ids = itertools.count()


@dataclass(frozen=True)
class Assignment:
    """One assignment, as its manifest describes it; ``folder`` is where the manifest was found."""

    name: str
    title: str
    entry: str
    files: tuple[str, ...]
    folder: Path
    root: Path
    datasets: tuple[str, ...] = ()
    leaderboard: str | None = None
    runner: str | None = None
    lectures: tuple[str, ...] = ()
    outputs: tuple[tuple[str, str], ...] = ()  # (submitted file, where the runner writes it) pairs

    def output(self, file_name: str) -> str | None:
        """Where the runner writes ``file_name`` of a submission (the manifest's ``outputs``), or None."""
        return dict(self.outputs).get(file_name)

    @property
    def solution_dir(self) -> Path:
        """``solutions/<name>/`` (absent in the student release)."""
        return self.root / "solutions" / self.name

    @property
    def student_dir(self) -> Path:
        """``assignments/<name>/``: the folder a student edits, holding the released stub of ``entry``."""
        return self.root / "assignments" / self.name

    @property
    def has_solution(self) -> bool:
        return (self.solution_dir / MANIFEST).is_file()

    def path(self, file_name: str) -> Path:
        """A file of the assignment's own folder (the solution's where present)."""
        return self.folder / file_name

    def load_module(self, file_name: str, *, folder: Path | None = None) -> ModuleType:
        """Import one of the assignment's Python files under one stable module name (``_kit_<name>_<file>``)."""
        return load_module(
            Path(folder or self.folder) / file_name, f"_kit_{self.name}_{Path(file_name).stem}", stable=True
        )

    def load_runner(self) -> ModuleType:
        """The assignment's runner module (``runner`` in the manifest); KitError where it has none."""
        if not self.runner:
            raise KitError(f"Assignment {self.name!r} has no runner (no `runner:` in its {MANIFEST}).")
        return self.load_module(self.runner)


def default_impl(name: str, entry: str = "homework.py", root: Path = REPO_ROOT) -> str:
    """A runner's default implementation: `solutions` where it exists (the instructor's), else `assignments`."""
    return "solutions" if (Path(root) / "solutions" / name / entry).is_file() else "assignments"


def resolve_impl(name: str, impl: str | None = None, *, entry: str = "homework.py", root: Path = REPO_ROOT) -> Path:
    """The entry file a runner's `--impl` names: `solutions`, `assignments`, a folder, or the file itself."""
    impl = impl or default_impl(name, entry, root)
    path = Path(root) / impl / name if impl in FOLDERS else Path(impl)
    if path.is_dir():
        path = path / entry
    if not path.is_file():
        raise ValueError(
            f"No {entry} at '{path}'; --impl takes solutions, assignments, or a folder (or .py file) with your {entry}."
        )
    return path.resolve()


def load_entry(path: str | Path, name: str = "_kit_homework") -> ModuleType:
    """Import a student's file by path under a unique module name; one sentence where it does not import."""
    try:
        return load_module(Path(path), name)
    except Exception as error:
        raise KitError(
            f"{path} does not import ({type(error).__name__}: {error}); fix it, then run the homework again."
        ) from error


def load_module(path: Path, name: str | None = None, *, stable: bool = False) -> ModuleType:
    """Import a Python file by path; registered in ``sys.modules`` first (dataclasses need that).

    Under a unique name (``name`` and a number: several may be loaded side by side, a student's
    files), or, where ``stable``, under ``name`` itself, replacing what was loaded there before (an
    assignment's own files: loading them again does not grow ``sys.modules``).
    """
    if not stable:
        name = f"{name or '_kit_module'}_{next(_module_ids)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def available(root: str | Path = REPO_ROOT) -> list[str]:
    """The names of every assignment with a manifest under ``solutions/`` or ``assignments/``."""
    root = Path(root)
    return sorted({p.parent.name for folder in FOLDERS for p in (root / folder).glob(f"*/{MANIFEST}")})


def get(name: str | None = None, root: str | Path = REPO_ROOT) -> Assignment:
    """The assignment called ``name``; with ``name`` None, the only one (several: an error naming them)."""
    root = Path(root)
    names = available(root)
    if name is None:
        here = infer(Path.cwd(), root) if len(names) > 1 else None
        if len(names) == 1:
            name = names[0]
        elif here is not None:
            return here
        elif not names:
            raise KitError(f"No assignment found (no solutions/*/{MANIFEST} or assignments/*/{MANIFEST} in {root}).")
        else:
            raise KitError(
                f"Several assignments: name one with --assignment ({', '.join(names)}), or run the command from "
                "inside the assignment's folder."
            )
    if name not in names:
        raise KitError(f"Unknown assignment {name!r}; valid names: {', '.join(names) or 'none'}.")
    folder = next(root / f / name for f in FOLDERS if (root / f / name / MANIFEST).is_file())
    return _from_manifest(name, folder, root)


def infer(folder: str | Path, root: str | Path = REPO_ROOT) -> Assignment | None:
    """The assignment a folder belongs to, for a command run without ``--assignment``; else None.

    The folder (or one above it) is an assignment's own (it holds ``assignment.yml``); or it holds
    an assignment's entry file whose functions are those of exactly one assignment's released stub
    (a student's copy elsewhere: two assignments may both call their file ``homework.py``).
    """
    folder = Path(folder).resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / MANIFEST).is_file() and candidate.parent.name in FOLDERS:
            return from_folder(candidate)
    scores = {}
    for name in available(root):
        assignment = get(name, root)
        if (folder / assignment.entry).is_file():
            stub = assignment.student_dir / assignment.entry
            scores[name] = len(_functions(folder / assignment.entry) & _functions(stub if stub.is_file() else None))
    best = max(scores.values(), default=0)
    winners = [name for name, score in scores.items() if score == best]
    return get(winners[0], root) if best > 0 and len(winners) == 1 else None


def _functions(path: Path | None) -> set[str]:
    """The names of a Python file's top-level functions (empty where it is missing or does not parse)."""
    import ast

    try:
        tree = ast.parse(path.read_text(encoding="utf-8")) if path is not None else None
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return set()
    return {node.name for node in getattr(tree, "body", []) if isinstance(node, ast.FunctionDef)}


def from_folder(folder: str | Path) -> Assignment | None:
    """The assignment whose folder this is (it holds ``assignment.yml``), wherever it lies; else None.

    For a kit installed with pip, run on a course folder it does not live in:
    ``python -m kit check path/to/course/assignments/<name>``.
    """
    folder = Path(folder).resolve()
    if not (folder / MANIFEST).is_file():
        return None
    return _from_manifest(folder.name, folder, folder.parent.parent)


def _from_manifest(name: str, folder: Path, root: Path) -> Assignment:
    import yaml

    path = folder / MANIFEST
    try:
        manifest = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise KitError(f"{path} is not valid YAML ({error}); fix the manifest.") from None
    if not isinstance(manifest, dict):
        raise KitError(f"{path} must be a mapping of {', '.join(KEYS)}.")
    unknown = sorted(set(manifest) - set(KEYS))
    if unknown:
        raise KitError(f"Unknown key(s) {', '.join(unknown)} in {path}; valid keys: {', '.join(KEYS)}.")
    missing = [key for key in ("title", "entry") if not manifest.get(key)]
    if missing:
        raise KitError(f"{path} lacks {', '.join(missing)}; every manifest names its title and entry file.")
    entry = str(manifest["entry"])
    files = tuple(str(f) for f in (manifest.get("files") or [entry]))
    if entry not in files:
        files = (entry, *files)
    return Assignment(
        name=name,
        title=str(manifest["title"]),
        entry=entry,
        files=files,
        folder=folder,
        root=root,
        datasets=tuple(manifest.get("datasets") or ()),
        leaderboard=manifest.get("leaderboard"),
        runner=manifest.get("runner"),
        lectures=tuple(manifest.get("lectures") or ()),
        outputs=tuple((str(k), str(v)) for k, v in (manifest.get("outputs") or {}).items()),
    )


def command_run(args, runner_args: list[str]) -> int:
    """``python -m kit homework [--assignment NAME] ...``: the assignment's runner, with its own arguments."""
    assignment = get(args.assignment)
    return int(assignment.load_runner().main(runner_args, assignment=assignment) or 0)
