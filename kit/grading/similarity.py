"""Did anyone copy? Every pair of a class's submissions compared: their code, and their submitted models.

**Code** (``code_similarity``): copydetect (PyPI ``copydetect``; Stanford MOSS's method,
Schleimer, Wilkerson & Aiken, SIGMOD 2003) turns each file into Pygments tokens with every
variable, function and class name replaced by one letter, strings by one letter and comments
and layout dropped, hashes every k-gram of that text, and keeps the fingerprints chosen by
winnowing. Renamed variables, reordered functions and rewritten comments therefore leave the
fingerprints of a copy in place. Every fingerprint of the released stub (the assignment's
``assignments/<name>/<file>``) is boilerplate and removed from every submission first, so
that the given code never counts. A pair's score is the larger of the two shares "tokens of
A found in B" and "tokens of B found in A" (a copy padded with code of its own still shows on
the side that was copied). copydetect was chosen over ``pycode_similar`` (AST-based, Python
only, last released 2020, no boilerplate, no matching spans to show) and over services (JPlag,
MOSS: a server or a JVM, and the code leaves the machine).

**Models** (``model_similarity``): each ``.keras`` file of the submission is read as data (its
zip's ``model.weights.h5`` with h5py, in a child process: no Keras deserialisation, no student
code, a crash costs one sentence), never loaded as a model. Two models with different weight
shapes (different architectures) score 0; identical weights score 1; otherwise the score is the
correlation of the two weight vectors, each tensor standardised (mean 0, standard deviation 1),
estimated on 65,536 positions drawn once per architecture. Independently trained networks
share no weights however alike their accuracy (hidden units may be permuted, inits differ):
their correlation is ~0. A classmate's model fine-tuned for an epoch keeps ~0.9 and more.

``DIR/similarity.csv`` lists every pair (``student_a``, ``student_b``, ``code_similarity``,
``model_similarity``; scores in 0..1, empty where a side has no model) and ``DIR/similarity.html``
shows the top pairs side by side with the matching code marked. The thresholds and the
measurement behind them: docs/grading.md, "Similarity".
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit import REPO_ROOT
from kit.files import scratch, write_text
from kit.grading.submissions import ClassSubmissions, Submission

# Flag a pair at or above these (docs/grading.md, "Similarity", gives the measurement behind them).
CODE_THRESHOLD = 0.4
MODEL_THRESHOLD = 0.5
NOISE_TOKENS = 25  # copydetect's k: the shortest match (in filtered characters) that counts
GUARANTEE_TOKENS = 30  # copydetect's guarantee threshold: every match this long is found (window = 6)
SAMPLE_POSITIONS = 65536
CODE_SUFFIXES = (".py",)
MODEL_SUFFIXES = (".keras",)
MAX_MODEL_BYTES = 512 << 20
EXCERPT_CHARS = 60_000  # each side of a pair in similarity.html: a 20 MB file shows its first 60 KB
COLUMNS = ["student_a", "student_b", "code_similarity", "model_similarity"]


# ------------------------------------------------------------------ code


@dataclass
class CodeSide:
    """One submission's code, fingerprinted (every code file of the assignment, in the manifest's order)."""

    name: str
    text: str
    fingerprint: object  # copydetect.CodeFingerprint


def code_files(files: tuple[str, ...]) -> list[str]:
    """The assignment's files that are code (compared), in the manifest's order."""
    return [name for name in files if Path(name).suffix in CODE_SUFFIXES]


def released_stub(assignment) -> list[str]:
    """The released stub of each code file of ``assignment``: given code, which never counts as copied.

    Read from ``assignments/<name>/``; where that is not generated yet, made from the solution the
    way ``kit assign`` makes it (solution regions replaced by their hints).
    """
    from kit.assign import strip_solutions

    texts = []
    for name in code_files(assignment.files):
        released, solution = assignment.student_dir / name, assignment.solution_dir / name
        if released.is_file():
            texts.append(released.read_text(encoding="utf-8", errors="replace"))
        elif solution.is_file():
            texts.append(strip_solutions(solution.read_text(encoding="utf-8"), str(solution)))
    return texts


def _read_code(folder: Path, names: list[str]) -> str:
    parts = []
    for name in names:
        path = folder / name
        if path.is_file() and not path.is_symlink():
            parts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(parts)


def boilerplate_hashes(texts: list[str]) -> np.ndarray:
    """Every fingerprint of the given code (the released stub): removed from each submission before comparing."""
    from copydetect import CodeFingerprint

    hashes = []
    for text in texts:
        if text.strip():
            hashes.extend(CodeFingerprint("boilerplate.py", NOISE_TOKENS, 1, fp=io.StringIO(text)).hashes)
    return np.unique(np.array(hashes, dtype=np.int64))


def fingerprint(name: str, text: str, boilerplate: np.ndarray) -> CodeSide:
    from copydetect import CodeFingerprint

    window = GUARANTEE_TOKENS - NOISE_TOKENS + 1
    return CodeSide(name, text, CodeFingerprint(f"{name}.py", NOISE_TOKENS, window, boilerplate, fp=io.StringIO(text)))


def compare_code(a: CodeSide, b: CodeSide) -> tuple[float, float, float, tuple]:
    """(score, share of a in b, share of b in a, matching character spans in each raw text)."""
    from copydetect import compare_files

    _, (a_in_b, b_in_a), slices = compare_files(a.fingerprint, b.fingerprint)
    a_in_b, b_in_a = float(np.nan_to_num(a_in_b)), float(np.nan_to_num(b_in_a))
    return max(a_in_b, b_in_a), a_in_b, b_in_a, slices


# ------------------------------------------------------------------ models


@dataclass
class ModelWeights:
    """A model file's weights as data: its architecture's shapes, a digest, and a sample for correlations."""

    shapes: tuple = ()
    digest: str = ""
    sample: np.ndarray | None = None  # unit vector: the standardised weights at positions drawn per architecture
    problem: str = ""


def read_weights(path: str | os.PathLike) -> ModelWeights:
    """The weights of a ``.keras`` file, read from its ``model.weights.h5`` (h5py; no Keras, no code run).

    Runs in a child process (``read_all_weights``): HDF5 is native code reading a student's file.
    """
    import h5py

    path = Path(path)
    try:
        if path.is_symlink() or not path.is_file():
            return ModelWeights(problem=f"{path.name} is not a regular file")
        if path.stat().st_size > MAX_MODEL_BYTES:
            return ModelWeights(problem=f"{path.name} is larger than {MAX_MODEL_BYTES >> 20} MB")
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("model.weights.h5")
            if info.file_size > MAX_MODEL_BYTES or info.file_size > 200 * max(info.compress_size, 1) + (1 << 20):
                return ModelWeights(problem=f"{path.name}'s weights expand too far (a zip bomb?)")
            payload = archive.read(info)
        tensors = []
        with h5py.File(io.BytesIO(payload), "r") as weights:

            def visit(name, item):
                if isinstance(item, h5py.Dataset) and not name.startswith("optimizer"):
                    tensors.append((name, np.asarray(item[()], dtype=np.float32)))

            weights.visititems(visit)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, RuntimeError, TypeError) as error:
        return ModelWeights(problem=f"{path.name}'s weights could not be read ({type(error).__name__}: {error})")
    tensors.sort(key=lambda item: item[0])  # Keras 3 names the paths by layer class and position, not by layer name
    shapes = tuple(tuple(int(n) for n in t.shape) for _, t in tensors)
    digest = hashlib.sha256()
    parts = []
    for _, tensor in tensors:
        digest.update(str(tensor.shape).encode() + tensor.tobytes())
        spread = float(tensor.std()) if tensor.size else 0.0
        parts.append(((tensor - tensor.mean()) / spread if spread > 0 else np.zeros_like(tensor)).reshape(-1))
    standardized = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    seed = int(hashlib.sha256(repr(shapes).encode()).hexdigest()[:8], 16)  # the same positions for one architecture
    size = standardized.size
    positions = np.sort(np.random.default_rng(seed).choice(size, size=min(size, SAMPLE_POSITIONS), replace=False))
    sample = standardized[positions].astype(np.float64)
    norm = np.linalg.norm(sample)
    return ModelWeights(shapes, digest.hexdigest(), sample / norm if norm > 0 else sample)


def _reader_main(out_dir: str, paths: list[str]) -> None:
    """The child of ``read_all_weights``: each model's result as ``<i>.json`` and ``<i>.npz``, as soon as read."""
    out = Path(out_dir)
    for index, path in enumerate(paths):
        model = read_weights(path)
        if model.sample is not None:
            np.savez(out / f"{index}.npz", sample=model.sample)
        record = {"shapes": [list(s) for s in model.shapes], "digest": model.digest, "problem": model.problem}
        (out / f"{index}.json.tmp").write_text(json.dumps(record))
        (out / f"{index}.json.tmp").replace(out / f"{index}.json")


