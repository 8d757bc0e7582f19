"""Entry points the CLI calls: ``presshil accept`` and ``presshil report``.

Both return the pinned exit code (0 passed, 1 a criterion failed, 2 bad input, 3 aborted)
and print one clear line for an expected failure, never a traceback.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import PresshilError
from ..status import EXIT_BAD_INPUT as EXIT_USAGE
from ..status import EXIT_OK, user_error
from ..urls import is_simulated


def _failed(exc: PresshilError) -> int:
    """Say ``exc`` in one line; its exit code (the one map: status.user_error)."""
    code, line = user_error(exc) or (EXIT_USAGE, str(exc))
    _err(line)
    return code


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def accept_main(
    press_url: str,
    reference_url: str | None,
    suite: str,
    report_dir: Path | None,
    meta: dict[str, str],
    progress: bool = True,
    working_range: str | None = None,
    ask: Callable[[str], str] = input,
    db: str | None = None,
    operator: str | None = None,
) -> int:
    """Run acceptance ``suite`` on the press at ``press_url``; write the report to
    ``report_dir`` (HTML + JSON) when given. Returns the exit code.

    ``working_range`` (``"15,50,74"`` or ``"10..74"`` MPa) overrides the suite's working
    pressures. On ``sim://`` the reference and fresh specimens are swapped in by reopening the
    simulator; on a real press the operator is asked (``ask``) and must acknowledge.
    ``db``: a results store whose audit trail gets the acceptance's entry (the suite's sha256
    and text), which the report then names (:mod:`presshil.acceptance.audit_record`).
    """
    from ..urls import open_press
    from .core import run_acceptance
    from .document import write_report
    from .specimen import OperatorSpecimens, SimSpecimens
    from .working import parse_working_range

    wall0 = time.perf_counter()

    def say(message: str) -> None:
        if progress:
            print(f"  {message}  (wall {time.perf_counter() - wall0:.1f} s)", flush=True)

    try:
        from .suite import load_suite

        spec = load_suite(suite)  # bad suite: exit 2 before touching the press
        working = parse_working_range(working_range) if working_range else None
        store = _open_store(db, operator)  # a store that cannot be used: before the press
    except PresshilError as exc:
        return _failed(exc)
    try:
        press = open_press(press_url)
    except PresshilError as exc:
        if store is not None:
            store.close()
        return _failed(exc)
    try:
        if progress:
            print(f"acceptance suite '{spec.name}' on {press.identity} via {press_url}", flush=True)
        changer = (SimSpecimens(press_url, spec.specimen.reference_specimen)
                   if is_simulated(press_url) else OperatorSpecimens(ask))
        result = run_acceptance(press, spec, reference_url, meta, progress=say,
                                working_pressures_mpa=working, specimens=changer)
    except PresshilError as exc:
        if store is not None:
            store.close()
        return _failed(exc)
    finally:
        press.close()  # the suite leaves the press released
    if store is not None:
        from .audit_record import record_acceptance
        from .document import document_id

        try:
            with store:
                result.audit = record_acceptance(store, result, spec.text, document_id(result))
        except PresshilError as exc:
            return _failed(exc)
        print(f"audit: entry {result.audit['entry_id']} of {store.where}, "
              f"hash {result.audit['hash']}", flush=True)
    _print_summary(result)
    from .advice import closing_lines

    for line in closing_lines(result, press_url, suite, spec.force_verification.required_class):
        print(line, flush=True)
    if report_dir is not None:
        html_path, json_path = write_report(result, report_dir)
        print(f"report: {html_path}\n        {json_path}", flush=True)
    return result.exit_code


def _open_store(db: str | None, operator: str | None):  # noqa: ANN202 - a Store or None
    if db is None:
        return None
    from ..store import Store

    return Store(db, operator=operator)


def _print_summary(result) -> None:
    width = max((len(c.name) for c in result.criteria), default=10)
    for s in result.sections:
        line = f"{s.title}: {s.status.upper()}"
        if s.abort_reason:
            line += f" ({s.abort_reason})"
        print(line)
        for c in s.criteria:
            from .document import fmt

            # a number with no value is a dash, never "— °C"; a missing limit is not "≤ —"
            value = "—" if c.value is None else f"{fmt(c.value)} {c.unit}".strip()
            limit = "—" if c.limit is None else f"{c.comparison} {fmt(c.limit)} {c.unit}".strip()
            print(f"  {c.status.upper():<10} {c.name:<{width}}  {value:>14}  limit {limit}")
    fv = next((s for s in result.sections if s.key == "force_verification"), None)
    cls = (result.iso_class or "none") if fv is not None and fv.data.get("rows") else "not verified"
    if fv is not None and fv.data.get("class_not_established"):
        cls = "class not established: " + "; ".join(fv.data["class_not_established"])
    if fv is not None and fv.data.get("reference_instrument", {}).get("simulated"):
        print("Reference: SIMULATED (no certificate applies)")
    print(f"ISO 7500-1 class: {cls}; overall: {result.status.upper()}", flush=True)


def report_main(run_id: int, db: str | Path, output: Path | None) -> int:
    """Render the HTML report of stored run ``run_id`` from the results store ``db``.

    Writes ``output`` (default ``run-RUN_ID.html`` beside the store); returns 0, or 2 for an unknown run or a
    store that cannot be read.
    """
    from ..store import Store
    from ..store_url import require_store

    try:
        require_store(db)
        store = Store.open_for_reading(db)
    except PresshilError as exc:
        return _failed(exc)
    from ..report import default_path, write_html_report

    try:
        path = write_html_report(store, run_id, output or default_path(db, run_id, "html"))
    except PresshilError as exc:
        return _failed(exc)
    finally:
        store.close()
    print(f"wrote {path}", flush=True)
    from ..store_salvage import read_warning

    warning = read_warning(db, store.damage, run_id)  # an intact run of a damaged store
    if warning is not None:
        _err(warning)
    return EXIT_OK


__all__ = ["accept_main", "report_main"]
