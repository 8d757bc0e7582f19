"""The run plot as an image: every load-cell channel visible in its own colour (not hidden
under the pressure line), and a long run's time axis in h:mm:ss."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import presshil
from presshil.protocol import load_protocol
from presshil.report import CHANNEL_COLOURS, _time_axis, plot_run

ROOT = Path(__file__).resolve().parents[1]


def colour_pixels(png: Path, colour: str, tolerance: float = 40.0) -> int:
    """Pixels of ``png`` within ``tolerance`` (0..255 per channel, Euclidean) of ``colour``."""
    from matplotlib import colors, image

    rgb = np.asarray(colors.to_rgb(colour)) * 255.0
    pixels = image.imread(str(png))[..., :3] * 255.0
    return int((np.linalg.norm(pixels - rgb, axis=-1) < tolerance).sum())


def test_every_channel_shows_in_its_own_colour(tmp_path: Path):
    proto = load_protocol(ROOT / "tests" / "data" / "quick-hold.toml")
    result = presshil.run(proto, presshil.open_press("sim://?seed=2"))
    png = plot_run(result, tmp_path / "run.png")
    counts = [colour_pixels(png, c) for c in CHANNEL_COLOURS[:4]]
    # each channel draws a visible line of its own (hundreds of pixels), not a sliver under black
    assert all(n > 300 for n in counts), counts


def test_a_long_run_reads_its_time_axis_in_hours_minutes_seconds():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert _time_axis(ax, 300.0) == "run time (s)"
    assert _time_axis(ax, 7200.0) == "run time (h:mm:ss)"
    assert ax.xaxis.get_major_formatter()(1800.0, 0) == "0:30:00"
    assert ax.xaxis.get_major_locator()() is not None
    plt.close(fig)
