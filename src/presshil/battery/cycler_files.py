"""A cycler's data file as columns on one time axis (Unix time, seconds).

Read: BDF CSV or Parquet (headers as preferred labels or machine-readable names), or a
cycler's own text export through a column mapping (TOML; ``eclab`` and ``neware`` ship with
presshil, see ``mappings/``), or a BioLogic ``.mpr`` file through galvani (optional). Every value comes out in the BDF unit of its column. A file
without ``Unix Time / s`` is placed by its ``Test Time / s`` from a start given by the caller
(the press run's start, so that ``--offset`` moves it).

Bad input is one :class:`ConfigError` naming the file and the column.
"""

from __future__ import annotations

import csv
import io
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..maps import bdf_columns as C

MAPPINGS = Path(__file__).with_name("mappings")

#: unit -> (dimension, factor to the SI/BDF unit of that dimension)
UNITS: dict[str, tuple[str, float]] = {
    "s": ("time", 1.0), "ms": ("time", 1e-3), "min": ("time", 60.0), "h": ("time", 3600.0),
    "V": ("voltage", 1.0), "mV": ("voltage", 1e-3),
    "A": ("current", 1.0), "mA": ("current", 1e-3), "uA": ("current", 1e-6),
    "µA": ("current", 1e-6),
    "Ah": ("charge", 1.0), "mAh": ("charge", 1e-3),
    "Wh": ("energy", 1.0), "mWh": ("energy", 1e-3),
    "W": ("power", 1.0), "mW": ("power", 1e-3),
    "degC": ("temperature", 1.0), "Pa": ("pressure", 1.0), "kPa": ("pressure", 1e3),
    "MPa": ("pressure", 1e6), "1": ("count", 1.0),
}


@dataclass
class CyclerTable:
    """A cycler file's rows: ``unix_s`` ascending, and each column in its BDF unit."""

    source: Path
    unix_s: np.ndarray
    test_time_s: np.ndarray
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    #: True when the file had its own Unix time (else placed by its test time)
    absolute: bool = True

    def __len__(self) -> int:
        return int(self.unix_s.size)


def _unit_of(label: str) -> str:
    return label.rsplit(" / ", 1)[1] if " / " in label else "1"


def convert(values: np.ndarray, unit: str, label: str, where: str) -> np.ndarray:
    """``values`` in ``unit`` → the unit of BDF column ``label``; ConfigError if they differ
    in kind (a voltage mapped onto a current) or the unit is unknown."""
    target = _unit_of(label)
    if unit not in UNITS or target not in UNITS or UNITS[unit][0] != UNITS[target][0]:
        known = ", ".join(u for u, (d, _) in UNITS.items() if target in UNITS and d == UNITS[target][0])
        raise ConfigError(f"{where}: unit {unit!r} cannot be converted to {label!r}"
                          + (f" (allowed: {known})" if known else ""))
    return values * (UNITS[unit][1] / UNITS[target][1])


def load_mapping(name_or_path: str) -> dict[str, Any]:
    """A column mapping by shipped name (``eclab``, ``neware``) or TOML path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = MAPPINGS / f"{name_or_path}.toml"
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in MAPPINGS.glob("*.toml")))
        raise ConfigError(f"{name_or_path}: no such mapping file or name (shipped: {shipped})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the mapping: {exc}") from None
    if not isinstance(data.get("columns"), dict) or not data["columns"]:
        raise ConfigError(f"{path}: a mapping needs a [columns] table (BDF label = {{ column = … }})")
    data["_path"] = str(path)
    return data


def read_cycler(path: Path, mapping: str | None = None, start_unix_s: float | None = None) -> CyclerTable:
    """Read a cycler file (see the module docstring); ``start_unix_s`` places a file that has
    test times only."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such cycler file")
    if mapping is not None:
        raw = _read_text_table(path, load_mapping(mapping))
    elif path.name.lower().endswith(".parquet"):
        raw = _read_parquet(path)
    elif path.suffix.lower() in (".mpr", ".res"):
        raw = _read_galvani(path)
    else:
        raw = _read_bdf_csv(path)
    return _table(path, raw, start_unix_s)


