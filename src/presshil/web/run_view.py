"""A stored run as the results browser shows it to people: criteria by their human name with
the key beside it, steps numbered from 1 (``2/3 hold-74``) as ``presshil run`` numbers them,
numbers with four significant digits and times in h:mm:ss beyond 10 minutes.

The stored records are not changed: keys, 0-based indices and the events' text stay as the
store keeps them; the fields added here are for display only. A ``step`` event is shown from
its step record (the store's ``steps`` table), never by reading the event's text.
"""

from __future__ import annotations

import tomllib
from typing import Any

from ..cliview import fmt_time
from ..wording import criterion_label, criterion_name, fmt_num, step_label

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


def step_event_text(step: dict[str, Any], count: int) -> str:
    """A step record (as :func:`~presshil.run_record.steps_of` gives it) as people read it:
    ``step 1/5 preload (ramp) 0 s – 5 s``."""
    index = step["index"]
    of = f"/{count}" if count > index else ""
    return (f"step {index + 1}{of} {step['name']} ({step['kind']}) "
            f"{time_text(step['t_start_s'])} – {time_text(step['t_end_s'])}")


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
    for e, text in zip(run["events"], event_texts(run["events"], steps, count), strict=True):
        e["t_text"] = time_text(e["t_s"])
        e["text"] = text
    return run


def event_texts(events: list[dict[str, Any]], steps: list[dict[str, Any]], count: int) -> list[str]:
    """What each event shows: its message, or for a ``step`` event its step record (the
    runner writes the two together, in order) as :func:`step_event_text` words it."""
    ended = iter(steps)
    out = []
    for e in events:
        step = next(ended, None) if e["kind"] == "step" else None
        out.append(step_event_text(step, count) if step is not None else e["message"])
    return out


__all__ = ["HMS_FROM_S", "event_texts", "labelled", "step_count", "step_event_text", "time_text"]
