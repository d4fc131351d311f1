"""More platform exports, as downloaded, through ``importer run`` against the sandbox.

Same contract as ``test_layouts_e2e``: every report row's state, outcome, reason and UTC time, and
exactly the participations HubSpot holds, computed here from the wall clock the file shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import test_layouts_e2e as layouts
from test_layouts_e2e import EVENT, SAMPLES, Case, R, report_rows

from importer.cli import main
from importer.sandbox import DEFAULT_TOKEN, Sandbox

NY, TOKYO, LONDON = "America/New_York", "Asia/Tokyo", "Europe/London"

ZOOM_MEETING_2021 = (
    R(5, "olivia.host@example.com", "attend", "2024-11-07 09:55:12"),
    R(6, "jane.doe@example.com", "attend", "2024-11-07 10:31:05", "merged", "duplicate_contact", into=7),
    R(7, "jane.doe@example.com", "attend", "2024-11-07 09:58:40"),  # the earliest join carries the attendance
    R(8, "carlos.ruiz@example.org", "attend", "2024-11-07 10:00:03"),
    R(9, "mei.chen@example.net", "attend", "2024-11-07 10:02:15"),
    R(10, None, "attend", "2024-11-07 10:05:00", "rejected", "missing_email"),  # a guest without an email
    R(11, "lena.fischer@example.org", "attend", "2024-11-07 10:12:44"),
)
ZOOM_MEETING_CURRENT = (
    R(5, "tom.lee@example.net", "attend", "2024-11-14 13:58:30", "skipped", "waiting_room"),
    R(6, "tom.lee@example.net", "attend", "2024-11-14 14:00:02"),
    R(7, "ana.silva@example.com", "attend", "2024-11-14 14:01:10"),
    R(8, "grace.kim@example.com", "attend", "2024-11-14 14:03:27"),
    R(9, "omar.haddad@example.org", "attend", "2024-11-14 13:59:00", "skipped", "waiting_room"),  # never admitted
)
ZOOM_MEETING_JA = (
    R(2, "taro.yamada@example.jp", "attend", "2024-12-10 08:35"),
    R(3, "hanako.sato@example.jp", "attend", "2024-12-10 09:01"),
    R(4, "taro.yamada@example.jp", "attend", "2024-12-10 12:40", "merged", "duplicate_contact", into=2),
    R(5, "ichiro.suzuki@example.jp", "attend", "2024-12-10 10:13"),
)
ZOOM_MEETING_DATA = (  # the participant's User Email (second column of that name), day-first dates
    R(2, "jonas.weber@example.org", "attend", "2024-11-21 14:00"),
    R(3, "lena.fischer@example.org", "attend", "2024-11-21 14:04"),
    R(4, "priya.patel@example.org", "attend", "2024-11-21 13:58", "skipped", "waiting_room"),
)
ZOOM_REGISTRANTS = (  # a join-link list proves registrations only, at no time of its own
    R(2, "jane.doe@example.com", "register", None),
    R(3, "carlos.ruiz@example.org", "register", None),
    R(4, "mei.chen@example.net", "register", None),
    R(5, "sam.noshow@example.com", "register", None),
)
WEBEX = (
    R(2, "ana.silva@example.com", "attend", "2024-11-20 10:01"),
    R(3, "ana.silva@example.com", "attend", "2024-11-20 10:30", "merged", "duplicate_contact", into=2),  # breakout
    R(4, "jonas.weber@example.org", "attend", "2024-11-20 09:58"),
    R(5, "b5f0c1d2@guest.webex.localhost", "attend", "2024-11-20 10:07", "skipped", "placeholder_email"),
    R(6, "mei.chen@example.net", "attend", "2024-11-20 10:12"),
)
GENERIC_ZONED = (  # the zones the headers name beat --timezone America/New_York
    R(2, "ana.silva@example.com", "attend", "2024-11-05T13:02:00Z", reg="2024-10-28T07:15:00Z"),
    R(3, "tom.lee@example.net", "attend", "2024-11-05T13:10:30Z", reg="2024-10-30T16:40:00Z"),
    R(4, "grace.kim@example.com", "attend", "2024-11-05T12:58:00Z", reg="2024-11-01T05:05:00Z"),
)
GOTO_MEETING = (  # the organizer's own email/firstName/lastName columns are never read as the attendee's
    R(2, "ana.silva@example.com", "attend", "2024-11-19T16:01:12Z"),
    R(3, "tom.lee@example.net", "attend", "2024-11-19T15:59:30Z"),
    R(4, "ana.silva@example.com", "attend", "2024-11-19T16:45:05Z", "merged", "duplicate_contact", into=2),  # rejoin
    R(5, None, "attend", "2024-11-19T16:03:00Z", "rejected", "missing_email"),  # a dial-in caller
    R(6, "mei.chen@example.net", "attend", "2024-11-19T16:05:00Z"),
)
ON24 = (
    R(2, "ana.silva@example.com", "attend", "2024-11-20T15:01:42Z"),  # live minutes, first live activity
    R(3, "tom.lee@example.net", "attend", None),  # live minutes without a first-activity time: the event's start
    R(4, "grace.kim@example.com", "register", None),  # watched the recording only: registered, not attended
    R(5, "rex.blocked@example.net", "attend", "2024-11-20T15:03:00Z", "skipped", "denied"),
    R(6, "mei.chen@example.net", "register", None),  # registered, watched nothing
)
LIVESTORM = (  # Présent true/false, registered at Date d'inscription (Paris), no join time: the event's start
    R(2, "megan.organizer@example.com", "attend", None, "skipped", "organizer"),  # Is team member
    R(3, "paul.speaker@example.org", "attend", None, "skipped", "panelist"),  # Is guest speaker
    R(4, "ana.silva@example.com", "attend", None, reg="2024-11-12 09:30:15"),
    R(5, "jonas.weber@example.org", "register", "2024-11-14 18:02:00"),
    R(6, "lena.fischer@example.org", "attend", None, reg="2024-11-18 08:45:00"),
)
BIGMARKER_ATTENDEES = (
    R(2, "ana.silva@example.com", "attend", "2024-11-21T15:02:11Z"),
    R(3, "jonas.weber@example.org", "attend", "2024-11-21T14:58:40Z"),
    R(4, "mei.chen@example.net", "attend", "2024-11-21T15:10:05Z"),
)
BIGMARKER_REGISTRANTS = (  # never attend: a registrant list proves registrations only
    R(2, "ana.silva@example.com", "register", "2024-11-10T08:15:00Z"),
    R(3, "jonas.weber@example.org", "register", "2024-11-12T17:40:22Z"),
    R(4, "sam.noshow@example.com", "register", "2024-11-15T12:00:00Z"),
)
DEMIO = (  # attended true/false; no times in the report: the event's start
    R(2, "john.doe@example.com", "attend", None),
    R(3, "jane.doe@example.com", "register", None),
    R(4, "ana.silva@example.com", "attend", None),  # left early is still attendance
    R(5, "rex.banned@example.net", "attend", None, "skipped", "banned"),
    R(6, "tom.lee@example.net", "attend", None),
)
GOOGLE_MEET = (  # times of day; the date is the one the file name starts with
    R(2, "ana.silva@example.com", "attend", "2024-11-21 13:58"),
    R(3, "tom.lee@example.net", "attend", "2024-11-21 14:05"),
    R(4, "mei.chen@example.net", "attend", "2024-11-21 14:10"),
    R(5, None, "attend", "2024-11-21 14:20", "rejected", "missing_email"),
)
MEET_SAMPLE = "2024-11-21 14-00 Partner sync - Attendance Report.csv"

CASES = {
    "zoom-meeting-2021": Case("zoom_meeting_participants.csv", NY, "zoom_meeting_participants", ZOOM_MEETING_2021, 5),
    "zoom-meeting-current": Case("zoom_participants_current.csv", NY, "zoom_meeting_participants",
                                 ZOOM_MEETING_CURRENT, 3),
    "zoom-meeting-japanese": Case("zoom_participants_ja.csv", TOKYO, "zoom_meeting_participants", ZOOM_MEETING_JA, 3),
    "zoom-meeting-with-meeting-data": Case("zoom_participants_meeting_data.csv", LONDON, "zoom_meeting_participants",
                                           ZOOM_MEETING_DATA, 2),
    "webex": Case("webex_attendees.csv", "America/Chicago", "webex_attendees", WEBEX, 3),
    "generic-zones-in-headers": Case("generic_zoned_times.csv", NY, "generic", GENERIC_ZONED, 3),
    "zoom-registrants": Case("zoom_registrants.csv", None, "zoom_registrants", ZOOM_REGISTRANTS, 4),
    "goto-meeting": Case("goto_meeting_attendees.csv", None, "goto_meeting_attendees", GOTO_MEETING, 3),
    "on24": Case("on24_attendees.csv", None, "on24_attendees", ON24, 4),
    "livestorm-french": Case("livestorm_people.xlsx", "Europe/Paris", "livestorm_people", LIVESTORM, 3),
    "bigmarker-attendees": Case("bigmarker_attendees.csv", None, "bigmarker_conference", BIGMARKER_ATTENDEES, 3),
    "bigmarker-registrants": Case("bigmarker_registrants.csv", None, "bigmarker_conference", BIGMARKER_REGISTRANTS,
                                  3),
    "demio": Case("demio_participants.csv", None, "demio_participants", DEMIO, 4),
    "google-meet": Case(MEET_SAMPLE, NY, "google_meet_attendance", GOOGLE_MEET, 3),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_platform_sample_imports_as_downloaded(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    layouts.test_sample_imports_as_downloaded(case, tmp_path, monkeypatch, capsys)


def _run(sample: str, tmp_path: Path, *extra: str) -> tuple[int, Path, list, list]:
    """Run one sample against a sandbox that knows every email of every sample."""
    report = tmp_path / "report.xlsx"
    known = {w.email for case in (*CASES.values(), *layouts.CASES.values()) for w in case.rows if w.email}
    with Sandbox(events={EVENT: {"startDateTime": layouts.EVENT_START}}) as box:
        box.add_contacts(sorted(known))
        code = main(
            ["run", str(SAMPLES / sample), "--event", EVENT, "--report", str(report),
             "--state-dir", str(tmp_path / "state"), "--base-url", box.base_url, *extra],
            environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN},
        )  # fmt: skip
        return code, report, box.requests, box.participations(EVENT)


def test_zoom_participant_names_are_kept(tmp_path: Path) -> None:
    code, report, _, _ = _run("zoom_meeting_participants.csv", tmp_path, "--timezone", NY)
    rows = report_rows(report)
    assert code == 1  # the guest without an email
    assert [rows[n]["name"] for n in (5, 8, 10)] == ["Olivia Host", "Carlos R (Carlos Ruiz)", "iPhone de Ahmed"]
    assert "iPhone de Ahmed" in str(rows[10]["message"])


def test_teams_legacy_attendance_list_stops_and_says_which_report_has_emails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, requests, stored = _run("teams_meetingAttendanceList.csv", tmp_path, "--timezone", "UTC")
    err = capsys.readouterr().err
    assert code == 2
    assert requests == [] and stored == [] and not report.exists()
    assert "no email addresses" in err and "nothing was sent" in err
    assert "Attendance" in err and "Download" in err


def test_unused_date_time_columns_are_named_in_the_report(tmp_path: Path) -> None:
    code, report, _, _ = _run("webex_attendees.csv", tmp_path, "--timezone", "America/Chicago")
    notes = str(layouts.summary_values(report)["file_1_notes"])
    assert code == 0
    assert "date-time columns not used: 'Meeting Start Time', 'Meeting End Time', 'Leave Time'" in notes


def test_google_meet_report_without_a_date_stops_before_sending_and_names_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Renamed, the report no longer says its date: exit 2, nothing sent, and --meeting-date makes it go."""
    renamed = tmp_path / "attendance.csv"
    renamed.write_bytes((SAMPLES / MEET_SAMPLE).read_bytes())
    report = tmp_path / "report.xlsx"
    with Sandbox(events={EVENT: {"startDateTime": layouts.EVENT_START}}) as box:
        box.add_contacts(["ana.silva@example.com", "tom.lee@example.net", "mei.chen@example.net"])
        args = ["run", str(renamed), "--event", EVENT, "--report", str(report), "--state-dir", str(tmp_path / "st"),
                "--base-url", box.base_url, "--timezone", NY]  # fmt: skip
        env = {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN}
        assert main(args, environ=env) == 2
        err = capsys.readouterr().err
        assert box.requests == [] and box.participations(EVENT) == [] and not report.exists()
        assert "times without a date" in err and "--meeting-date" in err
        assert main([*args, "--meeting-date", "21/11/2024"], environ=env) == 2  # never a guess between orders
        assert "YYYY-MM-DD" in capsys.readouterr().err and box.requests == []
        assert main([*args, "--meeting-date", "2024-11-21"], environ=env) == 1  # the guest without an email
        got = {(p["state"], p["occurred_at"]) for p in box.participations(EVENT)}
    assert ("attend", layouts.epoch_ms("2024-11-21 13:58", NY)) in got and len(got) == 3
