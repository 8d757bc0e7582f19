"""Run reports, in one place: a JSON summary, a PNG of pressure against time, and the HTML
report of a stored run.

Where files go when nobody says: beside the results store (``results/run-7.html`` for
``results/presshil.sqlite``), never the current directory (:func:`default_path`).

The plot shows the measured pressure, the active setpoint and the tolerance band of every
hold step that has one; below it each load-cell channel's deviation from the mean channel in
% (an imbalance shows, and no channel hides under the pressure line); then pressure minus
setpoint.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .steps import behaviour, setpoint_before

if TYPE_CHECKING:
    from .runner import RunResult
    from .store import Store

#: above this many samples the plot draws a min/max envelope per pixel column instead
MAX_PLOT_POINTS = 20_000


def summary(result: RunResult) -> dict:
    """The JSON-ready summary of a run."""
    proto = result.protocol
    ident = result.identity
    return {
        "run_id": result.run_id,
        "status": result.status,
        "passed": result.passed,
        "exit_code": result.exit_code,
        "abort_reason": result.abort_reason,
        "protocol": {"name": proto.name, "source": proto.source, "sha256": proto.sha256},
        "press": {"url": result.press_url, **asdict(ident)},
        "steps": [asdict(s) for s in result.steps],
        "verdicts": [asdict(v) for v in result.verdicts],
        "events": [asdict(e) for e in result.events],
        "gaps": [
            {"t_start_s": g.t_start_s, "t_end_s": g.t_end_s, "length_s": g.length_s}
            for g in result.gaps
        ],
        "jitter_ms": asdict(result.jitter) if result.jitter else None,
    }


def without_float_noise(obj: Any) -> Any:
    """``obj`` with every float rounded to 12 significant digits: 0.059887979, not
    0.05988797899999554 (arithmetic noise far below any sensor, which the CSV export, stored
    to 9 decimals, does not show either)."""
    if isinstance(obj, float):
        return float(f"{obj:.12g}") if math.isfinite(obj) else obj
    if isinstance(obj, dict):
        return {k: without_float_noise(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [without_float_noise(v) for v in obj]
    return obj


def _envelope(t: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Min/max envelope of ``y`` over ``buckets`` equal slices (keeps spikes visible)."""
    edges = np.linspace(0, len(t), buckets + 1).astype(int)
    tt, yy = [], []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if b <= a:
            continue
        seg = y[a:b]
        i_min, i_max = int(np.argmin(seg)), int(np.argmax(seg))
        for i in sorted((i_min, i_max)):
            tt.append(t[a + i])
            yy.append(seg[i])
    return np.asarray(tt), np.asarray(yy)


#: channel colours: none of them black or red (pressure and setpoint)
CHANNEL_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink",
                   "tab:cyan", "tab:olive")
#: channel shares are drawn only while the press carries at least this fraction of its peak force
SHARE_MIN_FRACTION = 0.05
#: tick spacings of a time axis in h:mm:ss, seconds
_TIME_STEPS_S = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def _time_axis(ax: Any, total_s: float) -> str:
    """Seconds up to 10 minutes; beyond, ticks on whole minutes or hours labelled h:mm:ss.
    Returns the axis label."""
    if total_s <= 600:
        return "run time (s)"
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    from .cliview import fmt_time

    step = next((s for s in _TIME_STEPS_S if total_s / s <= 8), _TIME_STEPS_S[-1])
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: fmt_time(x)))
    return "run time (h:mm:ss)"


