"""Protocol files: the library loads, and every kind of bad input is one clear ProtocolError."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pydantic
import pytest

from presshil import ProtocolError
from presshil.errors import human_step
from presshil.metrics import CRITERIA
from presshil.protocol import (
    HoldStep,
    RampStep,
    RepeatStep,
    SetpointStep,
    load_protocol,
    parse_protocol,
)

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "protocols").glob("*.toml")) + sorted(
    (ROOT / "protocols" / "lithium-metal").glob("*.toml"))

HEAD = """\
name = "t"
[specimen]
die_diameter_mm = 10.0
[limits]
max_pressure_mpa = 80.0
max_rate_mpa_s = 10.0
"""
RAMP = '[[steps]]\ntype = "ramp"\nto_mpa = 74.0\nrate_mpa_s = 2.0\n'


def fails(text: str, *, step: str | int | None, field: str | None, says: tuple[str, ...] = ()):
    """Parse ``text`` as bad.toml; assert one ProtocolError naming file, step and field."""
    with pytest.raises(ProtocolError) as info:
        parse_protocol(text, source="bad.toml")
    err = info.value
    msg = str(err)
    assert err.file == "bad.toml" and msg.startswith("bad.toml")
    assert (err.step is None) if step is None else (str(err.step) == str(step))
    if step is not None:  # the message counts from 1, the attribute is the 0-based path
        assert f"{human_step(step)}," in msg or f"{human_step(step)}:" in msg
    assert err.field == field
    if field is not None:
        assert f"field '{field}'" in msg
    for word in says:
        assert word in msg, f"{word!r} not in {msg!r}"
    assert "\n" not in msg
    return err


# --- the library -----------------------------------------------------------------------------


def test_library_is_not_empty():
    names = {p.stem for p in LIBRARY}
    assert {"assembly-74mpa", "cycling-hold-15mpa", "cycling-hold-50mpa",
            "step-response-74mpa"} <= names


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_library_protocol_loads_and_is_named_after_its_file(path):
    proto = load_protocol(path)
    assert proto.name == path.stem
    assert proto.source == str(path)
    assert proto.specimen.die_area_mm2 == pytest.approx(math.pi * 25.0)


def test_assembly_protocol_matches_the_spec():
    proto = load_protocol(ROOT / "protocols" / "assembly-74mpa.toml")
    ramp, hold, release = proto.steps
    assert isinstance(ramp, RampStep) and (ramp.to_mpa, ramp.rate_mpa_s) == (74.0, 2.0)
    assert isinstance(hold, HoldStep) and hold.duration_s == 300 and hold.at_mpa is None
    assert hold.expect["band_mpa"] == 0.5
    assert release.type == "release"
    assert (proto.limits.max_pressure_mpa, proto.limits.max_rate_mpa_s) == (80.0, 10.0)


def test_cycling_protocol_is_100_cycles_of_two_one_hour_holds():
    proto = load_protocol(ROOT / "protocols" / "cycling-hold-15mpa.toml")
    cycles = proto.steps[proto.find_step("cycles")]
    assert isinstance(cycles, RepeatStep) and cycles.count == 100
    assert [s.label for s in cycles.steps] == ["charge", "discharge"]
    assert sum(s.duration_s for s in cycles.steps) * cycles.count == 200 * 3600
    assert proto.sampling.rate_hz < 1.0
    assert proto.nominal_duration_s() >= 200 * 3600


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_library_hold_bands_follow_domain_rule_or_tighter(path):
    # docs/domain.md: band ±1 % or ±0.25 MPa, whichever is larger; the assembly spec asks ±0.5 MPa.
    proto = load_protocol(path)
    setpoint = 0.0
    for step in _flatten(proto.steps):
        setpoint = getattr(step, "to_mpa", None) or getattr(step, "at_mpa", None) or setpoint
        if "band_mpa" in step.expect:
            assert step.expect["band_mpa"] <= max(0.01 * setpoint, 0.25) + 1e-9
        if "max_overshoot_pct" in step.expect:
            assert step.expect["max_overshoot_pct"] <= 1.0


def _flatten(steps):
    for s in steps:
        if s.type == "repeat":
            yield from _flatten(s.steps)
        else:
            yield s


# --- the API the runner uses -------------------------------------------------------------


def test_text_sha256_and_default_source():
    text = HEAD + RAMP
    proto = parse_protocol(text)
    assert proto.source == "<string>"
    assert proto.text == text
    assert proto.sha256 == hashlib.sha256(text.encode()).hexdigest()


def test_die_area_given_or_computed():
    by_area = parse_protocol(HEAD.replace("die_diameter_mm = 10.0", "die_area_mm2 = 132.7") + RAMP)
    assert by_area.specimen.die_area_mm2 == 132.7
    assert parse_protocol(HEAD + RAMP).specimen.die_area_mm2 == pytest.approx(78.5398, rel=1e-5)


def test_defaults_sampling_expect_and_step_rate():
    proto = parse_protocol(HEAD + '[[steps]]\ntype = "step"\nto_mpa = 50\nduration_s = 5\n')
    assert proto.sampling.rate_hz == 10.0
    step = proto.steps[0]
    assert isinstance(step, SetpointStep)
    assert step.expect == {} and step.label is None
    assert step.rate_mpa_s == 10.0  # filled from limits.max_rate_mpa_s


def test_sub_hz_sampling_is_allowed():
    proto = parse_protocol(HEAD + "[sampling]\nrate_hz = 0.05\n" + RAMP)
    assert proto.sampling.rate_hz == 0.05


def test_step_names_and_lookup():
    text = HEAD + RAMP + '[[steps]]\ntype = "hold"\nlabel = "hold-74"\nduration_s = 10\n'
    proto = parse_protocol(text, source="p.toml")
    assert [proto.step_name(0), proto.step_name(1)] == ["0", "hold-74"]
    assert proto.find_step(1) == 1
    assert proto.find_step("hold-74") == 1
    assert proto.find_step("0") == 0


@pytest.mark.parametrize("bad", [2, -1, "hold-75", True])
def test_find_step_unknown_lists_valid_names(bad):
    text = HEAD + RAMP + '[[steps]]\ntype = "hold"\nlabel = "hold-74"\nduration_s = 10\n'
    proto = parse_protocol(text, source="p.toml")
    with pytest.raises(ProtocolError, match=r"p\.toml.*0, hold-74"):
        proto.find_step(bad)


def test_check_press_refuses_a_limit_above_the_rating():
    proto = parse_protocol(HEAD + RAMP, source="p.toml")
    proto.check_press(80.0)  # equal is fine
    with pytest.raises(ProtocolError) as info:
        proto.check_press(50.0)
    assert info.value.field == "limits.max_pressure_mpa"
    assert "p.toml" in str(info.value) and "50 MPa" in str(info.value)


def test_models_are_frozen():
    proto = parse_protocol(HEAD + RAMP)
    with pytest.raises(pydantic.ValidationError):
        proto.steps[0].to_mpa = 100.0  # type: ignore[misc]


def test_nested_repeat_parses():
    text = HEAD + RAMP + """
