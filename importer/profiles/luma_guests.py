"""Luma guest export: approved guests registered, checked-in ones attended; any other approval
status (declined, waitlist, pending_approval, invited) is skipped."""

from __future__ import annotations

from ..models import Reason, State
from .base import Decision, Facts, Profile, SheetLike, count_in, generic_rules, head_keys

NAME = "luma_guests"


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    if "apiid" not in keys:
        return 0.0
    return 0.5 + 0.1 * count_in(keys, "approval_status", "checked_in_at", "created_at", "qr_code_url")


def rules(f: Facts) -> Decision:
    d = generic_rules(f, default=State.REGISTER)
    d.skip(
        ~f.is_in("state_text", {"", "approved"}),
        Reason.NOT_APPROVED,
        "Row {row} ({who}) has Luma approval status '{status}'; only approved guests are recorded.",
        first=True,
    )
    return d


PROFILE = Profile(NAME, matches, rules, platform="Luma")
