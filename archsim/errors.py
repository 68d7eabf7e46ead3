"""Exceptions raised by archsim. All are ValueErrors whose message is one line."""

from __future__ import annotations

__all__ = ["SpecError", "ProgramError", "MissingEnergyError"]


class SpecError(ValueError):
    """A bad architecture spec or override: ``<file>: <dotted.field.path>: <what is wrong>``."""


class ProgramError(ValueError):
    """A program that cannot run on an architecture (unknown unit/level, oversize alloc, deadlock)."""


class MissingEnergyError(ValueError):
    """An action with a nonzero count has no entry in the architecture's energy table."""
