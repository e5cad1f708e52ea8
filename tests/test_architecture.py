"""The package is layered and imports point downwards only (DEVELOPERS.md, Architecture)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "doseflow"

#: Layer rank of each top-level subpackage: a module may import only its own or lower ranks.
LAYERS: dict[str, int] = {
    "domain": 0,
    "data": 1,
    "allocation": 2,
    "ledger": 2,
    "logistics": 2,
    "deployment": 2,
    "reporting": 2,
    "impact": 2,
    "simulation": 2,
    "store": 3,
    "cli": 4,
    "service": 4,
}

#: Engines are peers; these are the only engine-to-engine imports allowed (no cycles).
ENGINE_DEPENDENCIES: dict[str, set[str]] = {
    "allocation": set(),
    "ledger": set(),
    "logistics": {"allocation", "ledger"},
    "deployment": {"allocation", "logistics", "ledger"},
    "reporting": {"ledger"},
    "impact": {"allocation"},
    "simulation": {"ledger", "logistics"},
}

#: The two interfaces never import each other: shared logic belongs lower down.
INTERFACES = {"cli", "service"}


def _subpackage(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "doseflow" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _violations() -> list[str]:
    problems: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) < 2:
            continue  # doseflow/__init__.py and top-level modules hold no logic
        own = rel.parts[0]
        if own not in LAYERS:
            problems.append(f"{rel}: subpackage '{own}' has no layer in LAYERS")
            continue
        for lineno, module in _imports(path):
            target = _subpackage(module)
            if target is None or target == own:
                continue
            if target not in LAYERS:
                continue  # doseflow.__version__ and the like
            where = f"{rel}:{lineno} imports {module}"
            if LAYERS[target] > LAYERS[own]:
                problems.append(f"{where}: upward import ({own} -> {target})")
            elif LAYERS[target] == LAYERS[own] == 2 and target not in ENGINE_DEPENDENCIES[own]:
                problems.append(f"{where}: engine import not in ENGINE_DEPENDENCIES")
            elif own in INTERFACES and target in INTERFACES:
                problems.append(f"{where}: interfaces must not import each other")
    return problems


def test_imports_point_downwards() -> None:
    problems = _violations()
    assert not problems, "\n".join(problems)


def test_engine_dependencies_have_no_cycle() -> None:
    seen: dict[str, int] = {}

    def visit(node: str, stack: tuple[str, ...]) -> None:
        if node in stack:
            pytest.fail(f"engine dependency cycle: {' -> '.join((*stack, node))}")
        for nxt in ENGINE_DEPENDENCIES[node]:
            visit(nxt, (*stack, node))
        seen[node] = 1

    for engine in ENGINE_DEPENDENCIES:
        visit(engine, ())


def test_checker_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "m.py"
    bad.write_text("from doseflow.cli.app import app\nimport doseflow.store.x\n")
    assert [m for _, m in _imports(bad)] == ["doseflow.cli.app", "doseflow.store.x"]
