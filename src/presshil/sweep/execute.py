"""Fan a sweep out on Dask distributed and record each run as it comes back.

With no scheduler address, a ``LocalCluster`` of worker processes (one per core, one thread
each: the simulator holds the GIL). With one, an existing scheduler. Tasks are batches of
variants; a worker that dies loses only its batch in flight, which the scheduler gives to
another worker. Results are written to the store (an ordinary run per variant) and to the
sweep tables the moment each batch finishes, so a client killed mid-sweep leaves a sweep that
``--resume`` completes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .book import Book
from .spec import SweepError
from .worker import VariantResult, run_batch, warm_up

#: which traces go to the store: every run's, failed and aborted runs' only, or none
KEEP_TRACES = ("all", "failed", "none")
CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Tally:
    """Progress of a sweep: runs recorded and how many passed."""

    done: int
    passed: int
    total: int

    @property
    def pass_rate(self) -> float:
        """Fraction passed so far (nan before the first run)."""
        return self.passed / self.done if self.done else math.nan


@contextlib.contextmanager
def dask_client(cluster: str | None, n_workers: int | None = None) -> Iterator[Any]:
    """A Dask client on the scheduler ``cluster`` (tcp://HOST:PORT), or on a local cluster.

    An unreachable scheduler is a :class:`SweepError` raised before any run starts.
    """
    from distributed import Client, LocalCluster

    if cluster:
        if not cluster.startswith(("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")):
            raise SweepError(f"--cluster {cluster!r}: give the scheduler address as tcp://HOST:PORT")
        try:
            client = Client(cluster, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise SweepError(f"--cluster {cluster}: cannot reach the Dask scheduler "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") from None
        try:
            yield client
        finally:
            client.close()
        return
    workers = n_workers or os.cpu_count() or 1
    local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         dashboard_address=":0", silence_logs=logging.CRITICAL)
    try:
        client = Client(local)
        try:
            yield client
        finally:
            client.close()
    finally:
        local.close()


def worker_count(client: Any, wait_s: float = CONNECT_TIMEOUT_S) -> int:
    """Workers the scheduler has (waits up to ``wait_s`` for the first one)."""
    deadline = time.monotonic() + wait_s
    while True:
        n = len(client.scheduler_info(n_workers=-1).get("workers", {}))
        if n or time.monotonic() > deadline:
            return n
        time.sleep(0.1)


def batch_size_for(n: int, workers: int, requested: int | None) -> int:
    """Variants per task: about four tasks per worker, at most 8 variants each."""
    if requested:
        return requested
    return max(1, min(8, math.ceil(n / max(1, workers * 4))))


def record_result(store: Any, book: Book, sweep_id: int, protocol: Any, r: VariantResult,
                  seed: int | None) -> int:
    """Write one variant's run to the store (an ordinary run) and link it in the sweep book."""
    run_id = store.start_run(protocol=protocol, press_url=r.url, identity=r.identity, seed=seed)
    a = r.arrays
    if a and len(a["t"]):
        cols = [a[k].tolist() for k in ("t", "setpoint", "pressure", "force", "position")]
        status = a["status"].astype(int).tolist()
        channels = a["channels"].tolist()
        for i, row in enumerate(zip(*cols, status, strict=True)):
            store.add_sample(run_id, (*row, channels[i]))
    for t_s, what, message in r.events:
        store.add_event(run_id, t_s, what, message)
    store.add_verdicts(run_id, r.verdicts)
    store.finish_run(run_id, r.status)
    book.record(sweep_id, r.index, run_id, r.status, r.wall_s, r.sim_s, r.cpu_s)
    return run_id


def _seed_of(url: str) -> int | None:
    from ..urls import parse_press_url

    value = parse_press_url(url).query.get("seed")
    return int(value) if value is not None and value.isdigit() else None


def run_sweep(
    client: Any,
    store: Any,
    book: Book,
    sweep_id: int,
    protocol: Any,
    todo: Sequence[tuple[int, str]],
    *,
    batch_size: int | None = None,
    keep_traces: str = "failed",
    kind: str = "protocol",
    already: Tally | None = None,
    on_progress: Callable[[Tally], None] | None = None,
    on_start: Callable[[], None] | None = None,
) -> Tally:
    """Run the variants ``todo`` (index, url) on ``client``'s cluster; record each as it ends.

    ``protocol`` is a protocol, or an acceptance suite when ``kind`` is ``"suite"``.

    Returns the tally over the whole sweep (``already`` counts variants done before).
    ``on_start`` is called once every worker has its simulator kernel loaded, just before the
    first batch is submitted.
    """
    if keep_traces not in KEEP_TRACES:
        raise SweepError(f"--keep-traces must be one of {', '.join(KEEP_TRACES)}, got {keep_traces!r}")
    from distributed import as_completed

    tally = already or Tally(0, 0, len(todo))
    if not todo:
        return tally
    workers = worker_count(client)
    if workers == 0:
        raise SweepError("the Dask scheduler has no workers")
    # each worker loads (or compiles once into numba's cache) the kernel before the first batch
    client.run(warm_up)
    if on_start is not None:
        on_start()
    size = batch_size_for(len(todo), workers, batch_size)
    batches = [list(todo[i:i + size]) for i in range(0, len(todo), size)]
    # keys unique to this call: a shared scheduler may hold another store's sweep of the same id
    tag = uuid.uuid4().hex[:8]
    futures = [
        client.submit(_run_batch_kept, protocol.text, protocol.source, batch, keep_traces, kind,
                      key=f"presshil-sweep-{sweep_id}-{tag}-{batch[0][0]}", pure=False)
        for batch in batches
    ]
    done, passed = tally.done, tally.passed
    try:
        for future in as_completed(futures):
            results = future.result()
            for r in results:
                record_result(store, book, sweep_id, protocol, r, _seed_of(r.url))
                done += 1
                passed += r.status == "passed"
            future.release()
            if on_progress is not None:
                on_progress(Tally(done, passed, tally.total))
    except BaseException:
        client.cancel(futures)
        raise
    return Tally(done, passed, tally.total)


def _run_batch_kept(text: str, source: str, batch: list[tuple[int, str]],
                    keep_traces: str, kind: str = "protocol") -> list[VariantResult]:
    """:func:`run_batch`, dropping the traces the store will not keep (less to ship back)."""
    import dataclasses

    out = run_batch(text, source, batch, kind)
    if keep_traces == "all":
        return out
    return [r if keep_traces == "failed" and r.status != "passed"
            else dataclasses.replace(r, arrays={}) for r in out]


__all__ = [
    "KEEP_TRACES",
    "Tally",
    "batch_size_for",
    "dask_client",
    "record_result",
    "run_sweep",
    "worker_count",
]
