"""The results browser offers no export of a run with no stored samples (headless Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import chromium_browser  # noqa: F401  (the fixture)
from test_export_target import store_with_two_runs  # noqa: F401  (the "db" fixture)

from presshil.web.results import open_results
from presshil.web.server import BackgroundServer
from presshil.web.ui_app import ui_app

pytestmark = pytest.mark.slow  # a browser


def test_a_run_without_samples_has_no_export_links_and_says_why(chromium, db: Path):
    results = open_results(db)
    try:
        with BackgroundServer(ui_app(results)) as srv:
            page = chromium.new_page()
            try:
                page.goto(srv.url + "/", timeout=15_000)
                page.wait_for_selector("#runs tbody tr.run[data-id='2']", timeout=15_000)
                page.click("#runs tbody tr.run[data-id='2'] td:nth-child(2)")
                page.wait_for_function("document.getElementById('run-title').textContent.startsWith('run 2')",
                                       timeout=15_000)
                assert not page.is_visible("#export-csv") and not page.is_visible("#export-parquet")
                assert "nothing to export" in page.inner_text("#no-export")
                page.click("#runs tbody tr.run[data-id='1'] td:nth-child(2)")
                page.wait_for_function("document.getElementById('run-title').textContent.startsWith('run 1')",
                                       timeout=15_000)
                assert page.is_visible("#export-csv") and not page.is_visible("#no-export")
            finally:
                page.close()
    finally:
        results.close()
