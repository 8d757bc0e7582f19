"""The runner: one protocol, one press, the same code on virtual and on wall-clock time.

``run(protocol, press)`` configures the press, checks the protocol against the press's rating
for that die, then walks the steps: each step's behaviour (:mod:`presshil.steps`) commands the
press and samples it through a :class:`~presshil.sampler.Sampler`, which schedules and
supervises every read. Samples, events, step boundaries and verdicts go to sinks
(:mod:`presshil.sinks`) as they happen; the runner never touches SQLite. Whatever goes wrong,
the press ends in a safe state and what was measured is kept (:mod:`presshil.run_abort`).

``run`` executes a :class:`~presshil.run_plan.RunPlan` (a new run unless told otherwise): the
run in progress, the steps' context, is a :class:`~presshil.execution.Execution` that starts
where the plan says. Resuming a stored run is a plan made by :mod:`presshil.resume`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import CapabilityError, ConfigError, PressURLError, ProtocolError
from .execution import Execution, PromptsToRun
from .metrics import Verdict
from .press import CellCycler, OperatorGuided, Press
from .protocol import Protocol
from .results import Progress, RunResult, RunTiming, StepRecord
from .run_abort import abort, disarm_if_released, why_stopped
from .run_plan import RunPlan
from .sampler import JitterStats, rated_pressure_mpa
from .setpoint_model import SETPOINT_MODELLED
from .sinks import Event, FanOut, MemorySink, RunSink, RunStart, sink_for
from .status import RunStatus
from .steps import behaviour
from .urls import parse_press_url

if TYPE_CHECKING:
    from .store import Store

#: status of a run, as stored in the results store (kept for callers that compare strings)
PASSED, FAILED, ABORTED, ERROR, INTERRUPTED = (
    RunStatus.PASSED,
    RunStatus.FAILED,
    RunStatus.ABORTED,
    RunStatus.ERROR,
    RunStatus.INTERRUPTED,
)
EXIT_CODES = {s.value: s.exit_code for s in RunStatus if s is not RunStatus.RUNNING}


def run(
    protocol: Protocol,
    press: Press,
    *,
    store: Store | None = None,
    sinks: Iterable[RunSink] = (),
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    seed: int | None = None,
    timing: RunTiming | None = None,
    keep_trace: bool | None = None,
    operator: Any = None,
    plan: RunPlan | None = None,
    meta: Mapping[str, str] | None = None,
) -> RunResult:
    """Run ``protocol`` on ``press`` as ``plan`` says (a new run by default) and judge it.

    The press's own clock paces the run: virtual time on ``sim://``, wall-clock time over a
    wire. Order: the protocol's die area is configured first, then the protocol is checked
    against the rating the press has for that die, then the soft limit and watchdog are set.

    With a ``store``, samples are written as the run goes and the trace is read back from it
    on demand (memory stays flat however long the run); without one, the trace is kept in
    memory as numpy columns. ``sinks`` receive the run as it happens (after the store). Setting
    ``cancel`` stops the run at the next sample: the press goes to its safe state, an event of
    kind ``stopped`` records why (``cancel.reason`` if the event object has one) and the
    status is ``aborted`` (exit code 3). ``seed`` is recorded only; when not given, the seed
    of a ``sim://…?seed=N`` URL is recorded. ``operator`` replaces the prompts of an
    operator-guided (monitor-only) press, e.g. a keyboard or a live view; its instructions are
    recorded as ``prompt`` events either way. Expect keys the press has no data for (its
    ``capabilities``) are recorded as ``not-judged`` events, never judged as passed.

    The run claims the press's control lease first (refused with ``LeaseHeld`` when another
    master controls the press) and checks between steps that the press is still its own.
    ``plan`` (:class:`~presshil.run_plan.RunPlan`) says where the run starts and what it
    carries; one that goes on under a stored run id needs that run claimed in ``store``
    (:func:`presshil.resume.claimed`, around the run). ``meta``
    (KEY=VALUE, see :mod:`presshil.run_meta`) is stored with the run.
    """
    plan = plan or RunPlan()
    timing = timing or RunTiming()
    if seed is None:
        seed = seed_from_url(press.url)
    _check_capabilities(protocol, press)  # before anything is claimed or commanded
    token = press.claim_control(plan.token)
    with _given_back_on_failure(press):  # never commanded
        ex, memory, store_sink = _start(
            protocol, press, plan, store=store, sinks=sinks, progress=progress, cancel=cancel,
            timing=timing, keep_trace=keep_trace, seed=seed, token=token, meta=meta,
        )
    status = RunStatus.ERROR
    try:
        status = _execute(ex, token, timing, operator)
    except BaseException as exc:
        status, message, kind = why_stopped(ex, exc)
        abort(ex, message, kind)  # safe state first, then the record
        if status is RunStatus.ERROR:
            raise
    finally:
        _finish(ex, status)
    return _result(ex, status, seed, store, store_sink, memory)


@contextlib.contextmanager
def _given_back_on_failure(press: Press) -> Iterator[None]:
    """The press's control lease released when the block fails (the link may be gone)."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            press.release_control()
        raise


