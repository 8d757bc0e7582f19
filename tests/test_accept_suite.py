"""Acceptance suite files: the shipped one loads, bad ones name file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from presshil.acceptance import load_suite, parse_suite
from presshil.acceptance.commands import accept_main
from presshil.errors import ProtocolError

ROOT = Path(__file__).resolve().parents[1]


def test_standard_suite_loads_with_domain_defaults() -> None:
    suite = load_suite(ROOT / "protocols" / "acceptance" / "standard.toml")
    assert suite.name == "standard"
    assert suite.force_verification.forces_pct == [20.0, 40.0, 60.0, 80.0, 100.0]
    assert suite.force_verification.preloads == 3 and suite.force_verification.series == 3
    assert suite.step_response.to_mpa == 74.0
    assert suite.die_area_mm2 == pytest.approx(78.5398, rel=1e-5)
    assert len(suite.sha256) == 64


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ('name = "x"\n[hold]\nduration = 10.0\n', "[hold].duration", "unknown key"),
        ('name = "x"\n[hold]\nat_mpa = "50"\n', "[hold].at_mpa", "valid number"),
        ('name = "x"\n[hold]\nat_mpa = nan\n', "[hold].at_mpa", "finite"),
        ('name = "x"\n[force_verification]\nforces_pct = [20.0, 40.0, 60.0, 100.0]\n',
         "[force_verification].forces_pct", "at least 5"),
        ('name = "x"\n[force_verification]\nforces_pct = [30.0, 40.0, 60.0, 80.0, 100.0]\n',
         "[force_verification].forces_pct", "20 %"),
        ('name = "x"\n[force_verification]\nrequired_class = "4"\n',
         "[force_verification].required_class", "'0.5'"),
        ('name = "x"\n[force_verification]\nrange_max_pct_of_rating = 120.0\n',
         "[force_verification].range_max_pct_of_rating", "100"),
        ('name = "x"\n[step_response]\nto_mpa = 90.0\n', "[step_response].to_mpa", "soft_max_mpa"),
        ('name = "x"\n[safety]\nover_limit_setpoint_mpa = 70.0\n',
         "[safety].over_limit_setpoint_mpa", "above soft_max_mpa"),
        ('description = "no name"\n', "name", "missing"),
    ],
)
def test_bad_suite_names_file_and_key(text: str, field: str, words: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_suite(text, source="bad.toml")
    message = str(info.value)
    assert message.startswith("bad.toml")
    assert f"field '{field}'" in message
    assert words in message


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="not valid TOML"):
        parse_suite("name = ", source="broken.toml")
    (tmp_path / "other.toml").write_text('name = "other"\n')
    with pytest.raises(ProtocolError, match="other"):  # lists the suites that do exist
        load_suite(tmp_path / "nope.toml")


def test_accept_main_bad_suite_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[hold]\nat_mpa = -1.0\n')
    assert accept_main("sim://", None, str(bad), None, {}, progress=False) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "[hold].at_mpa" in err and "Traceback" not in err


def test_accept_main_bad_press_url_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert accept_main("nosuch://x", None, str(ROOT / "protocols/acceptance/standard.toml"),
                       None, {}, progress=False) == 2
    assert "Valid forms" in capsys.readouterr().err
