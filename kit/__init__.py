"""Keras coursework kit for the Fashion-MNIST homework.

Data flows one way: ``kit.data`` -> ``kit.models`` -> ``kit.train`` -> ``kit.evaluate``
-> ``kit.report``; ``kit.grade`` scores student submissions beside them.
Submodules are imported on demand so that ``python -m kit data`` stays fast.
"""

import os as _os
from pathlib import Path as _Path

# Keep TensorFlow's C++ start-up chatter out of students' terminals (set before keras loads).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

# The repository (or unpacked student release) the kit lives in: solutions/, assignments/, datasets/, tests/.
REPO_ROOT = _Path(__file__).resolve().parent.parent
