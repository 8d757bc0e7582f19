"""Flat array layout shared by the numba kernel and the Python side of the simulator.

The per-tick integration runs in a numba kernel on three flat arrays:

* ``x`` — float64 state (forces, positions, controller state, latest sample, sensor state);
* ``n`` — int64 state (tick, sample counter, firmware state, status bits, flags);
* ``p`` — float64 parameters (catalogue values in SI units, firmware gains, sensor errors).

Each name below is an index into one of them. Names carry their unit. The integers are
module constants, so numba folds them into the compiled kernel.
"""

from __future__ import annotations

#: maximum number of load-cell channels (the Modbus map allows 1..8)
MAX_CH = 8
#: depth of the per-channel sample-delay line, in firmware ticks
RING_LEN = 32


class _Slots:
    """Hands out consecutive indices; ``slot(k)`` reserves ``k`` of them."""

    def __init__(self) -> None:
        self.size = 0

    def __call__(self, count: int = 1) -> int:
        start = self.size
        self.size += count
        return start


# ---------------------------------------------------------------------------------------
# actuator kinds, firmware states, fault flags
# ---------------------------------------------------------------------------------------
ACT_HYDRAULIC = 0
ACT_SERVO = 1
ACT_MANUAL = 2

FW_IDLE = 0
FW_RAMP = 1
FW_HOLD = 2
FW_RELEASE = 3
FW_FAULT = 4
FW_GAP_HOLD = 5  # constant gap: the firmware holds the ram position, the force follows the cell

FW_STATE_NAMES = ("IDLE", "RAMP", "HOLD", "RELEASE", "FAULT", "GAP_HOLD")

# status bits: identical to presshil.press.Status (Modbus input register 0)
ST_READY = 1
ST_REGULATING = 2
ST_AT_SETPOINT = 4
ST_RAMPING = 8
ST_RELEASED = 16
ST_FAULT = 256
ST_ESTOP = 512
ST_WATCHDOG = 1024
ST_OVERPRESSURE = 2048

# fault codes: identical to presshil.press.FaultCode
FC_NONE = 0
FC_OVERPRESSURE = 1
FC_WATCHDOG = 2
FC_ESTOP = 3
FC_SENSOR = 4
FC_RATE_LIMIT = 5
FC_ACTUATOR = 6
FC_CONTROLLER = 7

# actuator-level injected faults (bits of n[N_ACT_FAULTS])
AF_STUCK = 1  # valve spool / motor frozen where it is
AF_RUNAWAY = 2  # actuator drives forward at full capacity, ignoring the controller

# actuator modes (what the firmware asks of the actuator this tick)
AM_DRIVE = 0  # follow the controller output
AM_HOLD = 1  # stop moving (valve closed / motor stopped / operator idle)
AM_UNLOAD = 2  # remove force now (pump off + dump valve / retract)
AM_OPEN = 4  # manual press: operator opens the release valve

# per-channel sensor faults (n[N_CH_FAULT + i])
SF_NONE = 0
SF_STUCK = 1
SF_OPEN_WIRE = 2
SF_DRIFT = 3
SF_SATURATION = 4

# reasons the kernel returns
RET_DONE = 0
RET_RECORD_FULL = 1

