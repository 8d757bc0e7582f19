"""presshil's pytest plugin (entry point ``pytest11``; ``-p no:presshil`` turns it off).

One option picks the press: ``--press URL`` > env ``PRESSHIL_PRESS`` > ini ``press`` > the
default simulated press. The same test file then runs in CI on the simulator and on the bench
against a real press.

Fixtures: ``press`` (a press in a safe state before and after each test), ``run_protocol``
(name or path -> RunResult, stored in the results database), ``press_sim`` (the simulated
press, for fault injection), ``control_loop`` (latency of one control cycle, on
pytest-benchmark). Markers: ``sim_only``, ``hardware``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .urls import is_simulated

# before presshil.testing is imported anywhere: its asserts get pytest's rewriting
pytest.register_assert_rewrite("presshil.testing")

if TYPE_CHECKING:
    from .press import Press
    from .runner import RunResult
    from .store import Store

DEFAULT_PRESS = "sim://"
ENV_PRESS = "PRESSHIL_PRESS"

_settings_key = pytest.StashKey["_Settings"]()


class _Settings:
    """Per-session plugin state (kept in ``config.stash``, not on private attributes)."""

    def __init__(self, url: str, source: str, db: Path | None, report: Path | None, budget_ms: float | None):
        self.url = url
        self.source = source
        self.db = db
        self.report = report
        self.budget_ms = budget_ms
        self.session_press: Press | None = None
        self.store: Store | None = None
        self.identity_recorded = False

    @property
    def simulated(self) -> bool:
        return is_simulated(self.url)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("presshil", "presshil: pressure-protocol tests")
    group.addoption(
        "--press",
        action="store",
        default=None,
        metavar="URL",
        help=f"press to test: sim://…, modbus+tcp://HOST:PORT, modbus+rtu:///dev/…, serial:///dev/… "
        f"(default: env {ENV_PRESS}, then ini 'press', then {DEFAULT_PRESS})",
    )
    group.addoption("--press-db", action="store", default=None, metavar="PATH",
                    help="results store for run_protocol (default: a file in the session's temp dir)")
    group.addoption("--press-report", action="store", default=None, metavar="DIR",
                    help="write a JSON summary and a PNG plot for every run_protocol run here")
    group.addoption("--press-latency-budget-ms", action="store", type=float, default=None, metavar="MS",
                    help="fail control_loop benchmarks whose p99 cycle time is over this budget")
    parser.addini("press", "press URL used when neither --press nor $PRESSHIL_PRESS is given", default="")


def _resolve_press(config: pytest.Config) -> tuple[str, str]:
    cli = config.getoption("--press")
    if cli:
        return cli, "--press"
    env = os.environ.get(ENV_PRESS)
    if env:
        return env, f"${ENV_PRESS}"
    ini = config.getini("press")
    if ini:
        return str(ini), "ini 'press'"
    return DEFAULT_PRESS, "default"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sim_only: runs only against a simulated press (sim://)")
    config.addinivalue_line("markers", "hardware: needs a press on a wire (modbus+tcp, modbus+rtu, serial)")
    url, source = _resolve_press(config)
    db = config.getoption("--press-db")
    report = config.getoption("--press-report")
    config.stash[_settings_key] = _Settings(
        url, source, Path(db) if db else None, Path(report) if report else None,
        config.getoption("--press-latency-budget-ms"),
    )
    if not is_simulated(url):
        # the controller (-n N) and each of its workers (workerinput): a child process of a
        # worker (a test that runs pytest itself) is neither, whatever it inherits
        workers = getattr(config, "workerinput", {}).get(
            "workercount", getattr(config.option, "numprocesses", None))
        if workers not in (None, 0, 1, "0", "1"):
            raise pytest.UsageError(
                f"presshil: refusing to drive one real press ({url}) from {workers} xdist workers at once; "
                "run without -n, or use a simulated press"
            )


def _settings(config: pytest.Config) -> _Settings:
    return config.stash[_settings_key]


def session_press_url(config: pytest.Config) -> str:
    """The press this session's fixtures drive (``--press``, ``$PRESSHIL_PRESS``, the ini
    ``press`` or the default simulated press)."""
    return _settings(config).url


def pytest_report_header(config: pytest.Config) -> list[str]:
    s = _settings(config)
    line = f"presshil: press {s.url} (from {s.source})"
    try:
        from .urls import open_press

        if s.simulated:
            with open_press(s.url) as p:
                line += f", {p.identity}"
        else:
            # the session's one connection, opened here so the header can name the device
            s.session_press = s.session_press or open_press(s.url)
            line += f", {s.session_press.identity}"
    except Exception as exc:  # noqa: BLE001 - a header must not break the session
        line += f", cannot open: {exc}"
    return [line]


def pytest_runtest_setup(item: pytest.Item) -> None:
    s = _settings(item.config)
    if item.get_closest_marker("sim_only") and not s.simulated:
        pytest.skip(f"sim_only: needs a simulated press, this session drives {s.url}")
    if item.get_closest_marker("hardware") and s.simulated:
        pytest.skip(f"hardware: needs a press on a wire (--press modbus+tcp://…), this session uses {s.url}")


def _open(s: _Settings, record: Callable[[str, object], None] | None) -> Press:
    from .urls import open_press

    if s.simulated:
        press = open_press(s.url)  # a fresh model per test: isolation and determinism
    else:
        if s.session_press is None:
            s.session_press = open_press(s.url)
        press = s.session_press
    if record is not None and not s.identity_recorded:
        ident = press.identity
        record("presshil_press", s.url)
        record("presshil_press_identity", f"{ident.vendor} {ident.model} s/n {ident.serial}")
        record("presshil_firmware", ident.firmware)
        s.identity_recorded = True
    return press


@pytest.fixture(scope="session")
def _presshil_junit(record_testsuite_property: Callable[[str, object], None]) -> Callable[[str, object], None]:
    """The JUnit recorder, kept for the session."""
    return record_testsuite_property


@pytest.fixture
def press(request: pytest.FixtureRequest, _presshil_junit) -> Iterator[Press]:
    """The press under test, in a safe state before and after the test."""
    s = _settings(request.config)
    p = _open(s, _presshil_junit)
    p.make_safe()
    try:
        yield p
    finally:
        try:
            p.make_safe()
        finally:
            if s.simulated:
                p.close()


@pytest.fixture
def press_sim(press: Press) -> Press:
    """The simulated press (for fault injection); skips on real hardware."""
    if not is_simulated(press.url):
        pytest.skip(f"press_sim: needs a simulated press, this session drives {press.url}")
    return press


@pytest.fixture(scope="session")
def _presshil_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    from .store import Store

    s = _settings(request.config)
    db = s.db or Path(tempfile.mkdtemp(prefix="presshil-")) / "presshil.sqlite"
    store = Store(db)
    yield store
    store.close()


def _find_protocol(name_or_path: str | os.PathLike[str], rootdir: Path) -> Path:
    from .library import resolve_protocol

    return resolve_protocol(Path(name_or_path), rootdir)


@pytest.fixture
def run_protocol(request: pytest.FixtureRequest, press: Press, _presshil_store: Store) -> Callable[..., RunResult]:
    """Run a protocol (a name from protocols/ or a path) on the press; returns the RunResult."""
    from .protocol import load_protocol
    from .runner import run

    s = _settings(request.config)

    def _run(name_or_path: str | os.PathLike[str], **kwargs: Any) -> RunResult:
        proto = load_protocol(_find_protocol(name_or_path, request.config.rootpath))
        result = run(proto, press, store=_presshil_store, **kwargs)
        if s.report is not None:
            from .report import write_run_report

            write_run_report(result, s.report)
        return result

    return _run


@pytest.fixture
def control_loop(request: pytest.FixtureRequest, press: Press, benchmark) -> Callable[..., dict[str, float]]:
    """Benchmark one control cycle (command + read) on the selected press.

    Call it with the setpoint to hold; it returns p50/p99/max and jitter in ms, also stored
    in the benchmark's ``extra_info``. ``--press-latency-budget-ms`` fails the test when p99
    is over budget.
    """
    import numpy as np

    s = _settings(request.config)

    def _measure(setpoint_mpa: float = 5.0, rate_mpa_s: float = 10.0, rounds: int = 500) -> dict[str, float]:
        timings_s: list[float] = []

        def cycle() -> None:
            t0 = time.perf_counter()
            press.heartbeat()
            press.command_and_read(setpoint_mpa, rate_mpa_s)
            timings_s.append(time.perf_counter() - t0)

        warmup = min(20, rounds)
        if getattr(benchmark, "disabled", False):
            # pytest-benchmark is off (--benchmark-disable, or under xdist): time it ourselves
            for _ in range(warmup + rounds):
                cycle()
        else:
            benchmark.pedantic(cycle, rounds=rounds, iterations=1, warmup_rounds=warmup)
        data_s = np.asarray(timings_s[-rounds:], dtype=float)
        figures = {
            "p50_ms": float(np.percentile(data_s, 50) * 1e3),
            "p99_ms": float(np.percentile(data_s, 99) * 1e3),
            "max_ms": float(data_s.max() * 1e3),
            "jitter_ms": float((np.percentile(data_s, 99) - np.percentile(data_s, 50)) * 1e3),
        }
        benchmark.extra_info.update(figures)
        benchmark.extra_info["press"] = press.url
        if s.budget_ms is not None and figures["p99_ms"] > s.budget_ms:
            pytest.fail(
                f"control cycle p99 {figures['p99_ms']:.3f} ms is over the budget of {s.budget_ms:g} ms "
                f"on {press.url} (p50 {figures['p50_ms']:.3f} ms, max {figures['max_ms']:.3f} ms)",
                pytrace=False,
            )
        return figures

    return _measure


def pytest_unconfigure(config: pytest.Config) -> None:
    s = config.stash.get(_settings_key, None)
    if s is not None and s.session_press is not None:
        try:
            s.session_press.safe_state()
        finally:
            s.session_press.close()
