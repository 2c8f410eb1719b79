"""Graders side by side (issue 10, item 1): each owns its sandbox uids, kills only its own children.

Two ``kit grade`` processes of the same submission, started together, give exactly the scores a
solo run gives. The submission forks a bomb in one check (its processes leave the process group),
so each grader's clean-up runs while the other grader's children are alive.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from grading.helpers import make_submission

from kit.grading.sandbox import SANDBOX_UID_BASE, ChildResult, Limits, UidClaim, _processes_of

pytestmark = pytest.mark.grading
ROOT = Path(__file__).resolve().parent.parent
CHECKS = ["confusion_matrix", "f1_scores", "dataset_summary"]
QUIET_UIDS = SANDBOX_UID_BASE + 900  # uids no grader of the test suite reaches (they claim the lowest free ones)
EXPECTED = {"confusion_matrix": 0, "f1_scores": 10, "dataset_summary": 10}
GRADE = (
    "import json, sys; from kit.grading import grade; "
    "r = grade(sys.argv[1], assignment='fashion_mnist', only=sys.argv[2].split(','), quiet=True, timeout_scale=0.6); "
    "print(json.dumps({t['tags'][0]: [t['score'], t['output']] for t in r['tests']}))"
)


def start(submission: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", GRADE, str(submission), ",".join(CHECKS)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.skipif(os.geteuid() != 0, reason="uid slots are claimed as root only")
def test_two_graders_at_once_give_the_solo_scores(tmp_path):
    submission = make_submission(tmp_path / "bomb", "attacks/fork_bomb")
    solo = finish(start(submission))
    assert {check: score for check, (score, _) in solo.items()} == EXPECTED, solo
    first, second = start(submission), start(submission)
    together = [finish(first), finish(second)]
    for results in together:
        assert {check: score for check, (score, _) in results.items()} == EXPECTED, results
        assert "SIGKILL" not in json.dumps(results)
    free = UidClaim(2)  # uids no grader holds now (other graders may run on this machine) have no process left
    try:
        assert not any(_processes_of(uid) for uid in free.uids)
    finally:
        free.release()


@pytest.mark.skipif(os.geteuid() != 0, reason="uid slots are claimed as root only")
def test_a_uid_that_still_owns_processes_is_not_claimed():
    """A killed fork bomb's zombies count against RLIMIT_NPROC until init reaps them: skip such a uid."""
    probe = UidClaim(1, base=QUIET_UIDS, span=100)
    uid = probe.uids[0]
    probe.release()
    squatter = subprocess.Popen(["sleep", "60"], user=uid, group=uid)
    try:
        claim = UidClaim(1, base=uid, span=2)
        assert claim.uids == [uid + 1]
        claim.release()
    finally:
        squatter.kill()
        squatter.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="uid slots are claimed as root only")
def test_uid_claims_are_exclusive_and_released():
    first = UidClaim(2, base=QUIET_UIDS, span=100)
    second = UidClaim(2, base=QUIET_UIDS, span=100)
    assert not set(first.uids) & set(second.uids)
    held = first.uids
    first.release()
    third = UidClaim(2, base=QUIET_UIDS, span=100)
    assert set(third.uids) == set(held)  # the lowest free uids again
    second.release()
    third.release()


def test_a_kill_the_grader_did_not_send_is_a_grader_fault_and_its_own_limits_are_named():
    limits = Limits(wall_seconds=10, file_mb=1)
    killed = ChildResult(None, {}, -9, False, 1.0, "", "", limits=limits, cpu_seconds=0.5)
    assert killed.fault and "SIGKILL" in killed.fault and "memory" not in killed.describe_end()
    oom = ChildResult(None, {}, -9, False, 1.0, "", "", limits=limits, oom_kills=1)
    assert "OOM killer" in oom.fault
    timed_out = ChildResult(None, {}, -9, True, 10.0, "", "", limits=limits)
    assert timed_out.fault is None and "wall-time limit (10 s)" in timed_out.describe_end()
    cpu = ChildResult(None, {}, -9, False, 9.0, "", "", limits=limits, cpu_seconds=limits.cpu_limit() + 3)
    assert cpu.fault is None and "CPU-time limit" in cpu.describe_end()
    output = ChildResult(None, {}, 1, False, 1.0, "", "", limits=limits, output_bytes=1 << 20)
    assert output.fault is None and "output limit (1 MB)" in output.describe_end()
    crash = ChildResult(None, {}, -11, False, 1.0, "", "", limits=limits)
    assert crash.fault is None and "crashed (SIGSEGV)" in crash.describe_end()
