"""Both web views refuse foreign pages and bad input: real uvicorn servers on 127.0.0.1,
raw HTTP with the headers a browser (or an attacker's page after a DNS rebinding) sends.

Every answer is checked against its expected status worked out by hand; none is a 5xx.
"""

from __future__ import annotations

import http.client
import json
import logging
from pathlib import Path

import pytest
from wall_clock import wall_clock_fixture

import presshil
from presshil.protocol import load_protocol
from presshil.store import Store
from presshil.web.guard import WebGuard, host_name, parse_id
from presshil.web.live_app import live_app
from presshil.web.live_sink import LiveSink
from presshil.web.results import open_results
from presshil.web.server import BackgroundServer
from presshil.web.ui_app import ui_app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("guard") / "r.sqlite"
    proto = load_protocol(ROOT / "protocols" / "step-response-74mpa.toml")
    with Store(path) as store:
        presshil.run(proto, presshil.open_press("sim://?seed=1"), store=store, seed=1)
    return path


@wall_clock_fixture(scope="module")
def ui(store_path):
    results = open_results(store_path)
    with BackgroundServer(ui_app(results), allow_hosts=["press-lab-7.example"]) as srv:
        yield srv
    results.close()


@wall_clock_fixture()
def live():
    sink = LiveSink()
    with BackgroundServer(live_app(sink)) as srv:
        yield srv, sink


def call(srv, method: str, path: str, *, host: str | None = None, headers: dict | None = None,
         body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=20)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host if host is not None else f"127.0.0.1:{srv.port}")
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


# --- pure parts -------------------------------------------------------------------------------
@pytest.mark.parametrize(("header", "name"), [("127.0.0.1:8765", "127.0.0.1"), ("[::1]:80", "::1"),
                                              ("Press-Lab-7.Example.:8765", "press-lab-7.example"),
                                              ("evil.example", "evil.example")])
def test_host_names_lose_port_brackets_case_and_the_final_dot(header, name) -> None:
    assert host_name(header) == name


def test_only_loopback_names_ip_literals_the_bound_name_and_allowed_names_are_served() -> None:
    guard = WebGuard(None, bound_host="0.0.0.0", allow_hosts=["lab-pc"])
    for ok in ("localhost:8765", "127.0.0.1", "[::1]:1", "192.0.2.7:8765", "LAB-PC:8765"):
        assert guard.host_allowed(ok), ok
    for bad in ("evil.example", "127.0.0.1.nip.io", "", "localhost.evil.example", "lab-pc.evil"):
        assert not guard.host_allowed(bad), bad
    assert WebGuard(None, bound_host="press-lab-7").host_allowed("press-lab-7:8766")


@pytest.mark.parametrize("raw", ["²", "١", "-1", "1.0", "9223372036854775808", "5" * 5000, "", " 1"])
def test_ids_are_bounded_ascii_integers(raw) -> None:
    with pytest.raises(ValueError) as info:
        parse_id(raw, "run id")
    assert len(str(info.value)) < 140  # a 5,000-digit id is not echoed whole
    assert parse_id("9223372036854775807", "run id") == 2**63 - 1


# --- the results browser ----------------------------------------------------------------------
def test_a_foreign_host_reads_no_runs_but_the_lab_name_does(ui) -> None:
    status, _, body = call(ui, "GET", "/api/runs", host="evil.example")
    assert status == 400 and b"evil.example" in body and b"2024" not in body
    assert call(ui, "GET", "/", host=f"evil.example:{ui.port}")[0] == 400
    assert call(ui, "GET", "/api/runs", host=f"press-lab-7.example:{ui.port}")[0] == 200
    assert call(ui, "GET", "/api/runs", host=f"localhost:{ui.port}")[0] == 200


