"""What the Fashion-MNIST homework's steps compute beside training: the student's functions against numpy, sklearn.

Step 1's ``dataset_summary`` against numpy, step 3's two styles (one network: equal outputs with
shared weights; the trained weights carried into the functional twin), step 6's module alone and the
student's numpy confusion matrix and F1 beside scikit-learn's. ``runner.py`` beside this file runs
them in order; every result is a plain dict for ``summary.json``, every finding a line in the step log.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import keras
import numpy as np
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import f1_score

from kit import runs
from kit.evaluate import evaluate
from kit.explore import write_dataset_report
from kit.files import jsonable
from kit.runner import MISSING, StepLog
from kit.train import Run

CNN_MNIST_PARAMS = 1_199_882  # the lecture's CNN-MNIST example on 28x28x1 images, 10 classes
DATASET_TITLE = "Fashion-MNIST: the dataset (homework step 1)"  # dataset/dataset.md's heading


def step_dataset(homework, data, out_dir: Path, log: StepLog) -> dict:
    """Step 1: the kit's dataset report, and the student's `dataset_summary` checked against numpy."""
    result: dict[str, Any] = {
        "source": data.source,
        "class_names": list(data.class_names),
        "input_shape": list(data.input_shape),
        "sizes": {"train": int(len(data.y_train)), "validation": int(len(data.y_val)), "test": int(len(data.y_test))},
    }

    exploration = log.run(
        1,
        "the dataset report (kit.explore)",
        lambda: write_dataset_report(data, out_dir / "dataset", title=DATASET_TITLE),
    )
    if exploration is not MISSING:
        log.add(1, "exploration", "ok", f"step 1: dataset report in {out_dir / 'dataset' / 'dataset.md'}")
    result["exploration"] = (
        None
        if exploration is MISSING
        else jsonable({key: exploration.get(key) for key in ("findings", "images", "shapes")})
    )

    table = log.call(homework, 1, "dataset_summary", data.x_train, data.y_train, data.class_names)
    if table is MISSING:
        return result
    pixels = data.x_train.reshape(len(data.y_train), -1)
    reference = {
        "count": np.bincount(data.y_train, minlength=data.num_classes),
        "mean": np.array([pixels[data.y_train == c].mean(dtype=np.float64) for c in range(data.num_classes)]),
        "std": np.array([pixels[data.y_train == c].astype(np.float64).std() for c in range(data.num_classes)]),
    }
    try:
        ok = (
            list(table.index) == list(data.class_names)
            and np.array_equal(np.asarray(table["count"]), reference["count"])
            and np.allclose(np.asarray(table["mean"], dtype=np.float64), reference["mean"], rtol=1e-4)
            and np.allclose(np.asarray(table["std"], dtype=np.float64), reference["std"], rtol=1e-4)
        )
        reason = "index (class names), count, mean or std per class differ from numpy's"
        result["summary"] = jsonable(table.reset_index().to_dict(orient="records"))
        table.to_csv(out_dir / "dataset_summary.csv")
    except Exception as error:  # noqa: BLE001 - whatever the student's function returned, report it
        ok, reason = False, f"the result is not a DataFrame with count, mean and std ({type(error).__name__}: {error})"
    result["summary_ok"] = bool(ok)
    log.add(
        1,
        "dataset_summary",
        "note",
        "step 1: dataset_summary " + ("matches numpy's count, mean and std per class" if ok else f": {reason}"),
    )
    return result


def step_two_styles(homework, data, log: StepLog) -> tuple[dict, Any, Any]:
    """Step 3: the CNN in both styles; the expected parameter count; equal outputs with shared weights."""
    shape, classes = data.input_shape, data.num_classes
    expected = CNN_MNIST_PARAMS if (tuple(shape), classes) == ((28, 28, 1), 10) else None
    result: dict[str, Any] = {"expected_params": expected}
    built = {}
    for name, builder in (("cnn_sequential", "build_cnn_sequential"), ("cnn_functional", "build_cnn_functional")):
        model = built[name] = log.call(homework, 3, builder, shape, classes)
        if model is MISSING:
            continue
        if not isinstance(model, keras.Model):
            log.add(3, builder, "note", f"step 3: {builder} returned {type(model).__name__}, not a keras.Model")
            built[name] = MISSING
            continue
        params = int(model.count_params())
        result[name] = {"params": params, "layers": len(model.layers), "class": type(model).__name__}
        if expected and params != expected:
            log.add(
                3,
                builder,
                "note",
                f"step 3: {builder} has {params:,} parameters; the CNN-MNIST example has {expected:,}",
            )
        if name == "cnn_sequential" and not isinstance(model, keras.Sequential):
            log.add(3, builder, "note", "step 3: build_cnn_sequential should return a keras.Sequential")
    sequential, functional = built["cnn_sequential"], built["cnn_functional"]
    if sequential is not MISSING and functional is not MISSING:
        check = result["equal_outputs"] = same_network(sequential, functional, data.x_val[:256])
        log.add(
            3,
            "build_cnn_functional",
            "note",
            "step 3: the Sequential and functional CNNs give the same outputs with shared weights "
            f"(max difference {check['max_abs_difference']:.1e})"
            if check["equal"]
            else f"step 3: the two styles are not the same network: {check['reason']}",
        )
    return result, sequential, functional


def same_network(model_a, model_b, x, atol: float = 1e-5) -> dict:
    """Copy model_a's weights into model_b and compare their predictions (inference mode)."""
    try:
        model_b.set_weights(model_a.get_weights())
    except Exception as error:  # noqa: BLE001 - two student networks: any mismatch is the answer
        return {
            "equal": False,
            "max_abs_difference": None,
            "reason": f"the weights do not transfer ({type(error).__name__}: {error}); same layers in the same order?",
        }
    a = np.asarray(model_a.predict(x, verbose=0), dtype=np.float64)
    b = np.asarray(model_b.predict(x, verbose=0), dtype=np.float64)
    if a.shape != b.shape:
        return {"equal": False, "max_abs_difference": None, "reason": f"output shapes differ: {a.shape} vs {b.shape}"}
    difference = float(np.max(np.abs(a - b))) if a.size else 0.0
    return {
        "equal": difference <= atol,
        "max_abs_difference": difference,
        "reason": "" if difference <= atol else f"predictions differ by up to {difference:.3g}",
    }


