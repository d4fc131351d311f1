"""A HubSpot contacts export used as an input list: contact ids (Record ID) with emails and no
times.  Nothing in it says who attended, so unless its columns or titles do, ``--state`` decides."""

from __future__ import annotations

from .base import Decision, Facts, Profile, SheetLike, count_in, generic_rules, head_keys

NAME = "hubspot_contacts"


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    if not count_in(keys, "Record ID", "Contact ID", "hs_object_id"):
        return 0.0
    if count_in(keys, "Join Time", "First Join", "Attended", "Registration Time", "Check-in Time"):
        return 0.0
    return 0.4 + 0.1 * count_in(keys, "Email", "First Name", "Last Name", "Create Date", "Lifecycle Stage")


def rules(f: Facts) -> Decision:
    return generic_rules(f)


PROFILE = Profile(NAME, matches, rules, platform="HubSpot")
