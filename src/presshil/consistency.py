"""Do the load cells agree with the signal the press controls?

A press regulates on the sum of its load cells. If one cell drifts, the controller holds the
*sum* at the target and the true load falls: pressure, drift and band judged on the
controlled signal all pass, while the stack is unloaded. What gives it away is the split: a
rigid platen on equal supports shares the load in fixed proportions (the platen's statics,
``docs/simulator.md``), so each channel's share of the total stays put through a hold even when
the cell breathes, and a drifting channel's share moves.

:func:`channel_share_shift_pct` compares each channel's share of the total force at the start
of the judged window with its share at the end, in % of the starting share.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: the part of the judged window averaged at each end (at least one sample)
END_FRACTION = 0.1


def channel_share_shift_pct(channels_kn: Any, end_fraction: float = END_FRACTION
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(shift %, start share %, end share %)`` per channel.

    ``channels_kn`` is (n, N): n samples of N channels. Each share is the channel's mean force
    over the first (last) ``end_fraction`` of the samples divided by the mean total force over
    the same samples; the shift is ``(end / start − 1) × 100``. Raises ``ValueError`` with
    fewer than 2 channels or 2 samples, or no load at the start.
    """
    ch = np.asarray(channels_kn, float)
    if ch.ndim != 2 or ch.shape[1] < 2:
        raise ValueError(f"channel consistency needs at least 2 load-cell channels; got "
                         f"{ch.shape[1] if ch.ndim == 2 else 0}")
    if ch.shape[0] < 2:
        raise ValueError(f"channel consistency needs at least 2 samples; got {ch.shape[0]}")
    k = max(1, int(round(ch.shape[0] * end_fraction)))
    first, last = ch[:k].mean(axis=0), ch[-k:].mean(axis=0)
    if not first.sum() > 0:
        raise ValueError(f"total channel force at the start is {first.sum():.3g} kN; nothing "
                         "is loaded")
    start = first / first.sum() * 100.0
    end = last / last.sum() * 100.0
    return (end / start - 1.0) * 100.0, start, end


__all__ = ["END_FRACTION", "channel_share_shift_pct"]
