"""Webex meeting attendee report (Control Hub / site admin export: ``Meeting Name, Meeting Start
Time, ..., Session Name, Display Name, Attendee Email, Join Time, Leave Time, Attendance Duration``;
the columns public parsers of the export read).  Everyone listed joined: attend at the earliest
join, breakout sessions repeat people and merge.  Guests who joined without signing in carry a
placeholder address ``...@guest.webex.localhost`` that no contact can have: those rows are skipped."""

from __future__ import annotations

import numpy as np

from ..models import Reason, State
from .base import Decision, Facts, Profile, SheetLike, count_in, generic_rules, has_all, head_keys

NAME = "webex_attendees"
GUEST_DOMAIN = "@guest.webex.localhost"


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    if not has_all(keys, "Attendee Email", "Attendance Duration"):
        return 0.0
    return min(0.6 + 0.05 * count_in(keys, "Display Name", "Meeting Name", "Session Name", "Join Time"), 0.9)


def rules(f: Facts) -> Decision:
    d = generic_rules(f, default=State.ATTEND)
    email = f.text.get("email")
    if email is not None:
        guest = email.str.strip().str.lower().str.endswith(GUEST_DOMAIN).to_numpy(dtype=bool)
        d.skip(
            np.asarray(guest, dtype=bool),
            Reason.PLACEHOLDER_EMAIL,
            "Row {row} ({who}) joined Webex as a guest without signing in; its address is a placeholder no "
            "contact has, so it is not recorded.",
            first=True,
        )
    return d


PROFILE = Profile(NAME, matches, rules, platform="Webex")
