"""No attendance without evidence: a row's state comes from the file (a layout's rules, an
attended or status column, a join time, a duration, a sheet name or title) or from --state;
a file that says nothing stops the run before anything is sent."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from row_objects import table_to_rows
from test_mapper import NOW, grid

from importer.cli import main
from importer.mapper import MapOptions, map_sheet
from importer.models import Outcome, State
from importer.profiles.base import title_state
from importer.sandbox import DEFAULT_TOKEN, Sandbox

ZOOM_JOIN_LINKS = (
    "Webinar ID,Display Name,Attendee Email,Attendee Join Link\n"
    "81234567890,Jane Doe,jane@example.com,https://us02web.zoom.us/w/81234567890?tk=AbC1\n"
    "81234567890,Carl Roe,carl@example.org,https://us02web.zoom.us/w/81234567890?tk=DeF2\n"
)
BARE_EMAILS = "Email\njane@example.com\ncarl@example.org\n"
#: the same registrant list without its join links: nothing in it says what these people did
ZOOM_NAMES = (
    "Webinar ID,Display Name,Attendee Email\n81234567890,Jane Doe,jane@example.com\n8123,Carl Roe,carl@example.org\n"
)


def mapped(text: str, *, file: str = "t.csv", sheet_name: str | None = None, **opts: object):
    sheet = grid(text, file=file)
    if sheet_name is not None:
        sheet = replace(sheet, sheet_name=sheet_name)
    return map_sheet(sheet, MapOptions(**{"now_ms": NOW, "timezone": "UTC", **opts}))  # type: ignore[arg-type]


def states(text: str, **kw: object) -> list[State | None]:
    return [r.state for r in table_to_rows(mapped(text, **kw).table)]


# --- table: which evidence gives which state ------------------------------------------------------

EVIDENCE = [
    # (csv, file name, sheet name, states, where inspect says the states come from)
    ("Email,Attended\na@x.com,Yes\nb@x.com,No\n", "t.csv", None, [State.ATTEND, State.REGISTER],
     "column Attended (Yes/No)"),
    ("Email,Status\na@x.com,checked in\nb@x.com,registered\nc@x.com,cancelled\n", "t.csv", None,
     [State.ATTEND, State.REGISTER, State.CANCEL], "column Status (status words)"),
    ("Email,Join Time\na@x.com,2024-11-05 10:00\n", "t.csv", None, [State.ATTEND],
     "column Join Time (a join time means attended)"),
    ("Email,Check-in Time\na@x.com,2024-11-05 10:00\n", "t.csv", None, [State.ATTEND],
     "column Check-in Time (a join time means attended)"),
    ("Email,Duration (Minutes)\na@x.com,42\nb@x.com,0\n", "t.csv", None, [State.ATTEND, None],
     "column Duration (Minutes) (a duration means attended)"),
    ("Email,Time in Session\na@x.com,1:02:03\nb@x.com,00:00:00\n", "t.csv", None, [State.ATTEND, None],
     "column Time in Session (a duration means attended)"),
    ("Email,Registration Time\na@x.com,2024-11-01 09:00\n", "t.csv", None, [State.REGISTER],
     "column Registration Time (a registration time means registered)"),
    ("Email\na@x.com\n", "t.csv", "Registrants", [State.REGISTER], "sheet name Registrants"),
    ("Email\na@x.com\n", "t.csv", "Teilnehmer", [State.ATTEND], "sheet name Teilnehmer"),
    ("Email\na@x.com\n", "t.csv", "Inscripciones", [State.REGISTER], "sheet name Inscripciones"),
    ("Email\na@x.com\n", "t.csv", "参加者", [State.ATTEND], "sheet name 参加者"),
    ("Webinar registrants\nEmail\na@x.com\n", "t.csv", None, [State.REGISTER],
     "title line 'Webinar registrants'"),
    ("Liste des participants\nEmail\na@x.com\n", "t.csv", None, [State.ATTEND],
     "title line 'Liste des participants'"),
    ("Email\na@x.com\n", "webinar-registrants.csv", None, [State.REGISTER], "file name webinar-registrants.csv"),
    ("Email\na@x.com\n", "Sheet1.csv", "Sheet1", [None], ""),
    ("Email\na@x.com\n", "registrants-and-attendees.csv", None, [None], ""),  # says both: says nothing
    # a column beats a title: the Attended column decides, the sheet name only the undecided row
    ("Email,Attended\na@x.com,No\nb@x.com,\n", "t.csv", "Attendees", [State.REGISTER, State.ATTEND],
     "column Attended (Yes/No) (1 rows), sheet name Attendees (1 rows)"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "file", "sheet", "want", "source"), EVIDENCE)
def test_state_comes_from_evidence(text: str, file: str, sheet: str | None, want: list, source: str) -> None:
    m = mapped(text, file=file, sheet_name=sheet)
    assert [r.state for r in table_to_rows(m.table)] == want
    assert m.info.undecided == want.count(None)
    assert m.info.state_source == source


def test_forced_state_decides_undecided_rows_and_says_so() -> None:
    m = mapped(BARE_EMAILS, state="register")
    assert [r.state for r in table_to_rows(m.table)] == [State.REGISTER, State.REGISTER]
    assert (m.info.undecided, m.info.state_source) == (0, "--state register (every row the rules do not skip)")


def test_known_layouts_keep_their_own_rule_whatever_the_sheet_is_called() -> None:
    """An Eventbrite 'attendee' holds a ticket: a sheet named Attendees does not make it attended."""
    text = "Order #,Order Date,Email,Ticket Type,Attendee Status\n1,2024-11-01 09:00,a@x.com,GA,\n"
    m = mapped(text, sheet_name="Attendees")
    assert (m.info.profile, table_to_rows(m.table)[0].state) == ("eventbrite_attendees", State.REGISTER)
    assert m.info.state_source == "the eventbrite_attendees layout's rules"


@pytest.mark.parametrize(
    ("title", "want"),
    [
        ("Registrants", State.REGISTER),
        ("Zoom_Registrants_2024", State.REGISTER),
        ("Anmeldungen", State.REGISTER),
        ("Attendee Report", State.ATTEND),
        ("Deelnemers", State.ATTEND),
        ("Uczestnicy", State.ATTEND),
        ("참석자", State.ATTEND),
        ("Registrants and attendees", None),
        ("Sheet1", None),
        ("Panelists", None),
    ],
)
def test_title_words(title: str, want: State | None) -> None:
    assert title_state(title) == want


# --- invariant: never attend without attendance evidence -------------------------------------------

HEADERS = ("Attended", "Status", "Join Time", "Duration", "Registration Time")
VALUES = {
    "Attended": st.sampled_from(["", "Yes", "No", "maybe", "ja", "nein"]),
    "Status": st.sampled_from(["", "approved", "registered", "checked in", "cancelled", "denied", "vip"]),
    "Join Time": st.sampled_from(["", "--", "2024-11-05 10:00"]),
    "Duration": st.sampled_from(["", "0", "00:00", "--", "12", "0:45"]),
    "Registration Time": st.sampled_from(["", "2024-11-01 09:00"]),
}


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[dict[str, str]]]:
    headers = draw(st.lists(st.sampled_from(HEADERS), unique=True, max_size=len(HEADERS)))
    rows = draw(st.lists(st.fixed_dictionaries({h: VALUES[h] for h in headers}), min_size=1, max_size=8))
    return headers, rows


def attendance_evidence(row: dict[str, str]) -> bool:
    status = row.get("Status", "")
    joined = row.get("Join Time", "") not in ("", "--")
    return (
        row.get("Attended", "").lower() in ("yes", "ja")
        or status == "checked in"
        or joined
        or any(c in "123456789" for c in row.get("Duration", ""))
    )


def any_evidence(row: dict[str, str]) -> bool:
    return (
        attendance_evidence(row)
        or row.get("Attended", "").lower() in ("no", "nein")
        or row.get("Status", "") in ("approved", "registered", "cancelled")
        or bool(row.get("Registration Time"))
    )


@settings(max_examples=200, deadline=None)
@given(tables())
def test_never_attend_without_attendance_evidence(table: tuple[list[str], list[dict[str, str]]]) -> None:
    headers, body = table
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Email", *headers])
    for i, row in enumerate(body):
        writer.writerow([f"p{i}@example.com", *(row[h] for h in headers)])
    rows = mapped(out.getvalue())
    for row, got in zip(body, table_to_rows(rows.table), strict=True):
        if got.outcome is Outcome.SKIPPED:
            continue
        if got.state is State.ATTEND:
            assert attendance_evidence(row), (row, got)
        assert (got.state is None) == (not any_evidence(row)), (row, got)


# --- end to end: the guess cases stop before anything is sent ---------------------------------------


def run_cli(args: list[str], box: Sandbox, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args, environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN, "HUBSPOT_BASE_URL": box.base_url})
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_zoom_join_link_list_is_registrations_never_attendance(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "export.csv"
    src.write_text(ZOOM_JOIN_LINKS, encoding="utf-8")
    sandbox.add_contacts(["jane@example.com", "carl@example.org"])
    args = ["run", str(src), "--event", "1001", "--timezone", "UTC", "--report", str(tmp_path / "r.xlsx")]
    code, _, err = run_cli([*args, "--state-dir", str(tmp_path / "s")], sandbox, capsys)
    assert code == 0, err
    got = {(p["email"], p["state"]) for p in sandbox.participations("1001")}
    assert got == {("jane@example.com", "register"), ("carl@example.org", "register")}


@pytest.mark.parametrize(("name", "text"), [("export.csv", ZOOM_NAMES), ("list.csv", BARE_EMAILS)])
def test_a_file_that_does_not_say_stops_before_sending(
    name: str, text: str, sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / name
    src.write_text(text, encoding="utf-8")
    report = tmp_path / "r.xlsx"
    base = ["run", str(src), "--event", "1001", "--timezone", "UTC", "--report", str(report)]
    code, _, err = run_cli([*base, "--state-dir", str(tmp_path / "s")], sandbox, capsys)
    assert code == 2
    assert not report.exists() and sandbox.requests == [] and sandbox.participations("1001") == []
    assert "attended or only registered" in err and "--state register or --state attend" in err
    assert "Nothing was sent" in err
    code, out, _ = run_cli(["inspect", str(src), "--timezone", "UTC"], sandbox, capsys)
    assert code == 0 and re.search(r"^state:\s+none found, pass --state", out, re.M)
    # following the message works
    sandbox.add_contacts(["jane@example.com", "carl@example.org"])
    code, _, err = run_cli([*base, "--state", "register", "--state-dir", str(tmp_path / "s")], sandbox, capsys)
    assert code == 0, err
    got = {(p["email"], p["state"]) for p in sandbox.participations("1001")}
    assert got == {("jane@example.com", "register"), ("carl@example.org", "register")}


# --- workbooks with several sheets: each sheet's role ------------------------------------------------


def workbook(path: Path, sheets: dict[str, list[str]]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, emails in sheets.items():
        ws = wb.create_sheet(name)
        ws.append(["Email", "First Name"])
        for e in emails:
            ws.append([e, e.split("@")[0].title()])
    wb.save(path)
    return path


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("Registrants", "registrants"),
        ("Attendees", "attendees"),
        ("Teilnehmer", "attendees"),
        ("Panelists", "staff"),
        ("Hosts", "staff"),
        ("Summary", "info"),
        ("Poll results", "info"),
        ("Sheet1", "other"),
    ],
)
def test_sheet_roles(name: str, want: str) -> None:
    from importer.loader import sheet_role

    assert sheet_role(name) == want


def test_a_registrants_and_an_attendees_sheet_are_both_imported(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = workbook(
        tmp_path / "webinar.xlsx",
        {
            "Registrants": ["jane@example.com", "carl@example.org"],
            "Attendees": ["jane@example.com"],
            "Panelists": ["pat@example.net"],
        },
    )
    sandbox.add_contacts(["jane@example.com", "carl@example.org", "pat@example.net"])
    args = ["run", str(src), "--event", "1001", "--timezone", "UTC", "--report", str(tmp_path / "r.xlsx")]
    code, _, err = run_cli([*args, "--state-dir", str(tmp_path / "s")], sandbox, capsys)
    assert code == 0, err
    assert "read sheet 'Registrants' as the registrants and sheet 'Attendees' as the attendees" in err
    assert "left out 'Panelists' (panelists/hosts)" in err
    got = {(p["email"], p["state"]) for p in sandbox.participations("1001")}
    assert got == {("jane@example.com", "register"), ("carl@example.org", "register"), ("jane@example.com", "attend")}
    code, out, _ = run_cli(["inspect", str(src), "--timezone", "UTC"], sandbox, capsys)
    assert code == 0
    assert re.findall(r"^state:\s+(.*)$", out, re.M) == ["sheet name Registrants", "sheet name Attendees"]


@pytest.mark.parametrize(
    "sheets",
    [
        {"Sheet1": ["jane@example.com"], "Sheet2": ["carl@example.org"]},
        {"Attendees": ["jane@example.com"], "Attendees (2)": ["carl@example.org"]},
        {"Registrants": ["jane@example.com"], "Sheet2": ["carl@example.org"]},
    ],
)
def test_people_on_sheets_whose_names_do_not_say_ask_for_sheet(
    sheets: dict[str, list[str]], sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = workbook(tmp_path / "book.xlsx", sheets)
    args = ["run", str(src), "--event", "1001", "--timezone", "UTC", "--state-dir", str(tmp_path / "s")]
    code, _, err = run_cli(args, sandbox, capsys)
    assert code == 2 and "--sheet NAME" in err and "Nothing was sent" in err
    assert sandbox.requests == [] and sandbox.participations("1001") == []
    first = next(iter(sheets))
    sandbox.add_contacts(sheets[first])
    code, _, err = run_cli([*args, "--sheet", first, "--state", "attend"], sandbox, capsys)
    assert code == 0, err
    assert {p["email"] for p in sandbox.participations("1001")} == set(sheets[first])


def test_a_run_where_every_row_is_skipped_by_rule_says_nobody_was_recorded_and_why(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "guests.csv"
    src.write_text(
        "api_id,name,email,created_at,approval_status,checked_in_at,qr_code_url\n"
        "gst-1,Ann,ann@example.com,2024-11-20T14:03:11Z,declined,,https://lu.ma/c/1\n"
        "gst-2,Bo,bo@example.com,2024-11-20T14:03:11Z,waitlist,,https://lu.ma/c/2\n"
        "gst-3,Cy,cy@example.com,2024-11-20T14:03:11Z,waitlist,,https://lu.ma/c/3\n",
        encoding="utf-8",
    )
    args = [
        "run",
        str(src),
        "--event",
        "1001",
        "--report",
        str(tmp_path / "r.xlsx"),
        "--state-dir",
        str(tmp_path / "s"),
    ]
    code, out, err = run_cli(args, sandbox, capsys)
    assert code == 0, err
    text = " ".join((out + err).split())
    assert "Nobody was recorded: 3 skipped by rule (2 on the waitlist, 1 declined)" in text
    assert sandbox.participations("1001") == []
