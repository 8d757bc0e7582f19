"""The ``presshil`` command line.

Exit codes (pinned): 0 all criteria passed, 1 a criterion failed, 2 bad input or usage,
3 aborted (safety limit, device fault, transport loss). Expected failures print one clear
line, never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

import typer
from rich.console import Console
from rich.markup import escape

from .cli_help import tidy_help
from .cliview import ProgressView, StepLines, fmt_time, runs_view, show_verdicts
from .errors import ConfigError, PresshilError
from .library import DEFAULT_DB
from .status import EXIT_BAD_INPUT, RunStatus, user_error
from .store_url import StoreOpt, check_location, require_store, store_folder
from .urls import is_simulated
from .wording import step_labels

EXIT_OK = RunStatus.PASSED.exit_code
EXIT_FAILED = RunStatus.FAILED.exit_code
EXIT_USAGE = EXIT_BAD_INPUT
EXIT_ABORTED = RunStatus.ABORTED.exit_code
DEFAULT_PRESS = "sim://"

app = typer.Typer(
    name="presshil",
    help="Hardware-in-the-loop tests for battery-assembly presses: run pressure protocols on a "
    "simulated or a real press, judge them, keep the data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
# soft_wrap: a line is never broken inside a word (CI logs are read, then grepped)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

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
    # asyncua (OPC UA) logs routine negotiation at WARNING ("Revised values returned differ
    # …", "certificate does not contain the hostname …"); what goes wrong reaches the user
    # as presshil's own one-line errors, so the command line shows asyncua's errors only
    logging.getLogger("asyncua").setLevel(logging.ERROR)


PressOpt = Annotated[
    str,
    typer.Option(
        "--press",
        envvar="PRESSHIL_PRESS",
        help="Press URL: sim://NAME?specimen=SPEC&seed=N, modbus+tcp://HOST:PORT, "
        "modbus+tls://HOST:802?cert=…&key=…&ca=…, modbus+rtu:///dev/…, serial:///dev/…, "
        "opcua://HOST:4840?profile=…, fil://?firmware=…; add ?profile=NAME for a device's "
        "own map (docs/profiles.md).",
    ),
]
DbOpt = StoreOpt  # a SQLite path or postgresql://… (presshil.store_url)
SimPressOpt = Annotated[str, typer.Option("--press", help="The simulated press to serve (sim://…).")]
PtyOrDevice = "'pty' to create a pseudo-terminal (its path is printed), or a device."
ModbusRtuOpt = Annotated[str | None, typer.Option("--modbus-rtu", help=PtyOrDevice)]
BindOpt = Annotated[str, typer.Option("--bind", help="Address to bind TCP endpoints to.")]

ServeTcpOpt = Annotated[str | None, typer.Option("--modbus-tcp", help="HOST:PORT (default 127.0.0.1:5020).")]
PlantTcpOpt = Annotated[str | None, typer.Option("--modbus-tcp", help="HOST:PORT (default 127.0.0.1:5021).")]


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected failures into one line on stderr and the pinned exit code."""
    try:
        yield
    except PresshilError as exc:
        code, line = user_error(exc) or (EXIT_USAGE, str(exc))
        word, _, rest = line.partition(" ")
        # escape: a field such as '[force_verification].series' is text, not rich markup
        err.print(f"[bold red]{word}[/] {escape(rest)}", highlight=False, soft_wrap=True)
        raise typer.Exit(code) from None


def with_seed(url: str, seed: int | None) -> str:
    """``url`` with its ``seed`` parameter set (simulated presses only)."""
    if seed is None:
        return url
    base, _, query = url.partition("?")
    if not is_simulated(base):
        raise ConfigError(f"--seed applies to simulated presses (sim://…), not to {url!r}")
    params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "seed"]
    params.append(("seed", str(seed)))
    return f"{base}?{urlencode(params, safe=',@:=;')}"


