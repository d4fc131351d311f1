"""Platform profiles end to end: each sample export, from its bytes, through the grid and the mapper."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from row_objects import table_to_rows
from test_mapper import NOW, grid, ms

from importer.errors import InputError
from importer.loader import load
from importer.mapper import MapOptions, MappedFile, map_sheet
from importer.models import Outcome, Reason, State
from importer.profiles import PROFILES, by_name, detect

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"

#: sample -> (profile, --timezone it needs, encoding, delimiter); see sample_data/README.md
CASES = {
    "zoom_attendee_report.csv": ("zoom_webinar_attendee", "America/New_York", "utf-8-sig", ","),
    "zoom_registration_report.csv": ("zoom_registration", "America/New_York", "utf-8-sig", ","),
    "teams_attendance.csv": ("teams_attendance", "America/Chicago", "utf-16", "\t"),
    "goto_webinar_attendees.xlsx": ("goto_webinar_attendee", "America/New_York", None, None),
    "eventbrite_orders.csv": ("eventbrite_attendees", "America/Los_Angeles", "utf-8", ","),
    "luma_guests.csv": ("luma_guests", None, "utf-8", ","),
    "generic_attendees.csv": ("generic", "America/New_York", "utf-8", ","),
    "generic_attendees.xlsx": ("generic", "America/New_York", None, None),
    "deutsch_teilnehmer.csv": ("generic", "Europe/Berlin", "cp1252", ";"),
    "hubspot_contacts_export.csv": ("hubspot_contacts", None, "utf-8", ","),
    "zoom_meeting_participants.csv": ("zoom_meeting_participants", "America/New_York", "utf-8-sig", ","),
    "zoom_participants_current.csv": ("zoom_meeting_participants", "America/New_York", "utf-8-sig", ","),
    "zoom_participants_ja.csv": ("zoom_meeting_participants", "Asia/Tokyo", "utf-8-sig", ","),
    "zoom_participants_meeting_data.csv": ("zoom_meeting_participants", "Europe/London", "utf-8", ","),
    "zoom_registrants.csv": ("zoom_registrants", None, "utf-8", ","),
    "webex_attendees.csv": ("webex_attendees", "America/Chicago", "utf-8", ","),
    "generic_zoned_times.csv": ("generic", "America/New_York", "utf-8", ","),
    "goto_meeting_attendees.csv": ("goto_meeting_attendees", None, "utf-8", ","),
    "on24_attendees.csv": ("on24_attendees", None, "utf-8", ","),
    "livestorm_people.xlsx": ("livestorm_people", "Europe/Paris", None, None),
    "bigmarker_attendees.csv": ("bigmarker_conference", None, "utf-8", ","),
    "bigmarker_registrants.csv": ("bigmarker_conference", None, "utf-8", ","),
    "demio_participants.csv": ("demio_participants", None, "utf-8", ","),
    "2024-11-21 14-00 Partner sync - Attendance Report.csv": (
        "google_meet_attendance",
        "America/New_York",
        "utf-8",
        ",",
    ),
}
#: samples the run refuses as they are (exit 2 before anything is sent), by the profile that says why
REFUSED = {"teams_meetingAttendanceList.csv": "teams_attendance_list"}


def via_loader(name: str, **opts: object) -> MappedFile:
    zone = CASES[name][1]
    return map_sheet(load(SAMPLES / name), MapOptions(**{"timezone": zone, "now_ms": NOW, **opts}))  # type: ignore[arg-type]


def via_grid(name: str) -> MappedFile:
    _, zone, encoding, delimiter = CASES[name]
    assert encoding is not None and delimiter is not None
    text = (SAMPLES / name).read_bytes().decode(encoding)
    return map_sheet(grid(text, file=name, delimiter=delimiter), MapOptions(timezone=zone, now_ms=NOW))


def summary(m: MappedFile) -> list[tuple[int, str | None, int | None, str | None, int | None, str]]:
    return [(r.ref.row, r.email, r.vid, r.state, r.when_ms, r.reason) for r in table_to_rows(m.table)]


def by_row(m: MappedFile) -> dict:
    return {r.ref.row: r for r in table_to_rows(m.table)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_detected_and_fully_accounted(name: str) -> None:
    m = via_loader(name)
    assert m.info.profile == CASES[name][0]
    assert detect(load(SAMPLES / name)).name == CASES[name][0]
    assert m.info.data_rows == len(table_to_rows(m.table)) > 0
    assert len({r.ref.row for r in table_to_rows(m.table)}) == len(table_to_rows(m.table))
    for r in table_to_rows(m.table):
        assert (r.outcome is None) == (r.reason == "") and (r.outcome is None or r.message)
        assert (r.state is None or type(r.state) is State) and (r.outcome is None or type(r.outcome) is Outcome)
        assert type(r.reason) is str and (r.vid is None or type(r.vid) is int)
        assert r.when_ms is None or type(r.when_ms) is int
    assert sum(r.state is None and r.outcome is None for r in table_to_rows(m.table)) == m.info.undecided


@pytest.mark.parametrize("name", sorted([*CASES, *REFUSED]))
def test_sample_detected_as_its_own_profile_and_no_other(name: str) -> None:
    """Detection table: the sample's own profile scores strictly above every other one."""
    want = CASES[name][0] if name in CASES else REFUSED[name]
    sheet = load(SAMPLES / name)
    scores = {p.name: p.matches(sheet) for p in PROFILES}
    assert detect(sheet).name == want
    assert all(score < scores[want] for other, score in scores.items() if other != want), scores


