"""``presshil serve --live``: the live view of a served virtual press, read in-process.

A watcher thread reads the served press's state ``rate_hz`` times a second (under the
model's lock, as a wire request would) and feeds a :class:`LiveSink`; status changes and
faults become events. STOP on the page (with the token) puts the virtual press in its safe
state, as a host's STOP command would.
"""

from __future__ import annotations

import sys
import threading
import types
from typing import Any

from ..press import Status
from ..sinks import RunStart
from .live_sink import LiveSink


class PressWatcher:
    """Feed ``sink`` from a :class:`presshil.device.virtual.VirtualPress` until stopped."""

    def __init__(self, virtual: Any, sink: LiveSink, rate_hz: float = 10.0) -> None:
        self.virtual = virtual
        self.sink = sink
        self.period_s = 1.0 / rate_hz
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="presshil-serve-live", daemon=True)
        self._status: int | None = None

    def start(self) -> PressWatcher:
        """Announce the press to the sink and start watching."""
        proto = types.SimpleNamespace(name=f"served press {self.virtual.url}", steps=(), limits=None)
        self.sink.start(RunStart(None, proto, self.virtual.url, self.virtual.identity, None, 0.0))
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop watching (the press goes on being served)."""
        self._stop.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                s = self.virtual.sample()
            except Exception as exc:  # noqa: BLE001 - a failed model is shown, not raised
                self.sink.event(None, "error", f"press model failed: {exc!r}")
                return
            self.sink.sample((s.t_s, s.setpoint_mpa, s.pressure_mpa, s.force_kn, s.position_mm,
                              int(s.status), tuple(s.channels_kn)))
            if s.status != self._status:
                if self._status is not None:
                    kind = "fault" if s.faulted else "status"
                    self.sink.event(s.t_s, kind, f"status {Status.describe(s.status)}"
                                    + (f", fault code {s.fault_code}" if s.faulted else ""))
                self._status = int(s.status)
            if self.sink.cancel.is_set():
                self.sink.cancel.clear()
                with self.virtual.lock:
                    self.virtual.press.safe_state()
                self.sink.event(s.t_s, "stop", "the served press was put in its safe state from the live view")


def serve_live_main(press_url: str, modbus_tcp: str | None, modbus_rtu: str | None, serial: str | None,
                    bind: str, live: str) -> int:
    """``presshil serve`` with the live view on ``live`` ([HOST:]PORT); returns the exit code."""
    from ..device.serve import PROG
    from ..device.server import start_server
    from ..errors import ConfigError
    from ..serving.main import EXIT_USAGE, announce, run_until_signal, start_or_report
    from .cli_live import DEFAULT_LIVE_PORT, stop_serving
    from .live_app import live_app
    from .server import BackgroundServer, parse_bind

    try:
        host, port = parse_bind(live, default_port=DEFAULT_LIVE_PORT)
    except ConfigError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    handle = start_or_report(PROG, lambda: start_server(press_url, modbus_tcp=modbus_tcp,
                                                         modbus_rtu=modbus_rtu, serial=serial, bind=bind))
    if handle is None:
        return EXIT_USAGE
    sink = LiveSink()
    try:
        web = BackgroundServer(live_app(sink), host, port).start()
    except ConfigError as exc:
        handle.stop()
        print(f"{PROG}: {exc}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    watcher = PressWatcher(handle.press, sink).start()

    def on_ready() -> None:
        info = handle.info()
        announce([f"{PROG}: {info['press']} - {info['identity']}"]
                 + [f"  listening: {url}" for url in info["urls"].values()]
                 + [f"  live view: {web.url}/?token={sink.token}"])

    try:
        code = run_until_signal(handle, PROG, "press model", on_ready)
    finally:
        watcher.stop()
        stop_serving(web, sink)
    print(f"{PROG}: stopped", flush=True)
    return code


__all__ = ["PressWatcher", "serve_live_main"]
