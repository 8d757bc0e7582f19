"""What the results browser asks of a store: filtered run lists, one run's record, trends.

Runs, verdicts, events and exports go through :class:`presshil.store.Store`; traces and the
cross-run verdict query through a read-only connection (:class:`TraceReader`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..run_record import steps_of
from ..store import Store
from ..store_read import _db_errors
from ..store_url import check_location, is_url
from ..wording import criterion_label
from .decimate import TraceReader
from .run_view import labelled

FILTERS = ("protocol", "press", "firmware", "status", "since", "until", "meta", "station")


@dataclass(frozen=True)
class RunFilter:
    """Run-list filters; text filters match a substring, case-insensitively; dates are
    ISO 8601 prefixes compared with the run's start (UTC)."""

    protocol: str = ""
    press: str = ""
    firmware: str = ""
    status: str = ""
    since: str = ""
    until: str = ""
    #: a substring of the run's metadata written "KEY=VALUE KEY=VALUE" (``cell_id=C-17``)
    meta: str = ""
    #: a substring of the station's name (``--station``, else the host of the run)
    station: str = ""

    def admits(self, run: Any, meta: dict[str, str] | None = None) -> bool:
        """Does ``run`` (a :class:`presshil.store.RunInfo`, with its metadata) pass every filter?"""
        press = f"{run.press_url} {run.identity.get('model', '')} {run.identity.get('vendor', '')}"
        return (_has(run.protocol_name, self.protocol) and _has(press, self.press)
                and _has(meta_text(meta or {}), self.meta)
                and _has(getattr(run, "station", None) or "", self.station)
                and _has(run.firmware_version or "", self.firmware)
                and (not self.status or run.status == self.status)
                and (not self.since or run.started_utc >= self.since)
                and (not self.until or run.started_utc[: len(self.until)] <= self.until))


def meta_text(meta: dict[str, str]) -> str:
    """A run's metadata as one line, ``KEY=VALUE KEY=VALUE``."""
    return " ".join(f"{k}={v}" for k, v in meta.items())


def _has(text: str, part: str) -> bool:
    return part.strip().lower() in text.lower()


def overview_cache_path(store: Path) -> Path:
    """Where the browser keeps whole-run overviews of ``store`` (a file beside it)."""
    return store.with_name(store.name + ".overview")


def open_results(path: str | Path) -> Results:
    """The results store at ``path`` (a SQLite file or a PostgreSQL URL) for browsing;
    :class:`ConfigError` when there is none."""
    if is_url(check_location(path)):
        return Results(str(path))
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no results store at {path} (run a protocol first, or pass --db PATH)")
    return Results(path)


class Results:
    """A results store opened for the browser."""

    def __init__(self, path: Path | str) -> None:
        self.store = Store(path)
        #: where the store is, for the page and messages (a server's URL without password)
        self.path = self.store.where
        try:
            # a server's overviews are kept in memory only: there is no folder beside it
            cache = None if self.store.engine == "postgresql" else overview_cache_path(Path(path))
            self.reader = TraceReader(path, cache_path=cache)
        except BaseException:
            self.store.close()
            raise

    def close(self) -> None:
        """Close both connections."""
        self.reader.close()
        self.store.close()

    def runs(self, flt: RunFilter) -> list[dict[str, Any]]:
        """Runs passing ``flt``, newest first."""
        metas = self.store.metas()
        return [{**run_summary(r), "meta": metas.get(r.id, {})}
                for r in reversed(self.store.list_runs()) if flt.admits(r, metas.get(r.id))]

    def running(self) -> list[dict[str, Any]]:
        """Runs in progress on every station, newest first, each with the address of its
        station's live view (``live_view``, None when the run was started without ``--live``)."""
        from .cli_live import LIVE_META

        metas = self.store.metas()
        return [{**run_summary(r), "live_view": metas.get(r.id, {}).get(LIVE_META)}
                for r in reversed(self.store.list_runs()) if r.status == "running"]

    def run(self, run_id: int) -> dict[str, Any]:
        """One run: summary, verdicts, events and step records; ConfigError if unknown."""
        info = self.store.get_run(run_id)
        events = self.store.events(run_id)
        return labelled({
            **run_summary(info),
            "meta": self.store.meta(run_id),
            "identity": info.identity,
            "verdicts": [_verdict(v) for v in self.store.verdicts(run_id)],
            "events": [{"t_s": e.t_s, "kind": e.kind, "message": e.message} for e in events],
            "steps": steps_of(self.store.steps(run_id)),
        }, info.protocol_text)

    def trend(self, criterion: str, step: str = "", protocol: str = "") -> list[dict[str, Any]]:
        """Every stored value of ``criterion`` (optionally of one step and protocol), by run."""
        sql = ('SELECT r.id, r.started_utc, r.firmware_version, r.protocol_name, v.step, v.value, '
               'v."limit", v.unit, v.passed FROM verdicts v JOIN runs r ON r.id = v.run_id '
               "WHERE v.criterion = ?")
        args: list[Any] = [criterion]
        if step:
            sql += " AND v.step = ?"
            args.append(step)
        if protocol:
            sql += " AND r.protocol_name = ?"
            args.append(protocol)
        rows = self._query(sql + " ORDER BY r.id, v.id", tuple(args))
        return [{"run_id": r[0], "started_utc": r[1], "firmware": r[2], "protocol": r[3], "step": r[4],
                 "value": r[5], "limit": r[6], "unit": r[7], "passed": bool(r[8])} for r in rows]

    def criteria(self, protocol: str = "") -> list[dict[str, Any]]:
        """Distinct (protocol, step, criterion) judged in the store, for the trend picker;
        ``protocol`` matches a substring of the protocol name, as the run filter does."""
        sql = ("SELECT DISTINCT r.protocol_name, v.step, v.criterion, v.unit FROM verdicts v "
               "JOIN runs r ON r.id = v.run_id")
        args: tuple = ()
        if protocol:
            find = "strpos" if self.store.engine == "postgresql" else "instr"
            sql += f" WHERE {find}(lower(r.protocol_name), lower(?)) > 0"
            args = (protocol.strip(),)
        rows = self._query(sql + " ORDER BY 1, 2, 3", args)
        return [{"protocol": r[0], "step": r[1], "criterion": r[2], "unit": r[3],
                 "label": criterion_label(r[2])} for r in rows]

    def _query(self, sql: str, args: tuple) -> list[tuple]:
        try:
            return self.reader._q(sql, args)
        except _db_errors() as exc:
            raise ConfigError(f"{self.path}: cannot read verdicts: {exc}") from exc


def run_summary(r: Any) -> dict[str, Any]:
    """The list-row view of a :class:`presshil.store.RunInfo`."""
    return {"id": r.id, "protocol": r.protocol_name, "press_url": r.press_url,
            "press": r.identity.get("model", ""), "firmware": r.firmware_version,
            "status": r.status, "started_utc": r.started_utc, "finished_utc": r.finished_utc,
            "n_samples": r.n_samples, "station": getattr(r, "station", None)}


def _verdict(v: Any) -> dict[str, Any]:
    def num(x: Any) -> Any:
        return x if isinstance(x, (int, float)) and math.isfinite(x) else None

    return {"step": v.step, "criterion": v.criterion, "value": num(v.value), "limit": num(v.limit),
            "unit": v.unit, "passed": v.passed, "detail": v.detail, "t_s": v.t_s, "channel": v.channel}


__all__ = ["FILTERS", "Results", "RunFilter", "open_results", "run_summary", "steps_of"]
