"""Load cells, the ram position encoder and the reference transducer.

Each load-cell channel turns its true force into a reading through the chain a strain-gauge
cell and its amplifier impose, in this order:

1. **sample delay** — the amplifier/ADC filter's group delay, ``delay_ms``;
2. **hysteresis** — a Duhem-type model: the hysteretic offset ``H`` moves toward
   ``±hysteresis/2`` (sign of the force change) in proportion to the force travelled,
   ``dH = (±w/2 − H) |df| / F_h`` with ``F_h`` = 2 % of capacity. Full loading/unloading
   readings differ by up to ``w`` (ISO 7500-1 "reversibility") while small reversals make
   narrow minor loops — a pure backlash (play) operator would instead give the cell a
   dead band that makes any integrating controller hunt, which strain-gauge cells do not.
   Force wiggles inside a tiny reversal zone (0.001 % of capacity) do not move ``H``;
3. **non-linearity** — a parabolic bow, zero at 0 and at capacity, largest at half capacity;
4. **gain error** and **zero offset**, plus an injected zero **drift**;
5. **noise** — white, counter-based (see :mod:`presshil.sim.rng`);
6. injected faults: **stuck** (frozen reading), **open wire** (bridge open: the amplifier
   rails high), **saturation** (the channel clips at a level);
7. the ADC range (−10 % … +110 % of capacity) and **quantisation** to ``lsb``.

The firmware treats a reading at either rail as implausible (open wire, broken cable) and
latches a SENSOR fault. A stuck channel is not detectable by one channel alone.
"""

from __future__ import annotations

import math

from .jitcache import jit
from .layout import (
    N_CH_FAULT,
    P_CH_FS_N,
    P_CH_GAIN,
    P_CH_HYST_N,
    P_CH_LSB_N,
    P_CH_NL_N,
    P_CH_NOISE_N,
    P_CH_ZERO_N,
    P_POS_LSB_M,
    P_POS_NOISE_M,
    SF_DRIFT,
    SF_OPEN_WIRE,
    SF_SATURATION,
    SF_STUCK,
    X_CH_FAULT_T0_S,
    X_CH_FAULT_VALUE,
    X_HYST_N,
    X_HYST_TRACK_N,
)
from .rng import STREAM_POSITION, normal

ADC_LOW_FRAC = -0.1
#: force travel (fraction of capacity) over which the hysteretic offset saturates (1/e)
HYST_SATURATION_FRAC = 0.02
#: width of the reversal dead zone (fraction of capacity): the sub-newton jitter of a
#: regulated hold does not walk the hysteresis
HYST_DEAD_ZONE_FRAC = 1e-5
ADC_HIGH_FRAC = 1.1


@jit
def quantise(value: float, lsb: float) -> float:
    """Round to the nearest multiple of ``lsb`` (no-op for ``lsb <= 0``)."""
    if lsb <= 0.0:
        return value
    return math.floor(value / lsb + 0.5) * lsb


@jit
def read_channel(p, x, n, i: int, force_n: float, t_s: float, noise: float) -> float:
    """Reading (N) of channel ``i`` for the (already delayed) true force ``force_n``;
    ``noise`` is this sample's standard normal deviate for the channel."""
    fs = p[P_CH_FS_N]
    # reversal dead zone: force wiggles smaller than it close their minor loop elastically
    track = x[X_HYST_TRACK_N + i]
    half_zone = 0.5 * HYST_DEAD_ZONE_FRAC * fs
    if force_n > track + half_zone:
        df = force_n - half_zone - track
    elif force_n < track - half_zone:
        df = force_n + half_zone - track
    else:
        df = 0.0
    hyst = x[X_HYST_N + i]
    if df != 0.0:
        x[X_HYST_TRACK_N + i] = track + df
        target = 0.5 * p[P_CH_HYST_N + i] if df > 0.0 else -0.5 * p[P_CH_HYST_N + i]
        hyst += (target - hyst) * min(abs(df) / (HYST_SATURATION_FRAC * fs), 1.0)
        x[X_HYST_N + i] = hyst
    h = force_n - hyst  # loading reads low, unloading reads high
    frac = h / fs
    y = h + 4.0 * p[P_CH_NL_N + i] * frac * (1.0 - frac)
    y = y * p[P_CH_GAIN + i] + p[P_CH_ZERO_N + i]
    fault = n[N_CH_FAULT + i]
    if fault == SF_DRIFT:
        y += x[X_CH_FAULT_VALUE + i] * (t_s - x[X_CH_FAULT_T0_S + i])
    y += p[P_CH_NOISE_N] * noise
    if fault == SF_STUCK:
        y = x[X_CH_FAULT_VALUE + i]
    elif fault == SF_OPEN_WIRE:
        y = ADC_HIGH_FRAC * fs
    elif fault == SF_SATURATION and y > x[X_CH_FAULT_VALUE + i]:
        y = x[X_CH_FAULT_VALUE + i]
    lo = ADC_LOW_FRAC * fs
    hi = ADC_HIGH_FRAC * fs
    if y < lo:
        y = lo
    elif y > hi:
        y = hi
    return quantise(y, p[P_CH_LSB_N])


@jit
def travel_hysteresis(p, x, i: int, force_n: float) -> None:
    """Move channel ``i``'s hysteretic offset as a slow, monotone travel of its force to
    ``force_n`` would: the limit of many small steps of :func:`read_channel` (used by the
    fast path, where the force moves between two computed ticks)."""
    fs = p[P_CH_FS_N]
    track = x[X_HYST_TRACK_N + i]
    half_zone = 0.5 * HYST_DEAD_ZONE_FRAC * fs
    if force_n > track + half_zone:
        df = force_n - half_zone - track
    elif force_n < track - half_zone:
        df = force_n + half_zone - track
    else:
        return
    x[X_HYST_TRACK_N + i] = track + df
    target = 0.5 * p[P_CH_HYST_N + i] if df > 0.0 else -0.5 * p[P_CH_HYST_N + i]
    hyst = x[X_HYST_N + i]
    x[X_HYST_N + i] = target - (target - hyst) * math.exp(-abs(df) / (HYST_SATURATION_FRAC * fs))


@jit
def static_reading(p, x, i: int, force_n: float) -> float:
    """Noise-free, unquantised reading of channel ``i`` at a steady ``force_n`` (N), with the
    channel's present hysteretic offset: what the reading averages to in a settled hold."""
    fs = p[P_CH_FS_N]
    h = force_n - x[X_HYST_N + i]
    frac = h / fs
    return (h + 4.0 * p[P_CH_NL_N + i] * frac * (1.0 - frac)) * p[P_CH_GAIN + i] + p[
        P_CH_ZERO_N + i
    ]


@jit
def implausible(p, reading_n: float) -> bool:
    """True when a reading sits on an ADC rail (open wire, broken cable, overload)."""
    fs = p[P_CH_FS_N]
    margin = max(p[P_CH_LSB_N], 1e-9 * fs)
    return reading_n >= ADC_HIGH_FRAC * fs - margin or reading_n <= ADC_LOW_FRAC * fs + margin


@jit
def read_position(p, ram_m: float, seed: int, tick: int) -> float:
    """Ram position encoder reading (m)."""
    return quantise(ram_m + p[P_POS_NOISE_M] * normal(seed, STREAM_POSITION, tick), p[P_POS_LSB_M])
