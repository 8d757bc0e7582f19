"""The library: one lookup for protocols, suites, sims and profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from presshil import ProtocolError
from presshil.library import KINDS, find, names, search_dirs

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_protocols_and_suites_are_found_by_name(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # nothing local: the shipped files answer
    assert find("protocols", "assembly-74mpa").name == "assembly-74mpa.toml"
    assert find("suites", "standard") == ROOT / "protocols" / "acceptance" / "standard.toml"
    assert "assembly-74mpa" in names("protocols") and "standard" in names("suites")
    assert "standard" not in names("protocols")  # suites live one folder down


def test_a_labs_own_file_wins_over_the_shipped_one(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    own = tmp_path / "protocols" / "assembly-74mpa.toml"
    own.parent.mkdir()
    own.write_text("# the lab's version\n")
    assert find("protocols", "assembly-74mpa").resolve() == own.resolve()


def test_rootdir_is_searched_after_the_current_directory(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "project"
    (root / "profiles").mkdir(parents=True)
    (root / "profiles" / "vendor-x.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    assert find("profiles", "vendor-x", rootdir=root) == root / "profiles" / "vendor-x.toml"
    assert "vendor-x" in names("profiles", rootdir=root)


def test_a_miss_suggests_the_closest_name_of_its_kind(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProtocolError, match="did you mean 'standard'") as info:
        find("suites", "standrd")
    assert "suites known: " in str(info.value)
    monkeypatch.setattr("presshil.library.shipped_dir", lambda name: None)
    with pytest.raises(ProtocolError, match="no profiles found"):
        find("profiles", "vendor-y")


def test_kinds_are_the_four_and_unknown_kinds_are_refused() -> None:
    assert set(KINDS) == {"protocols", "suites", "sims", "profiles"}
    with pytest.raises(ValueError, match="known: protocols, suites, sims, profiles"):
        search_dirs("recipes")
