"""Root conftest: test-suite-wide setup.

``pytester`` drives the plugin's own tests end to end, ``pg_cluster`` (tests/pg_cluster.py)
gives the throwaway PostgreSQL server; ``pytest_plugins`` must be declared
here, in the root conftest.
"""

from __future__ import annotations

import sys
from pathlib import Path

pytest_plugins = ["pytester", "pg_cluster"]

# the shared Press contract suite (tests/press_contract.py) is imported by name from
# tests/ and benchmarks/
sys.path.insert(0, str(Path(__file__).parent / "tests"))

# Test modules that run on wall-clock time (a served press on real sockets and
# pseudo-terminals, firmware subprocesses, multi-process stores). They carry the ``slow``
# marker so ``pytest -m "not slow"`` is the quick loop; the plain ``pytest`` runs them all.
# A single wall-clock test elsewhere takes ``@pytest.mark.slow`` itself.
WALL_CLOCK_MODULES = frozenset({
    "test_examples_over_wire.py",
    "test_fil.py",
    "test_fil_broken.py",
    "test_lease_contract.py",
    "test_web_guard.py",
    "test_web_guard_browser.py",
    "test_web_fuzz.py",
    "test_tls_refusals.py",
    "test_fil_mcu.py",
    "test_fil_mcu_bad_input.py",
    "test_fil_mcu_broken.py",
    "test_plant.py",
    "test_runner_over_wire.py",
    "test_serve.py",
    "test_transport_contract.py",
    "test_wire_faults.py",
})

#: single wall-clock tests in otherwise quick modules (a killed writer process, seconds of sleep)
WALL_CLOCK_TESTS = frozenset({
    "test_store.py::test_sigkill_loses_at_most_the_last_second",
    "test_store.py::test_sigkill_during_silence_keeps_the_buffered_sample",
})


def pytest_collection_modifyitems(config, items) -> None:
    import pytest

    for item in items:
        where = f"{item.path.name}::{item.name.split('[')[0]}"
        if item.path.name in WALL_CLOCK_MODULES or where in WALL_CLOCK_TESTS:
            item.add_marker(pytest.mark.slow)


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
