"""``python -m kit COMMAND``: the kit's command line.

Every command is described here (this file is the CLI reference); its work is done by a
function in the module named in ``_HANDLERS``, imported only when that command runs, so
that ``python -m kit data`` does not pay for importing Keras.
Bad input ends with one sentence on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys

from kit.errors import KitError

# The --preset choices of train, lr-find and tune: the names of kit.train.TRAIN_PRESETS, written out so
# that parsing arguments imports no Keras (a test checks they agree).
PRESET_NAMES = ("smoke", "quick", "full")

# command -> "module:function"; the function takes the parsed arguments and returns an exit code.
_HANDLERS = {
    "data": "kit.data:command",
    "explore": "kit.explore:command",
    "train": "kit.recipes:command_train",
    "lr-find": "kit.train:command_lr_find",
    "tune": "kit.tune:command",
    "report": "kit.report:command_report",
    "compare": "kit.report:command_compare",
    "homework": "kit.assignments:command_run",
    "assignments": "kit.grading.rubric:command_list",
    "assign": "kit.assign:command_assign",
    "release": "kit.assign:command_release",
    "grade": "kit.grading.command:command",
    "class": "kit.grading.command:command_class",
    "check": "kit.check:command",
    "lab": "kit.labs:command",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kit", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    # --- data (kit.data) and exploration (kit.explore): the dataset before any model
    p = commands.add_parser("data", help="find, verify and describe the Fashion-MNIST files")
    p.add_argument("--data-dir", help="folder with the four .gz files (default: the resolution order in README)")
    p.add_argument("--check", action="store_true", help="only verify the files; print nothing but errors")
    p.add_argument("--summary", action="store_true", help="with --check: say in one line what was found where")
    p.add_argument(
        "--download",
        action="store_true",
        help="download the files (into --data-dir, else datasets/fashion-mnist/) if not found or not valid; "
        "$KIT_DATA_URL overrides the URL",
    )
    p.add_argument(
        "--validation-size", type=int, default=5000, help="training images held out for validation (0: none)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the stratified validation split")

    p = commands.add_parser("explore", help="dataset report: tables and pictures (study the data before modelling)")
    p.add_argument("--out", required=True, help="folder for dataset.md, dataset.json and PNGs")
    p.add_argument("--data-dir", help="folder with the four .gz files (default: the resolution order in README)")
    p.add_argument(
        "--validation-size", type=int, default=5000, help="training images held out for validation (0: none)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the validation split and of the sample grid")

    # --- training (kit.train)
    p = commands.add_parser("train", help="train a model and write a run folder")
    p.add_argument("--model", help="model name from kit.models.available()")
    p.add_argument("--preset", choices=PRESET_NAMES, default="quick")
    p.add_argument("--config", help="TrainConfig JSON file (command-line options override it)")
    p.add_argument("--recipe", help="a named recipe of kit.recipes, e.g. cpu-10min (command-line options override it)")
    p.add_argument("--out", help="run folder (default runs/MODEL)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int)
    length.add_argument(
        "--minutes",
        type=float,
        help="train for this many minutes of wall time on this machine instead of --epochs: the steps that fit, "
        "the learning-rate schedule ending at the last one (evaluation and saving included)",
    )
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--optimizer")
    p.add_argument("--schedule")
    p.add_argument("--augment", help="comma-separated augmentation names, e.g. flip,translate,erasing")
    p.add_argument("--precision", help="auto, float32, mixed_bfloat16 or mixed_float16")
    p.add_argument("--seed", type=int)
    p.add_argument("--devices", type=int, help="train data-parallel on this many devices")
    p.add_argument("--resume", action="store_true", help="continue a killed run from its last finished epoch")
    p.add_argument("--tensorboard", action="store_true")
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--ema", action="store_true", default=None, help="keep an EMA of the weights (Polyak averaging)")
    p.add_argument("--tta", action="store_true", default=None, help="also evaluate with test-time augmentation")
    p.add_argument(
        "--tta-in-model",
        action="store_true",
        default=None,
        help="save model.keras averaged over each image and its mirror (test-time augmentation in the file)",
    )
    p.add_argument("--warmup-epochs", type=float)
    p.add_argument("--patience", type=int, help="early stopping patience in epochs")
    p.add_argument("--monitor", help="val_loss, val_accuracy or val_macro_f1: picks the best epoch")
    p.add_argument("--train-size", type=int, help="train on a stratified subset of this many images")
    p.add_argument("--data-dir")

    p = commands.add_parser("lr-find", help="learning-rate range test (lecture recipe, step 3)")
    p.add_argument("--model", required=True)
    p.add_argument("--preset", choices=PRESET_NAMES, default="quick")
    p.add_argument("--optimizer")
    p.add_argument("--steps", type=int, help="batches to try (default 200)")
    p.add_argument("--start-lr", type=float, help="smallest learning rate (default 1e-7)")
    p.add_argument("--end-lr", type=float, help="largest learning rate (default 10)")
    p.add_argument("--out", help="folder for lr_find.png and lr_find.csv")
    p.add_argument("--data-dir")

    p = commands.add_parser("tune", help="hyperparameter search with KerasTuner (lecture recipe, steps 4-5)")
    p.add_argument("--model", help="model name from kit.models.available() (default: the preset's)")
    p.add_argument("--preset", choices=PRESET_NAMES, default="quick")
    p.add_argument(
        "--space",
        help='search space JSON: {field: [choices] or ["log", low, high]} '
        "(default: LR, optimizer, weight decay, dropout)",
    )
    p.add_argument("--max-trials", type=int, default=10)
    p.add_argument(
        "--epochs", type=int, help="epochs per trial (default: the preset's; the lecture: 1-5 for a coarse search)"
    )
    p.add_argument("--objective", default="val_macro_f1", help="val_macro_f1, val_accuracy or val_loss")
    p.add_argument("--algorithm", default="random", help="random, grid, bayesian or hyperband")
    p.add_argument("--seed", type=int, default=0, help="seed of the search")
    p.add_argument("--out", help="folder for trials.csv, best_config.json and the trials (default runs/tune_MODEL)")
    p.add_argument("--data-dir")

    # --- evaluation and reports (kit.report)
    p = commands.add_parser("report", help="re-create report.md, metrics.json and plots from a run folder")
    p.add_argument("run_dir", help="run folder with model.keras (and config.json, history.csv) written by `train`")
    p.add_argument("--data-dir", help="folder with the Fashion-MNIST files (default: the resolution order in README)")

    p = commands.add_parser("compare", help="table of runs side by side, sorted by macro-F1")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders with metrics.json")
    p.add_argument("--out", help="write the table to this .csv or .md file too")

    # --- an assignment's runner (its runner.py: its steps end to end) and the single-source assignments
    p = commands.add_parser(
        "homework",
        add_help=False,
        help="run an assignment's steps end to end (its own options: python -m kit homework --help)",
    )
    p.add_argument("--assignment", help="the assignment (default: the only one; see python -m kit assignments)")

    p = commands.add_parser("assignments", help="list the assignments: name, visible points, title")
    p.add_argument(
        "--datasets",
        metavar="NAME",
        help="print only the data sets assignment NAME's manifest names, one a line (make check fetches these)",
    )

    p = commands.add_parser(
        "assign", help="write the student version of assignments from their solutions (default: every assignment)"
    )
    p.add_argument("--assignment", help="only this assignment: solutions/NAME -> assignments/NAME")
    p.add_argument("source", nargs="?", help="a solution folder (with DESTINATION: any two folders)")
    p.add_argument("destination", nargs="?")
    p.add_argument("--check", action="store_true", help="exit 1 if destination is out of date instead of writing")

    p = commands.add_parser("release", help="write the student repository (no solutions, no hidden tests)")
    p.add_argument("out_dir")

    # --- the student's self-check: the autograder's visible checks (kit.check)
    p = commands.add_parser("check", help="your visible score before you submit: the autograder's visible checks")
    p.add_argument(
        "folder", nargs="?", help="folder with your files (default: the folder you are in, else assignments/ASSIGNMENT)"
    )
    p.add_argument("--out", help="also write Gradescope's results.json (visible checks only) here")
    p.add_argument("--no-cache", action="store_true", help="grade again even if nothing changed since the last check")
    p.add_argument("--strict", action="store_true", help="exit status 1 when a visible point is missing (scripts, CI)")
    p.add_argument(
        "--only", nargs="+", metavar="NAME", help="the checks of these functions (or check ids) alone, e.g. f1_scores"
    )
    p.add_argument("--assignment", help="the assignment (default: the one of the folder you are in, or the only one)")

    # --- the autograder (kit.grading)
    p = commands.add_parser("grade", help="grade a submission folder into Gradescope's results.json")
    p.add_argument("submission", nargs="?")
    p.add_argument("--out", help="results.json (one submission; default results.json) or grades.csv (--class)")
    p.add_argument(
        "--class",
        dest="class_folder",
        metavar="FOLDER",
        help="grade every subfolder (one per student) into --out grades.csv and a results.json each",
    )
    p.add_argument("--jobs", type=int, default=1, help="with --class: students graded at once (default 1)")
    p.add_argument("--assignment", help="the assignment (default: the only one; see python -m kit assignments)")
    p.add_argument("--hidden", action="store_true", help="run the hidden checks too")
    p.add_argument("--package", metavar="OUT.zip", help="write Gradescope's autograder zip instead of grading")

    # --- a whole class (kit.grading.classroom, .similarity, .gradebook, .class_report)
    p = commands.add_parser("class", help="a whole class: grades, a report, a similarity check, gradebook files")
    steps = p.add_subparsers(dest="class_command", required=True, metavar="STEP")
    source_help = "a folder with one subfolder per student, or Gradescope's Download Submissions export (zip or folder)"
    q = steps.add_parser(
        "grade",
        help="grade every submission (resumable: only new or changed ones) into DIR: grades.csv, report.md, "
        "similarity.html, canvas.csv, moodle.csv, results/<student>/results.json",
    )
    q.add_argument("source", help=source_help)
    q.add_argument("--out", required=True, metavar="DIR", help="the class folder (kept between runs)")
    q.add_argument("--assignment", help="the assignment (default: the only one; see python -m kit assignments)")
    q.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="submissions graded at once (default 1; --jobs 2 graded a class 1.8x faster on 2 cores: docs/grading.md)",
    )
    q.add_argument(
        "--visible", action="store_true", help="the visible checks alone (the students' view; default: every check)"
    )
    q.add_argument("--hidden", action="store_true", help=argparse.SUPPRESS)  # the default now; kept for old scripts
    q.add_argument("--only", nargs="+", metavar="STUDENT", help="regrade these students alone (e.g. a late one)")
    q.add_argument("--force", action="store_true", help="regrade everyone, changed or not")
    q.add_argument(
        "--checks", nargs="+", metavar="CHECK_ID", help="grade only these checks: a quick look, in DIR/quick-look"
    )
    q.add_argument("--no-similarity", action="store_true", help="leave out the similarity check")
    q.add_argument(
        "--lms-column",
        metavar="NAME",
        help="canvas.csv's assignment column, as Canvas' own export names it, e.g. \"Homework 1 (12345)\" "
        "(default: the assignment's title, which Canvas imports as a new assignment)",
    )
    q = steps.add_parser(
        "similarity", help="compare every pair of submissions (code, models) into DIR/similarity.html and .csv"
    )
    q.add_argument("source", help=source_help)
    q.add_argument("--out", required=True, metavar="DIR")
    q.add_argument("--assignment", help="the assignment (default: the only one; see python -m kit assignments)")
    q.add_argument("--boilerplate", nargs="+", metavar="FILE", help="other code handed out: never counts")

    # --- lecture labs (kit.labs): each claim of the lectures reproduced on Fashion-MNIST
    p = commands.add_parser("lab", help="run a lecture lab: a claim, a picture, a number and a verdict")
    p.add_argument("name", nargs="?", help="the lab's name (see --list), or 'all' for every lab and an index page")
    p.add_argument("--list", action="store_true", help="list the labs, one line each: NAME  claim")
    p.add_argument(
        "--notebooks", action="store_true", help="write each lab's .ipynb from its kit/labs/notebooks/*.py (jupytext)"
    )
    p.add_argument("--out", help="folder for result.json, README.md and the PNGs (all: one subfolder per lab)")
    p.add_argument(
        "--preset", choices=("smoke", "quick"), default="quick", help="smoke: seconds; quick: <= 5 min on 2 CPU cores"
    )
    if not instructor_repository():
        _leave_out_of_help(commands, INSTRUCTOR_COMMANDS)
    return parser


# The instructor's commands need solutions/ (beside kit/ in the instructor's repository): the student
# release and a kit installed with pip have none, and there `python -m kit --help` lists the student's.
INSTRUCTOR_COMMANDS = ("assign", "release", "grade", "class")


def instructor_repository() -> bool:
    """Whether the kit is the instructor's (solutions/ beside it), not a student's release or installed copy."""
    from kit import REPO_ROOT

    return (REPO_ROOT / "solutions").is_dir()


def _leave_out_of_help(commands: argparse.Action, names: tuple[str, ...]) -> None:
    """Drop ``names`` from the COMMAND list of ``--help`` (they still parse); argparse has no public way to."""
    commands._choices_actions = [action for action in commands._choices_actions if action.dest not in names]


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for a moment, then restore it.

    Importing TensorFlow (the Keras backend) prints C++ start-up lines (oneDNN, CUDA drivers)
    straight to file descriptor 2 before absl logging can filter them (TF_CPP_MIN_LOG_LEVEL does
    not reach them); silenced while a command's module is imported, bad input still ends in one
    sentence on stderr. Python exceptions are raised after the descriptor is restored.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


# Commands whose unknown arguments belong to someone else: `homework` passes them to the assignment's runner.
_PASS_ON = ("homework",)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in _PASS_ON:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    module_name, function_name = _HANDLERS[args.command].split(":")
    try:
        with _native_stderr_silenced():
            module = importlib.import_module(module_name)
        handler = getattr(module, function_name)
        return int((handler(args, extra) if args.command in _PASS_ON else handler(args)) or 0)
    except (KitError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
