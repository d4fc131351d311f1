"""Microsoft Teams attendance report (new "1. Summary / 2. Participants / 3. In-Meeting
Activities" layout and the older "Meeting Summary" one).  Organizers are not participants and the
activities section repeats people, so it is left out."""

from __future__ import annotations

from ..models import Reason, State
from .base import Decision, Facts, Profile, SheetLike, count_in, generic_rules, head_keys

NAME = "teams_attendance"

ORGANIZER = frozenset({"organizer", "organiser", "organisator", "organisateur", "organizador", "organisatrice"})


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    score = 0.3 * count_in(keys, "Participant ID (UPN)", "In-Meeting Duration")
    score += 0.2 * count_in(keys, "1. Summary", "2. Participants", "Meeting Summary", "Meeting title")
    if not score:
        return 0.0  # 'Full Name' or 'First Join' alone is any sheet's header
    score += 0.1 * count_in(keys, "First Join", "Last Leave", "Full Name", "Total Number of Participants")
    return min(score, 0.95)


def leave_out(label: str) -> bool:
    """The in-meeting activities section lists each join/leave again: not extra people."""
    return label.startswith("3") or "activit" in label or "actividad" in label


def rules(f: Facts) -> Decision:
    d = generic_rules(f, default=State.ATTEND)
    d.skip(
        f.is_in("role", ORGANIZER),
        Reason.ORGANIZER,
        "Row {row} ({who}) is the meeting organizer; organizers are not recorded as participants.",
        first=True,
    )
    return d


PROFILE = Profile(NAME, matches, rules, leave_out=leave_out, platform="Teams")
