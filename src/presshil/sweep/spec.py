"""What a sweep varies: ``--vary KEY=SPEC`` parsing and the sweep specification.

SPEC is one of::

    a,b,c                        a list of values (numbers, or names for keys such as specimen)
    lo..hi                       a uniform range (Monte Carlo), or lo..hi:N evenly spaced for --grid
    normal(mu,sigma)             a normal distribution
    truncnormal(mu,sigma,lo,hi)  a normal distribution cut to [lo, hi]

A sweep is also a TOML file with a ``[sweep]`` table (see ``docs/sweeps.md``).
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError

#: points per axis of ``lo..hi`` on a grid when the range does not say (``lo..hi:N``)
DEFAULT_GRID_STEPS = 5
#: variants of a Monte Carlo sweep when neither --runs nor the file says
DEFAULT_RUNS = 32
METHODS = ("lhs", "sobol")

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*({_NUM})\s*\.\.\s*({_NUM})\s*(?::\s*(\d+)\s*)?$")
_CALL = re.compile(r"^\s*([a-z_]+)\s*\((.*)\)\s*$")


class SweepError(ConfigError):
    """A sweep that cannot start: bad spec, key, range, press or cluster (exit code 2)."""


@dataclass(frozen=True)
class Dist:
    """How one key varies. ``values`` for a list; ``params`` for a range or a distribution."""

    kind: Literal["values", "range", "normal", "truncnormal"]
    values: tuple[float | str, ...] = ()
    params: tuple[float, ...] = ()
    grid_steps: int | None = None

    @property
    def numeric(self) -> bool:
        """True when every value this key takes is a number."""
        return self.kind != "values" or all(isinstance(v, (int, float)) for v in self.values)

    def support(self) -> tuple[float, float]:
        """Smallest and largest value the key can take (±inf for an untruncated normal)."""
        if self.kind == "values":
            nums = [float(v) for v in self.values]  # only called when numeric
            return min(nums), max(nums)
        if self.kind == "range":
            return self.params[0], self.params[1]
        if self.kind == "truncnormal":
            return self.params[2], self.params[3]
        return -math.inf, math.inf

    def text(self) -> str:
        """The spec as the user would write it."""
        if self.kind == "values":
            return ",".join(_fmt(v) for v in self.values)
        if self.kind == "range":
            lo, hi = self.params
            return f"{_fmt(lo)}..{_fmt(hi)}" + (f":{self.grid_steps}" if self.grid_steps else "")
        return f"{self.kind}({','.join(_fmt(p) for p in self.params)})"


@dataclass(frozen=True)
class Vary:
    """One varied key and its distribution."""

    key: str
    dist: Dist


@dataclass(frozen=True)
class SweepSpec:
    """Everything that defines a sweep's variants: the same spec gives the same variants."""

    protocol: str
    press_url: str
    vary: tuple[Vary, ...]
    runs: int | None = None
    grid: bool = False
    seed: int = 0
    method: Literal["lhs", "sobol"] = "lhs"
    batch_size: int | None = None
    #: ``protocol``: PROTOCOL is a protocol file; ``suite``: an acceptance suite (presshil accept)
    kind: Literal["protocol", "suite"] = "protocol"

    def to_json(self) -> str:
        """A JSON text that :meth:`from_json` turns back into the same spec."""
        data = asdict(self)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SweepSpec:
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        vary = tuple(
            Vary(v["key"], Dist(v["dist"]["kind"], tuple(v["dist"]["values"]),
                                tuple(v["dist"]["params"]), v["dist"]["grid_steps"]))
            for v in data.pop("vary")
        )
        return cls(vary=vary, **data)


