"""Grading fits the container's memory (issue 10, item 4: Gradescope's resource limits).

Under a memory limit (Gradescope's "1.0 CPU, 1.5GB RAM") a student's memory blow-up must meet
the child's own limit (MemoryError: 0 for that check), not the container's OOM killer (which
ended the whole submission as a grader fault). The grader reads the cgroup's limit, runs fewer
children and lowers their ``RLIMIT_DATA``; it keeps TensorFlow out of its own process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from grading.helpers import make_submission

from kit.errors import GradingError
from kit.grading.sandbox import CHILD_NEEDS_MB, GRADER_MARGIN_MB, Limits, container_memory_mb, fit_to_memory

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ reading the limit (synthetic cgroup files)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_limit_is_the_tightest_on_the_way_up(tmp_path):
    proc = tmp_path / "cgroup"
    _write(proc, "0::/autograder/job\n")
    _write(tmp_path / "fs" / "autograder" / "job" / "memory.max", "max\n")
    _write(tmp_path / "fs" / "autograder" / "memory.max", str(1536 << 20) + "\n")
    assert container_memory_mb(proc, tmp_path / "fs") == 1536


def test_cgroup_v1_limit_and_no_limit(tmp_path):
    proc = tmp_path / "cgroup"
    _write(proc, "5:cpu,cpuacct:/\n4:memory:/docker/abc\n0::/\n")
    _write(tmp_path / "fs" / "memory" / "memory.limit_in_bytes", str(3 << 30))  # a container's own view
    assert container_memory_mb(proc, tmp_path / "fs") == 3072
    _write(tmp_path / "fs" / "memory" / "memory.limit_in_bytes", "9223372036854771712")  # v1's "unlimited"
    assert container_memory_mb(proc, tmp_path / "fs") is None
    assert container_memory_mb(tmp_path / "missing", tmp_path / "fs") is None


# ------------------------------------------------------------------ children and their limit from the container


def test_no_container_limit_changes_nothing():
    limits = Limits(memory_mb=3072)
    assert fit_to_memory(limits, 2, container_mb=None, grader_mb=150) == (limits, 2)


def test_gradescope_1_5_gb_runs_one_child_below_the_container():
    limits, workers = fit_to_memory(Limits(memory_mb=3072), 2, container_mb=1536, grader_mb=150)
    assert workers == 1
    assert limits.memory_mb == 1536 - 150 - GRADER_MARGIN_MB >= CHILD_NEEDS_MB
    assert limits.wall_seconds == Limits().wall_seconds  # nothing else changes


def test_a_large_container_keeps_two_children_and_the_rubric_limit():
    limits, workers = fit_to_memory(Limits(memory_mb=3072), 2, container_mb=16384, grader_mb=150)
    assert (workers, limits.memory_mb) == (2, 3072)
    shared, workers = fit_to_memory(Limits(memory_mb=3072), 1, share=4, container_mb=6144, grader_mb=150)
    assert workers == 1 and shared.memory_mb * 4 <= 6144 - 150


def test_too_small_a_container_is_refused_with_the_setting_to_choose():
    with pytest.raises(GradingError, match=r"768 MB.*1.5 GB.*1.0 CPU, 1.5GB RAM"):
        fit_to_memory(Limits(), 2, container_mb=768, grader_mb=150)
    with pytest.raises(GradingError, match="fewer --jobs"):
        fit_to_memory(Limits(), 1, share=3, container_mb=1536, grader_mb=150)


# ------------------------------------------------------------------ real grading


@pytest.mark.grading
def test_the_grader_process_never_imports_tensorflow(tmp_path):
    """best_config is judged in a trusted child: the grader stays at numpy + pandas."""
    submission = make_submission(tmp_path / "reference")
    script = (
        "import json, sys\n"
        "from kit.grading import grade\n"
        "r = grade(sys.argv[1], assignment='fashion_mnist', only=['best_config'], quiet=True)\n"
        "print(json.dumps({'score': r['score'], 'heavy': sorted(m for m in ('keras', 'tensorflow', 'jax') "
        "if m in sys.modules), 'output': r['tests'][0]['output']}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(submission)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.splitlines()[-1])
    assert answer["score"] == 5 and answer["heavy"] == [], answer


def _memory_cgroup(limit_mb: int) -> Path | None:
    """A cgroup (v2 or v1) with a memory limit and no swap, made under this process's own; None where impossible."""
    lines = Path("/proc/self/cgroup").read_text().splitlines()
    own = {c: p for _, c, p in (line.split(":", 2) for line in lines)}
    name = f"kit-test-memory-{os.getpid()}"
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        folder, limit, swap = (
            Path("/sys/fs/cgroup") / own.get("", "/").lstrip("/") / name,
            "memory.max",
            "memory.swap.max",
        )
    elif "memory" in own:
        folder = Path("/sys/fs/cgroup/memory") / own["memory"].lstrip("/") / name
        limit, swap = "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"
    else:
        return None
    try:
        folder.mkdir()
        (folder / limit).write_text(str(limit_mb << 20))
    except OSError:
        return None
    try:
        (folder / swap).write_text("0" if swap == "memory.swap.max" else str(limit_mb << 20))
    except OSError:
        pass  # no swap accounting: the machine has no swap to fall back on either way
    return folder


