"""The ``presshil`` command line.

Exit codes (pinned): 0 all criteria passed, 1 a criterion failed, 2 bad input or usage,
3 aborted (safety limit, device fault, transport loss). Expected failures print one clear
line, never a traceback.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional
from urllib.parse import parse_qsl, urlencode

import typer
from rich.console import Console
from rich.table import Table

from .errors import ConfigError, PressError, PresshilError, ProtocolError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ABORTED = 0, 1, 2, 3
DEFAULT_PRESS = "sim://"
DEFAULT_DB = Path("results/presshil.sqlite")

app = typer.Typer(
    name="presshil",
    help="Hardware-in-the-loop tests for battery-assembly presses: run pressure protocols on a "
    "simulated or a real press, judge them, keep the data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
out = Console()
err = Console(stderr=True)

def _version(value: bool) -> None:
    if value:
        from . import __version__

        out.print(f"presshil {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Hardware-in-the-loop tests for battery-assembly presses."""


PressOpt = Annotated[
    str,
    typer.Option(
        "--press",
        envvar="PRESSHIL_PRESS",
        help="Press URL: sim://NAME?specimen=SPEC&seed=N, modbus+tcp://HOST:PORT, "
        "modbus+rtu:///dev/…, serial:///dev/…",
    ),
]
DbOpt = Annotated[Path, typer.Option("--db", help="Results store (SQLite).")]
SimPressOpt = Annotated[str, typer.Option("--press", help="The simulated press to serve (sim://…).")]
PtyOrDevice = "'pty' to create a pseudo-terminal (its path is printed), or a device."
ModbusRtuOpt = Annotated[Optional[str], typer.Option("--modbus-rtu", help=PtyOrDevice)]
BindOpt = Annotated[str, typer.Option("--bind", help="Address to bind TCP endpoints to.")]

