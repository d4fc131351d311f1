"""The reconciliation report: every input row with its outcome, as .xlsx, .csv or JSON lines.

``build_report`` turns the settled rows and the run summary into a ``Report`` (pure data);
``write_report`` only formats it.  Marketers open the .xlsx, and ``importer retry`` / ``verify``
read any of the three formats back with ``read_report``, so column names are a contract.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import re
import shlex
import stat
import tempfile
import textwrap
import zipfile
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from itertools import islice, repeat
from json.encoder import encode_basestring as _json_string
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any

from .actions import FILE_FIXES, Original
from .bulk import no_gc
from .config import KEY_PLACES, REPORT_FORMATS, SERVICE_KEYS_PAGE
from .errors import DISK_FULL_ERRNOS, ImporterError, InputError, ReportWriteError, disk_full
from .models import EventInfo, FileInfo, Outcome, Reason, Row, RowRef, RunStats
from .zones import parse_zone

#: The first nine columns of the Rows sheet, in this order (users' scripts depend on them).
CORE_COLUMNS: tuple[str, ...] = (
    "source_file",
    "source_row",
    "email",
    "vid",
    "state",
    "interaction_time_utc",
    "outcome",
    "reason",
    "message",
)
#: Columns that follow the core ones; the row's ``extra`` columns come after these.
MORE_COLUMNS: tuple[str, ...] = (
    "event_id",
    "interaction_time_local",
    "time_source",
    "merged_into",
    "batch_id",
    "correlation_id",
    "created_contact",
    "profile",
)
ROW_COLUMNS: tuple[str, ...] = CORE_COLUMNS + MORE_COLUMNS
#: A row's second participation (an attendee's registration, say), when some row of the report
#: proves two; they follow ``MORE_COLUMNS``.  The first participation, in the core columns, is the
#: one that most needs the user, so ``outcome`` is ``recorded`` only when both are.
ALSO_COLUMNS: tuple[str, ...] = (
    "also_state",
    "also_time_utc",
    "also_outcome",
    "also_reason",
    "also_message",
    "also_time_source",
    "also_merged_into",
)
#: Every column the importer itself writes (the rest are source columns).
REPORT_COLUMNS: tuple[str, ...] = ROW_COLUMNS + ALSO_COLUMNS
#: Errors columns.  Scripts read them by position, so a new column goes after the established ones.
ERROR_COLUMNS: tuple[str, ...] = (
    "reason",
    "count_in_group",
    "source_file",
    "source_row",
    "email",
    "vid",
    "message",
    "fix",
    "correlation_id",
    "name",
    "original_values",
)
#: Errors columns: (width, wrapped); the long texts wrap so each can be read whole.
_ERROR_WIDTHS: Mapping[str, tuple[int, bool]] = {
    "reason": (22, False),
    "count_in_group": (15, False),
    "source_file": (26, True),
    "source_row": (11, False),
    "email": (30, False),
    "vid": (12, False),
    "message": (50, True),
    "fix": (50, True),
    "correlation_id": (20, False),
    "name": (22, False),
    "original_values": (60, True),
}
SHEETS: tuple[str, ...] = ("Summary", "Rows", "Errors")

#: What each exit code tells the user (shown in the Summary and the terminal).
EXIT_MEANINGS: Mapping[int, str] = {
    0: "Every row was recorded, merged, skipped or planned.",
    1: "Some rows were rejected or failed: the report says what to do for each.",
    2: "Nothing was sent: fix the input, configuration or command.",
    3: "The run stopped early: run the same command again to resume.",
}

_OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)
_PROBLEMS = frozenset({Outcome.REJECTED.value, Outcome.FAILED.value})
_SENT = frozenset({Outcome.RECORDED, Outcome.PLANNED})
#: OWASP CSV injection: a cell starting with one of these could become a live formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_EXCEL_MAX_ROWS = 1_048_576
#: Excel numbers are doubles: larger whole numbers (a contact id above 2**53) are written as text,
#: or they would come back as another number.
_EXCEL_EXACT_INT = 2**53
#: Above this many rows a default .xlsx report becomes .csv: xlsxwriter needs minutes for a
#: million-row workbook, while the CSV takes seconds and Excel opens it just as well.
WORKBOOK_ROW_LIMIT = 200_000
_OUTCOME_COLOURS: Mapping[str, tuple[str, str]] = {  # (fill, font)
    "recorded": ("#C6EFCE", "#006100"),
    "rejected": ("#FFC7CE", "#9C0006"),
    "failed": ("#FFC7CE", "#9C0006"),
    "skipped": ("#E7E6E6", "#3A3838"),
    "merged": ("#E7E6E6", "#3A3838"),
    "planned": ("#DDEBF7", "#1F4E78"),
}
_UTC_FORMAT = 'yyyy-mm-dd hh:mm:ss"Z"'
_UTC_MS_FORMAT = 'yyyy-mm-dd hh:mm:ss.000"Z"'
_LOCAL_FORMAT = "yyyy-mm-dd hh:mm:ss"
_LOCAL_MS_FORMAT = "yyyy-mm-dd hh:mm:ss.000"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SUMMARY_VALUE_WIDTH = 70


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What the Summary sheet says about the run besides the row counts."""

    run_id: str
    event: EventInfo
    files: tuple[FileInfo, ...]
    started_at: datetime
    finished_at: datetime
    timezone: str | None
    dry_run: bool
    stats: RunStats
    exit_code: int
    report_path: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Report:
    """The report as data; the renderers only format it."""

    summary: RunSummary
    rows: Sequence[Row]
    counts: Mapping[str, int]
    by_state: Mapping[str, int]
    by_reason: Mapping[str, int]
    #: the original line (header, cells) of rows that need attention, as read from their files
    originals: Mapping[RowRef, Original] = field(default_factory=dict)
    #: the files to act on beside the report (``fix``, ``fix_rows``, ``fix_command``, ``create``,
    #: ``create_rows``; see ``actions.Actions.paths``)
    action_files: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- building


def build_report(
    rows: Sequence[Row],
    summary: RunSummary,
    *,
    originals: Mapping[RowRef, Original] | None = None,
    action_files: Mapping[str, str] | None = None,
) -> Report:
    """Count the rows per outcome (all six words, zeros included), per reason, and per state the
    participations recorded (or planned, in a dry run), both of a row that proves two: a rejected
    row's state was never sent.

    Column by column (``Counter`` over ``attrgetter`` runs in C), then one entry per distinct word.
    """
    outcomes = _by_value(Counter(map(attrgetter("outcome"), rows)))
    pairs = Counter(zip(map(attrgetter("outcome"), rows), map(attrgetter("state"), rows), strict=True))
    seconds = [a for a in map(attrgetter("also"), rows) if a is not None]  # a row's second participation
    pairs.update(zip(map(attrgetter("outcome"), seconds), map(attrgetter("state"), seconds), strict=True))
    states = _by_value(Counter({st: n for (o, st), n in pairs.items() if o in _SENT}))
    reasons = Counter(map(attrgetter("reason"), rows))
    del reasons[""]
    counts = {o: outcomes.get(o, 0) for o in _OUTCOMES}
    if outcomes.get(""):
        counts["unsettled"] = outcomes[""]
    return Report(
        summary=summary,
        rows=rows,
        counts=counts,
        by_state=dict(sorted(states.items())),
        by_reason=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        originals=originals or {},
        action_files=action_files or {},
    )


def _by_value(counts: Counter[Any]) -> Counter[str]:
    """Counts of enum members keyed by their value (``""`` for None)."""
    out: Counter[str] = Counter()
    for word, n in counts.items():
        out[word.value if word is not None else ""] += n
    return out


def exit_code_for(rows: Sequence[Row]) -> int:
    """0 when every row is recorded/merged/skipped/planned, else 1 (the report decides the exit code)."""
    outcomes = set(map(attrgetter("outcome"), rows))
    return 1 if None in outcomes or any(o.value in _PROBLEMS for o in outcomes if o is not None) else 0


def default_report_path(first_input: str | Path, cwd: Path) -> Path:
    """``attendees.csv`` -> ``<cwd>/attendees.reconciliation.xlsx``."""
    return Path(cwd) / f"{Path(first_input).stem}.reconciliation.xlsx"


def choose_format(path: Path, rows: int, explicit: bool) -> tuple[Path, str | None]:
    """The report path to write, and a note for the summary when it differs from ``path``.

    Only a default path changes: a workbook the user asked for with --report is always written.
    """
    if explicit or rows <= WORKBOOK_ROW_LIMIT or path.suffix.lower() != ".xlsx":
        return path, None
    note = (
        f"The report has {rows:,} rows: written as CSV, which Excel opens, because a workbook that large "
        f"takes minutes to write; pass --report {path.stem}.xlsx to force a workbook."
    )
    return path.with_suffix(".csv"), note


def iso_utc(ms: int | None) -> str:
    """Epoch milliseconds as ISO 8601 UTC text with ``Z`` (milliseconds only when non-zero)."""
    if ms is None:
        return ""
    dt = _EPOCH + timedelta(milliseconds=ms)
    frac = ms % 1000
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{frac:03d}Z" if frac else f"{text}Z"


