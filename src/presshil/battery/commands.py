"""The command-line side of the battery data: ``export --format bdf`` and ``presshil join``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..report import default_path
from .export import export_bdf


def export_bdf_cmd(store: Any, run_id: int, output: Path | None, db: Path) -> Path:
    """Export run ``run_id`` as BDF: to ``output`` (a ``.bdf.csv``/``.bdf.parquet`` file or a
    folder), else ``run-ID.bdf.csv`` beside the store."""
    if output is None:
        path = default_path(db, run_id, "bdf.csv")
    elif output.is_dir():
        path = output / f"run-{run_id}.bdf.csv"
    else:
        path = output
    path.parent.mkdir(parents=True, exist_ok=True)
    return export_bdf(store, run_id, path)


def report_with_cycler(store: Any, run_id: int, cycler: Path, output: Path, *,
                       offset: str = "0", mapping: str | None = None) -> tuple[Path, Path]:
    """Write the run's HTML report with the cycler's section, and the figure as a PNG beside
    it (``run-ID-cycles.png``); returns both paths."""
    from ..acceptance.stored import render_stored_run
    from ..errors import ConfigError
    from ..run_record import step_starts
    from . import columns as C
    from .cycles import cycler_section
    from .join import check_overlap, estimate_offset
    from .joining import load_cycler

    table = load_cycler(store, run_id, cycler, mapping)
    from datetime import datetime

    t0 = datetime.fromisoformat(store.get_run(run_id).started_utc).timestamp()
    if offset == "cycling":
        cycles = step_starts(store.events(run_id)).cycles_s
        start = float(t0 + cycles[0]) if cycles.size else None
        shift = estimate_offset(start, table.unix_s, table.columns.get(C.CURRENT), str(cycler))
    else:
        try:
            shift = float(offset)
        except ValueError:
            raise ConfigError(f"--offset takes SECONDS or 'cycling', not {offset!r}") from None
    trace_t = store.load_trace(run_id).t
    check_overlap(table.unix_s + shift, t0 + trace_t, str(cycler))
    section = cycler_section(store, run_id, table, shift)
    output.parent.mkdir(parents=True, exist_ok=True)
    png = output.with_name(f"run-{run_id}-cycles.png")
    png.write_bytes(section.pop("png"))
    output.write_text(render_stored_run(store, run_id, {"cycler": section}), encoding="utf-8")
    return output, png
