"""The Battery Data Format's column names presshil writes and reads.

BDF (Battery Data Alliance, Linux Foundation Energy), ontology 1.3.0: a column's header is its
preferred label, ``Quantity / unit``, with fixed (SI) units; every BDF quantity also has a
machine-readable name (``test_time_second``), which some files use as their header. presshil
writes preferred labels and reads either. Quantities outside the format (channel forces, the
setpoint, the ram position) are written as custom columns named in the same style.
"""

from __future__ import annotations

BDF_VERSION = "1.3.0"

TEST_TIME = "Test Time / s"
UNIX_TIME = "Unix Time / s"
VOLTAGE = "Voltage / V"
CURRENT = "Current / A"
CYCLE_COUNT = "Cycle Count / 1"
STEP_COUNT = "Step Count / 1"
AMBIENT_TEMPERATURE = "Ambient Temperature / degC"
APPLIED_PRESSURE = "Applied Pressure / Pa"
# presshil's own columns, in the format's style (SI units)
SETPOINT_PRESSURE = "Setpoint Pressure / Pa"
APPLIED_FORCE = "Applied Force / N"
RAM_POSITION = "Ram Position / m"
PRESS_STATUS = "Press Status / 1"


def channel_force(i: int) -> str:
    """The column of load cell ``i`` (counted from 1), newtons."""
    return f"Load Cell {i} Force / N"


#: machine-readable names of the BDF quantities presshil reads -> preferred label
MACHINE_NAMES = {
    "test_time_second": TEST_TIME,
    "unix_time_second": UNIX_TIME,
    "voltage_volt": VOLTAGE,
    "current_ampere": CURRENT,
    "cycle_count": CYCLE_COUNT,
    "step_count": STEP_COUNT,
    "ambient_temperature_celsius": AMBIENT_TEMPERATURE,
    "applied_pressure_pa": APPLIED_PRESSURE,
    "charging_capacity_ah": "Charging Capacity / Ah",
    "discharging_capacity_ah": "Discharging Capacity / Ah",
    "step_time_second": "Step Time / s",
}
#: older spellings of the unitless counters' labels, seen in files written before 1.3
LABEL_ALIASES = {"Cycle Count": CYCLE_COUNT, "Step Count": STEP_COUNT}


def preferred(header: str) -> str:
    """A header as its BDF preferred label (machine names and old spellings translated);
    a header the table does not know is returned as it is."""
    h = header.strip()
    return MACHINE_NAMES.get(h, LABEL_ALIASES.get(h, h))


__all__ = [
    "AMBIENT_TEMPERATURE", "APPLIED_FORCE", "APPLIED_PRESSURE", "BDF_VERSION", "CURRENT",
    "CYCLE_COUNT", "MACHINE_NAMES", "PRESS_STATUS", "RAM_POSITION", "SETPOINT_PRESSURE",
    "STEP_COUNT", "TEST_TIME", "UNIX_TIME", "VOLTAGE", "channel_force", "preferred",
]
