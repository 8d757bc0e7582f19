"""Faults the virtual press can put on its wires, for testing hosts against them.

Change the fields of a :class:`WireFaults` at any time, from a test or from
``python3 -m presshil.device --delay-ms … --freeze-counter …``; every server reads them
on each request.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class WireFaults:
    """What goes wrong on the wire. The defaults are a healthy device."""

    #: every reply to a register request or line command waits this long (a slow device)
    reply_delay_s: float = 0.0
    #: serve the last sample forever: the sample counter stops advancing (stale data)
    freeze_counter: bool = False
    #: the next this many replies are preceded by :attr:`garbage` (RTU and line protocol)
    garbage_replies: int = 0
    #: the noise sent before a reply
    garbage: bytes = b"\x00\xff\x13\x01\x04\x7f\xa5"
    #: the next this many RTU replies have their CRC flipped
    corrupt_replies: int = 0
    #: behave like a device without FC23 (read/write multiple): exception 01
    no_fc23: bool = False

    def take_garbage(self) -> bytes:
        """The noise to send before the next reply (counts one down)."""
        if self.garbage_replies <= 0:
            return b""
        self.garbage_replies -= 1
        return self.garbage

    def take_corrupt(self) -> bool:
        """Whether to corrupt the next RTU reply (counts one down)."""
        if self.corrupt_replies <= 0:
            return False
        self.corrupt_replies -= 1
        return True


__all__ = ["WireFaults"]
