"""A run that outlives its server: the local spool.

A run on the lab's PostgreSQL server whose connection is lost does not stop: its
:class:`SpoolingSink` takes the run on into a local SQLite file, the *spool*
(``results/presshil-spool-RUN_UUID.sqlite`` under the folder the command runs in), under the
same run UUID, and records a ``spool`` event saying so. The samples the server may not have
committed when it went away are kept in memory until it has (:class:`ServerStore` counts
what each flush committed), so they go into the spool too: nothing is lost.

Every ``RETRY_S`` a background thread tries the server again. Once it answers, the run goes on
there and a second thread merges the spooled part into it (:func:`presshil.store_merge.merge_run`:
what the server lacks, by sample number; idempotent), with a ``spool`` event that says how
many samples came back. A run that ends while the server is still away ends in the spool;
``presshil push --db SPOOL --to URL`` completes it on the server later (:attr:`note` says so).
The runner knows none of this: it asks the store for its sink (:meth:`ServerStore.run_sink`).
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from pathlib import Path
from typing import Any

from .sinks import RunStart, SampleRow, StoreSink
from .store import Store, StoreWriteError
from .store_pg import db_errors, open_pg
from .store_url import store_folder

#: seconds between two attempts to reach the server again
RETRY_S = 2.0
#: the most the end of a run waits for the spooled part to reach the server
MERGE_WAIT_S = 120.0


def spool_path(location: str, run_uuid: str) -> Path:
    """Where a run's spool goes: beside the default SQLite store of the working folder."""
    return store_folder(location) / f"presshil-spool-{run_uuid}.sqlite"


class ServerStore(Store):
    """The PostgreSQL store of ``presshil run``: a :class:`Store` that also counts, for each
    run, the samples its flushes have committed (:attr:`committed`, a lower bound), and whose
    runs go on into a spool when the server goes away (:meth:`run_sink`)."""

    def __init__(self, *args: Any, retry_s: float = RETRY_S, **kwargs: Any) -> None:
        self.committed: dict[int, int] = {}
        self.retry_s = retry_s
        #: the line that tells the operator what to push, when a run ended in its spool
        self.note: str | None = None
        super().__init__(*args, **kwargs)

    def _flush_locked(self) -> None:
        with self._buf_lock:  # rows buffered now are in this flush (later ones may be too)
            upto: dict[int, int] = {}  # each run's last buffered sample (rows are in order)
            runs = len(self._pending)
            for row in reversed(self._buffer):
                if len(upto) == runs:
                    break
                upto.setdefault(row[0], row[1])
        super()._flush_locked()
        for run, seq in upto.items():
            self.committed[run] = max(self.committed.get(run, 0), seq + 1)

    def _write_error(self, exc: BaseException) -> StoreWriteError:
        error = super()._write_error(exc)
        error.cause = str(exc)  # type: ignore[attr-defined]  # what the spool event says
        return error

    def run_sink(self, *, resumed: bool = False) -> SpoolingSink:
        """The sink a run on this store writes through."""
        return SpoolingSink(self, resumed=resumed)

    def reconnect(self, db: Any, run_id: int, next_seq: int) -> None:
        """Write through the new connection ``db`` from now on; run ``run_id`` numbers its next
        sample ``next_seq`` (what the old connection still buffered is in the spool)."""
        with self._db_lock:
            old, self._db = self._db, db
            with contextlib.suppress(Exception):
                old.close()
            with self._buf_lock:
                self._buffer, self._pending, self._events, self._temps = [], {}, [], []
                self._error = None
                self._write_failed.pop(run_id, None)
                self._seq[run_id] = next_seq
                self.committed[run_id] = next_seq

    def close(self) -> None:
        try:
            super().close()
        except StoreWriteError:  # a connection the run already left for its spool
            with contextlib.suppress(Exception):
                self._db.close()
            self._db = None  # type: ignore[assignment]


def _lost() -> tuple[type[BaseException], ...]:
    return (StoreWriteError, *db_errors())


