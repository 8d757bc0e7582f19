"""From a sweep spec to its variants: seeded sampling, one ``sim://`` URL per variant, checks.

Every variant is checked against the simulator catalogue (key known, value inside the
allowed range) before any run starts, so a bad sweep fails in a second with one line.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Any, get_args

import numpy as np

from ..errors import ConfigError
from ..urls import parse_press_url
from .spec import DEFAULT_GRID_STEPS, Dist, SweepError, SweepSpec, Vary


@dataclass(frozen=True)
class Variant:
    """One point of a sweep: its index, the values of the varied keys and the press URL."""

    index: int
    values: dict[str, float | str]
    url: str


def _round(x: float) -> float:
    """Ten significant digits: the value written in the URL is the value the run used."""
    return float(format(float(x), ".10g"))


def _column(dist: Dist, u: np.ndarray) -> list[float | str]:
    """Map uniform samples ``u`` in [0, 1) through ``dist``."""
    from scipy import stats

    if dist.kind == "values":
        k = len(dist.values)
        return [dist.values[min(int(x * k), k - 1)] for x in u]
    if dist.kind == "range":
        lo, hi = dist.params
        return [_round(lo + x * (hi - lo)) for x in u]
    if dist.kind == "normal":
        mu, sigma = dist.params
        return [_round(v) for v in stats.norm.ppf(u, loc=mu, scale=sigma)]
    mu, sigma, lo, hi = dist.params
    a, b = (lo - mu) / sigma, (hi - mu) / sigma
    vals = stats.truncnorm.ppf(u, a, b, loc=mu, scale=sigma)
    return [_round(min(max(v, lo), hi)) for v in vals]


def _axis(dist: Dist) -> list[float | str]:
    if dist.kind == "values":
        return list(dist.values)
    lo, hi = dist.params
    return [_round(v) for v in np.linspace(lo, hi, dist.grid_steps or DEFAULT_GRID_STEPS)]


def sample_points(spec: SweepSpec) -> list[dict[str, float | str]]:
    """The varied values of every variant, in index order (deterministic given the spec)."""
    from scipy.stats import qmc

    keys = [v.key for v in spec.vary]
    if spec.grid:
        axes = [_axis(v.dist) for v in spec.vary]
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*axes)]
    n = int(spec.runs or 0)
    d = len(spec.vary)
    if spec.method == "sobol":
        engine = qmc.Sobol(d, scramble=True, rng=spec.seed)
        with warnings.catch_warnings():  # balance properties want 2^m points; any n is valid
            warnings.simplefilter("ignore", UserWarning)
            u = engine.random(n)
    else:
        u = qmc.LatinHypercube(d, rng=spec.seed).random(n)
    cols = [_column(v.dist, u[:, j]) for j, v in enumerate(spec.vary)]
    return [{k: cols[j][i] for j, k in enumerate(keys)} for i in range(n)]


def variant_seed(sweep_seed: int, index: int) -> int:
    """The simulator seed of variant ``index``: independent streams, same for any worker count."""
    return int(np.random.SeedSequence([sweep_seed, index]).generate_state(1)[0]) & 0x7FFFFFFF


def _fmt(v: float | str) -> str:
    return v if isinstance(v, str) else format(v, ".10g")


def variant_url(base_url: str, values: dict[str, float | str], seed: int | None) -> str:
    """``base_url`` with the varied keys (and, when given, the seed) set in its query."""
    changes: dict[str, object] = {k: _fmt(v) for k, v in values.items()}
    if seed is not None:
        changes["seed"] = seed
    return parse_press_url(base_url).with_query(changes).raw


def make_variants(spec: SweepSpec) -> list[Variant]:
    """All variants of ``spec``, with their URLs. Does not check them (see :func:`check_variants`)."""
    fixed_seed = "seed" in parse_press_url(spec.press_url).query or any(
        v.key == "seed" for v in spec.vary
    )
    out = []
    for i, values in enumerate(sample_points(spec)):
        seed = None if fixed_seed else variant_seed(spec.seed, i)
        out.append(Variant(i, values, variant_url(spec.press_url, values, seed)))
    return out


# --------------------------------------------------------------------------- checks


def check_press_url(url: str) -> None:
    """A sweep runs on simulated presses only."""
    try:
        parsed = parse_press_url(url)
    except ConfigError as exc:
        raise SweepError(str(exc).splitlines()[0]) from None
    if not parsed.is_simulated:
        raise SweepError(
            f"--press {url!r}: a sweep varies a simulated press (sim://…); {parsed.scheme}:// is a "
            "wire press, whose tolerances cannot be set from a URL"
        )


def _bounds_of(meta: list[Any]) -> tuple[float, float]:
    lo, hi = -math.inf, math.inf
    for m in meta:
        for name in ("ge", "gt"):
            if getattr(m, name, None) is not None:
                lo = max(lo, float(getattr(m, name)))
        for name in ("le", "lt"):
            if getattr(m, name, None) is not None:
                hi = min(hi, float(getattr(m, name)))
    return lo, hi


def _metadata(annotation: Any) -> list[Any]:
    out: list[Any] = list(getattr(annotation, "__metadata__", ()))
    for arg in get_args(annotation):
        out += _metadata(arg)
        for fi in getattr(arg, "metadata", ()) or ():
            out.append(fi)
    return out


def allowed_range(cfg: Any, dotted: str) -> tuple[float, float] | None:
    """The catalogue's allowed [lo, hi] for ``dotted`` in ``cfg`` (±inf when open), if numeric."""
    node = cfg
    keys = dotted.split(".")
    for key in keys[:-1]:
        node = getattr(node, key, None)
        if node is None:
            return None
    fields = getattr(type(node), "model_fields", {})
    info = fields.get(keys[-1])
    if info is None:
        return None
    meta = list(info.metadata) + _metadata(info.annotation)
    lo, hi = _bounds_of(meta)
    return (lo, hi) if (lo, hi) != (-math.inf, math.inf) else None


