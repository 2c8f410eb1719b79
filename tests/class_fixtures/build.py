"""The similarity test class, built from the released stub: independent solutions and a disguised copy.

``styles/*.py`` hold only the functions' bodies as five students would write them independently
(loops, vectorised numpy, pandas moments, one-hot products, histograms) and one copy of "loops"
with every variable renamed and its comments rewritten. A submission is the assignment's stub
with each ``raise NotImplementedError(...)`` replaced by the style's body, as a student fills it
in: the stub's docstrings and signatures stay, so the given code really is in every file. The
copy's functions are also put in another order. Models are trained by the tests, never committed.
"""

from __future__ import annotations

import ast
from pathlib import Path

STYLES_DIR = Path(__file__).resolve().parent / "styles"
INDEPENDENT = ("loops", "vectorised", "pandas_moments", "one_hot", "histogram")
COPY = "copied_from_loops"


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _body_start(function: ast.FunctionDef) -> int:
    """Line (1-based) of the first statement after the docstring."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        if isinstance(body[0].value.value, str) and len(body) > 1:
            return body[1].lineno
    return body[0].lineno


def fill_stub(stub: str, style: str, order: list[str] | None = None) -> str:
    """The stub with the style's function bodies in place; its other functions and imports added."""
    source = (STYLES_DIR / f"{style}.py").read_text()
    style_tree, stub_tree = ast.parse(source), ast.parse(stub)
    style_lines, lines = source.splitlines(), stub.splitlines()
    bodies = _functions(style_tree)
    stub_functions = _functions(stub_tree)
    for name, function in sorted(stub_functions.items(), key=lambda item: -item[1].lineno):
        if name not in bodies:
            continue
        mine = bodies[name]
        body = style_lines[_body_start(mine) - 1 : mine.end_lineno]
        lines[_body_start(function) - 1 : function.end_lineno] = body
    text = "\n".join(lines) + "\n"
    extra_imports = [
        ast.get_source_segment(source, node)
        for node in style_tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom)) and ast.get_source_segment(source, node) not in stub
    ]
    extras = [
        ast.get_source_segment(source, node)
        for node in style_tree.body
        if (isinstance(node, ast.FunctionDef) and node.name not in stub_functions) or isinstance(node, ast.Assign)
    ]
    if extra_imports:
        anchor = "from keras import layers\n"
        text = text.replace(anchor, anchor + "\n".join(extra_imports) + "\n")
    if extras:
        text += "\n\n" + "\n\n\n".join(extras) + "\n"
    return reorder(text, order) if order else text


def reorder(text: str, order: list[str]) -> str:
    """The module with its top-level functions in ``order`` (the others after them); section comments dropped."""
    tree = ast.parse(text)
    lines = text.splitlines()
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    first = min(node.lineno for node in functions)
    head = "\n".join(lines[: first - 1]).rstrip()
    head = "\n".join(line for line in head.splitlines() if not line.startswith("# ---"))
    blocks = {node.name: "\n".join(lines[node.lineno - 1 : node.end_lineno]) for node in functions}
    rest = [
        "\n".join(lines[node.lineno - 1 : node.end_lineno])
        for node in tree.body
        if not isinstance(node, ast.FunctionDef) and node.lineno > first
    ]
    names = [name for name in order if name in blocks] + [name for name in blocks if name not in order]
    return head + "\n\n\n" + "\n\n\n".join([*(blocks[name] for name in names), *rest]) + "\n"


def make_test_class(folder: Path, stub_path: Path) -> dict[str, Path]:
    """One submission folder per independent style and one for the copy; returns name -> folder."""
    stub = stub_path.read_text()
    made = {}
    for style in INDEPENDENT:
        made[style] = folder / style
        made[style].mkdir(parents=True, exist_ok=True)
        (made[style] / "homework.py").write_text(fill_stub(stub, style))
    order = list(reversed(list(_functions(ast.parse(stub)))))
    made["copy_of_loops"] = folder / "copy_of_loops"
    made["copy_of_loops"].mkdir(parents=True, exist_ok=True)
    (made["copy_of_loops"] / "homework.py").write_text(fill_stub(stub, COPY, order=order))
    return made


# ------------------------------------------------------------------ Gradescope's "Download Submissions" export


def metadata_yaml(records: dict[str, dict]) -> str:
    """``submission_metadata.yml`` as Gradescope writes it (Ruby-symbol keys with leading colons).

    ``records``: submission folder -> {"submitters": [(name, sid, email), ...], "created_at": "..."}.
    """
    lines = []
    for folder, record in records.items():
        lines.append(f"{folder}:")
        lines.append("  :submitters:")
        for name, sid, email in record["submitters"]:
            lines.append(f"  - :name: {name}")
            lines.append(f"    :sid: '{sid}'" if sid else "    :sid:")
            lines.append(f"    :email: {email}" if email else "    :email:")
        lines.append(f"  :created_at: {record.get('created_at', '2026-11-20 10:00:00.000000000 -08:00')}")
        lines.append(f"  :score: {record.get('score', 0.0)}")
        lines.append("  :status: processed")
        lines.append("  :results: !ruby/hash:ActiveSupport::HashWithIndifferentAccess")  # a Rails tag, read as data
        lines.append("    score: 0.0")
        lines.append("  :history: []")
    return "\n".join(lines) + "\n"


def write_export(root: Path, records: dict[str, dict], files: dict[str, dict[str, bytes | str]]) -> Path:
    """An unpacked export: ``root/assignment_1_export/`` with the metadata and one folder per submission."""
    export = root / "assignment_1_export"
    export.mkdir(parents=True, exist_ok=True)
    (export / "submission_metadata.yml").write_text(metadata_yaml(records))
    for folder, contents in files.items():
        (export / folder).mkdir(exist_ok=True)
        for name, content in contents.items():
            path = export / folder / name
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return export


def zip_folder(folder: Path, archive: Path, *, prefix: str = "", stored: bool = False) -> Path:
    """``folder``'s files into ``archive`` under ``prefix`` (as Gradescope's export zip holds them).

    ``stored``: no compression, so that a test can damage a file's bytes in place.
    """
    import zipfile

    compression = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(archive, "w", compression=compression) as out:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                out.write(path, prefix + path.relative_to(folder).as_posix())
    return archive
