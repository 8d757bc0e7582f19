"""A stored run's samples as a CSV or Parquet file, written chunk by chunk.

Columns: ``t_s, setpoint_mpa, pressure_mpa, force_kn, position_mm, status`` and one
``chN_kn`` per load cell; channel forces keep their stored float32 values exactly.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .trace import Trace

EXPORT_COLUMNS = ("t_s", "setpoint_mpa", "pressure_mpa", "force_kn", "position_mm", "status")


def write_csv(path: Path, chunks: Iterator[Trace], width: int) -> None:
    header = [*EXPORT_COLUMNS, *(f"ch{i + 1}_kn" for i in range(width))]
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        for piece in chunks:
            # str() of a float32 is its shortest exact decimal ("1.1", not 1.100000023841858).
            ch = [[str(x) for x in row] for row in piece.channels.astype(np.float32)]
            cols = [piece.t.tolist(), piece.setpoint.tolist(), piece.pressure.tolist(),
                    piece.force.tolist(), piece.position.tolist(), piece.status.tolist()]
            out.writerows([*fixed, *chans] for *fixed, chans in zip(*cols, ch, strict=False))


def write_parquet(path: Path, chunks: Iterator[Trace], width: int) -> None:
    try:
        import pyarrow as pa  # optional: imported on use
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ConfigError("parquet export needs pyarrow: pip install 'presshil[parquet]' "
                          "(or export --format csv)") from exc
    fields = [pa.field(c, pa.int32() if c == "status" else pa.float64()) for c in EXPORT_COLUMNS]
    schema = pa.schema(fields + [pa.field(f"ch{i + 1}_kn", pa.float32()) for i in range(width)])
    with pq.ParquetWriter(path, schema) as writer:
        for piece in chunks:
            arrays = [piece.t, piece.setpoint, piece.pressure, piece.force, piece.position,
                      piece.status.astype(np.int32)]
            arrays += [piece.channels[:, i].astype(np.float32) for i in range(width)]
            writer.write_table(pa.Table.from_arrays([pa.array(a) for a in arrays],
                                                    schema=schema))


__all__ = ["EXPORT_COLUMNS", "write_csv", "write_parquet"]
