"""The library: where presshil finds protocols, acceptance suites, simulator catalogues and
device profiles by name, and the one default results store.

Every kind is searched in the same order: a path as given; the kind's folder under the
current directory (a lab's own files win); the same folder under a pytest rootdir when one is
given; then the files shipped with presshil. In a source checkout the shipped folders sit
beside ``src/``; in an installed wheel the build puts them inside the package.

A name that matches nothing raises :class:`~presshil.errors.ProtocolError` listing the names
the library knows and the closest one (``difflib``), so a typo is a one-look fix.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from .errors import ProtocolError

_PACKAGE = Path(__file__).resolve().parent

#: kind -> folder, relative to a library root (the current directory or the shipped files)
KINDS: dict[str, Path] = {
    "protocols": Path("protocols"),
    "suites": Path("protocols") / "acceptance",
    "sims": Path("sims"),
    "profiles": Path("profiles"),
}

#: where a wheel keeps a shipped folder inside the package, when not under its own name
#: (``presshil/profiles`` is the profiles code, so the shipped profiles sit in its ``library``)
_IN_PACKAGE: dict[str, Path] = {"profiles": Path("profiles") / "library"}

#: where ``run``, ``runs``, ``export``, ``report`` and the pytest plugin keep results by default
DEFAULT_DB = Path("results") / "presshil.sqlite"


def shipped_dir(name: str) -> Path | None:
    """The shipped top-level folder ``name`` (``"sims"``, ``"protocols"``, ``"profiles"``),
    or None if absent."""
    for candidate in (_PACKAGE / _IN_PACKAGE.get(name, Path(name)), _PACKAGE.parents[1] / name):
        if candidate.is_dir():
            return candidate
    return None


def _check_kind(kind: str) -> Path:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown library kind {kind!r}; known: {', '.join(KINDS)}") from None


def search_dirs(kind: str, rootdir: Path | None = None) -> list[Path]:
    """The folders searched for ``kind``, first match wins; existing folders only."""
    rel = _check_kind(kind)
    dirs = [Path(".") / rel]
    if rootdir is not None:
        dirs.append(Path(rootdir) / rel)
    top = shipped_dir(rel.parts[0])
    if top is not None:
        dirs.append(top.joinpath(*rel.parts[1:]))
    seen: list[Path] = []
    for d in dirs:
        if d.is_dir() and all(d.resolve() != s.resolve() for s in seen):
            seen.append(d)
    return seen


def names(kind: str, rootdir: Path | None = None) -> list[str]:
    """Every name of ``kind`` the library can find (file stems of ``*.toml``), sorted."""
    found: set[str] = set()
    for d in search_dirs(kind, rootdir):
        found.update(p.stem for p in d.glob("*.toml"))
    return sorted(found)


def find(kind: str, name: str | Path, rootdir: Path | None = None) -> Path:
    """The file ``name`` of ``kind``: a path as given, else ``NAME`` or ``NAME.toml`` in
    :func:`search_dirs`. Raises :class:`ProtocolError` naming the known ones otherwise."""
    path = Path(name)
    if path.is_file():
        return path
    if path.parent == Path(".") or not path.is_absolute():
        for d in search_dirs(kind, rootdir):
            for candidate in (d / path, d / f"{path}.toml"):
                if candidate.is_file():
                    return candidate
    raise ProtocolError(not_found_message(kind, path, rootdir), file=str(path))


def not_found_message(kind: str, path: Path, rootdir: Path | None = None) -> str:
    """``no such file; did you mean 'assembly-74mpa'? protocols: a, b, c``."""
    known = names(kind, rootdir)
    what = kind.rstrip("s")
    msg = f"no such file or {what} name"
    close = difflib.get_close_matches(path.stem, known, n=1, cutoff=0.5)
    if close:
        msg += f"; did you mean {close[0]!r}?"
    if known:
        msg += f" {kind} known: {', '.join(known)}"
    else:
        where = ", ".join(str(d) for d in search_dirs(kind, rootdir)) or str(KINDS[kind])
        msg += f" (no {kind} found in {where})"
    return msg


def resolve_protocol(path: Path, rootdir: Path | None = None) -> Path:
    """A path as given; a bare name is looked up in the library (./protocols, then the
    shipped protocols). A missing bare name lists the known ones and suggests the closest."""
    if path.exists() or path.parent != Path("."):
        return path  # load_protocol reports a missing path with its neighbours
    return find("protocols", path, rootdir)


__all__ = [
    "DEFAULT_DB",
    "KINDS",
    "find",
    "names",
    "not_found_message",
    "resolve_protocol",
    "search_dirs",
    "shipped_dir",
]
