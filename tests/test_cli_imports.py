"""The command-line modules import no cycle: each command module takes what commands share
from ``cli_common``, and only ``cli`` (which assembles the app) imports the commands.

Every import counts, a function-level one too (it is a cycle that only shows when the
function runs); each is resolved to the module it loads, read from the source with ``ast``.
"""

from __future__ import annotations

import pytest
from test_import_graph import import_edges, modules


def all_modules() -> set[str]:
    return set(modules())


def import_graph() -> dict[str, set[str]]:
    """Every presshil module and the presshil modules it imports anywhere in its body (the
    import-graph test's walk: function-level and relative imports resolved)."""
    graph: dict[str, set[str]] = {name: set() for name in modules()}
    for importer, imported in import_edges():
        if importer != imported:
            graph[importer].add(imported)
    return graph


def is_cli_module(name: str) -> bool:
    last = name.rpartition(".")[2]
    return (last.startswith("cli") or last.endswith("_cli") or last == "commands"
            or name == "presshil.sweep.command")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
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

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_cli_modules_are_found() -> None:
    cli = {m for m in all_modules() if is_cli_module(m)}
    assert {"presshil.cli", "presshil.cli_common", "presshil.resume_cli", "presshil.push_cli",
            "presshil.audit_cli", "presshil.profiles.commands", "presshil.acceptance.commands",
            "presshil.sweep.command"} <= cli


def test_function_level_imports_are_edges() -> None:
    graph = import_graph()
    assert "presshil.resume_cli" in graph["presshil.cli"]  # imported inside run_cmd
    assert "presshil.store_salvage" in graph["presshil.cli_common"]  # inside warn_damage


def test_no_import_cycle_goes_through_a_cli_module() -> None:
    through_cli = [c for c in cycles(import_graph()) if any(is_cli_module(m) for m in c)]
    assert through_cli == []


def test_no_command_module_imports_the_app() -> None:
    graph = import_graph()
    back = sorted(m for m, deps in graph.items() if "presshil.cli" in deps and m != "presshil.__main__")
    assert back == []


@pytest.mark.parametrize("edges, expected", [
    ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
])
def test_the_cycle_finder_finds_cycles(edges: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(edges) == expected