[[steps]]
type = "repeat"
count = 2
  [[steps.steps]]
  type = "repeat"
  count = 3
    [[steps.steps.steps]]
    type = "hold"
    duration_s = 1
"""
    outer = parse_protocol(text).steps[1]
    assert isinstance(outer, RepeatStep) and outer.expect == {}
    inner = outer.steps[0]
    assert isinstance(inner, RepeatStep) and inner.count == 3
    assert isinstance(inner.steps[0], HoldStep)


def test_hold_without_at_after_ramp_is_fine_and_hold_with_at_needs_no_ramp():
    after_ramp = parse_protocol(HEAD + RAMP + '[[steps]]\ntype = "hold"\nduration_s = 1\n')
    assert after_ramp.steps[1].at_mpa is None  # holds what the ramp reached
    alone = parse_protocol(HEAD + '[[steps]]\ntype = "hold"\nat_mpa = 5\nduration_s = 1\n')
    assert alone.steps[0].at_mpa == 5.0


# --- files -----------------------------------------------------------------------------------


def test_missing_file_is_named_and_neighbours_listed(tmp_path):
    (tmp_path / "assembly.toml").write_text(HEAD + RAMP)
    missing = tmp_path / "asembly.toml"
    with pytest.raises(ProtocolError) as info:
        load_protocol(missing)
    assert info.value.file == str(missing)
    assert "no such file" in str(info.value) and "assembly.toml" in str(info.value)


def test_directory_is_not_a_protocol(tmp_path):
    with pytest.raises(ProtocolError, match="directory"):
        load_protocol(tmp_path)


def test_file_errors_name_the_file_path(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(HEAD + '[[steps]]\ntype = "ramp"\nto_mpa = 74\n')
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    assert str(info.value).startswith(str(path))
    assert info.value.field == "rate_mpa_s"


def test_not_toml_gives_line_and_column():
    err = fails(HEAD + "[[steps]\n", step=None, field=None, says=("not valid TOML", "line 7"))
    assert "column" in str(err)


def test_not_utf8(tmp_path):
    path = tmp_path / "p.toml"
    path.write_bytes(b'name = "\xff"\n')
    with pytest.raises(ProtocolError, match="UTF-8"):
        load_protocol(path)


# --- structure -------------------------------------------------------------------------------


def test_unknown_step_key_lists_allowed_keys():
    fails(HEAD + RAMP + "speed = 3\n", step=0, field="speed",
          says=("unknown key", "type, to_mpa, rate_mpa_s, label, expect"))


def test_unknown_top_level_key():
    fails("nmae = 1\n" + HEAD + RAMP, step=None, field="nmae", says=("unknown key", "name"))


def test_unknown_key_in_a_section():
    fails(HEAD + "max_force_kn = 9\n" + RAMP, step=None, field="limits.max_force_kn",
          says=("[limits]", "max_pressure_mpa, max_rate_mpa_s"))


def test_top_level_key_after_a_table_gets_a_toml_hint():
    fails(HEAD + 'description = "x"\n' + RAMP, step=None, field="limits.description",
          says=("before the first [table]",))


def test_missing_step_field():
    fails(HEAD + '[[steps]]\ntype = "ramp"\nto_mpa = 74\n', step=0, field="rate_mpa_s",
          says=("missing", "ramp step"))


def test_missing_section():
    text = 'name = "t"\n[specimen]\ndie_area_mm2 = 3\n' + RAMP
    fails(text, step=None, field="limits", says=("missing",))


def test_several_errors_reported_as_first_plus_count():
    fails(HEAD + '[[steps]]\ntype = "ramp"\n', step=0, field="to_mpa", says=("(+1 more; presshil check lists them)",))


def test_wrong_type_string_for_number():
    fails(HEAD + '[[steps]]\ntype = "ramp"\nto_mpa = "74"\nrate_mpa_s = 2\n', step=0,
          field="to_mpa", says=("must be a number", "'74' (str)"))


def test_wrong_type_bool_for_count():
    fails(HEAD + RAMP + '[[steps]]\ntype = "repeat"\ncount = true\n'
          '[[steps.steps]]\ntype = "hold"\nduration_s = 1\n', step=1, field="count",
          says=("whole number", "bool"))


def test_wrong_type_float_for_count():
    fails(HEAD + RAMP + '[[steps]]\ntype = "repeat"\ncount = 2.5\n'
          '[[steps.steps]]\ntype = "hold"\nduration_s = 1\n', step=1, field="count",
          says=("whole number",))


def test_step_that_is_not_a_table():
    fails("steps = [1]\n" + HEAD, step=0, field=None, says=("must be a table",))


def test_unknown_step_type_lists_types():
    fails(HEAD + '[[steps]]\ntype = "rampp"\n', step=0, field="type",
          says=("'rampp'", "ramp, hold, hold_gap, release, step, repeat"))


def test_missing_step_type():
    fails(HEAD + "[[steps]]\nto_mpa = 5\n", step=0, field="type", says=("missing",))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nan_and_inf_rejected(value):
    fails(HEAD + f'[[steps]]\ntype = "ramp"\nto_mpa = {value}\nrate_mpa_s = 2\n', step=0,
          field="to_mpa", says=("finite",))


def test_nan_in_expect_rejected():
    fails(HEAD + RAMP + "expect = { max_tracking_error_mpa = nan }\n", step=0,
          field="expect.max_tracking_error_mpa", says=("finite",))


def test_negative_duration():
    fails(HEAD + RAMP + '[[steps]]\ntype = "hold"\nduration_s = -1\n', step=1,
          field="duration_s", says=("must be > 0", "-1"))


def test_zero_duration():
    fails(HEAD + RAMP + '[[steps]]\ntype = "hold"\nduration_s = 0\n', step=1,
          field="duration_s", says=("must be > 0",))


def test_zero_rate():
    # rates are bounded below by 1 kPa/s: slower never finishes (see docs/protocols.md)
    fails(HEAD + '[[steps]]\ntype = "release"\nrate_mpa_s = 0\n', step=0, field="rate_mpa_s",
          says=("must be >= 0.001",))


def test_negative_target():
    fails(HEAD + '[[steps]]\ntype = "ramp"\nto_mpa = -5\nrate_mpa_s = 1\n', step=0,
          field="to_mpa", says=("must be >= 0",))


def test_zero_sampling_rate():
    fails(HEAD + "[sampling]\nrate_hz = 0\n" + RAMP, step=None, field="sampling.rate_hz",
          says=("must be >= 0.01",))


def test_zero_limit():
    fails(HEAD.replace("max_rate_mpa_s = 10.0", "max_rate_mpa_s = 0") + RAMP, step=None,
          field="limits.max_rate_mpa_s", says=("must be >= 0.001",))


def test_repeat_count_zero():
    fails(HEAD + RAMP + '[[steps]]\ntype = "repeat"\ncount = 0\n'
          '[[steps.steps]]\ntype = "hold"\nduration_s = 1\n', step=1, field="count",
          says=("must be >= 1",))


def test_empty_step_list():
    fails("steps = []\n" + HEAD, step=None, field="steps", says=("must not be empty",))


def test_no_steps_at_all():
    fails(HEAD, step=None, field="steps", says=("missing",))


def test_empty_repeat_body():
    fails(HEAD + '[[steps]]\ntype = "repeat"\ncount = 2\nsteps = []\n', step=0, field="steps",
          says=("must not be empty",))


def test_nested_error_names_the_nested_step():
    text = HEAD + RAMP + """