def plot_run(result: RunResult, path: Path) -> Path:
    """Write the plot of ``result`` to ``path`` (PNG): pressure with setpoint and tolerance
    bands; each load-cell channel's deviation from the mean channel (%), in its own colour, so
    an imbalance shows and no channel hides under the pressure; pressure − setpoint. Step names
    stand above the plot, the legends beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trace = result.trace
    n_ch = trace.channels.shape[1] if trace.channels.ndim == 2 else 0
    t = np.asarray(trace.t, dtype=float)
    total_s = float(t[-1]) if len(t) else 0.0
    holes = result.gaps
    starts = np.asarray([g.t_start_s for g in holes])

    def draw(ax, y, **kw):
        tt, yy = t, np.asarray(y, dtype=float)
        if len(tt) > MAX_PLOT_POINTS:
            tt, yy = _envelope(tt, yy, MAX_PLOT_POINTS // 2)
        if len(starts):  # no line across a stretch without samples (the host was lost)
            cut = np.searchsorted(tt, starts, side="right")
            tt, yy = np.insert(tt, cut, starts), np.insert(yy, cut, np.nan)
        ax.plot(tt, yy, **kw)

    panels = 3 if n_ch else 2
    fig, axes = plt.subplots(panels, 1, figsize=(11, 9 if n_ch else 7.5), dpi=110, sharex=True,
                             gridspec_kw={"height_ratios": [3, 2, 2][:panels]})
    ax, ax_err = axes[0], axes[-1]
    draw(ax, trace.pressure, lw=1.3, color="black", label="pressure")
    draw(ax, trace.setpoint, lw=1.0, ls="--", color="tab:red", label="setpoint")
    if n_ch:
        ax_ch = axes[1]
        ch = np.asarray(trace.channels, dtype=float)
        mean = ch.mean(axis=1)
        loaded = mean >= SHARE_MIN_FRACTION * max(float(mean.max()), 1e-12)
        # a moving mean over 1 s or a thousandth of the run, whichever is longer: the load
        # cells' noise would otherwise paint one band over the other
        span_s = max(1.0, total_s / 1000.0)
        dt = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
        window = max(1, min(len(t), int(round(span_s / max(dt, 1e-9)))))
        kernel = np.ones(window) / window
        for k in range(n_ch):
            # deviation from the mean channel, % of it: 0 for a perfectly shared load
            share = (ch[:, k] - mean) / np.where(loaded, mean, 1.0) * 100.0
            share = np.where(loaded, np.convolve(share, kernel, mode="same"), np.nan)
            draw(ax_ch, share, lw=1.2, color=CHANNEL_COLOURS[k % len(CHANNEL_COLOURS)],
                 label=f"load cell {k + 1}")
        ax_ch.axhline(0.0, color="grey", lw=0.6)
        ax_ch.set_ylabel(f"load cell − mean of cells\n(%, {span_s:.0f} s mean)")
    labelled = False
    steps = result.protocol.steps
    for rec in result.steps:
        step = steps[rec.index]
        band = behaviour(step).band(step, setpoint_before(steps, rec.index))
        if band is not None:
            target, width = band
            settle = step.expect.get("settle_s", 0.0)
            span = [rec.t_start_s + settle, rec.t_end_s]
            ax.fill_between(span, target - width, target + width, color="tab:green", alpha=0.15,
                            label=None if labelled else "tolerance band")
            ax_err.fill_between(span, -width, width, color="tab:green", alpha=0.15,
                                label=None if labelled else "tolerance band")
            labelled = True
        for a in axes:
            a.axvline(rec.t_start_s, color="grey", lw=0.5, alpha=0.5)
    # step names above the plot, numbered as the command line numbers them, off the curves
    top = ax.secondary_xaxis("top")
    ticks: list[float] = []
    names: list[str] = []
    for r in result.steps:  # steps closer than 3 % of the run share one label
        if ticks and r.t_start_s - ticks[-1] < 0.03 * max(total_s, 1e-9):
            names[-1] += f", {r.index + 1} {r.name}"
        else:
            ticks.append(r.t_start_s)
            names.append(f"{r.index + 1} {r.name}")
    top.set_xticks(ticks, labels=names, fontsize=7, rotation=30, ha="left")
    top.tick_params(length=0)
    for k, g in enumerate(holes):
        for a in axes:
            a.axvspan(g.t_start_s, g.t_end_s, color="grey", alpha=0.2,
                      hatch="//", label=None if k or a is not ax else "no samples (host lost)")
    status = result.status.upper()
    ax.set_title(f"{result.protocol.name} on {result.identity.model}: {status}", pad=28)
    draw(ax_err, np.asarray(trace.pressure) - np.asarray(trace.setpoint), lw=0.8, color="black",
         label="pressure − setpoint")
    ax_err.axhline(0.0, color="tab:red", lw=0.8, ls="--")
    ax_err.set_xlabel(_time_axis(ax_err, total_s))
    ax_err.set_ylabel("error (MPa)")
    ax.set_ylabel("pressure (MPa)")
    for a in axes:
        a.grid(alpha=0.3)
        a.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_run_report(result: RunResult, directory: Path, *, html: bool = False) -> list[Path]:
    """Write ``run-ID.json`` and ``run-ID.png`` for ``result`` into ``directory`` (named after
    the protocol when the run was not stored); with ``html``, the stored run's HTML too."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"run-{result.run_id}" if result.run_id is not None else result.protocol.name
    json_path = directory / f"{stem}.json"
    json_path.write_text(json.dumps(without_float_noise(summary(result)), indent=2, default=float) + "\n")
    png_path = plot_run(result, directory / f"{stem}.png")
    paths = [json_path, png_path]
    store = result._store
    if html and store is not None and result.run_id is not None:
        paths.append(write_html_report(store, result.run_id, directory / f"{stem}.html"))
    return paths


def write_html_report(store: Store, run_id: int, path: Path) -> Path:
    """Write the self-contained HTML report of stored run ``run_id`` to ``path``."""
    from .acceptance.stored import render_stored_run

    html = render_stored_run(store, run_id)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def default_path(db: str | Path, run_id: int, suffix: str) -> Path:
    """Where a run's file goes when no output is given: ``run-ID.SUFFIX`` beside the store
    (``results/`` for a PostgreSQL store)."""
    from .store_url import store_folder

    return store_folder(db) / f"run-{run_id}.{suffix.lstrip('.')}"


__all__ = ["default_path", "plot_run", "summary", "write_html_report", "write_run_report"]