def read_all_weights(paths: list[Path], *, timeout: float = 600.0) -> dict[Path, ModelWeights]:
    """``read_weights`` of each file, in a child process; a file that kills the child gets a problem, not a crash."""
    found: dict[Path, ModelWeights] = {}
    pending = list(paths)
    code = "import sys; from kit.grading.similarity import _reader_main; _reader_main(sys.argv[1], sys.argv[2:])"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    while pending:
        with scratch("kit-weights-") as folder:
            command = [sys.executable, "-c", code, str(folder), *map(str, pending)]
            try:
                subprocess.run(command, env=environment, timeout=timeout, capture_output=True, check=False)
            except subprocess.TimeoutExpired:
                pass
            done = 0
            for index, path in enumerate(pending):
                record_path = folder / f"{index}.json"
                if not record_path.is_file():
                    break
                record = json.loads(record_path.read_text())
                sample = None
                if (folder / f"{index}.npz").is_file():
                    with np.load(folder / f"{index}.npz", allow_pickle=False) as arrays:
                        sample = arrays["sample"]
                shapes = tuple(tuple(s) for s in record["shapes"])
                found[path] = ModelWeights(shapes, record["digest"], sample, record["problem"])
                done += 1
            pending = pending[done:]
            if pending:  # the reader died (or hung) on this one
                found[pending.pop(0)] = ModelWeights(problem="reading its weights ended the reader process")
    return found