# ---------------------------------------------------------------------------------------
# float state x[]
# ---------------------------------------------------------------------------------------
_x = _Slots()
X_FORCE_N = _x()  # true total force through the stack
X_GAP_M = _x()  # ram-to-stack gap when out of contact (force is then zero)
X_PMAX_PA = _x()  # highest stack pressure seen: the powder bed's compaction state
X_C_EL_M_N = _x()  # elastic compliance of the stack at that compaction (cached)
X_PLASTIC_M = _x()  # irreversible compaction of the powder bed at that state (cached)
X_CREEP_STRAIN = _x()  # Li creep strain (thinning of the Li layer)
X_CREEP_HARDNESS = _x()  # Li deformation resistance relative to the annealed state (>= 1)
X_SWELL_M = _x()  # stack thickness change: breathing plus injected swelling
X_SWELL_RATE_M_S = _x()  # d(thickness)/dt set by the cycler (breathing phase)
X_SPIKE_RATE_M_S = _x()  # d(thickness)/dt of an injected over-pressure spike
X_ACT_STATE = _x()  # servo-valve spool opening (-1..1) or motor speed (m/s)
X_ACT_FLOW = _x()  # last actuator ram velocity, m/s (diagnostic)
X_LEAK_EXTRA_LAMBDA = _x()  # injected leak, m/(N s), on top of the nominal one
X_OP_PHASE = _x()  # manual press: time into the current stroke, s
X_OP_STROKE = _x()  # manual press: fraction of a full stroke being delivered (0..1)
X_OP_GAIN_MPA = _x()  # manual press: operator's estimate of MPa per full stroke
X_OP_P_START_MPA = _x()  # manual press: gauge reading at the start of the current stroke
X_OP_RELEASE_OPEN = _x()  # manual press: release-valve opening (0..1)
X_OP_T0_S = _x()  # manual press: time the current pumping/release task started
X_OP_P0_MPA = _x()  # manual press: gauge reading when the task started
# firmware
X_TARGET_MPA = _x()  # commanded setpoint
X_RATE_MPA_S = _x()  # commanded ramp rate (already clamped to the press maximum)
X_SP_MPA = _x()  # active (ramped) setpoint
X_SP_RATE_MPA_S = _x()  # rate of the ramped setpoint this tick (feed-forward)
X_INTEGRAL = _x()  # PID integrator, in controller output units
X_DFILT = _x()  # filtered derivative of the measured force, N/s
X_EFILT_N = _x()  # low-passed control error, N (settling detector; m in a constant gap)
X_PREV_MEAS_N = _x()  # measured force of the previous sample, N
X_U = _x()  # controller output of the last tick
X_FOLLOW_S = _x()  # time the following error has exceeded its limit
X_DIE_AREA_M2 = _x()  # configured die area (pressure = total force / area)
X_SOFT_MAX_MPA = _x()  # configured soft pressure limit
X_GAP_LOCK_M = _x()  # measured ram position held in GAP_HOLD
X_POS_FILT_M = _x()  # low-passed measured ram position (where a constant gap locks)
# latest firmware sample
X_MEAS_FORCE_N = _x()
X_MEAS_P_MPA = _x()
X_MEAS_POS_M = _x()
X_MEAS_CH_N = _x(MAX_CH)
# sensors
X_HYST_N = _x(MAX_CH)  # hysteretic offset per channel (Duhem model)
X_HYST_TRACK_N = _x(MAX_CH)  # force seen through the reversal dead zone, per channel
X_CH_FAULT_VALUE = _x(MAX_CH)  # stuck value (N), drift rate (N/s) or clip level (N)
X_CH_FAULT_T0_S = _x(MAX_CH)  # time a channel fault began
X_RING_N = _x(MAX_CH * RING_LEN)  # delay line of true channel forces
X_SIZE = _x.size

# ---------------------------------------------------------------------------------------
# int state n[]
# ---------------------------------------------------------------------------------------
_n = _Slots()
N_TICK = _n()  # plant/firmware tick index: t = tick * dt
N_COUNTER = _n()  # firmware sample counter (stops when the controller freezes)
N_SAMPLE_TICK = _n()  # tick of the latest firmware sample
N_FW_STATE = _n()
N_STATUS = _n()
N_LATCHED_BITS = _n()  # ESTOP / WATCHDOG / OVERPRESSURE bits latched with a fault
N_FAULT_CODE = _n()
N_SEED = _n()
N_LAST_HB_TICK = _n()  # tick of the last heartbeat
N_WDOG_TICKS = _n()  # watchdog timeout in ticks (0 = off)
N_SETTLED_TICKS = _n()  # consecutive ticks the hold has been settled
N_RELEASED = _n()  # 1 once a release (or power-up) left the press open
N_ACT_FAULTS = _n()  # AF_* bits
N_FROZEN = _n()  # 1: controller freeze fault active (firmware loop stopped)
N_COMM_LOST = _n()  # 1: host link lost (heartbeats do not arrive)
N_HOST_HOLD = _n()  # on_host_loss: 0 release (watchdog trips), 1 hold the active setpoint
N_HOST_LOST = _n()  # 1: the watchdog expired under "hold": holding, host-loss alarm up
N_FAST = _n()  # 1: fast path allowed
N_REC_ON = _n()
N_REC_IDX = _n()
N_RING_POS = _n()
N_OP_PUMPING = _n()  # manual press: operator is pumping
N_ACT_MODE = _n()  # AM_* the actuator was last told
N_MACRO_STEPS = _n()  # statistics: macro steps taken
N_MACRO_TICKS = _n()  # statistics: ticks jumped by macro steps
N_FULL_TICKS = _n()  # statistics: ticks computed one by one
N_CH_FAULT = _n(MAX_CH)  # SF_* per channel
N_SIZE = _n.size

