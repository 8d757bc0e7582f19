"""Serial ports the virtual press serves (moved to :mod:`presshil.serving.ports`)."""

from __future__ import annotations

from ..serving.ports import ServedPort, open_served_port

__all__ = ["ServedPort", "open_served_port"]