def _oom_kills(cgroup: Path) -> int | None:
    """The cgroup's count of OOM-killer kills (v2 memory.events, v1 memory.oom_control), None where not kept."""
    for name in ("memory.events", "memory.oom_control"):
        try:
            for line in (cgroup / name).read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        except OSError:
            continue
    return None


def _grade_in_cgroup(limit_mb: int, submission: Path, only: list[str], timeout_scale: float = 1.0):
    """``grade(submission, only=...)`` in a process of a fresh cgroup limited to ``limit_mb``:
    the finished process (its last stdout line: {check id: [score, output]}) and the cgroup's OOM kills."""
    cgroup = _memory_cgroup(limit_mb)
    if cgroup is None:
        pytest.skip("no writable cgroup memory controller on this machine")
    script = (
        "import json, sys\n"
        "from kit.grading import grade\n"
        f"r = grade(sys.argv[1], assignment='fashion_mnist', only={only!r}, timeout_scale={timeout_scale})\n"
        "print(json.dumps({t['tags'][0]: [t['score'], t['output']] for t in r['tests']}))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script, str(submission)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=400,
            preexec_fn=lambda: (cgroup / "cgroup.procs").write_text(str(os.getpid())),
        )
    except subprocess.SubprocessError as error:  # e.g. cgroup v2's rules refuse the move on this machine
        pytest.skip(f"cannot move a process into the test cgroup ({error})")
    finally:
        events = _oom_kills(cgroup)
        for _ in range(50):  # the cgroup empties once the last sandbox child is reaped
            try:
                cgroup.rmdir()
                break
            except OSError:
                time.sleep(0.2)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"memory limit {limit_mb} MB: 1 child(ren) at a time" in done.stderr
    return json.loads(done.stdout.splitlines()[-1]), events


@pytest.mark.grading
@pytest.mark.skipif(os.geteuid() != 0, reason="making a cgroup needs root")
def test_a_memory_blow_up_under_1_5_gb_is_that_check_s_zero_not_a_grader_fault(tmp_path):
    submission = make_submission(tmp_path / "memory", "attacks/memory")
    answer, events = _grade_in_cgroup(1536, submission, ["confusion_matrix", "dataset_summary"], timeout_scale=0.8)
    assert answer["dataset_summary"][0] == 10, answer  # the rest of the submission is graded as usual
    score, output = answer["confusion_matrix"]
    assert score == 0 and "ran out of memory" in output and "MB per check" in output, (output, events)
    assert events in (0, None), f"the kernel's OOM killer ran {events} time(s) in the grading's cgroup"


@pytest.mark.grading
@pytest.mark.skipif(os.geteuid() != 0, reason="making a cgroup needs root")
def test_a_model_file_is_scored_under_1_5_gb_not_crashed(tmp_path):
    """Gradescope's 1.5 GB leaves the model's child a data segment of 1,234 MB: scoring 10,000 test
    images must fit it (predicting in batches of 500 ended in std::bad_alloc, a 0 for every model)."""
    from kit.train import TRAIN_PRESETS, build_model

    submission = tmp_path / "submission"
    submission.mkdir()
    build_model(TRAIN_PRESETS["smoke"]).save(submission / "model.keras")  # the lecture's CNN, untrained
    answer, _ = _grade_in_cgroup(1536, submission, ["model"])
    score, output = answer["model"]
    assert "no result came back" not in output and "bad_alloc" not in output, output
    assert score == 5, output  # a valid model that outputs probabilities: 5 points, whatever its F1
