"""The plant register map v1: ONE declarative table.

The plant server (press mechanics, specimen and sensors, without the controller) speaks
this map to the firmware under test, and to the judge. Everything else is generated from
:data:`PLANT_REGISTERS`: the server's layout and codecs, ``docs/plant-map.md`` and the C
header the firmware compiles against (``firmware/src/plant_map.h``), see
:mod:`presshil.plant.codegen`.

Three audiences, three blocks:

* **the firmware's I/O**: the sensor block (input 0..23: status, sample counter, sample
  time, position, load-cell channels — what an ADC and an encoder give a controller) and the
  actuator block (holding 0..5: drive mode, valve or motor demand, and the sample counter the
  demand was computed from, which lets the plant measure the firmware's latency);
* **the nameplate** (input 100..): the hardware data a firmware keeps in its configuration
  memory (actuator kind, piston area, supply pressure, load-cell capacity, ratings);
* **the judge's** (input 200.., holding 300..): the ground truth (true force per channel),
  timing figures, and fault injection. The firmware under test must not use them.

Conventions as in map v1: device id 1; 0-based addresses; ``f32``/``u32`` big-endian, high
word first. The sensor block is mirrored read-only at holding 256.. for FC23.
"""

from __future__ import annotations

from .regtable import Register, RegType, Space
from .table import RegisterTable

PLANT_MAP_VERSION = 1
DEVICE_ID = 1
CHANNEL_SLOTS = 8
MIRROR_BASE = 256

_I, _H = Space.INPUT, Space.HOLDING
U16, U32, F32 = RegType.U16, RegType.U32, RegType.F32

# status bits (input 0)
PS_RUNNING = 1 << 0  # the plant model is alive and advancing in real time
PS_ESTOP = 1 << 1  # the e-stop button is pressed (a digital input of the controller)
PS_DRIVE_ON = 1 << 2  # the actuator is enabled (pump running / drive enabled)
PS_CHAIN_OPEN = 1 << 3  # the hard-wired safety chain has cut the actuator (e-stop)

# drive modes (holding 0)
DRIVE_SAFE = 0  # hydraulic: pump off + dump valve open; screw press: retract
DRIVE_FOLLOW = 1  # follow the demand
DRIVE_HOLD = 2  # valve closed / motor stopped, actuator enabled

# actuator kinds (input 101)
KIND_HYDRAULIC = 0
KIND_SERVO = 1

# fault injection (holding 300), for the judge
INJECT_NONE = 0
INJECT_CODES = {
    "overpressure": 1,
    "estop": 2,
    "sensor_stuck": 3,
    "open_wire": 4,
    "sensor_drift": 5,
    "sensor_saturation": 6,
    "leak": 7,
    "stuck_valve": 8,
    "runaway": 9,
    "clear": 10,
}