def _iso_local(ms: int | None, zone: tzinfo | None) -> str:
    if ms is None or zone is None:
        return ""
    dt = (_EPOCH + timedelta(milliseconds=ms)).astimezone(zone)
    return dt.isoformat(timespec="milliseconds" if ms % 1000 else "seconds")


def _zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    try:
        return parse_zone(name)
    except InputError:
        return None


def plural(n: int, noun: str, many: str = "") -> str:
    """``1 request``, ``2 requests``, ``1,200 contacts``: counts as a person writes them."""
    return f"{n:,} {noun if n == 1 else many or noun + 's'}"


def _where(row: Row) -> str:
    return f"{row.ref.file} row {row.ref.row}"


# --------------------------------------------------------------------------- fixes


def fix_for(row: Row, report_path: str = "<report>") -> str:
    """A concrete next step for a row's reason, naming the file and row where the user must look."""
    reason = row.reason
    where = _where(row)
    report_path = shlex.quote(report_path)
    retry = f"run `importer retry {report_path}`"
    found = f" (found: '{row.email}')" if row.email else ""
    rerun = "then run the same import again (rows already recorded are skipped)"
    fixes: dict[str, str] = {
        Reason.MISSING_EMAIL: f"Add the contact's email in {where}, {rerun}",
        Reason.INVALID_EMAIL: f"Correct the email in {where}{found}, {rerun}",
        Reason.INVALID_VID: (
            f"Correct the contact ID in {where}: use the Record ID HubSpot shows on the contact, {rerun}"
        ),
        Reason.CONTACT_NOT_FOUND: (f"Add the contact to HubSpot (or re-run with --create-missing), then {retry}"),
        Reason.CONFLICTING_CONTACT_ID: (
            f"The email and the contact ID in {where} belong to different HubSpot contacts: "
            f"keep only the right one, {rerun}"
        ),
        Reason.BAD_TIME: f"Fix the date in {where} so it reads like 2024-11-05 15:58, {rerun}",
        Reason.MISSING_TIME: (f"Add the date and time in {where}, or give the event a start time in HubSpot, {rerun}"),
        Reason.DUPLICATE_CONTACT: (
            f"Nothing to do: merged into {row.merged_into.file} row {row.merged_into.row}"
            if row.merged_into is not None
            else "Nothing to do: merged with another row of the same contact"
        ),
        Reason.HOST: "Nothing to do: hosts are skipped on purpose",
        Reason.PANELIST: "Nothing to do: panelists are skipped on purpose",
        Reason.ORGANIZER: "Nothing to do: organizers are skipped on purpose",
        Reason.NOT_APPROVED: "Nothing to do: registrations not approved are skipped; approve them first to record them",
        Reason.LOST_PRECISION_ID: (
            f"Excel shortened the contact ID in {where} to scientific notation: format the column as Text in the "
            f"original export and save it again (or clear the cell to match by email), {rerun}"
        ),
        Reason.DECLINED: "Nothing to do: the guest declined the invitation",
        Reason.INVITED: "Nothing to do: the guest was invited but has not registered",
        Reason.PENDING_APPROVAL: "Nothing to do until the registration is approved; approve it first to record it",
        Reason.WAITLIST: "Nothing to do: waitlisted guests are not registered; approve them first to record them",
        Reason.TRANSFERRED: "Nothing to do: transferred tickets are skipped; the new holder's row counts",
        Reason.DENIED: "Nothing to do: denied registrations are skipped on purpose; approve them first to record them",
        Reason.WAITING_ROOM: (
            "Nothing to do: time in the waiting room is not attendance; the person's admitted row counts"
        ),
        Reason.PLACEHOLDER_EMAIL: (
            "Nothing to do unless you know who it was: a guest's placeholder address matches no contact"
        ),
        Reason.BANNED: "Nothing to do: people the host banned from the room are skipped on purpose",
        Reason.ALREADY_RECORDED: "Nothing to do: HubSpot already has this participation",
        Reason.STILL_REGISTERED: (
            "Nothing to do: the same contact registered or attended in another row, so no cancel is sent"
        ),
        Reason.HTTP_400: f"HubSpot refused this row as invalid: check the message, fix {where}, {rerun}",
        Reason.HTTP_429: f"Temporary HubSpot problem: {retry} later",
        Reason.HTTP_5XX: f"Temporary HubSpot problem: {retry} later",
        Reason.NETWORK_ERROR: f"Temporary HubSpot problem: {retry} later",
        Reason.TIMEOUT: f"Temporary HubSpot problem: {retry} later",
        Reason.REJECTED_BY_HUBSPOT: (
            f"HubSpot refused this contact (see the message): fix the contact in HubSpot, then {retry}; "
            f"or correct {where} and run the same import again"
        ),
        Reason.NOT_IN_RESPONSE: (
            f"HubSpot did not confirm this contact: run `importer verify {report_path}` to check, then {retry}"
        ),
        Reason.BAD_RESPONSE: (
            f"HubSpot's answer could not be read: run `importer verify {report_path}`, then {retry}; "
            "if it happens again, give HubSpot support the correlation ID"
        ),
        Reason.TOKEN_REJECTED: (
            f"Create a service key in HubSpot ({SERVICE_KEYS_PAGE}), set HUBSPOT_ACCESS_TOKEN to it, then {retry}"
        ),
        Reason.MISSING_SCOPE: (
            f"Add the scope {_scope_in(row.message)} to the service key or private app ({KEY_PLACES}), then {retry}"
        ),
        Reason.EVENT_NOT_FOUND: (
            "Check the marketing event ID (HubSpot has no such event in this account), "
            f"then run `importer retry {report_path} --event OBJECT_ID` with the right one"
        ),
        Reason.DAILY_LIMIT: f"HubSpot's daily API limit is used up: {retry} tomorrow",
        Reason.INTERRUPTED: f"The run stopped before this row was sent: {retry} (or the same command again)",
        Reason.LOCKED: "Another import held the state folder: when it has finished, run the same command again",
        Reason.DISK_FULL: "The disk filled up before this row was sent: free space, then run the same command again",
        Reason.DRY_RUN: "Nothing to do: this was a dry run; run without --dry-run to send",
    }
    if reason in fixes:
        return fixes[reason]
    if reason.startswith("http_") and reason[5:].isdigit():
        return f"HubSpot answered HTTP {reason[5:]}: read the message, fix the cause, then {retry}"
    return _generic_fix(row, report_path)


def _scope_in(message: str) -> str:
    """The scope a missing_scope message names (the write scope when it names none: sending needs it)."""
    named = re.findall(r"crm\.[a-z_]+\.[a-z_]+\.(?:read|write)", message)
    return ", ".join(dict.fromkeys(named)) or "crm.objects.marketing_events.write"


def _generic_fix(row: Row, report_path: str) -> str:
    return f"Read the message, fix the cause in {_where(row)} or in HubSpot, then run `importer retry {report_path}`"


# --------------------------------------------------------------------------- row values


class _Columns:
    """The Rows sheet's columns for one report: the fixed ones, then ``extra`` names in first-seen order.

    An extra name that clashes with a fixed column (or JSON's ``type``) gets `` (source)`` appended.
    ``layouts`` keeps each row's extra names (one shared tuple when every row has the same ones,
    the usual case), so the writers need not look at the names again.
    """

    def __init__(self, rows: Sequence[Row], files: Sequence[FileInfo] = ()) -> None:
        #: each source file's layout profile, so a CSV report (which has no Summary) names it too
        self.profiles: dict[str, str] = {f.file: f.profile for f in files}
        self.extras: list[tuple[tuple[str, str], ...]] = list(map(attrgetter("extra"), rows))
        self.uniform: tuple[str, ...] | None = _uniform_layout(self.extras)
        self.layouts: list[tuple[str, ...]] = (
            [] if self.uniform is not None else list(map(tuple, map(partial(map, itemgetter(0)), self.extras)))
        )
        #: whether some row proves two participations (the ``also_*`` columns are written then)
        self.also: bool = any(map(attrgetter("also"), rows))
        reserved = set(REPORT_COLUMNS) | {"type"}
        seen: dict[str, str] = {}
        for layout in [self.uniform] if self.uniform is not None else dict.fromkeys(self.layouts):
            for name in layout:
                if name not in seen:
                    label = name
                    while label in reserved or label in seen.values():
                        label = f"{label} (source)"
                    seen[name] = label
        self.extra_names: tuple[str, ...] = tuple(seen)
        self.names: tuple[str, ...] = ROW_COLUMNS + (ALSO_COLUMNS if self.also else ()) + tuple(seen.values())

    def part(self, start: int, stop: int) -> _Columns:
        """The same columns for rows ``start:stop`` only."""
        out = copy.copy(self)
        out.extras = self.extras[start:stop]
        out.layouts = self.layouts[start:stop]
        return out


def _uniform_layout(extras: Sequence[tuple[tuple[str, str], ...]]) -> tuple[str, ...] | None:
    """The extra names when every row has the same ones in the same order, else None (C-level checks)."""
    lengths = set(map(len, extras))
    if len(lengths) > 1:
        return None
    names: list[str] = []
    for i in range(lengths.pop() if lengths else 0):
        heads = set(map(itemgetter(0), map(itemgetter(i), extras)))
        if len(heads) != 1:
            return None
        names.append(heads.pop())
    return tuple(names)


