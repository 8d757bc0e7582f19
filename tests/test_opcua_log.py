"""The OPC UA endpoint's protocol errors are logged like Modbus's: one line per client, kind and
interval with a count, never a traceback. asyncua's own loggers are driven here the way its
server drives them, from code running for a connection with a ``peer_name``."""

from __future__ import annotations

import logging

from presshil.profiles.opcua_log import OpcUaErrorFilter, rate_limit_asyncua

PARSE = logging.getLogger("asyncua.server.binary_server_asyncio")


class FakeConnection:
    """Stands where asyncua's OPCUAProtocol stands: a ``peer_name`` on the stack."""

    def __init__(self, host: str) -> None:
        self.peer_name = (host, 40000)

    def garbage(self, exc: Exception) -> None:
        try:
            raise exc
        except Exception:
            PARSE.exception("Exception raised while processing message from client")


def test_500_malformed_messages_make_one_line_per_client_and_kind_without_tracebacks(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    flt = rate_limit_asyncua(10.0)
    assert rate_limit_asyncua(10.0) is flt  # installed once
    a, b = FakeConnection("192.0.2.1"), FakeConnection("192.0.2.2")
    for i in range(500):
        (a if i % 2 else b).garbage(ValueError(f"bad byte {i}") if i % 5 else KeyError(i))
    lines = [r for r in caplog.records if r.name == "presshil.profiles.opcua"]
    # 2 clients × 2 kinds (ValueError, KeyError), each once in the 10 s interval
    assert len(lines) == 4, [r.getMessage() for r in lines]
    assert {r.getMessage().split(":")[0] for r in lines} == {"192.0.2.1", "192.0.2.2"}
    assert not any(r.exc_info for r in caplog.records)
    assert "Traceback" not in caplog.text and len(caplog.text) < 2_000


def test_the_count_of_repeats_comes_with_the_next_line(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    flt = OpcUaErrorFilter(0.0)  # no interval: every record is a line, repeats counted between
    flt.badlog.interval_s = 3600.0
    rec = logging.LogRecord(PARSE.name, logging.ERROR, __file__, 1, "Got malformed header %s", ("x",), None)
    for _ in range(3):
        assert flt.filter(rec) is False
    flt.badlog.interval_s = 0.0
    flt.filter(rec)
    lines = [r.getMessage() for r in caplog.records if r.name == "presshil.profiles.opcua"]
    assert len(lines) == 2 and lines[1].endswith("(2 more since the last line)"), lines


def test_debug_records_pass_untouched() -> None:
    rec = logging.LogRecord(PARSE.name, logging.DEBUG, __file__, 1, "detail", (), None)
    assert OpcUaErrorFilter().filter(rec) is True