def compare_models(a: ModelWeights, b: ModelWeights) -> tuple[float, str]:
    """(score in 0..1, a few words on why) for two readable models."""
    if a.shapes != b.shapes:
        return 0.0, "different architectures"
    if a.digest == b.digest:
        return 1.0, "identical weights"
    if a.sample is None or b.sample is None or not a.sample.size:
        return 0.0, "no weights"
    correlation = float(np.dot(a.sample, b.sample))
    return float(np.clip(correlation, 0.0, 1.0)), f"same architecture, weight correlation {correlation:.3f}"


# ------------------------------------------------------------------ the class


@dataclass
class PairResult:
    a: str
    b: str
    code: float
    a_in_b: float
    b_in_a: float
    model: float | None
    model_note: str = ""
    slices: tuple = ()

    @property
    def flagged(self) -> bool:
        return self.code >= CODE_THRESHOLD or (self.model is not None and self.model >= MODEL_THRESHOLD)

    @property
    def rank(self) -> float:
        return max(self.code, self.model or 0.0)


@dataclass
class SimilarityReport:
    pairs: list[PairResult]
    sides: dict[str, CodeSide]
    problems: list[str] = field(default_factory=list)

    def table(self):
        import pandas as pd

        rows = [
            {
                "student_a": p.a,
                "student_b": p.b,
                "code_similarity": round(p.code, 4),
                "model_similarity": np.nan if p.model is None else round(p.model, 4),  # an empty cell
            }
            for p in self.pairs
        ]
        return pd.DataFrame(rows, columns=COLUMNS)

    @property
    def flagged(self) -> list[PairResult]:
        return [p for p in self.pairs if p.flagged]


def _side_name(klass: ClassSubmissions, submission: Submission) -> str:
    return "+".join(s.student for s in klass.students if s.submission is submission)


def compare_class(klass: ClassSubmissions, files: tuple[str, ...], boilerplate: list[str] = ()) -> SimilarityReport:
    """Every pair of the class's submissions: code (stub fingerprints removed) and models; ranked, highest first.

    ``files``: the assignment's files (its manifest); ``boilerplate``: the text of code whose
    fingerprints never count (``released_stub``, and any code handed out with it).
    """
    code_names = code_files(files)
    model_names = [name for name in files if Path(name).suffix in MODEL_SUFFIXES]
    stub = boilerplate_hashes(list(boilerplate))
    submissions = [s for s in klass.submissions() if not s.problem]
    names = {s.id: _side_name(klass, s) for s in submissions}
    sides = {names[s.id]: fingerprint(names[s.id], _read_code(s.folder, code_names), stub) for s in submissions}
    problems: list[str] = []
    models: dict[str, ModelWeights] = {}
    if model_names:
        files_by_side = {
            names[s.id]: s.folder / model_names[0] for s in submissions if (s.folder / model_names[0]).is_file()
        }
        read = read_all_weights(list(files_by_side.values()))
        for side, path in files_by_side.items():
            if read[path].problem:
                problems.append(f"{side}: {read[path].problem}; its model was not compared.")
            else:
                models[side] = read[path]
    ordered = sorted(sides)
    pairs = []
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            code, a_in_b, b_in_a, slices = compare_code(sides[a], sides[b])
            model, note = None, ""
            if a in models and b in models:
                model, note = compare_models(models[a], models[b])
            pairs.append(PairResult(a, b, code, a_in_b, b_in_a, model, note, slices))
    pairs.sort(key=lambda p: (-p.rank, p.a, p.b))
    return SimilarityReport(pairs, sides, problems)