@app.command("run")
def run_cmd(
    protocol: Annotated[Path, typer.Argument(help="Protocol file (TOML), or a name from protocols/.")],
    press: PressOpt = DEFAULT_PRESS,
    db: DbOpt = str(DEFAULT_DB),
    report: Annotated[
        Path | None, typer.Option("--report", help="Write a JSON summary and a PNG plot here.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of a simulated press.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    live: Annotated[str | None, typer.Option("--live", help="Serve a live view on [HOST:]PORT (loopback unless a host is given) while the run goes.")] = None,
    resume: Annotated[int | None, typer.Option("--resume", help="Take up stored run RUN_ID after its host was lost (on_host_loss = \"hold\").", metavar="RUN_ID")] = None,
    meta: Annotated[list[str] | None, typer.Option("--meta", help="Run metadata KEY=VALUE, stored with the run (repeatable); the protocol's [meta] required keys are asked for on a terminal.")] = None,
    station: Annotated[str | None, typer.Option("--station", help="The bench's name, stored with the run (default: the host name).")] = None,
    operator: Annotated[str | None, typer.Option("--operator", help="Who runs it, for the store's audit trail (default: the OS user).")] = None,
) -> None:
    """Run a protocol on a press, judge every criterion, store the data.

    Exit code 0: all criteria passed; 1: a criterion failed; 2: bad input; 3: aborted.
    """
    if resume is not None:
        from .resume_cli import resume_cmd

        if seed is not None:
            with user_errors():
                raise ConfigError(
                    f"--seed does not apply to --resume: run {resume} goes on with the press it "
                    "stored (give --press to reach the same press another way)"
                )
        if meta:
            with user_errors():
                raise ConfigError(f"--meta does not apply to --resume: run {resume} keeps the "
                                  "metadata it was stored with")
        resume_cmd(protocol, None if press == DEFAULT_PRESS else press, db, report, quiet, resume, live)
    from .protocol import load_protocol
    from .store import Store
    from .urls import open_press

    with user_errors():
        proto = load_protocol(resolve_protocol(protocol))
        from .run_meta import parse_pairs
        from .run_meta import resolve as resolve_meta

        # asked only where a person can answer: a terminal, and not a CI job (CI=… set)
        interactive = sys.stdin.isatty() and not os.environ.get("CI")
        asker = (lambda key: typer.prompt(f"{proto.name}: {key}")) if interactive else None
        run_meta = resolve_meta(proto.meta, parse_pairs(meta or []), source=proto.source, ask=asker)
        url = with_seed(press, seed)
        # a server that cannot be used (unreachable, refused login, newer schema) is refused
        # before the press is reached; a SQLite file is created only once the press opened
        from .store_url import is_url
        from .urls import parse_press_url

        parse_press_url(url)
        from .store_spool import ServerStore
        server = ServerStore(db, station=station, operator=operator) if is_url(check_location(db)) else None
        try:
            device = open_press(url)
        except BaseException:
            if server is not None:
                server.close()
            raise
        try:
            store = server or Store(db, station=station, operator=operator)
        except BaseException:
            device.close()
            raise
        from .web.cli_live import live_view

        # the store stays open until the report has read the trace back; the live view
        # serves the finished run after the verdicts are printed
        with store, contextlib.ExitStack() as serving:
            try:
                run = serving.enter_context(live_view(live, out))
                out.print(
                    f"[bold]{proto.name}[/] on {device.identity} via [cyan]{url}[/]", highlight=False
                )
                show = not quiet and out.is_terminal
                lines = [StepLines(out, len(proto.steps))] if not quiet and not out.is_terminal else []
                with ProgressView(out, show) as view:
                    result = run(proto, device, store=store, progress=view, seed=seed, sinks=lines,
                                 meta=run_meta)
                    view.finish(completed=result.status in (RunStatus.PASSED, RunStatus.FAILED))
            finally:
                device.close()
            starts = {r.name: r.t_start_s for r in result.steps}
            show_verdicts(out, result.verdicts, starts, step_labels(result.steps, len(proto.steps)))
            for event in result.events:  # what the press could not provide data for
                if event.kind == "not-judged":
                    out.print(f"[yellow]{event.message}[/]", highlight=False, soft_wrap=True)
            if result.abort_reason:
                err.print(f"[bold red]aborted:[/] {result.abort_reason}", highlight=False, soft_wrap=True)
            if report is not None:
                from .report import write_run_report

                paths = write_run_report(result, report)
                out.print("report: " + ", ".join(str(p) for p in paths), highlight=False)
            colour = {"passed": "green", "failed": "red"}.get(result.status, "bold red")
            out.print(f"run {result.run_id}: [{colour}]{result.status.upper()}[/] (store {store.where})", highlight=False)
            if getattr(store, "note", None):
                out.print(f"[yellow]{store.note}[/]", highlight=False, soft_wrap=True)  # type: ignore[attr-defined]
    raise typer.Exit(result.exit_code)


def resolve_protocol(path: Path, rootdir: Path | None = None) -> Path:
    """A path as given; a bare name is looked up in the library (./protocols, then the
    shipped protocols). A missing bare name lists the known ones and suggests the closest."""
    from .library import find

    if path.exists() or path.parent != Path("."):
        return path  # load_protocol reports a missing path with its neighbours
    return find("protocols", path, rootdir)


@app.command("check")
def check_cmd(
    protocol: Annotated[list[Path], typer.Argument(help="Protocol or acceptance suite file(s) to validate.")],
) -> None:
    r"""Validate protocol and acceptance suite files without running them: every file, every
    error in it, then exit 2 if any was bad. A file under an acceptance/ folder, or with a
    \[force_verification] or \[safety] table, is validated as a suite."""
    from .check import check_files

    raise typer.Exit(check_files(protocol, out, err))


def _looks_like_suite(path: Path) -> bool:
    """An acceptance suite rather than a protocol: by its folder or its tables."""
    import tomllib

    if path.parent.name == "acceptance":
        return True
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return False  # load_protocol reports the problem
    return "steps" not in data and bool({"force_verification", "safety", "step_response"} & set(data))


@app.command("runs")
def runs_cmd(db: DbOpt = str(DEFAULT_DB)) -> None:
    """List the runs in the results store."""
    from .store import Store

    with user_errors():
        require_store(db)
        store = Store.open_for_reading(db)

        def took(r) -> str:
            if not (r.started and r.finished):
                return ""
            from datetime import datetime

            dt = datetime.fromisoformat(r.finished) - datetime.fromisoformat(r.started)
            return fmt_time(dt.total_seconds())

        if store.damage is not None:  # the runs that read whole, the others named below
            from .store_salvage import survey

            found = survey(store)
            listed, metas = found.intact, found.metas
        else:
            found, metas, listed = None, store.metas(), store.list_runs()
        rows = [
            (str(r.id), r.protocol_name, r.press_url, "" if r.seed is None else str(r.seed),
             (r.started or "")[:16].replace("T", " "), took(r), r.status,
             " ".join(f"{k}={v}" for k, v in metas.get(r.id, {}).items()))
            for r in listed
        ]
        runs_view(out, f"Runs in {db}", rows,
                  ("id", "protocol", "press", "seed", "started (UTC)", "took", "status", "meta"))
        store.close()
        if found is not None:
            from .store_salvage import damage_warning

            err.print(damage_warning(db, store.damage or "", found), highlight=False, markup=False)
            if found.damaged:  # a script must not take a partial listing for the store
                raise typer.Exit(EXIT_USAGE)


@app.command("export")
def export_cmd(
    run_id: Annotated[int, typer.Argument(help="Run id (see `presshil runs`).")],
    format: Annotated[str | None, typer.Option("--format", help="csv, parquet or bdf (Battery Data Format: .bdf.csv or .bdf.parquet; default: what the --output name ends in, else csv).")] = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Output file, or a folder given with a trailing / (created if needed; default: beside the store)."),
    ] = None,
    db: DbOpt = str(DEFAULT_DB),
) -> None:
    """Export one run's samples as CSV or Parquet.

    Without --output the file is run-ID.csv (or .parquet) in the results store's
    folder, never the current directory.
    """
    from .export_target import export_target
    from .store import Store

    with user_errors():
        target, fmt = export_target(output, run_id, format, store_folder(db))
        require_store(db)
        store = Store.open_for_reading(db)
        try:
            if fmt == "bdf":
                from .battery.commands import export_bdf_cmd

                path = export_bdf_cmd(store, run_id, target, db)
            else:
                path = store.export(run_id, target, fmt)
        finally:
            store.close()
        out.print(f"wrote {path}", highlight=False)
        _warn_damage(db, store, run_id)


def _warn_damage(db: str, store: object, run_id: int) -> None:
    """After an intact run was read from a damaged store: say so on stderr."""
    from .store_salvage import read_warning

    line = read_warning(db, getattr(store, "damage", None), run_id)
    if line is not None:
        err.print(line, highlight=False, markup=False)


@app.command("serve")
def serve_cmd(
    press: SimPressOpt = DEFAULT_PRESS,
    modbus_tcp: ServeTcpOpt = None,
    modbus_rtu: ModbusRtuOpt = None,
    serial: Annotated[str | None, typer.Option("--serial", help=PtyOrDevice)] = None,
    bind: BindOpt = "127.0.0.1",
    profile: Annotated[str | None, typer.Option("--profile", help="Serve through this device profile's map (name or path).")] = None,
    opcua: Annotated[str | None, typer.Option("--opcua", help="HOST:PORT for OPC UA (needs --profile).")] = None,
    live: Annotated[str | None, typer.Option("--live", help="Also serve a live view of the press on [HOST:]PORT.")] = None,
    tls_cert: Annotated[str | None, typer.Option("--tls-cert", help="Server certificate: Modbus/TCP Security (port 802); with --opcua, OPC UA security (RSA, application URI in subjectAltName).")] = None,
    tls_key: Annotated[str | None, typer.Option("--tls-key", help="Server private key.")] = None,
    tls_ca: Annotated[str | None, typer.Option("--tls-ca", help="CA that client certificates must chain to.")] = None,
    read_only: Annotated[bool, typer.Option("--read-only", help="Refuse every write.")] = False,
) -> None:
    """Serve a simulated press in real time over Modbus TCP/RTU and the serial line protocol."""
    from .device.serve import serve_main

    with user_errors():
        secured = bool(tls_cert or tls_key or tls_ca or read_only)
        if profile or opcua:  # a device's own map: see presshil.profiles
            if live is not None or read_only:
                raise ConfigError("--profile/--opcua serve a device's own map; --live and --read-only apply to the presshil map only")
            from .profiles.commands import profile_serve_main
            from .serving.tls import TlsConfig

            tls = TlsConfig.from_flags(tls_cert, tls_key, tls_ca)
            raise typer.Exit(profile_serve_main(press, profile or "", modbus_tcp, modbus_rtu, opcua, serial, bind, tls=tls))
        if live is not None:
            if secured:
                raise ConfigError("--live cannot be combined with --tls-* or --read-only yet; serve the secured press without --live")
            from .web.serve_live import serve_live_main

            code = serve_live_main(press, modbus_tcp, modbus_rtu, serial, bind, live)
        else:
            code = serve_main(press, modbus_tcp, modbus_rtu, serial, bind, tls_cert=tls_cert,
                              tls_key=tls_key, tls_ca=tls_ca, read_only=read_only)
    raise typer.Exit(code)


@app.command("accept")
def accept_cmd(
    press: PressOpt = DEFAULT_PRESS,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Reference force indicator URL (default: the sim's own).")
    ] = None,
    suite: Annotated[str, typer.Option("--suite", help="Suite in protocols/acceptance/ (name or path).")] = "standard",
    report: Annotated[Path | None, typer.Option("--report", help="Write the HTML report and JSON twin here.")] = None,
    meta: Annotated[
        list[str] | None, typer.Option("--meta", help="Operator metadata KEY=VALUE (repeatable).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    working_range: Annotated[str | None, typer.Option(
        "--working-range", help="Working pressures, MPa: 'A,B,C' or 'LO..HI' (default: the protocol library's).")] = None,
    db: Annotated[str | None, typer.Option("--db", envvar="PRESSHIL_DB", help="Results store whose audit trail records the acceptance (SQLite path or postgresql://…).")] = None,
    operator: Annotated[str | None, typer.Option("--operator", help="Who runs it, for the audit trail (default: the OS user).")] = None,
) -> None:
    """Acceptance-test a press: ISO 7500-1 / ASTM E4 force verification, response, hold, uniformity, safety."""
    from .acceptance.commands import accept_main

    with user_errors():
        pairs = {}
        for item in meta or []:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ConfigError(f"--meta takes KEY=VALUE, got {item!r}")
            pairs[key.strip()] = value.strip()
        code = accept_main(press, reference, suite, report, pairs, progress=not quiet,
                           working_range=working_range, db=db, operator=operator)
    raise typer.Exit(code)


@app.command("report")
def report_cmd(
    run_id: Annotated[int, typer.Argument(help="Run id (see `presshil runs`).")],
    db: DbOpt = str(DEFAULT_DB),
    output: Annotated[Path | None, typer.Option("--output", "-o", help="HTML file to write.")] = None,
    cycler: Annotated[Path | None, typer.Option("--cycler", help="The cycler's data file (BDF, or a text export with --mapping): voltage and current under the pressure, and a per-cycle table.")] = None,
    offset: Annotated[str, typer.Option("--offset", help="With --cycler: seconds added to the cycler's clock, or 'cycling'.")] = "0",
    mapping: Annotated[str | None, typer.Option("--mapping", help="With --cycler: column mapping of a text export (eclab, neware, or a TOML file).")] = None,
) -> None:
    """Render the HTML report of a stored run (with --cycler: beside the cell's electrochemistry)."""
    from .acceptance.commands import report_main

    with user_errors():
        require_store(db)
        if cycler is not None:
            from .battery.commands import report_with_cycler
            from .report import default_path
            from .store import Store

            store = Store.open_for_reading(db)
            try:
                paths = report_with_cycler(store, run_id, cycler, output or default_path(db, run_id, "html"),
                                           offset=offset, mapping=mapping)
            finally:
                store.close()
            out.print("wrote " + ", ".join(str(p) for p in paths), highlight=False)
            _warn_damage(db, store, run_id)
            raise typer.Exit(EXIT_OK)
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


# commands that live with their own packages, registered once the app exists
from .audit_cli import audit_app  # noqa: E402
from .battery.join_cli import join_cmd  # noqa: E402
from .profiles.commands import probe_cmd  # noqa: E402
from .push_cli import push_cmd  # noqa: E402
from .sweep.command import sweep_cmd  # noqa: E402
from .web.ui_cli import ui_cmd  # noqa: E402

app.command("probe")(probe_cmd)
app.command("sweep")(sweep_cmd)
app.command("ui")(ui_cmd)
app.command("join")(join_cmd)
app.command("push")(push_cmd)
app.add_typer(audit_app, name="audit")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(EXIT_ABORTED)


tidy_help(app)  # after every command is registered: plain help pages (see cli_help)


if __name__ == "__main__":
    main()
