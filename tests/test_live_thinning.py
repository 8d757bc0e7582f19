"""The live view's thinned history keeps a run's shape in time: a 30 s ramp at the start of a
200 h hold is drawn over at most one time bucket, not across tens of thousands of seconds."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from presshil.web.live_sink import LiveSink, thin

#: 720 630 s of run in 500 buckets (2000 points, four a bucket)
BUCKET_S = 720_630 / 500


def _cycling_hold_points(
        noise: Callable[[float], float] = lambda t: 0.05 * math.sin(0.37 * t)) -> Iterator[list[float]]:
    """cycling-hold-15mpa's shape at 0.2 Hz: 0 → 15 MPa from t = 0 to 30 s, then 15 MPa
    ± 0.05 until 720 630 s (200 h of cycles and the 600 s settle)."""
    t = 0.0
    while t <= 720_630.0:
        p = 0.5 * t if t <= 30.0 else 15.0 + noise(t)
        yield [t, min(15.0, 0.5 * t), p]
        t += 5.0


def test_thinning_draws_a_short_ramp_within_one_time_bucket() -> None:
    points = list(_cycling_hold_points())
    out = thin(points, 2000)
    assert len(out) <= 2000
    # the line leaves 0 MPa at t = 0 and reaches the hold inside the first bucket
    assert out[0] == [0.0, 0.0, 0.0]
    first_at_hold = next(p for p in out if p[2] >= 14.5)
    assert first_at_hold[0] <= BUCKET_S
    # every bucket keeps its first and last point: neighbours are never more than two
    # buckets apart in time (the samples are 5 s apart)
    gaps = [b[0] - a[0] for a, b in zip(out, out[1:], strict=False)]
    assert max(gaps) <= 2 * BUCKET_S
    assert [p[0] for p in out] == sorted(p[0] for p in out)


def test_thinning_keeps_every_peak_of_its_bucket() -> None:
    # one spike of 9 MPa every 1000 s over 10 000 s; 100 points = 25 buckets of 400 s
    points = [[float(t), 0.0, 9.0 if t % 1000 == 500 else 0.0] for t in range(0, 10_001)]
    out = thin(points, 100)
    assert len(out) <= 100
    assert [p[0] for p in out if p[2] == 9.0] == [500.0 + 1000.0 * k for k in range(10)]


def test_the_live_history_of_a_200_h_run_draws_its_30_s_ramp_short() -> None:
    # a publish on every sample: the history fills and is thinned as on a fast simulated run
    sink = LiveSink(publish_interval_s=0.0, history_points=4000)
    for t, sp, p in _cycling_hold_points():
        sink.sample((t, sp, p, p * 0.0785, 0.0, 0, (p * 0.0785 / 4,) * 4))
    sink.finish("passed")
    points = sink.snapshot()["points"]
    assert len(points) <= 4000
    # last thinned to 2000 points: 500 buckets of at most 720 630 / 500 s each (thinned by
    # count, keeping only lows and highs, the ramp reached 15 MPa ~550 000 s late)
    first_at_hold = next(p for p in points if p[2] >= 14.5)
    assert first_at_hold[0] <= BUCKET_S
