"""A sweep from start to report: check, record, fan out, resume, summarise.

The programmatic face of ``presshil sweep``::

    from presshil.sweep import SweepSpec, parse_vary, build_spec, start_sweep, summarise
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .book import Book
from .execute import Tally, dask_client, run_sweep
from .spec import SweepError, SweepSpec
from .stats import RunOutcome, analyse
from .variants import Variant, check_variants, make_variants


@dataclass(frozen=True)
class SweepOutcome:
    """How a sweep call ended: its id and tally."""

    sweep_id: int
    tally: Tally


def prepare(spec: SweepSpec) -> tuple[Any, list[Variant]]:
    """Load the protocol (or suite) and make and check every variant: all bad input fails here."""
    from ..protocol import load_protocol

    variants = make_variants(spec)
    check_variants(spec, variants)
    if not variants:
        raise SweepError("the sweep has no variants")
    if spec.kind == "suite":
        from ..acceptance.suite import load_suite

        return load_suite(spec.protocol), variants
    protocol = load_protocol(spec.protocol)
    from ..urls import open_press

    press = open_press(variants[0].url)
    try:
        protocol.check_press(press.identity.rated_max_pressure_mpa)
    finally:
        press.close()
    return protocol, variants


def start_sweep(
    spec: SweepSpec,
    store: Any,
    *,
    cluster: str | None = None,
    n_workers: int | None = None,
    keep_traces: str = "failed",
    on_created: Callable[[int, int], None] | None = None,
    on_progress: Callable[[Tally], None] | None = None,
    on_start: Callable[[], None] | None = None,
) -> SweepOutcome:
    """Check ``spec``, record the sweep in ``store``, run every variant; its outcome.

    The cluster is reached before the sweep is recorded, so an unreachable scheduler leaves
    nothing behind.
    """
    protocol, variants = prepare(spec)
    with dask_client(cluster, n_workers) as client, Book(store.location) as book:
        sweep_id = book.create(spec, protocol, variants)
        if on_created is not None:
            on_created(sweep_id, len(variants))
        return _drive(client, store, book, sweep_id, protocol, spec,
                      [(v.index, v.url) for v in variants], Tally(0, 0, len(variants)),
                      keep_traces, on_progress, on_start)


def resume_sweep(
    sweep_id: int,
    store: Any,
    *,
    cluster: str | None = None,
    n_workers: int | None = None,
    keep_traces: str = "failed",
    on_created: Callable[[int, int], None] | None = None,
    on_progress: Callable[[Tally], None] | None = None,
) -> SweepOutcome:
    """Run the variants of sweep ``sweep_id`` that have no recorded run yet."""
    from .worker import parse_target

    with Book(store.location) as book:
        info = book.get(sweep_id)
        rows = book.variants(sweep_id)
    protocol = parse_target(info.protocol_text, info.protocol_source or info.protocol_name,
                            info.spec.kind)
    expected = make_variants(info.spec)
    if [v.url for v in expected] != [r.url for r in rows]:
        raise SweepError(f"sweep {sweep_id}: its recorded variants differ from what its spec "
                         "gives with this presshil version; start a new sweep")
    todo = [(r.index, r.url) for r in rows if r.run_id is None]
    done = [r for r in rows if r.run_id is not None]
    already = Tally(len(done), sum(r.status == "passed" for r in done), len(rows))
    with dask_client(cluster, n_workers) as client, Book(store.location) as book:
        if on_created is not None:
            on_created(sweep_id, len(rows))
        if on_progress is not None:
            on_progress(already)
        return _drive(client, store, book, sweep_id, protocol, info.spec, todo, already,
                      keep_traces, on_progress, None)


def _drive(client: Any, store: Any, book: Book, sweep_id: int, protocol: Any, spec: SweepSpec,
           todo: list[tuple[int, str]], already: Tally, keep_traces: str,
           on_progress: Callable[[Tally], None] | None,
           on_start: Callable[[], None] | None) -> SweepOutcome:
    book.set_state(sweep_id, "running")
    try:
        tally = run_sweep(client, store, book, sweep_id, protocol, todo,
                          batch_size=spec.batch_size, keep_traces=keep_traces, kind=spec.kind,
                          already=already, on_progress=on_progress, on_start=on_start)
    except BaseException:
        book.set_state(sweep_id, "interrupted")
        raise
    book.set_state(sweep_id, "done")
    return SweepOutcome(sweep_id, tally)


def rerun_command(protocol: str, url: str, db: str | Path, kind: str = "protocol") -> str:
    """The one command that reruns a variant alone."""
    if kind == "suite":
        return f"presshil accept --suite {shlex.quote(protocol)} --press {shlex.quote(url)}"
    return f"presshil run {shlex.quote(protocol)} --press {shlex.quote(url)} --db {shlex.quote(str(db))}"


def outcomes(store: Any, sweep_id: int) -> tuple[Any, list[RunOutcome]]:
    """The sweep's record and the outcome of each variant that has a run, from the store."""
    with Book(store.location) as book:
        info = book.get(sweep_id)
        rows = book.variants(sweep_id)
    out = [RunOutcome(r.index, r.run_id, r.url, r.values, r.status or "",
                      store.verdicts(r.run_id)) for r in rows if r.run_id is not None]
    return info, out


def summarise(store: Any, sweep_id: int) -> tuple[dict[str, Any], list[RunOutcome]]:
    """The sweep's report document (what ``sweep.json`` holds) and its outcomes."""
    info, outs = outcomes(store, sweep_id)
    spec = info.spec
    keys = [v.key for v in spec.vary]
    summary = analyse(outs, keys)
    protocol = info.protocol_source or info.protocol_name
    failing = [{"index": o.index, "run_id": o.run_id, "status": o.status, "url": o.url,
                "values": o.values, "rerun": rerun_command(protocol, o.url, store.where, spec.kind)}
               for o in outs if o.status != "passed"]
    doc = {
        "sweep_id": sweep_id,
        "state": info.state,
        "protocol": info.protocol_name,
        "protocol_source": info.protocol_source,
        "kind": spec.kind,
        "press": spec.press_url,
        "db": store.where,
        "seed": spec.seed,
        "sampling": "grid" if spec.grid else spec.method,
        "n_variants": info.n_variants,
        "keys": keys,
        "vary": [{"key": v.key, "spec": v.dist.text()} for v in spec.vary],
        "runs": summary["runs"],
        "passed": summary["passed"],
        "pass_rate": summary["pass_rate"],
        "pass_rate_ci95": summary["pass_rate_ci95"],
        "summary": summary,
        "failing": failing,
        "variants": [{"index": o.index, "run_id": o.run_id, "status": o.status,
                      "values": o.values, "url": o.url} for o in outs],
    }
    return doc, outs


__all__ = [
    "SweepOutcome",
    "outcomes",
    "prepare",
    "rerun_command",
    "resume_sweep",
    "start_sweep",
    "summarise",
]
