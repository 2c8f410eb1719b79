"""Keras coursework kit for the Fashion-MNIST homework.

Data flows one way: ``kit.data`` -> ``kit.models`` -> ``kit.train`` -> ``kit.evaluate``
-> ``kit.report``; ``kit.grading`` scores student submissions beside them.
Submodules are imported on demand so that ``python -m kit data`` stays fast.
"""

import logging as _logging
import os as _os
from pathlib import Path as _Path

# Keep TensorFlow's C++ start-up chatter out of students' terminals (set before keras loads),
# and its Python warnings too ("N out of the last M calls ... triggered tf.function retracing"
# when the homework predicts with several small models), unless a user set that logger's level.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if _logging.getLogger("tensorflow").level == _logging.NOTSET:
    _logging.getLogger("tensorflow").setLevel(_logging.ERROR)

__version__ = "0.1.0"

# The repository (or unpacked student release) the kit lives in: solutions/, assignments/, datasets/, tests/.
REPO_ROOT = _Path(__file__).resolve().parent.parent
