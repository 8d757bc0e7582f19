"""The command-line side of the battery data: ``export --format bdf`` and ``presshil join``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..report import default_path
from .export import export_bdf


def export_bdf_cmd(store: Any, run_id: int, output: Path | None, db: str | Path) -> Path:
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
    from datetime import datetime

    from ..acceptance.stored import render_stored_run
    from .cycles import cycler_section
    from .join import check_overlap
    from .joining import load_cycler, resolve_offset

    table = load_cycler(store, run_id, cycler, mapping)
    shift = resolve_offset(store, run_id, table, offset)
    t0 = datetime.fromisoformat(store.get_run(run_id).started_utc).timestamp()
    check_overlap(table.unix_s + shift, t0 + store.load_trace(run_id).t, str(cycler))
    section = cycler_section(store, run_id, table, shift)
    output.parent.mkdir(parents=True, exist_ok=True)
    png = output.with_name(f"run-{run_id}-cycles.png")
    png.write_bytes(section.pop("png"))
    output.write_text(render_stored_run(store, run_id, {"cycler": section}), encoding="utf-8")
    return output, png
