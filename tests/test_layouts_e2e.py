"""Every sample export, exactly as downloaded, through ``importer run`` against the sandbox.

Only ``--event`` and ``--timezone`` (and ``--contacts``) are passed.  Each report row must carry the
outcome, reason, state and UTC time the platform rules give; HubSpot must hold exactly the recorded
participations; the Summary must name the profile.  Expected times are computed here from the wall
clock the file shows (zoneinfo), never by the mapper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from importer.cli import main
from importer.sandbox import DEFAULT_TOKEN, Sandbox

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
EVENT = "1001"
EVENT_START = "2024-12-05T17:00:00Z"
EST = timezone(timedelta(hours=-5), "EST")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Want:
    """One report row as the rules say it must be.  ``when`` is the wall clock the file shows, read in
    the run's --timezone, unless it ends in ``Z`` (UTC) or `` EST``; ``None`` means the event's start."""

    row: int
    email: str | None
    state: str
    when: str | None
    outcome: str = "recorded"
    reason: str | None = None
    into: int | None = None
    #: the second participation the row proves: (state, when, outcome, merged into row)
    also: tuple[str, str, str, int | None] | None = None


def R(
    row: int,
    email: str | None,
    state: str,
    when: str | None,
    outcome: str = "recorded",
    reason: str | None = None,
    into: int | None = None,
    reg: str | None = None,
    reg_outcome: str = "recorded",
    reg_into: int | None = None,
) -> Want:
    """``reg``: the row also proves a registration at that time (``reg_outcome``, ``reg_into``)."""
    also = None if reg is None else ("register", reg, reg_outcome, reg_into)
    return Want(row, email, state, when, outcome, reason, into, also)


@dataclass(frozen=True)
class Case:
    sample: str
    timezone: str | None
    profile: str
    rows: tuple[Want, ...]
    lookups: int  # emails the run must look up in HubSpot (one batch/read input each)
    ids: dict[str, int] = field(default_factory=dict)  # contact ids the sandbox must use (Record IDs)
    unknown: frozenset[str] = frozenset()  # emails the sandbox deliberately does not know
    contacts: str | None = None


def epoch_ms(when: str | None, zone: str | None) -> int:
    """The instant a wall-clock text names, in ms since the epoch (integer arithmetic, no float)."""
    if when is None:
        stamp = datetime.fromisoformat(EVENT_START.replace("Z", "+00:00"))
    elif when.endswith("Z"):
        stamp = datetime.fromisoformat(when[:-1]).replace(tzinfo=UTC)
    elif when.endswith(" EST"):
        stamp = datetime.fromisoformat(when[:-4]).replace(tzinfo=EST)
    else:
        assert zone is not None, "a wall-clock time needs the run's --timezone"
        stamp = datetime.fromisoformat(when).replace(tzinfo=ZoneInfo(zone))
    return (stamp - EPOCH) // timedelta(milliseconds=1)


def cell_ms(value: Any) -> int:
    """A report's naive-UTC datetime cell back to epoch ms (the workbook keeps milliseconds)."""
    assert isinstance(value, datetime), value
    return round((value.replace(tzinfo=UTC) - EPOCH).total_seconds() * 1000)


