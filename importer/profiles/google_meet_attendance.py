"""Google Meet attendance report (the sheet Meet sends the organizer after a meeting with
attendance tracking on).

Header set: ``First name, Last name, Email, Duration, Time joined, Time exited``, times of day
without a date (``10:02 AM``) and durations like ``1 hr 5 min``; the date is not in the table.
Google names the file ``YYYY-MM-DD HH:MM {Meeting name} - Attendance Report.csv`` (earlier
``YYYY-MM-DD HH-MM Name of Meeting.csv``).  Source: a public Apps Script that aggregates these
reports and reads exactly these six columns and that file name (Nick Young's "Google Meet
Attendance Tracker", ``Code.gs``).

The meeting's date comes from the file: a date written in a line above the table (a title or
info line), else the date the file name starts with.  When neither says it, or the lines above
name several dates, the run stops before sending and asks for ``--meeting-date``: a time of day
on a guessed date would land a day or more off.  A meeting that ran past midnight shows it in a
row that left earlier in the day than it joined; the later times are then read on the next day
as far as the rows prove it, else the run asks for the meeting's start (``mapper_days``).
Everyone listed joined: attend at the earliest ``Time joined``.
"""

from __future__ import annotations

import re

from ..models import State
from .base import Decision, Facts, Profile, SheetLike, count_in, generic_rules, has_all, head_keys

NAME = "google_meet_attendance"

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t|tember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
#: A calendar date inside a cell: ISO, 'Nov 21, 2024', '21 Nov 2024' or numeric '21/11/2024'.
DATE_IN_TEXT = re.compile(
    rf"\b(\d{{4}}-\d{{1,2}}-\d{{1,2}}|{_MONTH} \d{{1,2}}, \d{{4}}|\d{{1,2}} {_MONTH},? \d{{4}}|"
    rf"\d{{1,2}}[./]\d{{1,2}}[./]\d{{4}})\b",
    re.IGNORECASE,
)
FILE_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})[ _T]")


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    if not has_all(keys, "Time joined", "Time exited"):
        return 0.0
    return min(0.6 + 0.05 * count_in(keys, "First name", "Last name", "Email", "Duration"), 0.9)


def meeting_dates(sheet: SheetLike, header_pos: int) -> list[tuple[str, str]]:
    """Every date the file writes outside the table, with where: the lines above the header
    first; the file name only when those lines say none."""
    found: list[tuple[str, str]] = []
    numbers = sheet.row_numbers
    for pos in range(header_pos):
        for cell in sheet.frame.iloc[pos].tolist():
            for hit in DATE_IN_TEXT.finditer(str(cell)):
                found.append((hit.group(1), f"line {int(numbers[pos])}"))
    if found:
        return found
    named = FILE_DATE.match(sheet.path.name)
    return [(named.group(1), "the file name")] if named else []


def rules(f: Facts) -> Decision:
    return generic_rules(f, default=State.ATTEND)


PROFILE = Profile(
    NAME,
    matches,
    rules,
    aliases={"join_time": ("Time joined",)},
    platform="Google Meet",
    meeting_dates=meeting_dates,
    leave_headers=("Time exited",),
)
