"""Help pages that read plainly: how presshil's ``--help`` departs from typer's defaults.

typer (0.2x) shows a type for every option, ``<bool>`` for a flag and ``<list[str]>`` for a
repeatable one, writes a required argument as ``{protocol}`` in the usage line, keeps the hard
line breaks of a docstring (ragged paragraphs) and pads every line with spaces to the width.
:func:`tidy_help` changes these for the whole ``presshil`` app, once, after every command is
registered: flags show no type, a value shows what it is in capitals (``TEXT``, ``PATH``,
``INTEGER``), arguments read ``PROTOCOL`` / ``[PROTOCOL]``, docstring paragraphs are joined
into lines the terminal wraps, and no help line ends in spaces. typer has no setting for
these, so the few methods concerned are wrapped here and nowhere else.
"""

from __future__ import annotations

import inspect
import io
import re
from typing import Any

#: typer's type label -> what a help page shows
TYPE_WORDS = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "path": "PATH", "list[str]": "TEXT…",
              "list[path]": "PATH…", "dict": "TEXT"}

_done = False


def type_word(label: str | None) -> str | None:
    """``<str>`` -> ``TEXT``; other labels in capitals without brackets."""
    if not label:
        return label
    bare = label.strip("<>")
    return TYPE_WORDS.get(bare, bare.upper())


def reflow(doc: str | None) -> str | None:
    """A docstring with each paragraph on one line (the terminal wraps it evenly); a paragraph
    starting with ``\\b`` (click's "keep as written") is left alone."""
    if not doc:
        return doc
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split("\n")) for p in paragraphs)


class _NoTrailingSpaces(io.TextIOBase):
    """A text stream that drops the spaces rich pads help lines with."""

    _TRAILING = re.compile(r"[ \t]+((?:\x1b\[[0-9;]*m)*)(?=\n)")

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        self.inner.write(self._TRAILING.sub(r"\1", text))
        return len(text)

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.inner, "isatty", lambda: False)())

    def fileno(self) -> int:
        return int(self.inner.fileno())


def _patch_typer() -> None:
    import sys

    from typer import core, rich_utils

    # typer's help internals differ between releases (pyproject allows >=0.12): wrap only
    # what this release has, and leave its own rendering where it has not
    parameter = getattr(core, "_TyperParameter", None)
    option_type = getattr(core.TyperOption, "display_type_rich", None)
    param_type = getattr(parameter, "display_type_rich", None)
    if option_type is None or param_type is None or not hasattr(core.TyperArgument, "_usage_display_name"):
        return

    def option_display(self: Any, ctx: Any) -> str | None:
        if self.is_flag:
            return None  # a flag takes no value: no "<bool>"
        if self.metavar is not None:
            return str(self.metavar)
        return type_word(option_type(self, ctx))

    def param_display(self: Any, ctx: Any) -> str | None:
        return type_word(param_type(self, ctx))

    def usage_name(self: Any) -> str:
        name = str(self.metavar or self.name).upper()
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    core.TyperOption.display_type_rich = option_display  # type: ignore[method-assign]
    core.TyperArgument.display_type_rich = param_display  # type: ignore[method-assign]
    core.TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]

    console = getattr(rich_utils, "_get_rich_console", None)
    if console is None:
        return

    def tidy_console(stderr: bool = False) -> Any:
        made = console(stderr=stderr)
        made.file = _NoTrailingSpaces(sys.stderr if stderr else sys.stdout)
        return made

    rich_utils._get_rich_console = tidy_console  # type: ignore[assignment]


def _commands(app: Any) -> list[Any]:
    found = list(app.registered_commands)
    for group in app.registered_groups:
        found += _commands(group.typer_instance)
    return found


def tidy_help(app: Any) -> None:
    """Make ``app``'s help pages plain (see the module docstring); safe to call twice."""
    global _done
    for command in _commands(app):
        if command.help:
            command.help = reflow(command.help)
        elif command.callback is not None and command.callback.__doc__:
            command.callback.__doc__ = reflow(command.callback.__doc__)
    if not _done:
        _patch_typer()
        _done = True


__all__ = ["reflow", "tidy_help", "type_word"]
