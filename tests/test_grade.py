"""The autograder (kit.grading): exact scores for correct, broken and attacking submissions.

Each broken/attack submission is graded only on the checks it targets (``grade(only=...)``),
with timeouts scaled down; the full rubric runs once for the solution and once for the stubs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from grading.helpers import make_submission, save_model, write_zip_bomb

from kit.grading import grade, load_rubric, write_package
from kit.grading.sandbox import _processes_of

pytestmark = pytest.mark.grading
ROOT = Path(__file__).resolve().parent.parent
HOMEWORK = "fashion_mnist"
RUBRIC = {check.id: check for check in load_rubric(HOMEWORK).checks}
SCALE = 0.6  # timeouts in tests: 60 s checks -> 36 s (keras import ~3 s quiet; ~15 s on a busy 2-core machine)


def scores(results: dict) -> dict[str, float]:
    return {test["tags"][0]: test["score"] for test in results["tests"]}


def run(submission: Path, only: list[str], **options) -> dict:
    hidden = any(RUBRIC[check].visibility == "hidden" for check in only)
    scale = options.pop("scale", SCALE)
    return grade(submission, assignment=HOMEWORK, only=only, hidden=hidden, timeout_scale=scale, quiet=True, **options)


def model_points(f1: float) -> float:
    points = 0.0
    for threshold, value in sorted(RUBRIC["model"].params["thresholds"]):
        if f1 >= threshold:
            points = value
    return points


def assert_gradescope_format(results: dict) -> None:
    json.dumps(results, allow_nan=False)
    assert isinstance(results["score"], float) and isinstance(results["execution_time"], float)
    assert results["stdout_visibility"] == "hidden" and isinstance(results["output"], str)
    for number, test in enumerate(results["tests"], start=1):
        assert set(test) >= {"name", "number", "score", "max_score", "status", "output", "visibility", "tags"}
        assert test["number"] == str(number) and test["status"] in ("passed", "failed")
        assert test["visibility"] in ("visible", "hidden", "after_due_date") and 0 <= test["score"] <= test["max_score"]
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))
    assert all({"name", "value"} <= set(entry) for entry in results["leaderboard"])


# ------------------------------------------------------------------ full runs: solution and stubs


@pytest.fixture(scope="module")
def smoke_model(tmp_path_factory):
    """A model trained by the smoke preset, and its macro-F1 on the full test set (computed here).

    Saved as the solution's best_config() saves it (``tta_in_model``: the mirror-averaged model),
    so the grader's sandbox loads and scores that kind of file.
    """
    import keras
    from sklearn.metrics import f1_score

    from kit.data import load_fashion_mnist
    from kit.train import preset, train

    run_ = train(preset("smoke", tta_in_model=True), out=tmp_path_factory.mktemp("smoke") / "run", verbose=0)
    path = Path(run_.run_dir) / "model.keras"
    data = load_fashion_mnist()
    model = keras.models.load_model(path, safe_mode=True, compile=False)
    f1 = f1_score(data.y_test, model.predict(data.x_test, verbose=0, batch_size=500).argmax(axis=1), average="macro")
    return path, float(f1)


@pytest.mark.slow
def test_solution_gets_full_marks_and_model_points(tmp_path, smoke_model):
    model_path, f1 = smoke_model
    submission = tmp_path / "solution"
    submission.mkdir()
    (submission / "homework.py").write_bytes((ROOT / "solutions/fashion_mnist/homework.py").read_bytes())
    (submission / "model.keras").write_bytes(model_path.read_bytes())
    results = grade(submission, assignment=HOMEWORK, hidden=True, out=tmp_path / "results.json", quiet=True)
    assert_gradescope_format(results)
    assert json.loads((tmp_path / "results.json").read_text()) == results
    got = scores(results)
    assert set(got) == set(RUBRIC)
    failed = {
        t["name"]: t["output"] for t in results["tests"] if t["tags"][0] != "model" and t["score"] != t["max_score"]
    }
    assert not failed
    assert got["model"] == model_points(f1)
    assert results["leaderboard"][0]["value"] == pytest.approx(f1, abs=1e-3)
    print(f"full grading of the solution: {results['execution_time']:.1f} s")


@pytest.mark.slow
def test_stubs_get_zero_everywhere_via_cli(tmp_path):
    stub = ROOT / "assignments/fashion_mnist/homework.py"
    if not stub.exists():
        pytest.skip("assignments/fashion_mnist/homework.py not generated yet")
    submission = tmp_path / "stubs"
    submission.mkdir()
    (submission / "homework.py").write_bytes(stub.read_bytes())
    out = tmp_path / "out" / "results.json"
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "kit",
            "grade",
            str(submission),
            "--assignment",
            HOMEWORK,
            "--out",
            str(out),
            "--hidden",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    results = json.loads(out.read_text())
    assert_gradescope_format(results)
    assert results["score"] == 0 and len(results["tests"]) == len(RUBRIC)
    functions = [t for t in results["tests"] if t["tags"][0] != "model"]
    assert all("not implemented" in t["output"] for t in functions if t["visibility"] == "visible"), [
        t["output"][:300] for t in functions
    ]
    assert "Total: 0 / " in finished.stdout  # the human summary table


# ------------------------------------------------------------------ broken submissions: exact scores

BROKEN = {
    "cnn_wrong_order": {"cnn_sequential": 0, "cnn_functional": 10},
    "inception_added": {"inception_module": 0, "inception_cnn": 0},
    "cm_transposed": {"confusion_matrix": 0, "confusion_matrix_hidden": 0, "f1_scores": 10},
    "f1_micro": {"f1_scores": 0, "f1_scores_hidden": 0},
    "f1_divzero": {"f1_scores": 10, "f1_scores_hidden": 0},
}
MESSAGES = {
    "cnn_wrong_order": ("cnn_sequential", "layer 3 should be MaxPooling2D(2x2), found Dropout(0.25)"),
    "inception_added": ("inception_module", "found Add"),
    "cm_transposed": ("confusion_matrix", "transposed"),
    "f1_micro": ("f1_scores", "macro"),
    "f1_divzero": ("f1_scores_hidden", "NaN"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_submission_gets_exact_score(tmp_path, name):
    results = run(make_submission(tmp_path / name, name), list(BROKEN[name]))
    assert scores(results) == BROKEN[name]
    check, phrase = MESSAGES[name]
    output = next(t["output"] for t in results["tests"] if t["tags"][0] == check)
    assert phrase in output


def test_reference_passes_the_targeted_checks(tmp_path):
    """The fixture the overrides start from is itself correct (so each override is what fails)."""
    only = [
        "cnn_sequential",
        "inception_module_hidden",
        "confusion_matrix_hidden",
        "f1_scores_hidden",
        "dataset_summary_hidden",
        "best_config",
    ]
    results = run(make_submission(tmp_path / "reference"), only)
    assert scores(results) == {check: RUBRIC[check].points for check in only}, [t["output"] for t in results["tests"]]


MODELS = {
    "logits": "looks like logits",
    "wrong_input": "must take (None, 28, 28, 1)",
    "lambda": "Lambda layer",
    "h5": "HDF5",
    "zip_bomb": "zip bomb",
}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_refused_models_score_zero_with_a_clear_message(tmp_path, kind):
    submission = make_submission(tmp_path / kind)
    if kind == "zip_bomb":
        write_zip_bomb(submission / "model.keras")
    else:
        save_model(submission / "model.keras", kind)
    results = run(submission, ["model"], scale=1.0)
    assert scores(results) == {"model": 0}
    assert MODELS[kind] in results["tests"][0]["output"]


def test_an_h5_file_is_refused_by_name(tmp_path):
    submission = make_submission(tmp_path / "h5name")
    save_model(submission / "model.h5", "h5")
    results = run(submission, ["model"])
    assert scores(results) == {"model": 0} and ".h5 model" in results["tests"][0]["output"]


@pytest.mark.backend_agnostic
def test_a_valid_softmax_model_gets_the_base_points(tmp_path):
    submission = make_submission(tmp_path / "softmax")
    save_model(submission / "model.keras", "softmax")  # untrained: macro-F1 far below 0.88
    results = run(submission, ["model"], scale=1.0)
    assert scores(results) == {"model": model_points(results["leaderboard"][0]["value"])} == {"model": 5}


# ------------------------------------------------------------------ attacks: 0 for what they attack

ATTACKS = {
    "eq_always_true": {"confusion_matrix": 0, "f1_scores": 0},
    "monkeypatch": {"confusion_matrix": 0, "f1_scores": 0},
    "exit_at_import_sys": {"confusion_matrix": 0},
    "exit_at_import_os": {"confusion_matrix": 0},
    "exit_in_function": {"confusion_matrix": 0, "f1_scores": 0, "dataset_summary": 10},
    "hang": {"confusion_matrix": 0, "f1_scores": 0},
    "memory": {"confusion_matrix": 0, "f1_scores": 0, "dataset_summary": 10},
    "fork_bomb": {"confusion_matrix": 0, "f1_scores": 10},
    "results_json": {"confusion_matrix": 0, "f1_scores": 10},
    "beside_files": {"confusion_matrix": 0, "f1_scores": 10},
    "pickled": {"confusion_matrix": 0, "f1_scores": 0},
    "read_solutions": {"confusion_matrix": 0, "f1_scores": 0},
    "print_100mb": {"confusion_matrix": 0, "f1_scores": 10},
}
MARKERS = ("/tmp/kit-grade-pickle-attack-marker", "/tmp/kit-grade-beside-attack-marker")
# the grader's own limit that stopped the attack is named in the check's output
LIMIT_NAMED = {
    "hang": ("confusion_matrix", "wall-time limit"),
    "memory": ("confusion_matrix", "limit"),  # the memory limit; on a swapping machine the wall-time limit first
    "print_100mb": ("confusion_matrix", "output limit"),
    "fork_bomb": ("confusion_matrix", "limit"),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_gets_zero_and_the_grader_keeps_working(tmp_path, name):
    for marker in MARKERS:
        Path(marker).unlink(missing_ok=True)
    out = tmp_path / "graded" / "results.json"
    results = run(make_submission(tmp_path / name, "attacks/" + name), list(ATTACKS[name]), out=out)
    assert scores(results) == ATTACKS[name], [t["output"][:300] for t in results["tests"]]
    if name in LIMIT_NAMED:
        check, phrase = LIMIT_NAMED[name]
        output = next(t["output"] for t in results["tests"] if t["tags"][0] == check)
        assert phrase in output and "SIGKILL" not in output, output
    assert_gradescope_format(results)
    assert json.loads(out.read_text()) == results  # written by the grader, last
    assert not any(Path(marker).exists() for marker in MARKERS)  # nothing planted was ever run or unpickled
    assert len(json.dumps(results)) < 64_000
    if os.geteuid() == 0:  # every sandbox uid no grader holds now (others may grade beside us) has no process left
        assert not [uid for uid in unheld_sandbox_uids() if _processes_of(uid)]


def unheld_sandbox_uids(count: int = 8) -> list[int]:
    """The first sandbox uids whose lock no grader holds at this moment (``UidClaim``'s lock files)."""
    import fcntl

    from kit.grading.sandbox import SANDBOX_UID_BASE, _uid_lock_dir

    free = []
    for uid in range(SANDBOX_UID_BASE, SANDBOX_UID_BASE + count):
        handle = os.open(_uid_lock_dir() / f"uid-{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            free.append(uid)
        except BlockingIOError:
            pass
        finally:
            os.close(handle)
    return free


def test_hidden_checks_run_only_when_asked_and_never_show_student_output(tmp_path):
    submission = make_submission(tmp_path / "noisy", "f1_divzero")
    with (submission / "homework.py").open("a") as handle:
        handle.write("\nprint('SECRET-STUDENT-OUTPUT')\n")
    visible = grade(
        submission, assignment=HOMEWORK, only=["f1_scores", "f1_scores_hidden"], timeout_scale=SCALE, quiet=True
    )
    assert scores(visible) == {"f1_scores": 10}
    both = run(submission, ["f1_scores_hidden"])
    assert scores(both) == {"f1_scores_hidden": 0}
    assert "SECRET-STUDENT-OUTPUT" not in json.dumps(both)


def test_missing_homework_and_unknown_checks(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    results = run(empty, ["confusion_matrix"])
    assert scores(results) == {"confusion_matrix": 0} and "No homework.py" in results["tests"][0]["output"]
    from kit.errors import GradingError

    with pytest.raises(GradingError, match="valid ids"):
        grade(empty, assignment=HOMEWORK, only=["no_such_check"], quiet=True)


def test_cli_refuses_a_missing_folder_without_writing_results(tmp_path):
    out = tmp_path / "results.json"
    finished = subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(tmp_path / "missing"), "--assignment", HOMEWORK, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 2 and "does not exist" in finished.stderr
    assert len(finished.stderr.strip().splitlines()) == 1 and "Traceback" not in finished.stderr
    assert not out.exists()  # a typo is not a student's zero


def test_without_privilege_drop_the_sandbox_still_grades(tmp_path):
    """The non-root path (no uid switch, no namespaces): limits and plain-data results still apply."""
    results = run(
        make_submission(tmp_path / "plain", "cm_transposed"),
        ["confusion_matrix", "f1_scores"],
        sandbox_options={"drop_privileges": False},
    )
    assert scores(results) == {"confusion_matrix": 0, "f1_scores": 10}


def test_gradescope_package(tmp_path):
    path = write_package(tmp_path / "autograder.zip", HOMEWORK)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        run_autograder = archive.read("run_autograder").decode()
        assert archive.getinfo("run_autograder").external_attr >> 16 & 0o111
    assert {
        "setup.sh",
        "run_autograder",
        "requirements-grading.txt",
        "kit/grading/grader.py",
        "kit/grading/sandbox.py",
        "kit/grading/worker.py",
        "kit/grading/judges.py",
        "kit/grading/kinds.py",
        "solutions/fashion_mnist/assignment.yml",
        "solutions/fashion_mnist/checks.py",
        "solutions/fashion_mnist/rubric.py",
        "solutions/fashion_mnist/rubric_hidden.py",
        "datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
    } <= names
    # the solution never ships, nor the runner or the notebook: only the grader's files of the assignment
    assert not any(name.endswith(("homework.py", "runner.py", "notebook.py")) for name in names)
    assert "/autograder/results/results.json" in run_autograder and "--hidden" in run_autograder
    for script in ("setup.sh", "run_autograder"):
        (tmp_path / script).write_bytes(zipfile.ZipFile(path).read(script))
        assert subprocess.run(["bash", "-n", str(tmp_path / script)]).returncode == 0
