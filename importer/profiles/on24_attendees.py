"""ON24 audience export (attendees and registrants of one webcast).

Header set: the attendee fields ON24 publishes for its event attendee report (``email,
eventuserid, exteventusercd, userstatus, isblocked, engagementscore, liveminutes, liveviewed,
firstliveactivity, lastliveactivity, archiveminutes, archiveviewed, firstarchiveactivity,
lastarchiveactivity, askedquestions, ..., launchmode``: the verbatim response examples of
https://api.on24.com/v2/openapi.json, public copy api-evangelist/on24
``examples/on24-analyticseventlevel-attendees-200.json``).  Headers compare without case or
spaces (``Live Minutes`` is ``liveminutes``).

Everyone in it registered for the webcast.  Live viewing is attendance: ``liveminutes`` above zero,
at ``firstliveactivity`` (the event's start when the export has none).  Watching only the
recording (``archiveminutes``) is not attending the event: such a person is recorded as registered.
Blocked users (``isblocked`` Y) are skipped.
"""

from __future__ import annotations

from ..models import Reason, State
from .base import YES, Decision, Facts, Profile, SheetLike, count_in, generic_rules, head_keys

NAME = "on24_attendees"


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    if "eventuserid" not in keys:
        return 0.0
    return min(0.6 + 0.05 * count_in(keys, "liveminutes", "archiveminutes", "engagementscore", "isblocked"), 0.9)


def rules(f: Facts) -> Decision:
    d = generic_rules(f, default=State.REGISTER)
    d.skip(
        f.is_in("state_text", YES),
        Reason.DENIED,
        "Row {row} ({who}) is blocked in ON24 (isblocked Y); it is not recorded.",
        first=True,
    )
    return d


PROFILE = Profile(
    NAME,
    matches,
    rules,
    aliases={
        "join_time": ("firstliveactivity",),
        "duration": ("liveminutes",),
        "state_text": ("isblocked",),
        "registration_time": ("createtimestamp",),
    },
    platform="ON24",
)
