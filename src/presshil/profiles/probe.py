"""``presshil probe URL``: what an engineer does first with a new press.

Connects, reads the identity and every signal once (twice, to see counters move), and
prints one row per signal: where it is read, the raw device number, the converted value with
its unit, and whether it is plausible — negative or above the rating, a float that decodes
to 1e38 or NaN because the word order is wrong, a counter that does not advance. Then the
capabilities found. ``--watch`` refreshes the table until Ctrl-C (or ``--count`` times).

Exit codes: 0 read, 2 bad input (URL, profile), 3 the press could not be reached or read.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..press import Press, Sample, Status

#: a float beyond this is a wrong word order, not a measurement
ABSURD = 1e30
#: a float this small but not zero is two words in the wrong order, not a measurement
TINY = 1e-30


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the probe table."""

    signal: str
    source: str
    raw: str
    value: str
    verdict: str  # "ok" or what looks wrong


def _fmt(x: object) -> str:
    if isinstance(x, tuple):
        return ", ".join(_fmt(v) for v in x)
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def _plausible(name: str, values: tuple[float, ...], press: Press, prev: object, now: object) -> str:
    ident = press.identity
    for x in values:
        if math.isnan(x) or math.isinf(x):
            return f"decodes to {x}: wrong data_type or word_order?"
        if abs(x) > ABSURD:
            return f"decodes to {x:.3g}: wrong word_order?"
    x = values[0] if values else 0.0
    if name in ("force", "channel_force"):
        rated = ident.rated_max_force_kn
        if any(v < -0.02 * rated for v in values):
            return "negative: wrong sign, offset or tare?"
        if any(v > 1.05 * rated for v in values):
            return f"above the rating ({rated:g} kN): wrong scale or unit?"
    if name == "pressure":
        rated = ident.rated_max_pressure_mpa
        if x < -0.02 * rated:
            return "negative: wrong sign or offset?"
        if x > 1.05 * rated:
            return f"above the rating ({rated:g} MPa): wrong scale or unit?"
    if name == "oil_pressure" and x < -1.0:
        return "negative: wrong sign or offset?"
    if name == "counter" and prev is not None and prev == now:
        return "does not advance: stale data, or not a counter?"
    return "ok"


def probe_rows(press: Press, pause_s: float = 0.25) -> list[Row]:
    """Read every signal twice (``pause_s`` apart) and judge each."""
    read_values: Callable | None = getattr(press, "read_values", None)
    if read_values is None:  # a binding without a profile: the Sample's fields
        first = press.read()
        time.sleep(pause_s)
        second = press.read()
        return _sample_rows(press, first, second)
    errors: dict[str, str] = {}
    try:
        raw0, _ = read_values(errors)
        time.sleep(pause_s)
        raw, values = read_values(errors)
    except TypeError:  # a transport without per-signal error reporting
        raw0, _ = read_values()
        time.sleep(pause_s)
        raw, values = read_values()
    converters = press.map.converters  # type: ignore[attr-defined]
    rows = [Row(n, press.source(n), "-", "-", e) for n, e in errors.items()]  # type: ignore[attr-defined]
    for name, value in values.items():
        unit = converters[name].unit.name
        items = value if isinstance(value, tuple) else (value,)
        shown_unit = {"pressure": "MPa", "force": "kN"}.get(unit and converters[name].unit.dimension, "")
        if name == "status":
            text = Status.describe(press.map.status(int(raw[name]), 0.0))  # type: ignore[attr-defined]
        elif name in ("fault_code",):
            text = press.describe_fault(int(raw[name])) if raw[name] else "none"  # type: ignore[attr-defined]
        else:
            device = tuple(converters[name].unit.from_canonical(v) for v in items)
            text = f"{_fmt(device if len(device) > 1 else device[0])} {unit}".strip()
            if shown_unit and shown_unit != unit:
                text += f" = {_fmt(value)} {shown_unit}"
        verdict = _plausible(name, tuple(float(v) for v in items), press, raw0.get(name), raw.get(name))
        sig = press.profile.signals[name]  # type: ignore[attr-defined]
        raws = raw[name] if isinstance(raw[name], tuple) else (raw[name],)
        if verdict == "ok" and sig.data_type.startswith("float"):
            tiny = [r for r in raws if 0 < abs(float(r)) < TINY]
            if tiny:
                verdict = f"decodes to {float(tiny[0]):.3g}: wrong word_order?"
        rows.append(Row(name, press.source(name), _fmt(raw[name]), text, verdict))  # type: ignore[attr-defined]
    return rows


