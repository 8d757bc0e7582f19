"""Where an export goes and in which format: the one place ``presshil export`` decides it.

A format is registered once in :data:`FORMATS` with the file suffixes it writes (the first
is its default); the rest follows:

- ``--output`` ending in ``/`` (or naming an existing folder) is a folder, created if needed,
  and the file in it is ``run-ID`` with the format's suffix;
- ``--output x.parquet`` without ``--format`` exports Parquet: the name decides;
- a name whose suffix is another format's than ``--format`` is refused (never CSV text under a
  ``.parquet`` name);
- a run with no stored samples is refused with the reason and how to get them, instead of a
  header-only file.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from .errors import ConfigError

#: format name -> file suffixes it writes, the default first; a new format adds itself here
FORMATS: dict[str, tuple[str, ...]] = {
    "csv": (".csv",), "parquet": (".parquet",), "bdf": (".bdf.csv", ".bdf.parquet"),
}
DEFAULT_FORMAT = "csv"


def format_of(name: str) -> str | None:
    """The format a file name's suffix says (the longest registered suffix wins), or None."""
    best: tuple[int, str] | None = None
    for fmt, suffixes in FORMATS.items():
        for suffix in suffixes:
            if name.lower().endswith(suffix) and (best is None or len(suffix) > best[0]):
                best = (len(suffix), fmt)
    return best[1] if best else None


def export_target(output: str | None, run_id: int, fmt: str | None, default_dir: Path) -> tuple[Path, str]:
    """The file to write and its format, from ``--output`` and ``--format`` as given (either may
    be None). Raises :class:`ConfigError` for an unknown format or a name that says another."""
    if fmt is not None and fmt not in FORMATS:
        raise ConfigError(f"--format must be one of: {', '.join(FORMATS)}, not {fmt!r}")
    if output is None or output.endswith(("/", os.sep)) or Path(output).is_dir():
        chosen = fmt or DEFAULT_FORMAT
        folder = default_dir if output is None else Path(output)
        return folder / f"run-{run_id}{FORMATS[chosen][0]}", chosen
    path = Path(output)
    named = format_of(path.name)
    if fmt is None:
        return path, named or DEFAULT_FORMAT
    if named is not None and named != fmt:
        raise ConfigError(f"--output {output}: the name says {named} but --format is {fmt}; "
                          f"name it …{FORMATS[fmt][0]} or leave --format out")
    return path, fmt


def no_samples_reason(info: Any) -> str:
    """Why run ``info`` has nothing to export, and the command that makes its samples again."""
    proto = info.protocol_source or info.protocol_name
    rerun = f"presshil run {shlex.quote(str(proto))} --press {shlex.quote(info.press_url)}"
    return (f"no samples stored for run {info.id} ({info.status}; a passed sweep variant keeps none "
            f"unless the sweep ran with --keep-traces all); rerun it with: {rerun}")


def require_samples(info: Any) -> None:
    """Refuse to export a run with no stored samples (a header-only file would look like data)."""
    if not info.n_samples:
        raise ConfigError(no_samples_reason(info))


__all__ = ["DEFAULT_FORMAT", "FORMATS", "export_target", "format_of", "no_samples_reason", "require_samples"]