def test_every_sample_is_in_a_detection_table() -> None:
    samples = {p.name for p in SAMPLES.iterdir() if p.suffix in (".csv", ".xlsx")}
    assert samples == set(CASES) | set(REFUSED)


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c[2] is not None))
def test_grid_and_loader_agree(name: str) -> None:
    assert summary(via_grid(name)) == summary(via_loader(name))


def test_zoom_attendee_report() -> None:
    m = via_loader("zoom_attendee_report.csv")
    assert (m.info.header_row, m.info.date_order) == (12, "month-first")  # the attendee table's header
    rows = by_row(m)
    assert (rows[7].outcome, rows[7].reason) == (Outcome.SKIPPED, Reason.HOST)
    assert "webinar host" in rows[7].message
    assert (rows[10].outcome, rows[10].reason) == (Outcome.SKIPPED, Reason.PANELIST)
    # a rejoining attendee: one row per join, each with its own time
    assert (rows[13].state, rows[13].when_ms) == (State.ATTEND, ms("2024-11-05T15:58:03Z"))
    assert (rows[14].email, rows[14].when_ms) == ("jane.doe@example.com", ms("2024-11-05T16:45:30Z"))
    assert (rows[15].email, rows[15].when_ms) == ("carlos.ruiz@example.org", ms("2024-11-05T15:59:47Z"))
    assert (rows[20].state, rows[20].when_ms, rows[20].outcome) == (State.REGISTER, ms("2024-11-04T20:22:08Z"), None)
    assert (rows[22].outcome, rows[22].reason) == (Outcome.SKIPPED, Reason.DENIED)
    assert rows[13].extra == (("first_name", "Jane"), ("last_name", "Doe"))
    assert sorted(rows) == [7, 10, *range(13, 23)]


def test_zoom_needs_a_timezone() -> None:
    with pytest.raises(InputError, match="has times without a time zone"):
        via_loader("zoom_attendee_report.csv", timezone=None)


def test_zoom_registration_report() -> None:
    rows = table_to_rows(via_loader("zoom_registration_report.csv").table)
    assert [(r.state, r.reason) for r in rows] == [
        (State.REGISTER, ""),
        (State.REGISTER, ""),
        (State.REGISTER, Reason.NOT_APPROVED),
        (State.REGISTER, Reason.DENIED),
        (State.REGISTER, ""),
    ]
    assert rows[0].when_ms == ms("2024-10-28T13:14:22Z")


def test_teams_attendance() -> None:
    m = via_loader("teams_attendance.csv")
    assert (m.info.encoding, m.info.delimiter, m.info.date_order) == ("utf-16", "\t", "month-first")
    rows = by_row(m)
    assert sorted(rows) == list(range(11, 19))  # section 3 left out
    assert any("In-Meeting Activities" in n for n in m.info.notes)
    assert (rows[11].outcome, rows[11].reason) == (Outcome.SKIPPED, Reason.ORGANIZER)
    assert (rows[12].state, rows[12].when_ms) == (State.ATTEND, ms("2024-11-13T20:01:10Z"))
    assert rows[12].extra == (("name", "Tom Lee"),)
    assert (rows[15].outcome, rows[15].reason) == (Outcome.REJECTED, Reason.MISSING_EMAIL)
    assert "Alex Guest" in rows[15].message
    assert rows[14].email == "mei.chen@example.net"


