"""Taking a run up again after its host was lost (``presshil run --resume RUN_ID``).

A run whose protocol says ``on_host_loss = "hold"`` leaves the press holding its setpoint
when the host dies. :func:`plan_resume` reads the stored run and works out where it was: the
top-level steps recorded as ended are done; the next one was cut by the gap. :func:`check_press`
then compares the press with that point — reads only, the press is left untouched when it
refuses — and the runner executes the plan, continuing the same run id from there, with the
run claimed in the store around it (:func:`claimed`; ``runner.run(plan=…)``).

Where a cut step resumes:

* ``hold`` and ``step``: on the run's time axis, which runs on through the gap, so the step
  ends when it would have ended had the host stayed (the press held the setpoint meanwhile,
  and :func:`check_press` checks it still does); a gap longer than what was left ends the
  step at once.
* ``ramp`` and ``release``: commanded again to the same target at the same rate; the press
  continues from the setpoint where it stopped.
* a top-level ``repeat`` (the store records each of its iterations as it starts, with the
  worst verdicts so far: :class:`~presshil.records.Iteration`): the iterations before the cut
  one keep their judgement, the cut iteration runs again from its start. A repeat cut in a
  run stored before v7 without those verdicts is refused (exit code 2).

The stored record is read from the store's tables (``Store.steps``, ``Store.iterations``),
never from the text of an event.

A step that spans the gap is judged on its samples from both sides of it; its verdicts say
that the gap was not sampled.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .records import Gap
from .run_plan import RunPlan
from .state import FaultCode, Status
from .steps import behaviour

if TYPE_CHECKING:
    from .press import Press
    from .protocol import Protocol
    from .store import Store

#: the press's active setpoint may differ from where the run left it by this much (MPa) …
SETPOINT_TOLERANCE_MPA = 0.05
#: … or this fraction of it, whichever is larger
SETPOINT_TOLERANCE_FRAC = 0.01
#: a holding press's pressure may differ from its setpoint by this much (MPa) …
PRESSURE_TOLERANCE_MPA = 0.5
#: … or this fraction of the setpoint, whichever is larger
PRESSURE_TOLERANCE_FRAC = 0.05
#: statuses of a run that may be resumed
RESUMABLE = ("interrupted",)


def plan_resume(store: Store, run_id: int, protocol: Protocol) -> RunPlan:
    """The plan that takes run ``run_id`` up where it was; :class:`ConfigError` (one line) if
    it cannot be resumed."""
    info = store.get_run(run_id)
    where = f"run {run_id}"
    if info.status not in RESUMABLE:
        raise ConfigError(
            f"{where} is {info.status}: only an interrupted run (its process gone) can be resumed"
        )
    if info.protocol_sha256 != protocol.sha256:
        raise ConfigError(
            f"{where} ran protocol {info.protocol_name!r} from {info.protocol_source}; "
            f"{protocol.source} differs from the text stored with the run"
        )
    t_start = None
    for ev in store.events(run_id):  # by kind only: the text is for people
        if ev.kind == "start" and t_start is None:
            t_start = ev.t_s or 0.0
        elif ev.kind in ("abort", "stopped", "finish"):
            raise ConfigError(f"{where} ended ({ev.kind}: {ev.message}); it cannot be resumed")
    if t_start is None:
        raise ConfigError(f"{where} has no start event: it never commanded the press")
    done = -1
    for s in store.steps(run_id):
        if s.index >= done and s.t_end_s is not None:
            done, t_start = s.index, s.t_end_s  # resumes at its end
    # the last recorded start of each repeat's iteration: the one the host loss cut
    iterations = {it.step_index: it for it in store.iterations(run_id)}
    index = done + 1
    setpoint = 0.0
    for step in protocol.steps[:index]:
        setpoint = behaviour(step).setpoint_after(step, setpoint)
    iteration, worst = 0, ()
    if index < len(protocol.steps) and behaviour(protocol.steps[index]).children(
        protocol.steps[index]
    ):
        step = protocol.steps[index]
        cut = iterations.get(index)
        if cut is None or cut.worst is None:
            raise ConfigError(
                f"{where} was cut inside repeat step {step.label or index}, which recorded no "
                "iterations (on_host_loss was not \"hold\"): it cannot be resumed"
            )
        iteration, worst = cut.iteration, cut.worst
        if iteration > 1:  # every iteration starts where the first one left the setpoint
            setpoint = behaviour(step).setpoint_after(step, setpoint)
    last_t, last_sp = t_start, setpoint
    rows: list[tuple[Any, ...]] = []
    for row in store.iter_samples(run_id):
        last_t, last_sp = row[0], row[1]
        if row[0] >= t_start and not iteration and index < len(protocol.steps) and (
            protocol.steps[index].expect
        ):
            rows.append(row)
    return RunPlan(
        run_id=run_id,
        started_utc=info.started_utc,
        step_index=index,
        t_step_start_s=t_start,
        start_setpoint_mpa=setpoint,
        last_t_s=last_t,
        last_setpoint_mpa=last_sp,
        token=store.lease_token(run_id),
        verdicts=tuple(store.verdicts(run_id)),
        cut_rows=tuple(rows),
        iteration=iteration,
        repeat_worst=worst,
    )


def _visited(steps: Iterable[Any], start_mpa: float) -> list[float]:
    """Every setpoint a pass of ``steps`` commands, from ``start_mpa`` (nested repeats once)."""
    out = [start_mpa]
    for step in steps:
        inner = behaviour(step).children(step)
        out.extend(_visited(inner, out[-1])[1:] if inner else [
            behaviour(step).setpoint_after(step, out[-1])
        ])
    return out


def check_press(press: Press, protocol: Protocol, point: RunPlan) -> None:
    """Refuse (:class:`ConfigError`, one line) unless the press is where the run left it.

    Reads only. Checked: no latched fault, die area and soft max as the protocol set them,
    the host-loss policy, and the active setpoint (and, holding, the pressure) against the
    last stored sample. The lease is checked when the runner reclaims it with the run's token.
    """
    where = f"{press.url}: cannot resume run {point.run_id}: the press does not match it"
    config = press.read_config()
    if config is None:
        raise ConfigError(
            f"{press.url}: cannot resume run {point.run_id}: this press cannot report its "
            "configuration (soft max, die area, host-loss policy)"
        )
    sample = press.read()
    if sample.status & Status.FAULT:
        raise ConfigError(
            f"{where}: it is in its safe state (fault {_fault_name(sample.fault_code)}, "
            f"{sample.pressure_mpa:.2f} MPa): it released the cell while the host was away"
        )
    _close(where, "die area", config.die_area_mm2, protocol.specimen.die_area_mm2, "mm²")
    _close(where, "soft max", config.soft_max_mpa, protocol.limits.max_pressure_mpa, "MPa")
    if config.on_host_loss != protocol.on_host_loss:
        raise ConfigError(
            f"{where}: on_host_loss is {config.on_host_loss!r} on the press, "
            f"{protocol.on_host_loss!r} in the protocol"
        )
    if point.step_index >= len(protocol.steps):
        return
    step = protocol.steps[point.step_index]
    sp = sample.setpoint_mpa
    tol = max(SETPOINT_TOLERANCE_MPA, SETPOINT_TOLERANCE_FRAC * abs(point.last_setpoint_mpa))
    if step.type in ("ramp", "release", "repeat"):
        # a cut ramp stops between its last sample and its target (in a repeat: any target)
        visited = _visited([step] if step.type != "repeat" else step.steps,
                           point.start_setpoint_mpa)
        lo = min(point.last_setpoint_mpa, *visited[1:])
        hi = max(point.last_setpoint_mpa, *visited[1:])
        ok = lo - tol <= sp <= hi + tol
        expected = f"{lo:g}..{hi:g} MPa"
    else:
        ok = abs(sp - point.last_setpoint_mpa) <= tol
        expected = f"{point.last_setpoint_mpa:g} ± {tol:g} MPa"
    if not ok:
        raise ConfigError(f"{where}: active setpoint {sp:g} MPa, expected {expected}")
    if step.type in ("hold", "step") and sp > 0:
        ptol = max(PRESSURE_TOLERANCE_MPA, PRESSURE_TOLERANCE_FRAC * sp)
        if abs(sample.pressure_mpa - sp) > ptol:
            raise ConfigError(
                f"{where}: pressure {sample.pressure_mpa:.3f} MPa, holding {sp:g} ± {ptol:g} MPa"
            )


def _fault_name(code: int) -> str:
    try:
        return FaultCode(code).name
    except ValueError:
        return str(code)


def _close(where: str, what: str, got: float, want: float, unit: str) -> None:
    if not (math.isfinite(got) and abs(got - want) <= 1e-5 * max(1.0, abs(want))):
        raise ConfigError(
            f"{where}: {what} {got:g} {unit} on the press, {want:g} {unit} in the run"
        )


@contextmanager
def claimed(store: Store | None, plan: RunPlan) -> Iterator[RunPlan]:
    """Take the stored run ``plan`` goes on under up in ``store`` for the block (the runner
    executing the plan): a second resumer of the same run is refused here, before it touches
    the press the first one is driving. When the block raises before the run has finished
    (the press refused its lease, say), the run is given back (``interrupted`` again) to be
    resumed later. A plan of a new run, or no store: nothing to claim."""
    if store is None or plan.run_id is None:
        yield plan
        return
    store.resume_run(plan.run_id)
    try:
        yield plan
    except BaseException:
        with contextlib.suppress(Exception):  # only while still running in this process
            store.give_back_run(plan.run_id)
        raise


__all__ = [
    "PRESSURE_TOLERANCE_FRAC",
    "PRESSURE_TOLERANCE_MPA",
    "SETPOINT_TOLERANCE_FRAC",
    "SETPOINT_TOLERANCE_MPA",
    "Gap",
    "RunPlan",
    "check_press",
    "claimed",
    "plan_resume",
]
