"""The fault injector: faults now or at a virtual time, cleared after their duration.

Each fault is a class of :mod:`presshil.sim.fault_kinds` (apply / clear); the injector looks
it up, fills in its default parameters, checks the channel, and schedules what unfolds over
time as SimPy processes. Every change happens between two ticks: the model is synchronised
to the event's time first.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import simpy

from ..errors import ConfigError
from .catalogue import PressCfg
from .fault_kinds import REGISTRY
from .faults import FaultSpec
from .state import FloatState, IntState, Params


class FaultInjector:
    """Applies and clears faults on a model (the :class:`~.fault_kinds.FaultTarget` it offers)."""

    def __init__(
        self,
        env: simpy.Environment,
        xs: FloatState,
        ns: IntState,
        ps: Params,
        press_cfg: PressCfg,
        *,
        sync: Callable[[], None],
        stop: Callable[[], None],
        trip_limit_mpa: Callable[[], float],
        transient: Callable[[], None],
    ) -> None:
        self.env = env
        self.xs, self.ns, self.ps = xs, ns, ps
        self.press_cfg = press_cfg
        self._sync = sync
        self._stop = stop
        self._trip_limit = trip_limit_mpa
        self._transient = transient

    # ------------------------------------------------------------------ FaultTarget
    def now(self) -> float:
        """Virtual time (s)."""
        return self.env.now

    def stop(self) -> None:
        """The e-stop chain."""
        self._stop()

    def trip_limit_mpa(self) -> float:
        """Measured pressure above which the firmware trips."""
        return self._trip_limit()

    def process(self, generator: Generator[Any, Any, Any]) -> None:
        """Run a fault's process: it yields delays (s); the model is synchronised on each wake."""

        def driver() -> Generator[simpy.Event, Any, None]:
            self._sync()
            delay = next(generator, None)
            while delay is not None:
                yield self.env.timeout(delay)
                self._sync()
                delay = next(generator, None)

        self.env.process(driver())

    # ------------------------------------------------------------------ scheduling
    def schedule(self, spec: FaultSpec) -> None:
        """Inject ``spec`` at its time (now if None or already past)."""
        at = self.env.now if spec.at_s is None else spec.at_s
        if at <= self.env.now:
            self.apply(spec)
        else:
            self.env.process(self._later(spec, at))

    def _later(self, spec: FaultSpec, at: float) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(at - self.env.now)
        self.apply(spec)

    def apply(self, spec: FaultSpec) -> None:
        """Make ``spec``'s condition present now (and schedule its end if it has a duration)."""
        self._sync()
        kind = REGISTRY[spec.name]()
        # catalogue defaults; None marks a default derived from the state at injection
        prm: dict[str, float] = {k: v for k, v in kind.params.items() if v is not None}
        prm.update(spec.params)
        channel = int(prm.get("channel", 1)) - 1
        n_channels = int(self.ps.n_ch)
        if "channel" in kind.params and channel >= n_channels:
            raise ConfigError(
                f"fault {spec.name!r}: channel {channel + 1} does not exist "
                f"(this press has {n_channels})"
            )
        kind.apply(self, prm, channel)
        self._transient()
        duration = prm.get("duration_s")
        if duration and not kind.transient:
            self.env.process(self._clear_later(spec.name, channel + 1, duration))

    def _clear_later(
        self, name: str, channel: int, duration: float
    ) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(duration)
        self.clear(name, channel)

    def clear(self, name: str, channel: int = 1) -> None:
        """Remove an injected fault condition (a latched firmware fault still needs reset)."""
        self._sync()
        REGISTRY[name]().clear(self, channel - 1)
        self._transient()


__all__ = ["FaultInjector"]
