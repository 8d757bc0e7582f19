"""The one bounded wait the tests use: poll an observable condition, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(
    predicate: Callable[[], Any], timeout_s: float = 10.0, what: str = "condition", poll_s: float = 0.02
) -> Any:
    """Poll ``predicate`` until it returns something true (returned) or ``timeout_s`` passes
    (AssertionError naming ``what``). Bounded in time: a wait never outlives its test."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(poll_s)
