"""The breathing figure: pressure cycle by cycle beside the cycler's voltage and current.

Charge and discharge are read from the cycler's current (BDF sign: positive charges): a
charge is a run of rows with a positive current, a discharge one with a negative current,
and a cycle is a charge and the discharge after it. For each cycle: the stack pressure at the
start and end of its charge and of its discharge (the press record interpolated onto those
cycler rows; "—" where the press record has a gap there), its swing (largest minus smallest
pressure the press sampled during the cycle), and over the cycles the trend (least-squares
slope per cycle) of the swing and of the pressure at the end of charge.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..maps import bdf_columns as C
from .join import default_max_gap, interpolator


@dataclass(frozen=True)
class CycleRow:
    """One cycle's pressures, MPa (NaN where the press record has no value)."""

    cycle: int
    t_start_s: float
    charge_start_mpa: float
    charge_end_mpa: float
    discharge_start_mpa: float
    discharge_end_mpa: float
    swing_mpa: float


def _runs(sign: np.ndarray, value: int) -> list[tuple[int, int]]:
    """(first, last) row of each run of ``sign == value``."""
    on = np.concatenate([[False], sign == value, [False]])
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def cycle_table(cycler_unix_s: np.ndarray, current_a: np.ndarray, press_unix_s: np.ndarray,
                pressure_mpa: np.ndarray) -> list[CycleRow]:
    """The per-cycle pressures (see the module docstring)."""
    sign = np.sign(np.nan_to_num(current_a)).astype(int)
    charges, discharges = _runs(sign, 1), _runs(sign, -1)
    at = interpolator(press_unix_s, cycler_unix_s, default_max_gap(press_unix_s))
    p = at(pressure_mpa)
    rows = []
    for k, (c0, c1) in enumerate(charges):
        after = [d for d in discharges if d[0] > c1]
        d0, d1 = after[0] if after else (-1, -1)
        t_lo, t_hi = cycler_unix_s[c0], cycler_unix_s[d1 if d1 >= 0 else c1]
        sel = (press_unix_s >= t_lo) & (press_unix_s <= t_hi)
        seg = pressure_mpa[sel]
        swing = float(seg.max() - seg.min()) if seg.size else math.nan
        rows.append(CycleRow(k + 1, float(t_lo), float(p[c0]), float(p[c1]),
                             float(p[d0]) if d0 >= 0 else math.nan,
                             float(p[d1]) if d1 >= 0 else math.nan, swing))
    return rows


def trend_per_cycle(rows: list[CycleRow], attr: str) -> float:
    """Least-squares slope of ``attr`` against the cycle number (MPa/cycle); NaN below two
    cycles with a value."""
    x = np.array([r.cycle for r in rows], float)
    y = np.array([getattr(r, attr) for r in rows], float)
    ok = np.isfinite(y)
    if ok.sum() < 2:
        return math.nan
    return float(np.polyfit(x[ok], y[ok], 1)[0])


def figure_png(t0_unix: float, press_unix_s: np.ndarray, pressure_mpa: np.ndarray,
               cycler_unix_s: np.ndarray, voltage_v: np.ndarray | None, current_a: np.ndarray | None,
               rows: list[CycleRow], title: str) -> bytes:
    """Pressure, voltage and current on one time axis (hours of run time), and the pressure at
    the end of charge and discharge and the swing against the cycle number."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(9, 9), constrained_layout=True)
    grid = fig.add_gridspec(4, 1, height_ratios=[2, 1, 1, 1.6])
    ax_p = fig.add_subplot(grid[0])
    ax_v = fig.add_subplot(grid[1], sharex=ax_p)
    ax_i = fig.add_subplot(grid[2], sharex=ax_p)
    ax_c = fig.add_subplot(grid[3])
    ax_p.plot((press_unix_s - t0_unix) / 3600, pressure_mpa, lw=0.8, color="tab:blue")
    ax_p.set_ylabel("pressure (MPa)")
    ax_p.set_title(title)
    th = (cycler_unix_s - t0_unix) / 3600
    if voltage_v is not None:
        ax_v.plot(th, voltage_v, lw=0.8, color="tab:green")
    ax_v.set_ylabel("voltage (V)")
    if current_a is not None:
        ax_i.plot(th, current_a * 1e3, lw=0.8, color="tab:red")
    ax_i.set_ylabel("current (mA)")
    ax_i.set_xlabel("run time (h)")
    for ax in (ax_p, ax_v):
        ax.tick_params(labelbottom=False)
    n = [r.cycle for r in rows]
    ax_c.plot(n, [r.charge_end_mpa for r in rows], "o-", ms=3, label="end of charge")
    ax_c.plot(n, [r.discharge_end_mpa for r in rows], "s-", ms=3, label="end of discharge")
    ax_c.set_ylabel("pressure (MPa)")
    ax_c.set_xlabel("cycle")
    from matplotlib.ticker import MaxNLocator

    ax_c.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_s = ax_c.twinx()
    ax_s.bar(n, [r.swing_mpa for r in rows], alpha=0.25, color="grey", label="swing")
    ax_s.set_ylabel("swing (MPa)")
    ax_c.legend(loc="upper left", fontsize="small")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def cycler_section(store: Any, run_id: int, table: Any, offset_s: float) -> dict[str, Any]:
    """What the run report shows beside a cycler file: the figure and the per-cycle table."""
    import base64
    from datetime import datetime

    info = store.get_run(run_id)
    t0 = datetime.fromisoformat(info.started_utc).timestamp()
    trace = store.load_trace(run_id)
    press_unix = t0 + trace.t
    cyc_unix = table.unix_s + offset_s
    current = table.columns.get(C.CURRENT)
    rows = cycle_table(cyc_unix, current, press_unix, trace.pressure) if current is not None else []
    png = figure_png(t0, press_unix, trace.pressure, cyc_unix, table.columns.get(C.VOLTAGE),
                     current, rows, f"run {run_id}: {info.protocol_name} beside {table.source.name}")
    return {
        "file": str(table.source), "offset_s": offset_s, "png": png,
        "plot_png_base64": base64.b64encode(png).decode(),
        "cycles": [r.__dict__ for r in rows],
        "trend_swing_mpa_per_cycle": trend_per_cycle(rows, "swing_mpa"),
        "trend_charge_end_mpa_per_cycle": trend_per_cycle(rows, "charge_end_mpa"),
        "why_no_cycles": None if current is not None else "the cycler file has no 'Current / A'",
    }


__all__ = ["CycleRow", "cycle_table", "cycler_section", "figure_png", "trend_per_cycle"]
