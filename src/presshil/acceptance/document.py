"""The acceptance report: one self-contained HTML file (plots inline) and its JSON twin.

The HTML is rendered from ``presshil/templates/acceptance.html.j2`` (jinja2, autoescaped);
figures are PNG embedded as base64, so the file can be mailed, archived and printed alone.
The JSON holds the same content for machines: identity, reference, metadata, every criterion
with value, limit and verdict, the ISO 7500-1 table and the figures.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .. import __version__
from .result import AcceptanceResult, Section

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _clean(x: Any) -> Any:
    """JSON-safe: NaN → None, ±inf → "inf"/"-inf", tuples → lists, private keys dropped."""
    if isinstance(x, float):
        if math.isnan(x):
            return None
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items() if not str(k).startswith("_")}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def document_id(result: AcceptanceResult) -> str:
    """``PA-<serial>-<UTC start, compact>``: names the files and heads every page."""
    stamp = re.sub(r"[^0-9T]", "", result.started_utc.split("+")[0])
    serial = re.sub(r"[^A-Za-z0-9_-]", "_", result.identity.serial) or "press"
    return f"PA-{serial}-{stamp}"


def _section_dict(s: Section) -> dict[str, Any]:
    return {
        "key": s.key,
        "title": s.title,
        "status": s.status,
        "abort_reason": s.abort_reason,
        "notes": list(s.notes),
        "criteria": [c.as_dict() for c in s.criteria],
        "data": _clean(s.data),
        "plot_png_base64": base64.b64encode(s.plot_png).decode() if s.plot_png else None,
    }


def report_dict(result: AcceptanceResult) -> dict[str, Any]:
    """The JSON twin of the report."""
    fv = next((s for s in result.sections if s.key == "force_verification"), None)
    return {
        "document": document_id(result),
        "kind": "presshil press acceptance report",
        "presshil_version": __version__,
        "overall": {"status": result.status, "passed": result.passed,
                    "exit_code": result.exit_code, "iso7500_class": result.iso_class,
                    "class_not_established": fv.data.get("class_not_established") if fv else None,
                    "reference_simulated": bool(fv and fv.data.get("reference_instrument", {})
                                                .get("simulated")),
                    "decision_rule": fv.data.get("decision_rule") if fv else None},
        "press": {"url": result.press_url, **_clean(asdict(result.identity))},
        "reference": result.reference,
        "suite": {"name": result.suite_name, "source": result.suite_source,
                  "sha256": result.suite_sha256},
        "started_utc": result.started_utc,
        "finished_utc": result.finished_utc,
        "meta": dict(result.meta),
        "audit": dict(result.audit) if result.audit else None,
        "verified_range_kn": list(result.verified_range_kn) if result.verified_range_kn else None,
        "iso7500_table": _clean(fv.data.get("rows", [])) if fv else [],
        "criteria": [c.as_dict() for c in result.criteria],
        "sections": [_section_dict(s) for s in result.sections],
        "signatures": {"operator": result.meta.get("operator", ""),
                       "reviewer": result.meta.get("reviewer", "")},
    }


def fmt(x: Any, digits: int = 4) -> str:
    """A number for people: 4 significant digits, ``—`` for none/NaN, ``∞`` for inf."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, (int, float)):
        if isinstance(x, float) and math.isnan(x):
            return "—"
        if isinstance(x, float) and math.isinf(x):
            return "∞" if x > 0 else "−∞"
        return f"{x:.{digits}g}"
    if x == "inf":
        return "∞"
    return str(x)


def signed(x: Any, decimals: int = 3) -> str:
    """A signed percentage with fixed decimals (``+0.021``), ``—`` for none."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:+.{decimals}f}"


def limit_text(c: dict[str, Any], unit: bool = True) -> str:
    """A criterion's limit as a table cell: ``≤ 1 %``; a criterion with no limit (not tested
    before one was known) reads ``—`` alone, never ``≤ — °C``."""
    if c.get("limit") is None:
        return "—"
    comparison = c["comparison"] if c["comparison"] != "=" else ""
    text = f"{comparison} {fmt(c['limit'])}".strip()
    return f"{text} {c['unit']}".rstrip() if unit else text


def value_text(c: dict[str, Any]) -> str:
    """A criterion's measured value with its unit; ``—`` alone when nothing was measured."""
    if c.get("value") is None:
        return "—"
    return f"{fmt(c['value'])} {c['unit']}".rstrip()


def environment():
    """The jinja2 environment of the report templates (autoescaped HTML)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    env.filters["signed"] = signed
    env.filters["limit_text"] = limit_text
    env.filters["value_text"] = value_text
    return env


def render_html(result: AcceptanceResult) -> str:
    """The report as one HTML string."""
    doc = report_dict(result)
    return environment().get_template("acceptance.html.j2").render(doc=doc, result=result)


def write_report(result: AcceptanceResult, directory: Path) -> tuple[Path, Path]:
    """Write ``<document id>.html`` and ``.json`` into ``directory``; their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = document_id(result)
    html_path = directory / f"{stem}.html"
    json_path = directory / f"{stem}.json"
    html_path.write_text(render_html(result), encoding="utf-8")
    json_path.write_text(json.dumps(report_dict(result), indent=2, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    return html_path, json_path


__all__ = ["document_id", "environment", "fmt", "limit_text", "render_html", "report_dict",
           "value_text", "write_report"]
