"""The rubric as data: which checks, for how many points, shown to whom, with what limits.

An assignment's rubric is two files, so that the student release can ship the visible half:

- ``rubric.py`` (visible checks, ``LIMITS``): read from ``solutions/<assignment>/`` in the
  instructor repository and from ``assignments/<assignment>/`` in the student release;
- ``rubric_hidden.py`` (hidden checks: their inputs' seeds, sizes and edge cases): only in
  ``solutions/<assignment>/``, never released, never readable by student code.

Both are trusted instructor code holding plain data (no expected answers: each check's kind, in
``kit.grading.kinds`` or the assignment's ``checks.py``, computes those from the inputs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from kit import REPO_ROOT, assignments
from kit.assignments import Assignment, load_module
from kit.errors import GradingError
from kit.grading.kinds import ModelFileKind, build_registry

ROOT = REPO_ROOT
VISIBILITIES = ("visible", "hidden", "after_due_date")
VISIBLE_FILE, HIDDEN_FILE = "rubric.py", "rubric_hidden.py"
# The assignment's own check kinds (kit.grading.kinds): visible ones ship with the release; the hidden file never does.
CHECKS_FILE, HIDDEN_CHECKS_FILE = "checks.py", "checks_hidden.py"


@dataclass(frozen=True)
class Check:
    """One rubric line: what is checked, for how many points, shown to whom, with what limits."""

    id: str
    name: str
    kind: str
    points: float
    visibility: str = "visible"
    timeout: float = 90.0
    message: str = ""
    params: dict = field(default_factory=dict)
    step: int | str | None = None  # the runner's step the check belongs to (data, never parsed from `name`)
    function: str | None = None  # the student's function it checks (default: params' "function")

    def __post_init__(self):
        if self.visibility not in VISIBILITIES:
            raise GradingError(
                f"Unknown visibility {self.visibility!r} in rubric check {self.id!r}; valid: {', '.join(VISIBILITIES)}."
            )
        if self.function is None and self.params.get("function"):
            object.__setattr__(self, "function", str(self.params["function"]))

    @property
    def title(self) -> str:
        """The name without the prefix "Step {step}: " where it has one: a runner's step line names the step itself."""
        return self.name.removeprefix(f"Step {self.step}: ") if self.step is not None else self.name

    def scaled(self, factor: float) -> Check:
        """The same check with its timeout multiplied (tests use short timeouts)."""
        return replace(self, timeout=self.timeout * factor)


@dataclass(frozen=True)
class Rubric:
    """An assignment's checks (visible first, then hidden where loaded), per-child limits and check kinds."""

    assignment: Assignment
    checks: tuple[Check, ...]
    limits: dict
    path: Path
    hidden_path: Path | None = None
    kinds: dict = field(default_factory=dict)  # kind name -> kit.grading.kinds.Kind
    checks_files: tuple[Path, ...] = ()  # the assignment's checks.py (and checks_hidden.py): copied into the sandbox

    @property
    def hide(self) -> list[Path]:
        """Folders a child must not see: solutions, tests, and the rubric files' folders."""
        root = self.assignment.root
        folders = [root / "solutions", root / "tests", self.path.parent]
        if self.hidden_path is not None:
            folders.append(self.hidden_path.parent)
        folders = [f.resolve() for f in dict.fromkeys(folders)]
        return [f for f in folders if not any(o != f and o in f.parents for o in folders)]  # outermost only

    @property
    def has_hidden(self) -> bool:
        return self.hidden_path is not None

    def check(self, check_id: str) -> Check:
        for check in self.checks:
            if check.id == check_id:
                return check
        raise GradingError(f"Unknown check id {check_id!r}; valid ids: {', '.join(c.id for c in self.checks)}.")

    def kind(self, check: Check):
        return self.kinds[check.kind]

    def select(self, *, hidden: bool = False, only: Iterable[str] | None = None) -> list[Check]:
        """The checks a grading runs: the visible ones (hidden too where asked), restricted to the ids in ``only``."""
        if hidden and not self.has_hidden:
            raise GradingError(
                f"The hidden checks were asked for, but solutions/{self.assignment.name}/rubric_hidden.py is missing "
                "(grade from the instructor repository, or leave out --hidden)."
            )
        checks = [c for c in self.checks if hidden or c.visibility != "hidden"]
        if only is None:
            return checks
        only = list(only)
        unknown = sorted(set(only) - {c.id for c in self.checks})
        if unknown:
            raise GradingError(
                f"Unknown check id(s) {', '.join(unknown)}; valid ids: {', '.join(c.id for c in self.checks)}."
            )
        return [c for c in checks if c.id in only]


