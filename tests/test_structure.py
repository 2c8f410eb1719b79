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
def test_cli_preset_choices_are_the_train_presets(homework_runner):
    from kit import cli, train

    assert tuple(train.TRAIN_PRESETS) == cli.PRESET_NAMES == tuple(homework_runner.HOMEWORK_PRESETS)
