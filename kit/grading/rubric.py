"""The rubric as data: which checks, for how many points, shown to whom, with what limits.

An assignment's rubric is two files, so that the student release can ship the visible half:

- ``rubric.py`` (visible checks, ``LIMITS``): read from ``solutions/<assignment>/`` in the
  instructor repository and from ``assignments/<assignment>/`` in the student release;
- ``rubric_hidden.py`` (hidden checks: their inputs' seeds, sizes and edge cases): only in
  ``solutions/<assignment>/``, never released, never readable by student code.

Both are trusted instructor code holding plain data (no expected answers: the judges in
``kit.grading.judges`` compute those from the inputs).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field, replace
from pathlib import Path

from kit import REPO_ROOT
from kit.errors import GradingError

ROOT = REPO_ROOT
VISIBILITIES = ("visible", "hidden", "after_due_date")
# The check kinds a rubric may name; each is one routine in kit.grading.grader.CHECK_KINDS.
KINDS = (
    "dataset_summary",
    "confusion_matrix",
    "f1_scores",
    "best_config",
    "cnn",
    "weight_transfer",
    "inception_module",
    "inception_cnn",
    "model",
)
VISIBLE_FILE, HIDDEN_FILE = "rubric.py", "rubric_hidden.py"


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

    def __post_init__(self):
        if self.kind not in KINDS:
            raise GradingError(
                f"Unknown check kind {self.kind!r} in rubric check {self.id!r}; "
                f"valid kinds: {', '.join(sorted(KINDS))}."
            )
        if self.visibility not in VISIBILITIES:
            raise GradingError(
                f"Unknown visibility {self.visibility!r} in rubric check {self.id!r}; valid: {', '.join(VISIBILITIES)}."
            )

    def scaled(self, factor: float) -> Check:
        """The same check with its timeout multiplied (tests use short timeouts)."""
        return replace(self, timeout=self.timeout * factor)


@dataclass(frozen=True)
class Rubric:
    """An assignment's checks (visible first, then hidden where loaded) and per-child limits."""

    assignment: str
    checks: tuple[Check, ...]
    limits: dict
    path: Path
    hidden_path: Path | None = None

    @property
    def hide(self) -> list[Path]:
        """Folders a child must not see: solutions, tests, and the rubric files' folders."""
        folders = [ROOT / "solutions", ROOT / "tests", self.path.parent]
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


def rubric_files(assignment: str, root: Path = ROOT) -> tuple[Path | None, Path | None]:
    """(visible rubric, hidden rubric) of an assignment; either is None where absent."""
    visible = next(
        (
            folder / assignment / VISIBLE_FILE
            for folder in (root / "solutions", root / "assignments")
            if (folder / assignment / VISIBLE_FILE).is_file()
        ),
        None,
    )
    hidden = root / "solutions" / assignment / HIDDEN_FILE
    return visible, hidden if hidden.is_file() else None


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_rubric(assignment: str = "fashion_mnist", *, hidden: bool = True, root: str | Path = ROOT) -> Rubric:
    """The rubric of ``assignment``: visible checks, plus the hidden ones where ``hidden`` and present.

    ``root`` is the repository (instructor: ``solutions/``; student release: ``assignments/``).
    """
    root = Path(root)
    visible, hidden_path = rubric_files(assignment, root)
    if visible is None:
        known = sorted(
            {
                p.parent.name
                for folder in ("solutions", "assignments")
                for p in (root / folder).glob(f"*/{VISIBLE_FILE}")
            }
        )
        raise GradingError(
            f"No rubric for assignment {assignment!r} (no {VISIBLE_FILE} in solutions/{assignment}/ or "
            f"assignments/{assignment}/); assignments with a rubric: {', '.join(known) or 'none'}."
        )
    module = _module(visible, f"_rubric_{assignment}")
    entries = list(module.CHECKS)
    leaked = [entry.get("id") for entry in entries if entry.get("visibility") == "hidden"]
    if leaked:
        raise GradingError(
            f"{visible} lists hidden check(s) {', '.join(map(str, leaked))}; move them to {HIDDEN_FILE} "
            "(the visible rubric ships to students)."
        )
    if not hidden:
        hidden_path = None
    if hidden_path is not None:
        entries += list(_module(hidden_path, f"_rubric_hidden_{assignment}").CHECKS)
    checks = tuple(Check(**entry) for entry in entries)
    ids = [check.id for check in checks]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise GradingError(f"Rubric of {assignment!r} has duplicate check ids: {', '.join(duplicates)}.")
    return Rubric(assignment, checks, dict(getattr(module, "LIMITS", {})), visible, hidden_path)
