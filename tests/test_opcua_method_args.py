"""A method call whose arguments the press refuses gets the reason, not a server traceback."""

from __future__ import annotations

import logging

import pytest
from asyncua import ua
from asyncua.sync import Client

from presshil.profiles.server import start_profile_server

pytestmark = pytest.mark.slow  # an OPC UA server on loopback

NS = "urn:acme:servo-press"


def test_a_regulate_call_out_of_range_is_bad_invalid_argument_without_a_traceback(caplog) -> None:
    caplog.set_level(logging.INFO)
    with start_profile_server("sim://auto-hydraulic-25t?seed=1", "opcua-servo-press", opcua="127.0.0.1:0") as srv:
        endpoint = srv.urls["opcua"].split("://", 1)[1].split("?", 1)[0]
        client = Client(f"opc.tcp://{endpoint}", timeout=10)
        client.connect()
        try:
            idx = client.get_namespace_index(NS)
            obj = client.get_node(ua.NodeId(2000, idx))
            method = ua.NodeId(2001, idx)
            double = ua.VariantType.Double
            # 10 GPa is beyond any press: the press refuses the command
            try:
                obj.call_method(method, ua.Variant(10_000_000.0, double), ua.Variant(5.0, double))
                code = None
            except ua.UaStatusCodeError as exc:
                code = exc.code
            assert code == ua.StatusCodes.BadInvalidArgument, code
            # a good call on the same session still works
            obj.call_method(method, ua.Variant(5.0, double), ua.Variant(5.0, double))
        finally:
            client.disconnect()
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert not tracebacks, [r.getMessage() for r in tracebacks]
    assert any("refused" in r.getMessage() for r in caplog.records if r.name == "presshil.profiles")
