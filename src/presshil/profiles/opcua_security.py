"""OPC UA security for profile presses: signed and encrypted sessions, certificates both ways.

A PLC's OPC UA server is usually configured to refuse unsecured sessions. presshil speaks
the OPC UA security policies Basic256Sha256 (the default), Aes128Sha256RsaOaep and
Aes256Sha256RsaPss, in mode SignAndEncrypt (the default) or Sign, with X.509 application
certificates (RSA) on both sides:

- the client (``opcua://HOST:PORT/PATH?profile=…&cert=…&key=…&ca=…``) presents ``cert``/``key``
  and accepts the server only if its certificate is valid now, names the server's
  application URI, and chains to ``ca`` (a certificate file, or a trust-list folder of
  ``.pem``/``.der`` files, as OPC UA tools keep them: a self-signed server certificate
  placed there is trusted as itself);
- the emulation (``presshil serve --profile … --opcua HOST:PORT --tls-cert … --tls-key …
  --tls-ca …``) offers only secured endpoints and accepts a client only under the same rules.

Each side's application URI is the ``URI`` entry of its certificate's subjectAltName, as
OPC UA requires; a certificate without one is refused with a message saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from asyncua import Client
from asyncua.crypto.uacrypto import CertProperties

from ..errors import ConfigError, PressURLError
from ..opcua_certs import MODES, POLICIES, Check, TrustList, application_uri, pem_or_der
from ..url_schemes import OPCUA_SECURITY_KEYS
from ..urls import PressURL

#: the URL keys of a secured OPC UA press
SECURITY_KEYS = OPCUA_SECURITY_KEYS  # registered with the opcua:// scheme


@dataclass
class ClientSecurity:
    """What an ``opcua://`` URL asks for: policy, mode, and the three files."""

    policy: str
    mode: str
    cert: Path
    key: Path
    ca: Path

    @classmethod
    def from_url(cls, parsed: PressURL) -> ClientSecurity | None:
        """None for an unsecured URL (no security key at all); else every key checked."""
        query, url = parsed.query, parsed.raw
        if not SECURITY_KEYS & set(query):
            return None
        policy = query.get("security", "Basic256Sha256")
        if policy not in POLICIES:
            raise PressURLError(
                f"press URL {url!r}: security={policy!r}; use one of {', '.join(POLICIES)}"
            )
        mode = query.get("security_mode", "SignAndEncrypt")
        if mode not in MODES:
            raise PressURLError(f"press URL {url!r}: security_mode={mode!r}; use Sign or SignAndEncrypt")
        files = parsed.get_files(
            ("cert", "key", "ca"),
            "for a secured OPC UA session (cert=CLIENT.pem&key=CLIENT.key&ca=TRUSTED.pem or a trust-list folder)",
            folders=frozenset({"ca"}),
        )
        return cls(policy, mode, files["cert"], files["key"], files["ca"])

    async def apply(self, client: Client, url: str) -> TrustList:
        """Secure ``client`` before it connects; the trust list is the caller's to close."""
        client.application_uri = application_uri(self.cert, f"press URL {url!r}: cert=")
        trust = TrustList(self.ca)
        try:
            client.certificate_validator = await trust.validator(Check.PEER_SERVER)
            await client.set_security(
                POLICIES[self.policy],
                CertProperties(str(self.cert), pem_or_der(self.cert)),
                CertProperties(str(self.key), pem_or_der(self.key)),
                mode=MODES[self.mode],
            )
        except ConfigError:
            trust.close()
            raise
        except Exception as exc:  # noqa: BLE001 - asyncua and cryptography raise several kinds
            trust.close()
            raise PressURLError(
                f"press URL {url!r}: cannot use cert=/key= for OPC UA security ({exc}); "
                "an RSA certificate and its key are needed"
            ) from None
        return trust


__all__ = ["MODES", "POLICIES", "SECURITY_KEYS", "ClientSecurity", "application_uri"]
