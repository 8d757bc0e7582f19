"""Firmware in the loop: the firmware under test closes the loop around the plant.

``fil://?firmware=PATH&plant=sim://…`` starts the plant (:mod:`presshil.plant`) and the
firmware as external processes, drives the protocol through the firmware's host interface
(press register map v1) and judges by the plant's ground truth. See ``docs/firmware.md``.

Python API::

    from presshil.fil import FilPress, build_firmware
    with FilPress.start(build_firmware(), plant="sim://?seed=1") as press:
        result = presshil.run(presshil.load_protocol("protocols/fil-assembly-short.toml"), press)
"""

from __future__ import annotations

from .build import FIRMWARE_DIR, FLAVOURS, build_firmware, missing_build_tools
from .press import FilPress, open_fil_press

__all__ = [
    "FIRMWARE_DIR",
    "FLAVOURS",
    "FilPress",
    "build_firmware",
    "missing_build_tools",
    "open_fil_press",
]
