"""The control lease: one master at the controls of a served device at a time.

A master claims the lease by writing a non-zero session token (the press's holding
register 12), or implicitly with its first heartbeat while the watchdog is armed and nobody
holds the lease. It holds the lease while it keeps feeding the watchdog: after
:attr:`ControlLease.expiry_s` without a heartbeat from the holder (or the watchdog timeout,
if longer) the lease is free again. Writing token 0 releases it. An implicit lease also ends
when the watchdog is disarmed or the holder's TCP connection closes; a token lease survives
both until it expires, so a master that reconnects (a new TCP port) takes it back by writing
the same token.

A wire whose masters are sessions (OPC UA) claims with ``claims=True``: the session's first
commanding write claims a free lease whether or not the watchdog is armed, and that lease is
*bound*: it lasts until the session's connection ends (:meth:`ControlLease.disconnected`),
or, with the watchdog armed, lapses like any other when the holder has written nothing for
the lease's lifetime.

While another master holds the lease, a master may read everything and may always STOP
(a stop is never refused: safety first, like any station's e-stop); every other write is
refused with exception 01 (illegal function: "not allowed for you", as Modbus/TCP Security
answers an unauthorised request; 04 would tell the master the device itself failed).
The lease records who holds it and who last stopped the press, for any master to read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .master import Master

#: a lease lapses after this long without a heartbeat from its holder (or the watchdog's
#: timeout, when that is longer)
LEASE_EXPIRY_S = 3.0
ILLEGAL_FUNCTION = 1


class LeaseRefused(Exception):
    """A write refused because another master holds the lease; ``code`` is 01."""

    def __init__(self, text: str) -> None:
        self.code = ILLEGAL_FUNCTION
        self.text = text
        super().__init__(f"exception 01: {text}")


@dataclass(frozen=True)
class LeaseView:
    """What the lease registers show."""

    holder: Master | None
    last_stop: Master | None
    #: accepted changes of setpoint, rate, limits, watchdog or die area (wraps at 65536)
    config_generation: int
    #: writes refused because of the lease (wraps at 65536)
    refused: int


class ControlLease:
    """Who controls the device; thread-safe (servers of several wires share one)."""

    def __init__(
        self, expiry_s: float = LEASE_EXPIRY_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.expiry_s = expiry_s
        self.watchdog_s = 0.0
        self._clock = clock
        self._lock = threading.Lock()
        self._holder: Master | None = None
        self._token = 0
        self._fed_at = 0.0
        self._last_stop: Master | None = None
        self._generation = 0
        self._refused = 0
        self._pinned = False
        #: the holder claimed with a commanding write of its session (``claims``): the lease
        #: needs no armed watchdog and ends with the session
        self._bound = False
        #: the address of a holder whose connection ended, and when: its reconnect keeps a
        #: slot under the connection cap for the lease's lifetime
        self._left: tuple[str, float] | None = None

    # --- state ----------------------------------------------------------------------------
    def pin(self) -> None:
        """Keep a token lease until its holder reclaims or releases it (host lost, holding)."""
        with self._lock:
            if self._current() is not None and self._token != 0:
                self._pinned = True

    def _current(self) -> Master | None:
        if self._pinned:
            return self._holder
        unwatched = self.watchdog_s <= 0
        implicit_off = self._token == 0 and unwatched and not self._bound
        # a bound lease without a watchdog has no heartbeat to lapse by: its session ends it
        lapsed = not (self._bound and unwatched) and (
            self._clock() - self._fed_at > max(self.expiry_s, self.watchdog_s)
        )
        if self._holder is not None and (implicit_off or lapsed):
            self._holder, self._token, self._bound = None, 0, False
        return self._holder

    @property
    def holder(self) -> Master | None:
        """The master holding the lease, or None."""
        with self._lock:
            return self._current()

    def reserved_for(self, host: str) -> bool:
        """Whether ``host`` holds the lease, or held it when its connection ended no longer
        ago than the lease lasts (it is reconnecting): a server keeps it a connection slot."""
        with self._lock:
            holder = self._current()
            if holder is not None and holder.host == host:
                return True
            left = self._left
            window = max(self.expiry_s, self.watchdog_s)
            return left is not None and left[0] == host and self._clock() - left[1] <= window

    def view(self) -> LeaseView:
        """A snapshot for the registers."""
        with self._lock:
            return LeaseView(self._current(), self._last_stop, self._generation, self._refused)

    # --- requests -------------------------------------------------------------------------
    def claim(self, master: Master, token: int) -> None:
        """Claim (``token`` ≠ 0) or release (0) the lease; :class:`LeaseRefused` if held."""
        with self._lock:
            holder = self._current()
            if token == 0:
                if holder is not None and holder != master:
                    self._refuse(f"lease held by {holder}: only its holder may release it")
                self._holder, self._token, self._pinned, self._bound = None, 0, False, False
                return
            if holder is not None and holder != master and token != self._token:
                self._refuse(f"lease held by {holder}")
            self._holder, self._token, self._fed_at = master, token, self._clock()
            self._pinned = self._bound = False

    def check_write(
        self,
        master: Master,
        names: set[str],
        *,
        stop: bool,
        heartbeat: bool,
        stop_only: bool | None = None,
        claims: bool = False,
    ) -> bool:
        """Allow a write of ``names`` by ``master``, or raise :class:`LeaseRefused`.

        Returns whether the write's heartbeat may feed the watchdog. A heartbeat from a
        master while the lease is free claims it; with ``claims`` (a session's commanding
        write) any write does, and the lease is bound to the session. A write of only a STOP
        command (and its heartbeat) is always allowed; its heartbeat then feeds nothing.
        """
        with self._lock:
            holder = self._current()
            if holder is None and (claims or (heartbeat and self.watchdog_s > 0)):
                self._holder, self._token, self._fed_at = master, 0, self._clock()
                self._bound = claims
                holder = master
            if holder is None or holder == master:
                # a session's every accepted write is its sign of life: arming the watchdog
                # later does not lapse a lease claimed before, between two heartbeats
                if heartbeat or (self._bound and holder == master):
                    self._fed_at = self._clock()
                if stop:
                    self._last_stop = master
                return True
            only_stop = names <= {"command", "heartbeat"} if stop_only is None else stop_only
            if stop and only_stop:
                self._last_stop = master
                return False
            self._refuse(f"lease held by {holder}; {master} may read and STOP only")
        return False  # unreachable: _refuse raises

    def disconnected(self, master: Master) -> None:
        """``master``'s connection is gone: an implicit lease (no token) ends with it; a
        token lease stays until it expires, so its holder can reconnect and take it back."""
        with self._lock:
            if self._holder == master:
                if master.host:
                    self._left = (master.host, self._clock())
                if self._token == 0:
                    self._holder, self._bound = None, False

    def changed_config(self) -> None:
        """Count one accepted change of setpoint, rate, limits, watchdog or die area."""
        with self._lock:
            self._generation = (self._generation + 1) & 0xFFFF

    def _refuse(self, text: str) -> None:
        self._refused = (self._refused + 1) & 0xFFFF
        raise LeaseRefused(text)


__all__ = ["LEASE_EXPIRY_S", "ControlLease", "LeaseRefused", "LeaseView"]
