"""OPC UA security: a secured emulation accepts only a client it trusts, a client accepts only
a server it trusts, sessions are signed (and encrypted), bad security URLs are one line."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from tls_certs import ThrowawayCA
from waiting import wait_for

import presshil
from presshil.errors import ConfigError, TransportError
from presshil.profiles.server import start_profile_server
from presshil.serving.tls import TlsConfig

pytest.importorskip("asyncua")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
SIM = "sim://auto-hydraulic-25t?seed=1"


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> SimpleNamespace:
    """A lab CA with a press and a host certificate; another CA with a stranger and a fake press."""
    folder = tmp_path_factory.mktemp("pki")
    lab = ThrowawayCA(folder, "lab CA", use_rsa=True)
    other = ThrowawayCA(folder, "other CA", use_rsa=True)
    return SimpleNamespace(
        ca=lab.path,
        press=lab.issue("press", server=True, uri="urn:presshil:test:press"),
        host=lab.issue("host", uri="urn:presshil:test:host"),
        stranger=other.issue("stranger", uri="urn:presshil:test:stranger"),
        fake_press=other.issue("fake-press", server=True, uri="urn:presshil:test:press"),
        no_uri=lab.issue("no-uri"),
        ec=ThrowawayCA(folder, "EC CA").issue("ec-host", uri="urn:presshil:test:ec-host"),
    )


def serve(pki: SimpleNamespace, press_cert: tuple[Path, Path] | None = None):
    cert, key = press_cert or pki.press
    return start_profile_server(SIM, "opcua-press", opcua="127.0.0.1:0", tls=TlsConfig(cert, key, pki.ca))


def reads_fresh_values(press, within_s: float = 10.0) -> bool:
    """The press's sample counter advances within ``within_s`` (values arrive), else fails."""
    first = press.read().counter
    return bool(wait_for(lambda: press.read().counter != first, timeout_s=within_s,
                         what="a fresh sample counter"))


def secured(url: str, cert: tuple[Path, Path], ca: Path, extra: str = "") -> str:
    return f"{url}&cert={cert[0]}&key={cert[1]}&ca={ca}{extra}"


@pytest.mark.parametrize(
    "extra",
    ["", "&security=Aes256Sha256RsaPss&security_mode=Sign&mode=poll"],
    ids=["Basic256Sha256-SignAndEncrypt-subscribe", "Aes256Sha256RsaPss-Sign-poll"],
)
def test_a_trusted_host_reads_and_commands_a_secured_press(pki, extra) -> None:
    with serve(pki) as srv:
        press = presshil.open_press(secured(srv.urls["opcua"], pki.host, pki.ca, extra))
        try:
            first = press.read()
            press.command(5.0, 10.0)
            wait_for(lambda: (later := press.read()).counter != first.counter and later.setpoint_mpa > 0.0,
                     timeout_s=10.0, what=f"a fresh reading with the setpoint applied (first {first})")
        finally:
            press.safe_state()
            press.close()


def test_an_unsecured_client_finds_no_endpoint_and_is_told_what_to_give(pki) -> None:
    with serve(pki) as srv, pytest.raises(TransportError) as err:
        presshil.open_press(srv.urls["opcua"])
    assert "cert=, key= and ca=" in str(err.value)


def test_a_host_whose_certificate_the_press_does_not_trust_is_refused(pki) -> None:
    with serve(pki) as srv, pytest.raises(TransportError) as err:
        presshil.open_press(secured(srv.urls["opcua"], pki.stranger, pki.ca))
    assert "BadCertificateUntrusted" in str(err.value)


def test_a_press_whose_certificate_the_host_does_not_trust_is_refused(pki) -> None:
    """A server with the right URI but a certificate from another CA: the host hangs up."""
    with serve(pki, pki.fake_press) as srv, pytest.raises(TransportError) as err:
        presshil.open_press(secured(srv.urls["opcua"], pki.host, pki.ca))
    assert "BadCertificateUntrusted" in str(err.value)


