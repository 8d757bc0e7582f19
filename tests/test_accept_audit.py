"""An acceptance in the results store's audit trail: ``presshil accept --db`` appends an
``accept`` entry with the suite's sha256 (its text stored once), and the report carries that
entry's id and hash. On a SQLite file and on the real PostgreSQL server."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from presshil.cli import app
from presshil.store import Store
from presshil.store_audit import entries, verify

# a short suite: the uniformity test only (the others are covered by test_accept_report)
SUITE = 'name = "uniformity-only"\n' + "".join(
    f"[{k}]\nenabled = false\n" for k in ("force_verification", "step_response",
                                           "ramp_response", "hold", "safety"))


def _accept(tmp_path: Path, db: str, report: Path) -> tuple[int, str]:
    suite = tmp_path / "uniformity-only.toml"
    suite.write_text(SUITE)
    result = CliRunner().invoke(app, ["accept", "--press", "sim://?seed=1", "--suite", str(suite),
                                      "--report", str(report), "--db", db, "-q",
                                      "--operator", "j.doe"])
    return result.exit_code, result.output


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "lab.sqlite")
    return request.getfixturevalue("pg_url")


def test_an_acceptance_is_an_audit_entry_the_report_names(tmp_path: Path, db: str) -> None:
    sha = hashlib.sha256(SUITE.encode()).hexdigest()
    for n in (1, 2):  # twice: two entries, the suite's text stored once
        code, output = _accept(tmp_path, db, tmp_path / f"report-{n}")
        assert code in (0, 1), output
        doc = json.loads(next((tmp_path / f"report-{n}").glob("*.json")).read_text())
        with Store(db) as store:
            accepted = [e for e in entries(store) if e.action == "accept"]
            assert len(accepted) == n
            entry = accepted[-1]
            assert doc["audit"]["entry_id"] == entry.id and doc["audit"]["hash"] == entry.hash
            assert doc["audit"]["store"] == store.where
            assert entry.actor == "j.doe" and entry.run_uuid is None
            assert entry.detail["suite_sha256"] == sha == doc["suite"]["sha256"]
            assert entry.detail["document"] == doc["document"]
            assert entry.detail["status"] == doc["overall"]["status"]
            found = verify(store)
            assert found.broken_id is None and found.last_hash == entry.hash
            texts = store._db.execute("SELECT kind, name, text FROM documents WHERE sha256 = ?",
                                      (sha,)).fetchall()
            assert [tuple(t) for t in texts] == [("suite", "uniformity-only", SUITE)]
            first_seen = [e for e in entries(store) if e.action == "first-seen"
                          and e.detail.get("sha256") == sha]
            assert len(first_seen) == 1
        html = next((tmp_path / f"report-{n}").glob("*.html")).read_text()
        assert entry.hash in html and f"entry {entry.id} of" in html
        assert f"audit: entry {entry.id} of" in output


def test_accept_refuses_a_store_it_cannot_use_before_the_press(tmp_path: Path) -> None:
    code, output = _accept(tmp_path, "postgresql://lab@127.0.0.1:1/presshil", tmp_path / "r")
    assert code == 2, output
    assert "cannot open the results store" in output and "acceptance suite" not in output
    assert not (tmp_path / "r").exists()
