"""A throwaway PostgreSQL server for the tests: initdb into a temp folder, a free port,
loopback only, started once per test session and stopped at its end.

PostgreSQL refuses to run as root: when the tests run as root, the cluster runs as the
unprivileged ``postgres`` user (Debian's package creates it) in a folder handed to it.
Where no PostgreSQL server binaries are found, the tests that need one are skipped, saying so.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from wall_clock import wall_clock_fixture

#: the role the tests connect as (trust on loopback), and one that needs a password
SUPERUSER = "presshil"
PASSWORD_ROLE, PASSWORD = "station_pw", "right-password"
START_TIMEOUT_S = 60


def find_bindir() -> Path | None:
    """The folder of PostgreSQL's server binaries (initdb, pg_ctl), or None."""
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 timeout=10, check=True).stdout.strip()
            candidates.append(Path(out))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """A running throwaway cluster: its port, and a new empty database per :meth:`new_db`."""

    port: int
    _counter: itertools.count[int]

    def url(self, db: str = "postgres", user: str = SUPERUSER, password: str | None = None) -> str:
        """The store URL of database ``db``."""
        cred = f"{user}:{password}" if password else user
        return f"postgresql://{cred}@127.0.0.1:{self.port}/{db}"

    def new_db(self) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def running_cluster(fsync: bool = False) -> Iterator[PgServer]:
    """Start a cluster, yield it, stop it and remove its folder. ``fsync`` off by default:
    the tests kill clients, never the server, and a throwaway cluster need not survive a
    power cut (the benchmark turns it on)."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's "
                    "postgresql package to run the PostgreSQL store tests")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")
    root = Path(tempfile.mkdtemp(prefix="presshil-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse root
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL as")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log, port = root / "data", root / "server.log", _free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=START_TIMEOUT_S)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
            "--no-sync", "-E", "UTF8")
        hba = data / "pg_hba.conf"
        # a role that must give its password (the wrong-credentials test), trust for the rest
        rules = (f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
                 "host all all 127.0.0.1/32 trust\nlocal all all trust\n")
        run("sh", "-c", f"printf '%s' '{rules}' > {hba}")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
            "-t", str(START_TIMEOUT_S), "-o",
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root} "
            f"-c fsync={'on' if fsync else 'off'} -c max_connections=60", "start")
        server = PgServer(port, itertools.count())
        import psycopg

        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'")
        yield server
    finally:
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError):
                run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@wall_clock_fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A throwaway PostgreSQL server on 127.0.0.1, one for the test session."""
    with running_cluster() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """The URL of a new, empty PostgreSQL database on the session's server."""
    return pg_server.new_db()
