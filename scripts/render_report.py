#!/usr/bin/env python3
"""Render an HTML report to a PNG screenshot with headless Chromium, to look at it.

    python3 scripts/render_report.py REPORT.html [-o REPORT.png] [--width 1200] [--height 3000]

Exit 0 when the PNG was written and is not blank; 2 when Chromium is missing (install it
with ``apt-get install -y chromium``) or the input does not exist; 1 when the screenshot
came out blank. The page height is taken as given; use a tall ``--height`` for a long report.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """Path of a Chromium-family browser on PATH, or None."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def render(html: Path, png: Path, width: int = 1200, height: int = 3000, timeout_s: float = 120.0) -> Path:
    """Screenshot ``html`` into ``png`` with headless Chromium; raises RuntimeError on failure."""
    browser = find_chromium()
    if browser is None:
        raise FileNotFoundError("no Chromium found on PATH (tried: " + ", ".join(CANDIDATES) + ")")
    png = png.resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="presshil-chromium-") as profile:
        cmd = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
            f"--screenshot={png}", f"--window-size={width},{height}",
            html.resolve().as_uri(),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                              check=False)
    if not png.is_file() or png.stat().st_size == 0:
        raise RuntimeError(f"Chromium wrote no screenshot (exit {proc.returncode}): {proc.stderr[-800:]}")
    return png


def is_blank(png: Path) -> bool:
    """True when the image has (almost) one colour: nothing was drawn."""
    import matplotlib.image as mpimg
    import numpy as np

    img = mpimg.imread(str(png))
    rgb = np.asarray(img)[..., :3].reshape(-1, 3)
    return float(rgb.std(axis=0).max()) < 0.01


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", type=Path)
    ap.add_argument("-o", "--output", type=Path, default=None)
    ap.add_argument("--width", type=int, default=1200)
    ap.add_argument("--height", type=int, default=3000)
    args = ap.parse_args(argv)
    if not args.html.is_file():
        print(f"error: no such file {args.html}", file=sys.stderr)
        return 2
    out = args.output or args.html.with_suffix(".png")
    try:
        render(args.html, out, args.width, args.height)
    except FileNotFoundError as exc:
        print(f"error: {exc}; install it with: apt-get install -y chromium", file=sys.stderr)
        return 2
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if is_blank(out):
        print(f"error: {out} is blank", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
