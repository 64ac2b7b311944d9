"""The codebase keeps the shape docs/architecture.md describes: concept folders, no import
circle, every event kind from the one registry."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "chaos"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _import_graph() -> dict[str, set[str]]:
    """Module -> the chaos modules it imports at import time (imports inside functions are lazy by design)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.parse(path.read_text()).body:  # top level only
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chaos"):
                targets.add(node.module)
                targets.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.startswith("chaos"))
        with_parents = set()
        for t in targets:  # importing a.b.c runs a and a.b first
            parts = t.split(".")
            with_parents.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        graph[name] = {t for t in with_parents if t in modules and t != name and not name.startswith(t + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle():
    assert _cycles(_import_graph()) == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_top_level_holds_only_the_entry_points():
    """New modules go into a concept folder (docs/architecture.md, "where to add")."""
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert top == ["__init__", "cli", "errors", "nightly", "options", "pytest_plugin"], top


def test_every_recorded_event_kind_is_an_event():
    bare = [f"{p.relative_to(ROOT)}:{n}" for p in PACKAGE.rglob("*.py")
            for n, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"\.record\(f?[\"']", line)]
    assert bare == [], "record(Event.X), declared in chaos/run/events.py"


def test_both_process_kinds_are_a_process():
    """The stack and the faults drive a component's process the same way on either backend."""
    import inspect

    from chaos.host.procs import ManagedProcess
    from chaos.stack.backends.container import ContainerProcess
    from chaos.stack.base import Process

    wanted = {n for n, _ in inspect.getmembers(Process) if not n.startswith("_")}
    for kind in (ManagedProcess, ContainerProcess):
        have = {n for n, _ in inspect.getmembers(kind) if not n.startswith("_")}
        assert wanted - {"name", "log_path"} <= have, (kind.__name__, wanted - have)