ServeTcpOpt = Annotated[Optional[str], typer.Option("--modbus-tcp", help="HOST:PORT (default 127.0.0.1:5020).")]
PlantTcpOpt = Annotated[Optional[str], typer.Option("--modbus-tcp", help="HOST:PORT (default 127.0.0.1:5021).")]


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected failures into one line on stderr and the pinned exit code."""
    try:
        yield
    except (ProtocolError, ConfigError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    except PressError as exc:
        err.print(f"[bold red]aborted:[/] {type(exc).__name__}: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_ABORTED) from None
    except PresshilError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None


def with_seed(url: str, seed: int | None) -> str:
    """``url`` with its ``seed`` parameter set (simulated presses only)."""
    if seed is None:
        return url
    base, _, query = url.partition("?")
    if not base.startswith("sim:"):
        raise ConfigError(f"--seed applies to simulated presses (sim://…), not to {url!r}")
    params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "seed"]
    params.append(("seed", str(seed)))
    return f"{base}?{urlencode(params, safe=',@:=;')}"


def _fmt_time(seconds: float) -> str:
    seconds = max(0.0, seconds)
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}"


class _ProgressView:
    """A rich progress bar fed by the runner, redrawn at most ten times a wall second."""

    def __init__(self, console: Console, enabled: bool) -> None:
        from rich.progress import BarColumn, Progress, TextColumn

        self.enabled = enabled
        self.wall0 = time.perf_counter()
        self.last_update = 0.0
        self.bar = Progress(
            TextColumn("[bold]{task.fields[step]}[/]"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TextColumn("{task.fields[pressure]}"),
            TextColumn("{task.fields[clock]}"),
            console=console,
            transient=False,
            disable=not enabled,
        )
        self.task = self.bar.add_task("run", total=1.0, step="starting", pressure="", clock="")

    def __enter__(self) -> _ProgressView:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)  # type: ignore[arg-type]

    def __call__(self, p) -> None:  # p: presshil.runner.Progress
        now = time.perf_counter()
        if now - self.last_update < 0.1:
            return
        self.last_update = now
        step = f"step {p.step_index + 1}/{p.step_count} {p.step_name}"
        if p.iteration:
            step += f" [{p.iteration}]"
        total = p.expected_total_s or 1.0
        self.bar.update(
            self.task,
            completed=min(p.t_s / total, 0.999),
            step=step,
            pressure=f"{p.pressure_mpa:7.2f} MPa (sp {p.setpoint_mpa:6.2f})",
            clock=f"t={_fmt_time(p.t_s)} / {_fmt_time(total)}  wall {_fmt_time(now - self.wall0)}",
        )


def verdict_table(verdicts) -> Table:
    """The verdicts as a rich table; details (worst sample, channel) only for failures."""
    table = Table(title="Verdicts")
    for col in ("step", "criterion", "value", "limit", "unit", "result"):
        table.add_column(col, no_wrap=col != "step")
    failed = [v for v in verdicts if not v.passed]
    if failed:
        table.add_column("why", overflow="fold", ratio=1)
    for v in verdicts:
        row = [v.step, v.criterion, f"{v.value:.4g}", f"{v.limit:.4g}", v.unit,
               "[green]PASS[/]" if v.passed else "[bold red]FAIL[/]"]
        if failed:
            why = ""
            if not v.passed:
                where = v.where()  # names its time base: run time (step time)
                if v.channel is not None:
                    where += f", channel {v.channel + 1}"
                why = "; ".join(x for x in (where, v.detail) if x)
            row.append(why)
        table.add_row(*row)
    return table


@app.command("run")
def run_cmd(
    protocol: Annotated[Path, typer.Argument(help="Protocol file (TOML), or a name from protocols/.")],
    press: PressOpt = DEFAULT_PRESS,
    db: DbOpt = DEFAULT_DB,
    report: Annotated[
        Optional[Path], typer.Option("--report", help="Write a JSON summary and a PNG plot here.")
    ] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed of a simulated press.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run a protocol on a press, judge every criterion, store the data.

    Exit code 0: all criteria passed; 1: a criterion failed; 2: bad input; 3: aborted.
    """
    from .protocol import load_protocol
    from .runner import run
    from .store import Store
    from .urls import open_press

    with user_errors():
        proto = load_protocol(resolve_protocol(protocol))
        url = with_seed(press, seed)
        device = open_press(url)
        try:
            store = Store(db)
        except BaseException:
            device.close()
            raise
        with store:  # open until the report has read the trace back
            try:
                out.print(
                    f"[bold]{proto.name}[/] on {device.identity} via [cyan]{url}[/]", highlight=False
                )
                show = not quiet and out.is_terminal
                with _ProgressView(out, show) as view:
                    result = run(proto, device, store=store, progress=view, seed=seed)
            finally:
                device.close()
            out.print(verdict_table(result.verdicts))
            if result.abort_reason:
                err.print(f"[bold red]aborted:[/] {result.abort_reason}", highlight=False)
            if report is not None:
                from .report import write_run_report

                paths = write_run_report(result, report)
                out.print("report: " + ", ".join(str(p) for p in paths), highlight=False)
            colour = {"passed": "green", "failed": "red"}.get(result.status, "bold red")
            out.print(f"run {result.run_id}: [{colour}]{result.status.upper()}[/] (store {db})", highlight=False)
    raise typer.Exit(result.exit_code)


def resolve_protocol(path: Path) -> Path:
    """A path as given, else a name looked up in ./protocols, then in the shipped library."""
    if path.exists() or path.suffix == ".toml" and path.parent != Path("."):
        return path
    from .shipped import shipped_dir

    shipped = shipped_dir("protocols")
    for base in (Path("protocols"), shipped):
        if base is None:
            continue
        for candidate in (base / path, base / f"{path}.toml"):
            if candidate.exists():
                return candidate
    return path  # load_protocol reports the missing file


@app.command("check")
def check_cmd(
    protocol: Annotated[list[Path], typer.Argument(help="Protocol file(s) to validate.")],
) -> None:
    """Validate protocol files without running them (exit 2 on the first bad one)."""
    from .protocol import load_protocol

    with user_errors():
        for path in protocol:
            proto = load_protocol(resolve_protocol(path))
            out.print(
                f"[green]ok[/] {path}: {proto.name}, {len(proto.steps)} steps, "
                f"about {_fmt_time(proto.nominal_duration_s())} long",
                highlight=False,
            )


@app.command("runs")
def runs_cmd(db: DbOpt = DEFAULT_DB) -> None:
    """List the runs in the results store."""
    from .store import Store

    with user_errors():
        if not db.exists():
            raise ConfigError(f"no results store at {db}")
        store = Store(db)
        table = Table(title=f"Runs in {db}")
        for col in ("id", "protocol", "press", "seed", "started (UTC)", "took", "status"):
            table.add_column(col, overflow="fold", no_wrap=col != "press")

        def took(r) -> str:
            if not (r.started and r.finished):
                return ""
            from datetime import datetime

            dt = datetime.fromisoformat(r.finished) - datetime.fromisoformat(r.started)
            return _fmt_time(dt.total_seconds())

        for r in store.list_runs():
            table.add_row(
                str(r.id), r.protocol_name, r.press_url, "" if r.seed is None else str(r.seed),
                (r.started or "")[:16].replace("T", " "), took(r), r.status,
            )
        out.print(table)
        store.close()


