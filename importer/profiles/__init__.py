"""Platform profiles: recognise an export's layout and apply its rules (hosts, organizers,
statuses).  ``detect`` picks the best-scoring profile; ``generic`` is the fallback."""

from __future__ import annotations

from ..errors import InputError
from . import (
    bigmarker_conference,
    demio_participants,
    eventbrite_attendees,
    generic,
    google_meet_attendance,
    goto_meeting_attendees,
    goto_webinar_attendee,
    hubspot_contacts,
    livestorm_people,
    luma_guests,
    on24_attendees,
    teams_attendance,
    teams_attendance_list,
    webex_attendees,
    zoom_meeting_participants,
    zoom_registrants,
    zoom_registration,
    zoom_webinar_attendee,
)
from .base import Profile, SheetLike

PROFILES: list[Profile] = [
    zoom_webinar_attendee.PROFILE,
    zoom_meeting_participants.PROFILE,
    zoom_registration.PROFILE,
    zoom_registrants.PROFILE,
    teams_attendance.PROFILE,
    teams_attendance_list.PROFILE,
    webex_attendees.PROFILE,
    goto_webinar_attendee.PROFILE,
    goto_meeting_attendees.PROFILE,
    google_meet_attendance.PROFILE,
    on24_attendees.PROFILE,
    livestorm_people.PROFILE,
    bigmarker_conference.PROFILE,
    demio_participants.PROFILE,
    eventbrite_attendees.PROFILE,
    luma_guests.PROFILE,
    hubspot_contacts.PROFILE,
    generic.PROFILE,
]
GENERIC = generic.PROFILE

__all__ = ["GENERIC", "PROFILES", "Profile", "by_name", "detect"]


def detect(sheet: SheetLike) -> Profile:
    """The profile that recognises the sheet best (ties go to the earlier, more specific one)."""
    best, score = GENERIC, GENERIC.matches(sheet)
    for profile in PROFILES:
        got = profile.matches(sheet)
        if got > score:
            best, score = profile, got
    return best


def by_name(name: str) -> Profile:
    """A profile named by the user (``profile`` option)."""
    for profile in PROFILES:
        if profile.name == name:
            return profile
    names = ", ".join(p.name for p in PROFILES)
    raise InputError(f"Unknown profile {name!r}.", hint=f"Use one of: {names}.")