def test_a_trust_list_folder_works_as_ca(pki, tmp_path) -> None:
    """OPC UA tools keep trusted certificates in a folder; ``ca=`` may name one."""
    (tmp_path / "lab-ca.pem").write_bytes(Path(pki.ca).read_bytes())
    with serve(pki) as srv:
        press = presshil.open_press(secured(srv.urls["opcua"], pki.host, tmp_path))
        try:
            assert reads_fresh_values(press)
        finally:
            press.close()


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("&cert={cert}", "'key=' is required"),
        ("&cert={cert}&key={key}&ca={ca}&security=Basic128Rsa15", "security='Basic128Rsa15'"),
        ("&cert={cert}&key={key}&ca={ca}&security_mode=None", "use Sign or SignAndEncrypt"),
        ("&cert=/nonexistent.pem&key={key}&ca={ca}", "cert file '/nonexistent.pem' not found"),
        ("&cert={no_uri}&key={no_uri_key}&ca={ca}", "application URI in subjectAltName"),
        ("&cert={ec}&key={ec_key}&ca={ca}", "needs an RSA key"),
    ],
    ids=["key-missing", "old-policy", "bad-mode", "no-file", "no-uri", "not-rsa"],
)
def test_bad_security_urls_are_one_line_errors_before_any_connection(pki, query, says) -> None:
    filled = query.format(cert=pki.host[0], key=pki.host[1], ca=pki.ca, no_uri=pki.no_uri[0],
                          no_uri_key=pki.no_uri[1], ec=pki.ec[0], ec_key=pki.ec[1])
    # port 1: nothing listens, so an error that names the URL came before any connection
    with pytest.raises(ConfigError) as err:
        presshil.open_press(f"opcua://127.0.0.1:1/presshil?profile=opcua-press{filled}")
    assert says in str(err.value) and "\n" not in str(err.value)


def test_tls_files_on_a_server_without_a_tcp_or_opcua_endpoint_are_refused(pki) -> None:
    cert, key = pki.press
    with pytest.raises(ConfigError, match="none is served"):
        start_profile_server(SIM, "loadcell-indicator-rtu", modbus_rtu="pty", tls=TlsConfig(cert, key, pki.ca))


def test_presshil_serve_secures_a_profile_from_the_command_line(pki) -> None:
    """``presshil serve --profile opcua-press --opcua … --tls-*``: a trusted host connects,
    SIGINT ends it with exit 0; the three flags go together."""
    import signal
    import subprocess
    import sys

    from typer.testing import CliRunner

    from presshil.cli import app

    cert, key = pki.press
    half = CliRunner().invoke(app, ["serve", "--profile", "opcua-press", "--opcua", "127.0.0.1:0",
                                    "--tls-cert", str(cert)])
    assert half.exit_code == 2 and "go together" in half.output
    proc = subprocess.Popen(
        [sys.executable, "-m", "presshil.cli", "serve", "--press", SIM, "--profile", "opcua-press",
         "--opcua", "127.0.0.1:0", "--tls-cert", str(cert), "--tls-key", str(key), "--tls-ca", str(pki.ca)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = ""
        assert proc.stdout is not None
        for line in proc.stdout:
            if "listening: opcua://" in line:
                url = line.split("listening: ", 1)[1].strip()
                break
        assert url, proc.stderr.read() if proc.stderr else "no listening line"
        press = presshil.open_press(secured(url, pki.host, pki.ca))
        try:
            assert reads_fresh_values(press)
        finally:
            press.close()
        with pytest.raises(TransportError):
            presshil.open_press(url)  # no security: no endpoint for it
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_probe_of_a_secured_press_prints_no_library_chatter(pki) -> None:
    """``presshil probe`` on a secured press: its table, and none of asyncua's routine
    WARNING lines (subscription revisions, host names) on the terminal."""
    import subprocess
    import sys

    with serve(pki) as srv:
        proc = subprocess.run(
            [sys.executable, "-m", "presshil.cli", "probe", secured(srv.urls["opcua"], pki.host, pki.ca)],
            capture_output=True, text=True, timeout=60,
        )
    assert proc.returncode == 0, proc.stderr
    assert "counter" in proc.stdout and "READY" in proc.stdout
    assert "Revised values" not in proc.stderr + proc.stdout
    assert "does not contain the hostname" not in proc.stderr + proc.stdout
