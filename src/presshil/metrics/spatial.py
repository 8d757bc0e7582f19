"""Spatial metrics: how the force is spread over the load cells and where it acts.

The pure functions take the time-averaged channel forces (and the cells' positions); the
criteria below them judge a hold's :class:`~.segment.Segment` on its channels: the spread of
the forces, their centre against the declared die position, the pellet's pressure estimate
from it (:mod:`presshil.pellet`), and the cells' consistency over the hold
(:mod:`presshil.consistency`).
"""

from __future__ import annotations

import math

import numpy as np

from ..consistency import channel_share_shift_pct
from ..pellet import BLIND_SPOT, LIFT_OFF_PCT, offset_from_die_mm, offset_uncertainty_mm
from .criteria import HOLD, Measured, Unjudgeable, criterion, window
from .segment import Segment
from .signals import ArrayLike


def nonuniformity_pct(mean_forces: ArrayLike) -> tuple[float, int]:
    """``(max − min) / mean × 100`` across channels, and the channel farthest from the mean."""
    f = np.asarray(mean_forces, float)
    mean = f.mean()
    return float((f.max() - f.min()) / mean * 100.0), int(np.argmax(np.abs(f - mean)))


def cv_pct(mean_forces: ArrayLike) -> float:
    """Coefficient of variation across channels: population std / mean × 100."""
    f = np.asarray(mean_forces, float)
    return float(f.std(ddof=0) / f.mean() * 100.0)


def cof_offset_mm(mean_forces: ArrayLike, positions_mm: ArrayLike) -> float:
    """Distance of the centre of force ``Σ Fᵢ·(xᵢ, yᵢ) / Σ Fᵢ`` from the die centre (0, 0)."""
    f = np.asarray(mean_forces, float)
    xy = np.asarray(positions_mm, float).reshape(-1, 2)
    centre = (f[:, None] * xy).sum(axis=0) / f.sum()
    return float(math.hypot(centre[0], centre[1]))



def pellet_nonuniformity_pct(cof_offset_mm: float, die_radius_mm: float) -> float:
    """Pellet pressure non-uniformity ``(p_max − p_min) / p_mean × 100`` from the centre-of-force
    offset ``e`` on a die of radius ``R``: ``800 · e / R``.

    A rigid platen tilted on an elastic pellet loads it linearly across the face,
    ``p(x) = p̄ (1 + k x)``; the centre of force is ``e = k R² / 4`` (``∫x² dA / A = R²/4`` on a
    disc), and the pressure runs from ``p̄ (1 − kR)`` to ``p̄ (1 + kR)``, a spread of
    ``2kR = 8e/R`` of the mean.
    """
    if not die_radius_mm > 0:
        raise ValueError(f"die radius must be > 0 mm, got {die_radius_mm!r}")
    return 800.0 * cof_offset_mm / die_radius_mm


def cof_limit_for_pellet_mm(pellet_tolerance_pct: float, die_radius_mm: float) -> float:
    """The centre-of-force offset that spends a pellet tolerance of ``±pellet_tolerance_pct``:
    a spread of ``2 × tolerance`` is ``8e/R``, so ``e = 2·tol/100 · R / 8``."""
    return 2.0 * pellet_tolerance_pct / 100.0 * die_radius_mm / 8.0


