"""One map from an expected failure to its exit code, shared by every command."""

from __future__ import annotations

import pytest

from presshil.errors import (
    CapabilityError,
    ConfigError,
    PressURLError,
    ProtocolError,
    TransportError,
)
from presshil.status import user_error


@pytest.mark.parametrize(
    ("exc", "code", "line"),
    [
        (ProtocolError("bad key"), 2, "error: bad key"),
        (PressURLError("no such scheme"), 2, "error: no such scheme"),
        (ConfigError("no file"), 2, "error: no file"),
        (TransportError("link lost"), 3, "aborted: TransportError: link lost"),
        (CapabilityError("no STOP"), 3, "aborted: CapabilityError: no STOP"),
    ],
)
def test_expected_failures_map_to_pinned_exit_codes(exc: Exception, code: int, line: str) -> None:
    assert user_error(exc) == (code, line)


def test_a_bug_is_not_mapped() -> None:
    assert user_error(KeyError("x")) is None
