"""Zoom registrant list with join links (``Webinar ID,Display Name,Attendee Email,Attendee Join
Link``; the same with ``Meeting ID``): the people who registered and were sent a personal join
link.  It proves a registration, never an attendance, and carries no registration time, so each row
is a registration at the event's start."""

from __future__ import annotations

from .base import Decision, Facts, Profile, SheetLike, count_in, head_keys
from .zoom_registration import rules as registration_rules

NAME = "zoom_registrants"


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    if not count_in(keys, "Attendee Join Link", "Join Link", "Registrant Join Link", "Join URL"):
        return 0.0
    return min(0.6 + 0.1 * count_in(keys, "Webinar ID", "Meeting ID", "Display Name", "Attendee Email"), 0.95)


def rules(f: Facts) -> Decision:
    return registration_rules(f)


PROFILE = Profile(NAME, matches, rules, platform="Zoom")
