"""A stored run as a Battery Data Format file (``.bdf.csv`` or ``.bdf.parquet``) and its
metadata sidecar (``.bdf.metadata.json``, the name the format's own reader looks for).

Columns, SI units as the format asks: ``Test Time / s`` (run time), ``Unix Time / s`` (the
run's start plus run time), ``Voltage / V`` and ``Current / A`` left empty (required by the
format; a press measures neither: the cycler's file brings them, see :mod:`.join`),
``Applied Pressure / Pa``, ``Step Count / 1`` and ``Cycle Count / 1``
(:mod:`presshil.run_record`), ``Ambient Temperature / degC`` when the press reported a
temperature, then presshil's own: setpoint, force, ram position, status and
one force column per load cell.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..bdf_file import bdf_kind, sidecar_path, write_columns
from ..errors import ConfigError
from ..export_target import require_samples
from ..maps import bdf_columns as C
from ..run_record import StepStarts, step_starts
from ..store_temperature import temperature_of
from ..trace import Trace


def header(n_channels: int, temperature: bool = False) -> list[str]:
    """The columns of a press run's BDF file with ``n_channels`` load cells (and the ambient
    temperature when the press reported one)."""
    return [C.TEST_TIME, C.UNIX_TIME, C.VOLTAGE, C.CURRENT, C.APPLIED_PRESSURE, C.STEP_COUNT,
            C.CYCLE_COUNT, *([C.AMBIENT_TEMPERATURE] if temperature else []), C.SETPOINT_PRESSURE, C.APPLIED_FORCE, C.RAM_POSITION, C.PRESS_STATUS,
            *(C.channel_force(i + 1) for i in range(n_channels))]


def _columns(piece: Trace, t0_unix: float, starts: StepStarts,
             temperature: Callable[[Trace], np.ndarray] | None = None) -> list[np.ndarray]:
    steps, cycles = starts.counts(piece.t)
    nan = np.full(len(piece), np.nan)
    cols = [piece.t, t0_unix + piece.t, nan, nan, piece.pressure * 1e6, steps, cycles,
            *([temperature(piece)] if temperature is not None else []), piece.setpoint * 1e6, piece.force * 1e3, piece.position * 1e-3,
            piece.status.astype(np.int64)]
    # load cells are stored as float32 kN; N as float64 of that exact value
    cols += [piece.channels[:, i].astype(np.float32).astype(float) * 1e3
             for i in range(piece.n_channels)]
    return cols


def metadata(store: Any, run_id: int, meta: dict[str, str] | None = None) -> dict[str, Any]:
    """The sidecar document: BDF's own top-level keys, presshil's record under ``extras``."""
    info = store.get_run(run_id)
    record = {
        "format": "presshil run", "bdf_version": C.BDF_VERSION, "run_id": info.id,
        "protocol": info.protocol_name, "protocol_source": info.protocol_source,
        "protocol_sha256": info.protocol_sha256, "press_url": info.press_url,
        "press_identity": info.identity, "firmware": info.firmware_version,
        "profile": _profile(info.press_url), "seed": info.seed, "status": info.status,
        "started_utc": info.started_utc, "finished_utc": info.finished_utc,
        "specimen": _specimen(info.protocol_text),
        "meta": dict(meta if meta is not None else store.meta(run_id)),
    }
    return {"extras": {"presshil": record}}


def _profile(url: str) -> str | None:
    from ..urls import stored_param

    return stored_param(url, "profile")


def _specimen(text: str) -> dict[str, Any]:
    import tomllib

    try:
        value = tomllib.loads(text).get("specimen", {})
    except tomllib.TOMLDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def export_bdf(store: Any, run_id: int, path: Path) -> Path:
    """Write run ``run_id`` as BDF to ``path`` (CSV, or Parquet by extension) and its sidecar;
    both written beside the target and renamed on success (never a partial file)."""
    info = store.get_run(run_id)
    require_samples(info)  # never a header-only file that looks like an export
    width = info.n_channels or 0
    t0 = datetime.fromisoformat(info.started_utc).timestamp()
    starts = step_starts(store.steps(run_id), store.iterations(run_id))
    temperature = temperature_of(store, run_id)
    chunks = (_columns(p, t0, starts, temperature) for p in store.iter_chunks(run_id))
    side = sidecar_path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    tmp_side = side.with_name(f".{side.name}.{os.getpid()}.partial")
    try:
        write_columns(tmp, header(width, temperature is not None), chunks, bdf_kind(path))
        tmp_side.write_text(json.dumps(metadata(store, run_id), indent=2, default=str) + "\n",
                            encoding="utf-8")
        os.replace(tmp, path)
        os.replace(tmp_side, side)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the export: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
        tmp_side.unlink(missing_ok=True)
    return path


__all__ = ["bdf_kind", "export_bdf", "header", "metadata", "sidecar_path", "write_columns"]