def _effective_ms(row: Row, event: EventInfo) -> int | None:
    """The time sent for the row: its own, or the event start when the pipeline fell back to it."""
    if row.when_ms is not None:
        return row.when_ms
    if row.time_source != "file":
        return event.start_ms
    return None


def _text_values(row: Row, cols: _Columns, event: EventInfo, zone: tzinfo | None) -> list[Any]:
    """One row as JSON-ready values in column order (numbers stay numbers, times are ISO text)."""
    ms = _effective_ms(row, event)
    extra = dict(row.extra)
    return [
        row.ref.file,
        row.ref.row,
        row.email or "",
        row.vid,
        row.state.value if row.state is not None else "",
        iso_utc(ms),
        row.outcome.value if row.outcome is not None else "",
        row.reason,
        row.message,
        event.object_id,
        _iso_local(ms, zone),
        row.time_source,
        f"{row.merged_into.file}:{row.merged_into.row}" if row.merged_into is not None else "",
        row.batch_id,
        row.correlation_id,
        row.created_contact,
        cols.profiles.get(row.ref.file, ""),
        *(_also_texts(row, event) if cols.also else ()),
        *(extra.get(name, "") for name in cols.extra_names),
    ]


_NO_ALSO: tuple[Any, ...] = ("", None, "", "", "", "", "")


def _also_values(row: Row, event: EventInfo) -> tuple[Any, ...]:
    """The ``also_*`` values of a row, the time as epoch ms (empty when it proves one participation)."""
    a = row.also
    if a is None:
        return _NO_ALSO
    ms = a.when_ms if a.when_ms is not None or a.time_source == "file" else event.start_ms
    return (
        a.state.value,
        ms,
        a.outcome.value if a.outcome is not None else "",
        a.reason,
        a.message,
        a.time_source,
        f"{a.merged_into.file}:{a.merged_into.row}" if a.merged_into is not None else "",
    )


def _also_texts(row: Row, event: EventInfo) -> list[Any]:
    values = list(_also_values(row, event))
    values[1] = iso_utc(values[1])
    return values


# --------------------------------------------------------------------------- summary fields

#: Plain words for the outcomes in the Summary's visible column (the keys keep the contract words).
OUTCOME_LABELS: Mapping[str, str] = {
    "recorded": "Recorded",
    "merged": "Merged (same person)",
    "skipped": "Skipped on purpose",
    "rejected": "Rejected (data to fix)",
    "failed": "Failed (not recorded)",
    "planned": "Planned (dry run)",
    "unsettled": "Not settled",
}
STATE_LABELS: Mapping[str, str] = {"register": "Registered", "attend": "Attended", "cancel": "Cancelled"}
#: Plain words for the reason codes; a code without one reads as its words (``http_409`` -> "HTTP 409").
REASON_LABELS: Mapping[str, str] = {
    Reason.MISSING_EMAIL: "No email or contact ID",
    Reason.INVALID_EMAIL: "Email not valid",
    Reason.INVALID_VID: "Contact ID not valid",
    Reason.LOST_PRECISION_ID: "Contact ID shortened by Excel",
    Reason.DECLINED: "Declined",
    Reason.INVITED: "Invited, not registered",
    Reason.PENDING_APPROVAL: "Waiting for approval",
    Reason.WAITLIST: "On the waitlist",
    Reason.CONTACT_NOT_FOUND: "Contact not in HubSpot",
    Reason.CONFLICTING_CONTACT_ID: "Email and contact ID disagree",
    Reason.BAD_TIME: "Date not readable",
    Reason.MISSING_TIME: "No date",
    Reason.DUPLICATE_CONTACT: "Same person as another row",
    Reason.HOST: "Host",
    Reason.PANELIST: "Panelist",
    Reason.ORGANIZER: "Organizer",
    Reason.NOT_APPROVED: "Not approved",
    Reason.TRANSFERRED: "Ticket transferred",
    Reason.DENIED: "Registration denied",
    Reason.WAITING_ROOM: "Left in the waiting room",
    Reason.PLACEHOLDER_EMAIL: "Placeholder email (guest)",
    Reason.BANNED: "Banned from the room",
    Reason.STILL_REGISTERED: "Cancel left out: still registered",
    Reason.ALREADY_RECORDED: "Already in HubSpot",
    Reason.HTTP_400: "Refused by HubSpot as invalid",
    Reason.HTTP_429: "HubSpot busy (rate limit)",
    Reason.HTTP_5XX: "HubSpot server error",
    Reason.NETWORK_ERROR: "Network error",
    Reason.TIMEOUT: "HubSpot did not answer in time",
    Reason.REJECTED_BY_HUBSPOT: "Refused by HubSpot",
    Reason.NOT_IN_RESPONSE: "Not confirmed by HubSpot",
    Reason.BAD_RESPONSE: "HubSpot's answer unreadable",
    Reason.TOKEN_REJECTED: "Access token refused",
    Reason.MISSING_SCOPE: "Token lacks a scope",
    Reason.EVENT_NOT_FOUND: "Event not found",
    Reason.DAILY_LIMIT: "Daily API limit used up",
    Reason.INTERRUPTED: "Not sent (run stopped)",
    Reason.LOCKED: "Not sent (another import was running)",
    Reason.DRY_RUN: "Dry run",
}


def reason_label(reason: str) -> str:
    if reason in REASON_LABELS:
        return REASON_LABELS[reason]
    if reason.startswith("http_"):
        return f"HubSpot answered HTTP {reason[5:]}"
    return reason.replace("_", " ").capitalize() or "Not settled"


def problem_rows(report: Report) -> list[Row]:
    """The rows that need the user: rejected, failed or never settled."""
    return [row for row in report.rows if row.outcome is None or row.outcome.value in _PROBLEMS]


