"""What the command line shows: progress, verdicts, runs, and a line per step in a log.

On a terminal: a rich progress bar and tables. Not on a terminal (a CI log, a pipe): plain
lines that are never truncated and never wrapped inside a word, one per step as a run goes,
one per verdict at the end. Times in failure messages say which time base they use: run time
(from the start of the run) and step time (from the start of the step).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .metrics import Verdict
from .wording import criterion_label, criterion_name, fmt_num, step_label

#: narrower terminals get the verdicts as lines: a table there would fold names into shreds
TABLE_MIN_WIDTH = 110


def fmt_time(seconds: float) -> str:
    """``H:MM:SS`` of ``seconds`` (negative shows as 0)."""
    seconds = max(0.0, seconds)
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}"


_STEP_TIME = re.compile(r"\bat t = ")


def why(v: Verdict, step_starts: dict[str, float]) -> str:
    """Where and why a verdict failed, with both time bases named.

    A verdict the runner judged knows its step's start (:meth:`Verdict.where`); for one read
    back without it, ``step_starts`` maps top-level step names to their start in run time (a
    step inside a repeat, ``cycles.0``, belongs to the top-level step before the first dot).
    """
    where = v.where()
    if v.t_s is not None and v.step_start_s is None:
        start = step_starts.get(v.step, step_starts.get(v.step.split(".")[0]))
        if start is not None:
            where = f"run time t = {v.t_s:g} s (step time {v.t_s - start:g} s)"
    if v.channel is not None:
        where += f", channel {v.channel + 1}"
    detail = _STEP_TIME.sub("at step time t = ", v.detail) if v.detail else ""
    return "; ".join(x for x in (where, detail) if x)


def verdict_table(
    verdicts: Sequence[Verdict], step_starts: dict[str, float] | None = None,
    labels: dict[str, str] | None = None,
) -> Table:
    """The verdicts as a rich table; details (worst sample, channel) only for failures.
    ``labels`` numbers the steps (``2/3 hold-74``); the criterion shows its name over its key."""
    starts = step_starts or {}
    table = Table(title="Verdicts")
    for col in ("step", "criterion", "value", "limit", "result"):
        # step and criterion fold rather than being cut short on a narrow terminal
        flexible = col in ("step", "criterion")
        table.add_column(col, no_wrap=not flexible, overflow="fold", ratio=1 if flexible else None)
    failed = [v for v in verdicts if not v.passed]
    if failed:
        table.add_column("why", overflow="fold", ratio=1)
    for v in verdicts:
        name = criterion_name(v.criterion)
        row = [
            escape(step_label(v.step, labels or {})),
            escape(v.criterion) if name == v.criterion else f"{escape(name)}\n[dim]{escape(v.criterion)}[/]",
            f"{fmt_num(v.value)} {v.unit}".strip(),  # the unit beside the number: one column less
            f"{fmt_num(v.limit)} {v.unit}".strip(),
            "[green]PASS[/]" if v.passed else "[bold red]FAIL[/]",
        ]
        if failed:
            row.append("" if v.passed else why(v, starts))
        table.add_row(*row)
    return table


def verdict_lines(
    verdicts: Sequence[Verdict], step_starts: dict[str, float] | None = None,
    labels: dict[str, str] | None = None,
) -> list[str]:
    """The verdicts as plain lines for a log:
    ``PASS step 2/3 hold-74: drift = 0.00005491 MPa/min (limit 0.05 MPa/min) [max_drift_mpa_per_min]``,
    a failure followed by its whole reason on the next line."""
    starts = step_starts or {}
    lines = ["Verdicts:"]
    for v in verdicts:
        unit = f" {v.unit}" if v.unit else ""
        label = criterion_label(v.criterion)
        name, _, key = label.partition(" [")
        lines.append(
            f"  {'PASS' if v.passed else 'FAIL'} step {step_label(v.step, labels or {})}: {name} = "
            f"{fmt_num(v.value)}{unit} (limit {fmt_num(v.limit)}{unit})" + (f" [{key}" if key else "")
        )
        if not v.passed:
            lines.append(f"       why: {why(v, starts)}")
    return lines


def show_verdicts(
    console: Console, verdicts: Sequence[Verdict], step_starts: dict[str, float],
    labels: dict[str, str] | None = None,
) -> None:
    """A table on a terminal at least :data:`TABLE_MIN_WIDTH` wide, plain untruncated lines
    otherwise (a narrow terminal, a log, a pipe); ``labels`` numbers the
    steps (:func:`presshil.wording.step_labels`)."""
    if console.is_terminal and console.width >= TABLE_MIN_WIDTH:
        console.print(verdict_table(verdicts, step_starts, labels))
    else:
        for line in verdict_lines(verdicts, step_starts, labels):
            console.print(line, highlight=False, markup=False, soft_wrap=True)


class ProgressView:
    """A rich progress bar fed by the runner, redrawn at most ten times a wall second.

    :meth:`finish` draws the last frame whatever the throttle: 100 % when the run completed.
    """

    def __init__(self, console: Console, enabled: bool) -> None:
        from rich.progress import BarColumn, Progress, TextColumn

        self.enabled = enabled
        self.wall0 = time.perf_counter()
        self.last_update = 0.0
        self.last: Any = None
        self.bar = Progress(
            TextColumn("[bold]{task.fields[step]}[/]"),
            BarColumn(bar_width=None),  # the bar takes what the text leaves: one line at 80 columns
            TextColumn("{task.percentage:>5.1f}%"),
            TextColumn("{task.fields[pressure]}"),
            TextColumn("{task.fields[clock]}"),
            console=console,
            transient=False,
            disable=not enabled,
        )
        self.task = self.bar.add_task("run", total=1.0, step="starting", pressure="", clock="")

    def __enter__(self) -> ProgressView:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)  # type: ignore[arg-type]

    def __call__(self, p: Any) -> None:  # p: presshil.runner.Progress
        self.last = p
        now = time.perf_counter()
        if now - self.last_update < 0.1:
            return
        self.last_update = now
        self._draw(p, min(p.t_s / (p.expected_total_s or 1.0), 0.999))

    def finish(self, completed: bool) -> None:
        """Draw the final frame: 100 % if the run completed, else where it stopped."""
        p = self.last
        if p is None:
            return
        fraction = 1.0 if completed else min(p.t_s / (p.expected_total_s or 1.0), 0.999)
        self._draw(p, fraction)

    def _draw(self, p: Any, fraction: float) -> None:
        step = f"step {p.step_index + 1}/{p.step_count} {p.step_name}"
        if p.iteration:
            step += f" [{p.iteration}]"
        total = p.expected_total_s or 1.0
        self.bar.update(
            self.task,
            completed=fraction,
            step=step,
            pressure=f"{p.pressure_mpa:.2f} MPa (sp {p.setpoint_mpa:.2f})",
            clock=f"{fmt_time(p.t_s)}/{fmt_time(total)} wall {fmt_time(time.perf_counter() - self.wall0)}",
        )


class StepLines:
    """A run sink that prints one line as each top-level step starts and ends (for logs)."""

    def __init__(self, console: Console, step_count: int) -> None:
        self.console = console
        self.step_count = step_count
        self.wall0 = time.perf_counter()

    def _say(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False, soft_wrap=True)

    def start(self, run: Any) -> None:
        """Nothing to print: the command already named the protocol and the press."""

    def sample(self, row: Any) -> None:
        """Samples are not printed."""

    def event(self, t_s: float | None, kind: str, message: str) -> None:
        if kind in ("abort", "stopped", "step-timeout", "transport-error"):
            at = "" if t_s is None else f" at run time t={t_s:.1f} s"
            self._say(f"  {kind}{at}: {message}")

    def iteration(self, record: Any) -> None:
        """Iterations are not printed (a long repeat would flood the terminal)."""

    def gap(self, record: Any) -> None:
        """The gap is printed by ``--resume`` itself."""

    def step(self, b: Any) -> None:
        wall = fmt_time(time.perf_counter() - self.wall0)
        named = "" if b.name == str(b.index) else f" {b.name}"
        head = f"step {b.index + 1}/{self.step_count}{named} ({b.kind})"
        if b.t_end_s is None:
            self._say(f"{head} started at run time t={b.t_start_s:.1f} s (wall {wall})")
        else:
            self._say(
                f"{head} ended at run time t={b.t_end_s:.1f} s, "
                f"took {b.t_end_s - b.t_start_s:.1f} s (wall {wall})"
            )

    def verdict(self, verdict: Any) -> None:
        """Verdicts are printed together at the end."""

    def finish(self, status: Any) -> None:
        """The command prints the outcome."""


def runs_view(
    console: Console, title: str, rows: Sequence[Sequence[str]], columns: Sequence[str]
) -> None:
    """A table on a terminal; one ``key=value`` line a run otherwise (nothing truncated)."""
    if console.is_terminal:
        table = Table(title=title)
        for col in columns:
            table.add_column(col, overflow="fold", no_wrap=col != "press")
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    console.print(f"{title}:", highlight=False, markup=False)
    for row in rows:
        console.print(
            "  " + " ".join(f"{_key(c)}={_value(v)}" for c, v in zip(columns, row, strict=True) if v != ""),
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


def _key(column: str) -> str:
    """A column title as a key: ``started (UTC)`` -> ``started_utc``."""
    return re.sub(r"\W+", "_", column.lower()).strip("_")


def _value(text: str) -> str:
    """A value that reads back as one field: quoted when it holds a space."""
    import shlex

    return shlex.quote(text) if any(c.isspace() for c in text) else text


__all__ = [
    "ProgressView",
    "StepLines",
    "fmt_time",
    "runs_view",
    "show_verdicts",
    "verdict_lines",
    "verdict_table",
    "why",
]
