"""A profile-driven press on OPC UA (asyncua): signals are variables, commands are variable
writes or method calls.

URL: ``opcua://HOST:PORT/PATH?profile=NAME_OR_PATH&timeout=1&mode=subscribe``.
``mode=subscribe`` (the default) keeps a subscription (``publish_ms``, default 10) and
:meth:`read` returns the latest values it delivered — no round trip, values at most one
publishing interval old, a stopped server caught by the counter's staleness check;
``mode=poll`` reads every signal in one Read service call per :meth:`read`. On loopback a
subscribed read costs microseconds against about a millisecond for a polled one
(benchmarks/bench_profiles.py measures both), hence the default.

A secured server (signed and encrypted sessions, certificates both ways) takes
``cert=CLIENT.pem&key=CLIENT.key&ca=TRUSTED.pem`` and optionally ``security=`` and
``security_mode=`` (see :mod:`presshil.profiles.opcua_security`).

A server that goes away is reconnected to by asyncua's own supervisor (``auto_reconnect``,
backing off up to 2 s between attempts, the session reactivated or created anew and the
subscription recreated); until then a request is a ``TransportError``.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from asyncua import Client, ua

from ..errors import DeviceFault, TransportError, TransportTimeout
from ..serving.loop import LoopThread
from ..urls import PressURL
from .base import ProfilePress, Values
from .model import COMMANDS, Profile
from .opcua_security import SECURITY_KEYS, ClientSecurity
from .operator import OperatorPrompts

KEYS = {"profile", "timeout", "mode", "publish_ms"} | SECURITY_KEYS
#: what a refused session suggests, by whether this client asked for security
_REFUSED_HINT = {
    False: " (a server that requires security needs cert=, key= and ca= in the URL)",
    True: " (check that ca= trusts the server's certificate, that the server trusts this "
    "client's, and that both offer the same security= and security_mode=)",
}
#: longest wait between two reconnection attempts to a lost server
RECONNECT_MAX_DELAY_S = 2.0


class _Changes:
    """Subscription handler: keeps the latest value of every node."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.latest: dict[str, float] = {}
        self.event = threading.Event()

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        self.latest[self.names[node.nodeid.to_string()]] = val
        if len(self.latest) == len(self.names):
            self.event.set()