def headline(report: Report) -> str:
    """One sentence a marketer reads first: what was recorded and how much needs attention."""
    s, c = report.summary, report.counts
    event = s.event.name or f"event {s.event.object_id}"
    attention = c.get("rejected", 0) + c.get("failed", 0) + c.get("unsettled", 0)
    already = report.by_reason.get(Reason.ALREADY_RECORDED.value, 0)
    sent = sum(report.by_state.values())  # participations: a row can prove two
    if s.dry_run:
        first = f"Dry run, nothing was sent: {plural(sent, 'participation')} would be recorded in {event}."
    else:
        first = f"{plural(sent, 'participation')} recorded in {event}."
        if already:
            first += f" {plural(already, 'row')} already in HubSpot."
    if s.exit_code == 3:
        first = f"The run stopped early. {first}"
    if not report.rows:
        return f"The file had no rows to import into {event}."
    if attention:
        groups = Counter(row.reason for row in problem_rows(report))
        top = "; ".join(
            f"{reason_label(reason)}: {n:,}" for reason, n in sorted(groups.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        )
        more = "; ..." if len(groups) > 3 else ""
        return f"{first} {plural(attention, 'row needs', 'rows need')} attention ({top}{more})."
    return f"{first} Nothing needs attention."


def next_step(report: Report) -> str:
    """What to do now, in order, naming the files to act on and the commands to run."""
    s = report.summary
    files = report.action_files
    path = s.report_path or "<report>"
    retry = f"`importer retry {path}`"
    if s.exit_code == 3:
        return "Run the same command again: it sends the rest and skips what is already recorded."
    groups = Counter(row.reason for row in problem_rows(report))
    steps: list[str] = []
    in_file = sum(n for reason, n in groups.items() if reason in FILE_FIXES)
    if in_file:
        if "fix" in files:
            steps.append(f"Correct the {plural(in_file, 'row')} in {files['fix']}, then run `{files['fix_command']}`")
        else:
            steps.append(f"Correct the {plural(in_file, 'row')} listed on the Errors sheet and run the import again")
    missing = groups.get(Reason.CONTACT_NOT_FOUND.value, 0)
    if missing:
        where = f" (import {files['create']} in HubSpot: Contacts > Import)" if "create" in files else ""
        steps.append(f"Add the {plural(missing, 'contact')} to HubSpot{where}, then run {retry}")
    others = sum(groups.values()) - in_file - missing
    if others:
        steps.append(f"For the other {plural(others, 'row')}, follow the fix on the Errors sheet")
    if not steps:
        if s.dry_run and report.counts.get("planned"):
            return "Run the same command without --dry-run to send."
        return "Nothing to do."
    return "; then ".join([steps[0], *(step[0].lower() + step[1:] for step in steps[1:])]) + "."


def summary_fields(report: Report) -> list[tuple[str, str, Any]]:
    """The Summary content as ``(key, label, value)``; a key of ``""`` marks a section heading.

    The plain-language lines come first; the keys (a contract: scripts read them) never change.
    """
    s = report.summary
    files = report.action_files
    zone = _zone(s.timezone)
    sent = "Planned per state" if s.dry_run else "Recorded per state"
    out: list[tuple[str, str, Any]] = [
        ("headline", "Result", headline(report)),
        ("next_step", "What to do", next_step(report)),
    ]
    if "fix" in files:
        out.append(("fix_file", f"Fix and re-import ({plural(int(files['fix_rows']), 'row')})", files["fix"]))
    if "create" in files:
        out.append(
            ("create_file", f"Contacts to create ({plural(int(files['create_rows']), 'contact')})", files["create"])
        )
    out += [
        ("", "Event", None),
        ("event_name", "Event", s.event.name),
        ("event_start_local", "Starts", _local_text(s.event.start_ms, zone)),
        ("", "Rows", None),
    ]
    ordered = sorted(report.counts.items(), key=lambda kv: -kv[1])  # stable: ties keep the usual order
    out += [(f"outcome_{o}", OUTCOME_LABELS.get(o, o), n) for o, n in ordered]
    out.append(("total_rows", "Total rows", len(report.rows)))
    out.append(("", sent, None))
    out += [(f"state_{k or 'none'}", STATE_LABELS.get(k, k or "(none)"), n) for k, n in report.by_state.items()]
    out.append(("", "Reasons", None))
    out += [(f"reason_{k}", reason_label(k), n) for k, n in report.by_reason.items()]
    out.append(("", "Input files", None))
    for i, f in enumerate(s.files, 1):
        out += [
            (f"file_{i}", f"File {i}", f.file),
            (f"file_{i}_profile", "  layout", f.profile),
            (f"file_{i}_encoding", "  encoding", f.encoding or ""),
            (f"file_{i}_sheet", "  sheet", f.sheet or ""),
            (f"file_{i}_date_order", "  date order", f.date_order or ""),
            (f"file_{i}_timezone", "  time zone", f.timezone or ""),
            (f"file_{i}_rows", "  data rows", f.data_rows),
            (f"file_{i}_notes", "  notes", "; ".join(f.notes)),
        ]
    out += [
        ("", "Run", None),
        ("started_at_local", "Started", _local_text(_dt_ms(s.started_at), zone)),
        ("finished_at_local", "Finished", _local_text(_dt_ms(s.finished_at), zone)),
        ("timezone", "Time zone used", s.timezone or ""),
        ("dry_run", "Dry run", s.dry_run),
        ("exit_code", "Exit code", s.exit_code),
        ("exit_meaning", "Meaning", EXIT_MEANINGS.get(s.exit_code, "Unexpected exit code.")),
        ("report_path", "Report", s.report_path),
        ("notes", "Notes", "; ".join(s.notes)),
        ("", "Details", None),
        ("event_id", "Event ID", s.event.object_id),
        ("event_start_utc", "Event start (UTC)", iso_utc(s.event.start_ms)),
        ("run_id", "Run ID", s.run_id),
        ("started_at_utc", "Started (UTC)", _iso_dt(s.started_at)),
        ("finished_at_utc", "Finished (UTC)", _iso_dt(s.finished_at)),
        ("requests", "HubSpot requests made", s.stats.requests),
        ("http_429", "429 answers (rate limited)", s.stats.http_429),
        ("retries", "Retries", s.stats.retries),
        ("lookups", "Contact lookups", s.stats.lookups),
        ("writes", "Attendance writes", s.stats.writes),
    ]
    return out


def _dt_ms(dt: datetime) -> int:
    aware = dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000 + (0.5 if aware.timestamp() >= 0 else -0.5))


def _local_text(ms: int | None, zone: tzinfo | None) -> str:
    """``2024-11-06 10:00:00 CET``: the run's time zone, else this computer's; no milliseconds."""
    if ms is None:
        return ""
    utc = _EPOCH + timedelta(milliseconds=ms)
    local = utc.astimezone(zone) if zone is not None else utc.astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or "")


def _iso_dt(dt: datetime) -> str:
    return iso_utc(_dt_ms(dt))


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# --------------------------------------------------------------------------- writing

#: Temp files of a report being written are named ``.<report name>.importer-<random>.tmp``: a
#: writer that was killed leaves one behind, which the next write into the folder removes.
TMP_MARK = ".importer-"
TMP_SUFFIX = ".tmp"
_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}


def check_report_path(target: str | Path, inputs: Sequence[str | Path] = ()) -> None:
    """Refuse, before anything is read from HubSpot, a report path whose writing would destroy
    something or never finish: one of the run's inputs (the export would be overwritten), a
    symbolic link (the report would replace the link, not what it names), a device, a FIFO, a
    socket or a folder; and a folder the report cannot be written in.  One place for every check on
    where the report goes."""
    path = Path(target)
    try:
        info = path.lstat()
    except FileNotFoundError:
        _check_writable(path)
        return
    except OSError as exc:
        raise InputError(f"Cannot use {path} as the report: {exc.strerror}.", hint=_OTHER_REPORT) from None
    if stat.S_ISLNK(info.st_mode):
        raise InputError(f"The report path {path} is a symbolic link.", hint=_OTHER_REPORT)
    kind = _KINDS.get(stat.S_IFMT(info.st_mode))
    if kind is not None:
        raise InputError(f"The report path {path} is {kind}, not a regular file.", hint=_OTHER_REPORT)
    for source in inputs:
        try:
            same = os.path.samefile(path, source)
        except OSError:
            continue
        if same:
            raise InputError(
                f"The report path {path} is the input file {source}: writing the report would overwrite it.",
                hint=_OTHER_REPORT,
            )
    _check_writable(path)


_OTHER_REPORT = "Choose another report path with --report."


def _check_writable(path: Path) -> None:
    """Try the report's folder (or the nearest one that exists: the writer creates the rest) with a
    real file, so a read-only or full folder is found before the first request, not after sending."""
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=f".{TMP_MARK}probe-"):
            pass
    except OSError as exc:
        raise InputError(
            f"Cannot write the report in {folder} ({exc.strerror or exc}): nothing was sent.",
            hint="Give a writable place with --report PATH, and with --state-dir DIR for the journal "
            "(by default .importer in the current folder).",
        ) from None


def _remove_stale_temps(directory: Path) -> None:
    """Temp files a killed writer left in ``directory``; one still being written is locked."""
    for tmp in directory.glob(f".*{TMP_MARK}*{TMP_SUFFIX}"):
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            if not _lock_nowait(fd):
                continue  # another process is writing it right now
            tmp.unlink(missing_ok=True)
        finally:
            os.close(fd)


