"""Zoom webinar "Registration Report": everyone listed registered (denied/pending ones are skipped)."""

from __future__ import annotations

from ..models import State
from .base import Decision, Facts, Profile, SheetLike, count_in, generic_rules, head_keys
from .headers import norm_header

NAME = "zoom_registration"


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    if "registrationreport" not in keys and "registrantdetails" not in keys:
        return 0.0
    if norm_header("Join Time") in keys or "usernameoriginalname" in keys:
        return 0.0
    return 0.5 + 0.1 * count_in(keys, "Webinar ID", "Approval Status", "Registration Time")


def rules(f: Facts) -> Decision:
    d = generic_rules(f, default=State.REGISTER)
    d.state[d.state == State.ATTEND] = State.REGISTER
    return d


PROFILE = Profile(NAME, matches, rules, platform="Zoom")
