"""The Fashion-MNIST homework's report.md: the whole homework in one document, from summary.json and the run folders.

The runner (``runner.py`` beside this file) writes ``summary.json``; this module lays it out, one
section per step, then the comparison of every trained network. It reads only the summary and the
pictures in the run folders, so a report can be written again from a finished run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from kit.budget import format_duration, format_epochs
from kit.files import markdown_table

SMOKE_NOTE = "smoke preset: a wiring check on a few hundred images, its scores mean nothing"
# Each network's section: the step that trains it and its title.
SECTIONS = {
    "cnn_sequential": (5, "Step 5: the CNN-MNIST example on Fashion-MNIST (Sequential)"),
    "cnn_functional": (5, "Step 5: the same CNN in the functional style"),
    "cnn_inception": (6, "Step 6: the CNN with an Inception module"),
    "best": (7, "Step 7: the best recipe (`best_config()`)"),
}
PICTURES = (
    ("training_curves.png", "training curves"),
    ("confusion_matrix.png", "confusion matrix"),
    ("per_class_f1.png", "F1 per class"),
)


def _relative(path: str | Path, out_dir: Path) -> str:
    try:
        return Path(path).resolve().relative_to(out_dir.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def _picture(out_dir: Path, run_dir: str, name: str, title: str) -> list[str]:
    path = Path(run_dir) / name
    return [f"![{title}]({_relative(path, out_dir)})", ""] if path.is_file() else []


def _step_label(key: str) -> str:
    return f"step {key}" if key.isdigit() else key


def write_homework_report(summary: dict, out_dir: str | Path) -> Path:
    """``out_dir/report.md``: the whole homework in one document, from summary.json and the run folders."""
    out_dir = Path(out_dir)
    lines = _header_lines(summary) + _dataset_lines(summary) + _two_styles_lines(summary)
    for name in SECTIONS:
        lines += _network_lines(summary, name, out_dir)
    lines += _best_config_lines(summary) + _comparison_lines(summary["models"])
    path = out_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _header_lines(summary: dict) -> list[str]:
    """The title, the machine and the seconds per step, the smoke note, the budget and the table of steps."""
    seconds = summary.get("step_seconds")
    lines = [
        "# Fashion-MNIST homework: report",
        "",
        f"Implementation `{summary['impl']}`, preset **{summary['preset']}**, backend {summary['backend']}, "
        f"device {summary['device']}; total time {summary['total_seconds']:.0f} s"
        + (" (" + ", ".join(_step_label(k) + f" {v:.0f} s" for k, v in seconds.items()) + ")" if seconds else "")
        + ".",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in summary.get("versions", {}).items()) + ".",
        "",
    ]
    if summary["preset"] == "smoke":
        lines += [f"**Note: {SMOKE_NOTE}.** It shows that every step runs; train with `--preset quick` for scores.", ""]
    lines += _budget_lines(summary) + ["## Steps", ""]
    steps = pd.DataFrame(summary["steps"], columns=["step", "name", "status", "message"])
    lines += [markdown_table(steps[["step", "status", "message"]]) if len(steps) else "Nothing ran.", ""]
    if summary["todo"]:
        lines += ["Still to write:", ""] + [f"- {message}" for message in summary["todo"]] + [""]
    return lines


def _dataset_lines(summary: dict) -> list[str]:
    """Step 1: the sizes, the student's table, the dataset report's findings and pictures."""
    dataset = summary["dataset"]
    lines = [
        "## Step 1: the dataset",
        "",
        f"{dataset['sizes']['train']:,} training, {dataset['sizes']['validation']:,} validation and "
        f"{dataset['sizes']['test']:,} test images of shape {tuple(dataset['input_shape'])}, "
        f"{len(dataset['class_names'])} classes; files from {dataset['source']}.",
        "",
    ]
    if dataset.get("summary"):
        table = markdown_table(pd.DataFrame(dataset["summary"]), floatfmt={"mean": ".4f", "std": ".4f"})
        lines += ["`dataset_summary` (training set):", "", table, ""]
    exploration = dataset.get("exploration")
    if not exploration:
        return lines
    findings = exploration.get("findings") or {}
    if findings:
        values = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in findings.values()]
        lines += [markdown_table(pd.DataFrame({"finding": list(findings), "value": values})), ""]
    for key, name in (exploration.get("images") or {}).items():
        lines += [f"![{key.replace('_', ' ')}](dataset/{name})", ""]
    return lines + ["The whole dataset report: [dataset/dataset.md](dataset/dataset.md).", ""]


def _two_styles_lines(summary: dict) -> list[str]:
    """Step 3: both styles' parameters and whether they predict alike with shared weights."""
    styles = summary["two_styles"]
    lines = ["## Step 3: one network, two styles", ""]
    if 3 not in summary["steps_asked"]:
        lines += ["Not run: not among the steps asked (`--steps`).", ""]
    rows = [{"model": name, **styles[name]} for name in ("cnn_sequential", "cnn_functional") if name in styles]
    if rows:
        lines += [markdown_table(pd.DataFrame(rows)), ""]
    if styles.get("expected_params"):
        lines += [f"The lecture's CNN-MNIST example has {styles['expected_params']:,} parameters.", ""]
    if "equal_outputs" in styles:
        check = styles["equal_outputs"]
        lines += [
            (
                "Same weights, same predictions: the two styles build one network "
                f"(largest difference {check['max_abs_difference']:.1e})."
                if check["equal"]
                else f"**The two styles differ:** {check['reason']}."
            ),
            "",
        ]
    return lines