PLANT_REGISTERS: tuple[Register, ...] = (
    # --- sensor block: the firmware reads input 0..23 in one FC04 ---------------------------
    Register(
        "status",
        _I,
        0,
        U16,
        "R",
        "bits",
        "status bits: 0 RUNNING, 1 ESTOP (button pressed), 2 DRIVE_ON, 3 CHAIN_OPEN "
        "(hard-wired safety chain has cut the actuator)",
    ),
    Register("channel_count", _I, 1, U16, "R", "", "load-cell channel count N (1..8)"),
    Register(
        "sample_counter",
        _I,
        2,
        U32,
        "R",
        "samples",
        "advances by one every plant sample (every tick of the model)",
    ),
    Register(
        "sample_time",
        _I,
        4,
        U32,
        "R",
        "µs",
        "plant time of the sample (wraps at 2^32 µs, 71.6 min)",
    ),
    Register("position", _I, 6, F32, "R", "mm", "ram position encoder reading"),
    Register(
        "load_cell",
        _I,
        8,
        F32,
        "R",
        "kN",
        "load-cell channel readings (sensor chain: delay, hysteresis, gain, noise, ADC); "
        "slots beyond N read 0",
        count=CHANNEL_SLOTS,
    ),
    # --- nameplate: read once at boot -----------------------------------------------------
    Register("plant_map_version", _I, 100, U16, "R", "", "plant map version (1)"),
    Register(
        "actuator_kind",
        _I,
        101,
        U16,
        "R",
        "",
        "0 hydraulic (pump + servo valve), 1 servo-electric (motor + ball screw)",
    ),
    Register("sample_rate", _I, 102, F32, "R", "Hz", "plant sample rate"),
    Register("rated_force", _I, 104, F32, "R", "kN", "rated force"),
    Register("rated_max_pressure", _I, 106, F32, "R", "MPa", "die-set pressure rating"),
    Register("load_cell_capacity", _I, 108, F32, "R", "kN", "capacity of one load cell"),
    Register("piston_area", _I, 110, F32, "R", "mm²", "cylinder piston area (hydraulic; 0 else)"),
    Register("supply_pressure", _I, 112, F32, "R", "MPa", "pump / relief pressure (hydraulic)"),
    Register(
        "valve_flow",
        _I,
        114,
        F32,
        "R",
        "l/min",
        "servo-valve flow at full opening and full pressure drop (hydraulic)",
    ),
    Register("pump_flow", _I, 116, F32, "R", "l/min", "pump flow (hydraulic)"),
    Register("max_speed", _I, 118, F32, "R", "mm/s", "drive speed limit (servo-electric)"),
    Register(
        "nominal_compliance",
        _I,
        120,
        F32,
        "R",
        "µm/kN",
        "commissioning figure: series compliance of frame, oil column and a dense stack, "
        "for loop tuning",
    ),
    Register("die_area", _I, 122, F32, "R", "mm²", "area of the die fitted"),
    Register(
        "load_cell_position",
        _I,
        124,
        F32,
        "R",
        "mm",
        "load-cell positions relative to the die centre, 8 × (x, y); NaN beyond N",
        count=2 * CHANNEL_SLOTS,
    ),
    # --- ground truth and timing: the judge's, not the firmware's -------------------------
    Register("truth_counter", _I, 200, U32, "R", "samples", "sample counter of the truth below"),
    Register("true_force", _I, 202, F32, "R", "kN", "true total force on the stack"),
    Register("true_position", _I, 204, F32, "R", "mm", "true ram travel from first touch"),
    Register(
        "true_channel",
        _I,
        206,
        F32,
        "R",
        "kN",
        "true force on each load cell (before the sensor chain)",
        count=CHANNEL_SLOTS,
    ),
    Register("commands", _I, 222, U32, "R", "", "actuator commands received so far"),
    Register(
        "last_latency",
        _I,
        224,
        F32,
        "R",
        "ms",
        "sample-to-command latency of the last command (its sample's time to its arrival)",
    ),
    Register("max_latency", _I, 226, F32, "R", "ms", "largest sample-to-command latency so far"),
    Register("rt_lag", _I, 228, F32, "R", "ms", "real-time lag of the newest sample"),
    Register("max_rt_lag", _I, 230, F32, "R", "ms", "largest real-time lag so far"),
    Register(
        "max_read_gap",
        _I,
        232,
        F32,
        "R",
        "ms",
        "largest gap between two sensor reads the server answered (after the first)",
    ),
    # --- actuator block: the firmware writes holding 0..5 in one FC16 ---------------------
    Register(
        "drive_mode",
        _H,
        0,
        U16,
        "RW",
        "",
        "0 SAFE (hydraulic: pump off, dump valve open; screw: retract), 1 FOLLOW the "
        "demand, 2 HOLD (valve closed / motor stopped)",
    ),
    Register("reserved_1", _H, 1, U16, "RW", "", "reserved, write 0 (keeps 0..5 one write)"),
    Register(
        "demand",
        _H,
        2,
        F32,
        "RW",
        "",
        "hydraulic: servo-valve spool opening −1..1; "
        "servo-electric: ram speed, mm/s (clamped to the drive's limits)",
    ),
    Register(
        "based_on",
        _H,
        4,
        U32,
        "RW",
        "samples",
        "sample counter of the reading the demand was computed from (latency)",
    ),
    Register(
        "sensor_mirror",
        _H,
        MIRROR_BASE,
        U16,
        "R",
        "",
        "read-only mirror of input 0..23 at 256..279, for one FC23 write-and-read",
        count=24,
    ),
    # --- fault injection: the judge's -----------------------------------------------------
    Register(
        "inject",
        _H,
        300,
        U16,
        "RW",
        "",
        "inject a fault, applied after the parameters of the same write: "
        + ", ".join(f"{v} {k}" for k, v in INJECT_CODES.items()),
    ),
    Register("inject_channel", _H, 301, U16, "RW", "", "channel (1..N) of a sensor fault"),
    Register(
        "inject_value",
        _H,
        302,
        F32,
        "RW",
        "",
        "overpressure: surge, MPa on the die; leak: factor; sensor_drift: N/min; "
        "sensor_saturation: level, kN",
    ),
    Register(
        "inject_duration",
        _H,
        304,
        F32,
        "RW",
        "s",
        "the condition clears itself after this long (0: until 'clear'); e-stop: how "
        "long the button is held (0: 0.2 s)",
    ),
)

TABLE = RegisterTable("plant register map", PLANT_REGISTERS, MIRROR_BASE)
SENSOR_START, SENSOR_COUNT = TABLE.span(_I, "status", "load_cell")
NAMEPLATE_START, NAMEPLATE_COUNT = TABLE.span(_I, "plant_map_version", "load_cell_position")
TRUTH_START, TRUTH_COUNT = TABLE.span(_I, "truth_counter", "max_read_gap")
ACTUATOR_START, ACTUATOR_COUNT = TABLE.span(_H, "drive_mode", "based_on")
INJECT_START, INJECT_COUNT = TABLE.span(_H, "inject", "inject_duration")

__all__ = [
    "ACTUATOR_COUNT",
    "ACTUATOR_START",
    "CHANNEL_SLOTS",
    "DEVICE_ID",
    "INJECT_CODES",
    "INJECT_COUNT",
    "INJECT_START",
    "MIRROR_BASE",
    "NAMEPLATE_COUNT",
    "NAMEPLATE_START",
    "PLANT_MAP_VERSION",
    "PLANT_REGISTERS",
    "SENSOR_COUNT",
    "SENSOR_START",
    "TABLE",
    "TRUTH_COUNT",
    "TRUTH_START",
]
