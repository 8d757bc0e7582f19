"""Checks of a device profile across keys: units of the right dimension, ratings that agree
with their units and the ram, where each signal and command lives on its transport, the
signals and commands a regulating press needs, and Modbus signals that overlap.
"""

from __future__ import annotations

from .profile import COMMANDS, SIGNALS, Profile
from .units import CANONICAL, UnitError, parse_quantity, parse_unit


class ProfileCheck(ValueError):
    """A cross-key check failed; ``key`` is the dotted key it concerns."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


def _dimension_of(name: str, quantity: str | None, unit: str, key: str) -> str:
    if quantity in ("pressure", "oil_pressure"):
        return "pressure"
    if quantity == "force":
        return "force"
    try:
        return parse_unit(unit.removesuffix("/s")).dimension
    except UnitError as exc:
        raise ProfileCheck(key, str(exc)) from None


def check_profile(p: Profile) -> None:
    """Checks across keys; raises :class:`ProfileCheck` naming the key."""
    for key in ("force", "pressure", "oil_pressure"):
        text = getattr(p.rating, key)
        if text is None:
            continue
        dim = "force" if key == "force" else "pressure"
        try:
            value = parse_quantity(text, dim)
        except UnitError as exc:
            raise ProfileCheck(f"rating.{key}", f"rated {key.replace('_', ' ')} {text!r}: {exc}") from None
        if not value > 0:
            raise ProfileCheck(f"rating.{key}", f"rated {key} {text!r} must be > 0")
    for key, dim in (("ram_area", "area"), ("ram_diameter", "length")):
        text = getattr(p.hydraulics, key)
        if text is not None:
            try:
                if not parse_quantity(text, dim) > 0:
                    raise UnitError(f"{text!r} must be > 0")
            except UnitError as exc:
                raise ProfileCheck(f"hydraulics.{key}", str(exc)) from None
    ram = p.ram_area_mm2
    if ram is not None and p.rating.oil_pressure is not None:
        oil = parse_quantity(p.rating.oil_pressure, "pressure")
        most_kn = oil * ram / 1000.0
        if p.rated_force_kn > most_kn * 1.05:
            raise ProfileCheck(
                "rating.force",
                f"rated force {p.rating.force!r} is more than the ram can give: rated oil pressure "
                f"{p.rating.oil_pressure!r} × ram area {ram:.0f} mm² = {most_kn:.1f} kN "
                "(check the units of rating and hydraulics)",
            )
    _check_write_modes(p)  # first: a Modbus-only choice on another transport explains the rest
    for name, sig in p.signals.items():
        key = f"signals.{name}"
        known = SIGNALS[name]
        dim = known if known is not None else _dimension_of(name, sig.quantity, sig.unit or "MPa", f"{key}.unit")
        try:
            parse_unit(sig.unit or CANONICAL[dim], dim)
        except UnitError as exc:
            raise ProfileCheck(f"{key}.unit", str(exc)) from None
        if sig.count > 1 and name != "channel_force":
            raise ProfileCheck(f"{key}.count", "only channel_force may have count > 1")
        _check_where(p, key, sig.address, sig.node, sig.request, sig.data_type, sig.bit)
        if p.transport == "ascii" and sig.reply is None:
            raise ProfileCheck(f"{key}.reply", "an ASCII signal needs a reply pattern")
    for name, cmd in p.commands.items():
        key = f"commands.{name}"
        if COMMANDS[name] == "const":
            if cmd.value is None and cmd.method is None and cmd.request is None:
                raise ProfileCheck(f"{key}.value", f"command {name} needs the value it writes")
        else:
            dim = COMMANDS[name] or _dimension_of(name, cmd.quantity, cmd.unit or "MPa", f"{key}.unit")
            try:
                parse_unit(cmd.unit or CANONICAL[dim], dim, rate=(name == "rate"))
            except UnitError as exc:
                raise ProfileCheck(f"{key}.unit", str(exc)) from None
        _check_where(p, key, cmd.address, cmd.node or cmd.method, cmd.request, cmd.data_type, None)
        _check_args(p, name, cmd.args, cmd.method)
    if p.transport == "opcua":
        _check_node_ids(p)
    _check_required(p)
    if (p.device.identify == "nameplate" or p.device.identification) and p.transport != "opcua":
        raise ProfileCheck("device.identify", f"the nameplate is an OPC UA feature; this profile's transport is {p.transport}")
    if p.transport == "modbus":
        _check_overlaps(p)
    elif p.state_mirror is not None or p.device.identify == "fc43":
        key = "state_mirror" if p.state_mirror is not None else "device.identify"
        raise ProfileCheck(key, f"{key} is a Modbus feature; this profile's transport is {p.transport}")
    if p.state_mirror is not None and len({s.space for s in p.signals.values()}) != 1:
        raise ProfileCheck(
            "state_mirror", "a state mirror copies one block: every signal must be in one space"
        )


def _check_where(
    p: Profile, key: str, address: int | None, node: str | None, request: str | None,
    data_type: str, bit: int | None,
) -> None:
    if p.transport == "modbus" and address is None:
        raise ProfileCheck(f"{key}.address", "a Modbus signal or command needs an address")
    if p.transport == "opcua" and node is None:
        raise ProfileCheck(f"{key}.node", "an OPC UA signal or command needs a node id")
    if p.transport == "ascii" and request is None:
        raise ProfileCheck(f"{key}.request", "an ASCII signal or command needs a request")
    if bit is not None and data_type not in ("bool", "uint16", "int16"):
        raise ProfileCheck(f"{key}.bit", "bit applies to a 16-bit register (data_type bool)")


def _check_args(p: Profile, name: str, args: list | None, method: str | None) -> None:
    """A method's ``args``: value commands this profile has, or constants."""
    if args is None:
        return
    key = f"commands.{name}.args"
    if method is None:
        raise ProfileCheck(key, "args are passed to an OPC UA method: this command has no method")
    for arg in args:
        if isinstance(arg, str) and arg in COMMANDS:
            if COMMANDS[arg] == "const":
                raise ProfileCheck(key, f"'{arg}' is an action; an argument names a value command (setpoint, rate, soft_max, die_area, watchdog)")
            if arg not in p.commands:
                raise ProfileCheck(key, f"'{arg}' names a command this profile does not have (commands.{arg})")


