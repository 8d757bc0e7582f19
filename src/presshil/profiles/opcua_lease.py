"""The control lease on the OPC UA endpoint: one session at the controls of the press.

The lease is the virtual press's own (:class:`presshil.serving.lease.ControlLease`, the one
every wire of the press shares); here its master is an OPC UA session
(:attr:`~presshil.serving.master.Link.OPC_UA`, named by its session id). A session claims
the lease with its first commanding write (a command variable or the heartbeat) or method
call (every method but STOP); the lease is bound to the session and ends when the session's
connection ends (closed, timed out, or lost: a session that asyncua keeps for its
subscriptions holds it again with its next commanding write, if nobody took it meanwhile).

While one session holds the lease, another may read and browse everything and may always
call STOP; its other commanding writes and calls are answered ``BadUserAccessDenied``, the
status OPC UA gives a request this user may not make (the request itself is well formed and
the device is fine: ``BadRequestNotAllowed`` would reject the whole request, and the
session may not know why). The profiles have no lease-token node, so there is no explicit
(token) lease on OPC UA.

:class:`SessionLease` wraps each new session's ``write``, ``call`` and ``close_session``
(asyncua has no hook that names the session), so that the press sees who asked
(:data:`~presshil.serving.master.current_master`) and the lease is checked before anything
reaches the address space.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from asyncua import ua

from ..serving.lease import ControlLease, LeaseRefused
from ..serving.master import Link, Master, current_master

log = logging.getLogger("presshil.profiles")
#: what a session not holding the lease gets for a commanding write or call
REFUSED = ua.StatusCodes.BadUserAccessDenied


def refusal() -> ua.StatusCode:
    """The answer to a commanding write or call from a session not holding the lease."""
    return ua.StatusCode(ua.UInt32(REFUSED))


@contextmanager
def acting_as(master: Master) -> Iterator[None]:
    """Answer a request as ``master`` (the press's lease and log see it)."""
    reset = current_master.set(master)
    try:
        yield
    finally:
        current_master.reset(reset)


class SessionLease:
    """Puts every session's commanding writes and method calls through the press's lease.

    ``commanding`` maps the node id of each writable command variable (and the heartbeat)
    to its profile name; ``applied`` applies what was just written to the press (as the
    current master). ``lock`` serialises writes with the refresh that publishes state.
    """

    def __init__(
        self,
        server: Any,
        lease: ControlLease,
        commanding: dict[ua.NodeId, str],
        applied: Callable[[], Awaitable[None]],
    ) -> None:
        self.server = server
        self.lease = lease
        self.commanding = commanding
        self.applied = applied
        self.lock = asyncio.Lock()
        #: each live session (by identity) as the master the lease sees
        self._masters: dict[int, Master] = {}

    def install(self) -> None:
        """Wrap every session the server creates from now on."""
        iserver = self.server.iserver
        create = iserver.create_session

        def create_session(name: Any, *args: Any, **kwargs: Any) -> Any:
            session = create(name, *args, **kwargs)
            self._wrap(session, name)
            return session

        iserver.create_session = create_session

    @property
    def connections(self) -> int:
        """How many clients are connected to the endpoint now."""
        return len(getattr(getattr(self.server, "bserver", None), "clients", None) or [])

    def check(self, master: Master, names: set[str], *, stop: bool) -> bool:
        """Whether ``master`` may make a write or call of ``names`` now (a STOP always;
        anything else claims a free lease). A holder whose connection is gone loses it."""
        self.release_if_gone()
        try:
            self.lease.check_write(master, names, stop=stop, heartbeat="heartbeat" in names,
                                   stop_only=stop, claims=not stop)
        except LeaseRefused as exc:
            log.info("OPC UA %s refused: %s", "/".join(sorted(names)), exc.text)
            return False
        return True

    # --- the wrapped services -------------------------------------------------------------
    def _wrap(self, session: Any, peer: Any) -> None:
        host, port = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) and len(peer) >= 2 else ("", 0)
        ident = getattr(session.session_id, "Identifier", session.session_id)
        master = Master(Link.OPC_UA, host, port, name=f"session {ident}")
        self._masters[id(session)] = master
        write, call, close = session.write, session.call, session.close_session

        async def wrapped_write(params: ua.WriteParameters) -> list[ua.StatusCode]:
            with acting_as(master):
                return await self._write(master, write, params)

        async def wrapped_call(params: list[ua.CallMethodRequest]) -> list[ua.CallMethodResult]:
            with acting_as(master):
                return await call(params)

        async def wrapped_close(*args: Any, **kwargs: Any) -> None:
            try:
                await close(*args, **kwargs)
            finally:
                self.lease.disconnected(master)
                self._masters.pop(id(session), None)

        session.write, session.call, session.close_session = wrapped_write, wrapped_call, wrapped_close

    async def _write(self, master: Master, write: Any, params: ua.WriteParameters) -> list[ua.StatusCode]:
        items = list(params.NodesToWrite or [])
        names = {self._commanding(wv) for wv in items} - {None}
        if not names:
            return list(await write(params))
        allowed = self.check(master, {n for n in names if n is not None}, stop=False)
        # the refused items only: a session's reads and other writes are none of the lease's
        passes = [allowed or self._commanding(wv) is None for wv in items]
        passed = [wv for wv, ok in zip(items, passes, strict=True) if ok]
        async with self.lock:
            results = list(await write(ua.WriteParameters(NodesToWrite=passed))) if passed else []
            if allowed:
                await self.applied()
        answers = iter(results)
        return [next(answers) if ok else refusal() for ok in passes]

    def _commanding(self, wv: ua.WriteValue) -> str | None:
        if wv.AttributeId != ua.AttributeIds.Value:
            return None
        return self.commanding.get(wv.NodeId)

    def release_if_gone(self) -> None:
        """End the lease of a session whose connection is gone (asyncua may keep the
        session for its subscriptions; the lease, like any implicit one, ends with the
        connection). Called before every check and by the endpoint's refresh, so the other
        wires of the press see the lease free too."""
        holder = self.lease.holder
        if holder is None or holder.link is not Link.OPC_UA:
            return
        bserver = getattr(self.server, "bserver", None)
        clients = getattr(bserver, "clients", None) or []
        live = {
            id(c.processor.session)
            for c in clients
            if getattr(c, "processor", None) is not None and c.processor.session is not None
        }
        if not any(self._masters.get(s) == holder for s in live):
            self.lease.disconnected(holder)


__all__ = ["REFUSED", "SessionLease", "acting_as", "refusal"]