def _fmt(v: float | str) -> str:
    if isinstance(v, str):
        return v
    return format(v, ".10g")


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_dist(key: str, spec: str | list[Any] | float, where: str = "--vary") -> Dist:
    """Parse the SPEC of ``KEY=SPEC``; a :class:`SweepError` names the key and what is allowed."""
    here = f"{where} {key}"
    if isinstance(spec, list):
        return _values(here, [str(v) if not isinstance(v, (int, float)) else v for v in spec])
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return _values(here, [spec])
    if not isinstance(spec, str) or not spec.strip():
        raise SweepError(f"{here}: empty spec; use a,b,c or lo..hi or normal(mu,sigma) "
                         "or truncnormal(mu,sigma,lo,hi)")
    text = spec.strip()
    if m := _RANGE.match(text):
        lo, hi = float(m[1]), float(m[2])
        if not lo < hi:
            raise SweepError(f"{here}={text}: a range needs lo < hi, got {m[1]}..{m[2]}")
        steps = int(m[3]) if m[3] else None
        if steps is not None and steps < 2:
            raise SweepError(f"{here}={text}: a grid range needs at least 2 points (lo..hi:N, N ≥ 2)")
        return Dist("range", params=(lo, hi), grid_steps=steps)
    if m := _CALL.match(text):
        name, args = m[1], [a.strip() for a in m[2].split(",")]
        nums = [_number(a) for a in args]
        want = {"normal": 2, "truncnormal": 4}
        if name not in want:
            raise SweepError(f"{here}={text}: unknown distribution '{name}'; "
                             "allowed: normal(mu,sigma), truncnormal(mu,sigma,lo,hi)")
        if len(args) != want[name] or any(n is None for n in nums):
            raise SweepError(f"{here}={text}: {name} takes {want[name]} finite numbers, got {m[2]!r}")
        params = tuple(float(n) for n in nums)  # type: ignore[arg-type]
        if params[1] <= 0:
            raise SweepError(f"{here}={text}: sigma must be > 0, got {_fmt(params[1])}")
        if name == "truncnormal":
            mu, _, lo, hi = params
            if not lo < hi:
                raise SweepError(f"{here}={text}: truncnormal needs lo < hi, got {_fmt(lo)}, {_fmt(hi)}")
            if not lo <= mu <= hi:
                raise SweepError(f"{here}={text}: mu {_fmt(mu)} lies outside [{_fmt(lo)}, {_fmt(hi)}]")
        return Dist(name, params=params)  # type: ignore[arg-type]
    if ".." in text:
        raise SweepError(f"{here}={text}: a range is lo..hi with two numbers (lo..hi:N on a grid)")
    items = [t.strip() for t in text.split(",")]
    if any(not t for t in items):
        raise SweepError(f"{here}={text}: empty item in the value list")
    parsed: list[float | str] = []
    for t in items:
        n = _number(t)
        parsed.append(t if n is None else (int(n) if re.fullmatch(r"[-+]?\d+", t) else n))
    return _values(here, parsed)


def _values(here: str, values: list[Any]) -> Dist:
    if not values:
        raise SweepError(f"{here}: empty value list")
    for v in values:
        if isinstance(v, float) and not math.isfinite(v):
            raise SweepError(f"{here}: value {v} is not finite")
    if len(set(map(str, values))) != len(values):
        raise SweepError(f"{here}: repeated value in {','.join(map(str, values))}")
    return Dist("values", values=tuple(values))


def parse_vary(item: str, where: str = "--vary") -> Vary:
    """Parse one ``KEY=SPEC``."""
    key, sep, spec = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise SweepError(f"{where} takes KEY=SPEC (e.g. load_cells.gain_error_pct=-1..1), got {item!r}")
    return Vary(key, parse_dist(key, spec, where))