def write_similarity(report: SimilarityReport, out_dir: str | os.PathLike, *, title: str = "", top: int = 20) -> Path:
    """``similarity.csv`` (every pair) and ``similarity.html`` (the top pairs side by side); return the html path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "similarity.csv", report.table().to_csv(index=False))
    shown = report.pairs[: max(top, len(report.flagged))]
    return write_text(out_dir / "similarity.html", _html(report, shown, title))


def _marked(text: str, slices, css: str, limit: int = EXCERPT_CHARS) -> str:
    """One side of a pair, its matching code marked; a file longer than ``limit`` shows its first ``limit``
    characters and says how much is left out (one huge submission must not make a huge page)."""
    from copydetect.utils import highlight_overlap

    shown = text[:limit]
    note = ""
    if len(text) > limit:
        note = f"\n\n[... {len(text) - limit:,} more characters not shown: read the file in the submission]"
    slices = None if slices is None else np.asarray(slices)
    if slices is not None and slices.size:
        keep = slices[0] < len(shown)
        slices = np.stack([slices[0][keep], np.minimum(slices[1][keep], len(shown))])
    if slices is None or slices.size == 0:
        return html.escape(shown) + html.escape(note)
    marked, _ = highlight_overlap(shown, slices, f"<mark class='{css}'>", "</mark>", escape_html=True)
    return marked + html.escape(note)


def _html(report: SimilarityReport, shown: list[PairResult], title: str) -> str:
    def score(value):
        return "" if value is None else f"{value:.2f}"

    rows = "".join(
        f"<tr class='{'flag' if p.flagged else ''}'><td><a href='#pair{n}'>{html.escape(p.a)}</a></td>"
        f"<td>{html.escape(p.b)}</td><td>{score(p.code)}</td><td>{score(p.model)}</td>"
        f"<td>{html.escape(p.model_note)}</td></tr>"
        for n, p in enumerate(shown)
    )
    sections = []
    for n, p in enumerate(shown):
        slices = p.slices if len(p.slices) == 2 else (None, None)
        left = _marked(report.sides[p.a].text, slices[0], "a")
        right = _marked(report.sides[p.b].text, slices[1], "b")
        model = f"; model {score(p.model)} ({html.escape(p.model_note)})" if p.model is not None else ""
        sections.append(
            f"<h2 id='pair{n}'>{html.escape(p.a)} &harr; {html.escape(p.b)}</h2>"
            f"<p>code {score(p.code)}: {p.a_in_b:.0%} of {html.escape(p.a)}'s tokens found in {html.escape(p.b)}'s, "
            f"{p.b_in_a:.0%} the other way{model}</p>"
            f"<div class='pair'><pre>{left}</pre><pre>{right}</pre></div>"
        )
    problems = "".join(f"<li>{html.escape(problem)}</li>" for problem in report.problems)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Similarity {html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 2px 8px; }}
tr.flag {{ background: #fde2e2; }}
.pair {{ display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }}
pre {{ font-size: 11px; background: #f7f7f7; padding: 6px; overflow-x: auto; white-space: pre-wrap; }}
mark.a {{ background: #f8b4b4; }} mark.b {{ background: #b4e3b4; }}
</style></head><body>
<h1>Similarity {html.escape(title)}</h1>
<p>{len(report.pairs)} pairs compared; {len(report.flagged)} at or above the thresholds (code {CODE_THRESHOLD},
model {MODEL_THRESHOLD}; highlighted). The released stub never counts. A high score is a reason to look, not a
verdict: read both sides. Every pair's scores: similarity.csv.</p>
<table><tr><th>student a</th><th>student b</th><th>code</th><th>model</th><th>model note</th></tr>{rows}</table>
{"<h2>Not compared</h2><ul>" + problems + "</ul>" if problems else ""}
{"".join(sections)}
</body></html>
"""
