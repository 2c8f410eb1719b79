"""The grading engine's identity: one digest of everything besides a submission and its rubric that
decides a score, so that a result kept from before (the self-check's cache, a class folder) is
reused only while the engine is the same.

Written by hand: it hashes the kit's source files in a fixed order, which no caching library keys on.
"""

from __future__ import annotations

import hashlib
import os
import platform
from importlib import metadata
from pathlib import Path

# the libraries whose numbers a score is computed with: a new version regrades
ENGINE_PACKAGES = ("keras", "numpy", "scikit-learn", "tensorflow", "jax", "h5py", "pandas")


def engine_key(source: str | os.PathLike | None = None) -> str:
    """A digest of the grading engine: the kit's own source (its grading, data, models and the rest a
    judge may import; the lecture labs left out), its version, Python's and the libraries' versions,
    and the Keras backend. A fix in a judge, or a new Keras, changes it. ``source``: the kit's folder."""
    import kit

    digest = hashlib.sha256(f"kit {kit.__version__}; python {platform.python_version()}\n".encode())
    for package in ENGINE_PACKAGES:
        try:
            digest.update(f"{package} {metadata.version(package)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package} -\n".encode())
    digest.update(f"backend {os.environ.get('KERAS_BACKEND', '')}\n".encode())
    source = Path(source or Path(kit.__file__).parent)
    for path in sorted(source.rglob("*.py")):
        relative = path.relative_to(source)
        if relative.parts[0] != "labs":
            digest.update(relative.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
