"""``presshil sweep``: the command line of robustness sweeps.

Exit codes: 0 every variant passed (or the pass rate reached ``--min-pass-rate``), 1 it did
not, 2 bad input (before any run starts), 3 the sweep was interrupted or a task kept failing
(``--resume ID`` finishes it).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ..library import DEFAULT_DB
from ..status import EXIT_ABORTED, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from ..store_url import StoreOpt, check_location, is_url, redact


def _is_sweep_file(path: Path) -> bool:
    import tomllib

    if path.suffix != ".toml" or not path.is_file():
        return False
    try:
        return "sweep" in tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


class _Bar:
    """A rich progress bar: runs done, pass rate so far, ETA. Not on a terminal (``lines``),
    a plain line at every tenth of the variants and at least every ``LINE_EVERY_S`` seconds,
    so a piped sweep of minutes shows it is alive."""

    LINE_EVERY_S = 30.0

    def __init__(self, console: Any, enabled: bool, lines: bool = False) -> None:
        self.console = console
        self.lines = lines and not enabled
        self.wall0 = time.monotonic()
        self.last_line = self.wall0
        self.total = 0
        self.next_tenth = 1
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("[bold]sweep {task.fields[sweep]}[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("pass {task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
        )
        self.task: Any = None  # a rich TaskID once created

    def created(self, sweep_id: int, total: int) -> None:
        self.task = self.bar.add_task("sweep", total=total, sweep=sweep_id, rate="—")
        self.total = total

    def progress(self, tally: Any) -> None:
        rate = "—" if math.isnan(tally.pass_rate) else f"{100 * tally.pass_rate:.1f} %"
        if self.task is not None:
            self.bar.update(self.task, completed=tally.done, rate=rate)
        if self.lines and self.total:
            now = time.monotonic()
            tenth = tally.done * 10 // self.total
            if tenth >= self.next_tenth or now - self.last_line >= self.LINE_EVERY_S:
                self.next_tenth = tenth + 1
                self.last_line = now
                from ..cliview import fmt_time

                self.console.print(f"  {tally.done}/{self.total} variants done, pass {rate}, "
                                   f"wall {fmt_time(now - self.wall0)}", highlight=False, soft_wrap=True)


def sweep_cmd(
    protocol: Annotated[Path | None, typer.Argument(
        help="Protocol file or library name, or a sweep file (TOML with a \\[sweep] table).")] = None,
    press: Annotated[str | None, typer.Option(
        "--press", help="Simulated press to vary: sim://NAME?specimen=SPEC")] = None,
    vary: Annotated[list[str] | None, typer.Option(
        "--vary", help="KEY=SPEC: a,b,c | lo..hi (lo..hi:N on a grid) | normal(mu,sigma) | "
        "truncnormal(mu,sigma,lo,hi). Repeatable.")] = None,
    suite: Annotated[str | None, typer.Option(
        "--suite", help="Sweep an acceptance suite (presshil accept) instead of a protocol.")] = None,
    runs: Annotated[int | None, typer.Option("--runs", help="Monte Carlo variants (default: 32, or the sweep file's).")] = None,
    grid: Annotated[bool, typer.Option("--grid", help="Every combination of the axes.")] = False,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the sampling and of each variant's press (default: 0).")] = None,
    method: Annotated[str | None, typer.Option("--method", help="Monte Carlo design: lhs or sobol (default: lhs).")] = None,
    cluster: Annotated[str | None, typer.Option(
        "--cluster", help="Dask scheduler tcp://HOST:PORT (default: a local cluster, one worker per core).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Workers of the local cluster (default: one per core).")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Variants per Dask task (default: chosen from the variants and workers).")] = None,
    keep_traces: Annotated[str, typer.Option(
        "--keep-traces", help="Traces stored: all, failed (failed and aborted runs) or none.")] = "failed",
    db: StoreOpt = str(DEFAULT_DB),
    report: Annotated[Path | None, typer.Option("--report", help="Write sweep.json, PNGs and sweep.html here.")] = None,
    resume: Annotated[int | None, typer.Option("--resume", help="Finish sweep ID (its spec is in the store).")] = None,
    min_pass_rate: Annotated[float, typer.Option(
        "--min-pass-rate", help="Exit 0 when at least this fraction of variants passed.")] = 1.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run a protocol over a spread of simulated presses and cells; pass rate, drivers, margins.

    Exit code 0: pass rate ≥ --min-pass-rate; 1: below it; 2: bad input; 3: interrupted.
    """
    from ..cli_common import err, out, user_errors
    from ..library import resolve_protocol
    from ..store import Store
    from .main import resume_sweep, start_sweep, summarise
    from .report import write_sweep_report
    from .spec import SweepError, build_spec, load_sweep_file, parse_vary

    with user_errors():
        if not 0.0 <= min_pass_rate <= 1.0:
            raise SweepError(f"--min-pass-rate must lie in [0, 1], got {min_pass_rate}")
        check_location(db)  # an unknown scheme: one line before anything runs
        spec = None
        if resume is None:
            settings: dict[str, Any] = {}
            if protocol is not None and _is_sweep_file(protocol):
                settings = load_sweep_file(protocol)
            elif protocol is not None:
                settings["protocol"] = str(protocol)
            if suite is not None:
                if "protocol" in settings:
                    raise SweepError("give a PROTOCOL or --suite NAME, not both")
                settings["suite"] = suite
            if "protocol" not in settings and "suite" not in settings:
                raise SweepError("give a PROTOCOL, a sweep file or --suite NAME (or --resume ID); "
                                 "a sweep file needs protocol = … or suite = … in [sweep]")
            if "suite" in settings:
                from ..acceptance.suite import resolve_suite

                kind, target = "suite", str(resolve_suite(settings["suite"]))
            else:
                kind, target = "protocol", str(resolve_protocol(Path(settings["protocol"])))
            cli_vary = [parse_vary(v) for v in vary or []]
            file_vary = [v for v in settings.get("vary", []) if v.key not in {c.key for c in cli_vary}]
            spec = build_spec(
                target,
                press or settings.get("press") or "sim://",
                file_vary + cli_vary,
                runs=runs if runs is not None else (None if grid else settings.get("runs")),
                grid=grid or settings.get("grid", False),
                seed=seed if seed is not None else settings.get("seed", 0),
                method=method or settings.get("method", "lhs"),
                batch_size=batch_size or settings.get("batch_size"),
                kind=kind,
            )
        elif protocol is not None or vary or press or suite:
            raise SweepError("--resume ID takes the sweep's own spec: drop PROTOCOL, --suite, "
                             "--press and --vary")
        elif not is_url(db) and not Path(db).is_file():
            raise SweepError(f"--resume {resume}: no results store at {db} (give --db PATH)")
        if keep_traces not in ("all", "failed", "none"):
            raise SweepError(f"--keep-traces must be all, failed or none, got {keep_traces!r}")
        if workers is not None and workers < 1:
            raise SweepError(f"--workers must be ≥ 1, got {workers}")
        store = Store(db)
        with store:
            bar = _Bar(out, not quiet and out.is_terminal, lines=not quiet)
            t0 = time.perf_counter()
            kwargs: dict[str, Any] = {
                "cluster": cluster, "n_workers": workers, "keep_traces": keep_traces,
                "on_created": bar.created, "on_progress": bar.progress,
            }
            sweep_id = resume
            try:
                with bar.bar:
                    if spec is not None:
                        def created(i: int, n: int) -> None:
                            nonlocal sweep_id
                            sweep_id = i
                            bar.created(i, n)

                        kwargs["on_created"] = created
                        result = start_sweep(spec, store, **kwargs)
                    else:
                        result = resume_sweep(resume, store, **kwargs)  # type: ignore[arg-type]
            except SweepError:
                raise
            except KeyboardInterrupt:
                _stopped(err, sweep_id, db, "interrupted")
                raise typer.Exit(EXIT_ABORTED) from None
            except Exception as exc:  # a task that kept failing (a worker killed three times, …)
                if sweep_id is None:
                    raise
                _stopped(err, sweep_id, db, f"stopped: {type(exc).__name__}: {str(exc)[:200]}")
                raise typer.Exit(EXIT_ABORTED) from None
            wall = time.perf_counter() - t0
            doc, outs = summarise(store, result.sweep_id)
            lo, hi = doc["pass_rate_ci95"]
            rate = doc["pass_rate"] or 0.0
            out.print(f"sweep {result.sweep_id}: {doc['passed']}/{doc['runs']} passed "
                      f"({100 * rate:.1f} %, 95 % CI {100 * lo:.1f}–{100 * hi:.1f} %) "
                      f"in {wall:.1f} s (store {store.where})", highlight=False)
            for f in doc["failing"][:5]:
                out.print(f"  variant {f['index']} run {f['run_id']} {f['status']}: {f['rerun']}",
                          highlight=False, soft_wrap=True)
            if len(doc["failing"]) > 5:
                out.print(f"  … {len(doc['failing']) - 5} more failing variants in the report",
                          highlight=False)
            if report is not None:
                paths = write_sweep_report(doc, outs, report)
                out.print("report: " + ", ".join(str(p) for p in paths), highlight=False)
    raise typer.Exit(EXIT_OK if rate >= min_pass_rate else EXIT_FAILED)


def _stopped(err: Any, sweep_id: int | None, db: str, why: str) -> None:
    if sweep_id is None:
        err.print(f"sweep {why} before it was recorded", highlight=False)
        return
    where = redact(db) if is_url(db) else db  # a server's URL without its password
    err.print(f"sweep {sweep_id} {why}; what finished is stored. Finish it with: "
              f"presshil sweep --resume {sweep_id} --db {where}", highlight=False, soft_wrap=True)


__all__ = ["EXIT_BAD_INPUT", "sweep_cmd"]
