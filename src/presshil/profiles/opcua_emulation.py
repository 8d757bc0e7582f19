"""The device side of an OPC UA profile: an asyncua server in the emulation's loop.

Every signal of the profile is a variable at its node id, refreshed from the simulated press
every ``PERIOD_S``; every value command (setpoint, rate, …) and the heartbeat is a writable
variable whose writes are applied to the press as they arrive; REGULATE, RELEASE, STOP and
RESET are methods of the object their ``node`` names; a method with ``args`` takes them as
input arguments (value commands in their device units, constants as declared).

Commanding writes and calls go through the press's control lease, one session at a time;
STOP is anyone's (:mod:`presshil.profiles.opcua_lease`, ``handle.opcua_lease``).

Namespaces: ``SPARE_NAMESPACES`` spare URIs are registered first, then every ``nsu=`` URI of
the profile (and presshil's own), so the press's namespace index is not the usual 2: a client
that assumes an index is caught. ``ns=N`` node ids of a profile get their index as written.

Every value carries a SourceTimestamp from the emulated PLC's clock (:class:`PlcClock`:
``handle.plc_clock``), which a test may set ahead of the host's and whose values may reach the
address space some time after they were measured.

With the server's TLS files (``--tls-cert``, ``--tls-key``, ``--tls-ca``) only secured
endpoints are offered (see :mod:`presshil.profiles.opcua_security`); without them the
endpoint is NoSecurity, for a bench on a trusted network.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from asyncua import Server, ua

from ..errors import ConfigError
from ..maps.opcua_nodes import DI_URI, Namespaces, parse_node_id, profile_node_texts
from ..maps.press_v1 import PROFILE_COMMANDS
from ..maps.profile import COMMANDS, Profile
from ..serving.loop import parse_hostport
from ..serving.master import current_master
from .opcua_lease import SessionLease, refusal
from .opcua_log import rate_limit_asyncua
from .opcua_server_security import secure_server

log = logging.getLogger("presshil.profiles")
PERIOD_S = 0.005
NAMESPACE = "urn:presshil:press"
#: namespaces registered before the profile's own (a test changes it across a restart)
SPARE_NAMESPACES = 1
#: the map v1 command an OPC UA method runs (a hold_gap method runs none here)
_V1 = {name: code for name, code in PROFILE_COMMANDS.items() if name != "hold_gap"}
_PARAM = {"setpoint": "setpoint", "rate": "ramp_rate", "soft_max": "soft_max_pressure", "die_area": "die_area"}


@dataclass
class PlcClock:
    """The emulated PLC's clock, as its SourceTimestamps say it (changed while serving).

    ``offset_s``: how far the PLC's clock is ahead of the host's; ``delay_s``: how long after
    it measured them the PLC's values reach the server (values and stamps both held back);
    ``stamps=False``: a server that gives no SourceTimestamp.
    """

    offset_s: float = 0.0
    delay_s: float = 0.0
    stamps: bool = True


async def start_opcua(handle: Any, spec: str, bind: str) -> None:
    """Serve ``handle``'s profile on OPC UA at ``spec`` (``HOST:PORT``); runs in the loop."""
    host, port = parse_hostport(spec, bind)
    profile = handle.profile
    store = handle.store
    # a peer's malformed messages: one line per client and kind per interval, no traceback
    rate_limit_asyncua(handle.limits.log_interval_s)
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://{host}:{port}/presshil")
    server.set_server_name(f"{profile.device.vendor} {profile.device.model}")
    trust = None
    if handle.tls is not None:
        trust = await secure_server(server, handle.tls)
    else:
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    names = await _register_namespaces(server, profile)
    idx = names.uris.index(NAMESPACE)
    objects = server.nodes.objects
    parents: dict[str, Any] = {}

    def node_id(text: str) -> ua.NodeId:
        return names.resolve(text)

    async def parent(text: str) -> Any:
        if text not in parents:
            parents[text] = await objects.add_object(node_id(text), ua.QualifiedName(text.split("=")[-1], idx))
        return parents[text]

    writable: dict[str, Any] = {}
    methods: list[tuple[Any, ...]] = []
    sync = _Sync(store, writable)

    async def applied() -> None:
        """Apply what a session just wrote, as that session (its lease was checked)."""
        _apply(store, await sync.collect())

    # filled with the command variables below, before any session can write
    lease = SessionLease(server, store.vp.lease, {}, applied)
    lease.install()
    variables: dict[str, Any] = {}
    for name, sig in profile.signals.items():
        assert sig.node is not None
        variables[name] = await objects.add_variable(node_id(sig.node), ua.QualifiedName(name, idx), 0.0)
    for name, cmd in profile.commands.items():
        if COMMANDS[name] == "const":
            if cmd.method is None:
                continue
            obj = await parent(cmd.node or f"nsu={NAMESPACE};s=Press")
            args = list(cmd.args or [])

            async def method(
                _parent: Any, *inputs: Any, code: int = _V1.get(name, 0), cname: str = name, args: list = args
            ) -> Any:
                # STOP from any session, always; anything else only from the lease's holder
                if not lease.check(current_master.get(), {cname}, stop=cname == "stop"):
                    return refusal()
                if cname == "tare":
                    store.tare_kn = store.vp.sample().force_kn
                    return []
                async with lease.lock:
                    # values written before the call go first; a STOP goes alone, so nothing
                    # pending can make it refused
                    updates = await sync.collect() if cname != "stop" else {}
                    try:
                        for arg, given in zip(args, inputs, strict=False):
                            if isinstance(arg, str) and arg in profile.commands:
                                sync.apply(arg, float(given.Value if isinstance(given, ua.Variant) else given), updates)
                        updates["command"] = code
                        store.vp.apply(updates)
                    except Exception as exc:  # noqa: BLE001 - the caller's arguments, refused
                        # returned, not raised: asyncua logs a traceback for a raised error
                        # and answers BadUnexpectedError instead of the reason
                        log.info("OPC UA call %s refused: %s", cname, exc)
                        return ua.StatusCode(ua.UInt32(ua.StatusCodes.BadInvalidArgument))
                return []

            inargs = [_argument(profile, a, i) for i, a in enumerate(args)]
            # a method's InputArguments property gets the next free numeric id of its
            # namespace: made after every node the profile numbers, it cannot take one's id
            methods.append((obj, node_id(cmd.method), ua.QualifiedName(name, idx), method, inargs))
            continue
        assert cmd.node is not None
        var = await objects.add_variable(node_id(cmd.node), ua.QualifiedName(name, idx), 0.0)
        await var.set_writable()
        writable[name] = var
    if profile.device.identify == "nameplate":
        ident = profile.device.identification
        press_obj = await parent(next((c.node for c in profile.commands.values() if c.method and c.node), f"nsu={NAMESPACE};s=Press"))
        await serve_nameplate(server, press_obj, node_id(ident) if ident else None, profile.device, idx)
    if profile.heartbeat is not None and profile.heartbeat.node is not None:
        var = await objects.add_variable(node_id(profile.heartbeat.node), ua.QualifiedName("heartbeat", idx), 0.0)
        await var.set_writable()
        writable["heartbeat"] = var
    lease.commanding.update({var.nodeid: name for name, var in writable.items()})
    for obj, mid, bname, func, inargs in sorted(methods, key=lambda m: len(m[4])):
        await obj.add_method(mid, bname, func, inargs, [])
    try:
        await server.start()
    except OSError as exc:
        if trust is not None:
            trust.close()
        raise ConfigError(f"cannot listen for OPC UA on {host}:{port}: {exc.strerror}") from None
    handle.plc_clock = PlcClock()
    handle.opcua_lease = lease
    task = asyncio.get_running_loop().create_task(_refresh(store, variables, sync, handle.plc_clock, lease))
    bound_server: Any = server.bserver._server if server.bserver else None  # asyncio.Server
    sockets = bound_server.sockets if bound_server else []
    bound = sockets[0].getsockname()[1] if sockets else port
    handle.endpoints["opcua"] = f"{host}:{bound}/presshil"

    async def shutdown() -> None:
        task.cancel()
        await server.stop()
        if trust is not None:
            trust.close()

    handle.on_stop.append(shutdown)


