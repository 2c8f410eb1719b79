"""The kit's seams: no import cycle in kit/, one name per preset table, the CLI's choices in step."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parent.parent / "kit"


def _import_graph() -> dict[str, set[str]]:
    """kit module -> the kit modules it imports (anywhere in the file, lazily or not)."""
    modules = {}
    for path in KIT.rglob("*.py"):
        name = ".".join(path.relative_to(KIT.parent).with_suffix("").parts).removesuffix(".__init__")
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kit"):
                deps |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.Import):
                deps |= {alias.name for alias in node.names if alias.name.startswith("kit")}
        modules[name] = deps
    return {m: {d for d in deps if d in modules and d not in (m, "kit")} for m, deps in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    seen, stack = set(), []

    def visit(module):
        if module in stack:
            return stack[stack.index(module) :] + [module]
        if module in seen:
            return None
        seen.add(module)
        stack.append(module)
        for dep in sorted(graph[module]):
            found = visit(dep)
            if found:
                return found
        stack.pop()
        return None

    for module in sorted(graph):
        found = visit(module)
        if found:
            return found
    return None


def test_no_import_cycle_in_kit():
    graph = _import_graph()
    assert {"kit.runs", "kit.optimizers", "kit.train", "kit.callbacks"} <= set(graph)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_lower_modules_do_not_import_the_training_engine():
    graph = _import_graph()
    for module in ("kit.callbacks", "kit.optimizers", "kit.runs", "kit.evaluate", "kit.report", "kit.files"):
        assert "kit.train" not in graph[module], f"{module} imports kit.train"


@pytest.mark.backend_agnostic
def test_cli_preset_choices_are_the_train_presets():
    from kit import cli, train

    assert tuple(train.TRAIN_PRESETS) == cli.PRESET_NAMES  # an assignment's runner keeps presets of its own


def test_the_library_names_no_assignment_and_no_step_of_one():
    """DESIGN.md "the kit knows none of them": kit/ names no assignment, none of their steps, none of their functions.

    An assignment's name may stand in kit/data.py where it is also a data set's name; a rubric's
    function may stand where the kit defines that word itself (``confusion_matrix``, ``adam``).
    """
    import re

    from kit import assignments
    from kit.data import DATASETS
    from kit.grading import load_rubric

    kit_text = {path: path.read_text(encoding="utf-8") for path in KIT.rglob("*.py")}
    everything = "\n".join(kit_text.values())
    patterns = [r"(?i)\bhomework(?:'s)? steps?\b", r"\bStep \d+:", r"(?i)\bsteps? \d+ (?:of|in) the homework\b"]
    names = assignments.available()
    patterns += [rf"\b(?:solutions|assignments)/{name}\b|--assignment[ =]{name}\b" for name in names]
    patterns += [rf"\b{name}\b" for name in names if name not in DATASETS]
    functions = {check.function for name in names for check in load_rubric(name).checks if check.function}
    own = {f for f in functions if re.search(rf"(?:def |class )\b{f}\b|^\s+{f}:|\"{f}\"", everything, re.M)}
    patterns += [rf"\b{function}\b" for function in sorted(functions - own)]
    assert len(patterns) > 8 and {"build_cnn_sequential", "init_std"} <= functions - own
    found = [
        f"{path.relative_to(KIT.parent)}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0)!r}"
        for path, text in kit_text.items()
        for pattern in patterns
        for match in re.finditer(pattern, text)
        if not (match.group(0) in DATASETS and path.name == "data.py")
    ]
    assert not found, "the library names an assignment or its steps:\n" + "\n".join(found)
