"""Finding and loading device profiles: a path, or a name in ``profiles/``.

Errors are one line naming the file and the key: ``plc.toml: key 'signals.pressure.data_type':
…``. A name is looked up in ``./profiles/`` first (a lab's own files win), then in the
profiles shipped with presshil.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from .. import library
from ..errors import ConfigError, ProtocolError
from .profile import Profile
from .profile_checks import ProfileCheck, check_profile


class ProfileError(ConfigError):
    """A device profile that cannot be used; the message names the file and the key."""

    def __init__(self, file: str, key: str | None, message: str) -> None:
        self.file = file
        self.key = key
        where = f"{file}: key '{key}'" if key else file
        super().__init__(f"{where}: {message}")


def profile_dirs() -> list[Path]:
    """Where profile names are looked up, in order: ``./profiles``, then the shipped ones."""
    return library.search_dirs("profiles")


def shipped_profiles() -> list[str]:
    """Names of the profiles that ship with presshil."""
    shipped = library.shipped_dir("profiles")
    return sorted(p.stem for p in shipped.glob("*.toml")) if shipped else []


def find_profile(name_or_path: str) -> Path:
    """The file ``name_or_path`` names (a path, or a profile name without ``.toml``)."""
    path = Path(name_or_path).expanduser()
    if path.suffix == ".toml" or "/" in name_or_path:
        if path.is_file():
            return path
        raise ProfileError(name_or_path, None, "no such profile file")
    try:
        return library.find("profiles", name_or_path)
    except ProtocolError as exc:
        raise ProfileError(name_or_path, None, str(exc).removeprefix(f"{name_or_path}: ")) from None


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc if not str(part).startswith("function-"))


def parse_profile(data: dict, file: str) -> Profile:
    """Validate a profile already read from TOML; :class:`ProfileError` on any problem."""
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        msg = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = "unknown key"
        elif first["type"] == "missing":
            msg = "required key missing"
        elif first["type"] == "literal_error":
            msg = f"{first.get('input')!r} not allowed; {msg.replace('Input should be', 'expected')}"
        raise ProfileError(file, _dotted(first["loc"]), msg) from None
    try:
        check_profile(profile)
    except ProfileCheck as exc:
        raise ProfileError(file, exc.key, str(exc)) from None
    return profile


def load_profile(name_or_path: str) -> Profile:
    """The profile ``name_or_path`` names, read and checked."""
    path = find_profile(name_or_path)
    shown = path.name if path.parent in profile_dirs() else str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(shown, None, f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise ProfileError(shown, None, f"cannot read: {exc.strerror}") from None
    return parse_profile(data, shown)


__all__ = ["ProfileError", "find_profile", "load_profile", "parse_profile", "profile_dirs", "shipped_profiles"]
