"""What did the class get wrong? ``DIR/report.md`` and its pictures, from a class's results.

The instructor would rather look than read: the score histogram; per check the mean and the
share of full / partial / zero marks (a picture and a table); each check's most frequent
failure messages, grouped (numbers read as "#", so that "got 0.31" and "got 0.29" are one
message) and counted, which says what to explain again in the next lecture; the leaderboard
figure's distribution and the leaderboard; hidden-vs-visible differences per check where the
hidden checks were graded; the pairs the similarity check flags; and, apart from the students'
zeros, who could not be graded and why. Pictures are PNGs beside report.md (``kit.figures``).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from kit.figures import new_figure, save_figure
from kit.files import markdown_table, write_text

TOP_MESSAGES = 5
TOP_LEADERBOARD = 10


def failure_message(test: dict, check_message: str = "") -> str:
    """The first line of a failed check's verdict: the check's fixed message and the student's output left out."""
    text = test.get("output") or ""
    text = text.split("Your code's output (cut):")[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if check_message and lines and lines[0] == check_message.strip():
        lines = lines[1:]
    return lines[0][:240] if lines else "(no message)"


def message_pattern(message: str) -> str:
    """A message with its numbers read as "#": the same mistake with other numbers is one group."""
    return re.sub(r"-?\d+(?:[.,]\d+)*(?:e[-+]?\d+)?", "#", message)


def check_summary(results: dict[str, dict], checks) -> pd.DataFrame:
    """Per check: points, the students graded on it, mean points, and the share at full / partial / zero marks."""
    rows = []
    for check in checks:
        scores = [
            t["score"] for r in results.values() for t in r.get("tests", []) if t.get("tags", [None])[0] == check.id
        ]
        graded = len(scores)
        scores = np.asarray(scores, dtype=float)
        full = float(np.mean(scores >= check.points)) if graded else np.nan
        zero = float(np.mean(scores <= 0)) if graded else np.nan
        rows.append(
            {
                "check": check.id,
                "visibility": check.visibility,
                "points": float(check.points),
                "graded": graded,
                "mean": float(scores.mean()) if graded else np.nan,
                "full": full,
                "partial": 1.0 - full - zero if graded else np.nan,
                "zero": zero,
            }
        )
    return pd.DataFrame(rows)


def frequent_failures(results: dict[str, dict], checks, top: int = TOP_MESSAGES) -> dict[str, list[tuple]]:
    """Per check id: [(count, example message), ...] of the students who lost points, most frequent first."""
    found: dict[str, list[tuple]] = {}
    for check in checks:
        groups: Counter = Counter()
        examples: dict[str, str] = {}
        for r in results.values():
            for test in r.get("tests", []):
                if test.get("tags", [None])[0] != check.id or test["score"] >= test["max_score"]:
                    continue
                message = failure_message(test, check.message)
                pattern = message_pattern(message)
                groups[pattern] += 1
                examples.setdefault(pattern, message)
        found[check.id] = [(count, examples[pattern]) for pattern, count in groups.most_common(top)]
    return found


def hidden_twins(checks) -> list[tuple]:
    """(visible checks, hidden check) for each hidden check; the visible ones it stands beside, maybe none.

    ``X_hidden`` goes with ``X``; else with the visible checks whose id starts with its stem
    (``layer_hidden`` with ``layer_forward``); else with the one visible check of its kind.
    """
    visible = [c for c in checks if c.visibility != "hidden"]
    pairs = []
    for hidden in (c for c in checks if c.visibility == "hidden"):
        stem = hidden.id.removesuffix("_hidden")
        twins = [c for c in visible if c.id == stem] or [c for c in visible if c.id.startswith(stem)]
        if not twins:
            same_kind = [c for c in visible if c.kind == hidden.kind]
            twins = same_kind if len(same_kind) == 1 else []
        pairs.append((twins, hidden))
    return pairs


def hidden_versus_visible(results: dict[str, dict], checks) -> pd.DataFrame:
    """Per hidden check: the share at full marks on it and on its visible twins, and who passed those but not it."""
    rows = []
    for twins, hidden in hidden_twins(checks):
        marks = []
        for r in results.values():
            scores = {t["tags"][0]: t["score"] for t in r.get("tests", []) if t.get("tags")}
            if hidden.id in scores and all(c.id in scores for c in twins):
                visible_full = all(scores[c.id] >= c.points for c in twins) if twins else False
                marks.append((visible_full, scores[hidden.id] >= hidden.points))
        if not marks:
            continue
        marks = np.asarray(marks, dtype=bool)
        rows.append(
            {
                "hidden check": hidden.id,
                "visible twin": ", ".join(c.id for c in twins) or "(none)",
                "full on visible": float(marks[:, 0].mean()) if twins else np.nan,
                "full on hidden": float(marks[:, 1].mean()),
                "visible full, hidden not": int((marks[:, 0] & ~marks[:, 1]).sum()),
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ pictures


def plot_scores(totals: pd.Series, maximum: float, path: Path) -> Path:
    figure = new_figure(6, 3.2)
    axes = figure.add_subplot()
    bins = np.linspace(0, max(maximum, 1.0), 21)
    axes.hist(totals.dropna().astype(float), bins=bins, color="#4c72b0", edgecolor="white")
    axes.set_xlabel(f"total points (of {maximum:g})")
    axes.set_ylabel("students")
    axes.set_title("Scores")
    return save_figure(figure, path)


def plot_checks(summary: pd.DataFrame, path: Path) -> Path:
    figure = new_figure(7, 0.35 * len(summary) + 1.6)
    axes = figure.add_subplot()
    names = summary["check"].tolist()[::-1]
    left = np.zeros(len(names))
    for column, color in (("full", "#55a868"), ("partial", "#dd8452"), ("zero", "#c44e52")):
        values = summary[column].fillna(0).to_numpy()[::-1]
        axes.barh(names, values, left=left, color=color, label=column)
        left += values
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of students")
    figure.legend(loc="outside lower center", ncols=3, fontsize="small")
    axes.set_title("Each check: full, partial and zero marks")
    return save_figure(figure, path)


def plot_figure(values: pd.Series, name: str, path: Path) -> Path:
    figure = new_figure(6, 3.2)
    axes = figure.add_subplot()
    axes.hist(values.dropna().astype(float), bins=20, color="#8172b3", edgecolor="white")
    axes.set_xlabel(name)
    axes.set_ylabel("students")
    axes.set_title(f"{name} of the submitted models")
    return save_figure(figure, path)


# ------------------------------------------------------------------ report.md


def write_class_report(
    out_dir: str | os.PathLike,
    *,
    table: pd.DataFrame,
    results: dict[str, dict],
    checks,
    assignment,
    figure: str | None,
    result,
    similar=None,
    klass=None,
) -> Path:
    """Write ``report.md`` and its PNGs into ``out_dir``, section by section; return the report's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = _heading(table, checks, assignment, result, klass)
    lines += _scores(table, checks, out_dir)
    lines += _checks(results, checks, out_dir)
    if any(c.visibility == "hidden" for c in checks):
        versus = hidden_versus_visible(results, checks)
        if len(versus):
            lines += ["", "## Hidden versus visible checks", ""]
            lines.append(
                "Students at full marks on a visible check and on its hidden twin (other seeds, sizes, edge cases): "
                "a code that passes the visible inputs only is where the two differ."
            )
            lines += ["", markdown_table(versus, floatfmt=".0%")]
    lines += _leaderboard(table, figure, out_dir)
    if similar is not None:
        from kit.grading.similarity import CODE_THRESHOLD, MODEL_THRESHOLD

        flagged = similar.flagged
        lines += ["", "## Similarity", ""]
        lines.append(
            f"{len(similar.pairs)} pairs compared (the released stub never counts); {len(flagged)} at or above the "
            f"thresholds (code {CODE_THRESHOLD}, model {MODEL_THRESHOLD}). Side by side: `similarity.html`; every "
            "pair: `similarity.csv`."
        )
        if flagged:
            lines += ["", markdown_table(similar.table().head(len(flagged)), floatfmt=".2f")]
    lines += _without_a_grade(table, result)
    if result.problems:
        lines += ["", "## Problems with the submissions", ""]
        lines += [f"- {problem}" for problem in result.problems]
    return write_text(out_dir / "report.md", "\n".join(lines) + "\n")


def _heading(table: pd.DataFrame, checks, assignment, result, klass) -> list[str]:
    title = assignment.title or assignment.name
    lines = [f"# Class report: {title}" + (" (a quick look)" if result.quick_look else ""), ""]
    if result.quick_look:
        lines += [
            f"A quick look at {len(checks)} check(s) ({', '.join(c.id for c in checks)}), written apart from the "
            "class's own grades.csv and LMS files, which it never changes.",
            "",
        ]
    source = f" from `{klass.source}` ({klass.kind})" if klass is not None else ""
    lines.append(
        f"{len(table)} students{source}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. This run graded "
        f"{len(result.graded)} and kept {len(result.kept)} unchanged; "
        f"{len(result.faults)} grader fault(s), {len(result.not_graded)} not graded. Every student's points: "
        "`grades.csv`; their full results: `results/<student>/results.json`."
    )
    return lines


def _scores(table: pd.DataFrame, checks, out_dir: Path) -> list[str]:
    maximum = float(sum(c.points for c in checks))
    totals = pd.to_numeric(table["total"], errors="coerce")
    graded = totals.dropna()
    lines = ["", "## Scores", ""]
    if not len(graded):
        return [*lines, "No student has a grade yet."]
    plot_scores(totals, maximum, out_dir / "scores.png")
    return [
        *lines,
        "![scores](scores.png)",
        "",
        f"Mean {graded.mean():.1f}, median {graded.median():.1f}, lowest {graded.min():g}, highest "
        f"{graded.max():g} of {maximum:g} points; {int((graded >= maximum).sum())} of {len(graded)} students "
        "at full marks.",
    ]


def _checks(results: dict[str, dict], checks, out_dir: Path) -> list[str]:
    """Per check, the shares at full, partial and zero marks; then the most frequent failure messages."""
    lines = []
    summary = check_summary(results, checks)
    if len(summary) and summary["graded"].sum():
        plot_checks(summary, out_dir / "checks.png")
        shown = summary.assign(
            **{c: (summary[c] * 100).round(0) for c in ("full", "partial", "zero")},
        ).rename(columns={"full": "full %", "partial": "partial %", "zero": "zero %"})
        lines += ["", "## Checks", "", "![checks](checks.png)", ""]
        lines.append(
            markdown_table(
                shown, floatfmt={"points": "g", "mean": ".2f"} | dict.fromkeys(("full %", "partial %", "zero %"), ".0f")
            )
        )
    failures = frequent_failures(results, checks)
    if any(failures.values()):
        lines += ["", "## What went wrong", ""]
        lines.append(
            "Each check's most frequent failure messages, grouped (numbers read as #), with the number of "
            "students who got them: what to explain again."
        )
        names = {c.id: c.name for c in checks}
        for check_id, groups in failures.items():
            if groups:
                lines += ["", f"### {names[check_id]} (`{check_id}`)", ""]
                lines += [f"- **{count}** x {message}" for count, message in groups]
    return lines


def _leaderboard(table: pd.DataFrame, figure: str | None, out_dir: Path) -> list[str]:
    """The figure's histogram and the top students, where at least one model was scored."""
    if not figure or figure not in table.columns:
        return []
    values = pd.to_numeric(table[figure], errors="coerce")
    if not values.notna().any():
        return []
    plot_figure(values, figure, out_dir / "figure.png")
    board = table.assign(**{figure: values}).dropna(subset=[figure]).sort_values(figure, ascending=False)
    board = board[["student", "name", figure]].head(TOP_LEADERBOARD).reset_index(drop=True)
    board.insert(0, "rank", range(1, len(board) + 1))
    return [
        "",
        f"## {figure} of the submitted models",
        "",
        "![figure](figure.png)",
        "",
        f"Median {values.median():.4f}, best {values.max():.4f} ({int(values.notna().sum())} models). Leaderboard:",
        "",
        markdown_table(board, floatfmt={figure: ".4f"}),
    ]


def _without_a_grade(table: pd.DataFrame, result) -> list[str]:
    """Who could not be graded and why; who is left out of moodle.csv."""
    who = _who(table)
    lines = []
    if result.faults or result.not_graded:
        lines += ["", "## Could not be graded", ""]
        lines.append(
            "No grade (an empty cell in grades.csv and canvas.csv, never 0; left out of moodle.csv); the next run "
            "tries again."
        )
        lines += [""] + [f"- {who(name)}: grader fault: {why}" for name, why in sorted(result.faults.items())]
        lines += [f"- {who(name)}: {why}" for name, why in sorted(result.not_graded.items())]
    if result.not_in_lms:
        lines += ["", "## Not in moodle.csv", ""]
        lines.append(
            "Moodle's CSV import clears a grade for an empty cell, so these students (no grade yet) are left out "
            "of moodle.csv; enter their grades by hand or import again once they are graded:"
        )
        lines += [""] + [f"- {who(name)}" for name in result.not_in_lms]
    return lines


def _who(table: pd.DataFrame):
    """A student as the report names them: the key, and the name and email where the roster gives them."""
    known = {row["student"]: row for row in table.to_dict("records")}

    def who(student: str) -> str:
        row = known.get(student, {})
        named = [row.get(c) for c in ("name", "email")]
        extra = ", ".join(v for v in named if isinstance(v, str) and v not in ("", student))
        return f"`{student}`" + (f" ({extra})" if extra else "")

    return who
