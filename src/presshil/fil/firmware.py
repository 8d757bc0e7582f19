"""The firmware under test as an external process.

The firmware is any program that takes ``--plant tcp:HOST:PORT|rtu:DEVICE[:BAUD]`` and
``--host HOST:PORT`` and, once it has read the plant's nameplate and listens for the host,
prints a line ``READY host=HOST:PORT …`` on stdout. On SIGTERM it puts the actuator in its
safe state and exits (it may print a ``STATS key=value …`` line first). See docs/firmware.md.
The process plumbing is :class:`presshil.child_process.ReadyProcess`'s.
"""

from __future__ import annotations

import contextlib
import re
import shlex
from pathlib import Path

from ..child_process import ReadyProcess
from ..errors import TransportError

_READY = re.compile(r"^READY host=(?P<host>[^\s:]+|\[[^\]]+\]):(?P<port>\d+)")


class FirmwareProcess(ReadyProcess):
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
        try:
            self._popen(self.argv)
        except OSError as exc:
            raise TransportError(f"cannot start the firmware {self.argv[0]!r}: {exc}") from exc
        #: stdout lines up to the READY line, and after it once stopped
        self.output: list[str] = []
        #: the ``STATS`` line's values once stopped (loops, loop_hz, overruns, …)
        self.stats: dict[str, float] = {}
        self.host, self.port = self._ready_or_kill(self._wait_ready, ready_timeout_s)

    def _wait_ready(self, timeout_s: float) -> tuple[str, int]:
        def on_line(line: str) -> tuple[str, int] | None:
            self.output.append(line)
            m = _READY.match(line)
            return (m.group("host").strip("[]"), int(m.group("port"))) if m else None

        ready = self._read_until(timeout_s, on_line)
        if ready is not None:
            return ready
        raise TransportError(
            f"firmware did not come up ({shlex.join(self.argv)}): exit code "
            f"{self.proc.returncode}, stdout: {' | '.join(self.output)[-1000:]}, "
            f"stderr: {self.stderr()[-2000:]}"
        )

    @property
    def running(self) -> bool:
        """True while the process lives."""
        return self.proc.poll() is None

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time; parse its STATS line."""
        for line in self._terminate_collect(timeout_s).decode("utf-8", "replace").splitlines():
            self.output.append(line)
            if line.startswith("STATS "):
                for item in line.split()[1:]:
                    key, _, value = item.partition("=")
                    with contextlib.suppress(ValueError):
                        self.stats[key] = float(value)
        self._close()
        return self.proc.returncode


__all__ = ["FirmwareProcess"]
