"""Line v1 is one table (:data:`presshil.maps.line_v1.COMMANDS`): the host client speaks and
the device serves exactly its commands, so a command added to it works on both ends."""

from __future__ import annotations

import ast
import inspect

import pytest

from presshil import DeviceFault
from presshil.device import line_server, start_server
from presshil.maps import line_v1
from presshil.maps.line_v1 import COMMANDS, ERR_RANGE, ERR_UNKNOWN, Kind, LineCommand
from presshil.transports import serial_line
from presshil.urls import open_press


@pytest.mark.slow
def test_a_command_added_to_the_table_is_spoken_by_the_client_and_served(monkeypatch) -> None:
    added = (
        LineCommand("soft_limit", "SOFTLIM", Kind.SET, register="soft_max_pressure", what="limit"),
        LineCommand(
            "counter",
            "CNT?",
            Kind.QUERY,
            parse=int,
            reply=lambda p: str(p.sample().counter),
            what="read the counter",
        ),
    )
    with start_server("sim://?seed=3", serial="pty") as server:
        press = open_press(f"serial://{server.endpoints['serial']}")
        try:
            # not in the table yet: the device does not know it, the client cannot name it
            with pytest.raises(KeyError):
                press.speak("soft_limit", 5.0)
            monkeypatch.setattr(line_v1, "COMMANDS", COMMANDS + added)
            assert press.speak("soft_limit", 5.0) == "OK"
            assert server.press.params["soft_max_pressure"] == 5.0
            with pytest.raises(DeviceFault) as refused:  # the device's rules see the new limit
                press.command(6.0, 1.0)
            assert refused.value.code == ERR_RANGE
            first = press.speak("counter")
            assert isinstance(first, int) and press.speak("counter") >= first
            monkeypatch.setattr(line_v1, "COMMANDS", COMMANDS)  # gone from the table again
            with pytest.raises(KeyError):
                press.speak("counter")
            with pytest.raises(DeviceFault) as unknown:  # and the device no longer serves it
                press._link.exchange(["CNT?"], [str.strip], "raw CNT?")
            assert unknown.value.code == ERR_UNKNOWN
        finally:
            press.close()


def test_no_command_spelling_or_fault_code_is_written_outside_the_table() -> None:
    words = {c.word for c in COMMANDS} | {"OK", "ERR"}
    for module in (serial_line, line_server):
        tree = ast.parse(inspect.getsource(module))
        literals = {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }
        assert not words & literals, (module.__name__, words & literals)
        for node in ast.walk(tree):  # no `exc.code != 1`, `code=1`, `format_err(4, …)`
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                if any(isinstance(n, ast.Attribute) and n.attr == "code" for n in sides):
                    assert not any(isinstance(n, ast.Constant) for n in sides), ast.unparse(node)
            if isinstance(node, ast.keyword) and node.arg == "code":
                assert not isinstance(node.value, ast.Constant), ast.unparse(node.value)
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "format_err":
                assert not isinstance(node.args[0], ast.Constant), ast.unparse(node)


def test_the_protocol_document_lists_exactly_the_tables_commands() -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "serial-protocol.md").read_text()
    documented = {m.group(1).upper() for m in re.finditer(r"^\| `([^` <]+)[^`]*` \|", text, re.M)}
    assert documented == {c.word for c in COMMANDS}