def test_teams_day_first_locale() -> None:
    text = (
        "1. Summary\nMeeting title\tWeekly\nStart time\t13/11/2024, 14:00:05\n\n2. Participants\n"
        "Name\tFirst Join\tLast Leave\tIn-Meeting Duration\tEmail\tParticipant ID (UPN)\tRole\n"
        "Ann\t13/11/2024, 14:06:59\t13/11/2024, 15:00:00\t53m 1s\tann@example.com\tann@example.com\tAttendee\n"
    )
    m = map_sheet(grid(text, delimiter="\t"), MapOptions(timezone="Europe/Berlin"))
    assert m.info.profile == "teams_attendance" and m.info.date_order == "day-first"
    assert table_to_rows(m.table)[0].when_ms == ms("2024-11-13T13:06:59Z")


def test_teams_older_layout() -> None:
    text = (
        "Meeting Summary\nTotal Number of Participants\t3\nMeeting Title\tSync\n"
        "Meeting Start Time\t11/13/2024, 2:00:05 PM\n\n"
        "Full Name\tJoin Time\tLeave Time\tDuration\tEmail\tRole\tParticipant ID (UPN)\n"
        "Megan Organizer\t11/13/2024, 1:58:40 PM\t11/13/2024, 3:05:52 PM\t1h 7m\t"
        "megan@example.com\tOrganizer\tmegan@example.com\n"
        "Tom Lee (External)\t11/13/2024, 2:01:10 PM\t11/13/2024, 3:00:02 PM\t58m\ttom@example.net\tAttendee\t\n"
        "Tom Lee (External)\t11/13/2024, 3:10:00 PM\t11/13/2024, 3:20:00 PM\t10m\ttom@example.net\tAttendee\t\n"
    )
    m = map_sheet(grid(text, delimiter="\t"), MapOptions(timezone="UTC"))
    assert m.info.profile == "teams_attendance"
    assert [(r.reason, r.when_ms) for r in table_to_rows(m.table)] == [
        (Reason.ORGANIZER, ms("2024-11-13T13:58:40Z")),
        ("", ms("2024-11-13T14:01:10Z")),
        ("", ms("2024-11-13T15:10:00Z")),
    ]


def test_goto_webinar_workbook() -> None:
    m = via_loader("goto_webinar_attendees.xlsx")
    assert (m.info.header_row, m.info.sheet) == (9, "Attendee Report")
    rows = by_row(m)
    assert (rows[10].state, rows[10].when_ms) == (State.ATTEND, ms("2024-11-19T16:01:00Z"))  # real date cell, New York
    assert rows[12].when_ms == ms("2024-11-19T16:02:00Z")  # 'Nov 19, 2024 11:02 AM EST' text
    assert rows[13].email == "jonas.weber@example.org"
    assert (rows[16].state, rows[16].when_ms) == (State.REGISTER, ms("2024-11-17T17:00:00Z"))
    assert all(r.outcome is None for r in table_to_rows(m.table))


def test_goto_csv_with_zone_abbreviations_needs_no_timezone() -> None:
    text = (
        "Attendee Report\nGeneral Information\nWebinar Name,Webinar ID\nData Day,123-456-789\nSession Details\n"
        "Attended,Interest Rating,First Name,Last Name,Email,Registration Date,Join Time,Leave Time,Time in Session\n"
        'Yes,80,Ana,Silva,ana@example.com,"Nov 12, 2024 09:30 AM EST","Nov 19, 2024 11:01 AM EST",'
        '"Nov 19, 2024 11:58 AM EST",57 minutes\n'
        'No,,Sam,Noshow,sam@example.com,"Nov 17, 2024 12:00 PM EST",,,\n'
    )
    m = map_sheet(grid(text), MapOptions())
    assert m.info.profile == "goto_webinar_attendee"
    assert [(r.state, r.when_ms) for r in table_to_rows(m.table)] == [
        (State.ATTEND, ms("2024-11-19T16:01:00Z")),
        (State.REGISTER, ms("2024-11-17T17:00:00Z")),
    ]


