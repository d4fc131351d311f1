"""``importer inspect FILE``: the preview a marketer reads before anything is sent.

Driven through ``cli.main`` with an empty environment (no token, no sandbox, sockets refused): each
sample must show its profile, header row, encoding and delimiter, date order, time zone, which column
feeds which field, counts per outcome so far, and the first rows with email, vid, state and UTC time.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from importer.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
EST = timezone(timedelta(hours=-5), "EST")
NONE_GIVEN = "none given"


@dataclass(frozen=True)
class Preview:
    sample: str
    timezone: str | None
    profile: str
    encoding: str  # "-" for workbooks
    delimiter: str  # "-" for workbooks
    sheet: str  # "-" for text files
    date_order: str
    columns: dict[str, str]  # a subset of field -> header that must be shown
    counts: dict[str, int]
    first: tuple[tuple[int, str, str, str, str | None, str], ...]  # row, email, vid, state, when, status


PREVIEWS = [
    Preview(
        "zoom_attendee_report.csv", "America/New_York", "zoom_webinar_attendee", "utf-8-sig", "comma", "-",
        "month-first",
        {"email": "Email", "attended": "Attended", "join_time": "Join Time",
         "registration_time": "Registration Time", "state_text": "Approval Status"},
        {"merged": 1, "skipped": 3, "to send": 8},
        ((7, "olivia.host@example.com", "", "attend", "2024-11-05 10:50:02", "skipped (host)"),
         (10, "pat.panel@example.org", "", "attend", "2024-11-05 10:52:10", "skipped (panelist)"),
         (13, "jane.doe@example.com", "", "attend", "2024-11-05 10:58:03", "to send"),
         (14, "jane.doe@example.com", "", "attend", "2024-11-05 11:45:30", "merged (duplicate_contact) into row 13")),
    ),
    Preview(
        "zoom_registration_report.csv", "America/New_York", "zoom_registration", "utf-8-sig", "comma", "-",
        "not needed",
        {"email": "Email", "registration_time": "Registration Time", "state_text": "Approval Status"},
        {"skipped": 2, "to send": 3},
        ((7, "jane.doe@example.com", "", "register", "2024-10-28 09:14:22", "to send"),
         (8, "carlos.ruiz@example.org", "", "register", "2024-10-29 16:02:11", "to send"),
         (9, "nina.wait@example.net", "", "register", "2024-11-01 10:00:00", "skipped (not_approved)")),
    ),
    Preview(
        "teams_attendance.csv", "America/Chicago", "teams_attendance", "utf-16", "tab", "-", "month-first",
        {"email": "Email", "join_time": "First Join", "role": "Role"},
        {"rejected": 1, "skipped": 1, "to send": 6},
        ((11, "megan.organizer@example.com", "", "attend", "2024-11-13 13:58:40", "skipped (organizer)"),
         (12, "tom.lee@example.net", "", "attend", "2024-11-13 14:01:10", "to send"),
         (13, "ana.silva@example.com", "", "attend", "2024-11-13 14:02:33", "to send"),
         (14, "mei.chen@example.net", "", "attend", "2024-11-13 14:05:00", "to send"),
         (15, "", "", "attend", "2024-11-13 14:07:19", "rejected (missing_email)")),
    ),
    Preview(
        "goto_webinar_attendees.xlsx", "America/New_York", "goto_webinar_attendee", "-", "-", "Attendee Report",
        "not needed",
        {"email": "Email", "attended": "Attended", "join_time": "Join Time", "registration_time": "Registration Date"},
        {"to send": 9},
        ((10, "ana.silva@example.com", "", "attend", "2024-11-19 11:01", "to send"),
         (11, "tom.lee@example.net", "", "attend", "2024-11-19 11:03", "to send"),
         (12, "grace.kim@example.com", "", "attend", "2024-11-19 11:02 EST", "to send")),
    ),
    Preview(
        "eventbrite_orders.csv", "America/Los_Angeles", "eventbrite_attendees", "utf-8", "comma", "-", "month-first",
        {"email": "Email", "registration_time": "Order Date", "state_text": "Attendee Status"},
        {"skipped": 1, "to send": 9},
        ((2, "jane.doe@example.com", "", "register", "2024-11-29 22:28", "to send"),
         (3, "carlos.ruiz@example.org", "", "attend", None, "to send"),
         (4, "mei.chen@example.net", "", "attend", None, "to send"),
         (5, "ahmed.khan@example.com", "", "cancel", None, "to send"),  # no cancellation time: the event's start
         (6, "lena.fischer@example.org", "", "cancel", None, "to send"),
         (7, "tom.baker@example.net", "", "register", "2024-12-02 10:00", "skipped (transferred)")),
    ),
    Preview(
        "luma_guests.csv", None, "luma_guests", "utf-8", "comma", "-", "not needed",
        {"email": "email", "registration_time": "created_at", "join_time": "checked_in_at",
         "state_text": "approval_status"},
        {"skipped": 4, "to send": 5},
        ((2, "jane.doe@example.com", "", "attend", "2024-12-03T17:58:40Z", "to send"),
         (3, "carlos.ruiz@example.org", "", "register", "2024-11-21T09:12:45.871Z", "to send"),
         (4, "mei.chen@example.net", "", "attend", "2024-12-03T18:02:13Z", "to send"),
         (5, "ahmed.khan@example.com", "", "register", "2024-11-23T11:11:11.111Z", "skipped (declined)")),
    ),
    Preview(
        "generic_attendees.csv", "America/New_York", "generic", "utf-8", "comma", "-", "not needed",
        {"email": "Email", "vid": "Record ID", "join_time": "Join Time"},
        {"merged": 1, "rejected": 1, "to send": 10},
        ((2, "jane.doe@example.com", "", "attend", "2024-11-05 10:58:03", "to send"),
         (3, "carlos.ruiz@example.org", "1201", "attend", "2024-11-05 10:59:47", "to send"),
         (4, "jane.doe@example.com", "", "attend", "2024-11-05 11:45:30", "merged (duplicate_contact) into row 2"),
         (5, "mei.chen@example.net", "1203", "attend", "2024-11-05 11:02:15", "to send"),
         (6, "ahmed.khan@example.com", "", "attend", "2024-11-05 11:05:09", "to send"),
         (7, "lena.fischer@example.org", "1205", "attend", "2024-11-05 10:56:30", "to send"),
         (8, "tom.baker@@example.net", "", "attend", "2024-11-05 11:10:45", "rejected (invalid_email)")),
    ),
    Preview(
        "generic_attendees.xlsx", "America/New_York", "generic", "-", "-", "Attendees", "not needed",
        {"email": "Email", "vid": "Record ID", "join_time": "Join Time"},
        {"merged": 1, "rejected": 1, "to send": 10},
        ((2, "jane.doe@example.com", "", "attend", "2024-11-05 10:58:03", "to send"),
         (3, "carlos.ruiz@example.org", "1201", "attend", "2024-11-05 10:59:47", "to send"),
         (4, "jane.doe@example.com", "", "attend", "2024-11-05 11:45:30", "merged (duplicate_contact) into row 2")),
    ),
    Preview(
        "deutsch_teilnehmer.csv", "Europe/Berlin", "generic", "cp1252", "semicolon", "-", "day-first",
        {"email": "E-Mail-Adresse", "join_time": "Beitrittszeit", "registration_time": "Anmeldedatum",
         "attended": "Teilgenommen"},
        {"to send": 7},
        ((2, "juergen.mueller@example.com", "", "attend", "2024-10-22 17:04", "to send"),
         (3, "aenne.schroeder@example.org", "", "attend", "2024-10-22 17:01", "to send"),
         (4, "bjoern.weiss@example.net", "", "register", "2024-10-17 08:45", "to send")),
    ),
    Preview(
        "hubspot_contacts_export.csv", None, "hubspot_contacts", "utf-8", "comma", "-", "not needed",
        {"email": "Email", "vid": "Record ID"},
        {"state unknown": 11},
        ((2, "carlos.ruiz@example.org", "1201", "", "", "state unknown: pass --state"),
         (3, "jane.doe@example.com", "1202", "", "", "state unknown: pass --state"),
         (4, "mei.chen@example.net", "1203", "", "", "state unknown: pass --state")),
    ),
]  # fmt: skip


def utc_text(when: str | None, zone: str | None) -> str:
    """The UTC time inspect must print for a wall-clock text (see test_layouts_e2e for the notation)."""
    if when == "":
        return ""
    if when is None:
        return "event start"
    if when.endswith("Z"):
        stamp = datetime.fromisoformat(when[:-1]).replace(tzinfo=UTC)
    elif when.endswith(" EST"):
        stamp = datetime.fromisoformat(when[:-4]).replace(tzinfo=EST)
    else:
        assert zone is not None
        stamp = datetime.fromisoformat(when).replace(tzinfo=ZoneInfo(zone))
    utc = stamp.astimezone(UTC)
    ms = utc.microsecond // 1000
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{ms:03d}" if ms else "") + "Z"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """inspect sends nothing: any attempt to open a connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("inspect tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def inspect(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["inspect", *args], environ={})
    out = capsys.readouterr()
    return code, out.out, out.err


def fields(text: str) -> dict[str, str]:
    """The ``label: value`` lines at the top of the preview."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z][a-z ]*):\s+(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def columns(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+([a-z_]+)\s+<-\s+(.+?)\s*$", text, flags=re.M))


def counts(text: str) -> dict[str, int]:
    line = fields(text)["rows so far"]
    return {k: int(v) for k, v in (part.rsplit(" ", 1) for part in line.split(", "))}


def table(text: str) -> list[str]:
    """The preview's row lines (after the table header)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^\s*row\s+email\s", line))
    return [line for line in lines[start + 1 :] if line.strip() and not line.strip().startswith("+ also")]


def also_lines(text: str) -> list[str]:
    """The preview's lines for a row's second participation (each under its row's line)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^\s*row\s+email\s", line))
    return [line.split("+ also", 1)[1].strip() for line in lines[start + 1 :] if line.strip().startswith("+ also")]


def row_pattern(row: int, email: str, vid: str, state: str, when: str, status: str) -> re.Pattern[str]:
    tokens = [str(row), email, vid, state, when, status]
    return re.compile(r"^\s*" + r"\s+".join(re.escape(t) for t in tokens if t) + r"\s*$")


#: Where each sample's states come from, as inspect says it.
STATE_SOURCES = {
    "zoom_attendee_report.csv": "column Attended (Yes/No)",
    "zoom_registration_report.csv": "column Approval Status (status words)",
    "teams_attendance.csv": "column First Join (a join time means attended)",
    "goto_webinar_attendees.xlsx": "column Attended (Yes/No)",
    "eventbrite_orders.csv": "column Attendee Status (status words)",
    "luma_guests.csv": "column approval_status (status words)",
    "generic_attendees.csv": "column Join Time (a join time means attended)",
    "generic_attendees.xlsx": "column Join Time (a join time means attended)",
    "deutsch_teilnehmer.csv": "column Teilgenommen (Yes/No)",
    "hubspot_contacts_export.csv": "none found, pass --state register or --state attend",
}


def args_for(p: Preview, *more: str) -> list[str]:
    return [str(SAMPLES / p.sample), *(["--timezone", p.timezone] if p.timezone else []), *more]


@pytest.mark.parametrize("p", PREVIEWS, ids=lambda p: p.sample)
def test_preview_of_each_sample(p: Preview, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = inspect(capsys, *args_for(p, "--rows", str(len(p.first))))
    assert (code, err) == (0, "")
    top = fields(out)
    assert top["profile"] == p.profile
    assert top["header row"].isdigit()
    fmt = re.fullmatch(r"encoding (\S+), delimiter (\S+), sheet (.+)", top["format"])
    assert fmt is not None and fmt.groups() == (p.encoding, p.delimiter, p.sheet)
    assert top["date order"] == p.date_order
    assert top["time zone"].startswith(p.timezone or NONE_GIVEN)
    assert columns(out).items() >= p.columns.items()
    assert counts(out) == p.counts
    assert top["state"] == STATE_SOURCES[p.sample]
    lines = table(out)
    assert len(lines) == len(p.first)
    for line, (row, email, vid, state, when, status) in zip(lines, p.first, strict=True):
        assert row_pattern(row, email, vid, state, utc_text(when, p.timezone), status).match(line), line


def test_preview_shows_the_registration_an_attendee_or_a_cancellation_also_proves(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = inspect(capsys, str(SAMPLES / "eventbrite_orders.csv"), "--timezone", "America/Los_Angeles")
    assert code == 0
    # rows 3, 4 (Checked In), 5 (Not Attending) and 6 (Refunded) registered at their order date
    assert also_lines(out)[:4] == [
        f"register {utc_text(when, 'America/Los_Angeles'):<24} to send"
        for when in ("2024-11-30 08:05", "2024-11-30 09:41", "2024-12-01 14:12", "2024-12-01 18:30")
    ]
    code, out, _ = inspect(capsys, str(SAMPLES / "zoom_attendee_report.csv"), "--timezone", "America/New_York")
    # Jane Doe's rejoin (row 14) repeats her registration: merged into row 13 like her attendance
    assert also_lines(out)[:2] == [
        f"register {utc_text('2024-10-28 09:14:22', 'America/New_York'):<24} to send",
        f"register {utc_text('2024-10-28 09:14:22', 'America/New_York'):<24} merged (duplicate_contact) into row 13",
    ]


@pytest.mark.parametrize(
    ("sample", "timezone", "header_row"),
    [
        ("zoom_attendee_report.csv", "America/New_York", 12),
        ("zoom_registration_report.csv", "America/New_York", 6),
        ("teams_attendance.csv", "America/Chicago", 10),
        ("goto_webinar_attendees.xlsx", "America/New_York", 9),
        ("eventbrite_orders.csv", "America/Los_Angeles", 1),
        ("luma_guests.csv", None, 1),
        ("deutsch_teilnehmer.csv", "Europe/Berlin", 1),
    ],
)  # fmt: skip
def test_header_row_is_the_row_the_mapping_reads(
    sample: str, timezone: str | None, header_row: int, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = inspect(capsys, str(SAMPLES / sample), *(["--timezone", timezone] if timezone else []))
    assert code == 0
    assert fields(out)["header row"] == str(header_row)


def test_rows_option_limits_the_preview_and_counts_still_cover_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    zoom = PREVIEWS[0]
    _, default, _ = inspect(capsys, *args_for(zoom))
    assert len(table(default)) == 10
    _, everything, _ = inspect(capsys, *args_for(zoom, "--rows", "50"))
    assert len(table(everything)) == 12
    assert [int(line.split()[0]) for line in table(everything)] == [7, 10, *range(13, 23)]
    _, none, _ = inspect(capsys, *args_for(zoom, "--rows", "0"))
    assert table(none) == []
    assert counts(none) == counts(default) == {"merged": 1, "skipped": 3, "to send": 8}


def test_teams_preview_notes_the_left_out_activity_section(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = inspect(capsys, str(SAMPLES / "teams_attendance.csv"), "--timezone", "America/Chicago")
    assert code == 0
    assert re.search(r"^note: .*In-Meeting Activities.*left out", out, flags=re.M)
    assert fields(out)["data rows"] == "8"


def test_timezone_changes_the_utc_times_shown(capsys: pytest.CaptureFixture[str]) -> None:
    """The same German file read as Berlin and as New York time: the preview shows different UTC times."""
    src = str(SAMPLES / "deutsch_teilnehmer.csv")
    _, berlin, _ = inspect(capsys, src, "--timezone", "Europe/Berlin", "--rows", "1")
    _, new_york, _ = inspect(capsys, src, "--timezone", "America/New_York", "--rows", "1")
    assert utc_text("2024-10-22 17:04", "Europe/Berlin") in table(berlin)[0]
    assert utc_text("2024-10-22 17:04", "America/New_York") in table(new_york)[0]
    assert fields(new_york)["time zone"].startswith("America/New_York")


def test_times_without_offset_and_no_timezone_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = inspect(capsys, str(SAMPLES / "generic_attendees.csv"))
    assert code == 2 and out == ""
    assert "--timezone" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty.csv", b"", "empty"),
        ("noemail.csv", b"Name,Company\nAlice,ACME\n", "email"),
        ("image.xlsx", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "PNG"),
        ("broken.xlsx", b"PK\x03\x04" + b"garbage" * 20, "broken.xlsx"),
        ("missing.csv", None, "does not exist"),
    ],
)
def test_bad_file_exits_2_with_one_sentence(
    name: str, content: bytes | None, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / name
    if content is not None:
        src.write_bytes(content)
    code, out, err = inspect(capsys, str(src))
    assert code == 2 and out == ""
    assert name in err and words in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
