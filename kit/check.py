"""`python -m kit check [FOLDER]`: the student's self-check, which is the autograder's visible checks.

Nothing here judges anything: it calls the grader (`grade(..., hidden=False)`) on the folder,
with the same sandbox, the same reference answers, messages and points as Gradescope's visible
checks, and prints one line per check (check, points, what to fix). `--out` writes the same
Gradescope `results.json`. So a student's visible score before submitting is the score after.
The hidden checks (other inputs and edge cases) run only on the autograder.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

ASSIGNMENT = "fashion_mnist"


def default_folder(assignment: str = ASSIGNMENT, root: Path | None = None) -> Path:
    """The folder a student edits: `assignments/<assignment>` (in the instructor repository too)."""
    from kit import REPO_ROOT

    return (root or REPO_ROOT) / "assignments" / assignment


def check(folder: str | os.PathLike | None = None, *, assignment: str = ASSIGNMENT, out=None, echo=print) -> dict:
    """Run the visible checks on `folder` (default: the assignment folder); print the table; return results."""
    from kit.grading import grade, write_results

    folder = Path(folder) if folder else default_folder(assignment)
    if not folder.is_dir():
        raise ValueError(
            f"No folder '{folder}'; pass the folder that holds your homework.py (and model.keras), "
            f"e.g. `python -m kit check assignments/{assignment}`."
        )
    if not (folder / "homework.py").is_file():
        raise ValueError(f"'{folder}' has no homework.py; pass the folder that holds your homework.py.")
    echo(f"kit check: the autograder's visible checks on {folder} (hidden checks run only after you submit)")
    if not (folder / "model.keras").is_file():
        echo(
            f"note: no model.keras in {folder}: the model check (25 points) needs one; copy your best run's, "
            f"e.g. `cp runs/homework/best/model.keras {folder}/` (see the assignment's README, 'What to submit')."
        )
    results = grade(folder, assignment=assignment, hidden=False, quiet=True)
    if out is not None:
        write_results(results, out)
    echo(table(results))
    if out is not None:
        echo(f"wrote {out} (Gradescope's results.json format, visible checks only)")
    return results


def what_to_fix(test: dict) -> str:
    """The grader's verdict without the check's description: 'ok', or what went wrong (one paragraph)."""
    lines = test.get("output", "").split("\n")
    lines = lines[1:] if len(lines) > 1 else lines  # the first line describes the check (rubric message)
    kept = []
    for line in lines:
        if line.startswith("Your code's output"):
            kept.append("(your code's output: see results.json)")
            break
        if line.strip() and line.strip() != "Passed.":
            kept.append(line.strip())
    full = float(test["score"]) >= float(test["max_score"])
    if full:
        return "ok" + (f" ({' '.join(kept)})" if kept else "")
    return " ".join(kept) or "failed (no detail)"


def table(results: dict, width: int = 70) -> str:
    """One row per check: check, points (got/max), what to fix (wrapped); then the total."""
    rows = [
        (test["name"], f"{test['score']:g}/{test['max_score']:g}", what_to_fix(test))
        for test in results["tests"]
        if test.get("visibility") != "hidden"
    ]
    name_width = max([len("check"), *(len(r[0]) for r in rows)])
    points_width = max([len("points"), *(len(r[1]) for r in rows)])
    out = [
        f"{'check':<{name_width}}  {'points':>{points_width}}  what to fix",
        "-" * (name_width + points_width + 4 + width),
    ]
    for name, points, fix in rows:
        wrapped = textwrap.wrap(fix, width) or [""]
        out.append(f"{name:<{name_width}}  {points:>{points_width}}  {wrapped[0]}")
        out += [f"{'':<{name_width}}  {'':>{points_width}}  {line}" for line in wrapped[1:]]
    got = sum(float(t["score"]) for t in results["tests"] if t.get("visibility") != "hidden")
    total = sum(float(t["max_score"]) for t in results["tests"] if t.get("visibility") != "hidden")
    out.append(
        f"Visible checks: {got:g} / {total:g} points. "
        "Hidden checks (other inputs, edge cases) add more after you submit."
    )
    return "\n".join(out)


def command(args) -> int:
    """`python -m kit check [FOLDER] [--out results.json]`."""
    check(args.folder, assignment=args.assignment, out=args.out)
    return 0


# ------------------------------------------------------------------ the same judges, in the homework runner's process


class NotWritten(Exception):
    """The student's function is missing or still raises NotImplementedError (a to-do, not a failure)."""


def _call(homework, name: str, *args, **kwargs):
    function = getattr(homework, name, None)
    if not callable(function):
        raise NotWritten(name)
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise NotWritten(name) from None


def _saved_and_loaded(model, what: str):
    """The model as the grader sees it: saved as .keras and loaded back with safe mode."""
    import tempfile

    import keras

    from kit.grading.judges import CheckFailed

    if not isinstance(model, keras.Model):
        raise CheckFailed(f"{what} returned {type(model).__name__}; expected a keras.Model.")
    with tempfile.TemporaryDirectory(prefix="kit-check-") as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return keras.models.load_model(path, safe_mode=True, compile=False)