def test_eventbrite_statuses() -> None:
    m = via_loader("eventbrite_orders.csv")
    assert m.info.date_order == "month-first"
    got = {r.email: (r.state, r.outcome, r.reason, r.when_ms) for r in table_to_rows(m.table)}
    assert got["jane.doe@example.com"] == (State.REGISTER, None, "", ms("2024-11-30T06:28:00Z"))
    assert got["carlos.ruiz@example.org"] == (State.ATTEND, None, "", None)
    assert got["ahmed.khan@example.com"][:2] == (State.CANCEL, None)
    assert got["lena.fischer@example.org"][:2] == (State.CANCEL, None)
    assert got["tom.baker@example.net"][1:3] == (Outcome.SKIPPED, Reason.TRANSFERRED)


def test_luma_statuses() -> None:
    rows = table_to_rows(via_loader("luma_guests.csv").table)
    got = {r.email: r for r in rows}
    assert (got["jane.doe@example.com"].state, got["jane.doe@example.com"].when_ms) == (
        State.ATTEND,
        ms("2024-12-03T17:58:40Z"),
    )
    assert (got["carlos.ruiz@example.org"].state, got["carlos.ruiz@example.org"].when_ms) == (
        State.REGISTER,
        ms("2024-11-21T09:12:45.871Z"),
    )
    for email, status in [
        ("ahmed.khan@example.com", "declined"),
        ("lena.fischer@example.org", "waitlist"),
        ("tom.baker@example.net", "pending_approval"),
        ("grace.kim@example.com", "invited"),
    ]:
        assert (got[email].outcome, got[email].reason) == (Outcome.SKIPPED, status)  # each its own reason
        assert "it is not recorded" in got[email].message and email in got[email].message


def test_generic_csv_and_xlsx_agree() -> None:
    csv_rows, xlsx_rows = via_loader("generic_attendees.csv"), via_loader("generic_attendees.xlsx")
    assert summary(csv_rows) == summary(xlsx_rows)
    rows = by_row(csv_rows)
    assert rows[2].email == rows[4].email == "jane.doe@example.com"  # same contact, different case: both kept
    assert (rows[8].outcome, rows[8].reason) == (Outcome.REJECTED, Reason.INVALID_EMAIL)
    assert rows[3].vid == 1201 and rows[2].vid is None
    assert rows[2].when_ms == ms("2024-11-05T15:58:03Z")


def test_german_export() -> None:
    m = via_loader("deutsch_teilnehmer.csv")
    assert (m.info.encoding, m.info.delimiter, m.info.date_order) == ("cp1252", ";", "day-first")
    first, _, third, *_ = table_to_rows(m.table)
    assert (first.state, first.when_ms) == (State.ATTEND, ms("2024-10-22T15:04:00Z"))
    assert first.extra == (("first_name", "Jürgen"), ("last_name", "Müller"))
    assert (third.state, third.when_ms) == (State.REGISTER, ms("2024-10-17T06:45:00Z"))


def test_hubspot_contacts_as_input_says_no_state() -> None:
    """A contacts export lists people, not what they did: every row waits for --state."""
    m = via_loader("hubspot_contacts_export.csv")
    rows = by_row(m)
    assert (rows[2].vid, rows[2].email, rows[2].state, rows[2].when_ms) == (1201, "carlos.ruiz@example.org", None, None)
    assert (rows[12].vid, rows[12].email, rows[12].outcome) == (1212, None, None)
    assert (m.info.undecided, m.info.undecided_rows[:3], m.info.state_source) == (11, (2, 3, 4), "")
    forced = by_row(via_loader("hubspot_contacts_export.csv", state="attend"))
    assert forced[2].state is State.ATTEND


def test_profile_forced_by_name_and_unknown_name() -> None:
    m = via_loader("zoom_attendee_report.csv", profile="generic")
    assert m.info.profile == "generic" and all(
        r.reason not in (Reason.HOST, Reason.PANELIST) for r in table_to_rows(m.table)
    )
    with pytest.raises(InputError, match="Unknown profile"):
        by_name("zoom")


def test_every_profile_scores_an_empty_sheet_low() -> None:
    sheet = grid("Email\na@example.com\n")
    assert detect(sheet).name == "generic"
    assert {p.name for p in PROFILES} >= {"generic", "zoom_webinar_attendee", "teams_attendance", "luma_guests"}
    assert isinstance(sheet.frame, pd.DataFrame)


