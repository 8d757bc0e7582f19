"""What the acceptance report's tables and figures say when a test did not run all of itself:
a criterion with no limit, a loading sequence without a decreasing series, a load sharing
whose spread is small."""

from __future__ import annotations

import re

import pytest

from presshil.acceptance.document import limit_text, render_html, value_text
from presshil.acceptance.plots import _plt, load_sharing_bars, loading_sequence_title
from presshil.acceptance.result import NOT_TESTED, PASS, AcceptanceResult, Criterion, Section
from presshil.state import Identity


def _result(criteria: list[Criterion]) -> AcceptanceResult:
    section = Section("claims", "Reference and conditions", criteria=criteria)
    return AcceptanceResult(
        suite_name="t", suite_source="t.toml", suite_sha256="0" * 64, press_url="sim://",
        identity=Identity("v", "m", "s1", "1.0", 100.0, 7.85, 4), reference="ref",
        meta={}, started_utc="2026-12-07T00:00:00+00:00", finished_utc="2026-12-07T00:10:00+00:00",
        sections=[section])


def _cells(html: str, name: str) -> list[list[str]]:
    """The text of the cells of every table row whose cells include ``name``."""
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip()
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        if name in cells:
            rows.append(cells)
    return rows


def test_a_not_tested_criterion_without_a_limit_shows_a_dash_not_a_comparison() -> None:
    untested = Criterion("claims", "temperature in 10–35 °C", None, None, "°C", NOT_TESTED, "≤",
                         "no temperature signal on this press")
    change = Criterion("claims", "temperature change during a series", None, 2.0, "K",
                       NOT_TESTED, "≤", "one stated value")
    judged = Criterion("claims", "zero |f0|", 0.05, 0.1, "%", PASS, "≤")
    html = render_html(_result([untested, change, judged]))
    assert "≤ —" not in html and "— °C" not in html
    summary, detail = _cells(html, "temperature in 10–35 °C")
    # summary: test, criterion, value, limit, unit, verdict; detail: criterion, value, limit, …
    assert summary[2:4] == ["—", "—"] and summary[5] == "not tested"
    assert detail[1:3] == ["—", "—"]
    # a limit that is known stays shown, with its comparison and unit
    assert _cells(html, "temperature change during a series")[1][1:3] == ["—", "≤ 2 K"]
    assert _cells(html, "zero |f0|")[1][1:3] == ["0.05 %", "≤ 0.1 %"]


def test_limit_and_value_cells() -> None:
    row = Criterion("s", "n", None, None, "°C", NOT_TESTED).as_dict()
    assert limit_text(row) == "—" and limit_text(row, unit=False) == "—" and value_text(row) == "—"
    row = Criterion("s", "n", 3, 3, "", PASS, "=").as_dict()
    assert limit_text(row) == "3" and value_text(row) == "3"
    row = Criterion("s", "class", "2", "1", "", PASS, "at least").as_dict()
    assert limit_text(row) == "at least 1"


@pytest.mark.parametrize(("data", "title"), [
    ({"preloads": 3, "readings": {"increasing": [[1], [2], [3]], "decreasing": [1]}},
     "Loading sequence: 3 preloads, 3 series, decreasing"),
    ({"preloads": 3, "readings": {"increasing": [[1], [2], [3]], "decreasing": []}},
     "Loading sequence: 3 preloads, 3 series"),
    ({"preloads": 1, "readings": {"increasing": [[1]], "decreasing": []}},
     "Loading sequence: 1 preload, 1 series"),
    ({}, "Loading sequence"),  # aborted before any reading
])
def test_the_loading_sequence_is_titled_from_what_ran(data, title) -> None:
    assert loading_sequence_title(data) == title


def test_load_sharing_bars_start_at_zero_and_state_each_deviation() -> None:
    plt = _plt()
    fig, ax = plt.subplots()
    try:
        # 1.448 … 1.458 kN: a 0.69 % spread (max − min over mean 1.4525)
        means = [1.448, 1.452, 1.458, 1.452]
        load_sharing_bars(ax, means)
        lo, hi = ax.get_ylim()
        assert lo == 0.0 and hi == pytest.approx(1.458 * 1.15)
        labels = [t.get_text() for t in ax.texts]
        # (1.448 − 1.4525) / 1.4525 = −0.31 %; (1.458 − 1.4525) / 1.4525 = +0.38 %
        assert labels == ["-0.31 %", "-0.03 %", "+0.38 %", "-0.03 %"]
    finally:
        plt.close(fig)