def _network_lines(summary: dict, name: str, out_dir: Path) -> list[str]:
    """One trained network's section: its numbers, pictures, confusions and run folder (or why it is absent)."""
    step, title = SECTIONS[name]
    entry = summary["models"].get(name)
    lines = [f"## {title}", ""]
    if entry is None:
        asked = summary["steps_asked"]
        return lines + [
            "Not trained: see the steps above."
            if step in asked
            else f"Not run: this run asked for step{'s' if len(asked) > 1 else ''} "
            f"{', '.join(map(str, asked))} only (`--steps`).",
            "",
        ]
    lines += [_model_table(entry), ""]
    for picture, what in PICTURES:
        lines += _picture(out_dir, entry["run_dir"], picture, f"{name}: {what}")
    folder = _relative(entry["run_dir"], out_dir)
    lines += [_confused_line(entry), f"Run folder: [{folder}]({folder}/report.md).", ""]
    if name == "cnn_inception":
        lines += _f1_check_lines(summary.get("f1_check") or {}) + _inception_lines(summary)
    return lines


def _best_config_lines(summary: dict) -> list[str]:
    """Step 7: the settings of ``best_config()`` that differ from nothing (set ones only)."""
    if not summary.get("best_config"):
        return []
    config = {k: v for k, v in summary["best_config"].items() if v not in (None, "", {}, False)}
    values = [json.dumps(v) if isinstance(v, (dict, list)) else str(v) for v in config.values()]
    return ["`best_config()`:", "", markdown_table(pd.DataFrame({"setting": list(config), "value": values})), ""]


def _comparison_lines(models: dict) -> list[str]:
    """Every trained network side by side (best macro-F1 first), and F1 per class."""
    trained = {name: entry for name, entry in models.items() if entry}
    lines = ["## Comparison", ""]
    if not trained:
        return lines + ["No model was trained yet.", ""]
    columns = ("params", "epochs", "train_seconds", "accuracy", "macro_f1")
    table = pd.DataFrame([{"model": name, **{c: e[c] for c in columns}} for name, e in trained.items()])
    lines += [
        markdown_table(
            table.sort_values("macro_f1", ascending=False, kind="stable"),
            floatfmt={"train_seconds": ".1f", "accuracy": ".4f", "macro_f1": ".4f"},
        ),
        "",
        "F1 per class (test set):",
        "",
    ]
    classes = [item["class"] for item in next(iter(trained.values()))["per_class"]]
    f1 = pd.DataFrame({"class": classes, **{name: [i["f1"] for i in e["per_class"]] for name, e in trained.items()}})
    return lines + [markdown_table(f1), ""]


