"""Device profiles: describe an existing press in a TOML file and drive it through the Press
contract (docs/profiles.md)."""

from __future__ import annotations

from ..maps.profile import Profile
from ..maps.profile_loader import (
    ProfileError,
    find_profile,
    load_profile,
    parse_profile,
    shipped_profiles,
)
from .base import ProfilePress
from .operator import Instruction, KeyboardOperator, LoggedOperator, OperatorPrompts

__all__ = [
    "Instruction",
    "KeyboardOperator",
    "LoggedOperator",
    "OperatorPrompts",
    "Profile",
    "ProfileError",
    "ProfilePress",
    "find_profile",
    "load_profile",
    "parse_profile",
    "shipped_profiles",
]
