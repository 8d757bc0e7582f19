"""``presshil join``: a stored run and a cycler file, joined on Unix time, written as BDF."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..bdf_file import bdf_kind, write_columns
from ..errors import ConfigError
from ..maps import bdf_columns as C
from ..run_record import step_starts
from .cycler_files import CyclerTable, read_cycler
from .join import check_overlap, default_max_gap, estimate_offset, interpolator


@dataclass(frozen=True)
class JoinSummary:
    """What a join wrote: rows, rows given a value from the other record, the time span, the
    widest interval interpolated across, and the offset applied to the cycler's clock."""

    path: Path
    rows: int
    rows_joined: int
    span_s: float
    max_interpolation_gap_s: float
    offset_s: float


def press_columns(trace: Any) -> dict[str, np.ndarray]:
    """A run's trace as BDF columns (SI), without the times."""
    cols = {C.APPLIED_PRESSURE: trace.pressure * 1e6, C.SETPOINT_PRESSURE: trace.setpoint * 1e6,
            C.APPLIED_FORCE: trace.force * 1e3, C.RAM_POSITION: trace.position * 1e-3}
    for i in range(trace.n_channels):
        cols[C.channel_force(i + 1)] = trace.channels[:, i].astype(np.float32).astype(float) * 1e3
    return cols


def load_cycler(store: Any, run_id: int, cycler: Path, mapping: str | None) -> CyclerTable:
    """The cycler file, a file with test times only placed at the run's start."""
    t0 = datetime.fromisoformat(store.get_run(run_id).started_utc).timestamp()
    return read_cycler(cycler, mapping, start_unix_s=t0)


def resolve_offset(store: Any, run_id: int, cyc: CyclerTable, offset: str | float) -> float:
    """``--offset``: seconds added to the cycler's clock, or ``cycling`` (estimated from the
    start of cycling both records saw, :func:`.join.estimate_offset`)."""
    if offset == "cycling":
        t0 = datetime.fromisoformat(store.get_run(run_id).started_utc).timestamp()
        cycles = step_starts(store.steps(run_id), store.iterations(run_id)).cycles_s
        start = float(t0 + cycles[0]) if cycles.size else None
        return estimate_offset(start, cyc.unix_s, cyc.columns.get(C.CURRENT), str(cyc.source))
    try:
        shift = float(offset)
    except ValueError:
        raise ConfigError(f"--offset takes SECONDS or 'cycling', not {offset!r}") from None
    if not np.isfinite(shift):
        raise ConfigError(f"--offset must be a finite number of seconds, not {offset!r}")
    return shift


def join_run(store: Any, run_id: int, cycler_path: Path, output: Path, *,
             offset: str | float = 0.0, onto: str = "cycler", mapping: str | None = None,
             max_gap_s: float | None = None) -> JoinSummary:
    """Join run ``run_id`` with ``cycler_path`` and write ``output`` (BDF CSV or Parquet)."""
    if onto not in ("cycler", "press"):
        raise ConfigError(f"--onto must be cycler or press, not {onto!r}")
    info = store.get_run(run_id)
    t0 = datetime.fromisoformat(info.started_utc).timestamp()
    cyc = load_cycler(store, run_id, cycler_path, mapping)
    trace = store.load_trace(run_id)
    press_unix = t0 + trace.t
    where = str(cycler_path)
    shift = resolve_offset(store, run_id, cyc, offset)
    cyc_unix = cyc.unix_s + shift
    check_overlap(cyc_unix, press_unix, where)
    if onto == "cycler":
        gap = max_gap_s if max_gap_s is not None else default_max_gap(press_unix)
        at = interpolator(press_unix, cyc_unix, gap)
        extra = press_columns(trace)
        # a column both files have (a cycler that logged a pressure) is the press's here
        own = {k: v for k, v in cyc.columns.items() if k not in extra}
        names = [C.UNIX_TIME, C.TEST_TIME, *own]
        cols = [cyc_unix, cyc.test_time_s, *own.values()]
        times, joined = cyc_unix, at
    else:
        gap = max_gap_s if max_gap_s is not None else default_max_gap(cyc_unix)
        at = interpolator(cyc_unix, press_unix, gap)
        steps, cycles_n = step_starts(store.steps(run_id), store.iterations(run_id)).counts(trace.t)
        names = [C.UNIX_TIME, C.TEST_TIME, C.STEP_COUNT, C.CYCLE_COUNT, *press_columns(trace)]
        cols = [press_unix, trace.t, steps, cycles_n, *press_columns(trace).values()]
        extra = {k: v for k, v in cyc.columns.items() if k not in (C.STEP_COUNT, C.CYCLE_COUNT)}
        times, joined = press_unix, at
    for name, values in extra.items():
        names.append(name)
        cols.append(at(values))
    tmp = output.with_name(f".{output.name}.{os.getpid()}.partial")
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_columns(tmp, names, iter([cols]), bdf_kind(output))
        os.replace(tmp, output)
    except OSError as exc:
        raise ConfigError(f"{output}: cannot write the join: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return JoinSummary(output, int(times.size), int(joined.ok.sum()),
                       float(times[-1] - times[0]) if times.size else 0.0,
                       joined.max_span_s, shift)


__all__ = ["JoinSummary", "join_run", "load_cycler", "press_columns", "resolve_offset"]
