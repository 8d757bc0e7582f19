"""How a run ended, and the exit code each outcome gives on the command line."""

from __future__ import annotations

import enum


class RunStatus(str, enum.Enum):
    """Status of a run, as stored in the results store; each carries its CLI exit code."""

    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    ABORTED = "aborted"
    ERROR = "error"
    INTERRUPTED = "interrupted"

    @property
    def exit_code(self) -> int:
        """0 passed, 1 a criterion failed, 3 aborted / error / interrupted (2 is bad input)."""
        return _EXIT[self]

    def __str__(self) -> str:
        return self.value


_EXIT = {
    RunStatus.RUNNING: 3,
    RunStatus.PASSED: 0,
    RunStatus.FAILED: 1,
    RunStatus.ABORTED: 3,
    RunStatus.ERROR: 3,
    RunStatus.INTERRUPTED: 3,
}

#: the pinned exit codes of every command: all passed, a criterion failed, bad input or
#: usage, aborted (safety limit, device fault, transport loss, interrupted)
EXIT_OK = _EXIT[RunStatus.PASSED]
EXIT_FAILED = _EXIT[RunStatus.FAILED]
EXIT_BAD_INPUT = 2
EXIT_ABORTED = _EXIT[RunStatus.ABORTED]


def user_error(exc: BaseException) -> tuple[int, str] | None:
    """The one map from an expected failure to its exit code and its one line, for every
    command: a press that failed or was lost aborts (3, ``aborted: Type: …``); anything else
    presshil raises on purpose is bad input (2, ``error: …``). ``None`` for anything else
    (a bug: let it show its traceback)."""
    from .errors import PressError, PresshilError

    if isinstance(exc, PressError):
        return EXIT_ABORTED, f"aborted: {type(exc).__name__}: {exc}"
    if isinstance(exc, PresshilError):
        return EXIT_BAD_INPUT, f"error: {exc}"
    return None


__all__ = ["EXIT_ABORTED", "EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "RunStatus", "user_error"]
