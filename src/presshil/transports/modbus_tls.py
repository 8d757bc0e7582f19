"""``modbus+tls://HOST:PORT?cert=…&key=…&ca=…``: a press over Modbus/TCP Security.

The same :class:`~presshil.transports.modbus.ModbusPress` and register map as
``modbus+tcp://``, over mutual TLS: the client presents ``cert``/``key`` (its role,
operator or observer, is in the certificate) and accepts only a server certificate that
chains to ``ca`` and names HOST (a DNS name or IP address in its subjectAltName). Port 802
is the profile's convention. The default ``timeout`` is 0.5 s, for the handshake.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl

from pymodbus.client import ModbusTlsClient

from ..errors import PressURLError
from ..profiles.modbus_press import ModbusProfilePress
from ..url_schemes import MODBUS_TLS_KEYS
from ..urls import PressURL
from .modbus import ModbusPress
from .modbus_link import ModbusLink

TLS_KEYS = MODBUS_TLS_KEYS  # registered with the modbus+tls:// scheme
DEFAULT_TLS_TIMEOUT_S = 0.5


def client_context(parsed: PressURL) -> ssl.SSLContext:
    """The TLS ≥ 1.2 client context a ``modbus+tls://`` URL describes."""
    files = parsed.get_files(("cert", "key", "ca"), "for modbus+tls")
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=files["ca"])
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(files["cert"], files["key"])
    except (ssl.SSLError, ValueError) as exc:
        raise PressURLError(f"press URL {parsed.raw!r}: cannot load cert/key ({exc})") from None
    return ctx


class _VerifyingTlsClient(ModbusTlsClient):
    """pymodbus' TLS client, handshaking with the server name so that it is verified."""

    def connect(self) -> bool:
        """Connect, handshake and verify the server certificate against the host."""
        if self.socket:
            return True
        params = self.comm_params
        host = str(params.host)
        try:
            sock = socket.create_connection(
                (host, int(params.port)), timeout=params.timeout_connect
            )
            try:
                self.socket = params.sslctx.wrap_socket(sock, server_hostname=host)  # type: ignore[union-attr]
            except BaseException:
                sock.close()
                raise
        except OSError as exc:  # refused, unreachable, handshake or verification failed
            self.last_error = exc
            self.close()
        return self.socket is not None


class ModbusTlsLink(ModbusLink):
    """A :class:`ModbusLink` whose client speaks Modbus/TCP Security."""

    def __init__(self, parsed: PressURL) -> None:
        self._sslctx = client_context(parsed)
        query = {k: v for k, v in parsed.query.items() if k not in TLS_KEYS}
        query.setdefault("timeout", str(DEFAULT_TLS_TIMEOUT_S))
        super().__init__(dataclasses.replace(parsed, scheme="modbus+tcp", query=query))
        self.url = parsed.raw

    def _new_client(self) -> ModbusTlsClient:  # type: ignore[override]
        return _VerifyingTlsClient(
            self.parsed.host or "127.0.0.1",
            sslctx=self._sslctx,
            port=self.parsed.port or 802,
            timeout=self.timeout_s,
            retries=0,
        )


class ModbusTlsPress(ModbusPress):
    """A press on Modbus/TCP Security."""

    link_class = ModbusTlsLink


class ModbusTlsProfilePress(ModbusProfilePress):
    """A device's own Modbus map (``profile=``) on Modbus/TCP Security."""

    link_class = ModbusTlsLink


def open_modbus_tls_press(parsed: PressURL) -> ModbusTlsPress:
    """Open a press from a parsed ``modbus+tls://`` URL."""
    return ModbusTlsPress(parsed)


__all__ = [
    "TLS_KEYS",
    "ModbusTlsLink",
    "ModbusTlsPress",
    "ModbusTlsProfilePress",
    "client_context",
    "open_modbus_tls_press",
]