def _check_node_ids(p: Profile) -> None:
    """Every node id is well formed (asyncua parses it); needs asyncua, as OPC UA does."""
    try:
        from .opcua_nodes import parse_node_id, profile_node_texts
    except ImportError:  # without asyncua the press cannot be opened anyway, and says why
        return
    for key, text in profile_node_texts(p):
        try:
            parse_node_id(text)
        except ValueError as exc:
            raise ProfileCheck(key, str(exc)) from None


def _check_required(p: Profile) -> None:
    sig = p.signals
    if not ({"pressure", "force", "oil_pressure"} & set(sig)):
        raise ProfileCheck("signals", "a profile needs a pressure, force or oil_pressure signal")
    if "oil_pressure" in sig and "force" not in sig and p.ram_area_mm2 is None:
        raise ProfileCheck(
            "hydraulics.ram_area",
            "force is derived from oil_pressure × ram area: give hydraulics.ram_area or ram_diameter",
        )
    if p.capabilities.regulates:
        for name in ("setpoint", "regulate", "stop"):
            if name not in p.commands:
                raise ProfileCheck(
                    f"commands.{name}",
                    f"a regulating profile needs commands.{name} "
                    "(or set capabilities.regulates = false for a monitor-only press)",
                )
        if "status" not in sig:
            raise ProfileCheck("signals.status", "a regulating profile needs a status signal")
    if p.heartbeat is not None and p.transport == "modbus" and p.heartbeat.address is None:
        raise ProfileCheck("heartbeat.address", "a Modbus heartbeat needs an address")
    if p.temperature is not None and "temperature" not in sig:
        raise ProfileCheck("temperature", "load-cell compensation needs signals.temperature "
                                          "(where the press reports its temperature)")


def _check_write_modes(p: Profile) -> None:
    """``write = "single"`` is a Modbus choice, and a value spread over registers written one
    at a time needs its word order said out loud (the order the words go out in)."""
    singles = [("write", p.write)] + [(f"commands.{n}.write", c.write) for n, c in p.commands.items()]
    for key, mode in singles:
        if mode == "single" and p.transport != "modbus":
            raise ProfileCheck(
                key, f'write = "single" (FC05/FC06) is a Modbus choice; this profile\'s transport is {p.transport}'
            )
    if p.transport != "modbus":
        return
    for name, cmd in p.commands.items():
        if p.write_mode(name) != "single" or cmd.space != "holding" or cmd.width < 2:
            continue
        if cmd.word_order is None and "word_order" not in p.model_fields_set:
            raise ProfileCheck(
                f"commands.{name}.word_order",
                f'{name} is a {cmd.data_type} over {cmd.width} registers written one FC06 at a time '
                '(write = "single"): say the word order (word_order = "ABCD", "CDAB", "BADC" or "DCBA", '
                "here or at the top level)",
            )


def _check_overlaps(p: Profile) -> None:
    taken: dict[tuple[str, int], str] = {}
    for name, sig in p.signals.items():
        space = "holding" if sig.space in ("holding",) else sig.space
        for a in range(sig.address or 0, (sig.address or 0) + sig.width):
            other = taken.get((space, a))
            if other is not None and not (sig.data_type == "bool" and other.endswith("#bit")):
                raise ProfileCheck(
                    f"signals.{name}.address",
                    f"{name} ({space} {sig.address}..{(sig.address or 0) + sig.width - 1}) "
                    f"overlaps {other.removesuffix('#bit')} at {space} register {a}",
                )
            taken[(space, a)] = name + ("#bit" if sig.data_type == "bool" else "")


__all__ = ["ProfileCheck", "check_profile"]