def _start(
    protocol: Protocol,
    press: Press,
    plan: RunPlan,
    *,
    store: Store | None,
    sinks: Iterable[RunSink],
    progress: Callable[[Progress], None] | None,
    cancel: threading.Event | None,
    timing: RunTiming,
    keep_trace: bool | None,
    seed: int | None,
    token: int | None,
    meta: Mapping[str, str] | None,
) -> tuple[Execution, MemorySink | None, Any]:
    """Configure and check the press, then start the run in its sinks: the execution, the
    in-memory trace (None: the store keeps it) and the store's sink (None: no store)."""
    # configuration before checks: the rated pressure depends on the die area
    press.configure(die_area_mm2=protocol.specimen.die_area_mm2)
    identity = press.identity
    protocol.check_press(rated_pressure_mpa(identity, protocol.specimen.die_area_mm2))
    _set_on_host_loss(press, protocol)
    # a plan that goes on under a stored run id: the caller claimed that run in the store
    store_sink = sink_for(store, resumed=plan.run_id is not None) if store is not None else None
    if keep_trace is None:
        keep_trace = store is None
    memory = MemorySink() if keep_trace else None
    sinks = list(sinks)
    if isinstance(press, CellCycler):  # a simulated cell breathes with the cycling steps
        sinks.append(press.cycler_sink())
    fan = FanOut(
        [s for s in (memory,) if s is not None] + list(sinks),
        essential=[store_sink] if store_sink is not None else [],
    )
    ex = Execution(protocol, press, fan, progress, timing, cancel, plan)
    fan.start(
        RunStart(plan.run_id, protocol, press.url, identity, seed, ex.expected_total_s,
                 lease_token=token, meta=dict(meta or {}))
    )
    if store_sink is not None and store_sink.run_id is None:
        raise RuntimeError("the results store did not start the run")
    return ex, memory, store_sink


def _execute(ex: Execution, token: int | None, timing: RunTiming, operator: Any) -> RunStatus:
    """The run from its first recorded event to its last: passed or failed (an early stop
    raises)."""
    protocol, press = ex.protocol, ex.press
    watchdog_ms = timing.watchdog_ms
    if watchdog_ms is None:
        watchdog_ms = 1000 if ex.wall_clock else 0
    ex.record_gap()  # a plan that goes on after a stretch without samples
    if token is not None:
        ex.event("lease", "control lease claimed")  # its token is the store's alone
    press.configure(soft_max_mpa=protocol.limits.max_pressure_mpa, watchdog_ms=watchdog_ms)
    if ex.plan.run_id is None:  # a new run starts; a stored one goes on
        ex.event("start", f"{protocol.name} on {press.url or ex.identity.model}")
    if press.setpoint_modelled:
        ex.event("setpoint-model", SETPOINT_MODELLED)
    for line in press.capabilities.not_judged():
        ex.event("not-judged", f"not judged on this press: {line}")
    if isinstance(press, OperatorGuided):
        if operator is not None:
            press.operator = operator
        if press.operator is not None:  # instructions to a person reach every sink (live view)
            press.operator = PromptsToRun(press.operator, ex)
    ex.run_steps(protocol.steps, "", None, "", ex.verdicts)
    status = RunStatus.PASSED if all(v.passed for v in ex.verdicts) else RunStatus.FAILED
    ex.event("finish", status.value)
    disarm_if_released(ex, watchdog_ms)
    return status


def _finish(ex: Execution, status: RunStatus) -> None:
    """Whatever happened: the operator's prompts and the press given back, the run finished
    in its sinks (a sink that broke is an event)."""
    press = ex.press
    if isinstance(press, OperatorGuided) and isinstance(press.operator, PromptsToRun):
        press.operator = press.operator.inner
    with contextlib.suppress(Exception):  # the link may be gone
        press.release_control()
    ex.sink.finish(status)
    for broken in ex.sink.failures:
        ex.events.append(Event(None, "sink-error", broken.error))


def _result(ex: Execution, status: RunStatus, seed: int | None, store: Store | None,
            store_sink: Any, memory: MemorySink | None) -> RunResult:
    return RunResult(
        protocol=ex.protocol,
        press_url=ex.press.url,
        identity=ex.identity,
        status=status,
        verdicts=ex.verdicts,
        events=ex.events,
        steps=ex.steps,
        gaps=ex.gaps,
        jitter=ex.sampler.jitter_stats(),
        run_id=store_sink.run_id if store_sink is not None else None,
        seed=seed,
        _trace=memory.trace() if memory is not None else None,
        _store=store,
    )


def _check_capabilities(protocol: Protocol, press: Press) -> None:
    """Refuse, before anything is commanded, a protocol that needs what the press cannot do."""
    caps = press.capabilities

    def walk(steps: Sequence[Any], path: str) -> None:
        for i, step in enumerate(steps):
            where = f"{path}{i}"
            if step.type == "hold_gap" and not caps.constant_gap:
                raise ConfigError(
                    f"{protocol.name}: step {where} (hold_gap) needs a press that can hold a "
                    f"constant gap; {press.url or 'this press'} cannot"
                )
            walk(behaviour(step).children(step), f"{where}.")

    walk(protocol.steps, "")


def seed_from_url(url: str) -> int | None:
    """The ``seed`` query parameter of a simulated press URL, if it has a whole-number one."""
    try:
        parsed = parse_press_url(url)
        return parsed.seed if parsed.is_simulated else None
    except PressURLError:  # a URL this process cannot read has no seed to give
        return None


def _set_on_host_loss(press: Press, protocol: Protocol) -> None:
    """The protocol's loss-of-host policy on the press; a press that cannot hold is bad input
    for a protocol that asks it to (nothing else is commanded)."""
    try:
        press.set_on_host_loss(protocol.on_host_loss)
    except CapabilityError as exc:
        raise ProtocolError(f"{protocol.source}: on_host_loss = 'hold': {exc}") from None

__all__ = [
    "EXIT_CODES",
    "Event",
    "JitterStats",
    "Progress",
    "RunPlan",
    "RunResult",
    "RunTiming",
    "StepRecord",
    "Verdict",
    "run",
    "seed_from_url",
]
