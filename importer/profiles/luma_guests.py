"""Luma guest export: approved guests registered, checked-in ones attended; any other approval
status (declined, waitlist, pending_approval, invited) is skipped."""

from __future__ import annotations

from ..models import Reason, State
from .base import Decision, Facts, Profile, SheetLike, count_in, generic_rules, head_keys

NAME = "luma_guests"

#: Luma's approval statuses other than approved, each its own reason (what the guest did).
LUMA_STATUSES = {
    Reason.DECLINED: "declined the invitation",
    Reason.INVITED: "was invited but has not registered",
    Reason.PENDING_APPROVAL: "is waiting for the host's approval",
    Reason.WAITLIST: "is on the waitlist",
}


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    if "apiid" not in keys:
        return 0.0
    return 0.5 + 0.1 * count_in(keys, "approval_status", "checked_in_at", "created_at", "qr_code_url")


def rules(f: Facts) -> Decision:
    d = generic_rules(f, default=State.REGISTER)
    for reason, what in LUMA_STATUSES.items():
        d.skip(
            f.is_in("state_text", {reason.value}),
            reason,
            f"Row {{row}} ({{who}}) {what}; it is not recorded.",
            first=True,
        )
    d.skip(
        ~f.is_in("state_text", {"", "approved", *LUMA_STATUSES}),
        Reason.NOT_APPROVED,
        "Row {row} ({who}) has Luma approval status '{status}'; only approved guests are recorded.",
        first=True,
    )
    return d


PROFILE = Profile(NAME, matches, rules, platform="Luma")