def _module(path: Path, assignment: Assignment):
    """An instructor's file of the assignment, under one stable name (``_kit_<assignment>_<file>``)."""
    try:
        return load_module(path, f"_kit_{assignment.name}_{path.stem}", stable=True)
    except Exception as error:  # noqa: BLE001 - an instructor's file that does not import: one sentence
        raise GradingError(f"{path} does not import ({type(error).__name__}: {error}); fix it.") from None


def load_rubric(assignment: str | Assignment | None = None, *, hidden: bool = True, root: str | Path = ROOT) -> Rubric:
    """The rubric of ``assignment``: visible checks, plus the hidden ones where ``hidden`` and present.

    The visible rubric and ``checks.py`` are read from the assignment's folder (``solutions/`` in the
    instructor's repository, ``assignments/`` in the student release), the hidden ones from ``solutions/``.
    """
    if not isinstance(assignment, Assignment):
        assignment = assignments.get(assignment, root)
    visible = assignment.folder / VISIBLE_FILE
    if not visible.is_file():
        raise GradingError(f"Assignment {assignment.name!r} has no {VISIBLE_FILE} in {assignment.folder}.")
    hidden_path = assignment.solution_dir / HIDDEN_FILE if hidden else None
    if hidden_path is not None and not hidden_path.is_file():
        hidden_path = None
    files = [assignment.folder / CHECKS_FILE]
    if hidden_path is not None:
        files.append(assignment.solution_dir / HIDDEN_CHECKS_FILE)
    files = tuple(f for f in files if f.is_file())
    modules = [_module(f, assignment) for f in files]
    kinds = build_registry(modules)
    for kind in kinds.values():  # the leaderboard's column has one source: the manifest
        if isinstance(kind, ModelFileKind):
            kind.leaderboard = assignment.leaderboard
    module = _module(visible, assignment)
    entries = list(module.CHECKS)
    leaked = [entry.get("id") for entry in entries if entry.get("visibility") == "hidden"]
    if leaked:
        raise GradingError(
            f"{visible} lists hidden check(s) {', '.join(map(str, leaked))}; move them to {HIDDEN_FILE} "
            "(the visible rubric ships to students)."
        )
    if hidden_path is not None:
        entries += list(_module(hidden_path, assignment).CHECKS)
    checks = tuple(Check(**entry) for entry in entries)
    for check in checks:
        if check.kind not in kinds:
            raise GradingError(
                f"Unknown check kind {check.kind!r} in rubric check {check.id!r}; "
                f"valid kinds: {', '.join(sorted(kinds))}."
            )
    ids = [check.id for check in checks]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise GradingError(f"Rubric of {assignment.name!r} has duplicate check ids: {', '.join(duplicates)}.")
    return Rubric(assignment, checks, dict(getattr(module, "LIMITS", {})), visible, hidden_path, kinds, files)


def command_list(args) -> int:
    """``python -m kit assignments``: one line each: name, visible points, title; ``--datasets NAME``: the data
    sets NAME's manifest names, one a line (none: nothing printed; ``make check`` fetches only these)."""
    if getattr(args, "datasets", None):
        for dataset in assignments.get(args.datasets).datasets:
            print(dataset)
        return 0
    names = assignments.available()
    if not names:
        print(f"no assignments (no solutions/*/{assignments.MANIFEST} or assignments/*/{assignments.MANIFEST})")
        return 0
    rubrics = [load_rubric(name, hidden=False) for name in names]
    width = max(len(name) for name in names)
    for rubric in rubrics:
        points = sum(check.points for check in rubric.checks)
        print(f"{rubric.assignment.name:<{width}}  {points:>5g} points  {rubric.assignment.title}")
    return 0