def _sample_rows(press: Press, first: Sample, s: Sample) -> list[Row]:
    where = press.url.split("://", 1)[0]
    fields = [
        ("status", float(s.status), Status.describe(s.status)),
        ("fault_code", float(s.fault_code), str(s.fault_code)),
        ("counter", float(s.counter), str(s.counter)),
        ("pressure", s.pressure_mpa, f"{s.pressure_mpa:.6g} MPa"),
        ("force", s.force_kn, f"{s.force_kn:.6g} kN"),
        ("position", s.position_mm, f"{s.position_mm:.6g} mm"),
        ("setpoint", s.setpoint_mpa, f"{s.setpoint_mpa:.6g} MPa"),
        ("channel_force", s.channels_kn, f"{_fmt(s.channels_kn)} kN"),
    ]
    rows = []
    for name, value, text in fields:
        items = value if isinstance(value, tuple) else (value,)
        prev = first.counter if name == "counter" else None
        now = s.counter if name == "counter" else None
        verdict = _plausible(name, tuple(items), press, prev, now)
        rows.append(Row(name, f"{where} state", _fmt(value), text, verdict))
    return rows


def render(press: Press, rows: list[Row]) -> Group:
    """The identity, the signal table and the capabilities, for the terminal."""
    ident = press.identity
    die_mm2 = getattr(press, "_die_mm2", None)
    if die_mm2 is not None:  # no die is configured on a probe: say which one the figure assumes
        die = f"on a {2.0 * math.sqrt(die_mm2 / math.pi):.3g} mm die (assumed; a run uses the protocol's die)"
    else:
        die = "on the present die"
    head = Text(
        f"{ident}\nrated {ident.rated_max_force_kn:g} kN, {ident.rated_max_pressure_mpa:.4g} MPa "
        f"{die}; {ident.channel_count} channel(s)"
    )
    # the title as its own line: a table's title is padded to the table's width (trailing
    # spaces in a piped or logged copy)
    title = Text(f"probe {press.url}", style="italic")
    table = Table()
    for col in ("signal", "source", "raw", "converted", "plausible"):
        table.add_column(col)
    for r in rows:
        style = "" if r.verdict == "ok" else "bold red"
        table.add_row(r.signal, r.source, r.raw, r.value, Text(r.verdict, style=style))
    caps = press.capabilities
    found = [n for n in ("regulates", "channels", "positions", "counter", "watchdog", "latched_stop") if getattr(caps, n)]
    lines = [f"capabilities: {', '.join(found) or 'none'}"]
    lines += [f"not judged on this press: {t}" for t in caps.not_judged()]
    plan = getattr(press, "write_plan", None)
    if callable(plan):  # which function code each command goes out with
        lines += ["writes: " + "; ".join(f"{name} {how}" for name, how in plan())]
    return Group(head, title, table, Text("\n".join(lines)))


def print_plain(console: Console, group: Group) -> None:
    """``group`` for a pipe or a log: text lines never broken (a reader greps them), the table
    at its natural width instead of folded into 80 columns."""
    for part in group.renderables:
        if isinstance(part, Text):
            console.print(part, soft_wrap=True, highlight=False)
        else:
            natural = console.measure(part, options=console.options.update_width(1000)).maximum
            # a console of that width on the same stream (print's width= can only narrow)
            wide = Console(file=console.file, width=max(console.width, natural),
                           force_terminal=False, no_color=console.no_color)
            wide.print(part, crop=False)


def probe_main(url: str, *, watch: bool = False, count: int = 0, interval_s: float = 0.5, console: Console | None = None) -> int:
    """Probe ``url``; returns 0, or raises presshil errors the CLI maps to 2/3."""
    from ..urls import open_press

    console = console or Console()
    press = open_press(url)
    try:
        if not watch:
            shown = render(press, probe_rows(press))
            if console.is_terminal:
                console.print(shown)
            else:
                print_plain(console, shown)
            return 0
        from rich.live import Live

        done = 0
        with Live(console=console, auto_refresh=False) as live:
            try:
                while count <= 0 or done < count:
                    live.update(render(press, probe_rows(press, pause_s=interval_s)), refresh=True)
                    done += 1
            except KeyboardInterrupt:
                pass
        return 0
    finally:
        press.close()


__all__ = ["Row", "print_plain", "probe_main", "probe_rows", "render"]
