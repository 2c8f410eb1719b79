"""Infrastructure faults are never a student's zero (issue 10, item 2).

The runtime (the venv) under a folder the sandbox uid cannot enter, as with a clone under
``mktemp -d`` as root: the grader either exposes the interpreter's prefix read-only in the
child's mount namespace (full marks) or refuses before any student code runs, naming the
folder and the fix. A bind mount of this venv into a 0700 folder reproduces the setup.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from grading.helpers import make_submission

pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(
        os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare(1) for a bind mount"
    ),
]
ROOT = Path(__file__).resolve().parent.parent
GRADE = (
    "import json, sys\n"
    "from kit.grading import grade\n"
    "from kit.errors import GradingError\n"
    "try:\n"
    "    r = grade(sys.argv[1], assignment='fashion_mnist', only=['confusion_matrix'], quiet=True, timeout_scale=0.6,\n"
    "              sandbox_options=json.loads(sys.argv[2]))\n"
    "    print(json.dumps({'score': r['score'], 'output': r['tests'][0]['output']}))\n"
    "except GradingError as error:\n"
    "    print(json.dumps({'refused': str(error)}))\n"
)


def grade_with_closed_venv(submission: Path, options: dict) -> dict:
    """Grade with this venv bound into a fresh 0700 folder (in a private mount namespace of the test)."""
    closed = Path(tempfile.mkdtemp(prefix="kit-closed-"))  # mode 0700, like mktemp -d
    venv = Path(sys.prefix)
    script = (
        f'mkdir "{closed}/venv" && mount --bind "{venv}" "{closed}/venv" && '
        f'exec "{closed}/venv/bin/python" -c "$0" "$1" "$2"'
    )
    try:
        finished = subprocess.run(
            [
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                GRADE,
                str(submission),
                json.dumps(options),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert finished.returncode == 0, finished.stderr[-3000:]
        result = json.loads(finished.stdout.strip().splitlines()[-1])
        result["closed"] = str(closed)
        return result
    finally:
        shutil.rmtree(closed, ignore_errors=True)


def test_a_venv_under_a_closed_folder_is_exposed_read_only_and_grades_fully(tmp_path):
    result = grade_with_closed_venv(make_submission(tmp_path / "reference"), {})
    assert result.get("score") == 10, result


def test_without_a_mount_namespace_the_grader_refuses_and_names_the_folder(tmp_path):
    result = grade_with_closed_venv(make_submission(tmp_path / "reference"), {"namespaces": False})
    assert "refused" in result, result
    message = result["refused"]
    assert result["closed"] in message and "chmod o+rx" in message and "nothing was graded" in message