ZOOM_ATTENDEES = (
    R(7, "olivia.host@example.com", "attend", "2024-11-05 10:50:02", "skipped", "host"),
    R(10, "pat.panel@example.org", "attend", "2024-11-05 10:52:10", "skipped", "panelist"),
    # an attendee also registered, at the Registration Time (still daylight time in October)
    R(13, "jane.doe@example.com", "attend", "2024-11-05 10:58:03", reg="2024-10-28 09:14:22"),
    R(
        14,
        "jane.doe@example.com",
        "attend",
        "2024-11-05 11:45:30",
        "merged",
        "duplicate_contact",
        into=13,
        reg="2024-10-28 09:14:22",
        reg_outcome="merged",
        reg_into=13,
    ),
    R(15, "carlos.ruiz@example.org", "attend", "2024-11-05 10:59:47", reg="2024-10-29 16:02:11"),  # 12-hour clock
    R(16, "mei.chen@example.net", "attend", "2024-11-05 11:02:15", reg="2024-10-30 11:20:00"),
    R(17, "ahmed.khan@example.com", "attend", "2024-11-05 11:05:09", reg="2024-11-01 08:45:33"),
    R(18, "lena.fischer@example.org", "attend", "2024-11-05 10:56:30", reg="2024-11-02 19:03:41"),
    R(19, "tom.baker@example.net", "attend", "2024-11-05 11:10:45", reg="2024-11-03 07:30:12"),
    R(20, "sam.noshow@example.com", "register", "2024-11-04 15:22:08"),  # Attended No: registration time
    R(21, "priya.patel@example.org", "register", "2024-11-04 17:41:55"),
    R(22, "rex.denied@example.net", "register", "2024-11-04 18:00:00", "skipped", "denied"),
)
ZOOM_REGISTRATIONS = (
    R(7, "jane.doe@example.com", "register", "2024-10-28 09:14:22"),  # still daylight time (EDT)
    R(8, "carlos.ruiz@example.org", "register", "2024-10-29 16:02:11"),
    R(9, "nina.wait@example.net", "register", "2024-11-01 10:00:00", "skipped", "not_approved"),
    R(10, "rex.denied@example.net", "register", "2024-11-04 18:00:00", "skipped", "denied"),
    R(11, "priya.patel@example.org", "register", "2024-11-04 17:41:55"),
)
TEAMS = (
    R(11, "megan.organizer@example.com", "attend", "2024-11-13 13:58:40", "skipped", "organizer"),
    R(12, "tom.lee@example.net", "attend", "2024-11-13 14:01:10"),
    R(13, "ana.silva@example.com", "attend", "2024-11-13 14:02:33"),  # a presenter is a participant
    R(14, "mei.chen@example.net", "attend", "2024-11-13 14:05:00"),
    R(15, None, "attend", "2024-11-13 14:07:19", "rejected", "missing_email"),
    R(16, "jonas.weber@example.org", "attend", "2024-11-13 14:00:59"),
    R(17, "grace.kim@example.com", "attend", "2024-11-13 14:13:27"),
    R(18, "omar.haddad@example.org", "attend", "2024-11-13 14:03:03"),
)  # the In-Meeting Activities section (Tom Lee's rejoin) adds no rows
GOTO = (
    R(10, "ana.silva@example.com", "attend", "2024-11-19 11:01", reg="2024-11-12 09:30 EST"),  # date cell: --timezone
    R(11, "tom.lee@example.net", "attend", "2024-11-19 11:03", reg="2024-11-13 14:15 EST"),
    R(12, "grace.kim@example.com", "attend", "2024-11-19 11:02 EST", reg="2024-11-14 10:05 EST"),  # zone in the text
    R(13, "jonas.weber@example.org", "attend", "2024-11-19 11:09", reg="2024-11-15 16:45 EST"),
    R(14, "omar.haddad@example.org", "attend", "2024-11-19 11:15", reg="2024-11-15 17:00 EST"),
    R(15, "mei.chen@example.net", "attend", "2024-11-19 11:00", reg="2024-11-16 08:20 EST"),
    R(16, "sam.noshow@example.com", "register", "2024-11-17 12:00 EST"),
    R(17, "priya.patel@example.org", "register", "2024-11-18 19:10 EST"),
    R(18, "lena.fischer@example.org", "register", "2024-11-18 21:55 EST"),
)
EVENTBRITE = (
    R(2, "jane.doe@example.com", "register", "2024-11-29 22:28"),  # Attending: registered at the order date
    # Checked In: attended (the export has no time: the event's start), registered at the order date
    R(3, "carlos.ruiz@example.org", "attend", None, reg="2024-11-30 08:05"),
    R(4, "mei.chen@example.net", "attend", None, reg="2024-11-30 09:41"),
    # Not Attending, Refunded: cancelled at the event's start (never the order date), registered at the order date
    R(5, "ahmed.khan@example.com", "cancel", None, reg="2024-12-01 14:12"),
    R(6, "lena.fischer@example.org", "cancel", None, reg="2024-12-01 18:30"),
    R(7, "tom.baker@example.net", "register", "2024-12-02 10:00", "skipped", "transferred"),
    R(8, "grace.kim@example.com", "register", "2024-12-02 10:02"),
    R(9, "omar.haddad@example.org", "register", "2024-12-03 07:55"),
    R(10, "ana.silva@example.com", "attend", None, reg="2024-12-03 16:20"),
    R(11, "jonas.weber@example.org", "register", "2024-12-04 12:48"),
)
LUMA = (
    R(2, "jane.doe@example.com", "attend", "2024-12-03T17:58:40Z", reg="2024-11-20T14:03:11.204Z"),  # checked in
    R(3, "carlos.ruiz@example.org", "register", "2024-11-21T09:12:45.871Z"),  # approved, no check-in
    R(4, "mei.chen@example.net", "attend", "2024-12-03T18:02:13Z", reg="2024-11-22T16:40:02.015Z"),
    R(5, "ahmed.khan@example.com", "register", "2024-11-23T11:11:11.111Z", "skipped", "declined"),
    R(6, "lena.fischer@example.org", "register", "2024-11-24T08:00:59.300Z", "skipped", "waitlist"),
    R(7, "tom.baker@example.net", "register", "2024-11-25T19:20:30.400Z", "skipped", "pending_approval"),
    R(8, "grace.kim@example.com", "register", "2024-11-26T13:14:15.500Z", "skipped", "invited"),
    R(9, "omar.haddad@example.org", "attend", "2024-12-03T18:10:00Z", reg="2024-11-27T10:10:10.600Z"),
    R(10, "ana.silva@example.com", "register", "2024-11-28T07:07:07.700Z"),
)
GENERIC = (
    R(2, "jane.doe@example.com", "attend", "2024-11-05 10:58:03"),
    R(3, "carlos.ruiz@example.org", "attend", "2024-11-05 10:59:47"),
    R(4, "jane.doe@example.com", "attend", "2024-11-05 11:45:30", "merged", "duplicate_contact", into=2),
    R(5, "mei.chen@example.net", "attend", "2024-11-05 11:02:15"),
    R(6, "ahmed.khan@example.com", "attend", "2024-11-05 11:05:09"),
    R(7, "lena.fischer@example.org", "attend", "2024-11-05 10:56:30"),
    R(8, "tom.baker@@example.net", "attend", "2024-11-05 11:10:45", "rejected", "invalid_email"),  # as found
    R(9, "unknown.person@example.net", "attend", "2024-11-05 11:15:00", "rejected", "contact_not_found"),
    R(10, "grace.kim@example.com", "attend", "2024-11-05 11:00:12"),
    R(11, "omar.haddad@example.org", "attend", "2024-11-05 11:03:03"),
    R(12, "ana.silva@example.com", "attend", "2024-11-05 10:57:00"),
    R(13, "jonas.weber@example.org", "attend", "2024-11-05 11:20:41"),
)
RECORD_IDS = {
    "carlos.ruiz@example.org": 1201,
    "mei.chen@example.net": 1203,
    "lena.fischer@example.org": 1205,
    "grace.kim@example.com": 1208,
    "ana.silva@example.com": 1210,
}
GERMAN = (
    # Teilgenommen Ja, 22.10.2024 (CEST): attended, and registered at the Anmeldedatum
    R(2, "juergen.mueller@example.com", "attend", "2024-10-22 17:04", reg="2024-10-15 09:12"),
    R(3, "aenne.schroeder@example.org", "attend", "2024-10-22 17:01", reg="2024-10-16 11:30"),
    R(4, "bjoern.weiss@example.net", "register", "2024-10-17 08:45"),  # Nein: Anmeldedatum
    R(5, "soeren.gross@example.com", "attend", "2024-10-22 17:10", reg="2024-10-18 14:20"),
    R(6, "zoe.baecker@example.org", "register", "2024-10-19 19:05"),
    R(7, "lukas.koehler@example.net", "attend", "2024-10-22 17:03", reg="2024-10-20 07:55"),
    R(8, "hannah.fuss@example.com", "attend", "2024-10-22 17:20", reg="2024-10-21 21:40"),
)
# hubspot_contacts_export.csv: one id per email, except omar.haddad (1209 and 1219); a row without email
CONTACT_IDS = {
    "carlos.ruiz@example.org": 1201,
    "jane.doe@example.com": 1202,
    "mei.chen@example.net": 1203,
    "ahmed.khan@example.com": 1204,
    "lena.fischer@example.org": 1205,
    "grace.kim@example.com": 1208,
    "omar.haddad@example.org": 1209,
    "ana.silva@example.com": 1210,
    "jonas.weber@example.org": 1211,
}
#: omar's two Record IDs are settled by HubSpot, which knows him as 1209 (one more lookup)
GENERIC_WITH_CONTACTS = GENERIC

