"""``presshil join RUN_ID CYCLER_FILE``: the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..library import DEFAULT_DB
from ..store_url import StoreOpt, require_store


def join_cmd(
    run_id: Annotated[int, typer.Argument(help="Run id (see `presshil runs`).")],
    cycler_file: Annotated[Path, typer.Argument(help="The cycler's data: BDF .csv/.parquet, or a text export with --mapping.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="BDF file to write (.bdf.csv or .bdf.parquet; default run-ID-joined.bdf.csv beside the store).")] = None,
    offset: Annotated[str, typer.Option("--offset", help="Seconds added to the cycler's clock, or 'cycling' to line up the cycler's first current with the run's start of cycling.")] = "0",
    onto: Annotated[str, typer.Option("--onto", help="cycler: press values onto the cycler's rows; press: the reverse.")] = "cycler",
    mapping: Annotated[str | None, typer.Option("--mapping", help="Column mapping of a cycler's text export: eclab, neware, or a TOML file.")] = None,
    max_gap: Annotated[float | None, typer.Option("--max-gap", help="Seconds between two samples beyond which a record has a gap (default 10 × its median interval).")] = None,
    db: StoreOpt = str(DEFAULT_DB),
) -> None:
    """Join a cycler's data with a stored press run on Unix time and write a BDF file.

    A gap in either record stays a gap (an empty cell), never interpolated across.
    Exit code 2 on bad input, nothing written.
    """
    from ..cli_common import out, user_errors
    from ..errors import ConfigError
    from ..report import default_path
    from ..store import Store
    from .joining import join_run

    with user_errors():
        require_store(db)
        if max_gap is not None and not max_gap > 0:
            raise ConfigError(f"--max-gap must be a positive number of seconds, not {max_gap!r}")
        store = Store.open_for_reading(db)
        try:
            target = output or default_path(db, run_id, "joined.bdf.csv").with_name(
                f"run-{run_id}-joined.bdf.csv")
            if target.is_dir():
                target = target / f"run-{run_id}-joined.bdf.csv"
            s = join_run(store, run_id, cycler_file, target, offset=offset, onto=onto,
                         mapping=mapping, max_gap_s=max_gap)
        finally:
            store.close()
        out.print(f"wrote {s.path}: {s.rows} rows, {s.rows_joined} with values from the "
                  f"{'press' if onto == 'cycler' else 'cycler'}, span {s.span_s:.1f} s, widest "
                  f"interval interpolated {s.max_interpolation_gap_s:.3f} s, cycler clock "
                  f"offset {s.offset_s:+.3f} s", highlight=False)