def _budget_lines(summary: dict) -> list[str]:
    """report.md's "Time budget" section: the machine, the budget, its split, and what each step got."""
    budget = summary.get("budget")
    if not budget or not budget.get("shares"):
        return []
    shares = ", ".join(f"step {step} {share:.0%}" for step, share in budget["shares"].items())
    lines = [
        "## Time budget",
        "",
        f"**{format_duration(budget['seconds'])}** of wall time on {summary['device']} ({summary['backend']}); "
        f"the run took {format_duration(budget['wall_seconds'])} from the start of Python. The training time was "
        f"shared {shares or 'among no step'} (step 7 gets the most: its network is the one scored); each network "
        "was timed before anything trained, and each run fitted its epochs and its learning-rate schedule to its "
        "seconds, correcting after every epoch (`kit.train`'s `time_budget`).",
        "",
    ]
    rows = []
    for step, name in ((5, "cnn_sequential"), (6, "cnn_inception"), (7, "best")):
        entry = (summary.get("models") or {}).get(name) or (
            (summary.get("models") or {}).get("cnn_functional") if step == 5 else None
        )
        if not entry or not entry.get("budget"):
            continue
        spent = entry["budget"]
        rows.append(
            {
                "step": step,
                "network": Path(entry["run_dir"]).name,
                "seconds given": spent["budget_seconds"],
                "seconds taken": spent["spent_seconds"],
                "epochs": spent["epochs"],
                "training images/s": spent["images_per_second"],
                "test macro-F1": entry["macro_f1"],
            }
        )
    if rows:
        formats = {"seconds given": ".0f", "seconds taken": ".0f", "epochs": ".2f", "training images/s": ".0f"}
        lines += [markdown_table(pd.DataFrame(rows), floatfmt=formats), ""]
        short = [f"step {row['step']} {format_epochs(row['epochs'])}" for row in rows if row["epochs"] < 1]
        if short:
            lines += [
                f"On this machine a demonstration's share was less than one epoch: {', '.join(short)}; it kept "
                "to its share, so that step 7 keeps its own.",
                "",
            ]
    fitted = summary.get("host_fit")
    if fitted:
        verb = "chose" if fitted["chosen"] != fitted["asked"] else "kept"
        lines += [
            f"Step 7's network was fitted to this machine (`fit_to_host`, `kit.host_fit`): it {verb} "
            f"{fitted['why']}, by the measured table of each {fitted['option']}'s speed and test macro-F1 "
            "against epochs.",
            "",
        ]
    return lines


def _model_table(entry: dict) -> str:
    budget = entry.get("budget")
    rows = [
        ("test accuracy", f"{entry['accuracy']:.4f}"),
        ("test macro-F1", f"{entry['macro_f1']:.4f}"),
        ("weighted F1", f"{entry['weighted_f1']:.4f}"),
        ("parameters", f"{entry['params']:,}"),
        ("epochs", f"{format_epochs(budget['epochs'])} (by the clock)" if budget else str(entry["epochs"])),
        ("training time (s)", f"{entry['train_seconds']:.1f}"),
        ("test images", f"{entry['n_test']:,}"),
    ]
    if budget:
        rows += [
            ("seconds given / taken", f"{budget['budget_seconds']:.0f} / {budget['spent_seconds']:.0f}"),
            ("training images/s (measured)", f"{budget['images_per_second']:,.0f}"),
        ]
    if entry.get("weights_from"):
        rows.append(("weights from", entry["weights_from"]))
    return markdown_table(pd.DataFrame(rows, columns=["", "value"]))


def _confused_line(entry: dict) -> str:
    pairs = entry.get("most_confused", [])[:3]
    if not pairs:
        return "No test image was misclassified."
    return "Most confused: " + "; ".join(f"{p['true']} -> {p['predicted']} ({p['count']})" for p in pairs) + "."


def _f1_check_lines(check: dict) -> list[str]:
    if "student_f1" not in check and "confusion_matrix_matches_sklearn" not in check:
        return []
    lines = [
        "Your numpy `confusion_matrix` / `f1_scores` beside scikit-learn's "
        f"(on {check.get('model') or 'perturbed test labels'}):",
        "",
    ]
    if "confusion_matrix_matches_sklearn" in check:
        lines.append(f"- confusion matrix equal to scikit-learn's: {check['confusion_matrix_matches_sklearn']}")
    if "student_macro_f1" in check:
        lines.append(
            f"- macro-F1: yours {check['student_macro_f1']:.6f}, scikit-learn {check['sklearn_macro_f1']:.6f}"
            f" (equal per class and macro: {check['f1_matches_sklearn']})"
        )
    return lines + [""]


def _inception_lines(summary: dict) -> list[str]:
    module = summary.get("inception_module") or {}
    if not module:
        return []
    return [
        f"`inception_module` alone on a 12x12x64 map: output {tuple(module['output_shape'])}, "
        f"{module['params']:,} parameters.",
        "",
    ]