NY, CHICAGO, LA, BERLIN = "America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/Berlin"
UNKNOWN = frozenset({"unknown.person@example.net"})
CASES = {
    "zoom-attendees": Case("zoom_attendee_report.csv", NY, "zoom_webinar_attendee", ZOOM_ATTENDEES, 8),
    "zoom-registrations": Case("zoom_registration_report.csv", NY, "zoom_registration", ZOOM_REGISTRATIONS, 3),
    "teams": Case("teams_attendance.csv", CHICAGO, "teams_attendance", TEAMS, 6),
    "goto": Case("goto_webinar_attendees.xlsx", NY, "goto_webinar_attendee", GOTO, 9),
    # in Berlin the date cells move and the '... EST' texts do not: abbreviations beat --timezone
    "goto-EST-beats-timezone": Case("goto_webinar_attendees.xlsx", BERLIN, "goto_webinar_attendee", GOTO, 9),
    "eventbrite": Case("eventbrite_orders.csv", LA, "eventbrite_attendees", EVENTBRITE, 9),
    "luma": Case("luma_guests.csv", None, "luma_guests", LUMA, 5),
    "generic-csv": Case("generic_attendees.csv", NY, "generic", GENERIC, 5, RECORD_IDS, UNKNOWN),
    "generic-xlsx": Case("generic_attendees.xlsx", NY, "generic", GENERIC, 5, RECORD_IDS, UNKNOWN),
    "german-cp1252": Case("deutsch_teilnehmer.csv", BERLIN, "generic", GERMAN, 7),
    "generic-with-hubspot-contacts": Case(
        "generic_attendees.csv", NY, "generic", GENERIC_WITH_CONTACTS, 2, CONTACT_IDS, UNKNOWN,
        contacts="hubspot_contacts_export.csv",
    ),
}  # fmt: skip