def _lock_nowait(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # no flock here: only a temp file a day old is surely abandoned
        import time

        return os.fstat(fd).st_mtime < time.time() - 86400
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _fsync_path(path: Path, *, directory: bool = False) -> None:
    """Make ``path`` (a file, or a folder's entries after a rename) durable before going on."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:
            return  # some systems cannot open a folder; the rename is then as durable as they allow
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def write_report(report: Report, path: str | Path, fmt: str | None = None) -> Path:
    """Write the report as xlsx, csv or json (from the extension when ``fmt`` is None), atomically."""
    target = Path(path)
    fmt = fmt or _format_from_suffix(target)
    if fmt not in REPORT_FORMATS:
        raise InputError(f"Report format {fmt!r} is not one of {', '.join(REPORT_FORMATS)}.")
    if fmt == "xlsx" and len(report.rows) >= _EXCEL_MAX_ROWS:
        raise ReportWriteError(
            f"{len(report.rows)} rows do not fit in an Excel sheet.", hint="Use --report-format csv or json."
        )
    directory = target.parent if str(target.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(directory)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}{TMP_MARK}", suffix=TMP_SUFFIX, dir=directory)
    except OSError as exc:
        raise _write_error(exc, target, f"Cannot write the report in {directory}: {exc.strerror}.") from None
    tmp = Path(tmp_name)
    try:
        _hold(fd)  # so that another run's clean-up leaves this temp file alone while it is written
        _share_like_a_new_file(tmp)
        writer = {"xlsx": _write_xlsx, "csv": _write_csv, "json": _write_json}[fmt]
        writer(report, tmp)
        _fsync_path(tmp)
        os.replace(tmp, target)
        _fsync_path(directory, directory=True)
    except OSError as exc:
        raise _write_error(exc, target, f"Cannot write the report {target}: {exc.strerror or exc}.") from None
    finally:
        os.close(fd)
        tmp.unlink(missing_ok=True)
    return target


def _hold(fd: int) -> None:
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def _write_error(exc: OSError, target: Path, message: str) -> ImporterError:
    if exc.errno in DISK_FULL_ERRNOS:
        return disk_full(f"the report {target}", exc.strerror or str(exc))
    return ReportWriteError(message, hint="Close it if it is open in Excel, or choose another path with --report.")


def _share_like_a_new_file(tmp: Path) -> None:
    """mkstemp makes owner-only files; give the report the permissions a plain ``open`` would."""
    mask = os.umask(0o022)
    os.umask(mask)
    tmp.chmod(0o666 & ~mask)


def _format_from_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return "xlsx"
    if suffix == ".csv":
        return "csv"
    if suffix in (".json", ".jsonl"):
        return "json"
    raise InputError(
        f"Cannot tell the report format from {path.name!r}.", hint="Use a name ending in .xlsx, .csv or .json."
    )


def _csv_safe(text: str) -> str:
    """Prefix risky text with ``'`` so spreadsheet apps show it instead of evaluating it.

    Text that already starts with ``'`` is prefixed too, so ``read_report`` can strip exactly one.
    """
    if text and (text.startswith(_FORMULA_STARTS) or text[0] == "'"):
        return "'" + text
    return text


class _TimeText:
    """ISO text for many epoch-ms values: each distinct second is formatted once."""

    def __init__(self, zone: tzinfo | None) -> None:
        self.zone = zone
        self._utc: dict[int, str] = {}
        self._local: dict[int, str] = {}

    def utc(self, ms: int | None) -> str:
        if ms is None:
            return ""
        sec, frac = divmod(ms, 1000)
        base = self._utc.get(sec)
        if base is None:
            base = self._utc[sec] = iso_utc(sec * 1000)[:-1]
        return f"{base}.{frac:03d}Z" if frac else f"{base}Z"

    def local(self, ms: int | None) -> str:
        if ms is None or self.zone is None:
            return ""
        sec, frac = divmod(ms, 1000)
        base = self._local.get(sec)
        if base is None:
            base = self._local[sec] = _iso_local(sec * 1000, self.zone)
        # isoformat always writes 19 characters before the offset (the year has four digits)
        return f"{base[:19]}.{frac:03d}{base[19:]}" if frac else base


#: How a column's raw values become cells: TEXT (None reads ''), INT (always a number),
#: VID (a number or None), FLAG (a boolean, yes/no), UTC / LOCAL (epoch ms or None, written as ISO text).
_TEXT, _INT, _VID, _FLAG, _UTC, _LOCAL = "text", "int", "vid", "flag", "utc", "local"


@dataclass(frozen=True, slots=True)
class _Column:
    """One Rows column straight from the Row attributes; ``many`` when most values differ."""

    kind: str
    values: list[Any]
    many: bool = False


def _raw_columns(report: Report, cols: _Columns) -> list[_Column]:
    """The Rows columns as attribute lists (C-level ``map``); the writers format each column once.

    Going column by column instead of row by row is what writes a million-row report in seconds:
    columns with few distinct values (state, outcome, times...) are formatted per distinct value.
    """
    rows = report.rows
    event = report.summary.event

    def attr(name: str, of: Sequence[Any] = rows) -> list[Any]:
        return list(map(attrgetter(name), of))

    refs = attr("ref")
    files = attr("file", refs)

    when = attr("when_ms")
    if None in when and event.start_ms is not None:
        start = event.start_ms
        when = [w if w is not None or s == "file" else start for w, s in zip(when, attr("time_source"), strict=True)]
    merged = attr("merged_into")
    if merged.count(None) != len(merged):
        merged = [f"{m.file}:{m.row}" if m is not None else "" for m in merged]
    columns = [
        _Column(_TEXT, files),
        _Column(_INT, attr("row", refs), many=True),
        _Column(_TEXT, attr("email"), many=True),
        _Column(_VID, attr("vid"), many=True),
        _Column(_TEXT, attr("state")),
        _Column(_UTC, when),
        _Column(_TEXT, attr("outcome")),
        _Column(_TEXT, attr("reason")),
        _Column(_TEXT, attr("message")),
        _Column(_TEXT, [event.object_id] * len(rows)),
        _Column(_LOCAL, when),
        _Column(_TEXT, attr("time_source")),
        _Column(_TEXT, merged),
        _Column(_TEXT, attr("batch_id")),
        _Column(_TEXT, attr("correlation_id")),
        _Column(_FLAG, attr("created_contact")),
        _Column(_TEXT, list(map(cols.profiles.get, files))),  # None (a file not listed) reads ''
    ]
    if cols.also:
        columns += _also_columns(rows, event)
    columns += [_Column(_TEXT, values, many=True) for values in _extra_columns(cols, len(rows))]
    return columns


def _also_columns(rows: Sequence[Row], event: EventInfo) -> list[_Column]:
    """The ``also_*`` columns, in :data:`ALSO_COLUMNS` order."""
    values = list(zip(*(_also_values(r, event) for r in rows), strict=True)) if rows else [()] * len(ALSO_COLUMNS)
    state, when, outcome, reason, message, source, merged = (list(v) for v in values)
    return [
        _Column(_TEXT, state),
        _Column(_UTC, when),
        _Column(_TEXT, outcome),
        _Column(_TEXT, reason),
        _Column(_TEXT, message),
        _Column(_TEXT, source),
        _Column(_TEXT, merged),
    ]


def _ms_from_iso(text: str) -> int | None:
    if not text:
        return None
    return round((datetime.fromisoformat(text.replace("Z", "+00:00")) - _EPOCH) / timedelta(milliseconds=1))


def _extra_columns(cols: _Columns, n: int) -> list[list[str]]:
    """The ``extra`` values aligned to ``cols.extra_names`` ('' where a row lacks one; the last of a
    repeated name wins, as in a dict)."""
    extras = cols.extras
    if cols.uniform is not None:
        where = {name: i for i, name in enumerate(cols.uniform)}
        return [list(map(itemgetter(1), map(itemgetter(where[name]), extras))) for name in cols.extra_names]
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, layout in enumerate(cols.layouts):
        groups.setdefault(layout, []).append(i)
    out = [[""] * n for _ in cols.extra_names]
    for layout, members in groups.items():
        where = {name: i for i, name in enumerate(layout)}
        for column, name in zip(out, cols.extra_names, strict=True):
            pos = where.get(name)
            if pos is not None:
                for i in members:
                    column[i] = extras[i][pos][1]
    return out


class _Codec(ABC):
    """How one text format writes cells; subclasses say how a single value looks and which
    whole columns can go out unchanged."""

    #: what a text cell that needs no escaping is wrapped in (JSON's quotes)
    wrap = ""
    null = ""

    @abstractmethod
    def text(self, value: str) -> str:
        """One text value, escaped as the format needs."""

    @abstractmethod
    def clean(self, values: list[str]) -> bool:
        """True when every value can be written as is (inside ``wrap``)."""

    def flag(self, value: bool) -> str:
        return self.text(_as_text(value))

    def scalar(self, kind: str, value: Any) -> str:
        if kind == _FLAG:
            return self.flag(bool(value))
        if kind in (_INT, _VID):
            return self.null if value is None else str(value)
        return self.text(_as_text(value))

    def encode(self, column: _Column, times: _TimeText) -> tuple[str, str | list[str], str]:
        """``(before, cells, after)``: cells is one text when the whole column holds one value."""
        values = column.values
        few = column.kind in (_UTC, _LOCAL) or not column.many
        # one value everywhere (the usual case for most of these columns) is seen by a C-level count
        distinct = (values[:1] if values.count(values[0]) == len(values) else dict.fromkeys(values)) if few else ()
        if column.kind in (_UTC, _LOCAL):
            show = times.utc if column.kind == _UTC else times.local
            cells = {ms: self.text(show(ms)) for ms in distinct}
        elif not column.many:
            cells = {v: self.scalar(column.kind, v) for v in distinct}
        elif column.kind == _INT:
            return "", list(map(str, values)), ""
        elif column.kind == _VID:
            if None not in values:
                return "", list(map(str, values)), ""
            null = self.null
            return "", [str(v) if v is not None else null for v in values], ""
        else:
            texts = values if None not in values else ["" if v is None else v for v in values]
            if self.clean(texts):
                return self.wrap, texts, self.wrap
            return "", list(map(self.text, texts)), ""
        if len(cells) == 1:
            return "", next(iter(cells.values())), ""
        return "", list(map(cells.__getitem__, values)), ""


#: Rows per part of a text report: large enough that per-part work is noise, small enough that
#: the cells of one part take tens of MiB.
_PART_ROWS = 100_000

_CSV_QUOTE = b'",\r'
_RISKY_FIRST = frozenset((*_FORMULA_STARTS, "'"))


class _CsvCodec(_Codec):
    """Cells exactly as ``csv.writer`` (excel dialect) writes them, after the formula guard."""

    def text(self, value: str) -> str:
        value = _csv_safe(value)
        if '"' in value:
            return '"' + value.replace('"', '""') + '"'
        if "," in value or "\n" in value or "\r" in value:
            return f'"{value}"'
        return value

    def clean(self, values: list[str]) -> bool:
        joined = "\n".join(values)
        if joined.count("\n") != len(values) - 1 or _has_any(joined, _CSV_QUOTE):
            return False
        return _RISKY_FIRST.isdisjoint(map(itemgetter(0), filter(None, values)))


_JSON_ESCAPE = bytes(range(32)) + b'"\\'


def _has_any(text: str, chars: bytes) -> bool:
    """Whether ``text`` holds any of these ASCII characters (fast: bytes.translate runs in C).

    UTF-8 never uses bytes below 0x80 inside a multi-byte character, so the encoded text has
    one of these bytes exactly when the text has the character.
    """
    raw = text.encode("utf-8", "surrogatepass")
    return len(raw.translate(None, chars)) != len(raw)


class _JsonCodec(_Codec):
    """Values exactly as ``json.dumps(..., ensure_ascii=False)`` writes them."""

    wrap = '"'
    null = "null"

    def text(self, value: str) -> str:
        return _json_string(value)

    def flag(self, value: bool) -> str:
        return "true" if value else "false"

    def clean(self, values: list[str]) -> bool:
        return not _has_any("".join(values), _JSON_ESCAPE)


def _write_lines(fh: Any, report: Report, cols: _Columns, codec: _Codec, keys: Sequence[str], end: str) -> None:
    """One line per row: ``keys[i]`` before cell i, ``end`` after the last one.

    Each line is one ``"".join`` over its cells and the texts between them; a column that holds
    one value everywhere is merged into those texts.  Lines go out in blocks.  The rows are taken
    a part at a time, so a million-row report never holds every column's cells at once.
    """
    times = _TimeText(_zone(report.summary.timezone))
    rows = report.rows
    for start in range(0, len(rows), _PART_ROWS):
        part = replace(report, rows=rows[start : start + _PART_ROWS])
        _write_part(fh, part, cols.part(start, start + _PART_ROWS), codec, keys, end, times)


def _write_part(
    fh: Any, report: Report, cols: _Columns, codec: _Codec, keys: Sequence[str], end: str, times: _TimeText
) -> None:
    """The lines of one part of the rows (see :func:`_write_lines`)."""
    parts: list[str | list[str]] = []
    text = ""
    for key, column in zip(keys, _raw_columns(report, cols), strict=True):
        before, cells, after = codec.encode(column, times)
        text += key + before
        if isinstance(cells, str):
            text += cells + after
            continue
        parts += [text, cells] if text else [cells]
        text = after
    text += end
    if len(parts) == 0:
        fh.write(text * len(report.rows))
        return
    parts.append(text)
    lines = map("".join, zip(*(repeat(p) if isinstance(p, str) else p for p in parts), strict=False))
    while block := list(islice(lines, 20_000)):
        fh.write("".join(block))


def _write_csv(report: Report, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh, no_gc():
        fh.write("\ufeff")
        cols = _Columns(report.rows, report.summary.files)
        csv.writer(fh).writerow(cols.names)
        if report.rows:
            _write_lines(fh, report, cols, _CsvCodec(), [""] + [","] * (len(cols.names) - 1), "\r\n")


def _write_json(report: Report, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh, no_gc():
        head: dict[str, Any] = {"type": "summary"}
        head.update((key, value) for key, _, value in summary_fields(report) if key)
        fh.write(json.dumps(head, ensure_ascii=False) + "\n")
        if report.rows:
            cols = _Columns(report.rows, report.summary.files)
            keys = [json.dumps(name, ensure_ascii=False) + ": " for name in cols.names]
            keys = ['{"type": "row", ' + keys[0], *(", " + key for key in keys[1:])]
            _write_lines(fh, report, cols, _JsonCodec(), keys, "}\n")


def _write_xlsx(report: Report, path: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    try:
        fmt = _Formats(wb)
        _xlsx_summary(wb, fmt, report)
        _xlsx_rows(wb, fmt, report)
        _xlsx_errors(wb, fmt, report)
    finally:
        wb.close()


class _Formats:
    """The workbook's cell formats, created once."""

    def __init__(self, wb: Any) -> None:
        self.header = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "bottom": 1})
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.section = wb.add_format({"bold": True, "font_color": "#1F4E78", "top": 1})
        self.key = wb.add_format({"font_color": "#A6A6A6"})
        self.lead = wb.add_format({"bold": True, "font_size": 12, "text_wrap": True, "valign": "top"})
        self.lead_label = wb.add_format({"bold": True, "font_size": 12, "valign": "top"})
        self.top = wb.add_format({"valign": "top"})
        self.good = wb.add_format({"bold": True, "bg_color": "#C6EFCE", "font_color": "#006100"})
        self.count = wb.add_format({"num_format": "#,##0", "align": "left", "valign": "top"})
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        self.wrap_quoted = wb.add_format({"text_wrap": True, "valign": "top", "quote_prefix": True})
        self.guard = wb.add_format({"quote_prefix": True})
        self.utc = wb.add_format({"num_format": _UTC_FORMAT})
        self.utc_ms = wb.add_format({"num_format": _UTC_MS_FORMAT})
        self.local = wb.add_format({"num_format": _LOCAL_FORMAT})
        self.local_ms = wb.add_format({"num_format": _LOCAL_MS_FORMAT})
        self.outcome = {
            name: wb.add_format({"bg_color": fill, "font_color": font})
            for name, (fill, font) in _OUTCOME_COLOURS.items()
        }

    def wrap_guarded(self, text: str) -> Any:
        """Wrapped text, with Excel's quote prefix when the text could read as a formula."""
        return self.wrap_quoted if text.startswith(_FORMULA_STARTS) else self.wrap


