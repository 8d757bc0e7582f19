"""A stored run's samples as a CSV or Parquet file, written chunk by chunk.

Columns: ``t_s, setpoint_mpa, pressure_mpa, force_kn, position_mm, status`` and one
``chN_kn`` per load cell; channel forces keep their stored float32 values exactly. A run whose
press reported a temperature has a last column ``temperature_c`` (empty / null where a sample
has none); other runs' files are as before. A CSV file ends with ``status_flags``: the
``status`` bits by name (``READY|REGULATING|AT_SETPOINT``; empty when none is set; a bit the
map does not name reads ``0x…``), so a person need not decode the bitmask.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .state import Status
from .trace import Trace

EXPORT_COLUMNS = ("t_s", "setpoint_mpa", "pressure_mpa", "force_kn", "position_mm", "status")


#: the CSV's last column: the status bits by name
STATUS_FLAGS_COLUMN = "status_flags"
_KNOWN_BITS = sum(int(m.value) for m in Status)


def status_flags(bits: int) -> str:
    """``READY|REGULATING|AT_SETPOINT`` for a status word; empty when no bit is set; bits
    without a name in the map as one hexadecimal number at the end (``READY|0x20``)."""
    bits = int(bits)
    names = [m.name for m in Status if bits & m.value and m.name]
    unknown = bits & ~_KNOWN_BITS
    if unknown:
        names.append(f"0x{unknown:x}")
    return "|".join(names)


#: a function giving the temperature (°C, NaN: none) of each sample of a chunk
TemperatureOf = Callable[[Trace], np.ndarray]


def write_csv(path: Path, chunks: Iterator[Trace], width: int,
              temperature: TemperatureOf | None = None) -> None:
    header = [*EXPORT_COLUMNS, *(f"ch{i + 1}_kn" for i in range(width)),
              *(["temperature_c"] if temperature is not None else []), STATUS_FLAGS_COLUMN]
    flags: dict[int, str] = {}  # a run has a handful of distinct status words
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        for piece in chunks:
            words = piece.status.tolist()
            named = [flags[w] if w in flags else flags.setdefault(w, status_flags(w)) for w in words]
            # str() of a float32 is its shortest exact decimal ("1.1", not 1.100000023841858).
            ch = [[str(x) for x in row] for row in piece.channels.astype(np.float32)]
            cols = [piece.t.tolist(), piece.setpoint.tolist(), piece.pressure.tolist(),
                    piece.force.tolist(), piece.position.tolist(), piece.status.tolist()]
            if temperature is not None:
                temp = ["" if c != c else repr(c) for c in temperature(piece).tolist()]
                out.writerows([*fixed, *chans, c, f] for *fixed, chans, c, f
                              in zip(*cols, ch, temp, named, strict=False))
                continue
            out.writerows([*fixed, *chans, f] for *fixed, chans, f
                          in zip(*cols, ch, named, strict=False))


def write_parquet(path: Path, chunks: Iterator[Trace], width: int,
                  temperature: TemperatureOf | None = None) -> None:
    try:
        import pyarrow as pa  # optional: imported on use
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ConfigError("parquet export needs pyarrow: pip install 'presshil[parquet]' "
                          "(or export --format csv)") from exc
    fields = [pa.field(c, pa.int32() if c == "status" else pa.float64()) for c in EXPORT_COLUMNS]
    schema = pa.schema(fields + [pa.field(f"ch{i + 1}_kn", pa.float32()) for i in range(width)]
                       + ([pa.field("temperature_c", pa.float64())] if temperature else []))
    with pq.ParquetWriter(path, schema) as writer:
        for piece in chunks:
            arrays = [piece.t, piece.setpoint, piece.pressure, piece.force, piece.position,
                      piece.status.astype(np.int32)]
            arrays += [piece.channels[:, i].astype(np.float32) for i in range(width)]
            pieces = [pa.array(a) for a in arrays]
            if temperature is not None:
                c = temperature(piece)
                pieces.append(pa.array(c, mask=np.isnan(c)))
            writer.write_table(pa.Table.from_arrays(pieces, schema=schema))


__all__ = ["EXPORT_COLUMNS", "STATUS_FLAGS_COLUMN", "status_flags", "write_csv", "write_parquet"]
