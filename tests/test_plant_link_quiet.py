"""The plant drops its actuator when its controller stops talking (``--link-quiet-ms``).

This is how a firmware under QEMU leaves the press safe when the emulator is stopped from
outside or the binary crashes: the plant's own watchdog, like a valve amplifier's enable
input. Model time only (no real time): quick.
"""

from __future__ import annotations

from presshil.maps.plant import DRIVE_FOLLOW, DRIVE_SAFE, PS_DRIVE_ON
from presshil.plant.model import PlantModel


def _run(plant: PlantModel, seconds: float) -> None:
    t = plant.now()
    for _ in range(round(seconds / plant.dt)):
        t += plant.dt
        plant.advance_to(t)


def test_a_quiet_link_drops_the_actuator_after_the_limit_and_not_before() -> None:
    plant = PlantModel("sim://?seed=3")
    plant.link_quiet_s = 0.25
    plant.command(DRIVE_FOLLOW, 0.05)
    _run(plant, 0.20)  # 200 ms of silence: under the 250 ms limit, still driven
    assert plant.drive_mode == DRIVE_FOLLOW and plant.status() & PS_DRIVE_ON
    _run(plant, 0.10)  # 300 ms: past it
    assert plant.drive_mode == DRIVE_SAFE and not plant.status() & PS_DRIVE_ON
    assert plant.demand == 0.0
    plant.command(DRIVE_FOLLOW, 0.05)  # the controller talks again: it drives again
    assert plant.drive_mode == DRIVE_FOLLOW


def test_commands_keep_the_link_alive_and_the_default_holds_the_last_command() -> None:
    plant = PlantModel("sim://?seed=3")
    plant.link_quiet_s = 0.25
    for _ in range(10):  # a command every 100 ms for a second: never quiet for 250 ms
        plant.command(DRIVE_FOLLOW, 0.05)
        _run(plant, 0.10)
    assert plant.drive_mode == DRIVE_FOLLOW
    held = PlantModel("sim://?seed=3")  # no limit (the host build's plant): holds
    held.command(DRIVE_FOLLOW, 0.05)
    _run(held, 1.0)
    assert held.drive_mode == DRIVE_FOLLOW
