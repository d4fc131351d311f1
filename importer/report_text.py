"""The words of the report: a fix per reason, plain labels, the Summary's headline, next step and fields.

Pure: everything here reads a ``Report`` (or one row of its table, as a mapping of the
:data:`models.ROWS` columns) and returns text.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from .actions import FILE_FIXES
from .config import KEY_PLACES, SERVICE_KEYS_PAGE
from .models import Reason
from .report_model import EXIT_MEANINGS, Report, iso_utc, plural, problem_rows, word_counts, zone_of

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: One row of the report: the :data:`models.ROWS` columns by name (a line of ``Table.to_pylist()``).
RowView = Mapping[str, Any]


def where(row: RowView) -> str:
    """``attendees.csv row 7``: where the user must look."""
    return f"{row['file']} row {row['row']}"


# --------------------------------------------------------------------------- fixes


def fix_for(row: RowView, report_path: str = "<report>") -> str:
    """A concrete next step for a row's reason, naming the file and row where the user must look."""
    reason = row.get("reason") or ""
    at = where(row)
    report_path = shlex.quote(report_path)
    retry = f"run `importer retry {report_path}`"
    found = f" (found: '{row['email']}')" if row.get("email") else ""
    rerun = "then run the same import again (rows already recorded are skipped)"
    fixes: dict[str, str] = {
        Reason.MISSING_EMAIL: f"Add the contact's email in {at}, {rerun}",
        Reason.INVALID_EMAIL: f"Correct the email in {at}{found}, {rerun}",
        Reason.INVALID_VID: (
            f"Correct the contact ID in {at}: use the Record ID HubSpot shows on the contact, {rerun}"
        ),
        Reason.CONTACT_NOT_FOUND: (f"Add the contact to HubSpot (or re-run with --create-missing), then {retry}"),
        Reason.CONFLICTING_CONTACT_ID: (
            f"The email and the contact ID in {at} belong to different HubSpot contacts: "
            f"keep only the right one, {rerun}"
        ),
        Reason.BAD_TIME: f"Fix the date in {at} so it reads like 2024-11-05 15:58, {rerun}",
        Reason.MISSING_TIME: (f"Add the date and time in {at}, or give the event a start time in HubSpot, {rerun}"),
        Reason.DUPLICATE_CONTACT: (
            f"Nothing to do: merged into {row['merged_file']} row {row['merged_row']}"
            if row.get("merged_file") is not None
            else "Nothing to do: merged with another row of the same contact"
        ),
        Reason.HOST: "Nothing to do: hosts are skipped on purpose",
        Reason.PANELIST: "Nothing to do: panelists are skipped on purpose",
        Reason.ORGANIZER: "Nothing to do: organizers are skipped on purpose",
        Reason.NOT_APPROVED: "Nothing to do: registrations not approved are skipped; approve them first to record them",
        Reason.LOST_PRECISION_ID: (
            f"Excel shortened the contact ID in {at} to scientific notation: format the column as Text in the "
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
        Reason.HTTP_400: f"HubSpot refused this row as invalid: check the message, fix {at}, {rerun}",
        Reason.HTTP_429: f"Temporary HubSpot problem: {retry} later",
        Reason.HTTP_5XX: f"Temporary HubSpot problem: {retry} later",
        Reason.NETWORK_ERROR: f"Temporary HubSpot problem: {retry} later",
        Reason.TIMEOUT: f"Temporary HubSpot problem: {retry} later",
        Reason.REJECTED_BY_HUBSPOT: (
            f"HubSpot refused this contact (see the message): fix the contact in HubSpot, then {retry}; "
            f"or correct {at} and run the same import again"
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
            f"Add the scope {_scope_in(row.get('message') or '')} to the service key or private app "
            f"({KEY_PLACES}), then {retry}"
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


def _generic_fix(row: RowView, report_path: str) -> str:
    return f"Read the message, fix the cause in {where(row)} or in HubSpot, then run `importer retry {report_path}`"


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
    if report.rows.num_rows == 0:
        return f"The file had no rows to import into {event}."
    if attention:
        groups = word_counts(problem_rows(report).column("reason"))
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
    groups = word_counts(problem_rows(report).column("reason"))
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
    zone = zone_of(s.timezone)
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


def person_name(row: RowView) -> str:
    """The person's name as the file gives it (first and last, or one display name)."""
    values = dict(row.get("extra") or ())
    both = " ".join(v for v in (values.get("first_name", "").strip(), values.get("last_name", "").strip()) if v)
    return both or values.get("name", "").strip()
