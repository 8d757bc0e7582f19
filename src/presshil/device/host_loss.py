"""The press's side of ``on_host_loss``: what it does when its host stops feeding it.

``release`` (0, the default) is the watchdog of map v1: the press trips into its safe state
(WATCHDOG_TRIPPED|FAULT) and the cell's pressure drops. ``hold`` (1) is for long runs that
must survive their host: when the watchdog timeout passes without a heartbeat the press
holds the active setpoint — a ramp in progress stops where it is, within the soft max it was
accepted under — raises the host-loss alarm (input register 160) and keeps the control
lease pinned to its holder, so that only the same host (its session token) may take the run
up again. A heartbeat from the holder clears the alarm; STOP is still accepted from anyone.
"""

from __future__ import annotations

import time
from collections.abc import Callable

RELEASE, HOLD = 0, 1
POLICIES = {RELEASE: "release", HOLD: "hold"}


class HostLossGuard:
    """Watches the heartbeat for the ``hold`` policy (the model's watchdog is off then)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = RELEASE
        self.watchdog_ms = 0
        self._clock = clock
        self._last_beat = clock()
        #: the host is lost: the press holds and the alarm is up
        self.alarm = False
        #: how many times the host was lost since start (wraps at 65536)
        self.losses = 0

    def model_watchdog_ms(self) -> int:
        """The watchdog the model itself should run: off while this guard holds instead."""
        return 0 if self.policy == HOLD else self.watchdog_ms

    def beat(self) -> None:
        """A heartbeat from the host (clears the alarm)."""
        self._last_beat = self._clock()
        self.alarm = False

    def due(self) -> bool:
        """Whether the host has just been lost (the press should hold now)."""
        if self.policy != HOLD or self.watchdog_ms <= 0 or self.alarm:
            return False
        if (self._clock() - self._last_beat) * 1000.0 < self.watchdog_ms:
            return False
        self.alarm = True
        self.losses = (self.losses + 1) & 0xFFFF
        return True


__all__ = ["HOLD", "POLICIES", "RELEASE", "HostLossGuard"]
