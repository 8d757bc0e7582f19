"""Every route and parameter of both web views, fuzzed with Hypothesis over real servers on
127.0.0.1: no answer is a 5xx, the server still answers afterwards, and nothing it logs is a
traceback. Examples are bounded (``max_examples``), so the module's run time is too.
"""

from __future__ import annotations

import http.client
import logging
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wall_clock import wall_clock_fixture

import presshil
from presshil.protocol import load_protocol
from presshil.store import Store
from presshil.web.live_app import live_app
from presshil.web.live_sink import LiveSink
from presshil.web.results import open_results
from presshil.web.server import BackgroundServer
from presshil.web.ui_app import ui_app

ROOT = Path(__file__).resolve().parents[1]
FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

#: what a client may put in a path segment or a query value: any text, numbers in odd
#: spellings, digits from other scripts, and long runs
values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "0", "1", "-1", "1e308", "nan", "inf", "-inf", "9223372036854775808", "²", "١",
                     "../../etc/passwd", "%00", "null", "csv", "parquet", "2026-01-01", "passed"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.builds(lambda c, n: c * n, st.sampled_from(["7", "x", "[", "é"]), st.integers(1, 6000)),
)


@wall_clock_fixture(scope="module")
def ui(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "r.sqlite"
    proto = load_protocol(ROOT / "protocols" / "step-response-74mpa.toml")
    with Store(path) as store:
        presshil.run(proto, presshil.open_press("sim://?seed=1"), store=store, seed=1)
    results = open_results(path)
    with BackgroundServer(ui_app(results)) as srv:
        yield srv
    results.close()


@wall_clock_fixture(scope="module")
def live():
    sink = LiveSink()
    sink.event(1.0, "prompt", "Insert the die")
    with BackgroundServer(live_app(sink)) as srv:
        yield srv


def send(srv, method: str, target: str, body: bytes | None = None, headers: dict | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


@pytest.fixture
def no_tracebacks(caplog):
    caplog.set_level(logging.DEBUG)
    yield caplog
    bad = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not bad, bad[0].getMessage()


def seg(text: str) -> str:
    return quote(text, safe="")


UI_ROUTES = {
    "/api/runs": ["protocol", "press", "firmware", "status", "since", "until"],
    "/api/runs/{id}": [],
    "/api/runs/{id}/trace": ["t0", "t1", "px"],
    "/api/runs/{id}/export": ["format"],
    "/api/criteria": ["protocol"],
    "/api/trend": ["criterion", "step", "protocol"],
    "/static/{id}": [],
}


@FUZZ
@given(route=st.sampled_from(sorted(UI_ROUTES)), ident=values, query=st.dictionaries(
    st.sampled_from(["protocol", "press", "firmware", "status", "since", "until", "t0", "t1", "px", "format",
                     "criterion", "step", "x"]), values, max_size=4))
def test_the_results_browser_never_answers_5xx(ui, no_tracebacks, route, ident, query) -> None:
    target = route.replace("{id}", seg(ident) or "0")
    if query:
        target += "?" + urlencode(query)
    status = send(ui, "GET", target)
    assert status < 500, (target[:200], status)


@FUZZ
@given(path=st.sampled_from(["/api/stop", "/api/prompts/{id}/ack"]), ident=values,
       kind=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]),
       body=st.one_of(values.map(str.encode), st.binary(max_size=200),
                      st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=10),
                                   lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                                   max_leaves=20).map(lambda v: repr(v).encode())),
       token=st.one_of(st.none(), values))
def test_the_live_view_never_answers_5xx(live, no_tracebacks, path, ident, kind, body, token) -> None:
    headers = {"Content-Type": kind} if kind else {}
    if token is not None and token.isascii() and "\n" not in token and "\r" not in token:
        headers["X-Presshil-Token"] = token
    target = path.replace("{id}", seg(ident) or "0")
    status = send(live, "POST", target, body=body, headers=headers)
    assert status < 500 and status != 200, (target[:200], status)  # no token here is the run's


def test_both_servers_still_answer_after_the_fuzzing(ui, live) -> None:
    assert send(ui, "GET", "/api/runs") == 200
    assert send(live, "GET", "/api/state") == 200
