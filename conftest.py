"""Root conftest: test-suite-wide setup.

``pytester`` drives the plugin's own tests end to end, ``pg_cluster`` (tests/pg_cluster.py)
gives the throwaway PostgreSQL server, ``wall_clock`` (tests/wall_clock.py) marks the tests
that use wall-clock fixtures ``slow`` (and ``realtime``) and fails a quick test that opens a
socket, a pseudo-terminal or a process; ``pytest_plugins`` must be declared here, in the root
conftest.
"""

from __future__ import annotations

import sys
from pathlib import Path

pytest_plugins = ["pytester", "wall_clock", "pg_cluster"]

# the shared Press contract suite (tests/press_contract.py) is imported by name from
# tests/ and benchmarks/
sys.path.insert(0, str(Path(__file__).parent / "tests"))

def pytest_sessionstart(session) -> None:
    """Compile the simulator's kernel once, before the first test (or load it from numba's
    on-disk cache: a few hundred ms). Compiled cold inside a wall-clock test, it took 44 s on
    a busy two-core machine and tripped that test's 300 ms watchdog."""
    if session.config.option.collectonly:
        return
    import presshil

    press = presshil.open_press("sim://")
    try:
        press.clock.sleep_until(0.05)
    finally:
        press.close()
