"""Acceptance testing of a press: what ``presshil accept`` and ``presshil report`` run.

ISO 7500-1 / ASTM E4 force verification against a reference transducer, step and ramp
response, a long hold under breathing, uniformity and safety probes — judged against the
limits of a suite file (``protocols/acceptance/*.toml``) and written up as a self-contained
HTML report with a JSON twin, ready to sign. See ``docs/acceptance.md``.

::

    from presshil.acceptance import run_acceptance
    result = run_acceptance(presshil.open_press("sim://"), "standard")
    result.iso_class, result.passed

The commands themselves are :mod:`presshil.acceptance.commands`.
"""

from __future__ import annotations

from .core import run_acceptance
from .document import write_report
from .result import AcceptanceResult, Criterion, Section
from .suite import Suite, load_suite, parse_suite

__all__ = [
    "AcceptanceResult",
    "Criterion",
    "Section",
    "Suite",
    "load_suite",
    "parse_suite",
    "run_acceptance",
    "write_report",
]
