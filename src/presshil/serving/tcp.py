"""Modbus TCP (and Modbus/TCP Security over TLS) in front of a pymodbus ``SimDevice``.

pymodbus' datastore, request decoder and response encoding are used as they are; this
module owns the connection handling, because a served press must hold up against any
client on its port:

- at most :attr:`WireLimits.max_connections` connections; a new one over the cap evicts the
  connection idle longest (at least :attr:`WireLimits.evict_idle_s`; never the lease
  holder's), or, if none is that idle, is closed at once — unless it comes from the lease
  holder's address (a reconnect), which always finds a slot;
- a connection idle (no complete request) for :attr:`WireLimits.idle_timeout_s` is closed;
- requests on one connection are answered one by one, in order (pipelining works);
- only the documented function codes are served: 03, 04, 06, 16, 23 and 43/14; any other
  gets ``fc | 0x80`` with exception 01; a quantity of 0 or above the spec's maximum, or a
  malformed request body, gets exception 03;
- bad frames are logged at most once per client, kind and :attr:`WireLimits.log_interval_s`,
  with the number of suppressed repeats;
- every request is answered with :data:`~presshil.serving.master.current_master` set, and
  the master's role is enforced per function code (an observer's write: exception 01, as
  the Modbus/TCP Security profile answers an unauthorised request).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymodbus.framer import FramerSocket
from pymodbus.pdu import DecodePDU, ModbusPDU
from pymodbus.pdu.device import ModbusDeviceIdentification
from pymodbus.pdu.mei_message import ReadDeviceInformationRequest
from pymodbus.simulator.simcore import SimCore

from .master import Link, Master, Role, current_master
from .modbus import identity_reply

log = logging.getLogger("presshil.serving")

READ_HOLDING, READ_INPUT, WRITE_SINGLE, WRITE_MULTIPLE, READ_WRITE, DEVICE_ID_FC = (
    3,
    4,
    6,
    16,
    23,
    43,
)
READ_COILS, READ_DISCRETE, WRITE_COIL, WRITE_COILS = 1, 2, 5, 15
#: function codes served; everything else is answered with exception 01
SERVED = frozenset({READ_HOLDING, READ_INPUT, WRITE_SINGLE, WRITE_MULTIPLE, READ_WRITE, 43})
#: the bit function codes, served where the device has coils or discrete inputs (profiles)
COILS = frozenset({READ_COILS, READ_DISCRETE, WRITE_COIL, WRITE_COILS})
#: function codes that write
WRITES = frozenset({WRITE_SINGLE, WRITE_MULTIPLE, READ_WRITE, WRITE_COIL, WRITE_COILS})
ILLEGAL_FUNCTION, ILLEGAL_VALUE, GATEWAY_TARGET = 1, 3, 0x0B
_MBAP = struct.Struct(">HHHB")


@dataclass(frozen=True)
class WireLimits:
    """What one server allows its clients."""

    max_connections: int = 32
    idle_timeout_s: float = 60.0
    log_interval_s: float = 10.0
    #: the TLS handshake must complete within this
    handshake_timeout_s: float = 10.0
    #: at the cap, a connection idle at least this long is closed to make room for a new one
    evict_idle_s: float = 5.0


class RateLimitedLog:
    """One log line per (client, kind) per interval; repeats in between are counted."""

    def __init__(self, interval_s: float, logger: logging.Logger = log) -> None:
        self.interval_s = interval_s
        self.logger = logger
        self._last: dict[tuple[str, str], float] = {}
        self._suppressed: dict[tuple[str, str], int] = {}

    def bad(self, client: str, kind: str, detail: str) -> None:
        """Note one bad frame of ``kind`` from ``client``; log it unless logged recently."""
        key = (client, kind)
        now = time.monotonic()
        if now - self._last.get(key, -1e18) < self.interval_s:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        if len(self._last) > 4096:  # bounded: forget old clients
            self._last.clear()
            self._suppressed.clear()
        more = self._suppressed.pop(key, 0)
        tail = f" ({more} more since the last line)" if more else ""
        self._last[key] = now
        self.logger.warning("%s: %s: %s%s", client, kind, detail, tail)


#: requests of a fixed 4-byte body: the largest quantity (0: the second word is a value)
_FIXED = {READ_COILS: 2000, READ_DISCRETE: 2000, READ_HOLDING: 125, READ_INPUT: 125, WRITE_COIL: 0, WRITE_SINGLE: 0}
#: multiple writes: the largest quantity and the byte count a quantity takes
_MULTIPLE: dict[int, tuple[int, Callable[[int], int]]] = {
    WRITE_COILS: (1968, lambda q: (q + 7) // 8),
    WRITE_MULTIPLE: (123, lambda q: 2 * q),
}


def _exception(fc: int, code: int) -> bytes:
    return bytes([(fc & 0x7F) | 0x80, code])


def check_request(pdu: bytes, served: frozenset[int] = SERVED) -> tuple[int, str] | None:
    """``(exception code, why)`` for a request PDU the server will not execute, else None."""
    fc = pdu[0]
    if fc not in served:
        return ILLEGAL_FUNCTION, f"function code {fc} is not served"
    body = pdu[1:]
    if fc in _FIXED:  # address + quantity (or value): 4 bytes
        if len(body) != 4:
            return ILLEGAL_VALUE, f"FC{fc:02d} body is {len(body)} bytes, expected 4"
        _, qty = struct.unpack(">HH", body)
        if fc == WRITE_COIL and qty not in (0x0000, 0xFF00):
            return ILLEGAL_VALUE, f"FC05 value {qty:#06x} is neither 0xFF00 nor 0x0000"
        most = _FIXED[fc]
        if most and not 1 <= qty <= most:
            return ILLEGAL_VALUE, f"FC{fc:02d} quantity {qty} outside 1..{most}"
        return None
    if fc in _MULTIPLE:  # address, quantity, byte count, values
        if len(body) < 5:
            return ILLEGAL_VALUE, f"FC{fc:02d} body too short"
        _, qty, nbytes = struct.unpack(">HHB", body[:5])
        most, size = _MULTIPLE[fc]
        if not 1 <= qty <= most or nbytes != size(qty) or len(body) != 5 + nbytes:
            return ILLEGAL_VALUE, f"FC{fc:02d} quantity {qty} / byte count {nbytes} inconsistent"
        return None
    if fc == DEVICE_ID_FC:
        if len(body) != 3 or body[0] != 0x0E:
            return ILLEGAL_FUNCTION, "FC43 serves MEI type 14 (read device identification) only"
        return None
    if len(body) < 9:  # FC23
        return ILLEGAL_VALUE, "FC23 body too short"
    _, rqty, _, wqty, nbytes = struct.unpack(">HHHHB", body[:9])
    if not (1 <= rqty <= 125 and 1 <= wqty <= 121) or nbytes != 2 * wqty:
        return ILLEGAL_VALUE, f"FC23 quantities {rqty}/{wqty} / byte count {nbytes} invalid"
    if len(body) != 9 + nbytes:
        return ILLEGAL_VALUE, "FC23 body length does not match its byte count"
    return None


class ModbusTcpService:
    """A Modbus TCP (or TLS) server for one datastore (pymodbus' ``SimCore``, or anything
    with its ``async_getValues``/``async_setValues``), in an asyncio loop."""

    def __init__(
        self,
        datastore: SimCore | Any,
        *,
        units: frozenset[int],
        device_id: int = 1,
        limits: WireLimits | None = None,
        tls: ssl.SSLContext | None = None,
        role_of: Callable[[bytes | None], Role] | None = None,
        read_only: bool = False,
        on_disconnect: Callable[[Master], None] | None = None,
        functions: frozenset[int] = SERVED,
        identity: ModbusDeviceIdentification | None = None,
        lease: Any = None,
    ) -> None:
        self.datastore = datastore
        #: the device's :class:`~presshil.serving.lease.ControlLease` (None: no lease): its
        #: holder's connection is never evicted and its reconnect always finds a slot
        self.lease = lease
        #: what FC43/14 answers (None: pymodbus' process-wide identity)
        self.identity = identity
        #: the function codes this server answers (the rest: exception 01)
        self.functions = functions
        self.units = units
        self.device_id = device_id
        self.limits = limits or WireLimits()
        self.tls = tls
        self.role_of = role_of
        self.read_only = read_only
        #: called with the master of every connection that ends (the lease forgets it)
        self.on_disconnect = on_disconnect
        self.badlog = RateLimitedLog(self.limits.log_interval_s)
        self.connections: set[asyncio.StreamWriter] = set()
        #: connections whose TLS handshake is in progress
        self._handshaking = 0
        #: each connection's master and when it last completed a request (monotonic)
        self._active: dict[asyncio.StreamWriter, tuple[Master, float]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: connections refused because of the cap, since start
        self.refused = 0
        self._server: asyncio.Server | None = None
        self._decoder = DecodePDU(True)
        self._framer = FramerSocket(DecodePDU(True))

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen on ``host``:``port``; the address actually bound."""
        self._server = await asyncio.start_server(
            self._connection,
            host,
            port,
            # TLS is started per connection (_handshake), so a refused handshake is logged
            reuse_address=True,
            backlog=max(self.limits.max_connections, 16),
        )
        sockname = self._server.sockets[0].getsockname()
        return sockname[0], int(sockname[1])

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
        for writer in list(self.connections):
            writer.transport.abort()
        # an aborted transport ends its handler (end of stream); wait for them, bounded
        tasks = list(self._tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        self.connections.clear()
        if self._server is not None:
            await self._server.wait_closed()

    def reset_all(self) -> int:
        """Abort every connection with a reset (RST); how many (call in the loop)."""
        conns = list(self.connections)
        for writer in conns:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        return len(conns)

    # --- one connection -------------------------------------------------------------------
    def _master(self, writer: asyncio.StreamWriter) -> Master:
        peer = writer.get_extra_info("peername") or ("", 0)
        if self.tls is None:
            return Master(Link.MODBUS_TCP, str(peer[0]), int(peer[1]))
        cert = writer.get_extra_info("peercert")
        sslobj = writer.get_extra_info("ssl_object")
        der = sslobj.getpeercert(binary_form=True) if sslobj is not None else None
        role = self.role_of(der) if self.role_of is not None else Role.OPERATOR
        name = ""
        for rdn in (cert or {}).get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    name = str(value)
        return Master(Link.MODBUS_TLS, str(peer[0]), int(peer[1]), role, name)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        master = self._master(writer)
        client = master.host  # the key of the rate-limited log: a new port is the same client
        busy = len(self.connections) + self._handshaking  # a handshake in progress holds a slot
        if busy >= self.limits.max_connections and not self._make_room(master):
            self.refused += 1
            self.badlog.bad(
                master.host, "connection cap", f"{self.limits.max_connections} open; closed"
            )
            writer.transport.abort()
            return
        if self.tls is not None:
            if not await self._handshake(writer, master.host):
                return
            master = self._master(writer)  # the role and name come from the certificate
        self.connections.add(writer)
        self._active[writer] = (master, time.monotonic())
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        current_master.set(master)  # this task's context: every request of this connection
        idle = self.limits.idle_timeout_s
        try:
            while True:
                async with asyncio.timeout(idle):
                    header = await reader.readexactly(_MBAP.size)
                tid, proto, length, unit = _MBAP.unpack(header)
                if proto != 0 or not 2 <= length <= 254:
                    self.badlog.bad(
                        client, "bad MBAP header", f"protocol {proto}, length {length}; closed"
                    )
                    return  # the stream cannot be resynchronised: close it
                async with asyncio.timeout(idle):
                    pdu = await reader.readexactly(length - 1)
                reply = await self._answer(client, master, tid, unit, pdu)
                self._active[writer] = (master, time.monotonic())
                writer.write(reply)
                async with asyncio.timeout(idle):
                    await writer.drain()
        except TimeoutError:
            log.debug("%s: idle for %g s; closed", client, idle)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            self.connections.discard(writer)
            self._active.pop(writer, None)
            writer.transport.abort()
            if self.on_disconnect is not None:
                self.on_disconnect(master)

    async def _handshake(self, writer: asyncio.StreamWriter, host: str) -> bool:
        """TLS on a new connection; a refusal (other CA, expired, no certificate, not TLS,
        too slow) is logged rate-limited with its reason and the connection closed."""
        assert self.tls is not None
        self._handshaking += 1
        try:
            await writer.start_tls(self.tls, ssl_handshake_timeout=self.limits.handshake_timeout_s)
        except (ssl.SSLError, ConnectionError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or type(exc).__name__
            self.badlog.bad(host, "TLS handshake refused", str(reason)[:200])
            writer.transport.abort()
            return False
        finally:
            self._handshaking -= 1
        return True

    def _make_room(self, newcomer: Master) -> bool:
        """At the cap: close the connection idle longest (if idle long enough and not the
        lease holder's), or let the lease holder's reconnect in over the cap; whether the
        newcomer may stay."""
        holder = self.lease.holder if self.lease is not None else None
        now = time.monotonic()
        idlest = min(
            ((at, w, m) for w, (m, at) in self._active.items() if m != holder and w in self.connections),
            default=None,
            key=lambda item: item[0],
        )
        if idlest is not None and now - idlest[0] >= self.limits.evict_idle_s:
            at, victim, who = idlest
            self.badlog.bad(
                who.host, "connection cap",
                f"{self.limits.max_connections} open; {who} idle {now - at:.0f} s closed for {newcomer}",
            )
            self.connections.discard(victim)
            self._active.pop(victim, None)
            victim.transport.abort()
            return True
        reserved = self.lease is not None and self.lease.reserved_for(newcomer.host)
        # one slot over the cap, kept for the lease holder coming back (a new port)
        return reserved and len(self.connections) <= self.limits.max_connections

    async def _answer(self, client: str, master: Master, tid: int, unit: int, pdu: bytes) -> bytes:
        fc = pdu[0]

        def frame(payload: bytes) -> bytes:
            return _MBAP.pack(tid, 0, len(payload) + 1, unit) + payload

        if unit not in self.units:
            return frame(_exception(fc, GATEWAY_TARGET))
        refused = check_request(pdu, self.functions)
        if refused is not None:
            code, why = refused
            self.badlog.bad(client, f"exception {code:02d}", why)
            return frame(_exception(fc, code))
        if fc in WRITES and (self.read_only or master.role is not Role.OPERATOR):
            why = "read-only server" if self.read_only else "observer certificate"
            self.badlog.bad(client, "write refused", f"FC{fc:02d}: {why}")
            return frame(_exception(fc, ILLEGAL_FUNCTION))
        try:
            request: ModbusPDU | None = self._decoder.decode(pdu)
        except Exception as exc:  # noqa: BLE001 - pymodbus raises several kinds on bad bodies
            self.badlog.bad(client, "undecodable request", str(exc))
            return frame(_exception(fc, ILLEGAL_VALUE))
        if request is None:
            return frame(_exception(fc, ILLEGAL_VALUE))
        try:
            if self.identity is not None and isinstance(request, ReadDeviceInformationRequest):
                response = identity_reply(request, self.identity, self.device_id)
            else:
                response = await request.datastore_update(self.datastore, self.device_id)  # type: ignore[arg-type]
        except Exception:
            log.exception("%s: FC%02d failed", client, fc)
            return frame(_exception(fc, 4))
        response.transaction_id = tid
        response.dev_id = unit
        return bytes(self._framer.buildFrame(response))


__all__ = [
    "COILS",
    "SERVED",
    "WRITES",
    "ModbusTcpService",
    "RateLimitedLog",
    "WireLimits",
    "check_request",
]