[[steps]]
type = "repeat"
count = 2
  [[steps.steps]]
  type = "hold"
  duration_s = 1
  [[steps.steps]]
  type = "hold"
  duration_s = 0
"""
    fails(text, step="1.steps[1]", field="duration_s", says=("must be > 0",))


def test_specimen_needs_exactly_one_size():
    both = HEAD.replace("die_diameter_mm = 10.0", "die_diameter_mm = 10.0\ndie_area_mm2 = 78")
    fails(both + RAMP, step=None, field="specimen.die_diameter_mm|die_area_mm2",
          says=("exactly one",))
    fails(HEAD.replace("die_diameter_mm = 10.0", "") + RAMP, step=None,
          field="specimen.die_diameter_mm|die_area_mm2", says=("exactly one",))


def test_empty_name():
    fails(HEAD.replace('"t"', '""') + RAMP, step=None, field="name", says=("must not be empty",))


# --- checks across fields --------------------------------------------------------------------


def test_target_above_limit():
    fails(HEAD + '[[steps]]\ntype = "ramp"\nto_mpa = 740\nrate_mpa_s = 2\n', step=0,
          field="to_mpa", says=("740 MPa", "limits.max_pressure_mpa = 80"))


def test_hold_at_above_limit():
    fails(HEAD + '[[steps]]\ntype = "hold"\nat_mpa = 81\nduration_s = 1\n', step=0,
          field="at_mpa", says=("81 MPa",))


def test_step_target_above_limit_deep_in_a_repeat():
    text = HEAD + """
