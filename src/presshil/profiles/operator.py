"""Operator-guided presses: on a monitor-only press, a command is an instruction to a person.

:class:`OperatorPrompts` is what the runner, the CLI or a live view provides to show an
:class:`Instruction` ("pump to 74 MPa at about 2 MPa/s") and to let the operator acknowledge
it or abort the run. :class:`KeyboardOperator` is the terminal's implementation: it prints
the instruction and reads Enter (acknowledge) or ``a`` + Enter (abort) from stdin in a
daemon thread; an abort sets its ``cancel`` event, and the press's next read raises
:class:`~presshil.errors.SafetyAbort`, so the run ends aborted in its safe state. A press
opened with stdin on a terminal gets one by default. The press judges what was actually
done from its readings; nothing waits for the acknowledgement.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol, TextIO, runtime_checkable

Kind = Literal["pump", "release", "stop", "reset", "tare"]


@dataclass(frozen=True, slots=True)
class Instruction:
    """What the operator is asked to do; ``text`` is the sentence shown."""

    kind: Kind
    text: str
    target_mpa: float | None = None
    rate_mpa_s: float | None = None


@runtime_checkable
class OperatorPrompts(Protocol):
    """Shows instructions to the person at a monitor-only press."""

    def prompt(self, instruction: Instruction) -> None:
        """Show ``instruction`` now; must not block the control loop."""

    def acknowledged(self) -> bool:
        """Whether the operator has acknowledged the latest instruction."""

    def abort(self) -> None:
        """The operator gives up: the run is to stop in its safe state."""


class LoggedOperator:
    """Keeps the instructions it was given (and acknowledges each): for scripts and tests."""

    def __init__(self) -> None:
        self.instructions: list[Instruction] = []
        self.cancel = threading.Event()

    def prompt(self, instruction: Instruction) -> None:
        """Record ``instruction``."""
        self.instructions.append(instruction)

    def acknowledged(self) -> bool:
        """Always true: nobody needs to press a key."""
        return True

    def abort(self) -> None:
        """Set :attr:`cancel`."""
        self.cancel.set()


class KeyboardOperator:
    """The terminal: prints each instruction, Enter acknowledges, ``a`` + Enter aborts."""

    def __init__(
        self,
        cancel: threading.Event | None = None,
        *,
        out: TextIO | None = None,
        keys: TextIO | None = None,
    ) -> None:
        self.cancel = cancel if cancel is not None else threading.Event()
        self._out = out if out is not None else sys.stderr
        self._keys = keys if keys is not None else sys.stdin
        self._ack = threading.Event()
        self._reader: threading.Thread | None = None

    def prompt(self, instruction: Instruction) -> None:
        """Print the instruction and start listening for the operator's key."""
        self._ack.clear()
        print(
            f"\n>>> OPERATOR: {instruction.text}  [Enter = done, a + Enter = abort]",
            file=self._out,
            flush=True,
        )
        if self._reader is None or not self._reader.is_alive():
            self._reader = threading.Thread(target=self._listen, name="presshil-operator", daemon=True)
            self._reader.start()

    def acknowledged(self) -> bool:
        """Whether Enter was pressed since the latest instruction."""
        return self._ack.is_set()

    def abort(self) -> None:
        """Abort the run (sets ``cancel``)."""
        print(">>> OPERATOR: abort requested", file=self._out, flush=True)
        self.cancel.set()

    def _listen(self) -> None:
        while not self.cancel.is_set():
            line = self._keys.readline()
            if not line:  # stdin closed: nobody can answer any more
                return
            if line.strip().lower() in ("a", "abort", "q"):
                self.abort()
                return
            self._ack.set()


__all__ = [
    "Instruction",
    "KeyboardOperator",
    "LoggedOperator",
    "OperatorPrompts",
    "SimulatedOperator",
    "default_operator",
]


def default_operator() -> OperatorPrompts:
    """The terminal's :class:`KeyboardOperator` when stdin is one, else a :class:`LoggedOperator`."""
    if sys.stdin is not None and sys.stdin.isatty():
        return KeyboardOperator()
    return LoggedOperator()


class SimulatedOperator(LoggedOperator):
    """The operator of a simulated manual press: carries each instruction out on the
    virtual press being served (its operator model pumps and opens the release valve).

    The test double of a person: the same code path a real manual press takes, with the
    simulator's operator at the lever. ``press`` is a
    :class:`~presshil.device.virtual.VirtualPress` (what ``serve`` runs).
    """

    _COMMAND: ClassVar[dict[str, int]] = {"pump": 1, "release": 2, "stop": 2}

    def __init__(self, press: object) -> None:
        super().__init__()
        self.press = press

    def prompt(self, instruction: Instruction) -> None:
        """Record ``instruction`` and do it."""
        super().prompt(instruction)
        command = self._COMMAND.get(instruction.kind)
        if command is None:
            return
        updates: dict[str, float | int] = {"command": command}
        if instruction.kind == "pump" and instruction.target_mpa is not None:
            updates["setpoint"] = instruction.target_mpa
        if instruction.rate_mpa_s:
            updates["ramp_rate"] = instruction.rate_mpa_s
        self.press.apply(updates)  # type: ignore[attr-defined]