async def _register_namespaces(server: Server, profile: Profile) -> Namespaces:
    """Spare namespaces, then the profile's URIs and presshil's own; then as many more as
    the highest ``ns=N`` a profile writes needs."""
    for i in range(SPARE_NAMESPACES):
        await server.register_namespace(f"urn:presshil:emulation:spare-{i}")
    uris = [NAMESPACE]
    highest = 0
    for _, text in profile_node_texts(profile):
        node = parse_node_id(text)
        uri = getattr(node, "NamespaceUri", None)
        if uri and uri not in uris:
            uris.append(uri)
        elif not uri:
            highest = max(highest, node.NamespaceIndex)
    for uri in uris:
        await server.register_namespace(uri)
    array = await server.get_namespace_array()
    while len(array) <= highest:
        await server.register_namespace(f"urn:presshil:emulation:index-{len(array)}")
        array = await server.get_namespace_array()
    return Namespaces(tuple(array))


def _argument(profile: Profile, arg: object, i: int) -> ua.Argument:
    """The declared input argument for one of a method's ``args``."""
    out = ua.Argument()
    if isinstance(arg, str) and arg in profile.commands:
        out.Name, vtype = arg, ua.VariantType.Double
    else:
        out.Name = f"arg{i + 1}"
        vtype = {bool: ua.VariantType.Boolean, int: ua.VariantType.Int32, str: ua.VariantType.String}.get(
            type(arg), ua.VariantType.Double
        )
    out.DataType = ua.NodeId(ua.Int32(vtype.value))
    out.ValueRank = -1
    return out


