"""Figures without pyplot: a ``matplotlib.figure.Figure`` saved as PNG by the Agg canvas.

``Figure.savefig`` renders with Agg whatever backend pyplot uses, so the kit never changes a
notebook's backend (no ``matplotlib.use``) and keeps no global figure state.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure


def new_figure(width: float, height: float, *, layout: str | None = "constrained", **options: Any) -> Figure:
    """An empty figure of ``width`` x ``height`` inches (constrained layout unless told otherwise)."""
    return Figure(figsize=(width, height), layout=layout, **options)


def save_figure(figure: Figure, path: str | os.PathLike, *, dpi: int = 100) -> Path:
    """Write ``figure`` as a PNG file (folders created); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi, format="png")
    return path
