"""Counter-based noise: a normal deviate that is a pure function of (seed, stream, tick).

A sequential generator would make the noise depend on how the model was advanced (tick by
tick or in macro steps). Hashing the tick index instead gives every firmware sample the same
noise on every path, so the fast path and the full-fidelity path see identical sensor noise
and a seed reproduces a trace bit for bit.

The hash is splitmix64's finaliser (Steele, Lea & Flood, OOPSLA 2014); two 53-bit uniforms
feed Marsaglia's polar method.
"""

from __future__ import annotations

import math

import numpy as np

from .jitcache import jit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_STREAM_STRIDE = np.uint64(0xD1B54A32D192ED03)
_ATTEMPT_STRIDE = np.uint64(0x8CB92BA72F3D8DD7)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53

# streams: load-cell channels use pairs 0..3 (channel i: stream i // 2, deviate i % 2)
STREAM_POSITION = 16
STREAM_REFERENCE = 17


@jit
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@jit
def normal_pair(seed: int, stream: int, tick: int):
    """Two independent standard normal deviates for ``(seed, stream, tick)``.

    Marsaglia's polar method (no sine or cosine); the rejection loop draws its candidates
    from the same hash, so the result is still a pure function of the three integers.
    """
    base = np.uint64(seed) * _GOLDEN + np.uint64(stream + 1) * _STREAM_STRIDE
    k = np.uint64(tick) * np.uint64(2)
    while True:
        h1 = _mix(base + k * _GOLDEN)
        h2 = _mix(base + (k + np.uint64(1)) * _GOLDEN)
        u1 = 2.0 * (float(h1 >> _S11) + 0.5) * _INV53 - 1.0
        u2 = 2.0 * (float(h2 >> _S11) + 0.5) * _INV53 - 1.0
        s = u1 * u1 + u2 * u2
        if 0.0 < s < 1.0:
            f = math.sqrt(-2.0 * math.log(s) / s)
            return u1 * f, u2 * f
        base += _ATTEMPT_STRIDE  # rejected (21 % of draws): a fresh candidate pair


@jit
def normal(seed: int, stream: int, tick: int) -> float:
    """Standard normal deviate for ``(seed, stream, tick)``."""
    return normal_pair(seed, stream, tick)[0]
