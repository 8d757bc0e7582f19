"""How a run ends: whatever goes wrong, the press goes to its safe state first, then the record.

:func:`why_stopped` turns what stopped a run early into its status and what to record: a
stop request, a supervision abort, a safety abort, a device fault, any other press error, the
user's Ctrl-C or an internal error; :func:`abort` puts the press in its safe state, then
records an event and a failed ``completed`` verdict. :func:`disarm_if_released` lets a press
that ended released go without its host.
"""

from __future__ import annotations

from .errors import DeviceFault, PressError, SafetyAbort
from .execution import Execution, Stopped
from .metrics import Verdict
from .sampler import SupervisionAbort
from .state import Status
from .status import RunStatus


def why_stopped(ex: Execution, exc: BaseException) -> tuple[RunStatus, str, str]:
    """What stopped a run early: its status, the message and the event kind to record.

    ``aborted`` for a stop request, a supervision or safety abort, a device fault or any other
    press error, ``interrupted`` for the user's Ctrl-C, ``error`` for anything else (an
    internal error: recorded, then raised by the caller).
    """
    if isinstance(exc, Stopped):
        return RunStatus.ABORTED, f"stopped: {exc}", "stopped"
    if isinstance(exc, SupervisionAbort):
        return RunStatus.ABORTED, who_took_over(ex, str(exc)), "abort"
    if isinstance(exc, SafetyAbort):
        return RunStatus.ABORTED, f"safety: {exc}", "abort"
    if isinstance(exc, DeviceFault):
        return RunStatus.ABORTED, who_took_over(ex, f"device fault: {exc}"), "abort"
    if isinstance(exc, PressError):
        return RunStatus.ABORTED, f"{type(exc).__name__}: {exc}", "abort"
    if isinstance(exc, KeyboardInterrupt):
        return RunStatus.INTERRUPTED, "interrupted by the user", "interrupted"
    return RunStatus.ERROR, f"internal error: {type(exc).__name__}: {exc}", "error"


def who_took_over(ex: Execution, message: str) -> str:
    """``message``, and who took the press over if that is why the run stops (the lease
    names the master that stopped the press or changed its setpoint or limits)."""
    if "behind this run's back" in message or "stopped by" in message or "lease" in message:
        return message  # already the lease's own words
    try:
        ex.press.check_control()
    except Exception as exc:  # noqa: BLE001 - the reason is a bonus; the link may be gone
        return f"{message}; {exc}" if isinstance(exc, PressError) else message
    return message


def disarm_if_released(ex: Execution, watchdog_ms: int) -> None:
    """After a protocol that ends released, the host may go away: disarm the watchdog.

    A protocol that ends under load keeps it armed, so the press goes to its safe state when
    the host stops supervising it.
    """
    last = ex.sampler.last_sample
    if watchdog_ms and last is not None and last.status & Status.RELEASED:
        ex.press.configure(watchdog_ms=0)


def abort(ex: Execution, message: str, kind: str = "abort") -> None:
    """Safe state first, then the record: a failed verdict and an event."""
    ex.press.safe_state()
    ex.event(kind, message)
    name = ex.step_label[0] or "run"
    verdict = Verdict(
        step=name,
        criterion="completed",
        value=0.0,
        limit=1.0,
        unit="",
        passed=False,
        detail=message,
        t_s=ex.now(),
    )
    ex.verdicts.append(verdict)
    ex.sink.verdict(verdict)


__all__ = ["abort", "disarm_if_released", "who_took_over", "why_stopped"]
