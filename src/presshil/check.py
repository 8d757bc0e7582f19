"""``presshil check``: validate protocol and suite files, every file and every error in it.

A CI lint step wants the whole list at once: each bad file is reported with all its
problems (one line each), the good ones with what they hold, and the exit code is 2 when any
file was bad, after all of them were read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.markup import escape

from .errors import PresshilError, ProtocolError
from .status import EXIT_BAD_INPUT


def looks_like_suite(path: Path) -> bool:
    """An acceptance suite rather than a protocol: by its folder or its tables."""
    import tomllib

    if path.parent.name == "acceptance":
        return True
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return False  # load_protocol reports the problem
    return "steps" not in data and bool({"force_verification", "safety", "step_response"} & set(data))


def check_one(path: Path) -> str:
    """Validate one file (a path or a library name); what it holds, for the "ok" line.
    Raises the file's :class:`PresshilError` (its ``also`` holds further problems)."""
    from .cliview import fmt_time
    from .library import resolve_protocol
    from .protocol import load_protocol

    resolved = resolve_protocol(path)
    if looks_like_suite(resolved):
        from .acceptance.suite import load_suite

        return f"acceptance suite {load_suite(resolved).name}"
    proto = load_protocol(resolved)
    return f"{proto.name}, {len(proto.steps)} steps, about {fmt_time(proto.nominal_duration_s())} long"


def problems(exc: PresshilError) -> list[str]:
    """Every problem an error carries, one line each."""
    if not isinstance(exc, ProtocolError) or not exc.also:
        return [str(exc)]
    from .protocol_errors import more_suffix

    # the count is for one-line callers; here every problem follows
    first = ProtocolError(exc.reason.removesuffix(more_suffix(len(exc.also))), file=exc.file,
                          step=exc.step, field=exc.field)
    return [str(first), *(str(e) for e in exc.also)]


def check_files(paths: Sequence[Path], out: Any, err: Any) -> int:
    """Check every file in ``paths``; print ok lines to ``out``, problems to ``err``; the exit code."""
    bad = 0
    for path in paths:
        try:
            what = check_one(path)
        except PresshilError as exc:
            bad += 1
            for line in problems(exc):
                err.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
            continue
        out.print(f"[green]ok[/] {escape(str(path))}: {escape(str(what))}", highlight=False, soft_wrap=True)
    if bad:
        err.print(f"{bad} of {len(paths)} file{'s' if len(paths) != 1 else ''} with errors", highlight=False)
        return EXIT_BAD_INPUT
    return 0


__all__ = ["check_files", "check_one", "problems"]