def report_rows(path: Path) -> dict[int, dict[str, Any]]:
    ws = openpyxl.load_workbook(path, read_only=True)["Rows"]
    values = list(ws.iter_rows(values_only=True))
    header = [str(h) for h in values[0]]
    return {int(v[1]): dict(zip(header, v, strict=True)) for v in values[1:]}


def summary_values(path: Path) -> dict[str, Any]:
    """The Summary sheet by its key column (``file_1_profile``, ``exit_code``...)."""
    ws = openpyxl.load_workbook(path, read_only=True)["Summary"]
    return {row[2]: row[1] for row in ws.iter_rows(min_row=3, max_col=3, values_only=True) if row[2]}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_sample_imports_as_downloaded(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    src = SAMPLES / case.sample
    original = src.read_bytes()
    report = tmp_path / "report.xlsx"
    args = ["run", str(src), "--event", EVENT, "--report", str(report), "--state-dir", str(tmp_path / "state")]
    if case.timezone:
        args += ["--timezone", case.timezone]
    if case.contacts:
        args += ["--contacts", str(SAMPLES / case.contacts)]
    everyone = {w.email for w in case.rows if w.email and w.reason != "invalid_email"} - case.unknown
    with Sandbox(contacts=case.ids, events={EVENT: {"startDateTime": EVENT_START}}) as box:
        box.add_contacts(sorted(everyone - set(case.ids)))
        known = box.contacts
        code = main([*args, "--base-url", box.base_url], environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN})
        stored = box.participations(EVENT)
        requests = box.requests
    out = capsys.readouterr()

    assert src.read_bytes() == original  # nothing edited by hand, nothing rewritten
    rows = report_rows(report)
    assert sorted(rows) == [w.row for w in case.rows]
    for want in case.rows:
        got = rows[want.row]
        where = f"{case.sample} row {want.row}"
        assert got["source_file"] == str(src), where
        assert (got["email"], got["state"], got["outcome"], got["reason"]) == (
            want.email, want.state, want.outcome, want.reason
        ), where  # fmt: skip
        if want.outcome == "skipped" and want.when is None:  # a row left out takes no time from the event
            assert got["interaction_time_utc"] is None, where
        else:
            assert cell_ms(got["interaction_time_utc"]) == epoch_ms(want.when, case.timezone), where
            assert got["time_source"] == ("event_start" if want.when is None else "file"), where
        if want.outcome in ("recorded", "merged"):
            assert want.email is not None
            assert got["vid"] == known[want.email], where
        if want.outcome == "merged":
            assert got["merged_into"] == f"{src}:{want.into}", where
        if want.outcome != "recorded":
            assert got["message"], where
        if want.also is None:
            assert got.get("also_state") in (None, ""), where
        else:
            state, when, outcome, into = want.also
            assert (got["also_state"], got["also_outcome"]) == (state, outcome), where
            assert cell_ms(got["also_time_utc"]) == epoch_ms(when, case.timezone), where
            assert got["also_merged_into"] == (f"{src}:{into}" if into else None), where

    expected = {
        (known[str(w.email)], w.state, epoch_ms(w.when, case.timezone)) for w in case.rows if w.outcome == "recorded"
    } | {
        (known[str(w.email)], w.also[0], epoch_ms(w.also[1], case.timezone))
        for w in case.rows
        if w.also is not None and w.also[2] == "recorded"
    }
    assert {(p["vid"], p["state"], p["occurred_at"]) for p in stored} == expected
    assert len(stored) == len(expected)
    assert code == (1 if any(w.outcome in ("rejected", "failed") for w in case.rows) else 0)

    lookups = [r.inputs for r in requests if r.path.endswith("/contacts/batch/read")]
    assert sum(lookups) == case.lookups

    summary = summary_values(report)
    assert summary["file_1_profile"] == case.profile
    assert summary["file_1"] == str(src)
    assert summary["exit_code"] == code
    assert summary["total_rows"] == len(case.rows)
    assert case.profile in out.out + out.err
    assert DEFAULT_TOKEN not in out.out + out.err


