"""GoTo Webinar attendee report (.xlsx or .csv): label/value blocks above one table with an
Attended Yes/No column; times may end in a zone abbreviation ('Nov 19, 2024 11:01 AM EST')."""

from __future__ import annotations

from ..models import State
from .base import Decision, Facts, Profile, SheetLike, count_in, generic_rules, head_keys

NAME = "goto_webinar_attendee"


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    if "interestrating" not in keys and "generalinformation" not in keys:
        return 0.0
    return 0.5 + 0.1 * count_in(
        keys, "Interest Rating", "Session Details", "In Session Duration (minutes)", "Time in Session", "Attended"
    )


def rules(f: Facts) -> Decision:
    return generic_rules(f, default=State.ATTEND)


PROFILE = Profile(NAME, matches, rules, platform="GoTo Webinar")
