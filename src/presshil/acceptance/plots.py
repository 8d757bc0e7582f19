"""The report's figures: matplotlib (Agg) to PNG bytes, one function per test."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from ..press import Status
from .iso7500 import CLASS_LIMITS_PCT

FIG_W_IN = 9.0


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "axes.grid": True,
                         "grid.alpha": 0.3, "legend.fontsize": 8})
    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    _plt().close(fig)
    return buf.getvalue()


def force_verification_png(data: dict[str, Any], required_class: str) -> bytes:
    """Relative error per series against force with the class band, and the staircase."""
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(FIG_W_IN, 3.6),
                                   gridspec_kw={"width_ratios": [1.1, 1]})
    rows = data.get("rows", [])
    if rows:
        f = np.array([r["nominal_kn"] for r in rows])
        errs = np.array([r["series_error_pct"] for r in rows])
        for j in range(errs.shape[1]):
            ax1.plot(f, errs[:, j], "o-", ms=4, lw=1, label=f"series {j + 1} (increasing)")
        readings = data.get("readings", {})
        dec = readings.get("decreasing", [])
        if dec:
            fd = np.array([r["nominal_kn"] for r in dec])
            xd = np.array([r["reference_kn"] * r["nominal_kn"] / r["indicated_kn"] for r in dec])
            ax1.plot(fd, (fd - xd) / xd * 100.0, "v--", ms=4, lw=1, color="tab:purple",
                     label="decreasing series")
        q_lim = CLASS_LIMITS_PCT[required_class][0]
        ax1.axhspan(-q_lim, q_lim, color="tab:green", alpha=0.08,
                    label=f"class {required_class}: q ±{q_lim:g} %")
        ax1.axhline(0, color="black", lw=0.6)
        lim = max(q_lim * 1.3, float(np.nanmax(np.abs(errs))) * 1.2)
        ax1.set_ylim(-lim, lim)
    ax1.set_xlabel("nominal indicated force (kN)")
    ax1.set_ylabel("relative error of indication (%)")
    ax1.set_title("Error of the press's force indication")
    if rows:  # no rows (e.g. the reference did not see the load): nothing to label
        ax1.legend(loc="best")
    rec = data.get("_trace")
    if rec is not None and rec.t_s:
        t = np.asarray(rec.t_s)
        ax2.plot(t, rec.force_kn, lw=1, color="black", label="indicated (press)")
        ax2.plot(t, rec.extra, lw=0.8, ls="--", color="tab:orange", label="reference")
    ax2.set_xlabel("time (s)")
    ax2.set_ylabel("force (kN)")
    ax2.set_title(loading_sequence_title(data))
    ax2.legend(loc="upper left")
    return _png(fig)


def loading_sequence_title(data: dict[str, Any]) -> str:
    """The staircase figure's title from what ran: ``Loading sequence: 3 preloads, 3 series,
    decreasing`` only when a decreasing series was read (an aborted section says what it got)."""
    readings = data.get("readings") or {}
    parts = []
    if data.get("preloads"):
        n = int(data["preloads"])
        parts.append(f"{n} preload" + ("s" if n != 1 else ""))
    if readings.get("increasing"):
        parts.append(f"{len(readings['increasing'])} series")
    if readings.get("decreasing"):
        parts.append("decreasing")
    return "Loading sequence: " + ", ".join(parts) if parts else "Loading sequence"


def load_sharing_bars(ax: Any, means: Any) -> None:
    """Mean channel forces as bars on an axis from zero, each labelled with its deviation
    from the mean in %: a 0.16 % spread looks as small as it is (an axis clipped to the
    spread made it look like a lopsided press)."""
    means = np.asarray(means, float)
    labels = [f"ch{i + 1}" for i in range(means.size)]
    bars = ax.bar(labels, means, color="tab:blue", alpha=0.8)
    mean = float(means.mean())
    ax.axhline(mean, color="black", lw=0.8, ls="--", label=f"mean {mean:.4g} kN")
    deviation = (means - mean) / mean * 100.0 if mean else np.zeros_like(means)
    ax.bar_label(bars, labels=[f"{d:+.2f} %" for d in deviation], fontsize=7)
    ax.set_ylim(0.0, max(float(means.max()), 1e-9) * 1.15)
    ax.set_ylabel("mean channel force (kN)")


def run_png(result: Any, title: str, band_step: str | None = None) -> bytes:
    """Pressure and setpoint of a runner result against time, with the hold band if any."""
    plt = _plt()
    trace = result.trace
    fig, ax = plt.subplots(figsize=(FIG_W_IN, 3.2))
    ax.plot(trace.t, trace.setpoint, lw=1, ls="--", color="tab:red", label="active setpoint")
    ax.plot(trace.t, trace.pressure, lw=1.2, color="black", label="pressure")
    for rec in result.steps:
        ax.axvline(rec.t_start_s, color="grey", lw=0.5, alpha=0.6)
        ax.text(rec.t_start_s, 1.0, f" {rec.name}", transform=ax.get_xaxis_transform(),
                fontsize=7, va="top", color="dimgrey")
        step = result.protocol.steps[rec.index]
        if step.type == "hold" and "band_mpa" in step.expect and band_step == rec.name:
            band = step.expect["band_mpa"]
            settle = step.expect.get("settle_s", 0.0)
            sp = step.at_mpa if step.at_mpa is not None else float(np.median(
                trace.setpoint[(trace.t >= rec.t_start_s) & (trace.t <= rec.t_end_s)]))
            ax.fill_between([rec.t_start_s + settle, rec.t_end_s], sp - band, sp + band,
                            color="tab:green", alpha=0.2, label=f"band ±{band:g} MPa")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pressure (MPa)")
    ax.set_title(title)
    ax.legend(loc="best")
    return _png(fig)


def hold_png(result: Any, at_mpa: float, band_mpa: float) -> bytes:
    """The hold: full pressure trace and a zoom on the band."""
    plt = _plt()
    trace = result.trace
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(FIG_W_IN, 3.2))
    t_min = np.asarray(trace.t) / 60.0
    ax1.plot(t_min, trace.pressure, lw=1, color="black", label="pressure")
    ax1.plot(t_min, trace.setpoint, lw=0.8, ls="--", color="tab:red", label="setpoint")
    ax1.set_xlabel("time (min)")
    ax1.set_ylabel("pressure (MPa)")
    ax1.set_title("Whole run")
    ax1.legend(loc="best")
    rec = next((r for r in result.steps if r.name == "hold"), None)
    if rec is not None:
        m = (trace.t >= rec.t_start_s) & (trace.t <= rec.t_end_s)
        ax2.plot(t_min[m], trace.pressure[m], lw=0.8, color="black")
        ax2.axhspan(at_mpa - band_mpa, at_mpa + band_mpa, color="tab:green", alpha=0.15,
                    label=f"{at_mpa:g} ± {band_mpa:g} MPa")
        lo = min(float(np.min(trace.pressure[m])) if m.any() else at_mpa, at_mpa - band_mpa)
        hi = max(float(np.max(trace.pressure[m])) if m.any() else at_mpa, at_mpa + band_mpa)
        pad = 0.1 * (hi - lo)
        ax2.set_ylim(lo - pad, hi + pad)
        ax2.legend(loc="best")
    ax2.set_xlabel("time (min)")
    ax2.set_title("Hold against its band")
    return _png(fig)


def uniformity_png(result: Any, positions_mm: tuple[tuple[float, float], ...]) -> bytes:
    """Mean channel forces (bars) and the centre of force over the load-cell layout."""
    plt = _plt()
    trace = result.trace
    rec = next((r for r in result.steps if r.name == "hold"), None)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(FIG_W_IN, 3.2),
                                   gridspec_kw={"width_ratios": [1.2, 1]})
    if rec is not None and trace.channels.shape[1]:
        m = (trace.t >= rec.t_start_s) & (trace.t <= rec.t_end_s)
        means = trace.channels[m].mean(axis=0)
        n = means.size
        load_sharing_bars(ax1, means)
        ax1.legend(loc="lower right")
        if len(positions_mm) == n:
            xy = np.asarray(positions_mm, float)
            ax2.scatter(xy[:, 0], xy[:, 1], s=60 * means / means.mean(), color="tab:blue")
            for i, (x, y) in enumerate(xy):
                ax2.annotate(f"ch{i + 1}", (x, y), textcoords="offset points", xytext=(5, 5),
                             fontsize=7)
            c = (means[:, None] * xy).sum(axis=0) / means.sum()
            ax2.plot([0], [0], "k+", ms=10, label="die centre")
            ax2.plot([c[0]], [c[1]], "rx", ms=8, label=f"centre of force ({math.hypot(*c):.2f} mm)")
            ax2.set_aspect("equal", adjustable="datalim")
            ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=7)
    ax1.set_title("Load sharing during the hold")
    ax2.set_xlabel("x (mm)")
    ax2.set_ylabel("y (mm)")
    ax2.set_title("Load-cell layout and centre of force")
    return _png(fig)


def safety_png(panels: dict[str, Any], soft_max_mpa: float) -> bytes:
    """One panel per probe: pressure, with the time the safe-state bits were set shaded and
    the soft limit drawn."""
    plt = _plt()
    names = [k for k, rec in panels.items() if rec.t_s]
    fig, axes = plt.subplots(1, max(len(names), 1), figsize=(FIG_W_IN, 2.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=False):
        rec = panels[name]
        t = np.asarray(rec.t_s)
        ax.plot(t, rec.pressure_mpa, lw=1, color="black")
        faulted = (np.asarray(rec.status) & int(Status.FAULT | Status.ESTOP |
                                                  Status.WATCHDOG_TRIPPED | Status.OVERPRESSURE)) != 0
        if faulted.any():
            ax.fill_between(t, 0, 1, where=faulted, transform=ax.get_xaxis_transform(),
                            color="tab:red", alpha=0.15, label="safe state latched")
            ax.legend(loc="upper right", fontsize=6)
        ax.axhline(soft_max_mpa, color="tab:red", lw=0.8, ls=":")
        ax.set_ylim(0, max(soft_max_mpa * 1.15, float(np.max(rec.pressure_mpa)) * 1.05))
        ax.set_title(name)
        ax.set_xlabel("time (s)")
    axes[0][0].set_ylabel("pressure (MPa); dotted: soft limit")
    return _png(fig)


def stored_run_png(trace: Any, title: str) -> bytes:
    """Pressure, setpoint and channels of a stored run."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(FIG_W_IN, 3.6))
    t = np.asarray(trace.t)
    if t.size:
        ax.plot(t, trace.setpoint, lw=1, ls="--", color="tab:red", label="setpoint")
        ax.plot(t, trace.pressure, lw=1.2, color="black", label="pressure")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pressure (MPa)")
    ax.set_title(title)
    ax.legend(loc="best")
    return _png(fig)


__all__ = [
    "force_verification_png",
    "hold_png",
    "load_sharing_bars",
    "loading_sequence_title",
    "run_png",
    "safety_png",
    "stored_run_png",
    "uniformity_png",
]
