"""The Markdown skeleton of a generated register-map document.

``docs/register-map.md`` (:mod:`presshil.maps.press_v1_doc`) and
``docs/plant-map.md`` (:mod:`presshil.plant.codegen`) are the same document around
different tables: a header, the input registers, the holding registers, the rules the
device enforces. Each generator says how its rows read (address notation, *ext* marks,
array types); this module lays them out. Tests compare the committed files byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable

#: the columns of every register table in the documents
COLUMNS = ("addr", "name", "type", "access", "unit", "meaning")
INPUT_TITLE = "## Input registers (FC04, read-only)"
HOLDING_TITLE = "## Holding registers (FC03, FC06, FC16, FC23)"


def markdown_table(rows: Iterable[tuple[str, str, str, str, str, str]]) -> list[str]:
    """The lines of a register table: header, rule, one line per row."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_map_doc(
    header: str, input_table: list[str], holding_table: list[str], rules: str
) -> str:
    """The whole document: ``header``, both tables under their titles, then ``rules``."""
    parts = [header, INPUT_TITLE, "", *input_table, ""]
    parts += [HOLDING_TITLE, "", *holding_table, ""]
    parts.append(rules.lstrip("\n"))
    return "\n".join(parts).rstrip("\n") + "\n"


__all__ = ["COLUMNS", "HOLDING_TITLE", "INPUT_TITLE", "markdown_table", "render_map_doc"]
