"""A deliberately naive reference: the same model, one SimPy event per firmware tick.

This is how one would first write the simulator — a SimPy process that wakes every
millisecond (``yield env.timeout(dt)``) and runs one tick of sensors, firmware, actuator and
plant — and it is the baseline the benchmarks compare against. It reuses the very tick
function of the kernel (:func:`presshil.sim.kernel._one_tick`), so both compute the same
model; run it with ``NUMBA_DISABLE_JIT=1`` for the pure-Python baseline (the benchmark does,
in a subprocess)::

    NUMBA_DISABLE_JIT=1 python3 -m presshil.sim.reference_loop assembly 5

prints a JSON line with the simulated and wall-clock seconds.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

from . import kernel
from .catalogue import load_press, load_specimen
from .model import SimModel


class NaiveModel(SimModel):
    """:class:`SimModel` whose ticks are SimPy events instead of kernel calls."""

    def __init__(self, *args, **kwargs) -> None:
        self._ticking = False
        super().__init__(*args, **kwargs)
        self._ticking = True
        self.env.process(self._tick_process())

    def sync(self, t: float | None = None) -> None:
        """No catching up to do: the tick process keeps the model current."""
        if not getattr(self, "_ticking", True):
            super().sync(t)

    def advance_to(self, t: float) -> None:
        """Run the event queue (one event per tick) up to ``t``."""
        if t > self.env.now:
            self.env.run(until=t)

    def _tick_process(self):
        one_tick = kernel._one_tick
        while True:
            one_tick(self.p, self.x, self.n, self._ch_true, self.recorder.buffer)
            yield self.env.timeout(self.dt)


def run_scenario(name: str, duration_s: float, model_cls: type[SimModel] = NaiveModel) -> dict:
    """Run the first ``duration_s`` of a benchmark scenario; return timing figures.

    ``assembly``: ramp to 74 MPa at 2 MPa/s, hold, release (read at 50 Hz).
    ``breathing``: ramp to 15 MPa at 0.5 MPa/s and hold while the cell breathes (read at 0.2 Hz).
    """
    if name == "assembly":
        setpoint, rate, read_dt = 74.0, 2.0, 0.02
    elif name == "breathing":
        setpoint, rate, read_dt = 15.0, 0.5, 5.0
    else:
        raise ValueError(f"unknown scenario {name!r}")
    model = model_cls(load_press(None)[0], load_specimen(None)[0], seed=1, fidelity="full")
    wall0 = time.perf_counter()
    model.regulate(setpoint, rate)
    t = 0.0
    while t < duration_s:
        t = min(duration_s, t + read_dt)
        model.advance_to(t)
        model.heartbeat()
    wall = time.perf_counter() - wall0
    return {
        "scenario": name,
        "sim_s": duration_s,
        "wall_s": wall,
        "ticks": round(duration_s / model.dt),
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m presshil.sim.reference_loop SCENARIO SECONDS`` → one JSON line."""
    args = sys.argv[1:] if argv is None else argv
    warnings.simplefilter("ignore")  # uint64 wrap-around in the pure-Python noise hash
    print(json.dumps(run_scenario(args[0], float(args[1]))))


if __name__ == "__main__":
    main()
