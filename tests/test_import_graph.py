"""The package's import graph flows one way: core ← maps ← bindings / servers ← features ← commands.

Every module of ``src/presshil`` is read with :mod:`ast` (module-level imports, imports inside
functions and ``TYPE_CHECKING`` blocks alike; relative imports resolved) and given a layer by
:data:`LAYERS`, the same table as in docs/architecture.md. No import may go from a module to a
module of a higher layer. Bindings and servers are one rank but stay apart: neither imports
the other, but for the simulated press (:data:`SHARED_BINDINGS`) that the servers put behind
wires; what a client and a server of one map both need is the map (``presshil.maps``).
The edges still to be removed are listed (:data:`KNOWN_UPWARD`, :data:`KNOWN_SIDEWAYS`);
the lists only shrink. ``python3 tests/test_import_graph.py`` prints the offending edges.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

#: layer → its rank and the modules and packages in it (a package holds its submodules).
#: A module belongs to the layer of the longest prefix that names it; ``presshil`` itself and
#: every top-level module not named here are core.
LAYERS: dict[str, tuple[int, tuple[str, ...]]] = {
    "core": (0, ("presshil",)),
    "maps": (1, ("presshil.maps",)),
    "bindings": (2, ("presshil.transports", "presshil.profiles", "presshil.sim")),
    "servers": (
        2,
        (
            "presshil.serving",
            "presshil.device",
            "presshil.plant",
            "presshil.profiles.emulation",
            "presshil.profiles.ascii_emulation",
            "presshil.profiles.opcua_emulation",
            "presshil.profiles.opcua_server_security",
            "presshil.profiles.server",
            "presshil.profiles.opcua_lease",
            "presshil.profiles.opcua_log",
        ),
    ),
    "features": (
        3,
        (
            "presshil.acceptance",
            "presshil.battery",
            "presshil.sweep",
            "presshil.web",
            "presshil.report",
            "presshil.cliview",
            "presshil.testing",
            "presshil.fil",
        ),
    ),
    "commands": (
        4,
        (
            "presshil.__main__",
            "presshil.cli",
            "presshil.cli_help",
            "presshil.audit_cli",
            "presshil.push_cli",
            "presshil.resume_cli",
            "presshil.check",
            "presshil.pytest_plugin",
            "presshil.acceptance.commands",
            "presshil.sweep.command",
            "presshil.profiles.commands",
            "presshil.profiles.probe",
            "presshil.device.serve",
            "presshil.device.__main__",
            "presshil.plant.serve",
            "presshil.plant.__main__",
            "presshil.battery.join_cli",
            "presshil.web.serve_live",
        ),
    ),
}

#: upward imports that are known and still to be removed: (importer, imported). The goal is
#: an empty list; an edge that is no longer there must be taken off it.
KNOWN_UPWARD: set[tuple[str, str]] = set()

#: what bindings and servers may both import from the other side: the simulated press that
#: the servers put behind wires
SHARED_BINDINGS = ("presshil.sim",)

#: imports between a binding and a server that are known and still to be removed (same rules
#: as :data:`KNOWN_UPWARD`): what both need belongs in maps (or core)
KNOWN_SIDEWAYS: set[tuple[str, str]] = set()


def modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the package: dotted name → (file, is a package ``__init__``)."""
    out: dict[str, tuple[Path, bool]] = {}
    for path in sorted((SRC / "presshil").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


def _targets(
    name: str, is_pkg: bool, node: ast.Import | ast.ImportFrom, known: set[str]
) -> Iterator[str]:
    """The package modules ``node`` (in module ``name``) imports."""
    if isinstance(node, ast.Import):
        wanted = [alias.name for alias in node.names]
    else:
        if node.level:
            base = name.split(".") if is_pkg else name.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        # ``from pkg import sub`` imports the submodule when there is one
        wanted = [
            f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in known else prefix for a in node.names
        ]
    for target in wanted:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target.startswith("presshil") and target != name:
            yield target


def import_edges() -> set[tuple[str, str]]:
    """Every (importer, imported) pair within the package, at any depth of the module."""
    mods = modules()
    known = set(mods)
    edges: set[tuple[str, str]] = set()
    for name, (path, is_pkg) in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges.update((name, t) for t in _targets(name, is_pkg, node, known))
    return edges


def layer(module: str) -> str:
    """The layer of ``module``: that of the longest prefix :data:`LAYERS` names."""
    best, best_len = "core", 0
    for lay, (_, prefixes) in LAYERS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = lay, len(prefix)
    return best


def upward_edges() -> set[tuple[str, str]]:
    """The imports that go from a module to one of a higher layer."""
    rank = {lay: r for lay, (r, _) in LAYERS.items()}
    return {(a, b) for a, b in import_edges() if rank[layer(b)] > rank[layer(a)]}


def sideways_edges() -> set[tuple[str, str]]:
    """The imports between a binding and a server, but for :data:`SHARED_BINDINGS`."""
    return {
        (a, b)
        for a, b in import_edges()
        if {layer(a), layer(b)} == {"bindings", "servers"}
        and not any(b == p or b.startswith(p + ".") for p in SHARED_BINDINGS)
    }


def _describe(edges: set[tuple[str, str]]) -> str:
    return "\n".join(f"  {a} ({layer(a)}) -> {b} ({layer(b)})" for a, b in sorted(edges))


def test_no_import_goes_up_a_layer() -> None:
    new = upward_edges() - KNOWN_UPWARD
    assert not new, "imports that go up a layer (see docs/architecture.md):\n" + _describe(new)


def test_the_known_upward_imports_are_still_there() -> None:
    gone = KNOWN_UPWARD - upward_edges()
    assert not gone, "no longer upward, take them off KNOWN_UPWARD:\n" + _describe(gone)


def test_no_import_goes_between_a_binding_and_a_server() -> None:
    new = sideways_edges() - KNOWN_SIDEWAYS
    assert not new, "imports between a binding and a server:\n" + _describe(new)


def test_the_known_sideways_imports_are_still_there() -> None:
    gone = KNOWN_SIDEWAYS - sideways_edges()
    assert not gone, "no longer sideways, take them off KNOWN_SIDEWAYS:\n" + _describe(gone)


def test_every_layer_prefix_names_a_module() -> None:
    mods = set(modules())
    missing = [p for _, prefixes in LAYERS.values() for p in prefixes if p not in mods]
    assert not missing, f"LAYERS names modules that do not exist: {missing}"


def test_the_walk_sees_relative_function_level_and_type_checking_imports() -> None:
    edges = import_edges()
    # ``from .run_plan import ...`` at module level, ``from .store import ...`` under TYPE_CHECKING
    assert ("presshil.runner", "presshil.run_plan") in edges
    assert ("presshil.runner", "presshil.store") in edges
    # ``press`` reaches ``sampler`` only inside ``make_safe``
    assert ("presshil.press", "presshil.sampler") in edges
    # ``from .. import x`` of a subpackage's module resolves to the module
    assert ("presshil.cli", "presshil.cli_help") in edges


def test_a_module_takes_the_layer_of_its_longest_prefix() -> None:
    assert layer("presshil.runner") == "core"
    assert layer("presshil.maps.press_v1") == "maps"
    assert layer("presshil.profiles.base") == "bindings"
    assert layer("presshil.profiles.emulation") == "servers"
    assert layer("presshil.acceptance.core") == "features"
    assert layer("presshil.acceptance.commands") == "commands"


def test_the_layer_table_is_the_one_in_the_architecture_document() -> None:
    doc = (SRC.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for lay, (rank, prefixes) in LAYERS.items():
        row = next(
            (line for line in doc.splitlines() if line.startswith(f"| {rank} | {lay} |")), None
        )
        assert row is not None, f"docs/architecture.md has no row for layer {rank} {lay}"
        named = {p.strip(" `") for p in row.split("|")[3].split(",")}
        assert named == set(prefixes), (
            f"layer {lay}: document {sorted(named)}, test {sorted(prefixes)}"
        )


if __name__ == "__main__":  # print the edges that break the rules
    print(_describe(upward_edges()))
    print(len(upward_edges()), "upward")
    print(_describe(sideways_edges()))
    print(len(sideways_edges()), "sideways")