# ---------------------------------------------------------------------------------------
# parameters p[]
# ---------------------------------------------------------------------------------------
_p = _Slots()
P_DT_S = _p()  # firmware loop period (plant integration step)
P_ACT_KIND = _p()
P_N_CH = _p()
# frame and platen
P_FRAME_K_N_M = _p()  # frame (+ drive train) stiffness in series with the stack
P_CH_BASE = _p()  # 1/N
P_CH_AX_PER_M = _p(MAX_CH)  # channel share per metre of centre-of-force offset, x
P_CH_AY_PER_M = _p(MAX_CH)
P_COF_X_M = _p()  # die offset from the load-cell centroid, x
P_COF_Y_M = _p()
P_TILT_X_RAD = _p()  # platen face slope (compression grows toward +x)
P_TILT_Y_RAD = _p()
P_LATE_TILT_X_RAD = _p()  # slope added after forming (fault platen_tilt): acts elastically
P_LATE_TILT_Y_RAD = _p()
P_DIE_RADIUS_M = _p()  # specimen die radius
# hydraulic actuator (auto and manual)
P_PISTON_AREA_M2 = _p()
P_OIL_COMPLIANCE_M_N = _p()  # V0 / (beta * A_p^2), ram travel per newton from oil compression
P_SUPPLY_PA = _p()  # pump pressure = relief valve setting
P_PUMP_FLOW_M3_S = _p()
P_VALVE_FLOW_M3_S = _p()  # servo valve flow at full opening and full pressure drop
P_VALVE_ALPHA = _p()  # 1 - exp(-dt / tau_valve)
P_LEAK_LAMBDA = _p()  # internal leak G/A_p^2, m/(N s)
P_DUMP_LAMBDA = _p()  # dump valve G/A_p^2, m/(N s)
P_RELIEF_FORCE_N = _p()
P_RELIEF_LAMBDA = _p()
# servo-electric actuator
P_MOTOR_V_MAX_M_S = _p()
P_MOTOR_A_MAX_M_S2 = _p()
P_MOTOR_ALPHA = _p()  # 1 - exp(-dt / tau_speed_loop)
P_RETRACT_M = _p()  # retract distance after release / in a fault
# manual operator
P_STROKE_M3 = _p()  # hand-pump volume per full stroke
P_STROKE_PERIOD_S = _p()
P_OP_GAIN0_MPA = _p()  # operator's first guess of MPa per full stroke (learned afterwards)
P_OP_DEADBAND_MPA = _p()
P_RELEASE_LAMBDA = _p()  # release valve fully open, m/(N s)
P_RELEASE_OPEN_S = _p()  # time the operator takes to open the release valve fully
# specimen
P_SPEC_AREA_M2 = _p()
P_POW_H_SOLID_M = _p()
P_POW_D0 = _p()
P_POW_HECKEL_K_PER_PA = _p()
P_POW_E_DENSE_PA = _p()
P_POW_E_EXP = _p()
P_LI_H_M = _p()
P_LI_E_PA = _p()
P_LI_N = _p()
P_LI_RATE_REF_PER_S = _p()
P_LI_SIGMA_REF_PA = _p()
P_LI_MAX_STRAIN = _p()
P_LI_HARDENING = _p()  # deformation resistance gained per unit creep strain
P_LI_RECOVERY_S = _p()  # static recovery time constant of the hardening (0 = none)
# sensors
P_CH_FS_N = _p()  # load-cell rated capacity; the ADC spans -10 %..+110 % of it
P_CH_GAIN = _p(MAX_CH)  # 1 + gain error
P_CH_ZERO_N = _p(MAX_CH)
P_CH_NL_N = _p(MAX_CH)  # non-linearity: bow of this size at half capacity
P_CH_HYST_N = _p(MAX_CH)  # hysteresis: width of the play operator
P_CH_NOISE_N = _p()
P_CH_LSB_N = _p()
P_DELAY_TICKS = _p()
P_POS_LSB_M = _p()
P_POS_NOISE_M = _p()
# firmware
P_KP = _p()  # controller output per newton of error
P_KI = _p()  # per newton-second
P_KD = _p()  # per (newton per second)
P_KFF = _p()  # per (newton per second) of setpoint rate
P_U_MAX = _p()  # output saturation, upper
P_U_MIN = _p()  # output saturation, lower
P_D_ALPHA = _p()  # derivative filter coefficient
P_E_ALPHA = _p()  # settling-detector error filter coefficient
P_VALVE_LINEARISE = _p()  # 1: hydraulic flow linearisation by the estimated pressure drop
P_MAX_RATE_MPA_S = _p()
P_RATED_MAX_MPA = _p()
P_TRIP_MARGIN_FRAC = _p()
P_TRIP_MARGIN_MIN_MPA = _p()
P_RATE_TRIP_N_S = _p()
P_FOLLOW_ERR_MPA = _p()
P_FOLLOW_ERR_S = _p()
P_AT_SP_BAND_MPA = _p()
P_RELEASED_BELOW_MPA = _p()
P_SETTLE_BAND_N = _p()
P_SETTLE_TICKS = _p()
P_U_APPROACH = _p()  # output cap before contact: closing a gap slowly enough not to slam
P_GAP_KP = _p()  # constant-gap position loop: controller output per metre of position error
P_GAP_KI = _p()  # per metre-second
P_GAP_SETTLE_BAND_M = _p()  # settled constant gap: low-passed position error inside this
P_SIZE = _p.size

# ---------------------------------------------------------------------------------------
# columns of the per-tick capture (recording) buffer
# ---------------------------------------------------------------------------------------
_r = _Slots()
R_T_S = _r()
R_STATUS = _r()
R_FAULT_CODE = _r()
R_SP_MPA = _r()
R_MEAS_P_MPA = _r()
R_MEAS_FORCE_N = _r()
R_TRUE_FORCE_N = _r()
R_POS_M = _r()
R_U = _r()
R_CH_N = _r(MAX_CH)
R_SIZE = _r.size
