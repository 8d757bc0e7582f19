"""The reference force indicator a press's force reading is verified against.

Either a second device — any presshil press URL whose ``read().force_kn`` is the reference
reading, e.g. a Modbus force indicator behind an ISO 376 transducer — or, on ``sim://``, the
simulated reference transducer in the load path (``SimPress.reference_force_kn()``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..errors import ConfigError
from ..press import Press


@runtime_checkable
class ReferenceIndicator(Protocol):
    """Something that reads the reference force, in kN."""

    description: str

    def read_kn(self) -> float:
        """The reference force now, kN."""
        ...

    def close(self) -> None:
        """Release the device."""
        ...


class SimReference:
    """The simulated press's own reference transducer (ISO 376 class, in the load path)."""

    def __init__(self, press: Press) -> None:
        self._press = press
        self.description = "simulated reference transducer in the load path (sim://, ISO 376 model)"
        #: the catalogue's transducer (0.02 % gain error) is modelled on an ISO 376 class 00
        #: instrument; it has no certificate
        self.iso376_class = "00"
        self.serial = "SIM-REFERENCE"
        #: a model, not an instrument: no certificate check can pass on it
        self.simulated = True

    def read_kn(self) -> float:
        """The transducer's reading, kN."""
        return float(self._press.reference_force_kn())  # type: ignore[attr-defined]

    def close(self) -> None:
        """Nothing to release: the transducer belongs to the simulated press."""


class DeviceReference:
    """A second device, opened by press URL, whose force reading is the reference."""

    def __init__(self, url: str, device: Press) -> None:
        self._device = device
        ident = device.identity
        self.description = f"{ident} via {url}"

    def read_kn(self) -> float:
        """The device's force reading, kN."""
        return float(self._device.read().force_kn)

    def close(self) -> None:
        """Close the device's connection."""
        self._device.close()


def rebind(reference: ReferenceIndicator, press: Press) -> ReferenceIndicator:
    """``reference`` for ``press``: the simulator's transducer belongs to one simulated press,
    so after a specimen change (a reopened press) it is the new press's; a device is itself."""
    if isinstance(reference, SimReference):
        return SimReference(press)
    return reference


def open_reference(press: Press, reference_url: str | None) -> ReferenceIndicator:
    """The reference for ``press``: ``reference_url`` if given, else the simulator's own.

    Raises :class:`~presshil.errors.ConfigError` when there is none to use.
    """
    if reference_url:
        from ..urls import open_press

        return DeviceReference(reference_url, open_press(reference_url))
    if callable(getattr(press, "reference_force_kn", None)):
        return SimReference(press)
    raise ConfigError(
        f"force verification needs a reference force indicator and {press.url or 'this press'} "
        "has none built in; give --reference URL (a press URL whose force reading is the "
        "reference, e.g. modbus+tcp://HOST:PORT of a force indicator), or disable "
        "[force_verification] in the suite"
    )


__all__ = ["DeviceReference", "ReferenceIndicator", "SimReference", "open_reference", "rebind"]
