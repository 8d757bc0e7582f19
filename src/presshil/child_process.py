"""A child process that says it is ready with a line on stdout.

Three programs are started this way: the virtual press server (``python3 -m
presshil.device --json``, :class:`presshil.device.spawn.SpawnedServer`), the plant server
(:class:`presshil.plant.spawn.SpawnedPlant`) and the firmware under test
(:class:`presshil.fil.firmware.FirmwareProcess`). :class:`ReadyProcess` holds what they
share: stdout piped unbuffered, stderr kept in a temporary file, reading stdout line by line
until the ready line (bounded, through a selector, so a silent child cannot hang the
caller), SIGKILL, and SIGTERM-then-collect-the-output on stop. What the ready line looks like,
what is kept of the other lines and what is parsed on exit stay with each program.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import IO, TypeVar

T = TypeVar("T")

#: children started and not yet closed: killed when this interpreter exits, so that a script
#: that dies on an exception between start and stop leaves no QEMU, plant or press server
#: running (they run in sessions of their own and would outlive it)
_LIVE: set[ReadyProcess] = set()


@atexit.register
def _kill_leftovers() -> None:
    for child in list(_LIVE):
        with contextlib.suppress(Exception):
            child.kill()
        _LIVE.discard(child)


class ReadyProcess:
    """Base of a child process with piped stdout and stderr kept in a temporary file."""

    proc: subprocess.Popen[bytes]
    _stderr: IO[str]

    def _popen(self, argv: list[str]) -> None:
        """Start ``argv`` (stdin closed, stdout a pipe, stderr a temporary file)."""
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in _close()
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL, bufsize=0
        )
        _LIVE.add(self)

    def _ready_or_kill(self, wait: Callable[[float], T], timeout_s: float) -> T:
        """``wait(timeout_s)``; SIGKILL the process if it fails (no half-started child)."""
        try:
            return wait(timeout_s)
        except BaseException:
            self.kill()
            raise

    def _read_until(self, timeout_s: float, on_line: Callable[[str], T | None]) -> T | None:
        """Feed stdout lines to ``on_line`` until it returns a result; None on timeout or EOF."""
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
                    raw, pending = pending.split(b"\n", 1)
                    result = on_line(raw.decode("utf-8", "replace"))
                    if result is not None:
                        return result
        self.proc.poll()
        return None

    def stderr(self) -> str:
        """What the process wrote on stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read()

    def kill(self) -> None:
        """SIGKILL: the process dies mid-operation."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def _terminate_collect(self, timeout_s: float) -> bytes:
        """SIGTERM and read stdout to the end; SIGKILL if it does not exit in time (then b"")."""
        if self.proc.poll() is not None:
            return b""
        self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return b""
        return out or b""

    def _close(self) -> None:
        """Close stdout and the stderr file (after the process is gone)."""
        _LIVE.discard(self)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()


__all__ = ["ReadyProcess"]
