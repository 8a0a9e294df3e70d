"""The domain models (and the store) import one another one way only: no circle, even for types.

A circle that only `if TYPE_CHECKING:` closes still ties the modules together (neither can be
read, tested or moved without the other) and becomes an ImportError the day someone needs the
name at run time. Every import statement is read from the source with `ast`, wherever it is.
"""

from __future__ import annotations

import ast
from pathlib import Path

import commissioning.models

MODELS = Path(commissioning.models.__file__).parent


def _module_name(path: Path, root: Path, package: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module → the modules of `package` it imports (at the top, under TYPE_CHECKING, or inside
    a function alike)."""
    modules = {_module_name(p, root, package): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    base = name if is_package else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        base = base.rpartition(".")[0]
                    source = f"{base}.{node.module}" if node.module else base
                else:
                    source = node.module or ""
                edges.add(source)
                # `from package import submodule` imports the submodule too.
                edges.update(f"{source}.{alias.name}" for alias in node.names)
        graph[name] = {m for m in edges if m in modules and m != name}
    return graph


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None when the graph has none."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" once fully explored
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (circle := visit(target)):
                return circle
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (circle := visit(module)):
            return circle
    return None


def test_the_models_have_no_import_circle() -> None:
    graph = import_graph(MODELS, "commissioning.models")
    assert "commissioning.models.grant_checks" in graph["commissioning.models.scenario"]
    circle = find_circle(graph)
    assert circle is None, "import circle among the models: " + " → ".join(circle or [])


def test_the_store_has_no_import_circle() -> None:
    graph = import_graph(MODELS.parent / "store", "commissioning.store")
    assert "commissioning.store.sqlite_schema" in graph["commissioning.store.sqlite"]
    circle = find_circle(graph)
    assert circle is None, "import circle in the store: " + " → ".join(circle or [])


def test_a_circle_closed_only_for_type_checking_is_found(tmp_path: Path) -> None:
    """The check itself: the circle scenario.py and grant_checks.py used to make is caught."""
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "scenario.py").write_text("from pkg.grant_checks import grant_problems\n")
    type_checking_only = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
    (tmp_path / "grant_checks.py").write_text(
        type_checking_only + "    from .scenario import Scenario\n"
    )
    (tmp_path / "area.py").write_text("from pkg import scenario\n")
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.area"] == {"pkg", "pkg.scenario"}
    assert find_circle(graph) == ["pkg.scenario", "pkg.grant_checks", "pkg.scenario"]
    (tmp_path / "grant_checks.py").write_text("GrantedScenario = object\n")
    assert find_circle(import_graph(tmp_path, "pkg")) is None
