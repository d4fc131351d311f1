"""Zoom webinar "Attendee Report": title lines, a topic table, then Host / Panelist / Attendee
sections each with its own header.  Hosts and panelists are staff, not participants."""

from __future__ import annotations

import numpy as np

from ..models import Reason, State
from .base import Decision, Facts, Profile, SheetLike, count_in, generic_rules, head_keys

NAME = "zoom_webinar_attendee"


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    if "usernameoriginalname" not in keys and "attendeedetails" not in keys:
        return 0.0
    return 0.5 + 0.1 * count_in(keys, "Attendee Report", "Host Details", "Attendee Details", "Webinar ID", "Join Time")


def rules(f: Facts) -> Decision:
    d = generic_rules(f, default=State.ATTEND)
    section = f.section.astype(str)
    d.skip(
        np.char.startswith(section, "host"),
        Reason.HOST,
        "Row {row} ({who}) is the webinar host; hosts are not recorded as participants.",
        first=True,
    )
    d.skip(
        np.char.startswith(section, "panelist"),
        Reason.PANELIST,
        "Row {row} ({who}) is a panelist; panelists are not recorded as attendees.",
        first=True,
    )
    return d


PROFILE = Profile(NAME, matches, rules, platform="Zoom")
