"""Which tests run on wall-clock time, decided from what they use, and a guard that keeps it so.

A fixture that serves a press on sockets or pseudo-terminals, starts a subprocess (firmware,
QEMU, the plant, PostgreSQL, a browser) or several processes declares it once, where it is
defined::

    @wall_clock_fixture(scope="module")
    def server(): ...

    @wall_clock_fixture(scope="module", realtime=True)   # firmware/QEMU/plant: real-time
    def elf(): ...

Every test that uses such a fixture, directly or through another fixture, is marked ``slow``
at collection (``realtime`` too for a real-time fixture), so ``pytest -m "not slow"`` is the
quick loop and ``pytest -m "not realtime"`` leaves out what must not share the CPU. A test
that opens a socket itself (not through a fixture) takes ``pytest.mark.slow`` in its module.

The guard: while a test that is not marked ``slow`` is set up and run, opening a TCP/UDP
socket, a pseudo-terminal, a subprocess or another process fails it, naming what was opened
and how to mark it. Local plumbing stays allowed: AF_UNIX sockets (asyncio's self-pipe is a
``socketpair``), pipes, threads. Threads that were running before the test began (a server
left by an earlier module) are not the test's doing and are not watched.

Registered as a plugin by the root conftest (``pytest_plugins``).
"""

from __future__ import annotations

import multiprocessing.process
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from presshil.pytest_plugin import session_press_url
from presshil.urls import is_simulated

#: the attribute a wall-clock fixture function carries: "slow" or "realtime"
WALL_CLOCK_ATTR = "__presshil_wall_clock__"

_WIRE_FAMILIES = frozenset({socket.AF_INET, socket.AF_INET6})


def wall_clock_fixture(
    fn: Callable[..., Any] | None = None, /, *, realtime: bool = False, **fixture_kwargs: Any
) -> Any:
    """``pytest.fixture`` for a fixture that runs on wall-clock time: every test using it is
    marked ``slow`` (and ``realtime`` with ``realtime=True``: firmware, QEMU, the plant)."""

    def decorate(f: Callable[..., Any]) -> Any:
        setattr(f, WALL_CLOCK_ATTR, "realtime" if realtime else "slow")
        return pytest.fixture(**fixture_kwargs)(f)

    return decorate if fn is None else decorate(fn)


def wall_clock_kind(item: pytest.Item) -> str | None:
    """"realtime", "slow" or None: the strongest kind among the fixtures ``item`` uses."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    kind = None
    for name in item.fixturenames:  # type: ignore[attr-defined]
        defs = list(info.name2fixturedefs.get(name, ()))
        # the most specific definition is used; it reaches the one it overrides only by
        # requesting its own name
        while defs:
            fixturedef = defs.pop()
            found = getattr(fixturedef.func, WALL_CLOCK_ATTR, None)
            if found == "realtime":
                return found
            kind = kind or found
            if name not in fixturedef.argnames:
                break
    return kind


MARKERS = {
    "slow": "wall-clock tests (a served press, sockets, pseudo-terminals, subprocesses, browsers, "
    "PostgreSQL) and tests over a minute; set from the fixtures a test uses (tests/wall_clock.py); "
    "deselect with -m 'not slow'",
    "realtime": "firmware, QEMU and plant tests with real-time budgets (also slow); run them apart "
    "from other CPU-bound tests: -m realtime",
}


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # a pytest session run inside a test (pytester) is not that test's doing: not watched
    # until one of its own tests is
    _stack.append(None)
    declared = {line.split(":")[0].strip() for line in config.getini("markers")}
    for name, text in MARKERS.items():
        if name not in declared:  # the project's pyproject declares them; a bare session does not
            config.addinivalue_line("markers", f"{name}: {text}")
    _install()


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kind = wall_clock_kind(item)
        if kind == "realtime" and item.get_closest_marker("realtime") is None:
            item.add_marker(pytest.mark.realtime)
        if (kind or item.get_closest_marker("realtime")) and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.slow)


def dead_pid() -> int:
    """A process id no process has now, found without starting one (a quick test may not):
    the highest free id below the kernel's limit, the last the kernel hands out again."""
    try:
        with open("/proc/sys/kernel/pid_max") as f:
            pid_max = int(f.read())
    except OSError:
        pid_max = 32768
    for pid in range(pid_max - 1, 300, -1):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            continue
    raise RuntimeError("no free process id")


# -- the guard ----------------------------------------------------------------------------


@dataclass
class _Watch:
    """One quick test being watched."""

    nodeid: str
    exempt: frozenset[threading.Thread]
    thread: threading.Thread = field(default_factory=threading.current_thread)
    seen: list[str] = field(default_factory=list)