def test_german_export_keeps_its_umlauts_and_day_first_dates(tmp_path: Path) -> None:
    report = tmp_path / "de.xlsx"
    with Sandbox(events=[EVENT]) as box:
        box.add_contacts(w.email for w in GERMAN if w.email)
        code = main(
            ["run", str(SAMPLES / "deutsch_teilnehmer.csv"), "--event", EVENT, "--timezone", "Europe/Berlin",
             "--base-url", box.base_url, "--report", str(report), "--state-dir", str(tmp_path / "state")],
            environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN},
        )  # fmt: skip
    assert code == 0
    rows = report_rows(report)
    assert [rows[n]["first_name"] for n in (2, 3, 6)] == ["Jürgen", "Änne", "Zoë"]
    summary = summary_values(report)
    assert summary["file_1_encoding"] == "cp1252"
    assert summary["file_1_date_order"] == "day-first"
    assert summary["file_1_timezone"] == "Europe/Berlin"


def test_contacts_file_conflict_names_both_ids_and_spares_lookups(tmp_path: Path) -> None:
    """--contacts: covered emails are never looked up; an email with two ids is asked of HubSpot,
    and when HubSpot does not know it either, it is not guessed."""
    report = tmp_path / "c.xlsx"
    without_omar = {e: v for e, v in CONTACT_IDS.items() if e != "omar.haddad@example.org"}
    with Sandbox(events=[EVENT], contacts=without_omar) as box:
        code = main(
            ["run", str(SAMPLES / "generic_attendees.csv"), "--event", EVENT, "--timezone", "America/New_York",
             "--contacts", str(SAMPLES / "hubspot_contacts_export.csv"), "--base-url", box.base_url,
             "--report", str(report), "--state-dir", str(tmp_path / "state")],
            environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN},
        )  # fmt: skip
        lookups = [r for r in box.requests if r.path.endswith("/contacts/batch/read")]
        stored = {p["vid"] for p in box.participations(EVENT)}
    assert code == 1
    assert [r.inputs for r in lookups] == [2]  # unknown.person, which the file does not list, and omar
    omar = report_rows(report)[11]
    assert omar["reason"] == "conflicting_contact_id"
    assert "1209" in str(omar["message"]) and "1219" in str(omar["message"])
    assert 1209 not in stored and 1219 not in stored
    assert {1202, 1204, 1211} <= stored  # ids taken from the contacts file, not from a lookup
