"""``python -m kit ...``: see ``kit.cli``."""

from kit.cli import main

raise SystemExit(main())
