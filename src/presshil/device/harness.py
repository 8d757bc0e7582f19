"""Put a press into a known state before a test: unloaded, no latched fault, configured.

Used by the end-to-end tests that share one server across many tests, and useful to any
host that reuses a connection: :func:`prepare_press` is the wall-clock counterpart of
opening a fresh simulated press.
"""

from __future__ import annotations

from ..press import Press


def prepare_press(
    press: Press, *, die_area_mm2: float, unload_below_mpa: float = 0.3, timeout_s: float = 10.0
) -> Press:
    """Stop, wait until unloaded, reset, then configure (watchdog off, soft max = rated).

    Waits on ``press.clock`` (bounded by ``timeout_s``), feeding the watchdog meanwhile.
    """
    clock = press.clock
    press.stop()
    end = clock.now() + timeout_s
    while clock.now() < end:
        press.heartbeat()
        if abs(press.read().pressure_mpa) < unload_below_mpa:
            break
        clock.sleep_until(clock.now() + 0.02)
    press.reset()
    press.configure(
        die_area_mm2=die_area_mm2, watchdog_ms=0, soft_max_mpa=press.identity.rated_max_pressure_mpa
    )
    return press


__all__ = ["prepare_press"]
