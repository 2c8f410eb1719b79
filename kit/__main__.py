"""``python -m kit ...``: see ``kit.cli``.

Before anything else (and before a student's homework.py is imported), check that this Python
has the kit's packages: run outside `.venv`, a command would otherwise die with a traceback
about sklearn, or blame the student's homework.py for a missing keras.
"""

import importlib.util
import os
import sys

# import name -> the requirements.txt name a student would recognise
_NEEDED = {
    "numpy": "numpy",
    "pandas": "pandas",
    "sklearn": "scikit-learn",
    "matplotlib": "matplotlib",
    "keras": "keras",
}


def missing_packages() -> list[str]:
    """The kit's packages (and the Keras backend chosen by KERAS_BACKEND) that this Python cannot import."""
    needed = {
        **_NEEDED,
        os.environ.get("KERAS_BACKEND") or "tensorflow": os.environ.get("KERAS_BACKEND") or "tensorflow",
    }
    return [name for module, name in needed.items() if importlib.util.find_spec(module) is None]


def _main() -> int:
    missing = missing_packages()
    if missing:
        print(
            f"error: this Python ({sys.executable}) does not have the kit's packages ({', '.join(missing)} missing). "
            "Use the kit's virtual environment: run `make setup` once, then `.venv/bin/python -m kit ...` "
            "(or `source .venv/bin/activate` first, then `python -m kit ...`).",
            file=sys.stderr,
        )
        return 2
    from kit.cli import main

    return main()


raise SystemExit(_main())
