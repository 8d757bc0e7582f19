"""A page on another site, in headless Chromium, against both web views: it can neither read
the stored runs or the live state nor press STOP, and a DNS rebinding (Chromium resolving
``rebound.example`` to 127.0.0.1, as an attacker's DNS would) gets nothing either."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import CHROMIUM_FLAGS, chromium_path
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
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
REBOUND = "rebound.example"


@wall_clock_fixture(scope="module")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    path = chromium_path()
    if path is None:
        pytest.skip("no system Chromium (install Debian's chromium package, or set PRESSHIL_CHROMIUM)")
    rules = f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1"  # the rebinding, inside the browser only
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=[*CHROMIUM_FLAGS, rules], timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


@wall_clock_fixture(scope="module")
def servers(tmp_path_factory):
    path = tmp_path_factory.mktemp("guard-browser") / "r.sqlite"
    proto = load_protocol(ROOT / "protocols" / "step-response-74mpa.toml")
    with Store(path) as store:
        presshil.run(proto, presshil.open_press("sim://?seed=1"), store=store, seed=1)
    results = open_results(path)
    sink = LiveSink()
    evil = Starlette(routes=[Route("/", lambda request: HTMLResponse("<html><body>a page</body></html>"))])
    # the attacker's page: "localhost" and "127.0.0.1" are different origins to a browser
    with BackgroundServer(ui_app(results)) as ui, BackgroundServer(live_app(sink)) as live, \
            BackgroundServer(evil) as other:
        yield {"ui": ui, "live": live, "sink": sink, "evil": f"http://localhost:{other.port}/"}
    results.close()


READ = """async (url) => { try { const r = await fetch(url); return 'read ' + r.status + ' ' + (await r.text()).length; }
                     catch (e) { return 'blocked'; } }"""
STOP = """async ([url, token]) => {
  const out = [];
  for (const [where, init] of [
      [url + '?token=' + token, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ token }) }],
      [url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Presshil-Token': token }, body: JSON.stringify({ token }) }],
  ]) {
    try { const r = await fetch(where, init); out.push(r.type + ' ' + r.status); } catch (e) { out.push('blocked'); }
  }
  return out; }"""


def test_a_page_on_another_origin_cannot_read_runs_or_state(chromium, servers) -> None:
    page = chromium.new_page()
    try:
        page.goto(servers["evil"], timeout=15_000)
        assert page.evaluate(READ, f"{servers['ui'].url}/api/runs") == "blocked"
        assert page.evaluate(READ, f"{servers['live'].url}/api/state") == "blocked"
    finally:
        page.close()


def test_a_page_on_another_origin_cannot_press_stop_even_knowing_the_token(chromium, servers) -> None:
    sink = servers["sink"]
    page = chromium.new_page()
    try:
        page.goto(servers["evil"], timeout=15_000)
        outcomes = page.evaluate(STOP, [f"{servers['live'].url}/api/stop", sink.token])
        # the simple POST goes out (opaque answer), the JSON one is stopped at its preflight
        assert outcomes[0] == "opaque 0" and outcomes[1] == "blocked", outcomes
        # a form posted from the other site carries Origin too
        page.set_content(f"""<form id=f method=post action="{servers['live'].url}/api/stop">
                             <input name=token value="{sink.token}"></form>""")
        with page.expect_navigation(timeout=15_000):
            page.evaluate("document.getElementById('f').submit()")
        assert "another site" in page.content()
        assert not sink.cancel.is_set()
    finally:
        page.close()


def test_a_rebound_name_gets_nothing_from_either_view(chromium, servers) -> None:
    page = chromium.new_page()
    try:
        for srv, path in ((servers["ui"], "/api/runs"), (servers["live"], "/api/state")):
            page.goto(f"http://{REBOUND}:{srv.port}/", timeout=15_000)  # the attacker's name, our port
            assert page.evaluate(READ, path).startswith("read 400"), path  # same origin now: Host refused
    finally:
        page.close()


def test_the_live_page_itself_still_stops_the_run(chromium, servers) -> None:
    sink, live = servers["sink"], servers["live"]
    page = chromium.new_page()
    try:
        page.goto(f"{live.url}/?token={sink.token}", timeout=15_000)
        got = page.evaluate("""async (token) => { const r = await fetch('/api/stop', { method: 'POST',
                                 headers: { 'Content-Type': 'application/json', 'X-Presshil-Token': token },
                                 body: '{}' }); return r.status; }""", sink.token)
        assert got in (200, 409) and sink.cancel.is_set()
    finally:
        page.close()
