"""Errors that carry one sentence for the user: what was wrong and what to do.

The CLI prints them without a traceback and exits with status 2.
"""


class KitError(Exception):
    """Base class of the kit's user-facing errors."""


class DatasetError(KitError):
    """The Fashion-MNIST files are missing, unreadable or not what they should be."""


class TrainingError(KitError):
    """Training could not go on (e.g. the loss exploded); the run folder is left valid."""


class GradingError(KitError):
    """A submission or rubric could not be graded as asked."""
