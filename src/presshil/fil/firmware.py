"""The firmware under test as an external process.

The firmware is any program that takes ``--plant tcp:HOST:PORT|rtu:DEVICE[:BAUD]`` and
``--host HOST:PORT`` and, once it has read the plant's nameplate and listens for the host,
prints a line ``READY host=HOST:PORT …`` on stdout. On SIGTERM it puts the actuator in its
safe state and exits (it may print a ``STATS key=value …`` line first). See docs/firmware.md.
"""

from __future__ import annotations

import os
import re
import selectors
import shlex
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from ..errors import TransportError

_READY = re.compile(r"^READY host=(?P<host>[^\s:]+|\[[^\]]+\]):(?P<port>\d+)")


class FirmwareProcess:
    """A firmware process, started and waited for (bounded) on creation."""

    def __init__(
        self,
        command: str | Path | list[str],
        plant: str,
        *,
        host: str = "127.0.0.1:0",
        extra_args: list[str] | None = None,
        ready_timeout_s: float = 15.0,
    ) -> None:
        if isinstance(command, Path):
            argv = [str(command)]
        elif isinstance(command, str):
            argv = shlex.split(command)
        else:
            argv = [str(c) for c in command]
        self.argv = [*argv, "--plant", plant, "--host", host, *(extra_args or [])]
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in stop()
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                stdin=subprocess.DEVNULL,
                bufsize=0,
            )
        except OSError as exc:
            raise TransportError(f"cannot start the firmware {self.argv[0]!r}: {exc}") from exc
        #: stdout lines up to the READY line, and after it once stopped
        self.output: list[str] = []
        #: the ``STATS`` line's values once stopped (loops, loop_hz, overruns, …)
        self.stats: dict[str, float] = {}
        try:
            self.host, self.port = self._wait_ready(ready_timeout_s)
        except BaseException:
            self.kill()
            raise

    def _wait_ready(self, timeout_s: float) -> tuple[str, int]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        pending = b""
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while (remaining := deadline - time.monotonic()) > 0:
                if not sel.select(remaining):
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                pending += chunk
                while b"\n" in pending:
                    raw, pending = pending.split(b"\n", 1)
                    line = raw.decode("utf-8", "replace")
                    self.output.append(line)
                    m = _READY.match(line)
                    if m:
                        return m.group("host").strip("[]"), int(m.group("port"))
        self.proc.poll()
        raise TransportError(
            f"firmware did not come up ({shlex.join(self.argv)}): exit code "
            f"{self.proc.returncode}, stdout: {' | '.join(self.output)[-1000:]}, "
            f"stderr: {self.stderr()[-2000:]}"
        )

    @property
    def running(self) -> bool:
        """True while the process lives."""
        return self.proc.poll() is None

    def stderr(self) -> str:
        """What the firmware wrote on stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read()

    def kill(self) -> None:
        """SIGKILL."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time; parse its STATS line."""
        out = b""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                out, _ = self.proc.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        for line in (out or b"").decode("utf-8", "replace").splitlines():
            self.output.append(line)
            if line.startswith("STATS "):
                for item in line.split()[1:]:
                    key, _, value = item.partition("=")
                    try:
                        self.stats[key] = float(value)
                    except ValueError:
                        pass
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()
        return self.proc.returncode


__all__ = ["FirmwareProcess"]
