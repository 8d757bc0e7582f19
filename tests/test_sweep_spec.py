"""Sweep specs: parsing, seeded variants, catalogue checks, statistics (no cluster needed)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from presshil.sweep.spec import (
    SweepError,
    SweepSpec,
    build_spec,
    load_sweep_file,
    parse_dist,
    parse_vary,
)
from presshil.sweep.stats import RunOutcome, analyse, margin, wilson
from presshil.sweep.variants import allowed_range, check_variants, make_variants, sample_points

TINY = str(Path(__file__).parent / "data" / "sweep-tiny.toml")


def spec(*vary: str, runs: int | None = 16, grid: bool = False, seed: int = 7,
         press: str = "sim://", method: str = "lhs") -> SweepSpec:
    return build_spec(TINY, press, [parse_vary(v) for v in vary], runs=runs, grid=grid,
                      seed=seed, method=method)


@pytest.mark.parametrize("text, kind, values, params", [
    ("1,2,3", "values", (1, 2, 3), ()),
    ("0.5, 1e-3", "values", (0.5, 1e-3), ()),
    ("nmc-lpscl-li-10mm,li-s-inli-10mm", "values", ("nmc-lpscl-li-10mm", "li-s-inli-10mm"), ()),
    ("-1..2.5", "range", (), (-1.0, 2.5)),
    ("normal(0, 0.3)", "normal", (), (0.0, 0.3)),
    ("truncnormal(0,1,-2,2)", "truncnormal", (), (0.0, 1.0, -2.0, 2.0)),
])
def test_parse_dist(text, kind, values, params):
    d = parse_dist("k", text)
    assert (d.kind, d.values, d.params) == (kind, values, params)
    assert parse_dist("k", d.text()) == d  # the written form parses back to the same


def test_grid_steps_in_range():
    assert parse_dist("k", "0..1:4").grid_steps == 4


@pytest.mark.parametrize("text, words", [
    ("", ["empty"]),
    ("2..1", ["lo < hi"]),
    ("1..1", ["lo < hi"]),
    ("0..1:1", ["at least 2"]),
    ("normal(0)", ["normal takes 2"]),
    ("normal(0,0)", ["sigma must be > 0"]),
    ("normal(0,-1)", ["sigma must be > 0"]),
    ("normal(0,nan)", ["finite"]),
    ("truncnormal(0,1,2,1)", ["lo < hi"]),
    ("truncnormal(5,1,0,1)", ["mu 5 lies outside"]),
    ("lognormal(0,1)", ["unknown distribution", "truncnormal"]),
    ("1,,2", ["empty item"]),
    ("1,1", ["repeated"]),
    ("1..", ["a range is lo..hi"]),
])
def test_bad_dist_is_one_clear_line(text, words):
    with pytest.raises(SweepError) as exc:
        parse_dist("load_cells.gain_error_pct", text)
    msg = str(exc.value)
    assert "\n" not in msg and "load_cells.gain_error_pct" in msg
    for w in words:
        assert w in msg


def test_same_spec_same_variants_and_seeds_differ_per_variant():
    a = make_variants(spec("load_cells.gain_error_pct=-1..1", "actuator.valve_time_constant_ms=normal(40,5)"))
    b = make_variants(spec("load_cells.gain_error_pct=-1..1", "actuator.valve_time_constant_ms=normal(40,5)"))
    assert [v.url for v in a] == [v.url for v in b]
    seeds = {v.url.rsplit("seed=", 1)[1] for v in a}
    assert len(seeds) == len(a)
    c = make_variants(spec("load_cells.gain_error_pct=-1..1", "actuator.valve_time_constant_ms=normal(40,5)", seed=8))
    assert [v.url for v in a] != [v.url for v in c]


def test_latin_hypercube_stratifies_each_key():
    pts = sample_points(spec("load_cells.gain_error_pct=0..1", runs=20))
    x = np.sort([p["load_cells.gain_error_pct"] for p in pts])
    # one point in each twentieth of the range: that is what a Latin hypercube guarantees
    assert np.array_equal(np.floor(x * 20).astype(int), np.arange(20))


def test_sobol_and_distributions_stay_in_their_support():
    pts = sample_points(spec("a.b=truncnormal(0,1,-0.5,2)", "c.d=1,2,3", runs=64, method="sobol"))
    tn = [p["a.b"] for p in pts]
    assert min(tn) >= -0.5 and max(tn) <= 2
    assert {p["c.d"] for p in pts} == {1, 2, 3}


def test_grid_is_the_product_of_its_axes():
    s = spec("load_cells.gain_error_pct=-1..1:3", "actuator.valve_time_constant_ms=10,20", runs=None, grid=True)
    pts = sample_points(s)
    assert len(pts) == 6
    assert sorted({p["load_cells.gain_error_pct"] for p in pts}) == [-1.0, 0.0, 1.0]


def test_base_url_seed_is_kept_for_every_variant():
    vs = make_variants(spec("load_cells.gain_error_pct=-1..1", press="sim://?seed=5", runs=4))
    from urllib.parse import parse_qsl

    for v in vs:
        seeds = [val for key, val in parse_qsl(v.url.partition("?")[2]) if key == "seed"]
        assert seeds == ["5"]


def test_allowed_range_comes_from_the_catalogue():
    from presshil.sim.catalogue import load_press

    assert allowed_range(load_press()[0], "load_cells.gain_error_pct") == (-10.0, 10.0)


@pytest.mark.parametrize("vary, press, words", [
    ("bogus.key=1..2", "sim://", ["bogus.key", "unknown catalogue key"]),
    ("firmware.kp=1..2", "sim://", ["firmware.kp", "keys there", "crossover_hz"]),
    ("nonsense=1,2", "sim://", ["nonsense", "unknown key"]),
    ("load_cells.gain_error_pct=-20..1", "sim://", ["-20", "allowed range [-10, 10]"]),
    ("load_cells.gain_error_pct=normal(0,8)", "sim://", ["refuses", "[-10, 10]", "truncnormal"]),
    ("load_cells.gain_error_pct=normal(30,1)", "sim://", ["mu 30"]),
    ("specimen=nmc-lpscl-li-10mm,no-such-cell", "sim://", ["variant", "no-such-cell"]),
    ("seed=1,-2", "sim://", ["seeds are integers"]),
    ("fidelity=1..2", "sim://", ["value list"]),
    ("load_cells.gain_error_pct=-1..1", "modbus+tcp://127.0.0.1:5020", ["wire press", "sim://"]),
])
def test_bad_sweep_is_refused_before_any_run(vary, press, words):
    s = spec(vary, press=press, runs=24)
    with pytest.raises(SweepError) as exc:
        check_variants(s, make_variants(s))
    msg = str(exc.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


def test_spec_round_trips_through_json():
    s = spec("load_cells.gain_error_pct=normal(0,0.3)", "specimen=nmc-lpscl-li-10mm,li-s-inli-10mm")
    assert SweepSpec.from_json(s.to_json()) == s


def test_options_that_exclude_each_other():
    with pytest.raises(SweepError, match="exclude"):
        spec("a.b=1..2", runs=4, grid=True)
    with pytest.raises(SweepError, match="cannot be put on a grid"):
        spec("a.b=normal(1,2)", runs=None, grid=True)
    with pytest.raises(SweepError, match="given twice"):
        spec("a.b=1..2", "a.b=1,2")
    with pytest.raises(SweepError, match="at least one"):
        build_spec(TINY, "sim://", [], runs=4, grid=False, seed=0)


def test_sweep_file(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(
        '[sweep]\nprotocol = "p.toml"\npress = "sim://"\nruns = 10\nseed = 3\n'
        '[sweep.vary]\n"load_cells.gain_error_pct" = "normal(0, 0.5)"\n"firmware.feedforward" = [0.5, 1.0]\n'
    )
    (tmp_path / "p.toml").write_text("x")
    got = load_sweep_file(f)
    assert got["protocol"] == str(tmp_path / "p.toml") and got["runs"] == 10 and got["seed"] == 3
    assert [v.key for v in got["vary"]] == ["load_cells.gain_error_pct", "firmware.feedforward"]
    assert got["vary"][1].dist.values == (0.5, 1.0)
    f.write_text('[sweep]\nruns = "ten"\n')
    with pytest.raises(SweepError, match="runs must be an integer"):
        load_sweep_file(f)
    f.write_text('[sweep]\nworkers = 3\n')
    with pytest.raises(SweepError, match="unknown key"):
        load_sweep_file(f)


def test_wilson_interval_known_values():
    # Wilson 95 % for 8/10: 0.490 .. 0.943 (textbook value)
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 5)[0] == 0.0 and wilson(5, 5)[1] == 1.0
    assert all(math.isnan(x) for x in wilson(0, 0))


class V:
    def __init__(self, step, criterion, value, limit, passed):
        self.step, self.criterion, self.value, self.limit, self.passed = step, criterion, value, limit, passed
        self.unit = "MPa"


def test_margin_sign_follows_the_verdict():
    assert margin(V("h", "band_mpa", 0.25, 0.5, True)) == pytest.approx(0.5)
    assert margin(V("h", "band_mpa", 0.75, 0.5, False)) == pytest.approx(-0.5)


def test_sensitivity_finds_the_key_that_drives_failure():
    rng = np.random.default_rng(1)
    outs = []
    for i in range(200):
        a, b = rng.uniform(-1, 1), rng.uniform(-1, 1)
        value = 0.5 + 0.4 * a + 0.02 * rng.normal()  # b plays no part
        ok = value < 0.7
        outs.append(RunOutcome(i, i, "sim://", {"a": a, "b": b}, "passed" if ok else "failed",
                               [V("hold", "band_mpa", value, 0.7, ok)]))
    s = analyse(outs, ["a", "b"])
    assert s["runs"] == 200 and 0 < s["passed"] < 200
    assert s["sensitivity"]["failure"][0]["key"] == "a"
    assert s["sensitivity"]["failure"][0]["log_odds_per_sd"] > 0
    ranking = s["sensitivity"]["margins"]["hold/band_mpa"]["ranking"]
    assert ranking[0]["key"] == "a" and abs(ranking[0]["src"]) > 10 * abs(ranking[1]["src"])
    c = s["criteria"]["hold/band_mpa"]
    assert c["passed"] == s["passed"] and c["pass_rate_ci95"][0] < c["pass_rate"] < c["pass_rate_ci95"][1]
