"""``presshil report RUN_ID``: the same kind of signed HTML report for any stored run."""

from __future__ import annotations

import base64
import math
from typing import Any

from .. import __version__
from ..export_target import no_samples_reason
from ..run_record import steps_of
from ..store import Store
from ..web.run_view import event_texts, step_count
from . import plots
from .document import environment


def stored_run_dict(store: Store, run_id: int) -> dict[str, Any]:
    """Run info, verdicts, events and the plot of a stored run, ready for the template."""
    info = store.get_run(run_id)
    verdicts = store.verdicts(run_id)
    events = store.events(run_id)
    trace = store.load_trace(run_id)
    # a run with no samples (a passed sweep variant) gets the reason, not an empty plot
    png = plots.stored_run_png(trace, f"run {run_id}: {info.protocol_name} — {info.status}") if len(trace) else None
    ident = info.identity or {}
    steps = steps_of(store.steps(run_id))
    count = step_count(info.protocol_text or "", steps)
    shown = [{"t_s": e.t_s, "kind": e.kind, "message": e.message} for e in events]
    return {
        "document": f"RUN-{run_id}",
        "presshil_version": __version__,
        "run": {
            "id": info.id, "status": info.status, "protocol": info.protocol_name,
            "source": info.protocol_source, "sha256": info.protocol_sha256,
            "text": info.protocol_text, "press_url": info.press_url, "seed": info.seed,
            "started": info.started_utc, "finished": info.finished_utc,
            "hostname": info.hostname, "n_samples": len(trace),
            "duration_s": float(trace.t[-1] - trace.t[0]) if len(trace) > 1 else 0.0,
        },
        "press": {
            "vendor": ident.get("vendor", "?"), "model": ident.get("model", "?"),
            "serial": ident.get("serial", "?"),
            "firmware": ident.get("firmware") or info.firmware_version or "?",
        },
        "verdicts": [{
            "step": v.step, "criterion": v.criterion, "value": v.value, "limit": v.limit,
            "unit": v.unit, "status": "pass" if v.passed else "fail", "detail": v.detail,
            "t_s": None if v.t_s is None or not math.isfinite(v.t_s) else v.t_s,
        } for v in verdicts],
        # a step's event as people read its record: step 1/3 preload (ramp) 0 s – 5 s
        "events": [{**e, "text": text} for e, text in zip(shown, event_texts(shown, steps, count),
                                                         strict=True)],
        "plot_png_base64": base64.b64encode(png).decode() if png else None,
        "no_samples": None if png else no_samples_reason(info),
        "meta": store.meta(run_id),
    }


def render_stored_run(store: Store, run_id: int, extra: dict[str, Any] | None = None) -> str:
    """The HTML report of stored run ``run_id`` (ConfigError if there is no such run);
    ``extra`` adds sections (``cycler``: :func:`presshil.battery.cycles.cycler_section`)."""
    doc = {**stored_run_dict(store, run_id), **(extra or {})}
    return environment().get_template("run_report.html.j2").render(doc=doc)


__all__ = ["render_stored_run", "stored_run_dict"]