class SpoolingSink(StoreSink):
    """A :class:`StoreSink` on a :class:`ServerStore` that goes on into a local spool when
    the server goes away, and back to the server when it returns."""

    def __init__(self, store: ServerStore, *, resumed: bool = False) -> None:
        super().__init__(store, resumed=resumed)
        self.server: ServerStore = store
        self.spool: Store | None = None
        self.spool_run = -1  # the run's id in the spool
        self._start: RunStart | None = None
        self._uuid = ""
        self._run = -1  # the run's id on the server
        self._last_t: float | None = None  # the run time of the last sample
        self._next = 0
        self._tail: deque[tuple[int, SampleRow]] = deque()  # not yet committed on the server
        self._temps: deque[tuple[int, float, float]] = deque()
        self._events: list[tuple[float | None, str, str]] = []
        self._spooled_events = 0
        #: the run record's calls (step, iteration, gap), kept like the events: those since
        #: the server was last known to have them go into the spool when it goes away
        self._records: list[tuple[str, Any]] = []
        self._spooled_records = 0
        self._verdicts: list[Any] = []  # verdicts the server refused
        self._on_server = True
        self._stop = threading.Event()
        self._ready: Any = None  # a new connection, from the reconnecting thread
        self._retrier: threading.Thread | None = None
        self._merges: list[threading.Thread] = []
        self.merge_errors: list[str] = []

    # -- the RunSink calls --------------------------------------------------------------------

    def start(self, run: RunStart) -> None:
        super().start(run)
        assert self.run_id is not None
        self._start = run
        self._run = self.run_id
        with self.server._db_lock:
            self._uuid = str(self.server._run_uuid(self.run_id))
            self._next = self.server._seq.get(self.run_id) or self.server._next_seq(self.run_id)
        self.server.committed[self.run_id] = self._next

    def sample(self, row: SampleRow) -> None:
        if self._ready is not None:
            self._back()
        seq, self._next = self._next, self._next + 1
        if not self._on_server:
            assert self.spool is not None
            self._last_t = row[0]
            self.spool.add_sample(self.spool_run, row)
            return
        self._last_t = row[0]
        self._tail.append((seq, row))
        done = self.server.committed.get(self._run, 0)
        while self._tail and self._tail[0][0] < done:
            self._tail.popleft()
        while self._temps and self._temps[0][0] < done:
            self._temps.popleft()
        try:
            self.server.add_sample(self._run, row)
        except _lost() as exc:
            self._divert(exc)

    def temperature(self, t_s: float, temperature_c: float) -> None:
        if self._on_server:
            self._temps.append((self._next - 1, t_s, temperature_c))
            super().temperature(t_s, temperature_c)
        elif self.spool is not None:
            self.spool.add_temperature(self.spool_run, t_s, temperature_c)

    def event(self, t_s: float | None, kind: str, message: str) -> None:
        self._events.append((t_s, kind, message))
        if self._on_server:
            super().event(t_s, kind, message)
        elif self.spool is not None:
            self.spool.add_event(self.spool_run, t_s, kind, message)
            self._spooled_events = len(self._events)

    def step(self, boundary: Any) -> None:
        self._record("step", boundary)

    def iteration(self, record: Any) -> None:
        self._record("iteration", record)

    def gap(self, record: Any) -> None:
        self._record("gap", record)

    def _record(self, kind: str, record: Any) -> None:
        """A run-record call: to the server (via the StoreSink), or into the spool."""
        self._records.append((kind, record))
        if self._on_server:
            getattr(super(), kind)(record)
        elif self.spool is not None:
            self._spool_record(kind, record)
            self._spooled_records = len(self._records)

    def _spool_record(self, kind: str, record: Any) -> None:
        assert self.spool is not None
        if kind == "step":
            if record.t_end_s is not None:
                self.spool.add_step(self.spool_run, record)
        elif kind == "iteration":
            self.spool.add_iteration(self.spool_run, record)
        else:
            self.spool.add_gap(self.spool_run, record)

    def verdict(self, verdict: Any) -> None:
        if self._on_server:
            try:
                super().verdict(verdict)
                return
            except _lost() as exc:
                self._verdicts.append(verdict)
                self._divert(exc)
                return
        assert self.spool is not None
        self.spool.add_verdicts(self.spool_run, [verdict])

    def finish(self, status: Any) -> None:
        if self._ready is not None:
            self._back()
        if self._on_server:
            self._wait_merges()
            try:
                super().finish(status)
            except _lost() as exc:
                self._divert(exc)
        if self._on_server:
            if self.spool is not None:  # its copy ends as the run did
                with contextlib.suppress(Exception):
                    self.spool.finish_run(self.spool_run, str(status))
                    self.spool.close()
            self._stop.set()
            return
        self._stop.set()
        assert self.spool is not None
        self.spool.finish_run(self.spool_run, str(status))
        self.spool.close()
        self.server.note = (f"the results server was away when the run ended: it is in the spool "
                            f"{self.spool.where}; send it with `presshil push --db "
                            f"{self.spool.where} --to {self.server.where}`")

    # -- going away and coming back -----------------------------------------------------------

    def _divert(self, exc: BaseException) -> None:
        """Take the run on into the spool: the rows the server may lack, then the rest."""
        self._on_server = False  # what the server's buffer still holds is in the tail
        run = self._start
        assert run is not None and self.run_id is not None
        if self.spool is None:
            try:
                self.spool = Store(spool_path(self.server.location, self._uuid),
                                   station=self.server.station, operator=self.server.operator)
            except Exception as spool_exc:  # noqa: BLE001 - said with the server's trouble
                raise StoreWriteError(f"{exc}; and the local spool could not be opened: "
                                      f"{spool_exc}") from None
            ident = _identity(run.identity)
            with self.spool._db_lock:
                self.spool._db.execute("BEGIN IMMEDIATE")
                self.spool_run = self.spool._insert_run(run.protocol, run.press_url, ident,
                                                        run.seed, run.meta, self._uuid)
                self.spool._audit_run(self.spool_run, self._uuid, run.protocol, run.press_url,
                                      ident, run.seed)
                self.spool._db.execute("COMMIT")
        first = self._tail[0][0] if self._tail else self._next
        self.spool._seq[self.spool_run] = first
        for _seq, row in self._tail:
            self.spool.add_sample(self.spool_run, row)
        for _seq, at_s, c in self._temps:
            self.spool.add_temperature(self.spool_run, at_s, c)
        self._tail.clear()
        self._temps.clear()
        for t_s, kind, message in self._events[self._spooled_events:]:
            self.spool.add_event(self.spool_run, t_s, kind, message)
        for kind, record in self._records[self._spooled_records:]:
            self._spool_record(kind, record)
        self._spooled_records = len(self._records)
        if self._verdicts:
            self.spool.add_verdicts(self.spool_run, self._verdicts)
            self._verdicts = []
        why = str(getattr(exc, "cause", None) or exc).strip() or type(exc).__name__
        why = why.splitlines()[0]
        self.event(self._last_t, "spool", f"the results server {self.server.where} went away ({why}); "
                   f"the run goes on into the local spool {self.spool.where} (from sample "
                   f"{first}), trying the server again every {self.server.retry_s:g} s")
        self.spool.flush()
        self._stop.clear()
        self._retrier = threading.Thread(target=self._retry, name="presshil-spool-retry",
                                         daemon=True)
        self._retrier.start()

    def _retry(self) -> None:
        while not self._stop.wait(self.server.retry_s):
            try:
                db = open_pg(self.server.location)
            except Exception:  # noqa: BLE001,S112 - still away: try again later
                continue
            if self._stop.is_set():  # the run ended meanwhile: push does the rest
                db.close()
            else:
                self._ready = db
            return

    def _back(self) -> None:
        """The server answers again: the run goes on there, the spooled part follows."""
        db, self._ready = self._ready, None
        if self._on_server or self.spool is None:
            with contextlib.suppress(Exception):
                db.close()
            return
        self.spool.flush()
        self.server.reconnect(db, self._run, self._next)
        self._on_server = True
        self._spooled_events = len(self._events)
        self._spooled_records = len(self._records)
        at_s = self._last_t
        merge = threading.Thread(target=self._merge, args=(at_s,), name="presshil-spool-merge",
                                 daemon=True)
        self._merges.append(merge)
        merge.start()

    def _merge(self, at_s: float | None) -> None:
        from .store_merge import merge_run

        assert self.spool is not None
        try:
            with Store(self.server.location, station=self.server.station,
                       operator=self.server.operator) as target:
                n = merge_run(self.spool, target, self._uuid, finish=False)
                target.add_event(self._run, at_s, "spool",
                                 f"the results server is back: {n} spooled samples pushed from "
                                 f"{self.spool.where}; the run goes on on the server")
        except Exception as exc:  # noqa: BLE001 - the spool keeps them: push later
            self.merge_errors.append(f"{type(exc).__name__}: {exc}")

    def _wait_merges(self) -> None:
        for merge in self._merges:
            merge.join(MERGE_WAIT_S)
        if self.merge_errors and self.spool is not None:
            self.server.note = (f"the spooled part of the run could not be pushed "
                                f"({self.merge_errors[0]}); send it with `presshil push --db "
                                f"{self.spool.where} --to {self.server.where}`")


def _identity(identity: Any) -> dict[str, Any]:
    import dataclasses

    if dataclasses.is_dataclass(identity) and not isinstance(identity, type):
        return dataclasses.asdict(identity)
    return dict(identity)


__all__ = ["RETRY_S", "ServerStore", "SpoolingSink", "spool_path"]
