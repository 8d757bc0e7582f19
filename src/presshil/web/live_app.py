"""The live view's ASGI app: the page, a server-sent-event stream, STOP and prompt acks.

Endpoints (all JSON unless noted):

- ``GET /`` the page (HTML); ``GET /static/…`` the page's script, styles and uPlot;
- ``GET /api/state`` a snapshot of the run so far;
- ``GET /api/stream`` server-sent events, one JSON frame per ``data:`` line;
- ``POST /api/stop`` with the run's token: set the run's cancel event (403 without it);
- ``POST /api/prompts/{id}/ack`` with the token: acknowledge an operator prompt.

The token is taken from the ``X-Presshil-Token`` header, a ``token`` query parameter or a JSON
body ``{"token": …}``.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .live_sink import LiveSink

STATIC = Path(__file__).parent / "static"
#: how often a stream looks for new frames, and sends a keep-alive comment when idle
POLL_S = 0.1
KEEPALIVE_S = 10.0

#: the last frame of every stream when the server stops serving
CLOSED_FRAME = {"type": "closed"}

TOKEN_REFUSED = ("refused: this action needs the run's token; open the link printed in the "
                 "terminal where the run was started (it ends in ?token=…)")


def dumps(obj: Any) -> str:
    """JSON with NaN/inf as null (browsers reject bare NaN)."""
    return json.dumps(_clean(obj), separators=(",", ":"))


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


class CleanJSON(JSONResponse):
    """JSONResponse that writes NaN as null."""

    def render(self, content: Any) -> bytes:
        return dumps(content).encode()


async def request_token(request: Request) -> str | None:
    """The token a request carries (header, query or JSON body), or None."""
    token = request.headers.get("x-presshil-token") or request.query_params.get("token")
    if token:
        return token
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            return None
        if isinstance(body, dict) and isinstance(body.get("token"), str):
            return body["token"]
    return None


async def sse_frames(request: Request, sink: LiveSink) -> AsyncIterator[str]:
    """Frames for one viewer until its browser goes away; the viewer is always detached."""
    viewer = sink.attach()
    idle = 0.0
    try:
        yield "retry: 1000\n\n"
        while True:
            closing = sink.closed  # read before pulling: frames sent before the close are all here
            frames = viewer.pull()
            for frame in frames:
                if viewer.dropped:
                    frame = {**frame, "dropped": viewer.dropped}
                yield f"data: {dumps(frame)}\n\n"
            if closing:
                # the page stops reconnecting on this frame and keeps what it shows
                yield f"data: {dumps(CLOSED_FRAME)}\n\n"
                return
            if frames:
                idle = 0.0
            else:
                idle += POLL_S
                if idle >= KEEPALIVE_S:
                    idle = 0.0
                    yield ": keep-alive\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL_S)
    finally:
        sink.detach(viewer)


def live_routes(sink: LiveSink) -> list[Any]:
    """The live view's routes over ``sink`` (also mounted by ``presshil serve --live``)."""

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "live.html", media_type="text/html")

    async def state(request: Request) -> Response:
        return CleanJSON(sink.snapshot())

    async def stream(request: Request) -> Response:
        return StreamingResponse(sse_frames(request, sink), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def stop(request: Request) -> Response:
        token = await request_token(request)
        if not sink.check_token(token):
            return CleanJSON({"ok": False, "error": f"STOP {TOKEN_REFUSED}"}, status_code=403)
        if sink.info.get("state") == "finished":
            return CleanJSON({"ok": False, "error": f"the run has already ended ({sink.status}); "
                              "nothing to stop"}, status_code=409)
        sink.stop(token)
        return CleanJSON({"ok": True, "message": "STOP accepted: the run is ending in the safe state"})

    async def ack(request: Request) -> Response:
        raw = request.path_params["prompt_id"]
        if not raw.isdigit():
            return CleanJSON({"ok": False, "error": f"prompt id {raw!r} is not a number"}, status_code=400)
        outcome = sink.acknowledge(int(raw), await request_token(request))
        if outcome == "token":
            return CleanJSON({"ok": False, "error": f"acknowledge {TOKEN_REFUSED}"}, status_code=403)
        if outcome == "unknown":
            return CleanJSON({"ok": False, "error": f"no open prompt {raw}"}, status_code=404)
        return CleanJSON({"ok": True})

    return [
        Route("/", page),
        Route("/api/state", state),
        Route("/api/stream", stream),
        Route("/api/stop", stop, methods=["POST"]),
        Route("/api/prompts/{prompt_id}/ack", ack, methods=["POST"]),
    ]


def live_app(sink: LiveSink) -> Starlette:
    """The live view as an ASGI app."""
    return Starlette(routes=[*live_routes(sink), Mount("/static", StaticFiles(directory=STATIC), name="static")])


__all__ = ["CLOSED_FRAME", "TOKEN_REFUSED", "CleanJSON", "dumps", "live_app", "live_routes", "request_token"]