def build_spec(
    protocol: str,
    press_url: str,
    vary: list[Vary],
    *,
    runs: int | None,
    grid: bool,
    seed: int,
    method: str = "lhs",
    batch_size: int | None = None,
    kind: str = "protocol",
) -> SweepSpec:
    """Check the combination of options and return the spec."""
    if not vary:
        raise SweepError("a sweep needs at least one --vary KEY=SPEC")
    keys = [v.key for v in vary]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise SweepError(f"--vary: key(s) given twice: {', '.join(dup)}")
    if grid and runs is not None:
        raise SweepError("--runs and --grid exclude each other: a grid's size is the product of its axes")
    if runs is not None and runs < 1:
        raise SweepError(f"--runs must be ≥ 1, got {runs}")
    if seed < 0:
        raise SweepError(f"--seed must be ≥ 0, got {seed}")
    if method not in METHODS:
        raise SweepError(f"sampling method must be one of {', '.join(METHODS)}, got {method!r}")
    if batch_size is not None and batch_size < 1:
        raise SweepError(f"batch size must be ≥ 1, got {batch_size}")
    if grid:
        for v in vary:
            if v.dist.kind in ("normal", "truncnormal"):
                raise SweepError(f"--vary {v.key}={v.dist.text()}: a distribution cannot be put on "
                                 "a grid; use a value list or lo..hi:N with --grid")
    elif runs is None:
        runs = DEFAULT_RUNS
    if kind not in ("protocol", "suite"):
        raise SweepError(f"a sweep runs a protocol or an acceptance suite, not {kind!r}")
    return SweepSpec(protocol, press_url, tuple(vary), None if grid else runs, grid, seed,
                     method, batch_size, kind)  # type: ignore[arg-type]


_FILE_KEYS = {"protocol", "suite", "press", "runs", "grid", "seed", "method", "batch_size", "vary"}


def load_sweep_file(path: Path) -> dict[str, Any]:
    """Read a sweep TOML file's ``[sweep]`` table into keyword arguments for :func:`build_spec`.

    The protocol (or acceptance suite) path is taken relative to the file. Returns a dict with the keys the file
    set; ``vary`` as a list of :class:`Vary`.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SweepError(f"{path}: cannot read the sweep file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{path}: not valid TOML: {exc}") from None
    table = data.get("sweep")
    if not isinstance(table, dict):
        raise SweepError(f"{path}: a sweep file needs a [sweep] table")
    unknown = sorted(set(table) - _FILE_KEYS)
    if unknown:
        raise SweepError(f"{path}: unknown key(s) in [sweep]: {', '.join(unknown)}; "
                         f"allowed: {', '.join(sorted(_FILE_KEYS))}")
    out: dict[str, Any] = {}
    for key in ("runs", "seed", "batch_size"):
        if key in table:
            if not isinstance(table[key], int) or isinstance(table[key], bool):
                raise SweepError(f"{path}: [sweep] {key} must be an integer, got {table[key]!r}")
            out[key] = table[key]
    for key in ("press", "method", "protocol", "suite"):
        if key in table:
            if not isinstance(table[key], str):
                raise SweepError(f"{path}: [sweep] {key} must be a string, got {table[key]!r}")
            out[key] = table[key]
    if "grid" in table:
        if not isinstance(table["grid"], bool):
            raise SweepError(f"{path}: [sweep] grid must be true or false")
        out["grid"] = table["grid"]
    if "protocol" in out and "suite" in out:
        raise SweepError(f"{path}: [sweep] takes a protocol or a suite, not both")
    for key in ("protocol", "suite"):
        if key in out:
            candidate = path.parent / out[key]
            if candidate.is_file():
                out[key] = str(candidate)
    vary = table.get("vary", {})
    if not isinstance(vary, dict):
        raise SweepError(f"{path}: [sweep.vary] must be a table of KEY = SPEC")
    out["vary"] = [Vary(k, parse_dist(k, v, f"{path}: [sweep.vary]")) for k, v in vary.items()]
    return out


__all__ = [
    "DEFAULT_GRID_STEPS",
    "DEFAULT_RUNS",
    "Dist",
    "SweepError",
    "SweepSpec",
    "Vary",
    "build_spec",
    "load_sweep_file",
    "parse_dist",
    "parse_vary",
]
