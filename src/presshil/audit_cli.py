"""``presshil audit verify [--db URL]``: re-walk the audit trail's hash chain."""

from __future__ import annotations

import typer

from .library import DEFAULT_DB
from .status import EXIT_FAILED
from .store_url import StoreOpt

#: a chain that does not hold is a failed check, as a failed criterion is
EXIT_BROKEN = EXIT_FAILED

audit_app = typer.Typer(help="The results store's audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def verify_cmd(db: StoreOpt = str(DEFAULT_DB)) -> None:
    """Re-walk the audit trail from its first entry and name the first broken link.

    Exit code 0: every link holds; 1: a link is broken (the line names the entry and why);
    2: bad input (no store, a server that cannot be used).
    """
    from .cli_common import err, out, user_errors
    from .store import Store
    from .store_audit import verify
    from .store_url import require_store

    with user_errors():
        require_store(db)
        with Store.open_for_reading(db) as store:
            found = verify(store)
            where = store.where
    if found.broken_id is not None:
        err.print(f"audit trail of {where}: broken at entry {found.broken_id}: {found.why} "
                  f"(the {found.entries} entries before it hold)", highlight=False, markup=False,
                  soft_wrap=True)
        raise typer.Exit(EXIT_BROKEN)
    out.print(f"audit trail of {where}: {found.entries} entries, every link holds "
              f"(last hash {found.last_hash})", highlight=False, soft_wrap=True)
