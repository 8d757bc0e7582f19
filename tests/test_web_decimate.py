"""Server-side decimation against brute force over a real SQLite store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import presshil
from presshil.errors import ConfigError
from presshil.protocol import load_protocol
from presshil.store import Store
from presshil.web.decimate import FINE_BUCKETS, TraceReader

ROOT = Path(__file__).resolve().parents[1]


def fill(store: Store, n: int, seed: int = 0, dt: float = 0.1) -> int:
    rng = np.random.default_rng(seed)
    proto = load_protocol(ROOT / "protocols" / "step-response-74mpa.toml")
    run_id = store.start_run(protocol=proto, press_url="sim://", identity=presshil.open_press("sim://").identity,
                             seed=seed)
    p = np.cumsum(rng.normal(size=n))
    for k in range(n):
        store.add_sample(run_id, (k * dt, 1.0, float(p[k]), 2.0 * float(p[k]), 0.0, 7,
                                  (0.25 * p[k], 0.25, 0.25, 0.25)))
    store.finish_run(run_id, "passed")
    store.flush()
    return run_id


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    path = tmp_path_factory.mktemp("dec") / "r.sqlite"
    with Store(path) as store:
        small = fill(store, 500, 1)
        big = fill(store, 3 * FINE_BUCKETS * 2 + 123, 2)
        p_big = np.array([r[2] for r in store.iter_samples(big)])
    return path, small, big, p_big


def test_small_ranges_come_raw_with_channels(stored):
    path, small, _, _ = stored
    reader = TraceReader(path)
    d = reader.window(small, None, None, 1000)
    assert d.raw and d.n_samples == 500 and len(d.t) == 500
    assert set(d.series) == {"setpoint", "pressure", "force", "ch1", "ch2", "ch3", "ch4"}
    np.testing.assert_allclose(d.series["ch1"], 0.25 * d.series["pressure"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("zoom", [None, (100.0, 9000.0), (5000.0, 5400.0)])
def test_min_max_per_column_matches_brute_force(stored, zoom):
    path, _, big, p = stored
    reader = TraceReader(path)
    t0, t1 = zoom or (None, None)
    d = reader.window(big, t0, t1, 800)
    t = np.arange(p.size) * 0.1
    sel = np.ones(p.size, bool) if zoom is None else (t >= t0 - 1e-9) & (t <= t1 + 1e-9)
    assert len(d.t) <= 2 * 800 or d.raw
    # the envelope holds the true extremes of the range, and nothing outside it
    assert np.nanmax(d.series["pressure"]) == pytest.approx(p[sel].max())
    assert np.nanmin(d.series["pressure"]) == pytest.approx(p[sel].min())
    # every pixel column's min/max is exact against the raw samples under it
    if not d.raw:
        for k in range(0, len(d.t) // 2, 37):
            ta, tb = d.t[2 * k], d.t[2 * k + 1]
            under = p[(t >= ta - 1e-9) & (t <= tb + 1e-9)]
            assert d.series["pressure"][2 * k] == pytest.approx(under.min())
            assert d.series["pressure"][2 * k + 1] == pytest.approx(under.max())


def test_a_file_that_is_not_a_store_is_a_clear_error(tmp_path: Path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigError, match="bad.sqlite"):
        TraceReader(bad)


def test_the_overview_is_kept_beside_the_store_and_reused(stored, tmp_path: Path):
    path, _, big, p = stored
    cache = tmp_path / "r.sqlite.overview"
    first = TraceReader(path, cache_path=cache).window(big, None, None, 500)
    assert cache.is_file()
    again = TraceReader(path, cache_path=cache)
    again._grouped = None  # a second process must not recompute it
    second = again.window(big, None, None, 500)
    np.testing.assert_array_equal(first.t, second.t)
    np.testing.assert_array_equal(first.series["pressure"], second.series["pressure"])
    assert np.nanmax(second.series["pressure"]) == pytest.approx(p.max())


def test_a_damaged_overview_cache_is_recomputed(stored, tmp_path: Path):
    path, _, big, p = stored
    cache = tmp_path / "bad.overview"
    cache.write_bytes(b"garbage" * 100)
    d = TraceReader(path, cache_path=cache).window(big, None, None, 500)
    assert np.nanmax(d.series["pressure"]) == pytest.approx(p.max())