def test_goto_meeting_reads_the_attendee_never_the_organizer() -> None:
    """The report carries the organizer's email/firstName/lastName on every line: none of it is the attendee's."""
    m = via_loader("goto_meeting_attendees.csv")
    assert (m.info.columns["email"], m.info.columns["name"]) == ("attendeeEmail", "attendeeName")
    assert not {"first_name", "last_name"} & set(m.info.columns)
    rows = by_row(m)
    assert (rows[2].email, rows[2].extra) == ("ana.silva@example.com", (("name", "Ana Silva"),))
    assert (rows[2].state, rows[2].when_ms) == (State.ATTEND, ms("2024-11-19T16:01:12Z"))
    assert "olivia.host@example.com" not in {r.email for r in table_to_rows(m.table)}
    assert (rows[5].reason, rows[5].extra) == (Reason.MISSING_EMAIL, (("name", "Caller 1"),))
    assert "Caller 1" in rows[5].message


def test_goto_meeting_alone_in_headers_needs_its_own_marks() -> None:
    """'Attendee Email' and 'Join Time' are Webex's headers too: without GoTo's own columns, not GoTo Meeting."""
    sheet = grid("Attendee Email,Join Time\na@example.com,2024-11-19T16:01:12Z\n")
    assert detect(sheet).name != "goto_meeting_attendees"


def test_on24_live_viewing_is_attendance_and_the_recording_is_not() -> None:
    rows = {r.email: r for r in table_to_rows(via_loader("on24_attendees.csv").table)}
    assert (rows["ana.silva@example.com"].state, rows["ana.silva@example.com"].when_ms) == (
        State.ATTEND,
        ms("2024-11-20T15:01:42Z"),
    )
    assert (rows["tom.lee@example.net"].state, rows["tom.lee@example.net"].when_ms) == (State.ATTEND, None)
    # recording only (archiveminutes 32, liveminutes 0): a registration, never an attendance
    assert (rows["grace.kim@example.com"].state, rows["grace.kim@example.com"].when_ms) == (State.REGISTER, None)
    assert rows["mei.chen@example.net"].state is State.REGISTER
    blocked = rows["rex.blocked@example.net"]
    assert (blocked.outcome, blocked.reason) == (Outcome.SKIPPED, Reason.DENIED) and "blocked" in blocked.message


def test_livestorm_french_export() -> None:
    m = via_loader("livestorm_people.xlsx")
    rows = by_row(m)
    assert (rows[2].outcome, rows[2].reason) == (Outcome.SKIPPED, Reason.ORGANIZER)  # Is team member
    assert (rows[3].outcome, rows[3].reason) == (Outcome.SKIPPED, Reason.PANELIST)  # Is guest speaker
    ana = rows[4]
    assert (ana.state, ana.when_ms, ana.outcome) == (State.ATTEND, None, None)  # Présent true, no join time
    assert ana.also is not None and (ana.also.state, ana.also.when_ms) == (State.REGISTER, ms("2024-11-12T08:30:15Z"))
    assert (rows[5].state, rows[5].when_ms, rows[5].also) == (State.REGISTER, ms("2024-11-14T17:02:00Z"), None)
    assert rows[6].extra == (("first_name", "Léna"), ("last_name", "Fischer"))


def test_livestorm_without_its_flags_is_not_livestorm() -> None:
    sheet = grid("Email,Prénom,Nom,Présent\na@example.com,Ana,Silva,true\n")
    assert detect(sheet).name == "generic"


def test_bigmarker_attendees_attend_and_registrants_register() -> None:
    attendees = table_to_rows(via_loader("bigmarker_attendees.csv").table)
    assert [(r.state, r.when_ms) for r in attendees][:1] == [(State.ATTEND, ms("2024-11-21T15:02:11Z"))]
    assert all(r.state is State.ATTEND for r in attendees)
    assert attendees[0].extra == (("first_name", "Ana"), ("last_name", "Silva"))
    registrants = via_loader("bigmarker_registrants.csv")
    assert [(r.state, r.when_ms) for r in table_to_rows(registrants.table)][-1] == (
        State.REGISTER,
        ms("2024-11-15T12:00:00Z"),
    )
    assert all(r.state is State.REGISTER and r.also is None for r in table_to_rows(registrants.table))
    # the registered_at column says it, whatever the file is called
    text = (SAMPLES / "bigmarker_registrants.csv").read_text(encoding="utf-8")
    renamed = map_sheet(grid(text, file="export.csv"), MapOptions(now_ms=NOW))
    assert all(r.state is State.REGISTER for r in table_to_rows(renamed.table))
    assert renamed.info.state_source.startswith("column registered_at")


