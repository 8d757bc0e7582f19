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

Node ids may name their namespace by URI (``nsu=URI;i=…``): they are resolved against the
server's NamespaceArray at connect and after every reconnect, and every node is checked at
connect (:mod:`presshil.profiles.opcua_check`) before anything is written.

A server that goes away is reconnected to by asyncua's own supervisor (``auto_reconnect``,
backing off up to 2 s between attempts, the session reactivated or created anew and the
subscription recreated); until then a request is a ``TransportError``, and so is a status
code that says the session is gone (:func:`presshil.maps.opcua_nodes.is_connection_loss`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState

from ..errors import DeviceFault, TransportError, TransportTimeout
from ..loop_thread import LoopThread
from ..maps.opcua_nodes import is_connection_loss, shown
from ..maps.profile import COMMANDS, Profile
from ..state import Sample
from ..url_schemes import OPCUA_KEYS
from ..urls import PressURL
from .base import ProfilePress, Values
from .opcua_check import NodePlan, convert, plan_nodes
from .opcua_security import ClientSecurity
from .operator import OperatorPrompts

KEYS = OPCUA_KEYS  # registered with the opcua:// scheme
#: what a refused session suggests, by whether this client asked for security
_REFUSED_HINT = {
    False: " (a server that requires security needs cert=, key= and ca= in the URL)",
    True: " (check that ca= trusts the server's certificate, that the server trusts this "
    "client's, and that both offer the same security= and security_mode=)",
}
#: longest wait between two reconnection attempts to a lost server
RECONNECT_MAX_DELAY_S = 2.0
#: least time allowed for the node checks at connect (a dozen requests or more)
SETUP_TIMEOUT_S = 15.0


class _Changes:
    """Subscription handler: keeps the latest value (and status) of every monitored node, and
    the newest SourceTimestamp with the press-clock time it arrived (``now``)."""

    def __init__(self, names: dict[str, str], now: Callable[[], float]) -> None:
        self.names = names
        self.now = now
        self.latest: dict[str, float] = {}
        #: signal name -> the bad status the server last reported for its monitored item
        self.bad: dict[str, str] = {}
        self.stamps = Stamps()
        self.event = threading.Event()

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        name = self.names.get(node.nodeid.to_string())
        if name is None:
            return
        value = data.monitored_item.Value
        status = value.StatusCode
        if status is not None and not status.is_good():
            self.bad[name] = status.name
            return
        self.bad.pop(name, None)
        self.latest[name] = val
        source = posix_s(value.SourceTimestamp)
        if source is not None:
            self.stamps.update(name, source, self.now())
        if len(self.latest) == len(self.names):
            self.event.set()


class Stamps:
    """The device time of the latest values: the newest SourceTimestamp among the signals,
    with when it arrived. One signal's timestamp going back (the PLC clock stepped back) makes
    that the device time, so the sampler sees the step; the other signals' timestamps, from
    the old clock, are forgotten."""

    def __init__(self) -> None:
        self.by_signal: dict[str, float] = {}
        #: (device time, its arrival on the press clock); (None, None) until a stamp is seen
        self.stamp: tuple[float | None, float | None] = (None, None)

    def update(self, name: str, source_s: float, received_s: float) -> None:
        """One signal's value stamped ``source_s`` arrived at ``received_s``."""
        previous = self.by_signal.get(name)
        if previous is not None and source_s < previous:
            self.by_signal = {name: source_s}
            self.stamp = (source_s, received_s)
            return
        self.by_signal[name] = source_s
        newest = self.stamp[0]
        if newest is None or source_s >= newest:
            self.stamp = (source_s, received_s)

    def update_all(self, sources: dict[str, float], received_s: float) -> None:
        """Every signal of one polled read, received together at ``received_s``."""
        back = {n: t for n, t in sources.items() if n in self.by_signal and t < self.by_signal[n]}
        if back:
            self.by_signal = back
        else:
            self.by_signal.update(sources)
        newest = max((back or sources).values(), default=None)
        self.stamp = (newest, received_s) if newest is not None else (None, None)


def posix_s(stamp: datetime | None) -> float | None:
    """An OPC UA timestamp as POSIX seconds (a naive datetime is UTC, as OPC UA's are); None
    for a missing one or OPC UA's "no time" (1601-01-01)."""
    if stamp is None:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    t = stamp.timestamp()
    return t if t > 0 else None


class OpcUaProfilePress(ProfilePress):
    """A press behind an OPC UA server, described by a profile.

    ``check_nodes=False`` skips the node checks at connect (node ids are still resolved);
    only for measuring what the checks cost.
    """

    def __init__(
        self,
        parsed: PressURL,
        profile: Profile,
        *,
        operator: OperatorPrompts | None = None,
        check_nodes: bool = True,
    ) -> None:
        super().__init__(parsed.raw, profile, operator=operator)
        parsed.check_keys(KEYS)
        self._timeout_s = parsed.get_float("timeout", 1.0)
        self.mode = parsed.query.get("mode", "subscribe")
        if self.mode not in ("poll", "subscribe"):
            raise TransportError(f"{self.url}: mode must be poll or subscribe, not {self.mode!r}")
        self._publish_ms = parsed.get_float("publish_ms", 10.0)
        timestamps = parsed.query.get("timestamps", "source")
        if timestamps not in ("source", "arrival"):
            raise TransportError(f"{self.url}: timestamps must be source or arrival, not {timestamps!r}")
        # samples are placed where the PLC measured them (SourceTimestamp) unless asked not to
        self.capabilities = replace(self.capabilities, source_time=timestamps == "source")
        #: (newest SourceTimestamp as POSIX seconds, its arrival on the press clock) of the
        #: last read; (None, None) where the server stamps nothing
        self._stamp: tuple[float | None, float | None] = (None, None)
        self._polled = Stamps()
        #: the node checks and the nameplate are many requests in one step, made once
        self._setup_s = max(SETUP_TIMEOUT_S, self._timeout_s * 10)
        self._endpoint = f"opc.tcp://{parsed.target}"
        security = ClientSecurity.from_url(parsed)
        self._trust: Any = None
        self._loop = LoopThread()
        #: state changes of the client seen so far, and sessions established (the first is 1):
        #: a request that spans a change ran while the link was being re-established
        self._state_changes = 0
        self._sessions = 1
        self._resolved_session = 1
        self._watch: Any = None
        self._subscribed: _Changes | None = None
        self._sub: Any = None
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
            self.plan: NodePlan = self._run(
                plan_nodes(self._client, profile, check=check_nodes), "check nodes", timeout_s=self._setup_s
            )
            if profile.device.identify == "nameplate":
                self._read_nameplate()
            self._watch = self._loop.run(self._start_watch())
            self._names = list(profile.signals)
            self._use_plan(self.plan)
        except BaseException:
            self.close()
            raise

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

    def _read_nameplate(self) -> None:
        """The identity from the server's Identification; the profile's strings fill gaps."""
        from dataclasses import replace

        from .opcua_nameplate import read_nameplate

        ident = self.profile.device.identification
        found = self._run(read_nameplate(self._client, self.plan.namespaces, ident), "read the nameplate", timeout_s=self._setup_s)
        self._identity = replace(self._identity, **found)

    async def _start_watch(self) -> Any:
        """Count the client's state changes, and the sessions it re-establishes, in its loop
        (the loop's close cancels the task)."""
        async def watch() -> None:
            async with self._client.uaclient.subscribe_state() as sub:
                while True:
                    state = await sub.next_change()
                    self._state_changes += 1
                    if state is UaClientState.CONNECTED:
                        self._sessions += 1  # a namespace index may have moved meanwhile

        return asyncio.get_running_loop().create_task(watch())

    def _use_plan(self, plan: NodePlan) -> None:
        """Read through ``plan``'s nodes (a new subscription in subscribe mode)."""
        self.plan = plan
        self._nodes = [self._client.get_node(plan.signals[n]) for n in self._names]
        if self.mode != "subscribe":
            return
        changes = _Changes({plan.signals[n].to_string(): n for n in self._names}, self._clock.now)
        old = self._sub

        async def subscribe() -> Any:
            sub = await self._client.create_subscription(self._publish_ms, changes)
            handles = await sub.subscribe_data_change(self._nodes)
            refused = [
                f"signal '{n}' ({shown(self.profile.signals[n].node or '', plan.signals[n])}): {h.name}"
                for n, h in zip(self._names, handles, strict=True)
                if isinstance(h, ua.StatusCode) and not h.is_good()
            ]
            if old is not None:  # a deleted subscription is not recreated by the supervisor
                with contextlib.suppress(Exception):
                    await old.delete()
            return sub, refused

        self._sub, refused = self._run(subscribe(), "subscribe")
        if refused:
            raise TransportError(f"{self.url}: subscription refused: {'; '.join(refused)}")
        self._subscribed = changes
        if not changes.event.wait(self._timeout_s * 5):
            missing = [n for n in self._names if n not in changes.latest]
            why = "; ".join(f"'{n}' {changes.bad[n]}" for n in missing if n in changes.bad)
            raise TransportTimeout(
                f"{self.url}: subscription delivered no values within {self._timeout_s * 5:g} s "
                f"for {', '.join(missing)}" + (f" ({why})" if why else "")
            )

    def _follow_namespaces(self) -> None:
        """After a reconnect, resolve the node ids again: a restarted server may have
        registered its namespaces in another order."""
        if self._sessions == self._resolved_session:
            return
        seen = self._sessions
        plan = self._run(plan_nodes(self._client, self.profile, check=False), "resolve nodes")
        plan.write_types, plan.arg_types = self.plan.write_types, self.plan.arg_types
        if plan.namespaces != self.plan.namespaces:
            self._use_plan(plan)
        self._resolved_session = seen

    def _run(self, coro: Any, what: str, *, timeout_s: float | None = None) -> Any:
        """Run ``coro`` (bounded by ``timeout_s``, default twice the URL's timeout) and map
        asyncua's errors to presshil's."""
        connected = UaClientState.CONNECTED
        before, changes = self._client.uaclient.state, self._state_changes
        try:
            return self._loop.run(coro, timeout_s=timeout_s or self._timeout_s * 2)
        except ua.UaStatusCodeError as exc:
            # a request that met a reconnect (sent before the session was back, the state
            # changed while it ran, or not connected now) may be refused for want of a
            # session: that is the link, not the device
            reconnecting = (
                before is not connected or changes != self._state_changes or self._client.uaclient.state is not connected
            )
            if is_connection_loss(exc.code, reconnecting=reconnecting):
                raise TransportError(f"{self.url}: {what}: {exc} (the session is being re-established)") from None
            raise DeviceFault(f"{self.url}: {what}: {exc}", code=4) from None
        except TimeoutError as exc:
            raise TransportTimeout(f"{self.url}: {what}: no answer within {timeout_s or self._timeout_s:g} s") from exc
        except (OSError, ConnectionError) as exc:
            raise TransportError(f"{self.url}: {what}: {exc}") from None

    def read_values(self, errors: dict[str, str] | None = None) -> tuple[Values, Values]:
        """Every signal: one Read service call (poll) or the subscription's latest values."""
        self._follow_namespaces()
        if self._subscribed is not None:
            latest, bad = self._subscribed.latest, self._subscribed.bad
            if bad and errors is None:
                items = "; ".join(f"signal '{n}' ({self.source(n)}): {s}" for n, s in bad.items())
                raise TransportError(f"{self.url}: subscription reports {items}")
            numbers = [latest.get(n) if n not in bad else bad[n] for n in self._names]
            self._stamp = self._subscribed.stamps.stamp
        else:
            data = self._run(self._client.read_attributes(self._nodes), "read signals")
            numbers = [d.Value.Value if d.Value is not None else None for d in data]
            sources = {n: posix_s(d.SourceTimestamp) for n, d in zip(self._names, data, strict=True)}
            self._polled.update_all({n: t for n, t in sources.items() if t is not None}, self._clock.now())
            self._stamp = self._polled.stamp
        raw: Values = {}
        values: Values = {}
        conv = self.map.converters
        for name, number in zip(self._names, numbers, strict=True):
            try:
                x = float(number)  # type: ignore[arg-type]  # None and odd types are caught
            except (TypeError, ValueError):
                message = f"signal '{name}' ({self.source(name)}) is {number!r}, not a number"
                if errors is not None:
                    errors[name] = message
                    continue
                raise TransportError(f"{self.url}: {message}") from None
            raw[name] = x
            values[name] = conv[name].to_canonical(x)
        return raw, values

    def read(self) -> Sample:
        """Every signal, with when the PLC measured the newest of them (its SourceTimestamp)
        and when that reached this host."""
        sample = super().read()
        source, received = self._stamp
        return replace(sample, source_time_s=source, received_s=received) if source is not None else sample

    def source(self, name: str) -> str:
        """The signal's node as written, with the index a ``nsu=`` URI resolved to."""
        plan = getattr(self, "plan", None)
        node = self.profile.signals[name].node or ""
        return shown(node, plan.signals.get(name) if plan is not None else None)

    def _variant(self, name: str, value: float) -> ua.Variant:
        vtype = self.plan.write_types.get(name, ua.VariantType.Double)
        try:
            return ua.Variant(convert(value, vtype), vtype)
        except ValueError as exc:
            raise DeviceFault(f"{self.url}: {name}: {exc}; nothing written", code=3) from None

    def _arguments(self, name: str, device: dict[str, float]) -> list[ua.Variant]:
        """A method's input arguments: value commands in their device units, or constants."""
        cmd = self.profile.commands[name]
        types = self.plan.arg_types.get(name, ())
        out = []
        for i, arg in enumerate(cmd.args or []):
            vtype = types[i] if i < len(types) else ua.VariantType.Double
            if isinstance(arg, str) and arg in self.profile.commands:
                if arg not in device:
                    raise DeviceFault(f"{self.url}: {name}: argument '{arg}' was not given; nothing written", code=3)
                value: object = device[arg]
            else:
                value = arg
            try:
                out.append(ua.Variant(convert(value, vtype), vtype))
            except ValueError as exc:
                raise DeviceFault(f"{self.url}: {name}: argument {i + 1}: {exc}; nothing written", code=3) from None
        return out

    def send(self, what: str, items: list[tuple[str, float | None]]) -> None:
        """Value commands in one Write service call, then each method call (with its
        arguments). Values a method takes as arguments are passed to it, not written."""
        self._follow_namespaces()
        cmds = self.profile.commands
        device: dict[str, float] = {}
        for name, value in items:
            if COMMANDS[name] != "const" and value is not None:
                device[name] = float(self.map.converters["cmd:" + name].to_raw(value))
        as_args = {a for name, _ in items for a in (cmds[name].args or []) if isinstance(a, str)}
        nodes, variants, calls = [], [], []
        for name, value in items:
            if COMMANDS[name] == "const" or value is None:
                cmd = cmds[name]
                if cmd.method is not None:
                    calls.append((name, self._arguments(name, device)))
                else:
                    nodes.append(self._client.get_node(self.plan.variables[name]))
                    variants.append(self._variant(name, float(cmd.value or 0.0)))
            elif name not in as_args or name not in self.plan.variables:
                nodes.append(self._client.get_node(self.plan.variables[name]))
                variants.append(self._variant(name, device[name]))

        async def go() -> None:
            if nodes:
                await self._client.write_values(nodes, variants)
            for name, args in calls:
                obj, meth = self.plan.methods[name]
                await self._client.get_node(obj).call_method(meth, *args)

        self._run(go(), what)

    def send_heartbeat(self, value: int) -> None:
        """Write the heartbeat variable."""
        self._follow_namespaces()
        node = self._client.get_node(self.plan.variables["heartbeat"])
        self._run(node.write_value(self._variant("heartbeat", float(value))), "heartbeat")

    def close(self) -> None:
        """Disconnect and stop the client's loop."""
        with contextlib.suppress(Exception):  # closing must not raise
            self._loop.run(self._client.disconnect(), timeout_s=2.0)
        self._loop.close()
        if self._trust is not None:
            self._trust.close()
            self._trust = None


__all__ = ["OpcUaProfilePress"]
