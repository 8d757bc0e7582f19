"""An acceptance in the results store's audit trail.

``presshil accept --db STORE`` keeps no run in the store (an acceptance is many short runs
and a reference instrument, judged as one); it appends one ``accept`` entry to the store's
hash-chained audit trail instead: the suite's name and sha256 (its text stored once, as a
protocol's is), the press, the verdict and the report's document id. The report then carries
that entry's id and hash, so a printed report names the link of the chain that vouches for it,
and ``presshil audit verify`` shows the chain still holds through it.
"""

from __future__ import annotations

from typing import Any

from .result import AcceptanceResult


def record_acceptance(store: Any, result: AcceptanceResult, suite_text: str,
                      document: str) -> dict[str, Any]:
    """Append the ``accept`` entry of ``result`` to ``store``'s audit trail; what the report
    carries of it (store, entry id, hash)."""
    from ..store_audit import append

    ident = result.identity
    detail = {"document": document, "suite": result.suite_name,
              "suite_sha256": result.suite_sha256, "press_url": result.press_url,
              "press": ident.serial or ident.model, "firmware": ident.firmware,
              "status": result.status, "iso7500_class": result.iso_class,
              "started_utc": result.started_utc, "finished_utc": result.finished_utc}
    entry = append(store, "accept", None, detail,
                   documents=(("suite", result.suite_name, suite_text),))
    return {"store": store.where, "entry_id": entry.id, "hash": entry.hash}


__all__ = ["record_acceptance"]
