"""The press room's temperature, and what it does to the load cells.

The room (``[room]`` of a simulated press, every key overridable in the URL as
``room.KEY=VALUE``) follows

    T(t) = base_c + drift_c_per_h · t / 3600 + swing_c · sin(2π t / swing_period_s + φ)

— a slow drift (a lab warming through the morning) plus the swing of its air conditioning —
read by a thermometer of ``resolution_c``. The phase φ comes from the run's seed, so a seed
gives the same room every time and whatever the sampling rate (T is a function of time, not
of the samples taken).

The load cells' span follows the room with ``load_cells.temperature_coefficient_pct_per_c``
(α, % of reading per °C, 0 by default: cells that do not drift): every force the press reports
(channels, total force, the pressure made from it) is multiplied by
``1 + α/100 · (T − calibration_c)`` (:func:`presshil.temperature.span_factor`). The
firmware's loop is not: it closes on the cells' temperature-stable value, so the error shows
as readings that move with the room while the stack holds still — what a host that
compensates (the ``tc_compensation_pct_per_c`` URL key, the sim's side of a profile's
``[temperature] load_cell_coefficient_pct_per_c``) has to take out again.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..state import Sample
from ..temperature import compensate, span_factor


class RoomCfg(BaseModel):
    """The press room's temperature model (defaults: a lab at 21 °C warming 0.5 °C an hour,
    its air conditioning swinging ±0.2 °C every 30 min, a 0.01 °C thermometer)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_c: Annotated[float, Field(ge=-20, le=60)] = 21.0
    drift_c_per_h: Annotated[float, Field(ge=-20, le=20)] = 0.5
    swing_c: Annotated[float, Field(ge=0, le=10)] = 0.2
    swing_period_s: Annotated[float, Field(gt=0, le=1e6)] = 1800.0
    resolution_c: Annotated[float, Field(ge=0, le=1)] = 0.01
    #: the temperature the load cells were calibrated at (their span error is 0 there)
    calibration_c: Annotated[float, Field(ge=-20, le=60)] = 20.0


class Room:
    """The temperature at a time, and the load cells' readings at that temperature."""

    def __init__(self, cfg: RoomCfg, seed: int, coefficient_pct_per_c: float = 0.0,
                 compensation_pct_per_c: float | None = None) -> None:
        self.cfg = cfg
        self.coefficient_pct_per_c = coefficient_pct_per_c
        #: the coefficient the host divides out (None: no compensation)
        self.compensation_pct_per_c = compensation_pct_per_c
        # a phase of its own stream, so the room never shifts the other seeded noise
        self._phase = float(np.random.default_rng([seed, 0x7E3D]).uniform(0.0, 2.0 * math.pi))

    def temperature_c(self, t_s: float) -> float:
        """The thermometer's reading at time ``t_s`` (rounded to its resolution)."""
        c = self.cfg
        value = (c.base_c + c.drift_c_per_h * t_s / 3600.0
                 + c.swing_c * math.sin(2.0 * math.pi * t_s / c.swing_period_s + self._phase))
        if c.resolution_c > 0:
            value = round(value / c.resolution_c) * c.resolution_c
        return round(value, 9)

    def reading(self, t_s: float) -> tuple[float, float]:
        """(temperature °C, the factor the press's forces are read with at ``t_s``): the
        cells' span at that temperature, divided by the host's compensation when declared
        (:func:`presshil.temperature.span_factor`; 1.0 for cells that do not drift)."""
        temp = self.temperature_c(t_s)
        if self.coefficient_pct_per_c == 0.0 and self.compensation_pct_per_c is None:
            return temp, 1.0
        k = span_factor(temp, self.coefficient_pct_per_c, self.cfg.calibration_c)
        if self.compensation_pct_per_c is not None:
            k = compensate(k, temp, self.compensation_pct_per_c, self.cfg.calibration_c)
        return temp, k

    def apply(self, sample: Sample) -> Sample:
        """The sample as the press reports it: its temperature, and its forces read at it."""
        temp, k = self.reading(sample.t_s)
        return replace(sample, temperature_c=temp, pressure_mpa=sample.pressure_mpa * k,
                       force_kn=sample.force_kn * k,
                       channels_kn=tuple(c * k for c in sample.channels_kn))


__all__ = ["Room", "RoomCfg"]
