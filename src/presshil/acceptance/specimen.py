"""What is in the die: the reference for force verification, a fresh specimen for the rest.

Force verification presses to the top of the working range three times and more; a battery
stack that went through it is over-densified, and every test after it would judge the press
on the wrong specimen. So the suite changes the load path between tests:

* on ``sim://`` (:class:`SimSpecimens`) the press is reopened with the catalogue's steel
  reference specimen for the force verification, and reopened with its own specimen — a fresh
  one — for each specimen-dependent test;
* on a real press (:class:`OperatorSpecimens`) the suite releases the press, asks the operator
  to make the swap and waits for an acknowledgement; no answer (end of input) aborts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..press import Press
from .driving import SectionAbort


class SpecimenChanger(Protocol):
    """Puts the reference or a fresh specimen in the load path; returns the press to use."""

    def to_reference(self, press: Press) -> Press:
        """The press with the reference transducer (or reference specimen) in the load path."""
        ...

    def to_fresh(self, press: Press, test: str) -> Press:
        """The press with a fresh specimen in the die, for ``test``."""
        ...

    def close(self) -> None:
        """Close whatever this changer opened."""
        ...


def with_specimen(url: str, specimen: str | None) -> str:
    """``url`` with its ``specimen`` query key set to ``specimen`` (removed when None)."""
    from ..urls import parse_press_url

    return parse_press_url(url).with_query(specimen=specimen).raw


class SimSpecimens:
    """Reopen a simulated press with another specimen (``sim://…?specimen=NAME``)."""

    def __init__(self, url: str, reference_specimen: str) -> None:
        self.url = url
        self.reference_url = with_specimen(url, reference_specimen)
        self.fresh_url = url
        self._opened: list[Press] = []

    def _open(self, url: str, press: Press) -> Press:
        from ..urls import open_press

        press.safe_state()
        new = open_press(url)
        self._opened.append(new)
        return new

    def to_reference(self, press: Press) -> Press:
        """A fresh simulated press with the reference specimen in the die."""
        return self._open(self.reference_url, press)

    def to_fresh(self, press: Press, test: str) -> Press:
        """A fresh simulated press with the URL's own specimen, untouched."""
        return self._open(self.fresh_url, press)

    def close(self) -> None:
        """Close the presses this changer opened."""
        for p in self._opened:
            p.close()
        self._opened.clear()


class OperatorSpecimens:
    """Ask the operator to swap, and wait for the acknowledgement (``ask`` returns a line)."""

    def __init__(self, ask: Callable[[str], str] = input,
                 say: Callable[[str], None] = print) -> None:
        self._ask = ask
        self._say = say

    def _swap(self, press: Press, what: str) -> Press:
        press.safe_state()
        self._say(f"The press is released. {what}")
        try:
            self._ask("Press Enter when done (Ctrl-D aborts): ")
        except (EOFError, KeyboardInterrupt):
            raise SectionAbort(f"no acknowledgement from the operator for: {what}") from None
        return press

    def to_reference(self, press: Press) -> Press:
        """Ask for the reference transducer in the load path."""
        return self._swap(press, "Put the reference transducer (ISO 376) in the load path, "
                                 "in place of the specimen.")

    def to_fresh(self, press: Press, test: str) -> Press:
        """Ask for a fresh specimen in the die."""
        return self._swap(press, f"Remove what is in the die and load a fresh specimen for "
                                 f"the {test}.")

    def close(self) -> None:
        """Nothing opened."""


__all__ = ["OperatorSpecimens", "SimSpecimens", "SpecimenChanger", "with_specimen"]