[[steps]]
type = "repeat"
count = 1
  [[steps.steps]]
  type = "repeat"
  count = 1
    [[steps.steps.steps]]
    type = "step"
    to_mpa = 99
    duration_s = 1
"""
    fails(text, step="0.steps[0].steps[0]", field="to_mpa", says=("99 MPa",))


def test_ramp_rate_above_limit():
    fails(HEAD + '[[steps]]\ntype = "ramp"\nto_mpa = 74\nrate_mpa_s = 20\n', step=0,
          field="rate_mpa_s", says=("20 MPa/s", "limits.max_rate_mpa_s = 10"))


def test_step_rate_above_limit():
    fails(HEAD + '[[steps]]\ntype = "step"\nto_mpa = 74\nduration_s = 5\nrate_mpa_s = 11\n',
          step=0, field="rate_mpa_s", says=("11 MPa/s",))


def test_release_rate_above_limit():
    fails(HEAD + RAMP + '[[steps]]\ntype = "release"\nrate_mpa_s = 50\n', step=1,
          field="rate_mpa_s", says=("50 MPa/s",))


def test_unknown_expect_key_lists_allowed():
    fails(HEAD + RAMP + "expect = { max_tracking_error = 1 }\n", step=0,
          field="expect.max_tracking_error",
          says=("unknown expect key", "max_tracking_error_mpa, max_overshoot_pct"))


def test_expect_key_not_applicable_to_step_type():
    fails(HEAD + RAMP + "expect = { band_mpa = 0.5 }\n", step=0, field="expect.band_mpa",
          says=("does not apply to a ramp step", "max_tracking_error_mpa"))


def test_a_repeat_takes_only_cycle_criteria():
    fails(HEAD + RAMP + '[[steps]]\ntype = "repeat"\ncount = 1\nexpect = { band_mpa = 1 }\n'
          '[[steps.steps]]\ntype = "hold"\nduration_s = 1\n', step=1, field="expect.band_mpa",
          says=("does not apply to a repeat step", "max_growth_per_cycle_um"))


def test_expect_value_wrong_type():
    fails(HEAD + RAMP + 'expect = { max_overshoot_pct = "1" }\n', step=0,
          field="expect.max_overshoot_pct", says=("must be a number",))


def test_expect_negative_limit():
    fails(HEAD + RAMP + "expect = { max_overshoot_pct = -1 }\n", step=0,
          field="expect.max_overshoot_pct", says=(">= 0",))


def test_expect_percentage_above_100():
    fails(HEAD + RAMP + '[[steps]]\ntype = "hold"\nduration_s = 5\n'
          "expect = { band_mpa = 0.5, min_in_band_pct = 101 }\n", step=1,
          field="expect.min_in_band_pct", says=("<= 100",))


def test_expect_zero_band():
    fails(HEAD + RAMP + '[[steps]]\ntype = "hold"\nduration_s = 5\nexpect = { band_mpa = 0 }\n',
          step=1, field="expect.band_mpa", says=("> 0",))


@pytest.mark.parametrize("key", ["settle_s", "min_in_band_pct"])
def test_band_dependent_expect_needs_band(key):
    fails(HEAD + RAMP + f'[[steps]]\ntype = "hold"\nduration_s = 5\nexpect = {{ {key} = 1 }}\n',
          step=1, field=f"expect.{key}", says=("needs expect.band_mpa",))


def test_hold_before_any_ramp_has_nothing_to_hold():
    fails(HEAD + '[[steps]]\ntype = "hold"\nduration_s = 5\n', step=0, field="at_mpa",
          says=("no ramp or step before it",))


def test_hold_after_release_inside_repeat_has_nothing_to_hold():
    # The first pass is fine; the second pass starts released.
    text = HEAD + RAMP + """
