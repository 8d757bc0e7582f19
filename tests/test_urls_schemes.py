"""The press URL scheme registry: each scheme's form, keys and opener declared once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from presshil.errors import ConfigError, PressURLError
from presshil.url_schemes import SCHEMES, Scheme, register_scheme, valid_forms
from presshil.urls import parse_press_url, stored_param

#: a URL of each form, and the target it parses to
EXAMPLES = {
    "hostport": ("192.0.2.5:1502", "192.0.2.5:1502"),
    "hostport+path": ("192.0.2.5:4840/press", "192.0.2.5:4840/press"),
    "device": ("/dev/ttyUSB0", "/dev/ttyUSB0"),
    "name": ("some-name", "some-name"),
}


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_every_registered_scheme_round_trips(name: str) -> None:
    scheme = SCHEMES[name]
    where, target = EXAMPLES[scheme.form]
    key = sorted(scheme.keys)[0]
    url = f"{name}://{where}?{key}=1"
    parsed = parse_press_url(url)
    assert (parsed.scheme, parsed.target, parsed.query) == (name, target, {key: "1"})
    if scheme.form.startswith("hostport"):
        assert (parsed.host, parsed.port) == ("192.0.2.5", int(where.split(":")[1].split("/")[0]))
    again = parse_press_url(parsed.with_query({key: "2"}).raw)
    assert (again.scheme, again.target, again.query) == (name, target, {key: "2"})
    assert parse_press_url(again.with_query({key: None}).raw).query == {}
    assert scheme.usage in valid_forms()


def test_a_misspelt_scheme_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(PressURLError) as info:
        parse_press_url("modbus-tcp://192.0.2.5:502")
    message = str(info.value)
    assert "unknown scheme 'modbus-tcp'" in message
    assert "known: " + ", ".join(SCHEMES) in message
    for usage in valid_forms():
        assert usage in message


@pytest.mark.parametrize("url", ["modbus+tcp://192.0.2.5", "modbus+tls://press.local", "opcua://192.0.2.5/x"])
def test_a_host_port_scheme_without_a_port_is_refused_not_read_as_a_name(url: str) -> None:
    with pytest.raises(PressURLError, match="needs HOST:PORT"):
        parse_press_url(url)


@pytest.fixture
def extra_scheme() -> Iterator[Scheme]:
    scheme = register_scheme(Scheme("ext+tcp", "hostport", "presshil.sim.press:open_sim_press",
                                    frozenset({"unit"}), "ext+tcp://HOST:PORT?unit=1"))
    try:
        yield scheme
    finally:
        SCHEMES.pop(scheme.name)


def test_a_scheme_registered_once_is_parsed_by_its_form_and_keys(extra_scheme: Scheme) -> None:
    parsed = parse_press_url("ext+tcp://10.0.0.1:7000?unit=2")
    assert (parsed.host, parsed.port, parsed.get_int("unit", 1)) == ("10.0.0.1", 7000, 2)
    with pytest.raises(PressURLError, match="ext\\+tcp needs HOST:PORT"):
        parse_press_url("ext+tcp://some-sim-name")  # never a name with 127.0.0.1 behind it
    with pytest.raises(PressURLError, match="unknown parameter\\(s\\) baud; allowed: unit"):
        parse_press_url("ext+tcp://10.0.0.1:7000?baud=9600")
    with pytest.raises(PressURLError) as info:
        parse_press_url("nope://x")
    assert "ext+tcp://HOST:PORT?unit=1" in str(info.value)  # registered after import: listed too
    with pytest.raises(ValueError, match="registered already"):
        register_scheme(Scheme("ext+tcp", "device", "x:y", frozenset(), "ext+tcp:///dev/x"))
    with pytest.raises(ValueError, match="go together"):
        register_scheme(Scheme("ext2", "name", "x:y", frozenset(), "ext2://N", profile_keys=frozenset({"profile"})))


def test_keys_are_checked_against_the_registration() -> None:
    with pytest.raises(PressURLError, match="unknown parameter\\(s\\) sede"):
        parse_press_url("sim://?sede=3")
    assert parse_press_url("sim://?load_cells.gain_error_pct=1.5").query  # the sim's dotted overrides
    with pytest.raises(PressURLError, match="unknown parameter\\(s\\) rated_mpa"):
        parse_press_url("serial:///dev/ttyUSB0?profile=x&rated_mpa=80")  # not with a profile
    assert parse_press_url("serial:///dev/ttyUSB0?rated_mpa=80").query == {"rated_mpa": "80"}
    assert SCHEMES["modbus+tcp"].opener_for({"profile": "p"}) != SCHEMES["modbus+tcp"].opener_for({})


def test_query_editing_seed_and_simulated() -> None:
    url = parse_press_url("sim://servo-electric-10t?seed=3&faults=watchdog@2s,drift:1.5&specimen=a")
    assert url.is_simulated and url.seed == 3
    edited = url.with_query(specimen="b", seed=None)
    assert edited.raw == "sim://servo-electric-10t?faults=watchdog@2s,drift:1.5&specimen=b"
    assert edited.seed is None and parse_press_url(edited.raw).query == edited.query
    assert url.with_seed(9).raw == "sim://servo-electric-10t?faults=watchdog@2s,drift:1.5&specimen=a&seed=9"
    assert url.with_seed(None) is url
    assert parse_press_url("sim://").with_query(specimen=None).raw == "sim://"
    with pytest.raises(PressURLError, match="'seed' must be an integer"):
        _ = parse_press_url("sim://?seed=x").seed
    wire = parse_press_url("modbus+tcp://127.0.0.1:5020")
    assert not wire.is_simulated and wire.seed is None
    with pytest.raises(ConfigError, match="--seed applies to simulated presses"):
        wire.with_seed(1)


def test_a_stored_url_is_read_without_checking_its_form() -> None:
    assert stored_param("modbus+tcp://h:1?profile=plc&gone_key=1", "profile") == "plc"
    assert stored_param("sim://", "profile") is None
