"""Run the virtual press as a subprocess (``python3 -m presshil.device --json``).

For tests that need a real process: kill it mid-operation, send it SIGTERM, or keep the
server's threads from sharing the host's GIL in a benchmark.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Self

from ..errors import TransportError


class SpawnedServer:
    """A ``python3 -m presshil.device`` subprocess, started and waited for on creation."""

    def __init__(
        self,
        press: str = "sim://",
        *,
        modbus_tcp: str | None = None,
        modbus_rtu: str | None = None,
        serial: str | None = None,
        extra_args: tuple[str, ...] = (),
        ready_timeout_s: float = 60.0,
    ) -> None:
        args = [sys.executable, "-m", "presshil.device", "--json", "--press", press, *extra_args]
        for flag, value in (
            ("--modbus-tcp", modbus_tcp),
            ("--modbus-rtu", modbus_rtu),
            ("--serial", serial),
        ):
            if value:
                args += [flag, value]
        self.args = args
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL, bufsize=0
        )
        #: what the server printed on stdout up to its ready line
        self.output = ""
        try:
            self.info = self._wait_ready(ready_timeout_s)
        except BaseException:
            self.kill()
            raise
        #: as :attr:`ServerHandle.endpoints` and :attr:`ServerHandle.urls`
        self.endpoints: dict[str, str] = self.info["endpoints"]
        self.urls: dict[str, str] = self.info["urls"]

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def _wait_ready(self, timeout_s: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        pending = b""
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while (remaining := deadline - time.monotonic()) > 0:
                if not sel.select(remaining):
                    continue
                chunk = os.read(fd, 65536)  # unbuffered: select() and the data agree
                if not chunk:
                    break  # the process exited
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    text = line.decode("utf-8", "replace")
                    if text.startswith("{"):
                        return json.loads(text)["ready"]
                    self.output += text + "\n"
        self.proc.poll()
        raise TransportError(
            f"virtual press server did not come up ({' '.join(self.args)}): "
            f"exit code {self.proc.returncode}, stderr: {self.stderr()[-2000:]}"
        )

    def stderr(self) -> str:
        """What the server wrote on stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read()

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the server."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def wait(self, timeout_s: float = 10.0) -> int:
        """Wait for the server to exit; its exit code."""
        return self.proc.wait(timeout_s)

    def kill(self) -> None:
        """SIGKILL: the server dies mid-operation."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time; the exit code."""
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()
        return self.proc.returncode

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["SpawnedServer"]