[[steps]]
type = "repeat"
count = 2
  [[steps.steps]]
  type = "hold"
  duration_s = 1
  [[steps.steps]]
  type = "release"
  rate_mpa_s = 1
"""
    fails(text, step="1.steps[0]", field="at_mpa", says=("add at_mpa",))


def test_duplicate_top_level_labels():
    fails(HEAD + RAMP + 'label = "a"\n' + RAMP + 'label = "a"\n', step=1, field="label",
          says=("already used by step 1",))


def test_all_digit_label():
    fails(HEAD + RAMP + 'label = "3"\n', step=0, field="label", says=("digits",))


# --- the documentation -----------------------------------------------------------------------


DOC = (ROOT / "docs" / "protocols.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("key", sorted(CRITERIA))
def test_every_expect_key_is_documented_with_its_unit(key):
    rows = [line for line in DOC.splitlines() if line.startswith(f"| `{key}`")]
    assert rows, f"docs/protocols.md has no table row for expect key {key}"
    assert CRITERIA[key].unit in rows[0] and CRITERIA[key].comparison in rows[0]


@pytest.mark.parametrize("model", [RampStep, HoldStep, SetpointStep, RepeatStep])
def test_every_step_key_is_documented(model):
    for name, field in model.model_fields.items():
        assert f"`{field.alias or name}`" in DOC
