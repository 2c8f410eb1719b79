"""Exit 0 when this interpreter has every pinned requirement of requirements.txt at its pinned version.

`make ... PY=/path/to/python` runs it first, so an interpreter that already has the kit's
requirements is used as it is (no reinstall); one that lacks some is named in one line.
Written by hand: pip has no "are these pins met?" query that answers without the network.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path


def unmet(requirements: Path) -> list[str]:
    """The pins (``name==version``, extras ignored) this interpreter does not have, as 'name==want (have)'."""
    missing = []
    for line in requirements.read_text(encoding="utf-8").splitlines():
        found = re.match(r"^\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*==\s*([^\s#;]+)", line)
        if not found:
            continue
        name, want = found.groups()
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = "not installed"
        if have != want:
            missing.append(f"{name}=={want} ({have})")
    return missing


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "requirements.txt")
    missing = unmet(path)
    if missing:
        shown = ", ".join(missing[:5])
        print(f"{sys.executable} lacks {len(missing)} pinned requirement(s) of {path}: {shown}", file=sys.stderr)
        sys.exit(1)
