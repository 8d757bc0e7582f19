"""OPC UA node ids as a profile writes them, resolved against the server they are used on.

A node id is written ``ns=N;i=…`` (a namespace *index*) or ``nsu=URI;i=…`` (the namespace
*URI*, OPC UA Part 6's ExpandedNodeId form; ``s=``, ``g=``, ``b=`` work the same). An index
is not stable across server restarts or PLC program changes, so the URI form is resolved
against the server's NamespaceArray at connect and again after every reconnect.

Also here: which status codes mean "the session or the connection is gone" (a transport
error the sampler retries), as opposed to a refusal by a healthy server (a device fault).
"""

from __future__ import annotations

from dataclasses import dataclass

from asyncua import ua

from .profile import Profile

#: the URI of OPC UA for Devices (DI), whose browse names a press's nameplate uses
DI_URI = "http://opcfoundation.org/UA/DI/"
#: nameplate (DI ``Identification``) field -> the Identity field it fills
NAMEPLATE_FIELDS = {"Manufacturer": "vendor", "Model": "model", "SerialNumber": "serial", "SoftwareRevision": "firmware"}

#: status codes that say the session or the connection is gone, not that the request was wrong
SESSION_GONE = frozenset(
    {
        ua.StatusCodes.BadSessionIdInvalid,
        ua.StatusCodes.BadSessionClosed,
        ua.StatusCodes.BadSessionNotActivated,
        ua.StatusCodes.BadSecureChannelClosed,
        ua.StatusCodes.BadSecureChannelIdInvalid,
        ua.StatusCodes.BadConnectionClosed,
        ua.StatusCodes.BadNotConnected,
        ua.StatusCodes.BadServerNotConnected,
        ua.StatusCodes.BadCommunicationError,
        ua.StatusCodes.BadShutdown,
        ua.StatusCodes.BadServerHalted,
    }
)


def is_connection_loss(code: int, *, reconnecting: bool) -> bool:
    """Whether status ``code`` means the link, not the device, failed.

    ``BadUserAccessDenied`` is both: a server answers it to a request that arrives on a new
    secure channel before the session is activated again (a reconnect in progress), and to
    a request a healthy session is not allowed to make. Only the first is a transport error.
    """
    if code in SESSION_GONE:
        return True
    return reconnecting and code == ua.StatusCodes.BadUserAccessDenied


def parse_node_id(text: str) -> ua.NodeId:
    """``text`` parsed by asyncua; ValueError with what is allowed when it is malformed."""
    try:
        node = ua.NodeId.from_string(text)
    except (ua.UaStringParsingError, ValueError) as exc:
        raise ValueError(
            f"node id {text!r} is malformed ({_cause(exc)}); expected ns=INDEX;i=NUMBER or "
            "nsu=URI;i=NUMBER (also s=STRING, g=GUID, b=BASE64)"
        ) from None
    if isinstance(node, ua.ExpandedNodeId) and text.strip().startswith("nsu=") and not node.NamespaceUri:
        raise ValueError(f"node id {text!r} has an empty namespace URI after nsu=")
    return node


def _cause(exc: Exception) -> str:
    inner = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], Exception) else exc
    return str(inner.args[0] if inner.args else inner)


class UnknownNamespace(LookupError):
    """A ``nsu=`` URI the server's NamespaceArray does not hold."""


@dataclass(frozen=True, slots=True)
class Namespaces:
    """A server's NamespaceArray: index by URI."""

    uris: tuple[str, ...]

    def resolve(self, text: str) -> ua.NodeId:
        """The node id ``text`` names on this server (a plain NodeId with an index)."""
        node = parse_node_id(text)
        uri = node.NamespaceUri if isinstance(node, ua.ExpandedNodeId) else None
        if not uri:
            return ua.NodeId(node.Identifier, node.NamespaceIndex, node.NodeIdType)
        try:
            index = self.uris.index(uri)
        except ValueError:
            raise UnknownNamespace(f"namespace {uri!r} is not on this server (it has: {', '.join(self.uris)})") from None
        return ua.NodeId(node.Identifier, ua.Int16(index), node.NodeIdType)


def shown(text: str, resolved: ua.NodeId | None) -> str:
    """``text`` as written, with the index it resolved to when it was written with a URI."""
    if resolved is None or not text.strip().startswith("nsu="):
        return text
    return f"{text} (ns={resolved.NamespaceIndex})"


def profile_node_texts(profile: Profile) -> list[tuple[str, str]]:
    """Every node id a profile writes: (key, text), in the order of the file."""
    out: list[tuple[str, str]] = []
    for name, sig in profile.signals.items():
        if sig.node is not None:
            out.append((f"signals.{name}.node", sig.node))
    for name, cmd in profile.commands.items():
        if cmd.node is not None:
            out.append((f"commands.{name}.node", cmd.node))
        if cmd.method is not None:
            out.append((f"commands.{name}.method", cmd.method))
    hb = profile.heartbeat
    if hb is not None and hb.node is not None:
        out.append(("heartbeat.node", hb.node))
    if profile.device.identification:
        out.append(("device.identification", profile.device.identification))
    return out


__all__ = [
    "DI_URI",
    "NAMEPLATE_FIELDS",
    "SESSION_GONE",
    "Namespaces",
    "UnknownNamespace",
    "is_connection_loss",
    "parse_node_id",
    "profile_node_texts",
    "shown",
]
