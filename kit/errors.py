"""Errors that carry one sentence for the user: what was wrong and what to do.

The CLI prints them without a traceback and exits with status 2. ``check_name`` and
``check_options`` write the one "Unknown X; valid names: ..." sentence every module uses
(scikit-learn style: the error lists the valid choices).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class KitError(Exception):
    """Base class of the kit's user-facing errors."""


class DatasetError(KitError):
    """The Fashion-MNIST files are missing, unreadable or not what they should be."""


class TrainingError(KitError):
    """Training could not go on (e.g. the loss exploded); the run folder is left valid."""


class GradingError(KitError):
    """A submission or rubric could not be graded as asked."""


def check_name(kind: str, name: Any, valid: Iterable[str], *, normalize: bool = False) -> Any:
    """Return ``name`` if it is one of ``valid``, else raise ``ValueError`` listing the valid names.

    ``normalize``: compare (and return) the name lower-cased with "-" read as "_", so that
    "ReLU" or "batch-norm" spell the same choice as "relu" and "batch_norm".
    """
    names = list(valid)
    key = str(name).strip().lower().replace("-", "_") if normalize and isinstance(name, str) else name
    if not isinstance(key, str) or key not in names:
        raise ValueError(f"Unknown {kind} {name!r}; valid names: {', '.join(names)}.")
    return key


def check_options(what: str, options: Iterable[str], valid: Iterable[str]) -> None:
    """Raise ``ValueError`` naming the unknown keyword options of ``what`` (e.g. "optimizer 'adam'")."""
    valid = sorted(valid)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        listed = ", ".join(map(repr, unknown))
        raise ValueError(
            f"Unknown option{'s' if len(unknown) > 1 else ''} {listed} for {what}; "
            f"valid options: {', '.join(valid) or 'none'}."
        )
