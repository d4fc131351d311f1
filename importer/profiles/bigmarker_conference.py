"""BigMarker webinar exports: attendees and registrants of one conference.

Header sets: the attendee and registrant records of BigMarker's conference API, as a public Singer
tap declares them (manuelapilongo/tap-bigmarker ``tap_bigmarker/schemas/conferences_attendees.json``:
``id, bmid, conference_id, email, first_name, last_name, edited_in_room_display_name, browser_name,
browser_version, device_name, entered_at, leaved_at, total_duration, engaged_duration, chats_count,
qas_count, time_zone, country, polls_count``; ``conferences_registrants.json``: ``id,
custom_user_id, email, first_name, last_name, conference_id, enter_url, bmid, referral_domain,
source, tracking_code, time_zone, country, registered_at``).

The state comes from the columns: ``entered_at`` (or a positive ``total_duration``) is attendance,
at the room entry time; a registrant line with ``registered_at`` is a registration at that time.
"""

from __future__ import annotations

from .base import Decision, Facts, Profile, SheetLike, count_in, generic_rules, head_keys

NAME = "bigmarker_conference"


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    if "bmid" not in keys or "conferenceid" not in keys:
        return 0.0
    return min(0.6 + 0.05 * count_in(keys, "entered_at", "leaved_at", "enter_url", "registered_at"), 0.9)


def rules(f: Facts) -> Decision:
    return generic_rules(f)


PROFILE = Profile(
    NAME,
    matches,
    rules,
    aliases={"join_time": ("entered_at",), "duration": ("total_duration",)},
    platform="BigMarker",
)