def test_demio_attended_and_banned() -> None:
    rows = by_row(via_loader("demio_participants.csv"))
    assert [(rows[n].state, rows[n].when_ms) for n in (2, 3, 4, 6)] == [
        (State.ATTEND, None),
        (State.REGISTER, None),  # did not attend
        (State.ATTEND, None),  # left early
        (State.ATTEND, None),
    ]
    assert (rows[5].outcome, rows[5].reason) == (Outcome.SKIPPED, Reason.BANNED)
    assert rows[2].extra == (("first_name", "John"), ("last_name", "Doe"))
    assert rows[3].extra == (("first_name", "Jane Doe"), ("last_name", ""))


MEET = "2024-11-21 14-00 Partner sync - Attendance Report.csv"
MEET_TABLE = (
    "First name,Last name,Email,Duration,Time joined,Time exited\n"
    "Ana,Silva,ana.silva@example.com,1 hr 2 min,1:58 PM,3:00 PM\n"
    "Tom,Lee,tom.lee@example.net,45 min,2:05 PM,2:50 PM\n"
)


def meet(text: str, file: str = "attendance.csv", **opts: object) -> MappedFile:
    return map_sheet(grid(text, file=file), MapOptions(**{"timezone": "America/New_York", "now_ms": NOW, **opts}))  # type: ignore[arg-type]


def test_google_meet_times_take_the_date_the_file_name_gives() -> None:
    m = via_loader(MEET)
    assert [(r.email, r.state, r.when_ms) for r in table_to_rows(m.table)[:3]] == [
        ("ana.silva@example.com", State.ATTEND, ms("2024-11-21T18:58:00Z")),  # 1:58 PM EST on 2024-11-21
        ("tom.lee@example.net", State.ATTEND, ms("2024-11-21T19:05:00Z")),
        ("mei.chen@example.net", State.ATTEND, ms("2024-11-21T19:10:00Z")),
    ]
    assert "times without a date read on 2024-11-21 (from the file name)" in m.info.notes
    assert table_to_rows(m.table)[0].extra == (("first_name", "Ana"), ("last_name", "Silva"))


def test_google_meet_date_from_a_line_above_the_table() -> None:
    m = meet('Partner sync,"Nov 21, 2024"\n' + MEET_TABLE)
    assert [r.when_ms for r in table_to_rows(m.table)] == [ms("2024-11-21T18:58:00Z"), ms("2024-11-21T19:05:00Z")]
    assert "times without a date read on Nov 21, 2024 (from line 1)" in m.info.notes
    # the line above says it even when the file name says another day: the file name is not asked
    named = meet("Meeting date,2024-11-22\n" + MEET_TABLE, file="2024-11-21 14-00 Partner sync.csv")
    assert table_to_rows(named.table)[0].when_ms == ms("2024-11-22T18:58:00Z")


def test_google_meet_without_a_date_stops_and_asks_for_the_flag() -> None:
    with pytest.raises(InputError) as no_date:
        meet(MEET_TABLE)
    assert "times without a date (e.g. '1:58 PM')" in no_date.value.message
    assert "--meeting-date" in (no_date.value.hint or "") and "nothing was sent" in (no_date.value.hint or "")
    with pytest.raises(InputError) as several:
        meet('Created on,"Nov 20, 2024"\nMeeting date,2024-11-21\n' + MEET_TABLE)
    assert "several dates" in several.value.message and "line 1" in several.value.message
    given = meet(MEET_TABLE, meeting_date="2024-11-21")
    assert table_to_rows(given.table)[1].when_ms == ms("2024-11-21T19:05:00Z")
    assert "times without a date read on 2024-11-21 (from --meeting-date)" in given.info.notes
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        meet(MEET_TABLE, meeting_date="21/11/2024")


def test_google_meet_dated_times_need_no_date() -> None:
    """A Meet-shaped sheet whose times carry their date is read as it is, asking nothing."""
    text = MEET_TABLE.replace("1:58 PM", "2024-11-21 1:58 PM").replace("2:05 PM", "2024-11-21 2:05 PM")
    m = meet(text)
    assert m.info.profile == "google_meet_attendance"
    assert [r.when_ms for r in table_to_rows(m.table)] == [ms("2024-11-21T18:58:00Z"), ms("2024-11-21T19:05:00Z")]
