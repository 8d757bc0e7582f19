"""What a sweep tells: pass rates with Wilson intervals, margins, and what drives failure.

* pass rate overall and per criterion (``step/criterion``), each with a 95 % Wilson score
  interval (sound at 0 % and 100 %, unlike the normal approximation);
* the margin of every criterion in every run, relative to its limit: positive when passed,
  negative when failed (``|limit - value| / |limit|`` with the sign of the verdict);
* a sensitivity ranking: an L2-regularised logistic regression of failure on the standardised
  varied keys (coefficient = change in log-odds of failing per standard deviation of the key),
  and standardised regression coefficients of each criterion's margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: two-sided 95 % normal quantile (scipy.stats.norm.ppf(0.975))
Z95 = 1.959963984540054


@dataclass(frozen=True)
class RunOutcome:
    """One variant's outcome, as the analysis needs it."""

    index: int
    run_id: int | None
    url: str
    values: dict[str, Any]
    status: str
    verdicts: list[Any] = field(default_factory=list)  # presshil.metrics.Verdict


def wilson(passed: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``passed/n`` (``(nan, nan)`` when n = 0)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = passed / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if passed == 0 else max(0.0, centre - half)
    hi = 1.0 if passed == n else min(1.0, centre + half)
    return (lo, hi)


def margin(v: Any) -> float:
    """Relative margin of a verdict to its limit: > 0 passed, < 0 failed, nan when unknown."""
    value, limit = float(v.value), float(v.limit)
    if not (math.isfinite(value) and math.isfinite(limit)):
        return math.nan if v.passed else -math.inf
    scale = abs(limit) if limit != 0 else 1.0
    m = abs(limit - value) / scale
    return m if v.passed else -m


def criterion_name(v: Any) -> str:
    """``step/criterion`` of a verdict."""
    return f"{v.step}/{v.criterion}"


def _logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2) -> np.ndarray:
    """Coefficients (intercept first) of an L2-regularised logistic regression, by BFGS."""
    from scipy import optimize

    xa = np.column_stack([np.ones(len(x)), x])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = xa @ w
        # log(1 + e^z) - y z, written stably
        value = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * np.sum(w[1:] ** 2)
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        grad = xa.T @ (p - y) / len(y)
        grad[1:] += l2 * w[1:]
        return float(value), grad

    res = optimize.minimize(loss, np.zeros(xa.shape[1]), jac=True, method="BFGS")
    return np.asarray(res.x)


def _standardise(outcomes: list[RunOutcome], keys: list[str]) -> tuple[np.ndarray, list[str]]:
    cols, used = [], []
    for k in keys:
        col = np.array([float(o.values[k]) for o in outcomes])
        sd = col.std()
        if sd > 0:
            cols.append((col - col.mean()) / sd)
            used.append(k)
    return (np.column_stack(cols) if cols else np.empty((len(outcomes), 0))), used


def analyse(outcomes: list[RunOutcome], keys: list[str]) -> dict[str, Any]:
    """The sweep's summary as plain data (what ``sweep.json`` holds)."""
    n = len(outcomes)
    passed = sum(o.status == "passed" for o in outcomes)
    lo, hi = wilson(passed, n)
    worst: list[dict[str, Any]] = []
    for o in outcomes:
        seen: dict[str, Any] = {}
        for v in o.verdicts:
            name = criterion_name(v)
            # a criterion judged several times in a run (a repeat) counts by its worst margin
            if name not in seen or margin(v) < margin(seen[name]):
                seen[name] = v
        worst.append(seen)
    criteria: dict[str, dict[str, Any]] = {}
    for seen in worst:
        for name, v in seen.items():
            c = criteria.setdefault(name, {"runs": 0, "passed": 0, "unit": v.unit,
                                           "limit": float(v.limit)})
            c["runs"] += 1
            c["passed"] += bool(v.passed)
    for name, c in criteria.items():
        if name.endswith("/completed"):
            # judged only when a run aborts: every other run completed that step (or never
            # reached it because an earlier one aborted, which that one's record says)
            c["passed"] += n - c["runs"]
            c["runs"] = n
    margins = {name: [margin(seen[name]) if name in seen else math.nan for seen in worst]
               for name in sorted(criteria)}
    for name, c in criteria.items():
        c["pass_rate"] = c["passed"] / c["runs"] if c["runs"] else None
        c["pass_rate_ci95"] = list(wilson(c["passed"], c["runs"]))
        m = np.array([x for x in margins[name] if x is not None and math.isfinite(x)])
        c["margin"] = ({"min": float(m.min()), "p05": float(np.percentile(m, 5)),
                        "median": float(np.median(m)), "max": float(m.max())}
                       if len(m) else None)
    numeric = [k for k in keys if outcomes and all(isinstance(o.values.get(k), (int, float))
                                                   for o in outcomes)]
    return {
        "runs": n,
        "passed": passed,
        "failed": sum(o.status == "failed" for o in outcomes),
        "aborted": sum(o.status not in ("passed", "failed") for o in outcomes),
        "pass_rate": passed / n if n else None,
        "pass_rate_ci95": [lo, hi],
        "criteria": dict(sorted(criteria.items())),
        "sensitivity": sensitivity(outcomes, numeric, margins),
        "margins": {k: [None if not math.isfinite(x) else x for x in v] for k, v in margins.items()},
    }


def sensitivity(outcomes: list[RunOutcome], keys: list[str],
                margins: dict[str, list[float]]) -> dict[str, Any]:
    """Which varied keys drive failure, and each criterion's margin, ranked."""
    x, used = _standardise(outcomes, keys)
    out: dict[str, Any] = {"keys": used, "failure": None, "margins": {}, "note": ""}
    if not used:
        out["note"] = "no numeric key varies: nothing to rank"
        return out
    y = np.array([o.status != "passed" for o in outcomes], dtype=float)
    if 0 < y.sum() < len(y):
        coef = _logistic(x, y)[1:]
        order = np.argsort(-np.abs(coef))
        out["failure"] = [{"key": used[i], "log_odds_per_sd": float(coef[i])} for i in order]
    else:
        out["note"] = ("every run passed" if y.sum() == 0 else "every run failed") + \
            ": failure has no driver to rank; see the margins"
    for name, ms in margins.items():
        m = np.array(ms, dtype=float)
        ok = np.isfinite(m)
        if ok.sum() < len(used) + 2 or np.std(m[ok]) == 0:
            continue
        target = (m[ok] - m[ok].mean()) / m[ok].std()
        beta, *_ = np.linalg.lstsq(x[ok], target, rcond=None)
        resid = target - x[ok] @ beta
        r2 = 1.0 - float(resid @ resid) / float(target @ target)
        order = np.argsort(-np.abs(beta))
        out["margins"][name] = {"r2": r2, "ranking": [
            {"key": used[i], "src": float(beta[i])} for i in order]}
    return out


__all__ = ["Z95", "RunOutcome", "analyse", "criterion_name", "margin", "sensitivity", "wilson"]
