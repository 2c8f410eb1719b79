"""Keras coursework kit for the Fashion-MNIST homework.

Data flows one way: ``kit.data`` -> ``kit.models`` -> ``kit.train`` -> ``kit.evaluate``
-> ``kit.report``; ``kit.grading`` scores student submissions beside them.
Submodules are imported on demand so that ``python -m kit data`` stays fast; importing
``kit`` imports no Keras. Two things happen when Keras is imported later, by the kit or by
whoever imported ``kit`` (a notebook cell: ``import kit`` then ``import keras``):

- quiet start-up: TensorFlow's C++ start-up lines (oneDNN, CUDA probing: written to file
  descriptor 2 before absl logging is set up, so no log level reaches them), its retracing
  warnings and absl's Python warnings stay out of the student's terminal or notebook, unless
  ``KIT_VERBOSE=1`` is set;
- every Keras object the kit defines (kit.layers, kit.schedules, kit.augment) is registered, so
  that ``keras.models.load_model(path)`` loads any model the kit saved, in safe mode.
"""

import importlib as _importlib
import logging as _logging
import os as _os
import sys as _sys
from pathlib import Path as _Path

__version__ = "0.1.0"


def _course_folder() -> _Path:
    """The repository (or unpacked student release) the kit lives in: solutions/, assignments/, datasets/, tests/.

    A kit installed with pip (site-packages) lives in none: then the course folder is the current
    folder or the nearest one above it with assignments/ (or solutions/), else the current folder,
    so that `python -m kit check` in a cloned release finds its assignment as in the repository.
    """
    package_parent = _Path(__file__).resolve().parent.parent
    if package_parent.name not in ("site-packages", "dist-packages"):
        return package_parent
    try:
        here = _Path.cwd()
    except OSError:  # the current folder was deleted
        return package_parent
    for folder in (here, *here.parents):
        if (folder / "assignments").is_dir() or (folder / "solutions").is_dir():
            return folder
    return here


REPO_ROOT = _course_folder()

# KIT_VERBOSE=1 (any value but "" or "0"): leave TensorFlow's, CUDA's and absl's output as they are.
VERBOSE = _os.environ.get("KIT_VERBOSE", "") not in ("", "0")

# The modules that define registered Keras objects (custom layers, schedules). They import no kit
# module that imports Keras (tests/test_quiet.py checks it), so they can be imported the moment Keras is.
SERIALIZABLES = ("kit.layers", "kit.schedules", "kit.augment")


def _register_serializables() -> None:
    """Import the modules that register the kit's Keras objects (one being imported finishes on its own)."""
    for name in SERIALIZABLES:
        if name not in _sys.modules:
            _importlib.import_module(name)


class _DescriptorSilenced:
    """File descriptor 2 sent to /dev/null while the block runs (C++ code writes there, not to sys.stderr).

    Python exceptions still reach the user: they are raised after the descriptor is restored.
    """

    def __enter__(self):
        if _sys.stderr is not None:
            _sys.stderr.flush()
        try:
            self._saved = _os.dup(2)
        except OSError:  # no descriptor 2 (a daemon, a sandbox): nothing to silence
            self._saved = None
            return
        with open(_os.devnull, "wb") as devnull:
            _os.dup2(devnull.fileno(), 2)

    def __exit__(self, *exc_info):
        if self._saved is not None:
            _os.dup2(self._saved, 2)
            _os.close(self._saved)


class _Loader:
    """The real loader of ``tensorflow`` or ``keras``, with the kit's step after (or around) it."""

    def __init__(self, loader, name: str):
        self._loader, self._name = loader, name

    def __getattr__(self, attribute):  # resource readers, get_code, is_package, ...: the real loader's
        return getattr(self._loader, attribute)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        if self._name == "keras":
            self._loader.exec_module(module)
            _register_serializables()
            return
        with _DescriptorSilenced():  # tensorflow: its import and the CUDA probe print C++ lines
            self._loader.exec_module(module)
            # cuInit's failure on a machine without a GPU is printed at the first device query:
            # make that query here, while silenced (it costs < 1 ms and creates no device context).
            module.config.list_physical_devices("GPU")
        # TensorFlow sets up its logger on first use, at level INFO in an interactive session (a
        # notebook): set it up now, then back to the level the kit chose.
        module.get_logger()
        _quiet_logs(force=("tensorflow",))


class _ImportHook:
    """A ``sys.meta_path`` finder that hands out the real spec of ``tensorflow`` / ``keras`` with a ``_Loader``."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names

    def find_spec(self, name, path, target=None):
        if name not in self.names:
            return None
        for finder in _sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Loader(spec.loader, name)
                return spec
        return None


# Python loggers the kit sets to ERROR where nobody configured them: tensorflow ("N out of the last
# M calls ... triggered tf.function retracing" when the homework predicts with several small models),
# absl (Keras' notes on saving and loading).
_QUIET_LOGGERS = ("tensorflow", "absl")
_quieted: set[str] = set()


def _quiet_logs(force: tuple[str, ...] = ()) -> None:
    """TensorFlow's C++ log level (set before TensorFlow loads) and the Python loggers nobody configured.

    ``force``: loggers set again where the kit set them before (TensorFlow resets its own on first use).
    """
    _os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in _QUIET_LOGGERS:
        logger = _logging.getLogger(name)
        if logger.level == _logging.NOTSET or (name in force and name in _quieted):
            logger.setLevel(_logging.ERROR)
            _quieted.add(name)


if not VERBOSE:
    _quiet_logs()
if not any(type(finder).__qualname__ == _ImportHook.__qualname__ for finder in _sys.meta_path):  # reload adds none
    _sys.meta_path.insert(0, _ImportHook(("keras",) if VERBOSE else ("keras", "tensorflow")))
if "keras" in _sys.modules:  # Keras was imported before the kit
    _register_serializables()
