"""A TLS-served press says so in its URL, and a refused handshake leaves one line with its
reason in the log (rate-limited per client), over real TLS on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import ssl

import pytest
from tls_certs import ThrowawayCA

from presshil.device.server import start_server
from presshil.serving.tcp import WireLimits
from presshil.serving.tls import TlsConfig

pytestmark = pytest.mark.slow  # a TLS server on loopback


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    ca, other = ThrowawayCA(folder), ThrowawayCA(folder, "another CA")
    return {"ca": ca.path, "server": ca.issue("press-server", server=True),
            "stranger": other.issue("stranger", role="operator")}


def served(endpoint: str, ca, cert=None) -> bool:
    """Whether a read over TLS with ``cert`` (None: no certificate) gets a Modbus reply."""
    host, port = endpoint.rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.check_hostname = False
    if cert is not None:
        ctx.load_cert_chain(*map(str, cert))
    try:
        with socket.create_connection((host, int(port)), timeout=10) as raw, \
                ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"\x00\x01\x00\x00\x00\x06\x01\x04\x00\x00\x00\x01")
            return len(tls.recv(64)) > 0  # TLS 1.3: the refusal of our certificate arrives here
    except (ssl.SSLError, ConnectionError, OSError):
        return False


def test_a_tls_press_url_is_modbus_tls_and_refused_handshakes_are_logged_once(pki, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="presshil.serving")
    cert, key = pki["server"]
    limits = WireLimits(log_interval_s=3600.0)
    with start_server("sim://?seed=1", modbus_tcp="127.0.0.1:0", tls=TlsConfig(cert, key, pki["ca"]),
                      limits=limits) as srv:
        assert srv.urls["modbus_tcp"].startswith("modbus+tls://127.0.0.1:")
        endpoint = srv.endpoints["modbus_tcp"]
        for who in (None, None, pki["stranger"]):  # no certificate twice, then another CA's
            assert not served(endpoint, pki["ca"], who)
        with socket.create_connection(endpoint.rsplit(":", 1), timeout=10) as plain:  # not TLS
            plain.sendall(b"\x00\x01\x00\x00\x00\x06\x01\x04\x00\x00\x00\x01")
            assert plain.recv(64) == b""
    lines = [r.getMessage() for r in caplog.records if "TLS handshake refused" in r.getMessage()]
    # one line for the client in the interval, its reason named; the repeats are counted
    assert len(lines) == 1 and lines[0].startswith("127.0.0.1: TLS handshake refused: "), lines
    assert "certificate" in lines[0].lower(), lines
    assert "Traceback" not in caplog.text