@app.command("export")
def export_cmd(
    run_id: Annotated[int, typer.Argument(help="Run id (see `presshil runs`).")],
    format: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output file.")] = None,
    db: DbOpt = DEFAULT_DB,
) -> None:
    """Export one run's samples as CSV or Parquet."""
    from .store import Store

    with user_errors():
        if format not in ("csv", "parquet"):
            raise ConfigError(f"--format must be csv or parquet, not {format!r}")
        if not db.exists():
            raise ConfigError(f"no results store at {db}")
        store = Store(db)
        path = store.export(run_id, output or Path(f"run-{run_id}.{format}"), format)
        out.print(f"wrote {path}", highlight=False)
        store.close()


@app.command("serve")
def serve_cmd(
    press: SimPressOpt = DEFAULT_PRESS,
    modbus_tcp: ServeTcpOpt = None,
    modbus_rtu: ModbusRtuOpt = None,
    serial: Annotated[Optional[str], typer.Option("--serial", help=PtyOrDevice)] = None,
    bind: BindOpt = "127.0.0.1",
) -> None:
    """Serve a simulated press in real time over Modbus TCP/RTU and the serial line protocol."""
    from .device.serve import serve_main

    with user_errors():
        code = serve_main(press, modbus_tcp, modbus_rtu, serial, bind)
    raise typer.Exit(code)


@app.command("accept")
def accept_cmd(
    press: PressOpt = DEFAULT_PRESS,
    reference: Annotated[
        Optional[str], typer.Option("--reference", help="Reference force indicator URL (default: the sim's own).")
    ] = None,
    suite: Annotated[str, typer.Option("--suite", help="Suite in protocols/acceptance/ (name or path).")] = "standard",
    report: Annotated[Optional[Path], typer.Option("--report", help="Write the HTML report and JSON twin here.")] = None,
    meta: Annotated[
        Optional[list[str]], typer.Option("--meta", help="Operator metadata KEY=VALUE (repeatable).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    working_range: Annotated[Optional[str], typer.Option(
        "--working-range", help="Working pressures, MPa: 'A,B,C' or 'LO..HI' (default: the protocol library's).")] = None,
) -> None:
    """Acceptance-test a press: ISO 7500-1 / ASTM E4 force verification, response, hold, uniformity, safety."""
    from .acceptance import accept_main

    with user_errors():
        pairs = {}
        for item in meta or []:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ConfigError(f"--meta takes KEY=VALUE, got {item!r}")
            pairs[key.strip()] = value.strip()
        code = accept_main(press, reference, suite, report, pairs, progress=not quiet,
                           working_range=working_range)
    raise typer.Exit(code)


@app.command("report")
def report_cmd(
    run_id: Annotated[int, typer.Argument(help="Run id (see `presshil runs`).")],
    db: DbOpt = DEFAULT_DB,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="HTML file to write.")] = None,
) -> None:
    """Render the HTML report of a stored run."""
    from .acceptance import report_main

    with user_errors():
        if not db.exists():
            raise ConfigError(f"no results store at {db}")
        code = report_main(run_id, db, output)
    raise typer.Exit(code)


plant_app = typer.Typer(
    help="The plant without its controller, for firmware in the loop (see docs/firmware.md).",
    no_args_is_help=True,
)
app.add_typer(plant_app, name="plant")


@plant_app.command("serve")
def plant_serve_cmd(
    press: SimPressOpt = DEFAULT_PRESS,
    modbus_tcp: PlantTcpOpt = None,
    modbus_rtu: ModbusRtuOpt = None,
    bind: BindOpt = "127.0.0.1",
) -> None:
    """Serve press mechanics, specimen and sensors in real time for external firmware."""
    from .plant.serve import plant_serve_main

    with user_errors():
        code = plant_serve_main(press, modbus_tcp, modbus_rtu, bind)
    raise typer.Exit(code)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(EXIT_ABORTED)


if __name__ == "__main__":
    main()