def _table(path: Path, cols: dict[str, np.ndarray], start_unix_s: float | None) -> CyclerTable:
    if C.UNIX_TIME in cols:
        unix, absolute = cols[C.UNIX_TIME], True
    elif C.TEST_TIME in cols:
        if start_unix_s is None:
            raise ConfigError(f"{path}: column {C.UNIX_TIME!r} missing and no start to place "
                              f"{C.TEST_TIME!r} from")
        unix, absolute = start_unix_s + cols[C.TEST_TIME], False
    else:
        raise ConfigError(f"{path}: no usable time column: needs {C.UNIX_TIME!r} or "
                          f"{C.TEST_TIME!r} (or a mapping naming one); columns: "
                          + ", ".join(cols)[:300])
    keep = np.isfinite(unix)
    if not keep.any():
        raise ConfigError(f"{path}: column {C.UNIX_TIME if absolute else C.TEST_TIME!r} has no numbers")
    order = np.argsort(unix[keep], kind="stable")
    out = {k: v[keep][order] for k, v in cols.items() if k not in (C.UNIX_TIME,)}
    test = out.pop(C.TEST_TIME, unix[keep][order] - unix[keep][order][0])
    return CyclerTable(path, unix[keep][order], test, out, absolute)


def _numbers(values: list[str], where: str) -> np.ndarray:
    try:
        return np.array([float(v) if v.strip() else np.nan for v in values], float)
    except ValueError:
        bad = next(v for v in values if v.strip() and not _is_float(v))
        raise ConfigError(f"{where}: {bad!r} is not a number") from None


