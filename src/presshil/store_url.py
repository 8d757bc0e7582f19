"""Where a results store lives: a SQLite file (a path) or a PostgreSQL server (a URL).

``--db`` (and the environment variable ``PRESSHIL_DB``, its default) takes either a path —
the embedded SQLite store — or ``postgresql://USER@HOST:PORT/DB`` — a lab's shared server.
Anything else with a ``SCHEME://`` is refused with one line naming what is allowed, before a
command opens a press.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Annotated

import typer

from .errors import ConfigError
from .library import DEFAULT_DB

#: the URL schemes of a PostgreSQL store (libpq accepts both spellings)
PG_SCHEMES = ("postgresql", "postgres")
#: the environment variable that names the store when ``--db`` is not given
ENV_VAR = "PRESSHIL_DB"


def is_url(location: str | Path) -> bool:
    """Whether ``location`` is a server URL rather than a file path."""
    return isinstance(location, str) and "://" in location


def check_location(location: str | Path) -> str | Path:
    """``location`` as given when it is a path or a PostgreSQL URL; a :class:`ConfigError`
    for any other URL scheme."""
    if not is_url(location):
        return location
    scheme = str(location).split("://", 1)[0].lower()
    if scheme not in PG_SCHEMES:
        raise ConfigError(f"--db {redact(str(location))}: unknown store scheme {scheme!r}; give "
                          "a file path (SQLite) or postgresql://USER@HOST:PORT/DB")
    return location


def redact(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def require_store(location: str | Path) -> None:
    """A :class:`ConfigError` when ``location`` names no store: a file that does not exist,
    or a URL of an unknown scheme (a server's own answer comes when it is opened)."""
    if not is_url(check_location(location)) and not Path(location).exists():
        raise ConfigError(f"no results store at {location}")


def store_folder(location: str | Path) -> Path:
    """Where a command's files go by default: beside a SQLite store, ``results/`` for a
    server's."""
    return DEFAULT_DB.parent if is_url(location) else Path(location).parent


def default_location() -> str:
    """``PRESSHIL_DB`` when set, else the SQLite file ``results/presshil.sqlite``."""
    return os.environ.get(ENV_VAR) or str(DEFAULT_DB)


#: the ``--db`` option shared by every command that reads or writes the store
StoreOpt = Annotated[str, typer.Option(
    "--db", envvar=ENV_VAR, show_envvar=True,
    help="Results store: a SQLite file path, or postgresql://USER@HOST:PORT/DB.")]


__all__ = ["ENV_VAR", "PG_SCHEMES", "StoreOpt", "check_location", "default_location",
           "is_url", "redact", "require_store", "store_folder"]
