"""An OPC UA press whose server goes away and comes back on the same port: the press fails
its requests as transport errors meanwhile, then reconnects by itself, in both read modes."""

from __future__ import annotations

import pytest
from waiting import wait_for

import presshil
from presshil.errors import TransportError
from presshil.profiles.server import start_profile_server

pytest.importorskip("asyncua")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
SIM = "sim://auto-hydraulic-25t?seed=1"


def serve(port: int = 0):
    return start_profile_server(SIM, "opcua-press", opcua=f"127.0.0.1:{port}")


def reads_again(press, within_s: float) -> int:
    """The counter of the first read that succeeds and is fresh within ``within_s``."""
    first: list[int] = []

    def fresh() -> tuple[int] | None:
        try:
            counter = press.read().counter
        except TransportError:
            return None
        if not first:
            first.append(counter)
        elif counter != first[0]:  # values are arriving again, not only the last ones kept
            return (counter,)
        return None

    return wait_for(fresh, timeout_s=within_s, what="a fresh reading", poll_s=0.05)[0]


def writes_again(press, within_s: float) -> None:
    """A command accepted within ``within_s``: on a loaded machine one write may outlast the
    URL's short timeout, and a run's sampler would retry it within its budget too."""

    def accepted() -> bool:
        try:
            press.command(5.0, 10.0)
        except TransportError:
            return False
        return True

    wait_for(accepted, timeout_s=within_s, what="a command accepted", poll_s=0.2)


@pytest.mark.parametrize("mode", ["poll", "subscribe"])
def test_a_server_that_comes_back_is_reconnected_to(mode) -> None:
    server = serve()
    port = int(server.endpoints["opcua"].split("/", 1)[0].rsplit(":", 1)[1])
    press = presshil.open_press(server.urls["opcua"] + f"&mode={mode}&timeout=0.5")
    try:
        before = press.read().counter
        server.stop()
        if mode == "poll":
            with pytest.raises(TransportError):
                press.read()
        server = serve(port)  # a new server process state: its counter starts again
        assert reads_again(press, within_s=20.0) != before
        writes_again(press, within_s=10.0)  # writes go through the new session too
    finally:
        press.close()
        server.stop()