def _range_text(bounds: tuple[float, float]) -> str:
    return f"[{_fmt(bounds[0])}, {_fmt(bounds[1])}]"


def check_variants(spec: SweepSpec, variants: list[Variant]) -> None:
    """Reject, before any run, a key the simulator does not know or a value it would refuse."""
    from ..sim.catalogue import load_press, load_specimen, with_overrides
    from ..sim.press_url import URL_KEYS

    check_press_url(spec.press_url)
    base = parse_press_url(spec.press_url)
    try:
        press_cfg = load_press(base.target or None)[0]
        spec_cfg = load_specimen(base.query.get("specimen") or None)[0]
    except ConfigError as exc:
        raise SweepError(f"--press {spec.press_url!r}: {exc}") from None

    def target(key: str) -> tuple[Any, str]:
        if key.startswith("specimen."):
            return spec_cfg, key.removeprefix("specimen.")
        return press_cfg, key

    for v in spec.vary:
        _check_key(v, target, URL_KEYS)
    specimens: dict[str, Any] = {}

    def specimen_cfg(var: Variant) -> Any:
        name = var.values.get("specimen")
        if not isinstance(name, str):
            return spec_cfg
        if name not in specimens:
            try:
                specimens[name] = load_specimen(name)[0]
            except ConfigError as exc:
                raise SweepError(f"--vary specimen: variant {var.index}: {str(exc).splitlines()[0]}") from None
        return specimens[name]

    for var in variants:
        for v in spec.vary:
            if "." not in v.key:
                continue
            value = var.values[v.key]
            cfg, sub = target(v.key)
            if v.key.startswith("specimen."):
                cfg = specimen_cfg(var)
            try:
                with_overrides(cfg, {sub: _fmt(value)}, f"--vary {v.key}")
            except ConfigError:
                bounds = allowed_range(cfg, sub)
                allowed = f" (allowed {_range_text(bounds)})" if bounds else ""
                hint = (
                    "; use truncnormal(mu,sigma,lo,hi) to stay inside it"
                    if v.dist.kind == "normal" else ""
                )
                raise SweepError(
                    f"--vary {v.key}={v.dist.text()}: variant {var.index} takes {_fmt(value)}, "
                    f"which the catalogue refuses{allowed}{hint}"
                ) from None
    # one full open per distinct non-numeric combination catches the rest (specimen names, ...)
    from ..urls import open_press

    seen: set[tuple[Any, ...]] = set()
    for var in variants:
        combo = tuple(val for k, val in var.values.items() if isinstance(val, str) or "." not in k)
        if combo in seen:
            continue
        seen.add(combo)
        try:
            open_press(var.url).close()
        except ConfigError as exc:
            raise SweepError(f"variant {var.index} ({var.url}): {str(exc).splitlines()[0]}") from None


def _check_key(v: Vary, target: Any, url_keys: frozenset[str]) -> None:
    from ..sim.catalogue import with_overrides

    if "." not in v.key:
        if v.key not in url_keys:
            allowed = ", ".join(sorted(url_keys - {"tilt_mrad", "die_offset_mm"}))
            raise SweepError(f"--vary {v.key}: unknown key; a sweep varies catalogue keys "
                             f"(load_cells.gain_error_pct, specimen.breathing.amplitude_um, …) "
                             f"or the URL keys {allowed}")
        if v.dist.kind != "values":
            raise SweepError(f"--vary {v.key}={v.dist.text()}: {v.key} takes a value list (a,b,c)")
        if v.key == "seed" and not all(isinstance(x, int) and x >= 0 for x in v.dist.values):
            raise SweepError(f"--vary seed={v.dist.text()}: seeds are integers ≥ 0")
        return
    cfg, sub = target(v.key)
    probe = v.dist.values[0] if v.dist.kind == "values" else v.dist.params[0]
    try:
        with_overrides(cfg, {sub: _fmt(probe)}, f"--vary {v.key}")
    except ConfigError as exc:
        if "unknown catalogue key" in str(exc):
            raise SweepError(str(exc).replace(f"--vary {v.key}: ", f"--vary {v.key}: ")) from None
    if not v.dist.numeric:
        return
    bounds = allowed_range(cfg, sub)
    if bounds is None:
        return
    lo, hi = v.dist.support()
    if v.dist.kind in ("range", "truncnormal", "values") and (lo < bounds[0] or hi > bounds[1]):
        raise SweepError(
            f"--vary {v.key}={v.dist.text()}: reaches {_fmt(lo if lo < bounds[0] else hi)}, outside "
            f"the catalogue's allowed range {_range_text(bounds)}"
        )
    if v.dist.kind == "normal" and not bounds[0] <= v.dist.params[0] <= bounds[1]:
        raise SweepError(
            f"--vary {v.key}={v.dist.text()}: mu {_fmt(v.dist.params[0])} lies outside the "
            f"catalogue's allowed range {_range_text(bounds)}"
        )


__all__ = [
    "Variant",
    "allowed_range",
    "check_press_url",
    "check_variants",
    "make_variants",
    "sample_points",
    "variant_seed",
    "variant_url",
]
