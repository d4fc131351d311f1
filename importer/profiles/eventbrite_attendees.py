"""Eventbrite attendee/order export: one row per ticket with an Attendee Status.  A ticket is a
registration; 'Checked In' means attended; refunds and cancellations cancel; transfers skip."""

from __future__ import annotations

from ..models import State
from .base import Decision, Facts, Profile, SheetLike, count_in, generic_rules, head_keys

NAME = "eventbrite_attendees"


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    hits = count_in(keys, "Order #", "Order Date", "Attendee Status", "Ticket Type", "Attendee #", "Buyer Email")
    return 0.0 if hits < 2 else min(0.4 + 0.1 * hits, 0.95)


def rules(f: Facts) -> Decision:
    return generic_rules(f, default=State.REGISTER)


PROFILE = Profile(NAME, matches, rules, platform="Eventbrite")
