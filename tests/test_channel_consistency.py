"""A hold is judged on more than the signal it controls: the load cells must agree with it."""

from __future__ import annotations

import numpy as np
import pytest

import presshil
from presshil.acceptance import parse_suite, run_acceptance
from presshil.consistency import channel_share_shift_pct
from presshil.metrics import Segment, evaluate


def test_share_shift_by_hand() -> None:
    # 10 samples, 4 channels; first sample (10 % of 10) 1, 1, 1, 1 kN: shares 25 % each.
    # last sample 0.8, 1.6, 0.8, 0.8 (sum 4.0, held): ch2 40 % -> +60 %, others 20 % -> -20 %
    ch = np.ones((10, 4))
    ch[-1] = [0.8, 1.6, 0.8, 0.8]
    shift, start, end = channel_share_shift_pct(ch)
    assert start == pytest.approx([25, 25, 25, 25])
    assert end == pytest.approx([20, 40, 20, 20])
    assert shift == pytest.approx([-20, 60, -20, -20])
    # a uniform change of every channel (the cell breathing, the load rising) moves no share
    grow = np.linspace(1.0, 1.3, 10)[:, None] * np.array([[1.0, 1.1, 0.9, 1.0]])
    assert np.abs(channel_share_shift_pct(grow)[0]).max() == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="at least 2 load-cell channels"):
        channel_share_shift_pct(np.ones((5, 1)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        channel_share_shift_pct(np.ones((1, 3)))
    with pytest.raises(ValueError, match="nothing is loaded"):
        channel_share_shift_pct(np.zeros((4, 3)))


def _hold(channels: np.ndarray) -> Segment:
    n = channels.shape[0]
    t = np.arange(n) * 1.0
    total = channels.sum(axis=1) * 1000 / 78.54
    return Segment("hold", t, np.full(n, 50.0), total, channels, 50.0, 50.0)


def test_drifting_channel_fails_the_hold_named() -> None:
    n = 100
    ch = np.ones((n, 4))
    drift = np.linspace(0, 0.4, n)  # ch3 reads 0.4 kN more by the end, the others give it back
    ch[:, 2] += drift
    ch[:, [0, 1, 3]] -= drift[:, None] / 3
    v = evaluate("hold", "max_channel_shift_pct", 1.0, _hold(ch), settle_s=0.0)
    assert not v.passed and v.channel == 2 and "ch3" in v.detail
    # first 10 samples: mean drift 0.0182 -> share (1.0182/4); last 10: 0.3818 -> (1.3818/4)
    assert v.value == pytest.approx((1.3818182 / 1.0181818 - 1) * 100, rel=1e-5)
    steady = evaluate("hold", "max_channel_shift_pct", 1.0, _hold(np.ones((n, 4))))
    assert steady.passed and steady.value == 0.0
    one = evaluate("hold", "max_channel_shift_pct", 1.0, _hold(np.ones((n, 1))))
    assert not one.passed and one.detail.startswith("not judged: channel consistency needs")


SECTIONS = ("force_verification", "step_response", "ramp_response", "hold", "uniformity", "safety")



def test_acceptance_hold_fails_a_drifting_load_cell_the_controller_compensates() -> None:
    # the audit case, over 10 min: ch2 drifts +30 N/min; the press holds the sum at 50 MPa,
    # so pressure, band and drift on the controlled signal all pass
    text = 'name = "t"\n' + "".join(
        f"[{k}]\nenabled = {'true' if k == 'hold' else 'false'}\n"
        + ("duration_s = 600.0\n" if k == "hold" else "") for k in SECTIONS)
    suite = parse_suite(text, source="t.toml")
    bad = run_acceptance(presshil.open_press(
        "sim://?seed=1&faults=sensor_drift@0:channel=2:rate_n_per_min=30"), suite, specimens=None)
    by = {c.name: c for c in bad.section("hold").criteria}
    assert by["drift"].status == "pass" and by["samples in band"].status == "pass"
    shift = by["channel consistency (share of the total force)"]
    assert shift.status == "fail" and "ch2" in shift.detail and shift.value > 10.0
    assert bad.exit_code == 1
    good = run_acceptance(presshil.open_press("sim://?seed=1"), suite, specimens=None)
    ok = {c.name: c for c in good.section("hold").criteria}
    assert ok["channel consistency (share of the total force)"].status == "pass"
    assert good.exit_code == 0
