"""The example test file passes unchanged against `presshil serve` over Modbus TCP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from presshil.device.spawn import SpawnedServer

pytestmark = pytest.mark.slow  # a served press and subprocesses

ROOT = Path(__file__).resolve().parents[1]


def test_examples_run_unchanged_over_modbus_tcp(tmp_path: Path) -> None:
    with SpawnedServer("sim://?seed=1", modbus_tcp="127.0.0.1:0") as server:
        url = server.urls["modbus-tcp"] if "modbus-tcp" in server.urls else next(iter(server.urls.values()))
        assert url.startswith("modbus+tcp://127.0.0.1:")
        junit = tmp_path / "junit.xml"
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", str(ROOT / "tests" / "examples"), "-p", "no:cacheprovider",
             "--press", url, f"--junitxml={junit}", "-rs", "-q", "--benchmark-disable-gc"],
            capture_output=True, text=True, timeout=600, cwd=ROOT,
        )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    # the sim-only fault-injection example is skipped with its reason; the rest ran on the wire
    assert "3 passed, 1 skipped" in proc.stdout, proc.stdout[-2000:]
    assert "sim_only: needs a simulated press" in proc.stdout
    assert url in junit.read_text()


def test_header_names_a_wire_press_and_its_identity(pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    with SpawnedServer("sim://?seed=1", modbus_tcp="127.0.0.1:0") as server:
        url = server.urls["modbus_tcp"]
        url += "&timeout=1"  # a reply within 1 s: the header is about naming, not latency
        result = pytester.runpytest_subprocess("--press", url)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"presshil: press {url} (from --press), presshil-sim * (s/n SIM-*, firmware *)"])
