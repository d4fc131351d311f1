"""Demio session participants report (Reports > a session's participants).

Header set: the participant record of Demio's report API, ``email, name, attended, status`` with
``status`` one of ``attended, did not attend, completed, left early, banned`` and the registration
form's custom fields beside them (the API Blueprint Demio publishes at publicdemioapi.docs.apiary.io;
public copy api-evangelist/banzai ``openapi/banzai-demio-openapi.yml``, ``/report/{date_id}/participants``).

Everyone listed registered for the session; ``attended`` true (status attended, completed or left
early) is attendance.  The report has no times: both take the event's start.  A banned participant
was removed from the room by the host and is skipped.
"""

from __future__ import annotations

from ..models import Reason, State
from .base import Decision, Facts, Profile, SheetLike, count_in, generic_rules, has_all, head_keys

NAME = "demio_participants"
STATUSES = ("did not attend", "left early", "completed", "banned")


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    if not has_all(keys, "email", "attended", "status"):
        return 0.0
    seen = count_in(keys, *STATUSES)  # detection reads the first lines' cells too
    if not seen:
        return 0.0
    return min(0.55 + 0.1 * seen, 0.9)


def rules(f: Facts) -> Decision:
    d = generic_rules(f, default=State.REGISTER)
    d.skip(
        f.is_in("state_text", {"banned"}),
        Reason.BANNED,
        "Row {row} ({who}) was banned from the Demio room by the host; it is not recorded.",
        first=True,
    )
    return d


#: Demio's ``name`` is what the person typed in the first-name box (``John``, with a custom ``Last
#: Name`` beside it) or their whole name (``Jane Doe``): read as the first name, the display is right.
PROFILE = Profile(NAME, matches, rules, aliases={"first_name": ("name",)}, platform="Demio")
