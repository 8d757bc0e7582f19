"""``presshil push --db SQLITE_PATH --to postgresql://…``: send a station's runs to the lab."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .library import DEFAULT_DB
from .store_url import ENV_VAR


def push_cmd(
    db: Annotated[Path, typer.Option("--db", help="The station's SQLite store to send from.")] = DEFAULT_DB,
    to: Annotated[str | None, typer.Option(
        "--to", envvar=ENV_VAR, show_envvar=True,
        help="The lab's store: postgresql://USER@HOST:PORT/DB.")] = None,
) -> None:
    """Send the finished runs of a station's store to the lab's server, each once.

    A run the server already has (the same run UUID) is left alone, or completed with what it
    lacks when the server has it in part (a run that went on into a local spool while the
    server was away): pushing again changes nothing. Runs still running are left for later.
    Exit code 0: done (or nothing to do); 2: bad input or a server that cannot be used.
    """
    from .cli_common import out, user_errors
    from .errors import ConfigError
    from .store import Store
    from .store_push import push
    from .store_url import check_location, is_url

    with user_errors():
        if to is None:
            raise ConfigError(f"--to: give the lab's store, postgresql://USER@HOST:PORT/DB (or set {ENV_VAR})")
        if is_url(str(db)):
            raise ConfigError(f"--db {db}: push sends from a station's SQLite file; give its path")
        if not is_url(check_location(to)):
            raise ConfigError(f"--to {to}: push sends to a server; give postgresql://USER@HOST:PORT/DB")
        if not db.is_file():
            raise ConfigError(f"no results store at {db}")
        source = Store.open_for_reading(db)
        try:
            with Store(to) as target:
                done = push(source, target)
        finally:
            source.close()
        words = [f"pushed {len(done.pushed)} run(s) ({done.samples} samples) to {target.where}",
                 f"{len(done.already)} already there"]
        if done.running:
            words.append(f"{len(done.running)} still running, not sent (push again once they end)")
        out.print("; ".join(words), highlight=False, soft_wrap=True)