@pytest.mark.parametrize(("path", "status"), [
    ("/api/runs/9223372036854775808", 400),
    ("/api/runs/" + "7" * 5000, 400),
    ("/api/runs/%C2%B2", 400),
    ("/api/runs/%D9%A1", 400),  # Arabic-Indic one: not run 1
    ("/api/runs/%C2%B2/trace", 400),
    ("/api/runs/9223372036854775808/export", 400),
    ("/api/runs/9223372036854775807", 404),
    ("/api/runs/1", 200),
])
def test_run_ids_are_parsed_strictly(ui, path, status) -> None:
    got, headers, body = call(ui, "GET", path)
    assert got == status, body[:200]
    assert headers["content-type"].startswith("application/json") and len(body) < 100_000


def test_an_error_echoes_a_huge_parameter_only_in_part(ui) -> None:
    status, _, body = call(ui, "GET", "/api/runs/1/export?format=" + "x" * 100_000)
    assert status == 400 and len(body) < 300 and "csv, parquet" in json.loads(body)["error"]


def test_pages_and_answers_are_never_cached_nor_framed(ui) -> None:
    _, headers, _ = call(ui, "GET", "/")
    assert headers["cache-control"] == "no-store" and headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert call(ui, "GET", "/api/runs")[1]["cache-control"] == "no-store"


# --- the live view ----------------------------------------------------------------------------
def stop(srv, token: str | None, **kw) -> int:
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    if token is not None:
        headers["X-Presshil-Token"] = token
    return call(srv, "POST", kw.pop("path", "/api/stop"), headers=headers, body=kw.pop("body", b"{}"), **kw)[0]


def test_a_stop_from_another_origin_is_refused_even_with_the_token(live) -> None:
    srv, sink = live
    own = f"http://127.0.0.1:{srv.port}"
    assert stop(srv, sink.token, headers={"Origin": "http://evil.example"}) == 403
    assert stop(srv, sink.token, headers={"Origin": "null"}) == 403
    assert stop(srv, sink.token, headers={"Referer": "http://evil.example/page"}) == 403
    # the text/plain POST a page may send without a preflight
    plain = call(srv, "POST", "/api/stop", headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
                 body=json.dumps({"token": sink.token}).encode())
    assert plain[0] == 403
    assert not sink.cancel.is_set()
    assert stop(srv, sink.token, headers={"Origin": own}) == 200
    assert sink.cancel.is_set()


def test_the_token_is_not_taken_from_the_query(live) -> None:
    srv, sink = live
    assert stop(srv, None, path=f"/api/stop?token={sink.token}") == 403
    assert not sink.cancel.is_set()
    form = call(srv, "POST", "/api/stop", headers={"Content-Type": "application/x-www-form-urlencoded",
                                                     "Origin": f"http://127.0.0.1:{srv.port}"},
                body=f"token={sink.token}".encode())
    assert form[0] == 200  # a same-origin form may carry it


def test_a_foreign_host_sees_no_live_state(live) -> None:
    srv, _ = live
    assert call(srv, "GET", "/api/state", host="evil.example")[0] == 400
    assert call(srv, "GET", "/api/state")[0] == 200
    assert call(srv, "GET", "/")[1]["cache-control"] == "no-store"


def test_deep_huge_and_odd_bodies_get_short_4xx_and_the_server_lives(live, caplog) -> None:
    srv, sink = live
    caplog.set_level(logging.WARNING)
    deep = b"[" * 200_000 + b"]" * 200_000
    assert stop(srv, None, body=deep) == 413  # over the body limit
    assert stop(srv, None, body=b"[" * 10_000 + b"]" * 2) == 403  # nested past the parser: no token
    assert stop(srv, None, body=b'{"token": "\xc3\xa9"}') == 403  # non-ASCII token
    assert stop(srv, "\u00e9t\u00e9") == 403
    assert stop(srv, None, path="/api/prompts/%C2%B2/ack") == 400
    assert stop(srv, None, path="/api/prompts/99999999999999999999/ack") == 400
    assert call(srv, "GET", "/api/state")[0] == 200
    assert "Traceback" not in caplog.text
