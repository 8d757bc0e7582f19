"""PressURL helpers that callers used to do by hand."""

from __future__ import annotations

import pytest

from presshil.urls import is_simulated, parse_press_url


@pytest.mark.parametrize(
    ("url", "simulated"),
    [
        ("sim://", True),
        ("sim://auto-hydraulic-25t?seed=3", True),
        ("SIM://x", True),
        ("modbus+tcp://127.0.0.1:5020", False),
        ("fil://?firmware=@reference", False),  # a simulated plant, but a real firmware's wire
        ("simulator://x", False),  # a prefix is not a scheme
        ("", False),
    ],
)
def test_is_simulated_is_a_scheme_test_not_a_prefix_test(url: str, simulated: bool) -> None:
    assert is_simulated(url) is simulated
    if url:
        try:
            parsed = parse_press_url(url)
        except Exception:  # an unknown scheme: only the string form applies
            return
        assert parsed.is_simulated is simulated
