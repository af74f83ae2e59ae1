"""The package's import graph keeps its shape: no circles, and each layer imports only what it may.

The graph is read with ``ast`` from the source files (absolute and relative imports, function-level
ones included), so an import deferred into a function to dodge a circle at load time still counts:
such an import hides a circle without removing it.

Rules (docs/architecture.md):
- no import circle anywhere in ``sm_magics``;
- ``sm_magics.local`` (the engine, a separate process) is imported only from inside ``local/``,
  ``cli.py`` and the client-side launcher; clients reach the engine over HTTP like AWS;
- ``workflow`` knows SageMaker, not IPython: it imports neither ``widgets`` nor ``magics``;
- ``widgets`` observe handles: they never import ``magics``;
- ``algorithms`` (the neutral facts about the built-in algorithms) imports no other layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "sm_magics"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

# Modules (or packages) allowed to import sm_magics.local from outside local/.
LOCAL_IMPORTERS = ("sm_magics.cli", "sm_magics.launcher")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in sorted(ROOT.rglob("*.py"))
        if "labextension" not in path.relative_to(ROOT).parts and "node_modules" not in path.parts
    }


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest known module that ``name`` names (``a.b.c`` may be a function of module ``a.b``)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    """Every module of the package -> the package modules it imports (anywhere in its body)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        package = name if is_package else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    if node.level > 1:
                        base = base[: len(base) - (node.level - 1)]
                    stem = ".".join(base + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                # `from x import y` imports submodule x.y when there is one, else a name defined in x.
                # (A parent package is imported before any of its modules; that implicit edge is
                # not drawn, or every package __init__ that imports its own modules would be a circle.)
                candidates = [
                    f"{stem}.{alias.name}" if _resolve(f"{stem}.{alias.name}", modules) == f"{stem}.{alias.name}" else stem
                    for alias in node.names
                ]
            else:
                continue
            for candidate in candidates:
                if candidate == PACKAGE or candidate.startswith(PACKAGE + "."):
                    target = _resolve(candidate, modules)
                    if target and target != name:
                        targets.add(target)
        graph[name] = targets
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as one cycle path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_path(graph, set(component)) for component in components]


def describe_cycles(graph: dict[str, set[str]]) -> list[str]:
    """One line per circle: a concrete path, and every module caught in the same knot."""
    lines = []
    for cycle in find_cycles(graph):
        knot = _knot(graph, cycle[0])
        extra = sorted(set(knot) - set(cycle))
        lines.append(" -> ".join(cycle) + (f"  (also in this knot: {', '.join(extra)})" if extra else ""))
    return lines


def _knot(graph: dict[str, set[str]], start: str) -> set[str]:
    """The modules that both reach ``start`` and are reached from it."""

    def reach(edges: dict[str, set[str]]) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reverse: dict[str, set[str]] = {}
    for source, targets in graph.items():
        for target in targets:
            reverse.setdefault(target, set()).add(source)
    return reach(graph) & reach(reverse)


def _cycle_path(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """One concrete circle through a component: a -> b -> ... -> a (breadth-first, shortest)."""
    start = min(component)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & component):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [start] + path[::-1][1:] + [start] if node != start else [start, start]
                if nxt not in parents:
                    parents[nxt] = node
                    following.append(nxt)
        frontier = following
    return sorted(component)


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    rules = []
    for source, targets in sorted(graph.items()):
        for target in sorted(targets):
            edge = f"{source} -> {target}"
            if _within(target, "sm_magics.local") and not _within(source, "sm_magics.local"):
                if not any(_within(source, allowed) for allowed in LOCAL_IMPORTERS):
                    rules.append(f"{edge}: only local/, cli.py and the launcher import the engine")
            if _within(source, "sm_magics.workflow") and (
                _within(target, "sm_magics.widgets") or _within(target, "sm_magics.magics")
            ):
                rules.append(f"{edge}: the workflow knows neither widgets nor magics")
            if _within(source, "sm_magics.widgets") and _within(target, "sm_magics.magics"):
                rules.append(f"{edge}: widgets observe handles, they do not import the magics")
            if _within(source, "sm_magics.algorithms") and not _within(target, "sm_magics.algorithms"):
                if not _within(target, "sm_magics.formats"):
                    rules.append(f"{edge}: the algorithm facts import no other layer")
    return rules


def test_the_graph_walker_sees_relative_and_deferred_imports() -> None:
    """The walker itself reads the package's modules with their edges, deferred imports included."""
    graph = import_graph()
    assert "sm_magics.cli" in graph and "sm_magics.local.engine" in graph
    # sm_magics/__init__ imports the magics only inside load_ipython_extension, relatively.
    assert "sm_magics.magics" in graph["sm_magics"]
    cyclic = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(cyclic) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle() -> None:
    cycles = describe_cycles(import_graph())
    assert not cycles, "import circles:\n" + "\n".join(cycles)


def test_layers_import_only_downwards() -> None:
    violations = layer_violations(import_graph())
    assert not violations, "imports against the layering:\n" + "\n".join(violations)


if __name__ == "__main__":  # a quick report of the graph's problems
    g = import_graph()
    for line in describe_cycles(g):
        print("CIRCLE", line)
    for line in layer_violations(g):
        print("EDGE", line)
    raise SystemExit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]) and 0)


def test_no_test_imports_a_conftest():
    """Fixtures come from pytest; shared helpers live in importable modules (tests/helpers.py, tests/browser/pages.py)."""
    import ast
    from pathlib import Path

    offenders = []
    for path in Path(__file__).resolve().parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(name.split(".")[-1] == "conftest" for name in names):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
