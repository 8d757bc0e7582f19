"""The results browser's ASGI app (``presshil ui``).

Endpoints (JSON unless noted):

- ``GET /`` the page; ``GET /static/…`` its script, styles and uPlot;
- ``GET /api/runs?protocol=&press=&firmware=&status=&since=&until=&meta=&station=`` runs,
  newest first;
- ``GET /api/running`` runs in progress on every station, with their live view's address;
- ``GET /api/runs/{id}`` one run: summary, verdicts, events, steps;
- ``GET /api/runs/{id}/trace?t0=&t1=&px=`` the trace decimated to ``px`` columns;
- ``GET /api/runs/{id}/export?format=csv|parquet`` the samples as a file download;
- ``GET /api/criteria?protocol=`` judged (protocol, step, criterion) triples;
- ``GET /api/trend?criterion=&step=&protocol=`` one criterion's value and limit per run.

Errors are ``{"error": "…"}`` with 400 (bad parameter), 404 (no such run) or 503 (store
unreadable); a run id is 0..2**63-1 in ASCII digits, and an echoed value is cut short.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import ConfigError
from ..store_read import _db_errors
from .guard import parse_id, shown
from .live_app import STATIC, CleanJSON
from .results import FILTERS, Results, RunFilter


class BadRequest(Exception):
    """A parameter the browser sent is not usable."""


def _float(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw in (None, "", "null"):
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BadRequest(f"parameter {name}={shown(raw)} is not a finite number")
    return value


def _run_id(request: Request) -> int:
    try:
        return parse_id(request.path_params["run_id"], "run id")
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def ui_app(results: Results) -> Starlette:
    """The results browser over an opened store."""

    def guarded(handler):
        def endpoint(request: Request) -> Response:
            try:
                return handler(request)
            except BadRequest as exc:
                return CleanJSON({"error": str(exc)}, status_code=400)
            except ConfigError as exc:
                unknown = "no run" in str(exc).lower() or "unknown run" in str(exc).lower()
                return CleanJSON({"error": str(exc)}, status_code=404 if unknown else 503)
            except _db_errors() as exc:  # locked past the timeout, damaged, a server gone
                return CleanJSON({"error": f"{results.path}: the results store cannot be read now: {exc}"},
                                 status_code=503)
        return endpoint

    def page(request: Request) -> Response:
        return FileResponse(STATIC / "ui.html", media_type="text/html")

    def runs(request: Request) -> Response:
        flt = RunFilter(**{k: request.query_params.get(k, "") for k in FILTERS})
        return CleanJSON({"store": str(results.path), "runs": results.runs(flt)})

    def run(request: Request) -> Response:
        return CleanJSON(results.run(_run_id(request)))

    def running(request: Request) -> Response:
        return CleanJSON({"store": str(results.path), "runs": results.running()})

    def trace(request: Request) -> Response:
        run_id = _run_id(request)
        info = results.store.get_run(run_id)
        px = _float(request, "px") or 1200
        data = results.reader.window(run_id, _float(request, "t0"), _float(request, "t1"), int(px),
                                     finished=info.status != "running")
        return CleanJSON(data.as_json())

    def export(request: Request) -> Response:
        run_id = _run_id(request)
        fmt = request.query_params.get("format", "csv")
        if fmt not in ("csv", "parquet"):
            raise BadRequest(f"export format {shown(fmt)} is not one of: csv, parquet")
        tmp = Path(tempfile.mkdtemp(prefix="presshil-export-"))
        try:
            path = results.store.export(run_id, tmp / f"run-{run_id}.{fmt}", fmt)
        except ImportError as exc:
            _cleanup(tmp)
            raise BadRequest(f"parquet export needs pyarrow (pip install 'presshil[parquet]'): {exc}") from exc
        except BaseException:
            _cleanup(tmp)
            raise
        media = "text/csv" if fmt == "csv" else "application/vnd.apache.parquet"
        return FileResponse(path, media_type=media, filename=path.name, background=BackgroundTask(_cleanup, tmp))

    def criteria(request: Request) -> Response:
        return CleanJSON({"criteria": results.criteria(request.query_params.get("protocol", ""))})

    def trend(request: Request) -> Response:
        criterion = request.query_params.get("criterion", "")
        if not criterion:
            raise BadRequest("parameter criterion is missing (e.g. ?criterion=max_overshoot_pct)")
        q = request.query_params
        return CleanJSON({"points": results.trend(criterion, q.get("step", ""), q.get("protocol", ""))})

    routes = [
        Route("/", page),
        Route("/api/runs", guarded(runs)),
        Route("/api/running", guarded(running)),
        Route("/api/runs/{run_id}", guarded(run)),
        Route("/api/runs/{run_id}/trace", guarded(trace)),
        Route("/api/runs/{run_id}/export", guarded(export)),
        Route("/api/criteria", guarded(criteria)),
        Route("/api/trend", guarded(trend)),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes)


def _cleanup(folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink(missing_ok=True)
    folder.rmdir()


__all__ = ["ui_app"]
