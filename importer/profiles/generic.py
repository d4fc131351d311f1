"""Any attendee list (English, German, French or Spanish headers): the fallback profile.  It has
no rule of its own for the state: the file's columns or titles must say it, or ``--state``."""

from __future__ import annotations

from .base import Decision, Facts, Profile, SheetLike, generic_rules

NAME = "generic"


def matches(sheet: SheetLike) -> float:
    """Always a candidate, but the weakest one."""
    return 0.1


def rules(f: Facts) -> Decision:
    return generic_rules(f)


PROFILE = Profile(NAME, matches, rules)
