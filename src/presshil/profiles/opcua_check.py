"""An OPC UA profile checked against the server it connects to, before anything is written.

:func:`plan_nodes` resolves every node id of the profile against the server's
NamespaceArray (``nsu=`` URIs), then checks, in a few Read calls for all nodes together:
each signal node exists, is a Variable, has a data type that converts to a number (a
Boolean is 0/1) and is readable; each value command's and the heartbeat's node is writable
(UserAccessLevel); each method exists under its object and takes as many input arguments as
the profile passes. Every mismatch is one line naming the signal or command, the node as
written and as resolved, and what is wrong. The plan also carries what a write needs: the
variant type of each written variable and of each method argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asyncua import Client, ua
from asyncua.common.ua_utils import data_type_to_variant_type

from ..errors import DeviceFault
from ..maps.opcua_nodes import Namespaces, UnknownNamespace, shown
from ..maps.profile import COMMANDS, Profile

#: variant types a signal's value converts from to a number
NUMERIC = frozenset(
    {
        ua.VariantType.Boolean, ua.VariantType.SByte, ua.VariantType.Byte, ua.VariantType.Int16,
        ua.VariantType.UInt16, ua.VariantType.Int32, ua.VariantType.UInt32, ua.VariantType.Int64,
        ua.VariantType.UInt64, ua.VariantType.Float, ua.VariantType.Double,
    }
)
_INT_RANGE = {
    ua.VariantType.SByte: (-(2**7), 2**7 - 1), ua.VariantType.Byte: (0, 2**8 - 1),
    ua.VariantType.Int16: (-(2**15), 2**15 - 1), ua.VariantType.UInt16: (0, 2**16 - 1),
    ua.VariantType.Int32: (-(2**31), 2**31 - 1), ua.VariantType.UInt32: (0, 2**32 - 1),
    ua.VariantType.Int64: (-(2**63), 2**63 - 1), ua.VariantType.UInt64: (0, 2**64 - 1),
}
_READ = 1 << ua.AccessLevel.CurrentRead
_WRITE = 1 << ua.AccessLevel.CurrentWrite


class NodeMismatch(DeviceFault):
    """The server is reachable but is not the press the profile describes (exit 3)."""


@dataclass
class NodePlan:
    """Every node of a profile as resolved on one server, and how to write to it."""

    namespaces: Namespaces
    #: signal name -> node
    signals: dict[str, ua.NodeId] = field(default_factory=dict)
    #: value command (or ``heartbeat``) -> variable node, and the variant type it is written as
    variables: dict[str, ua.NodeId] = field(default_factory=dict)
    write_types: dict[str, ua.VariantType] = field(default_factory=dict)
    #: action command -> (object node, method node)
    methods: dict[str, tuple[ua.NodeId, ua.NodeId]] = field(default_factory=dict)
    #: action command -> the variant type of each input argument (as the server declares)
    arg_types: dict[str, tuple[ua.VariantType, ...]] = field(default_factory=dict)


def convert(value: object, vtype: ua.VariantType) -> Any:
    """``value`` as ``vtype``; ValueError saying why when it does not convert."""
    if vtype == ua.VariantType.String:
        return str(value)
    if isinstance(value, str):
        raise ValueError(f"{value!r} is not a number ({vtype.name} expected)")
    x = float(value)  # type: ignore[arg-type]
    if vtype == ua.VariantType.Boolean:
        return x != 0.0
    if vtype in _INT_RANGE:
        lo, hi = _INT_RANGE[vtype]
        n = round(x)
        if not lo <= n <= hi:
            raise ValueError(f"{value!r} is outside {vtype.name} ({lo}..{hi})")
        return n
    if vtype in (ua.VariantType.Float, ua.VariantType.Double):
        return x
    raise ValueError(f"cannot pass {value!r} as {vtype.name}")


async def _variant_type(client: Client, dtype: ua.NodeId) -> ua.VariantType | None:
    if dtype.NamespaceIndex == 0 and isinstance(dtype.Identifier, int) and 1 <= dtype.Identifier <= 25:
        return ua.VariantType(dtype.Identifier)
    try:  # an enumeration, an abstract Number, a vendor's own type: asyncua walks its supertypes
        return await data_type_to_variant_type(client.get_node(dtype))
    except Exception:  # noqa: BLE001 - a type the server cannot explain: not convertible
        return None


async def plan_nodes(client: Client, profile: Profile, *, check: bool = True) -> NodePlan:
    """Resolve (and with ``check``, verify) every node of ``profile`` on the connected server.

    Raises :class:`NodeMismatch` with one line per problem; nothing has been written then.
    """
    plan = NodePlan(Namespaces(tuple(await client.get_namespace_array())))
    problems: list[str] = []
    written: dict[tuple[str, str], tuple[str, ua.NodeId]] = {}  # (kind, name) -> (text, node)

    def resolve(kind: str, name: str, text: str) -> ua.NodeId | None:
        try:
            node = plan.namespaces.resolve(text)
        except (UnknownNamespace, ValueError) as exc:
            problems.append(f"{kind} '{name}' ({text}): {exc}")
            return None
        written[(kind, name)] = (text, node)
        return node

    for name, sig in profile.signals.items():
        node = resolve("signal", name, sig.node or "")
        if node is not None:
            plan.signals[name] = node
    args_of: dict[str, list[object]] = {}
    for name, cmd in profile.commands.items():
        if COMMANDS[name] != "const":
            node = resolve("command", name, cmd.node or "")
            if node is not None:
                plan.variables[name] = node
        elif cmd.method is not None:
            obj = resolve("command", name, cmd.node or "")
            meth = resolve("method", name, cmd.method)
            if obj is not None and meth is not None:
                plan.methods[name] = (obj, meth)
                args_of[name] = list(cmd.args or [])
        elif cmd.node is not None:  # an action written as a constant into a variable
            node = resolve("command", name, cmd.node)
            if node is not None:
                plan.variables[name] = node
    hb = profile.heartbeat
    if hb is not None and hb.node is not None:
        node = resolve("heartbeat", "heartbeat", hb.node)
        if node is not None:
            plan.variables["heartbeat"] = node
    if problems:
        raise NodeMismatch(_message(profile, problems), code=None)
    if not check:
        return plan

    def where(kind: str, name: str) -> str:
        text, node = written[(kind, name)]
        return f"{kind} '{name}' ({shown(text, node)})"

    keys = [("signal", n) for n in plan.signals] + [
        ("heartbeat" if n == "heartbeat" else "command", n) for n in plan.variables
    ]
    nodes = [client.get_node(plan.signals[n] if k == "signal" else plan.variables[n]) for k, n in keys]
    classes = await client.read_attributes(nodes, ua.AttributeIds.NodeClass)
    dtypes = await client.read_attributes(nodes, ua.AttributeIds.DataType)
    access = await client.read_attributes(nodes, ua.AttributeIds.UserAccessLevel)
    for (kind, name), cls, dt, acc in zip(keys, classes, dtypes, access, strict=True):
        if not _good(cls):
            problems.append(f"{where(kind, name)}: {_status_name(cls)}")
            continue
        if _value(cls) != ua.NodeClass.Variable:
            problems.append(f"{where(kind, name)}: is {ua.NodeClass(_value(cls)).name}, not a Variable")
            continue
        vtype = await _variant_type(client, _value(dt)) if _good(dt) else None
        what = vtype.name if vtype is not None else str(_value(dt))
        level = int(_value(acc) or 0) if _good(acc) else 0
        if kind == "signal":
            if vtype not in NUMERIC:
                problems.append(f"{where(kind, name)}: data type {what} does not convert to a number")
            if not level & _READ:
                problems.append(f"{where(kind, name)}: not readable")
        else:
            if not level & _WRITE:
                problems.append(f"{where(kind, name)}: not writable")
            if vtype is not None and vtype in NUMERIC:
                plan.write_types[name] = vtype
            else:
                problems.append(f"{where(kind, name)}: data type {what} cannot take a number")
    for name, (obj, meth) in plan.methods.items():
        problems += await _check_method(client, plan, name, obj, meth, args_of[name], where("command", name), profile)
    if problems:
        raise NodeMismatch(_message(profile, problems), code=None)
    return plan


async def _check_method(
    client: Client, plan: NodePlan, name: str, obj: ua.NodeId, meth: ua.NodeId,
    args: list[object], where: str, profile: Profile,
) -> list[str]:
    """The method exists under its object and takes the arguments the profile passes."""
    text = profile.commands[name].method or ""
    where_m = f"command '{name}' method {shown(text, meth)}"
    try:
        children = await client.get_node(obj).get_children(refs=ua.ObjectIds.HasComponent)
    except ua.UaStatusCodeError as exc:
        return [f"{where}: {type(exc).__name__}"]
    if meth not in [c.nodeid for c in children]:
        return [f"{where_m}: not a method of {shown(profile.commands[name].node or '', obj)}"]
    method = client.get_node(meth)
    if await method.read_node_class() != ua.NodeClass.Method:
        return [f"{where_m}: not a Method"]
    try:
        declared = await (await method.get_child("0:InputArguments")).read_value()
    except ua.UaStatusCodeError:
        declared = []  # no InputArguments property: a method without arguments
    if len(declared) != len(args):
        n = len(declared)
        return [f"{where_m}: method takes {n} argument{'s' * (n != 1)}, profile passes {len(args)}"]
    types: list[ua.VariantType] = []
    problems = []
    for i, (arg, value) in enumerate(zip(declared, args, strict=True)):
        vtype = await _variant_type(client, arg.DataType)
        label = arg.Name or f"#{i + 1}"
        if vtype is None:
            problems.append(f"{where_m}: argument {label} has a data type presshil cannot write")
            continue
        types.append(vtype)
        if isinstance(value, str) and value in profile.commands:
            if vtype not in NUMERIC:
                problems.append(f"{where_m}: argument {label} is {vtype.name}, '{value}' is a number")
            continue
        try:
            convert(value, vtype)
        except ValueError as exc:
            problems.append(f"{where_m}: argument {label}: constant {exc}")
    plan.arg_types[name] = tuple(types)
    return problems


def _good(dv: ua.DataValue) -> bool:
    return dv.StatusCode is None or dv.StatusCode.is_good()


def _status_name(dv: ua.DataValue) -> str:
    return dv.StatusCode.name if dv.StatusCode is not None else "no status"


def _value(dv: ua.DataValue) -> Any:
    return dv.Value.Value if dv.Value is not None else None


def _message(profile: Profile, problems: list[str]) -> str:
    head = f"profile {profile.name!r} does not match this server ({len(problems)} problem{'s' * (len(problems) != 1)}; nothing written):"
    return "\n".join([head, *("  " + p for p in problems)])


__all__ = ["NUMERIC", "NodeMismatch", "NodePlan", "convert", "plan_nodes"]
