"""The last lines of ``presshil accept``: why the press failed, and what to try next.

A new user's first ``presshil accept`` runs the standard suite (ISO 7500-1 class 1) on the
default simulated press, a class-2 press: FAILED is the honest answer. The summary's last
lines say which criteria decided it and name a press and a suite that pass, so the first
screen is not a dead end.
"""

from __future__ import annotations

from typing import Any

from .result import FAIL, FAILED

#: how many failed criteria are named before "and N more"
SHOWN = 6
#: a shipped simulated press that passes the standard (class 1) suite
CLASS_1_SIM = "sim://servo-electric-10t"


def _default_sim(press_url: str) -> bool:
    """The default simulated press (``sim://`` or its model's name), whatever the query."""
    from ..errors import PressURLError
    from ..urls import parse_press_url

    try:
        parsed = parse_press_url(press_url)
    except PressURLError:
        return False
    return parsed.is_simulated and parsed.target in ("", "auto-hydraulic-25t")


def closing_lines(result: Any, press_url: str, suite: str, required_class: str | None) -> list[str]:
    """What to print after the verdicts of a failed acceptance run (nothing when it passed
    or was aborted: an abort prints its own reason)."""
    if result.status != FAILED:
        return []
    from .document import fmt

    failed = [(s.title, c) for s in result.sections for c in s.criteria if c.status == FAIL]
    lines = [f"why it failed: {len(failed)} criteri{'on' if len(failed) == 1 else 'a'} outside the limit"]
    for title, c in failed[:SHOWN]:
        value = f"{fmt(c.value)} {c.unit}".strip()
        limit = f"{c.comparison} {fmt(c.limit)} {c.unit}".strip()
        lines.append(f"  {title.split(' (')[0]}: {c.name} is {value}, limit {limit}")
    if len(failed) > SHOWN:
        lines.append(f"  … and {len(failed) - SHOWN} more (listed above)")
    required = required_class
    got = result.iso_class
    if required and got and got != required:
        lines.append(f"the press verifies to ISO 7500-1 class {got}; suite '{result.suite_name}' asks for "
                     f"class {required} (required_class in its [force_verification])")
    if _default_sim(press_url):
        lines.append("this is the expected answer for the default simulated press (a class-2 press). "
                     f"To see a pass: presshil accept --press {CLASS_1_SIM}; to accept a class-2 press, "
                     f"copy protocols/acceptance/{suite if suite.isidentifier() else 'standard'}.toml, "
                     "set required_class = \"2\" and give the copy with --suite")
    else:
        lines.append("the HTML report (--report DIR) shows each test's data and plot; a press that does "
                     "not meet the class asked for needs adjusting or a suite with the class it is used at")
    return lines


__all__ = ["CLASS_1_SIM", "closing_lines"]