def _channels(seg: Segment, settle_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = window(seg, settle_s, need=1)
    ch = seg.channels[m]
    if ch.shape[1] < 2:
        raise Unjudgeable(f"uniformity needs at least 2 load-cell channels; this press has "
                           f"{ch.shape[1]}")
    means = ch.mean(axis=0)
    if means.mean() <= 0:
        raise Unjudgeable(f"mean channel force is {means.mean():.3g} kN; nothing is loaded")
    return m, ch, means


def _worst_instant(seg: Segment, m: np.ndarray, ch: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        inst = (ch.max(axis=1) - ch.min(axis=1)) / ch.mean(axis=1)
    return float(seg.t[m][int(np.argmax(np.where(np.isfinite(inst), inst, -np.inf)))])


def _forces_text(means: np.ndarray) -> str:
    return "time-averaged forces " + ", ".join(
        f"ch{i + 1} {f:.4g}" for i, f in enumerate(means)) + " kN"


def _nonuniformity(seg: Segment, settle_s: float, band: float | None) -> Measured:
    m, ch, means = _channels(seg, settle_s)
    v, worst = nonuniformity_pct(means)
    t = _worst_instant(seg, m, ch)
    return Measured(v, f"{_forces_text(means)}; ch{worst + 1} farthest from the mean; "
                        f"worst instant at step time t = {t:g} s", t, worst)
criterion("max_nonuniformity_pct", "%", "max", HOLD,
           "(max − min) / mean of the time-averaged channel forces after settle_s, × 100",
           name="channel force spread", limit_kind="spread", needs="channels")(_nonuniformity)


def _cv(seg: Segment, settle_s: float, band: float | None) -> Measured:
    m, ch, means = _channels(seg, settle_s)
    _, worst = nonuniformity_pct(means)
    t = _worst_instant(seg, m, ch)
    return Measured(cv_pct(means), f"{_forces_text(means)}; ch{worst + 1} farthest from "
                                    f"the mean", t, worst)
criterion("max_cv_pct", "%", "max", HOLD,
           "population std / mean of the time-averaged channel forces after settle_s, × 100",
           name="channel force variation (CV)", limit_kind="spread", needs="channels")(_cv)


def _cof(seg: Segment, settle_s: float, band: float | None) -> Measured:
    e, u, text, worst = _die_offset(seg, settle_s, "centre of force")
    return Measured(e, text, channel=worst, u_expanded=u)
criterion("max_cof_offset_mm", "mm", "max", HOLD,
           "distance of the centre of force (channel-force-weighted load-cell position) from "
           "the declared die position, after settle_s; passes when e + U ≤ limit",
           name="centre-of-force offset", needs="channels", needs_die_position=True)(_cof)


def _die_offset(seg: Segment, settle_s: float, what: str) -> tuple[float, float, str, int]:
    """Offset of the centre of force from the declared die position, its U, a text, and the
    channel farthest from the mean."""
    _, ch, means = _channels(seg, settle_s)
    if len(seg.channel_positions_mm) != ch.shape[1]:
        raise Unjudgeable(f"the {what} needs a position for each of the {ch.shape[1]} "
                           f"channels; the press reports {len(seg.channel_positions_mm)}")
    if seg.die_placement_tolerance_mm is None:
        raise Unjudgeable("the die position is not declared: set [specimen]."
                           "die_placement_tolerance_mm (and die_position_mm)")
    e = offset_from_die_mm(means, seg.channel_positions_mm, seg.die_position_mm)
    u_p, u_g, big_u = offset_uncertainty_mm(means, seg.channel_positions_mm,
                                            seg.die_placement_tolerance_mm)
    _, worst = nonuniformity_pct(means)
    d = seg.die_position_mm
    return e, big_u, (f"{_forces_text(means)}; centre of force {e:.3g} mm from the declared die "
                      f"position ({d[0]:g}, {d[1]:g}) mm, U = {big_u:.2g} mm (k = 2: placement "
                      f"±{seg.die_placement_tolerance_mm:g} mm → {u_p:.2g} mm, channel gains → "
                      f"{u_g:.2g} mm); largest deviation on ch{worst + 1}"), worst


def _pellet(seg: Segment, settle_s: float, band: float | None) -> Measured:
    if seg.die_radius_mm is None or not seg.die_radius_mm > 0:
        raise Unjudgeable("the pellet estimate needs the die radius (the protocol's [specimen])")
    e, u, text, worst = _die_offset(seg, settle_s, "pellet estimate")
    v = pellet_nonuniformity_pct(e, seg.die_radius_mm)
    big_u = pellet_nonuniformity_pct(u, seg.die_radius_mm)
    if v > LIFT_OFF_PCT:
        return Measured(math.inf, f"pellet partly unloaded (lift-off): 8e/R would be {v:.3g} %, "
                         f"above {LIFT_OFF_PCT:g} % one edge carries no load; {text}; "
                         f"{BLIND_SPOT}", channel=worst)
    return Measured(v, f"8e/R = {v:.3g} % ± {big_u:.2g} % (U, k = 2) on a die of radius "
                        f"R = {seg.die_radius_mm:g} mm; {text}; {BLIND_SPOT}", channel=worst,
                     u_expanded=big_u)
criterion("max_pellet_nonuniformity_pct", "%", "max", HOLD,
           "estimated pellet pressure (max − min) / mean × 100 = 800·e/R, e the centre-of-force "
           "offset from the declared die position after settle_s and R the die radius (a rigid "
           "platen on an elastic pellet); passes when value + U ≤ limit; above 200 % the pellet "
           "is partly unloaded (lift-off)",
           name="pellet pressure spread (estimated)", limit_kind="spread", needs="channels",
           needs_die_position=True)(_pellet)


def _channel_shift(seg: Segment, settle_s: float, band: float | None) -> Measured:
    m = window(seg, settle_s)
    try:
        shift, start, end = channel_share_shift_pct(seg.channels[m])
    except ValueError as exc:
        raise Unjudgeable(str(exc)) from None
    i = int(np.argmax(np.abs(shift)))
    return Measured(float(abs(shift[i])), f"largest change on ch{i + 1}: its share of the total "
                     f"force went from {start[i]:.3g} % to {end[i]:.3g} % ({shift[i]:+.3g} %) "
                     "between the first and last 10 % of the hold (a drifting load cell or a "
                     "load that moved shifts it)", channel=i)
criterion("max_channel_shift_pct", "%", "max", HOLD,
           "largest change of a channel's share of the total force, first vs last 10 % of the "
           "samples after settle_s, in % of its starting share: the channels' consistency with "
           "the controlled signal (a drifting load cell moves its share)",
           name="load-cell share shift over the hold", limit_kind="spread", needs="channels")(_channel_shift)


__all__ = [
    "cof_limit_for_pellet_mm",
    "cof_offset_mm",
    "cv_pct",
    "nonuniformity_pct",
    "pellet_nonuniformity_pct",
]