def _is_float(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def _read_bdf_csv(path: Path) -> dict[str, np.ndarray]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    if not rows:
        raise ConfigError(f"{path}: empty file")
    names = [C.preferred(h) for h in rows[0]]
    body = rows[1:]
    cols: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        values = [r[j] if j < len(r) else "" for r in body]
        if name in (C.TEST_TIME, C.UNIX_TIME) or all(_is_float(v) or not v.strip() for v in values):
            cols[name] = _numbers(values, f"{path}: column {rows[0][j]!r}")
    return cols


def _read_parquet(path: Path) -> dict[str, np.ndarray]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ConfigError("reading Parquet needs pyarrow: pip install 'presshil[parquet]'") from exc
    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a bad file
        raise ConfigError(f"{path}: cannot read as Parquet: {exc}") from None
    cols = {}
    for name in table.column_names:
        col = table.column(name)
        try:
            cols[C.preferred(name)] = col.to_numpy(zero_copy_only=False).astype(float)
        except (ValueError, TypeError):
            continue  # text columns (Step Type) are not joined
    return cols


#: where a BioLogic .mpr file keeps the current, in order of preference (mA); the last is the
#: control current of a galvanostatic technique (GCPL), the setpoint rather than a reading
MPR_CURRENT = ("I/mA", "<I>/mA", "control/V/mA")


def _read_galvani(path: Path) -> dict[str, np.ndarray]:
    if path.suffix.lower() == ".res":
        raise ConfigError(f"{path}: Arbin .res files are not read (they need mdbtools); export "
                          "the cycler's data as CSV and give --mapping")
    try:
        from galvani import BioLogic  # optional: pip install 'presshil[galvani]'
    except ImportError:
        raise ConfigError(f"{path}: reading BioLogic .mpr files needs galvani: pip install "
                          "'presshil[galvani]' (or export as text and give --mapping eclab)") from None
    try:
        mpr = BioLogic.MPRfile(str(path))
    except Exception as exc:  # noqa: BLE001 - galvani raises many kinds for a bad file
        raise ConfigError(f"{path}: cannot read as a BioLogic .mpr file: {exc}") from None
    data = mpr.data
    names = data.dtype.names or ()
    if "time/s" not in names:
        raise ConfigError(f"{path}: no usable time column: needs 'time/s' (columns: "
                          f"{', '.join(names)})")
    cols = {C.TEST_TIME: np.asarray(data["time/s"], float)}
    start = getattr(mpr, "timestamp", None)
    if start is not None:  # EC-Lab's local time without a zone: read as UTC (see --offset)
        t0 = (start if start.tzinfo else start.replace(tzinfo=UTC)).timestamp()
        cols[C.UNIX_TIME] = t0 + cols[C.TEST_TIME]
    if "Ewe/V" in names:
        cols[C.VOLTAGE] = np.asarray(data["Ewe/V"], float)
    for name in MPR_CURRENT:
        if name in names:
            cols[C.CURRENT] = np.asarray(data[name], float) * 1e-3
            break
    if "cycle number" in names:
        cols[C.CYCLE_COUNT] = np.asarray(data["cycle number"], float)
    return cols


def _read_text_table(path: Path, mapping: dict[str, Any]) -> dict[str, np.ndarray]:
    where_map = mapping["_path"]
    encoding = mapping.get("encoding", "utf-8")
    try:
        text = path.read_text(encoding=encoding)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read as {encoding}: {exc}") from None
    lines = text.splitlines()
    start = _header_line(lines, mapping, path)
    delimiter = mapping.get("delimiter", ",")
    rows = list(csv.reader(io.StringIO("\n".join(lines[start:])), delimiter=delimiter))
    if not rows:
        raise ConfigError(f"{path}: no header line")
    header = [h.strip() for h in rows[0]]
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    decimal = mapping.get("decimal", ".")
    cols: dict[str, np.ndarray] = {}
    for label, spec in mapping["columns"].items():
        if not isinstance(spec, dict) or "column" not in spec:
            raise ConfigError(f"{where_map}: columns.{label!r} needs column = \"…\"")
        name = spec["column"]
        if name not in header:
            if spec.get("optional", False):
                continue
            raise ConfigError(f"{path}: mapping {where_map} names column {name!r}, which the "
                              f"file lacks (its columns: {', '.join(header)[:300]})")
        j = header.index(name)
        values = [r[j].strip() if j < len(r) else "" for r in body]
        where = f"{path}: column {name!r}"
        if "datetime" in spec:
            cols[label] = _datetimes(values, spec["datetime"], where)
            continue
        if decimal != ".":
            values = [v.replace(decimal, ".") for v in values]
        cols[label] = convert(_numbers(values, where), spec.get("unit", _unit_of(label)),
                              label, f"{where} (mapping {where_map})")
    if "start" in mapping and C.TEST_TIME in cols and C.UNIX_TIME not in cols:
        t0 = _start_from_preamble(lines[:start], mapping["start"], path)
        if t0 is not None:
            cols[C.UNIX_TIME] = t0 + cols[C.TEST_TIME]
    return cols


def _header_line(lines: list[str], mapping: dict[str, Any], path: Path) -> int:
    marker = mapping.get("header_count_marker")  # EC-Lab: "Nb header lines : 53"
    if marker:
        for line in lines[:5]:
            if line.startswith(marker):
                try:
                    return int(line.split(":")[-1]) - 1
                except ValueError:
                    break
        raise ConfigError(f"{path}: no {marker!r} line: not the text export the mapping expects")
    return int(mapping.get("skip_lines", 0))


def _datetimes(values: list[str], fmt: str, where: str) -> np.ndarray:
    out = np.empty(len(values))
    for i, v in enumerate(values):
        try:
            dt = datetime.strptime(v, fmt)
        except ValueError:
            raise ConfigError(f"{where}: {v!r} does not match the date format {fmt!r}") from None
        out[i] = (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
    return out


def _start_from_preamble(lines: list[str], spec: dict[str, Any], path: Path) -> float | None:
    for line in lines:
        if line.startswith(spec["prefix"]):
            value = line[len(spec["prefix"]):].strip()
            return float(_datetimes([value], spec["format"], f"{path}: {spec['prefix']!r}")[0])
    return None


__all__ = ["MAPPINGS", "UNITS", "CyclerTable", "convert", "load_mapping", "read_cycler"]
