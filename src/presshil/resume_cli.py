"""``presshil run PROTOCOL --resume RUN_ID``: take a run up again after its host was lost.

The stored run names the press; ``--press`` overrides it (the same press reached another
way). Nothing is written to the press before :func:`presshil.resume.check_press` has found
it where the run left it: a mismatch is one line and exit code 2, the press untouched. Then
the stored run is claimed (:func:`presshil.resume.claimed`) and the runner executes its plan.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import typer

from .cli_common import err, out, user_errors
from .cliview import ProgressView, StepLines, show_verdicts
from .errors import ConfigError
from .wording import step_labels


def resume_cmd(
    protocol: Path,
    press: str | None,
    db: str | Path,
    report: Path | None,
    quiet: bool,
    run_id: int,
    live: str | None = None,
) -> None:
    """Resume run ``run_id`` of ``protocol`` from ``db``; raises ``typer.Exit`` with the
    run's exit code."""
    from .library import resolve_protocol
    from .protocol import load_protocol
    from .resume import check_press, claimed, plan_resume
    from .store import Store
    from .urls import open_press

    with user_errors():
        proto = load_protocol(resolve_protocol(protocol))
        from .store_url import is_url

        if not is_url(db) and not Path(db).is_file():
            raise ConfigError(f"no results store at {db}: run {run_id} cannot be resumed")
        # opening the store marks a run whose process died interrupted; the live view (entered
        # into the same stack) serves the finished run after the verdicts are printed
        from .store_spool import ServerStore

        # on a server, the resumed run goes on into a local spool if the server goes away
        with (ServerStore(db) if is_url(db) else Store(db)) as store, contextlib.ExitStack() as serving:
            info = store.get_run(run_id)
            point = plan_resume(store, run_id, proto)
            url = press or info.press_url
            device = open_press(url)
            try:
                _same_press(info.identity, device.identity, url, run_id)
                check_press(device, proto, point)
                gap_s = point.now_s() - (point.last_t_s or 0.0)
                out.print(
                    f"[bold]{proto.name}[/] run {run_id} resumed at step {point.step_index} "
                    f"after {gap_s:.1f} s without samples, via [cyan]{url}[/]",
                    highlight=False,
                )
                terminal = out.is_terminal
                lines = [StepLines(out, len(proto.steps))] if not quiet and not terminal else []
                from .web.cli_live import live_view

                run = serving.enter_context(live_view(live, out))
                # the run is taken in the store first: a second resumer is refused there,
                # before it touches the press the first one is driving
                with ProgressView(out, not quiet and terminal) as view, claimed(store, point):
                    result = run(proto, device, store=store, progress=view, sinks=lines, plan=point)
                    view.finish(completed=result.exit_code in (0, 1))
            finally:
                device.close()
            starts = {r.name: r.t_start_s for r in result.steps}
            show_verdicts(out, result.verdicts, starts, step_labels(result.steps, len(proto.steps)))
            if result.abort_reason:
                err.print(f"[bold red]aborted:[/] {result.abort_reason}", highlight=False)
            if report is not None:
                from .report import write_run_report

                paths = write_run_report(result, report)
                out.print("report: " + ", ".join(str(p) for p in paths), highlight=False)
            out.print(f"run {run_id}: {result.status.upper()} (store {store.where})", highlight=False)
            if getattr(store, "note", None):
                out.print(f"[yellow]{store.note}[/]", highlight=False, soft_wrap=True)  # type: ignore[attr-defined]
    raise typer.Exit(result.exit_code)


def _same_press(stored: dict, identity: object, url: str, run_id: int) -> None:
    """Refuse another press than the one the run started on (model and serial)."""
    for key in ("model", "serial"):
        was, now = stored.get(key), getattr(identity, key, None)
        if was and now is not None and was != now:
            raise ConfigError(
                f"{url}: cannot resume run {run_id}: {key} {now!r}, the run started on {was!r}"
            )


__all__ = ["resume_cmd"]
