"""The nameplate of an OPC UA press: the DI / Machinery ``Identification`` of the machine.

Most OPC UA presses name themselves the way OPC 10000-100 (Devices) and OPC 40001-1
(Machinery) say: an ``Identification`` object under the machine with Manufacturer, Model,
SerialNumber, SoftwareRevision and HardwareRevision. With ``[device] identify =
"nameplate"`` the press reads them once at connect, from the node ``identification`` names
or, without it, from the first ``Identification`` object found by browsing the Objects
folder (and the Machines folder of OPC 40001-1) one level down. A field the server does not
have keeps the profile's string.
"""

from __future__ import annotations

from typing import Any

from asyncua import Client, ua

from ..maps.opcua_nodes import NAMEPLATE_FIELDS, Namespaces


def _text(value: Any) -> str | None:
    if isinstance(value, ua.LocalizedText):
        value = value.Text
    if value is None:
        return None
    text = str(value).strip()
    return text or None


async def _find(client: Client) -> Any | None:
    """The first ``Identification`` object one level below the Objects folder or a machine."""
    objects = client.nodes.objects
    candidates = [objects]
    for child in await objects.get_children(refs=ua.ObjectIds.Organizes) + await objects.get_children(
        refs=ua.ObjectIds.HasComponent
    ):
        candidates.append(child)
    for parent in candidates:
        for child in await parent.get_children():
            name = await child.read_browse_name()
            if name.Name == "Identification":
                return child
            if name.Name == "Machines":  # OPC 40001-1: each machine is a component of this folder
                for machine in await child.get_children():
                    for grand in await machine.get_children():
                        if (await grand.read_browse_name()).Name == "Identification":
                            return grand
    return None


async def read_nameplate(client: Client, namespaces: Namespaces, identification: str | None) -> dict[str, str]:
    """Identity fields read from the nameplate (only those the server has)."""
    node = client.get_node(namespaces.resolve(identification)) if identification else await _find(client)
    if node is None:
        return {}
    found: dict[str, str] = {}
    hardware = None
    for child in await node.get_children():
        name = (await child.read_browse_name()).Name
        if name not in NAMEPLATE_FIELDS and name != "HardwareRevision":
            continue
        try:
            text = _text(await child.read_value())
        except ua.UaStatusCodeError:
            continue
        if text is None:
            continue
        if name == "HardwareRevision":
            hardware = text
        else:
            found[NAMEPLATE_FIELDS[name]] = text
    if hardware is not None:  # the Identity has one revision string: the hardware rides along
        found["firmware"] = f"{found.get('firmware', 'unknown')} (hardware {hardware})"
    return found


__all__ = ["read_nameplate"]
