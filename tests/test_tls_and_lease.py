"""Modbus/TCP Security (mutual X.509, roles per function code) and the host's lease calls.

Certificates come from a throwaway CA made at test time; traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from tls_certs import ThrowawayCA
from wall_clock import wall_clock_fixture

import presshil
from presshil.device.server import start_server
from presshil.errors import DeviceFault, PressError, PressURLError, TransportError
from presshil.serving.master import Role
from presshil.serving.tls import TlsConfig, role_name, role_of_certificate
from presshil.transports.control_lease import (
    ControlLost,
    LeaseHeld,
    LeaseWatch,
    claim_lease,
    holds_lease,
    read_lease,
    release_lease,
)

SIM_URL = "sim://?seed=4"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    ca = ThrowawayCA(folder)
    other = ThrowawayCA(folder, "another CA")
    return {
        "ca": ca.path,
        "server": ca.issue("press-server", server=True),
        "operator": ca.issue("operator-1", role="Operator"),
        "observer": ca.issue("observer-1", role="observer"),
        "ou_operator": ca.issue("ou-operator", ou="operator"),
        "no_role": ca.issue("no-role"),
        "stranger": other.issue("stranger", role="operator"),
    }


@wall_clock_fixture(scope="module")
def tls_server(pki):
    cert, key = pki["server"]
    with start_server(
        SIM_URL, modbus_tcp="127.0.0.1:0", tls=TlsConfig(cert, key, pki["ca"])
    ) as handle:
        yield handle


def tls_url(server, pki, who: str) -> str:
    cert, key = pki[who]
    return (
        f"modbus+tls://{server.endpoints['modbus_tcp']}?unit=1&timeout=2"
        f"&cert={cert}&key={key}&ca={pki['ca']}"
    )


def test_roles_come_from_the_role_extension_or_the_ou(pki) -> None:
    def der(who: str) -> bytes:
        return ssl.PEM_cert_to_DER_cert(pki[who][0].read_text())

    assert role_name(der("operator")) == "Operator"
    assert role_of_certificate(der("operator")) is Role.OPERATOR
    assert role_of_certificate(der("ou_operator")) is Role.OPERATOR
    assert role_of_certificate(der("observer")) is Role.OBSERVER
    assert role_of_certificate(der("no_role")) is Role.OBSERVER  # least privilege
    assert role_of_certificate(None) is Role.OBSERVER


def test_an_operator_reads_and_drives_the_press_over_tls(tls_server, pki) -> None:
    press = presshil.open_press(tls_url(tls_server, pki, "operator"))
    try:
        assert press.identity.channel_count >= 1
        press.configure(soft_max_mpa=50.0)
        press.command(2.0, 10.0)
        assert press.read().counter > 0
        press.safe_state()
        press.reset()
    finally:
        press.close()


@pytest.mark.parametrize("who", ["observer", "no_role"])
def test_an_observer_reads_but_every_write_is_exception_01(tls_server, pki, who) -> None:
    press = presshil.open_press(tls_url(tls_server, pki, who))
    try:
        assert press.read().counter > 0
        for write in (
            lambda: press.command(1.0, 1.0),
            press.stop,
            press.heartbeat,
            lambda: press.configure(watchdog_ms=0),
        ):
            with pytest.raises(DeviceFault) as info:
                write()
            assert info.value.code == 1
    finally:
        press.close()


def test_a_client_without_a_certificate_of_the_ca_is_refused(tls_server, pki) -> None:
    with pytest.raises(TransportError):
        presshil.open_press(tls_url(tls_server, pki, "stranger"))


def test_a_plain_tcp_client_gets_nothing_from_a_tls_port(tls_server) -> None:
    url = f"modbus+tcp://{tls_server.endpoints['modbus_tcp']}?unit=1&timeout=0.5&retries=0"
    with pytest.raises(TransportError):
        presshil.open_press(url)


def test_a_tls_url_without_its_files_is_a_clear_url_error(tls_server) -> None:
    with pytest.raises(PressURLError, match="'cert=' is required"):
        presshil.open_press(f"modbus+tls://{tls_server.endpoints['modbus_tcp']}?unit=1")


@pytest.mark.slow
def test_serving_beyond_loopback_without_tls_warns(tmp_path: Path) -> None:
    code = (
        "import threading, os, signal, sys;"
        "from presshil.device.serve import serve_main;"
        "threading.Timer(3.0, lambda: os.kill(os.getpid(), signal.SIGTERM)).start();"
        "sys.exit(serve_main('sim://', '0.0.0.0:0', None, None))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "warning: Modbus TCP on 0.0.0.0:" in proc.stderr and "without TLS" in proc.stderr


# --- the host's lease calls over modbus+tcp ---------------------------------------------------
@wall_clock_fixture()
def tcp_server():
    with start_server(SIM_URL, modbus_tcp="127.0.0.1:0") as handle:
        yield handle


def test_claim_refuses_to_start_on_a_press_another_host_controls(tcp_server) -> None:
    url = tcp_server.urls["modbus_tcp"]
    first, second = presshil.open_press(url), presshil.open_press(url)
    try:
        token = claim_lease(first)
        assert holds_lease(first) and not holds_lease(second)
        with pytest.raises(LeaseHeld, match="another master controls this press"):
            claim_lease(second)
        with pytest.raises(DeviceFault):
            second.command(1.0, 1.0)
        second.stop()  # always allowed
        status = read_lease(first)
        assert (
            status.last_stop is not None
            and status.last_stop.port == second._link.client.socket.getsockname()[1]
        )
        # the holder reconnects: the same token takes the lease back
        first._link.reconnect()
        assert not holds_lease(first)
        assert claim_lease(first, token) == token and holds_lease(first)
        release_lease(first)
        assert read_lease(first).holder is None
        claim_lease(second)
    finally:
        first.close()
        second.close()


def test_the_watch_names_who_stopped_the_press_and_what_changed(tcp_server) -> None:
    url = tcp_server.urls["modbus_tcp"]
    runner, intruder = presshil.open_press(url), presshil.open_press(url)
    try:
        claim_lease(runner)
        runner.configure(soft_max_mpa=40.0)
        watch = LeaseWatch(runner)
        watch.expect(soft_max_pressure=40.0)
        watch.check()
        intruder.stop()
        with pytest.raises(ControlLost, match="stopped by modbus tcp 127.0.0.1:"):
            watch.check()
        watch = LeaseWatch(runner)
        watch.expect(soft_max_pressure=30.0)  # what the run believes it wrote
        with pytest.raises(ControlLost, match="soft_max_pressure 30 → 40"):
            watch.check()
    finally:
        runner.close()
        intruder.close()


def test_the_watch_takes_its_own_lease_back_after_a_reconnect_but_not_anothers(tcp_server) -> None:
    """A reply timeout on a loaded machine makes the link reconnect: the lease still names the
    run's old connection, and the run's token takes it back (it used to abort the run with
    'the lease is now held by' its own former port). Another master's lease is not taken."""
    url = tcp_server.urls["modbus_tcp"]
    runner, other = presshil.open_press(url), presshil.open_press(url)
    try:
        token = runner.claim_control()
        old = runner._link.client.socket.getsockname()[1]
        runner._link.reconnect()
        assert not holds_lease(runner) and read_lease(runner).holder.port == old
        runner.check_control()  # no ControlLost: the token took the lease back
        assert holds_lease(runner)
        runner.release_control()
        claim_lease(other)  # now another master holds it, with its own token
        watch = LeaseWatch(runner, token)
        with pytest.raises(ControlLost, match="now held by modbus tcp 127.0.0.1:"):
            watch.check()
        assert holds_lease(other)
    finally:
        runner.close()
        other.close()