#: innermost last; ``None`` frames are "not watching" (a slow test, an inner pytest session)
_stack: list[_Watch | None] = []
_installed = False


def _watched() -> _Watch | None:
    """The quick test the current call is made for, if one is watched."""
    watch = _stack[-1] if _stack else None
    if watch is None or threading.current_thread() in watch.exempt:
        return None
    return watch


def _message(nodeid: str, what: str) -> str:
    return (
        f"{nodeid}: a quick test {what}. A fixture that does this is declared with "
        f"wall_clock_fixture (tests/wall_clock.py); a test that does it itself takes "
        f"pytest.mark.slow (or the module's pytestmark). Or keep the test off the wire."
    )


def _trip(what: str) -> None:
    """Fail the watched test, if any, for ``what``: at once in the test's own thread; from a
    thread the test started, when its setup or call ends (raising in that thread might only
    hang the test until its timeout), the call let through meanwhile."""
    watch = _watched()
    if watch is None:
        return
    watch.seen.append(what)
    if threading.current_thread() is watch.thread:
        pytest.fail(_message(watch.nodeid, what), pytrace=False)


def _install() -> None:
    """Wrap the calls that open sockets, pseudo-terminals and processes, once per process.
    When no quick test is watched, the wrappers only pass through."""
    global _installed
    if _installed:
        return
    _installed = True

    socket_init = socket.socket.__init__

    def guarded_socket_init(self: socket.socket, *args: Any, **kwargs: Any) -> None:
        socket_init(self, *args, **kwargs)
        if self.family in _WIRE_FAMILIES and _watched() is not None:
            kind = "UDP" if self.type == socket.SOCK_DGRAM else "TCP"
            try:
                _trip(f"opened a {kind} socket ({self.family.name})")
            except BaseException:
                self.close()
                raise

    socket.socket.__init__ = guarded_socket_init  # type: ignore[method-assign]

    execute_child = subprocess.Popen._execute_child  # type: ignore[attr-defined]

    def guarded_execute_child(self: subprocess.Popen[Any], args: Any, *rest: Any, **kw: Any) -> Any:
        argv = [args] if isinstance(args, str | bytes | os.PathLike) else list(args)
        text = " ".join(os.fsdecode(a) for a in argv)
        if "playwright" in text or "chrom" in text:
            _trip(f"launched a browser ({text[:120]})")
        _trip(f"started a subprocess ({text[:120]})")
        return execute_child(self, args, *rest, **kw)

    subprocess.Popen._execute_child = guarded_execute_child  # type: ignore[attr-defined]

    process_start = multiprocessing.process.BaseProcess.start

    def guarded_process_start(self: multiprocessing.process.BaseProcess) -> None:
        _trip(f"started a process ({self.name})")
        process_start(self)

    multiprocessing.process.BaseProcess.start = guarded_process_start  # type: ignore[method-assign]

    def wrap(module: Any, name: str, what: str) -> None:
        original = getattr(module, name, None)
        if original is None:
            return

        def guarded(*args: Any, **kwargs: Any) -> Any:
            _trip(what)
            return original(*args, **kwargs)

        setattr(module, name, guarded)

    wrap(os, "openpty", "opened a pseudo-terminal (os.openpty)")
    wrap(os, "forkpty", "opened a pseudo-terminal (os.forkpty)")
    wrap(os, "fork", "forked a process (os.fork)")
    wrap(os, "posix_spawn", "started a process (os.posix_spawn)")
    wrap(os, "posix_spawnp", "started a process (os.posix_spawnp)")
    wrap(os, "system", "started a process (os.system)")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if _stack:
        _stack.pop()


def _watching(item: pytest.Item) -> _Watch | None:
    if item.get_closest_marker("slow") is not None:
        return None
    if not is_simulated(session_press_url(item.config)):
        return None  # a session given a press on a wire (--press): every test is on the wire
    if item.path.is_relative_to(item.config.rootpath / "benchmarks"):
        return None  # benchmarks measure served presses and wires on wall-clock time by design
    return _Watch(item.nodeid, frozenset(threading.enumerate()) - {threading.current_thread()})


def _check(watch: _Watch | None) -> None:
    # what a thread of the test opened, or a trip the test's code caught and swallowed
    if watch is not None and watch.seen:
        pytest.fail(_message(watch.nodeid, watch.seen[0]), pytrace=False)


def _guarded(item: pytest.Item) -> Iterator[None]:
    """One phase of ``item`` (set-up or call) run under its watch."""
    watch = _watching(item)
    _stack.append(watch)
    try:
        result = yield
    finally:
        _stack.pop()
    _check(watch)
    return result


pytest_runtest_setup = pytest.hookimpl(wrapper=True)(_guarded)
pytest_runtest_call = pytest.hookimpl(wrapper=True)(_guarded)