def _put_text(ws: Any, r: int, c: int, text: str, fmt: _Formats, cell_format: Any = None) -> None:
    """Write text as a string cell, never a formula; risky text also gets Excel's quote prefix."""
    if not text:
        return
    if cell_format is None and text.startswith(_FORMULA_STARTS):
        cell_format = fmt.guard
    ws.write_string(r, c, text, cell_format)


def _put_value(ws: Any, r: int, c: int, value: Any, fmt: _Formats, number_format: Any = None) -> None:
    if isinstance(value, bool):
        _put_text(ws, r, c, _as_text(value), fmt)
    elif isinstance(value, int) and abs(value) <= _EXCEL_EXACT_INT:
        ws.write_number(r, c, value, number_format)
    elif value is not None:
        _put_text(ws, r, c, str(value), fmt)


def _xlsx_summary(wb: Any, fmt: _Formats, report: Report) -> None:
    """Plain labels in A, values in B, the machine keys in the hidden column C (scripts read them);
    the headline first, and a bar chart on a log scale so 8 rejected rows show next to 3,992."""
    ws = wb.add_worksheet("Summary")
    _print_setup(ws)
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, _SUMMARY_VALUE_WIDTH)
    ws.set_column(2, 2, 22, fmt.key, {"hidden": True})
    s = report.summary
    ws.write_string(0, 0, f"Import into {s.event.name or 'event ' + s.event.object_id}", fmt.title)
    ws.write_string(1, 0, "Reconciliation report", fmt.key)
    r = 2
    outcome_rows: list[tuple[int, str, int]] = []
    for key, label, value in summary_fields(report):
        if not key:
            ws.write_string(r, 0, label, fmt.section)
            ws.write_blank(r, 1, None, fmt.section)
        else:
            lead = key in ("headline", "next_step")
            if lead:  # the app fits other rows to their wrapped text; these get room for sure
                ws.set_row(r, 18 * len(textwrap.wrap(str(value), _SUMMARY_VALUE_WIDTH - 12)))
            _put_text(ws, r, 0, label, fmt, fmt.lead_label if lead else fmt.top)
            if isinstance(value, str):
                _put_text(ws, r, 1, value, fmt, fmt.lead if lead else fmt.wrap_guarded(value))
            else:
                _put_value(ws, r, 1, value, fmt, fmt.count)
            ws.write_string(r, 2, key, fmt.key)
            if key.startswith("outcome_") and isinstance(value, int) and value > 0:
                outcome_rows.append((r, key[8:], value))
        r += 1
    if not outcome_rows:
        return
    first, last = outcome_rows[0][0], outcome_rows[-1][0]
    chart = wb.add_chart({"type": "bar"})
    chart.add_series(
        {
            "name": "Rows",
            "categories": ["Summary", first, 0, last, 0],
            "values": ["Summary", first, 1, last, 1],
            "points": [{"fill": {"color": _OUTCOME_COLOURS.get(o, ("", "#7F7F7F"))[1]}} for _, o, _ in outcome_rows],
            "data_labels": {"value": True, "num_format": "#,##0"},
            "gap": 60,
        }
    )
    chart.set_title({"name": "Rows per outcome", "name_font": {"size": 12}})
    chart.set_legend({"none": True})
    # log scale: every count gets a bar of its own (the axis starts at 0.1, so a 1 gets a bar a
    # decade long); the labels carry the numbers, so the axis needs none
    chart.set_x_axis({"log_base": 10, "min": 0.1, "visible": False, "major_gridlines": {"visible": False}})
    chart.set_y_axis({"reverse": True})
    chart.set_size({"width": 520, "height": 60 + 42 * len(outcome_rows)})
    ws.insert_chart(2, 3, chart, {"x_offset": 10})


def _print_setup(ws: Any) -> None:
    """Printed or saved as PDF, a sheet is as wide as one landscape page."""
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_paper(9)  # A4


#: Rows columns a marketer rarely needs: grouped and folded (the + above the sheet shows them).
_TECHNICAL = frozenset({"event_id", "time_source", "batch_id", "correlation_id", "profile"})
#: Widest a Rows column gets (others: 30); a longer message wraps in its cell.
_ROW_WIDTH_CAPS: Mapping[str, int] = {"source_file": 28, "email": 34, "message": 60, "reason": 24}


