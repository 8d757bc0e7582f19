"""Writing a Battery Data Format file: a table of columns as ``.bdf.csv`` or
``.bdf.parquet``, and where its metadata sidecar goes. The column names are
:mod:`presshil.maps.bdf_columns`; what a press run or a cycler puts in them is their
writers' (:mod:`presshil.battery.export`, :mod:`presshil.sim.cycler_file`)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .errors import ConfigError


def bdf_kind(path: Path) -> str:
    """``csv`` or ``parquet`` from a BDF file name (``X.bdf.csv``, ``X.bdf.parquet``)."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    return "csv"


def sidecar_path(path: Path) -> Path:
    """The metadata sidecar of a BDF file: ``run-1.bdf.csv`` → ``run-1.bdf.metadata.json``."""
    return path.with_suffix(".metadata.json")


def _cell(x: float) -> str:
    # repr is the shortest text that reads back as the same float; a gap is an empty cell
    return "" if x != x else repr(x)


def write_columns(path: Path, names: list[str], chunks: Iterator[list[np.ndarray]],
                  kind: str | None = None) -> None:
    """Write column chunks as BDF CSV, or Parquet (``kind``, else by ``path``'s extension);
    integer arrays stay integers, NaN is an empty cell (a null in Parquet)."""
    kind = kind or bdf_kind(path)
    (_write_csv if kind == "csv" else _write_parquet)(path, chunks, names)


def _write_csv(path: Path, chunks: Iterator[list[np.ndarray]], names: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(names)
        for cols in chunks:
            text = [[str(v) for v in c.tolist()] if c.dtype.kind in "iu"
                    else [_cell(v) for v in c.tolist()] for c in cols]
            out.writerows(zip(*text, strict=True))


def _write_parquet(path: Path, chunks: Iterator[list[np.ndarray]], names: list[str]) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ConfigError("parquet export needs pyarrow: pip install 'presshil[parquet]' "
                          "(or write a .bdf.csv file)") from exc
    writer = None
    try:
        for cols in chunks:
            arrays = [pa.array(c) if c.dtype.kind in "iu" else pa.array(c, mask=np.isnan(c))
                      for c in cols]
            table = pa.Table.from_arrays(arrays, names=names)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
        if writer is None:  # no rows: the header alone
            schema = pa.schema([pa.field(n, pa.float64()) for n in names])
            writer = pq.ParquetWriter(path, schema)
    finally:
        if writer is not None:
            writer.close()


__all__ = ["bdf_kind", "sidecar_path", "write_columns"]
