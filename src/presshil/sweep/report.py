"""A sweep's report: ``sweep.json``, PNG figures and an HTML page in the acceptance report's style."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from .stats import RunOutcome

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_pass_rates(summary: dict[str, Any], path: Path) -> Path:
    """Pass rate per criterion and overall, with the 95 % Wilson interval."""
    plt = _plt()
    names = list(summary["criteria"]) + ["overall"]
    rates = [summary["criteria"][n]["pass_rate"] for n in names[:-1]] + [summary["pass_rate"]]
    cis = [summary["criteria"][n]["pass_rate_ci95"] for n in names[:-1]] + [summary["pass_rate_ci95"]]
    y = np.arange(len(names))
    r = np.array([np.nan if v is None else 100 * v for v in rates])
    lo = np.array([100 * c[0] for c in cis])
    hi = np.array([100 * c[1] for c in cis])
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(names) + 1.2))
    ax.barh(y, r, color=["#1d7a35" if v >= 99.95 else "#b3261e" for v in np.nan_to_num(r)])
    ax.errorbar(r, y, xerr=[r - lo, hi - r], fmt="none", ecolor="#222", capsize=3)
    ax.set_yticks(y, names, fontsize=7)
    ax.set_xlim(0, 100)
    ax.set_xlabel("pass rate, % (bars: 95 % Wilson interval)")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_margins(summary: dict[str, Any], path: Path) -> Path:
    """Distribution of each criterion's relative margin (< 0 is a failure)."""
    plt = _plt()
    names = list(summary["margins"])
    data = [[x for x in summary["margins"][n] if x is not None] or [math.nan] for n in names]
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(names) + 1.2))
    ax.boxplot(data, orientation="horizontal", showfliers=True, flierprops={"markersize": 2})
    ax.axvline(0.0, color="#b3261e", lw=1)
    ax.set_yticks(np.arange(1, len(names) + 1), names, fontsize=7)
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlabel("margin to the limit, relative (|limit − value| / |limit|, negative = failed)")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_map(outcomes: list[RunOutcome], keys: list[str], summary: dict[str, Any],
             path: Path) -> Path | None:
    """Pass/fail map over one or two varied keys (one key: against the worst margin)."""
    plt = _plt()
    if not 1 <= len(keys) <= 2 or not outcomes:
        return None
    ok = [o.status == "passed" for o in outcomes]
    colours = ["#1d7a35" if p else "#b3261e" for p in ok]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))

    def axis_values(k: str) -> list[Any]:
        return [o.values[k] for o in outcomes]

    x = axis_values(keys[0])
    if len(keys) == 2:
        y = axis_values(keys[1])
        ax.set_ylabel(keys[1])
    else:
        worst = []
        for i in range(len(outcomes)):
            ms = [summary["margins"][n][i] for n in summary["margins"]]
            ms = [m for m in ms if m is not None]
            worst.append(min(ms) if ms else math.nan)
        y = worst
        ax.axhline(0.0, color="#888", lw=0.8)
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_ylabel("worst relative margin of the run")
    ax.scatter(x, y, c=colours, s=18, edgecolors="none")
    ax.set_xlabel(keys[0])
    ax.scatter([], [], c="#1d7a35", label="passed")
    ax.scatter([], [], c="#b3261e", label="failed / aborted")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_sweep_report(doc: dict[str, Any], outcomes: list[RunOutcome], directory: Path) -> list[Path]:
    """Write ``sweep.json``, the figures and ``sweep.html`` into ``directory``; their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    summary = doc["summary"]
    paths = [directory / "sweep.json"]
    numeric = [k for k in doc["keys"] if outcomes and all(
        isinstance(o.values.get(k), (int, float)) for o in outcomes)]
    figures: dict[str, str] = {}
    if summary["runs"]:
        figures["pass_rates"] = plot_pass_rates(summary, directory / "pass-rates.png").name
        if summary["margins"]:
            figures["margins"] = plot_margins(summary, directory / "margins.png").name
        mapped = plot_map(outcomes, numeric[:2] if len(numeric) <= 2 else [], summary,
                          directory / "pass-fail-map.png")
        if mapped is not None:
            figures["map"] = mapped.name
    doc = {**doc, "figures": figures}
    paths[0].write_text(json.dumps(_json_safe(doc), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    paths += [directory / name for name in figures.values()]
    html = directory / "sweep.html"
    html.write_text(render_html(doc), encoding="utf-8")
    paths.append(html)
    return paths


def render_html(doc: dict[str, Any]) -> str:
    """The HTML page of a sweep."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda x: "—" if x is None or (isinstance(x, float) and math.isnan(x)) \
        else f"{100 * x:.1f} %"
    env.filters["num"] = lambda x, d=3: "—" if x is None else f"{x:.{d}g}"
    return env.get_template("sweep.html.j2").render(doc=doc)


def _json_safe(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return x


__all__ = ["plot_map", "plot_margins", "plot_pass_rates", "render_html", "write_sweep_report"]
