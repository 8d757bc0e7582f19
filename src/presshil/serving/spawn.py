"""A server run as a subprocess that prints one JSON ready line, then serves until SIGTERM.

The virtual press (:class:`presshil.device.spawn.SpawnedServer`) and the plant
(:class:`presshil.plant.spawn.SpawnedPlant`) differ only in their command line. The process
plumbing (pipes, the bounded wait for the ready line, SIGKILL) is
:class:`presshil.child_process.ReadyProcess`'s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from typing import Any, Self

from ..child_process import ReadyProcess
from ..errors import TransportError


class SpawnedBase(ReadyProcess):
    """A server subprocess, started with :meth:`_spawn` and waited for."""

    #: what the error says did not come up
    what = "server"

    def _spawn_module(
        self,
        module: str,
        press: str,
        options: Mapping[str, object | None],
        ready_timeout_s: float,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        """Start ``python3 -m module --json --press press``, each option given a value
        (``{"--modbus-tcp": "127.0.0.1:0"}``; None: left out) and ``extra_args``, and wait."""
        args = [sys.executable, "-m", module, "--json", "--press", press, *extra_args]
        for flag, value in options.items():
            if value is not None and value != "":
                args += [flag, str(value)]
        self._spawn(args, ready_timeout_s)

    def _spawn(self, args: list[str], ready_timeout_s: float) -> None:
        """Start ``args`` and wait for its JSON ready line (SIGKILL it if that fails)."""
        self.args = args
        self._popen(args)
        #: what the server printed on stdout up to its ready line
        self.output = ""
        self.info = self._ready_or_kill(self._wait_ready, ready_timeout_s)
        #: as :attr:`ServerHandle.endpoints`
        self.endpoints: dict[str, str] = self.info["endpoints"]

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def _wait_ready(self, timeout_s: float) -> dict[str, Any]:
        def on_line(text: str) -> dict[str, Any] | None:
            if text.startswith("{"):
                return json.loads(text)["ready"]
            self.output += text + "\n"
            return None

        info = self._read_until(timeout_s, on_line)
        if info is not None:
            return info
        raise TransportError(
            f"{self.what} did not come up ({' '.join(self.args)}): "
            f"exit code {self.proc.returncode}, stderr: {self.stderr()[-2000:]}"
        )

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the server."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def wait(self, timeout_s: float = 10.0) -> int:
        """Wait for the server to exit; its exit code."""
        return self.proc.wait(timeout_s)

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time; the exit code."""
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()
        return self.proc.returncode

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["SpawnedBase"]