def _width(values: Iterator[str], header: str, cap: int = 60) -> int:
    longest = max((len(v) for v in values), default=0)
    return min(cap, max(len(header), longest) + 2)


def _xlsx_rows(wb: Any, fmt: _Formats, report: Report) -> None:
    ws = wb.add_worksheet("Rows")
    _print_setup(ws)
    cols = _Columns(report.rows, report.summary.files)
    zone = _zone(report.summary.timezone)
    event = report.summary.event
    sample = report.rows[:2000]
    sample_values = [_text_values(row, cols, event, zone) for row in sample]
    for c, name in enumerate(cols.names):
        if name in ("interaction_time_utc", "interaction_time_local"):
            width = 22
        else:
            width = _width((_as_text(v[c]) for v in sample_values), name, _ROW_WIDTH_CAPS.get(name, 30))
        if name == "message":
            ws.set_column(c, c, width, fmt.wrap)
        elif name in _TECHNICAL:
            ws.set_column(c, c, width, None, {"level": 1, "hidden": True})
        else:
            ws.set_column(c, c, width)
        ws.write_string(0, c, name, fmt.header)
    # who the row is stays in sight while the names, at the end, are read
    ws.freeze_panes(1, cols.names.index("email") + 1)
    ws.autofilter(0, 0, max(1, len(report.rows)), len(cols.names) - 1)
    i_utc, i_local, i_outcome, i_message = (
        cols.names.index(n) for n in ("interaction_time_utc", "interaction_time_local", "outcome", "message")
    )
    i_also = cols.names.index("also_time_utc") if cols.also else -1
    write_number, write_datetime = ws.write_number, ws.write_datetime
    message_width = _width((_as_text(v[i_message]) for v in sample_values), "message", _ROW_WIDTH_CAPS["message"])
    for r, row in enumerate(report.rows, 1):
        if len(row.message) > message_width - 2:  # rows are written in order: the height goes first
            ws.set_row(r, _LINE_HEIGHT * _wrapped_lines(row.message, message_width))
        values = _text_values(row, cols, event, zone)
        ms = _effective_ms(row, event)
        for c, value in enumerate(values):
            if c == i_utc:
                if ms is not None:
                    utc = (_EPOCH + timedelta(milliseconds=ms)).replace(tzinfo=None)
                    write_datetime(r, c, utc, fmt.utc_ms if ms % 1000 else fmt.utc)
            elif c == i_local:
                if ms is not None and zone is not None:
                    local = (_EPOCH + timedelta(milliseconds=ms)).astimezone(zone).replace(tzinfo=None)
                    write_datetime(r, c, local, fmt.local_ms if ms % 1000 else fmt.local)
            elif c == i_outcome:
                _put_text(ws, r, c, value, fmt, fmt.outcome.get(value))
            elif c == i_also:
                if value:
                    also_ms = _ms_from_iso(value)
                    assert also_ms is not None
                    also_utc = (_EPOCH + timedelta(milliseconds=also_ms)).replace(tzinfo=None)
                    write_datetime(r, c, also_utc, fmt.utc_ms if also_ms % 1000 else fmt.utc)
            elif c == i_message:
                _put_text(ws, r, c, value, fmt, fmt.wrap_guarded(value))
            elif isinstance(value, bool):
                _put_text(ws, r, c, _as_text(value), fmt)
            elif isinstance(value, int):
                if abs(value) <= _EXCEL_EXACT_INT:
                    write_number(r, c, value)
                else:
                    ws.write_string(r, c, str(value))
            elif value:
                _put_text(ws, r, c, value, fmt)


def _xlsx_errors(wb: Any, fmt: _Formats, report: Report) -> None:
    """One line per row that needs attention, with the person's name, the fix and the line as the
    file wrote it; "No problems" when there is none."""
    ws = wb.add_worksheet("Errors")
    _print_setup(ws)
    problems = problem_rows(report)
    problems.sort(key=attrgetter("reason"))
    groups = Counter(row.reason for row in problems)
    for c, name in enumerate(ERROR_COLUMNS):
        width, wrapped = _ERROR_WIDTHS[name]
        ws.set_column(c, c, width, fmt.wrap if wrapped else fmt.top)
        ws.write_string(0, c, name, fmt.header)
    ws.freeze_panes(1, 0)
    if not problems:
        ws.write_string(1, 0, "No problems", fmt.good)
        ws.write_string(1, 2, "Every row was recorded, merged, skipped on purpose or planned.", fmt.top)
        return
    ws.autofilter(0, 0, len(problems), len(ERROR_COLUMNS) - 1)
    report_path = report.summary.report_path or "<report>"
    for r, row in enumerate(problems, 1):
        original = report.originals.get(row.ref)
        cells: dict[str, Any] = {
            "reason": row.reason or "unsettled",
            "count_in_group": groups[row.reason],
            "source_file": row.ref.file,
            "source_row": row.ref.row,
            "email": row.email or "",
            "vid": row.vid,
            "message": row.message,
            "fix": fix_for(row, report_path),
            "correlation_id": row.correlation_id,
            "name": person_name(row),
            "original_values": "; ".join(f"{h or '(no header)'}: {v}" for h, v in zip(*original, strict=False) if v)
            if original
            else "",
        }
        values = [cells[name] for name in ERROR_COLUMNS]
        lines = max(
            _wrapped_lines(v, _ERROR_WIDTHS[name][0])
            for name, v in zip(ERROR_COLUMNS, values, strict=True)
            if isinstance(v, str) and _ERROR_WIDTHS[name][1]
        )
        if lines > 1:
            ws.set_row(r, _LINE_HEIGHT * lines)
        for c, value in enumerate(values):
            if isinstance(value, str) and _ERROR_WIDTHS[ERROR_COLUMNS[c]][1]:
                _put_text(ws, r, c, value, fmt, fmt.wrap_guarded(value))
            else:
                _put_value(ws, r, c, value, fmt)


#: Points per line of wrapped text (the default font is 11 pt).
_LINE_HEIGHT = 15


def _wrapped_lines(text: str, width: int) -> int:
    """How many lines a wrapped cell of this width shows the text in; the file says the height,
    since not every spreadsheet app fits rows to wrapped text when it opens a file."""
    if len(text) <= width - 2:
        return 1
    return len(textwrap.wrap(text, max(8, width - 2), break_long_words=True, break_on_hyphens=False)) or 1


def person_name(row: Row) -> str:
    """The person's name as the file gives it (first and last, or one display name)."""
    values = dict(row.extra)
    both = " ".join(v for v in (values.get("first_name", "").strip(), values.get("last_name", "").strip()) if v)
    return both or values.get("name", "").strip()


# --------------------------------------------------------------------------- terminal


#: Failed rows that never left this machine: the run stopped before sending them (the outcome
#: word stays ``failed``; the terminal shows them as "not sent yet", not as a failure).
NOT_SENT_REASONS = frozenset(
    {
        Reason.INTERRUPTED.value,
        Reason.LOCKED.value,
        Reason.TOKEN_REJECTED.value,
        Reason.MISSING_SCOPE.value,
        Reason.DAILY_LIMIT.value,
        Reason.EVENT_NOT_FOUND.value,
    }
)


def not_sent(row: Row) -> bool:
    return row.outcome is Outcome.FAILED and row.reason in NOT_SENT_REASONS


def render_terminal(report: Report, *, width: int = 80, command: str = "", kept: str = "") -> str:
    """The closing table: counts per outcome, the report path, the top three reasons with what to do,
    and last the next step with the exact command (``command`` is the command line as typed)."""
    s = report.summary
    event = f"{s.event.name} (event {s.event.object_id})" if s.event.name else f"Event {s.event.object_id}"
    lines = [event]
    if s.event.start_ms is not None:
        lines.append(f"  starts {iso_utc(s.event.start_ms)[:16].replace('T', ' ')} UTC")
    if s.dry_run:
        lines.append("Dry run: nothing was sent.")
    for info in s.files:
        sheet = f", sheet {info.sheet}" if info.sheet else ""
        lines.append(
            f"  {info.file}{sheet}: {info.profile}" + (f", {plural(info.data_rows, 'row')}" if info.data_rows else "")
        )
    already = report.by_reason.get(Reason.ALREADY_RECORDED.value, 0)
    unsent = sum(1 for row in report.rows if not_sent(row)) if report.counts.get("failed") else 0
    shown: list[tuple[str, int]] = []
    for outcome, n in report.counts.items():
        if outcome == Outcome.SKIPPED.value:
            shown += [("already in HubSpot", already), ("skipped", n - already)]
        elif outcome == Outcome.FAILED.value:
            shown += [("failed", n - unsent), ("not sent yet", unsent)]
        else:
            shown.append((outcome, n))
    label_w = max(len(k) for k, _ in shown) + 2
    lines += [f"  {label:<{label_w}}{n:>9,}" for label, n in shown]
    lines.append(f"  {'total':<{label_w}}{len(report.rows):>9,}")
    lines.append(f"Report: {s.report_path}")
    if kept and kept != s.report_path:
        lines.append(f"  this run's copy, kept: {kept}")
    files = report.action_files
    if "fix" in files:
        lines.append(f"Fix and re-import ({plural(int(files['fix_rows']), 'row')}): {files['fix']}")
    if "create" in files:
        lines.append(
            f"Contacts to create in HubSpot ({plural(int(files['create_rows']), 'contact')}): {files['create']}"
        )
    problems: Counter[str] = Counter()
    first: dict[str, Row] = {}
    for row in report.rows:
        if (row.outcome is None or row.outcome.value in _PROBLEMS) and not not_sent(row):
            problems[row.reason] += 1
            first.setdefault(row.reason, row)
    if problems:
        total = sum(problems.values())
        lines.append(f"Needs attention: {plural(total, 'row')} rejected or failed.")
        for reason, n in sorted(problems.items(), key=lambda kv: (-kv[1], kv[0]))[:3]:
            example = first[reason]
            head = f"  {reason or 'unsettled'} ({n:,}, first at {_where(example)}): "
            lines += _wrap(head + fix_for(example, s.report_path or "<report>"), width)
        if len(problems) > 3:
            lines.append("  More reasons are listed in the report.")
    if report.rows and not s.dry_run and not unsent and not report.counts.get(Outcome.RECORDED.value):
        lines += _wrap(_why_nobody(report, already, unsent), width)
    if s.exit_code != 3:  # a stop's meaning is the next step below
        lines.append(EXIT_MEANINGS.get(s.exit_code, f"Exit code {s.exit_code}."))
    lines += _wrap("Next: " + _next_command(report, problems, unsent, command), width)
    return "\n".join(lines)


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(
        text,
        width=width,
        subsequent_indent="      ",
        break_on_hyphens=False,
        break_long_words=False,  # a path or a command is never cut in two
    )


