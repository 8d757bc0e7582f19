"""Who is at a press's controls, and what the press does when its host goes away.

A protocol chooses its loss-of-host policy with ``on_host_loss``:

* ``release`` (the default): the press's watchdog trips into the safe state and the cell's
  pressure drops; the run cannot be taken up again.
* ``hold``: the press keeps regulating at its active setpoint (a ramp stops where it is,
  never above the soft max it was accepted under), raises its host-loss alarm and keeps the
  control lease for the same host, which may reattach (``presshil run --resume``).

:class:`PressConfig` is what a press reports of its configuration, for a resumed run to
check that the press is still where the run left it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HostLossPolicy = Literal["release", "hold"]
#: the ``on_host_loss`` values, in register order (holding register 13: 0 release, 1 hold)
HOST_LOSS_POLICIES: tuple[HostLossPolicy, ...] = ("release", "hold")


@dataclass(frozen=True, slots=True)
class PressConfig:
    """A press's configuration and control state, as read back from the press."""

    soft_max_mpa: float
    die_area_mm2: float
    watchdog_ms: int
    on_host_loss: HostLossPolicy
    #: the press lost its host and holds (the host-loss alarm)
    host_lost: bool
    #: who holds the control lease ("" when nobody does)
    lease_holder: str = ""


def check_policy(policy: str) -> HostLossPolicy:
    """``policy`` if it is a known ``on_host_loss`` value, else a one-line ``ValueError``."""
    if policy not in HOST_LOSS_POLICIES:
        raise ValueError(
            f"on_host_loss {policy!r} unknown: allowed {' | '.join(HOST_LOSS_POLICIES)}"
        )
    return policy  # type: ignore[return-value]


__all__ = ["HOST_LOSS_POLICIES", "HostLossPolicy", "PressConfig", "check_policy"]