class _Sync:
    """Turns the host's writes to command variables into the press's parameters."""

    def __init__(self, store: Any, writable: dict[str, Any]) -> None:
        self.store = store
        self.writable = writable
        self.seen: dict[str, tuple[object, ...]] = {}

    async def collect(self) -> dict[str, float | int]:
        """The parameters written since the last call (map-v1 names)."""
        updates: dict[str, float | int] = {}
        for name, var in self.writable.items():
            data = await var.read_data_value()
            value = float(data.Value.Value)
            stamp = (value, data.SourceTimestamp, data.ServerTimestamp)
            if stamp == self.seen.get(name):
                continue  # not written since: a device applies every write, even of the same value
            self.seen[name] = stamp
            self.apply(name, value, updates)
        return updates

    def apply(self, name: str, value: float, updates: dict[str, float | int]) -> None:
        """One command's value in device units as the press's parameter (map-v1 names)."""
        from ..maps.profile_state import specimen_from

        store = self.store
        conv = store.map.converters
        if name == "heartbeat":
            updates["heartbeat"] = int(value) & 0xFFFF
        elif name == "watchdog":
            updates["watchdog_timeout"] = int(round(conv["cmd:watchdog"].to_canonical(value) * 1000))
        elif name in _PARAM:
            canonical = conv["cmd:" + name].to_canonical(value)
            if name in ("setpoint", "rate", "soft_max"):
                canonical = specimen_from(store.map.quantities["cmd:" + name], canonical, store._die_mm2(), store.ram_mm2)
            updates[_PARAM[name]] = canonical


def _apply(store: Any, updates: dict[str, float | int]) -> None:
    """Apply written parameters to the press; a value it refuses changes nothing."""
    if updates:
        try:
            store.vp.apply(updates)
        except Exception as exc:  # noqa: BLE001 - refused: the press changed nothing
            log.info("OPC UA write refused: %s", exc)


async def _refresh(store: Any, variables: dict[str, Any], sync: _Sync, clock: PlcClock, lease: SessionLease) -> None:
    """Publish the press's state and apply what was written outside a session, every
    ``PERIOD_S``; each measurement reaches the address space ``clock.delay_s`` after it was
    taken, stamped with the PLC's clock."""
    conv = store.map.converters
    measured: deque[tuple[datetime, dict[str, float]]] = deque()
    while True:
        try:
            sample = store.vp.sample()
            die = store._die_mm2()
            values: dict[str, float] = {}
            for name in variables:
                value = store._value(name, sample, die)
                if name in ("status", "fault_code", "counter"):
                    values[name] = float(value)
                else:
                    values[name] = conv[name].unit.from_canonical(float(value))
            now = datetime.now(UTC)
            measured.append((now + timedelta(seconds=clock.offset_s), values))
            due = None
            while measured and measured[0][0] <= now + timedelta(seconds=clock.offset_s - clock.delay_s):
                due = measured.popleft()
            if due is not None:
                stamp = due[0] if clock.stamps else None
                for name, var in variables.items():
                    await var.write_value(ua.DataValue(ua.Variant(due[1][name], ua.VariantType.Double), SourceTimestamp=cast(Any, stamp)))
            async with lease.lock:  # a session's write is applied as that session, not here
                _apply(store, await sync.collect())
            lease.release_if_gone()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("OPC UA refresh failed")
        await asyncio.sleep(PERIOD_S)


async def serve_nameplate(server: Any, parent: Any, node_id: ua.NodeId | None, device: Any, idx: int) -> None:
    """Add the emulated press's ``Identification`` object (the profile's ``[device]`` strings)."""
    di = await server.register_namespace(DI_URI)
    ident = await parent.add_object(node_id or ua.NodeId(ua.String("Press.Identification"), ua.Int16(idx)), ua.QualifiedName("Identification", di))
    values = {"Manufacturer": device.vendor, "Model": device.model, "SerialNumber": device.serial, "SoftwareRevision": device.firmware}
    for name, text in values.items():
        value: Any = ua.LocalizedText(text) if name in ("Manufacturer", "Model") else text
        await ident.add_property(ua.NodeId(ua.String(f"Press.Identification.{name}"), ua.Int16(idx)), ua.QualifiedName(name, di), value)


__all__ = ["PlcClock", "start_opcua"]
