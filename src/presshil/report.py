"""Run reports, in one place: a JSON summary, a PNG of pressure against time, and the HTML
report of a stored run.

Where files go when nobody says: beside the results store (``results/run-7.html`` for
``results/presshil.sqlite``), never the current directory (:func:`default_path`).

The plot shows the measured pressure, each load-cell channel as the pressure it would mean
if every channel carried the same force (so imbalance shows as spread), the active setpoint,
and the tolerance band of every hold step that has one.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .resume import gaps
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
            for g in gaps(result.events)
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


def plot_run(result: RunResult, path: Path) -> Path:
    """Write the pressure-time plot of ``result`` to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trace = result.trace
    area = result.protocol.specimen.die_area_mm2
    n_ch = trace.channels.shape[1] if trace.channels.ndim == 2 else 0
    hours = len(trace.t) and trace.t[-1] > 7200
    scale, unit = (3600.0, "h") if hours else (1.0, "s")
    t = np.asarray(trace.t) / scale
    holes = gaps(result.events)
    starts = np.asarray([g.t_start_s / scale for g in holes])

    def draw(ax, y, **kw):
        tt, yy = t, np.asarray(y, dtype=float)
        if len(tt) > MAX_PLOT_POINTS:
            tt, yy = _envelope(tt, yy, MAX_PLOT_POINTS // 2)
        if len(starts):  # no line across a stretch without samples (the host was lost)
            cut = np.searchsorted(tt, starts, side="right")
            tt, yy = np.insert(tt, cut, starts), np.insert(yy, cut, np.nan)
        ax.plot(tt, yy, **kw)

    fig, (ax, ax_err) = plt.subplots(
        2, 1, figsize=(11, 7.5), dpi=110, sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    for ch in range(n_ch):
        as_pressure = trace.channels[:, ch] * n_ch * 1000.0 / area
        draw(ax, as_pressure, lw=0.7, alpha=0.6, label=f"channel {ch + 1} (× N)")
    draw(ax, trace.pressure, lw=1.3, color="black", label="pressure")
    draw(ax, trace.setpoint, lw=1.0, ls="--", color="tab:red", label="setpoint")
    labelled = False
    steps = result.protocol.steps
    for rec in result.steps:
        step = steps[rec.index]
        band = behaviour(step).band(step, setpoint_before(steps, rec.index))
        if band is not None:
            target, width = band
            settle = step.expect.get("settle_s", 0.0)
            span = [(rec.t_start_s + settle) / scale, rec.t_end_s / scale]
            ax.fill_between(span, target - width, target + width, color="tab:green", alpha=0.15,
                            label=None if labelled else "tolerance band")
            ax_err.fill_between(span, -width, width, color="tab:green", alpha=0.15,
                                label=None if labelled else "tolerance band")
            labelled = True
        ax.axvline(rec.t_start_s / scale, color="grey", lw=0.5, alpha=0.5)
        ax.text(rec.t_start_s / scale, 1.0, f" {rec.name}", transform=ax.get_xaxis_transform(),
                fontsize=7, va="top", color="dimgrey", rotation=90)
    for k, g in enumerate(holes):
        for a in (ax, ax_err):
            a.axvspan(g.t_start_s / scale, g.t_end_s / scale, color="grey", alpha=0.2,
                      hatch="//", label=None if k or a is ax_err else "no samples (host lost)")
    status = result.status.upper()
    ax.set_title(f"{result.protocol.name} on {result.identity.model}: {status}")
    draw(ax_err, np.asarray(trace.pressure) - np.asarray(trace.setpoint), lw=0.8, color="black",
         label="pressure − setpoint")
    ax_err.axhline(0.0, color="tab:red", lw=0.8, ls="--")
    ax_err.set_xlabel(f"time ({unit})")
    ax_err.set_ylabel("error (MPa)")
    ax.set_ylabel("pressure (MPa)")
    for a in (ax, ax_err):
        a.grid(alpha=0.3)
        a.legend(loc="center right" if a is ax else "upper right", fontsize=8)
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


def default_path(db: Path, run_id: int, suffix: str) -> Path:
    """Where a run's file goes when no output is given: ``run-ID.SUFFIX`` beside the store."""
    return Path(db).parent / f"run-{run_id}.{suffix.lstrip('.')}"


__all__ = ["default_path", "plot_run", "summary", "write_html_report", "write_run_report"]