def judge_in_process(homework, check) -> Any:
    """Judge one visible rubric check on an imported homework module: the grader's inputs, judge and message.

    What the autograder does in its sandboxed children, done here in the runner's own process
    (the runner imports the student's homework.py anyway): the same inputs (`kit.grading.judges`
    makes them from the rubric's params), the model saved and reloaded with safe mode, and the
    same judge, so the runner's `[ok]` lines agree with `make check`. Raises `NotWritten` for a
    function that is not written yet; any other error of the student's code is a failed verdict.
    """
    import keras
    import numpy as np

    from kit.grading import judges
    from kit.grading.judges import CheckFailed, Verdict
    from kit.grading.model_graph import describe as describe_model

    def describe(model) -> dict:
        """As the grader receives it: plain JSON (lists, not tuples) from its child's record."""
        return json.loads(json.dumps(describe_model(model), default=str))

    p = check.params

    def predict(model, x):
        return np.asarray(model.predict(x, verbose=0, batch_size=256), dtype=np.float64)

    try:
        if check.kind == "dataset_summary":
            inputs = judges.summary_inputs(p)
            table = _call(homework, "dataset_summary", inputs["x"], inputs["y"], judges.class_names(p))
            return judges.judge_dataset_summary(judges.summary_answer(table), inputs, p)
        if check.kind == "confusion_matrix":
            inputs = judges.label_inputs(p)
            answer = _call(homework, "confusion_matrix", inputs["y_true"], inputs["y_pred"], int(p["num_classes"]))
            return judges.judge_confusion_matrix(answer, inputs, p)
        if check.kind == "f1_scores":
            inputs = judges.f1_inputs(p)
            return judges.judge_f1_scores(_call(homework, "f1_scores", inputs["cm"]), inputs, p)
        if check.kind == "best_config":
            config = _call(homework, "best_config")
            if not callable(getattr(config, "to_dict", None)):
                raise CheckFailed(f"best_config returned {type(config).__name__}; expected a kit.train.TrainConfig.")
            return judges.judge_best_config(config.to_dict(), None, p)
        shape, classes = tuple(p.get("input_shape", (28, 28, 1))), int(p.get("num_classes", 10))
        if check.kind == "cnn":
            from kit.grading.worker import _reference_cnn  # the grader's own lecture CNN

            model = _saved_and_loaded(_call(homework, p["function"], shape, classes), p["function"])
            x = judges.probe_images(p)
            reference = _reference_cnn(keras, shape, classes)
            try:
                reference.set_weights(model.get_weights())
                reference_outputs = predict(reference, x)
            except Exception:  # noqa: BLE001 - weights that do not fit: the judge names the wrong layer
                reference_outputs = None
            return judges.judge_cnn(describe(model), predict(model, x), reference_outputs, p)
        if check.kind == "weight_transfer":
            source = _saved_and_loaded(_call(homework, "build_cnn_sequential", shape, 10), "build_cnn_sequential")
            target = _saved_and_loaded(_call(homework, "build_cnn_functional", shape, 10), "build_cnn_functional")
            try:
                target.set_weights(source.get_weights())
            except Exception as error:  # noqa: BLE001 - any mismatch of the two student networks is the answer
                raise CheckFailed(
                    f"the weights of the Sequential model do not fit the functional one ({str(error)[:300]})."
                ) from None
            x = judges.probe_images(p)
            return judges.judge_weight_transfer(predict(source, x), predict(target, x), p)
        if check.kind == "inception_module":
            inputs = keras.Input(shape=shape, name="grader_input")
            outputs = _call(homework, "inception_module", inputs, **dict(p.get("kwargs", {})))
            try:
                probe = keras.Model(inputs, outputs, name="grader_inception_probe")
            except Exception as error:  # noqa: BLE001 - whatever the student's function returned, report it
                raise CheckFailed(
                    f"inception_module's result is not a tensor computed from its input ({error})."
                ) from None
            module = _saved_and_loaded(probe, "inception_module")
            return judges.judge_inception_module(describe(module), predict(module, judges.module_inputs(p)), p)
        if check.kind == "inception_cnn":
            model = _saved_and_loaded(_call(homework, p["function"], shape, classes), p["function"])
            return judges.judge_inception_cnn(describe(model), predict(model, judges.probe_images(p)), p)
    except (NotWritten, KeyboardInterrupt):
        raise
    except CheckFailed as failure:
        return Verdict(False, 0.0, str(failure))
    except Exception as error:  # noqa: BLE001 - the student's bug is this check's failure, not the runner's
        return Verdict(False, 0.0, f"{type(error).__name__}: {str(error)[:300]}")
    raise ValueError(f"check {check.id!r} (kind {check.kind!r}) is not judged in process; only by `kit check`.")


def visible_checks(assignment: str = ASSIGNMENT) -> list:
    """The assignment's visible rubric checks (what `kit check` and the runner judge)."""
    from kit.grading import load_rubric

    return [check for check in load_rubric(assignment, hidden=False).checks if check.visibility != "hidden"]
