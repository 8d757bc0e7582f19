"""The simulated press: SimPy model of press + cell stack + load cells + firmware.

``open_press("sim://...")`` returns a :class:`SimPress`; see ``docs/simulator.md``.
"""

from __future__ import annotations

from .press import REFERENCE_SPECIMEN, SimClock, SimPress
from .press_url import open_sim_press, specimen_url

__all__ = ["REFERENCE_SPECIMEN", "SimClock", "SimPress", "open_sim_press", "specimen_url"]
