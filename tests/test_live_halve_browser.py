"""The live page's own halving (``halve`` in live.js, run in headless Chromium) keeps a short
ramp short, as the server's thinning does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import chromium_browser  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow  # a browser

LIVE_JS = Path(__file__).resolve().parents[1] / "src" / "presshil" / "web" / "static" / "live.js"


def test_the_page_halving_draws_a_30_s_ramp_within_one_bucket(chromium) -> None:
    halve = re.search(r"^function halve\(d\) \{.*?^\}$", LIVE_JS.read_text(), re.S | re.M)
    assert halve, "live.js has no halve(d)"
    page = chromium.new_page()
    try:
        # 0 → 15 MPa over 30 s at 0.2 Hz, then 15 ± 0.05 MPa to 720 630 s (144 127 points),
        # halved three times as an open page does each time it holds too many
        got = page.evaluate("(() => {" + halve.group(0) + """
              const t = [], sp = [], p = [];
              for (let i = 0; i <= 144126; i++) {
                const x = 5 * i; t.push(x); sp.push(Math.min(15, 0.5 * x));
                p.push(x <= 30 ? 0.5 * x : 15 + 0.05 * Math.sin(0.37 * x));
              }
              let d = [t, sp, p];
              for (let k = 0; k < 3; k++) d = halve(d);
              const first = d[0][d[2].findIndex((v) => v >= 14.5)];
              return [d[0].length, d[0][0], first, d[0].every((v, i) => i === 0 || v > d[0][i - 1])];
            })()""")
    finally:
        page.close()
    n, t0, first_at_hold, ascending = got
    # pass 1: 144 127 points in 18 015 buckets of 720 630 / 18 015 = 40.0 s, four points each
    # at most (72 060); pass 2: 9007 buckets of 80.0 s; pass 3: 4503 of 160.0 s. The ramp
    # reaches the hold inside the first bucket of the last pass
    assert n <= 4 * 4503 and t0 == 0 and ascending
    assert first_at_hold <= 720_630 / 4503
