"""Headless Chromium for the web-view tests: Debian's package driven by Playwright.

Tests that use :func:`chromium` are skipped, with the reason, when Playwright or the system
Chromium is missing; nothing is ever downloaded.
"""

from __future__ import annotations

import os
import shutil

import pytest
from wall_clock import wall_clock_fixture

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    """The system Chromium (``PRESSHIL_CHROMIUM`` overrides), or None."""
    for candidate in (os.environ.get("PRESSHIL_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@wall_clock_fixture(scope="module", name="chromium")
def chromium_browser():
    """A launched headless Chromium (Playwright ``Browser``) shared by a module's tests."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    path = chromium_path()
    if path is None:
        pytest.skip("no system Chromium (install Debian's chromium package, or set PRESSHIL_CHROMIUM)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


def pixel_variance(png: bytes) -> float:
    """Variance of the grey levels of a PNG screenshot (0 for a blank page)."""
    import io

    import numpy as np
    from matplotlib import image

    pixels = image.imread(io.BytesIO(png), format="png")
    grey = pixels[..., :3].mean(axis=-1)
    return float(np.var(grey))
