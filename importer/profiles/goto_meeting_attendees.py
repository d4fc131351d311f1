"""GoTo Meeting attendee report (GoTo Admin > Reports > Attendee report, one line per join).

Header set: the fields of GoTo Meeting's attendee report as its API documents them
(``AttendeeByMeeting``: ``meetingId, meetingInstanceKey, subject, startTime, endTime, organizerkey,
email, firstName, lastName, attendeeName, attendeeEmail, joinTime, leaveTime, duration,
conferenceCallInfo, numAttendees``; public copy: paragonsean/openapi-directory,
``APIs/citrixonline.com/gotomeeting/1.0.0/javascript-client/docs/AttendeeByMeeting.md``).  Headers
are compared without case or spaces, so ``attendeeEmail`` and ``Attendee Email`` are one header.

``email``, ``firstName`` and ``lastName`` there are the meeting organizer's, so they are never read
as the attendee's: the attendee is ``attendeeEmail`` / ``attendeeName``.  Everyone listed joined:
attend at the earliest ``joinTime`` (a rejoin is another line and merges).
"""

from __future__ import annotations

from ..models import State
from .base import Decision, Facts, Profile, SheetLike, count_in, generic_rules, has_all, head_keys

NAME = "goto_meeting_attendees"


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    if not has_all(keys, "attendeeEmail", "joinTime"):
        return 0.0
    marks = count_in(keys, "meetingInstanceKey", "conferenceCallInfo", "organizerkey", "numAttendees", "meetingId")
    if not marks:
        return 0.0  # 'Attendee Email' and 'Join Time' alone are Webex's or anyone's
    return min(0.6 + 0.05 * marks, 0.9)


def rules(f: Facts) -> Decision:
    return generic_rules(f, default=State.ATTEND)


PROFILE = Profile(
    NAME,
    matches,
    rules,
    aliases={"email": ("attendeeEmail",), "name": ("attendeeName",)},
    platform="GoTo Meeting",
    ignore=frozenset({"email", "firstName", "lastName", "name"}),
)