@pytest.mark.slow
def test_a_device_profile_served_over_modbus_tls_honours_roles(pki) -> None:
    """``serve --profile`` with TLS files: ``modbus+tls://…&profile=`` drives the device's own
    map; an observer certificate reads and its commands are refused; plain TCP gets nothing."""
    from presshil.profiles.server import start_profile_server

    cert, key = pki["server"]
    with start_profile_server(SIM_URL, "plc-hydraulic-press", modbus_tcp="127.0.0.1:0",
                              tls=TlsConfig(cert, key, pki["ca"])) as srv:
        operator = presshil.open_press(tls_url(srv, pki, "operator") + "&profile=plc-hydraulic-press")
        observer = presshil.open_press(tls_url(srv, pki, "observer") + "&profile=plc-hydraulic-press")
        try:
            first = operator.read().counter
            assert observer.read().counter >= first  # the observer reads the same device
            operator.command(5.0, 10.0)
            with pytest.raises(PressError):
                observer.command(6.0, 10.0)
        finally:
            operator.safe_state()
            operator.close()
            observer.close()
        plain = presshil.open_press(f"modbus+tcp://{srv.endpoints['modbus_tcp']}?profile=plc-hydraulic-press&timeout=0.3")
        try:
            with pytest.raises(PressError):
                plain.read()  # a TLS port does not answer plain Modbus TCP
        finally:
            plain.close()
