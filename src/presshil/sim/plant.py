"""What the plant is doing, read by name: forces, positions, stack state, the reference.

:class:`PlantView` answers questions about the physical press and the cell stack in its
present state — true force and pressure, ram travel, stiffnesses, Li creep, breathing — and
reads the reference transducer in the load path. It reads the kernel's arrays through the
named views and never changes them.
"""

from __future__ import annotations

import math

import numpy as np

from . import kernel
from .catalogue import PressCfg
from .firmware import trip_limit_mpa
from .layout import FW_STATE_NAMES, MAX_CH
from .platen import split
from .rng import STREAM_REFERENCE, normal
from .specimen import elastic_compliance, elastic_stiffness, tilt_stiffness
from .state import FloatState, IntState, Params


class PlantView:
    """Read-only, named access to the simulated press and stack (true values, SI units)."""

    def __init__(self, xs: FloatState, ns: IntState, ps: Params, press_cfg: PressCfg) -> None:
        self.xs, self.ns, self.ps = xs, ns, ps
        self.press_cfg = press_cfg

    @property
    def state_name(self) -> str:
        """Firmware state: IDLE, RAMP, HOLD, RELEASE, FAULT or GAP_HOLD."""
        return FW_STATE_NAMES[self.ns.fw_state]

    @property
    def true_force_n(self) -> float:
        """Force actually on the stack (N)."""
        return self.xs.force_n

    @property
    def true_pressure_mpa(self) -> float:
        """Force on the stack over the specimen's die area (MPa)."""
        return self.xs.force_n / self.ps.spec_area_m2 * 1e-6

    @property
    def ram_position_m(self) -> float:
        """True ram travel since first touch (m)."""
        return float(kernel.ram_position(self.ps.array, self.xs.array))

    @property
    def stack_stiffness_n_per_m(self) -> float:
        """Elastic (unloading) stiffness of the stack in its present compaction state."""
        return float(1.0 / elastic_compliance(self.ps.array, self.xs.pmax_pa))

    @property
    def frame_stiffness_n_per_m(self) -> float:
        """Frame (+ drive train) stiffness from the catalogue."""
        return self.ps.frame_k_n_m

    @property
    def oil_stiffness_n_per_m(self) -> float:
        """Stiffness of the locked oil column (inf for a screw press)."""
        c = self.ps.oil_compliance_m_n
        return 1.0 / c if c > 0 else math.inf

    @property
    def creep_strain(self) -> float:
        """Li creep strain so far."""
        return self.xs.creep_strain

    @property
    def swell_m(self) -> float:
        """Stack thickness change from breathing and injected swelling (m)."""
        return self.xs.swell_m

    @property
    def true_channel_forces_n(self) -> np.ndarray:
        """True per-channel forces the platen puts on the load cells (N)."""
        out = np.zeros(MAX_CH)
        split(self.ps.array, self.xs.force_n, float(tilt_stiffness(self.ps.array, self.xs.array)),
              out, float(elastic_stiffness(self.xs.array)))
        return out[: int(self.ps.n_ch)].copy()

    def reference_force_n(self, seed: int) -> float:
        """Reading of the reference transducer in the load path: truth plus a small error."""
        ref = self.press_cfg.reference_transducer
        value = self.xs.force_n * (1.0 + ref.gain_error_pct / 100.0)
        value += ref.noise_n_rms * normal(seed, STREAM_REFERENCE, self.ns.tick)
        if ref.resolution_n > 0:
            value = round(value / ref.resolution_n) * ref.resolution_n
        return float(value)

    def trip_limit_mpa(self) -> float:
        """Measured pressure above which the firmware's over-pressure trip fires."""
        return float(trip_limit_mpa(self.ps.array, self.xs.array))

    def stats(self) -> dict[str, int]:
        """Ticks computed one by one, macro steps and the ticks they covered."""
        ns = self.ns
        return {
            "full_ticks": ns.full_ticks,
            "macro_steps": ns.macro_steps,
            "macro_ticks": ns.macro_ticks,
        }


__all__ = ["PlantView"]
