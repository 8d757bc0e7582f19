"""The OPC UA emulation's side of security: only secured endpoints, the server's certificate
presented, clients accepted under the same rules as the client applies to servers
(:mod:`presshil.profiles.opcua_security`)."""

from __future__ import annotations

from asyncua import Server, ua

from ..errors import ConfigError
from ..opcua_certs import MODES, POLICIES, Check, TrustList, application_uri, pem_or_der
from ..serving.tls import TlsConfig

#: what the emulation offers when secured: every policy above, signed and encrypted or signed
SERVER_POLICIES = [
    getattr(ua.SecurityPolicyType, f"{name}_{mode}") for name in POLICIES for mode in MODES
]


async def secure_server(server: Server, tls: TlsConfig) -> TrustList:
    """Offer only secured endpoints, present ``tls.cert``/``tls.key``, accept clients trusted
    by ``tls.ca`` (a file or a trust-list folder). Call before the server starts."""
    tls.check_files(ca_folder_ok=True)
    files = {"cert": tls.cert, "key": tls.key, "ca": tls.ca}
    uri = application_uri(files["cert"], "--tls-cert")
    await server.set_application_uri(uri)
    server.set_security_policy(SERVER_POLICIES)
    try:
        await server.load_certificate(str(files["cert"]), format=pem_or_der(files["cert"]))
        await server.load_private_key(str(files["key"]), format=pem_or_der(files["key"]))
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"OPC UA: cannot load --tls-cert/--tls-key ({exc}); an RSA certificate and its key are needed"
        ) from None
    trust = TrustList(files["ca"])
    try:
        server.set_certificate_validator(await trust.validator(Check.PEER_CLIENT))
    except BaseException:
        trust.close()
        raise
    return trust


__all__ = ["SERVER_POLICIES", "secure_server"]
