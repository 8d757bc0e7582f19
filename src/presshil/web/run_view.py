"""A stored run as the results browser shows it to people: criteria by their human name with
the key beside it, steps numbered from 1 (``2/3 hold-74``) as ``presshil run`` numbers them,
numbers with four significant digits and times in h:mm:ss beyond 10 minutes.

The stored records are not changed: keys, 0-based indices and the events' text stay as the
store keeps them (``presshil run --resume`` reads the step events); the fields added here are
for display only.
"""

from __future__ import annotations

import tomllib
from typing import Any

from ..cliview import fmt_time
from ..run_record import STEP_EVENT
from ..wording import criterion_label, criterion_name, fmt_num, step_label

#: a runner "step" event: "INDEX NAME TYPE T_START..T_END" (the text ``--resume`` reads)

#: below this, times read in seconds; from here on, h:mm:ss (as the live view and report)
HMS_FROM_S = 600.0


def time_text(t_s: float | None) -> str:
    """``37 s`` up to 10 minutes, ``1:02:03`` beyond; empty when there is no time."""
    if t_s is None:
        return ""
    return f"{fmt_num(t_s)} s" if abs(t_s) < HMS_FROM_S else fmt_time(t_s)


def step_count(protocol_text: str, steps: list[dict[str, Any]]) -> int:
    """How many top-level steps the run's protocol has (from its stored text; from the step
    records when that text cannot be read)."""
    try:
        count = len(tomllib.loads(protocol_text or "").get("steps", []))
    except (tomllib.TOMLDecodeError, TypeError):
        count = 0
    return max(count, max((s["index"] + 1 for s in steps), default=0))


def step_event_text(message: str, count: int) -> str | None:
    """A stored step record (``0 preload ramp 0.000..5.000``) as people read it
    (``step 1/5 preload (ramp) 0 s – 5 s``); None when ``message`` is not one."""
    m = STEP_EVENT.match(message)
    if m is None:
        return None
    index, name, kind = int(m.group(1)), m.group(2), m.group(3)
    of = f"/{count}" if count > index else ""
    return (f"step {index + 1}{of} {name} ({kind}) "
            f"{time_text(float(m.group(4)))} – {time_text(float(m.group(5)))}")


def labelled(run: dict[str, Any], protocol_text: str) -> dict[str, Any]:
    """``run`` (as :meth:`Results.run` builds it) with display fields added: a step's
    ``label``, a verdict's ``name``, ``label``, ``step_label``, ``value_text`` and
    ``limit_text``, an event's ``text`` and ``t_text``."""
    steps = run["steps"]
    count = step_count(protocol_text, steps)
    labels: dict[str, str] = {}
    for s in steps:
        s["label"] = f"{s['index'] + 1}/{count} {s['name']}"
        labels.setdefault(s["name"], s["label"])
    for v in run["verdicts"]:
        v["name"] = criterion_name(v["criterion"])
        v["label"] = criterion_label(v["criterion"])
        v["step_label"] = step_label(v["step"], labels)
        v["value_text"] = fmt_num(v["value"])
        v["limit_text"] = fmt_num(v["limit"])
    for e in run["events"]:
        e["t_text"] = time_text(e["t_s"])
        e["text"] = (step_event_text(e["message"], count) if e["kind"] == "step" else None) \
            or e["message"]
    return run


__all__ = ["HMS_FROM_S", "STEP_EVENT", "labelled", "step_count", "step_event_text", "time_text"]
