"""``python -m presshil`` is the ``presshil`` command."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

import presshil


def test_python_dash_m_runs_the_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["presshil", "--help"])
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(Path(presshil.__file__).parent / "__main__.py"), run_name="__main__")
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "run" in out and "Usage" in out