class OpcUaProfilePress(ProfilePress):
    """A press behind an OPC UA server, described by a profile."""

    def __init__(self, parsed: PressURL, profile: Profile, *, operator: OperatorPrompts | None = None) -> None:
        super().__init__(parsed.raw, profile, operator=operator)
        parsed.check_keys(KEYS)
        self._timeout_s = parsed.get_float("timeout", 1.0)
        self.mode = parsed.query.get("mode", "subscribe")
        if self.mode not in ("poll", "subscribe"):
            raise TransportError(f"{self.url}: mode must be poll or subscribe, not {self.mode!r}")
        self._endpoint = f"opc.tcp://{parsed.target}"
        security = ClientSecurity.from_url(parsed)
        self._trust: Any = None
        self._loop = LoopThread()
        # a lost server is reconnected in the background (subscriptions recreated); reads and
        # writes in between fail as transport errors, which the run's sampler retries within
        # its budget, and a subscription's values meanwhile are caught as stale by the counter
        self._client = Client(
            self._endpoint,
            timeout=self._timeout_s,
            auto_reconnect=True,
            reconnect_max_delay=RECONNECT_MAX_DELAY_S,
        )
        try:
            if security is not None:
                self._trust = self._loop.run(security.apply(self._client, parsed.raw))
            self._connect(secured=security is not None)
        except BaseException:
            self._loop.close()
            if self._trust is not None:
                self._trust.close()
            raise
        self._names = list(profile.signals)
        self._nodes = [self._client.get_node(profile.signals[n].node) for n in self._names]
        self._changes: _Changes | None = None
        if self.mode == "subscribe":
            self._changes = _Changes({profile.signals[n].node or "": n for n in self._names})
            publish_ms = parsed.get_float("publish_ms", 10.0)

            async def subscribe() -> None:
                sub = await self._client.create_subscription(publish_ms, self._changes)
                await sub.subscribe_data_change(self._nodes)

            self._run(subscribe(), "subscribe")
            if not self._changes.event.wait(self._timeout_s * 5):
                raise TransportTimeout(f"{self.url}: subscription delivered no values within {self._timeout_s * 5:g} s")

    def _connect(self, *, secured: bool) -> None:
        """Open the session; a refusal (no endpoint of this security, an untrusted
        certificate either way) is a transport error that says which."""
        try:
            self._run(self._client.connect(), "connect")
        except DeviceFault as exc:  # a status code during connect: the session was refused
            raise TransportError(f"{exc}{_REFUSED_HINT[secured]}") from None
        except ua.UaError as exc:
            raise TransportError(f"{self.url}: connect: {exc}{_REFUSED_HINT[secured]}") from None
        except ValueError as exc:  # asyncua's check of a server certificate it cannot read
            raise TransportError(f"{self.url}: connect: {exc}") from None

    def _run(self, coro: Any, what: str) -> Any:
        try:
            return self._loop.run(coro, timeout_s=self._timeout_s * 2)
        except ua.UaStatusCodeError as exc:
            raise DeviceFault(f"{self.url}: {what}: {exc}", code=4) from None
        except TimeoutError as exc:
            raise TransportTimeout(f"{self.url}: {what}: no answer within {self._timeout_s:g} s") from exc
        except (OSError, ConnectionError) as exc:
            raise TransportError(f"{self.url}: {what}: {exc}") from None

    def read_values(self, errors: dict[str, str] | None = None) -> tuple[Values, Values]:
        """Every signal: one Read service call (poll) or the subscription's latest values."""
        if self._changes is not None:
            latest = self._changes.latest
            numbers = [latest[n] for n in self._names]
        else:
            numbers = self._run(self._client.read_values(self._nodes), "read signals")
        raw: Values = {}
        values: Values = {}
        conv = self.map.converters
        for name, number in zip(self._names, numbers, strict=True):
            try:
                x = float(number)
            except (TypeError, ValueError):
                message = f"signal '{name}' ({self.profile.signals[name].node}) is {number!r}, not a number"
                if errors is not None:
                    errors[name] = message
                    continue
                raise TransportError(f"{self.url}: {message}") from None
            raw[name] = x
            values[name] = conv[name].to_canonical(x)
        return raw, values

    def send(self, what: str, items: list[tuple[str, float | None]]) -> None:
        """Value commands in one Write service call, then each method call."""
        cmds = self.profile.commands
        nodes, numbers, calls = [], [], []
        for name, value in items:
            cmd = cmds[name]
            if COMMANDS[name] == "const" or value is None:
                calls.append(cmd)
                continue
            nodes.append(self._client.get_node(cmd.node))
            numbers.append(ua.Variant(float(self.map.converters["cmd:" + name].to_raw(value)), ua.VariantType.Double))

        async def go() -> None:
            if nodes:
                await self._client.write_values(nodes, numbers)
            for cmd in calls:
                if cmd.method is not None:
                    await self._client.get_node(cmd.node).call_method(ua.NodeId.from_string(cmd.method))
                else:
                    await self._client.get_node(cmd.node).write_value(ua.Variant(float(cmd.value or 0), ua.VariantType.Double))

        self._run(go(), what)

    def send_heartbeat(self, value: int) -> None:
        """Write the heartbeat variable."""
        hb = self.profile.heartbeat
        assert hb is not None and hb.node is not None
        node = self._client.get_node(hb.node)
        self._run(node.write_value(ua.Variant(float(value), ua.VariantType.Double)), "heartbeat")

    def close(self) -> None:
        """Disconnect and stop the client's loop."""
        with contextlib.suppress(Exception):  # closing must not raise
            self._loop.run(self._client.disconnect(), timeout_s=2.0)
        self._loop.close()
        if self._trust is not None:
            self._trust.close()
        if self._trust is not None:
            self._trust.close()


__all__ = ["OpcUaProfilePress"]