def _why_nobody(report: Report, already: int, unsent: int) -> str:
    """A run that records nobody says why."""
    c = report.counts
    rules = Counter(
        r.reason for r in report.rows if r.outcome is Outcome.SKIPPED and r.reason != Reason.ALREADY_RECORDED.value
    )
    by_rule = ", ".join(f"{n:,} {reason_label(reason).lower()}" for reason, n in rules.most_common())
    parts = [
        (already, "already in HubSpot"),
        (unsent, "not sent yet"),
        (c.get("rejected", 0), "rejected"),
        (c.get("failed", 0) - unsent, "failed"),
        (c.get("skipped", 0) - already, f"skipped by rule ({by_rule})"),
        (c.get("merged", 0), "merged into another row"),
    ]
    said = [f"{n:,} {what}" for n, what in parts if n]
    if already and already + c.get("merged", 0) == len(report.rows):
        return f"Nobody new to record: every contact of the file was already in HubSpot ({', '.join(said)})."
    return "Nobody was recorded: " + (", ".join(said) or "the file has no row to send") + "."


def _next_command(report: Report, problems: Counter[str], unsent: int, command: str) -> str:
    """The one next step, with the exact command to type."""
    s = report.summary
    path = shlex.quote(s.report_path or "<report>")
    again = f"`{command}`" if command else "the same command"
    if unsent:
        stop = next(row for row in report.rows if not_sent(row))
        if stop.reason == Reason.EVENT_NOT_FOUND.value:
            return (
                f"{plural(unsent, 'row is', 'rows are')} not sent yet: HubSpot has no such event; check the event id, "
                f"then run `importer retry {path} --event OBJECT_ID` with the right one."
            )
        fix = _unsent_fix(stop.reason)
        return (
            f"{plural(unsent, 'row is', 'rows are')} not sent yet ({stop.reason}): {fix + ', then ' if fix else ''}"
            f"run the same command again to send them: {again}."
        )
    if s.dry_run:
        planned = report.counts.get(Outcome.PLANNED.value, 0)
        real = shlex.join(w for w in shlex.split(command) if w != "--dry-run") if command else ""
        how = f": `{real}`" if real else ""
        return f"run without --dry-run to send {plural(planned, 'participation')}{how}"
    missing = problems.get(Reason.CONTACT_NOT_FOUND.value, 0)
    in_file = sum(n for reason, n in problems.items() if reason in FILE_FIXES)
    retryable = sum(problems.values()) - missing - in_file
    steps = []
    files = report.action_files
    if missing:
        how = f" (import {files['create']} in HubSpot: Contacts > Import)" if "create" in files else ""
        steps.append(
            f"{plural(missing, 'contact is', 'contacts are')} not in HubSpot: add {'it' if missing == 1 else 'them'}"
            f"{how}, then `importer retry {path}`"
        )
    if retryable:
        steps.append(f"{plural(retryable, 'row')} failed: follow the fix above, then `importer retry {path}`")
    if in_file and "fix" in files:
        steps.append(f"correct {plural(in_file, 'row')} in {files['fix']}, then `{files['fix_command']}`")
    elif in_file:
        steps.append(f"correct {plural(in_file, 'row')} in the file as the report says, then run {again}")
    if steps:
        return "; ".join(steps) + "."
    return "nothing to do."


def _unsent_fix(reason: str) -> str:
    return {
        Reason.TOKEN_REJECTED.value: "set a new private app token in HUBSPOT_ACCESS_TOKEN",
        Reason.MISSING_SCOPE.value: "add the missing scope to the private app (see above)",
        Reason.DAILY_LIMIT.value: "wait until HubSpot's daily limit resets at midnight (the portal's time zone)",
    }.get(reason, "")


# --------------------------------------------------------------------------- reading


def read_report(path: str | Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Read a report back as text: ``(summary fields, rows as dicts of the Rows columns)``.

    Times come back as ISO ``Z`` text and ``vid`` as digits (or ``''``) whatever the format, so
    ``importer retry`` and ``verify`` need not care which one the user kept.
    """
    p = Path(path)
    try:
        fmt = _format_from_suffix(p)
        if fmt == "xlsx":
            return _read_xlsx(p)
        if fmt == "csv":
            return _read_csv(p)
        return _read_json(p)
    except FileNotFoundError:
        raise InputError(f"Report {p} does not exist.", hint="Give the path the import printed at the end.") from None
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, KeyError, ValueError) as exc:
        raise InputError(f"Report {p} cannot be read as an importer report ({exc}).") from None


def _read_csv(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        _check_columns(path, reader.fieldnames or [])
        rows = [{k: _csv_unguard(v or "") for k, v in rec.items() if k is not None} for rec in reader]
    summary = {"event_id": rows[0]["event_id"] if rows else ""}
    return summary, rows


def _csv_unguard(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def _read_json(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    summary: dict[str, str] = {}
    rows: list[dict[str, str]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            record = json.loads(line)
            kind = record.pop("type", None)
            if kind == "summary":
                summary = {k: _as_text(v) for k, v in record.items()}
            elif kind == "row":
                rows.append({k: _as_text(v) for k, v in record.items()})
    if rows:
        _check_columns(path, list(rows[0]))
    return summary, rows


def _check_columns(path: Path, names: Sequence[str]) -> None:
    missing = [c for c in CORE_COLUMNS if c not in names]
    if missing:
        raise InputError(f"Report {path} lacks the columns {', '.join(missing)}; is it an importer report?")


def _read_xlsx(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        if "Rows" not in wb.sheetnames:
            raise InputError(f"Report {path} has no Rows sheet; is it an importer report?")
        summary: dict[str, str] = {}
        if "Summary" in wb.sheetnames:
            for rec in wb["Summary"].iter_rows(min_row=3, max_col=3, values_only=True):
                if len(rec) >= 3 and isinstance(rec[2], str) and rec[2]:
                    summary[_unescape_ooxml(rec[2])] = _xlsx_text(rec[1])
        zone = _zone(summary.get("timezone"))
        it = wb["Rows"].iter_rows(values_only=True)
        header = [_xlsx_text(h) for h in next(it, ())]
        _check_columns(path, header)
        rows: list[dict[str, str]] = []
        for rec in it:
            item = {name: _xlsx_text(value) for name, value in zip(header, rec, strict=False) if name}
            for name in header[len(rec) :]:
                if name:
                    item[name] = ""
            utc = rec[header.index("interaction_time_utc")] if len(rec) > header.index("interaction_time_utc") else None
            if isinstance(utc, datetime):
                ms = _datetime_ms(utc)
                item["interaction_time_utc"] = iso_utc(ms)
                if "interaction_time_local" in item:
                    item["interaction_time_local"] = _iso_local(ms, zone)
            rows.append(item)
    finally:
        wb.close()
    summary.setdefault("event_id", rows[0].get("event_id", "") if rows else "")
    return summary, rows


def _datetime_ms(naive_utc: datetime) -> int:
    """Excel keeps times as fractions of a day; round back to the millisecond we wrote."""
    delta = naive_utc.replace(tzinfo=UTC) - _EPOCH
    return round(delta / timedelta(milliseconds=1))


def _xlsx_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return iso_utc(_datetime_ms(value))
    if isinstance(value, str):
        return _unescape_ooxml(value)
    return str(value)


def _unescape_ooxml(text: str) -> str:
    """Undo the ``_xHHHH_`` escapes xlsxwriter writes for control characters (openpyxl keeps them)."""
    from openpyxl.utils.escape import unescape

    return unescape(text) if "_x" in text else text