def transfer_run(functional, source_run, data, out_dir: Path):
    """cnn_functional = the trained Sequential model's weights in the functional network.

    Step 3's check on the whole test set: the same network in the other style gives the same
    metrics. Its run folder holds the model, the Sequential run's history and a config.json
    that says where the weights came from (it was not trained itself: train_seconds 0).
    """
    run_dir = out_dir / "cnn_functional"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    functional.set_weights(source_run.model.get_weights())
    evaluation = evaluate(functional, data.x_test, data.y_test, data.class_names)
    functional.save(run_dir / runs.MODEL_FILE)
    shutil.copy2(Path(source_run.run_dir) / runs.HISTORY_FILE, run_dir / runs.HISTORY_FILE)
    record = runs.read_record(source_run.run_dir)
    record["config"].update(name="cnn_functional", model="cnn_functional")
    record["training"].update(train_seconds=0.0, weights_from="cnn_sequential")
    runs.write_record(run_dir, record)
    runs.write_metrics(run_dir, evaluation)
    return Run(
        run_dir=run_dir,
        model=functional,
        history=source_run.history,
        config=source_run.config,
        evaluation=evaluation,
        train_seconds=0.0,
    )


def inception_module_check(homework, log: StepLog) -> dict:
    """Step 6: the module alone on a 12x12x64 feature map gives 12x12x256 with the defaults."""
    inputs = keras.Input(shape=(12, 12, 64))
    outputs = log.call(homework, 6, "inception_module", inputs, name="check")
    if outputs is MISSING:
        return {}
    try:
        shape = tuple(int(d) for d in outputs.shape[1:])
        params = int(keras.Model(inputs, outputs).count_params())
    except Exception as error:  # noqa: BLE001 - whatever the student's function returned, report it
        log.add(6, "inception_module", "note", f"step 6: inception_module did not return a tensor ({error})")
        return {}
    ok = shape == (12, 12, 256)
    log.add(
        6,
        "inception_module",
        "note",
        f"step 6: inception_module on a 12x12x64 map gives {shape}" + ("" if ok else "; expected (12, 12, 256)"),
    )
    return {"output_shape": list(shape), "params": params, "ok": ok}


def student_metrics_check(homework, y_true, y_pred, num_classes: int, log: StepLog) -> dict:
    """Step 6: the student's numpy confusion matrix and F1 beside scikit-learn's."""
    labels = np.arange(num_classes)
    reference_cm = sk_confusion_matrix(y_true, y_pred, labels=labels)
    reference_f1 = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    reference_macro = float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))
    result: dict[str, Any] = {"sklearn_macro_f1": reference_macro, "sklearn_f1": reference_f1.tolist()}
    cm = log.call(homework, 6, "confusion_matrix", y_true, y_pred, num_classes)
    if cm is not MISSING:
        equal = np.shape(cm) == reference_cm.shape and np.array_equal(np.asarray(cm), reference_cm)
        result["confusion_matrix_matches_sklearn"] = bool(equal)
        log.add(
            6,
            "confusion_matrix",
            "note",
            "step 6: confusion_matrix "
            + (
                "equals scikit-learn's"
                if equal
                else "differs from scikit-learn's confusion_matrix(y_true, y_pred, labels=range(num_classes))"
            ),
        )
    scores = log.call(homework, 6, "f1_scores", reference_cm)
    if scores is not MISSING:
        try:
            per_class, macro = scores
            per_class = np.asarray(per_class, dtype=np.float64)
            equal = (
                per_class.shape == reference_f1.shape
                and np.allclose(per_class, reference_f1, atol=1e-6)
                and abs(float(macro) - reference_macro) <= 1e-6
            )
            result.update(student_macro_f1=float(macro), student_f1=per_class.tolist())
        except Exception as error:  # noqa: BLE001 - whatever the student's function returned, report it
            equal = False
            result["f1_error"] = f"{type(error).__name__}: {error}"
        result["f1_matches_sklearn"] = bool(equal)
        log.add(
            6,
            "f1_scores",
            "note",
            "step 6: f1_scores "
            + (
                "equal scikit-learn's, per class and macro"
                if equal
                else "differ from scikit-learn's f1_score(average=None / 'macro', zero_division=0)"
            ),
        )
    return result
