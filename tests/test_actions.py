"""Files to act on: the rows to fix and import again, the contacts to create in HubSpot."""

from __future__ import annotations

import csv
import shlex
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from tables import rows_table

from importer import actions
from importer.cli import main
from importer.loader import load
from importer.mapper import MapOptions, source_lines
from importer.models import Outcome, Reason, State
from importer.sandbox import DEFAULT_TOKEN, Sandbox

SAMPLES = Path(__file__).resolve().parent.parent / "sample_data"
NY = ZoneInfo("America/New_York")
ENV = {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN}
ATTENDEE_HEADER = [
    "Attended",
    "User Name (Original Name)",
    "First Name",
    "Last Name",
    "Email",
    "Registration Time",
    "Approval Status",
    "Join Time",
    "Leave Time",
    "Time in Session (minutes)",
    "Is Guest",
    "Country/Region Name",
    "Job Title",
]


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=NY).timestamp() * 1000)


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel shows the accents
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def summary_keys(path: Path) -> dict[str, Any]:
    ws = openpyxl.load_workbook(path, read_only=True)["Summary"]
    return {r[2]: r[1] for r in ws.iter_rows(min_row=3, max_col=3, values_only=True) if r[2]}


def zoom_export(tmp_path: Path) -> Path:
    """The Zoom sample with a mistyped email (Tom), a garbled registration time (Sam, a no-show)
    and a contact HubSpot lacks (Lena)."""
    text = (SAMPLES / "zoom_attendee_report.csv").read_text(encoding="utf-8-sig")
    text = text.replace("tom.baker@example.net", "tom.baker@@example.net")
    text = text.replace('"Nov 4, 2024 15:22:08"', '"Nov 4, 2024 25:22:08"')
    src = tmp_path / "webinar.csv"
    src.write_text(text, encoding="utf-8")
    return src


@pytest.fixture
def box() -> Any:
    text = (SAMPLES / "zoom_attendee_report.csv").read_text(encoding="utf-8-sig")
    emails = {w.strip('"').lower() for line in text.splitlines() for w in line.split(",") if "@" in w}
    with Sandbox(events=["1001"]) as sb:
        sb.add_contacts(sorted(emails - {"lena.fischer@example.org"}))
        yield sb


def test_fix_file_imports_again_once_edited(
    box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    src = zoom_export(tmp_path)
    args = ["run", str(src), "--event", "1001", "--timezone", "America/New_York", "--base-url", box.base_url]
    assert main(args, environ=ENV) == 1
    out = capsys.readouterr().out
    fix = tmp_path / "webinar.fix-and-reimport.csv"
    create = tmp_path / "webinar.contacts-to-create.csv"
    assert f"Fix and re-import (2 rows): {fix}" in out
    assert f"Contacts to create in HubSpot (1 contact): {create}" in out

    lines = read_csv(fix)
    assert lines[0] == ATTENDEE_HEADER + ["problem", "fix"]
    original = {line[4]: line for line in lines[1:]}
    assert set(original) == {"tom.baker@@example.net", "sam.noshow@example.com"}
    tom, sam = original["tom.baker@@example.net"], original["sam.noshow@example.com"]
    assert tom[:13] == [
        "Yes", "Tom Baker", "Tom", "Baker", "tom.baker@@example.net", "Nov 3, 2024 07:30:12", "approved",
        "Nov 5, 2024 11:10:45", "Nov 5, 2024 11:55:20", "45", "No", "United States", "Engineer",
    ]  # fmt: skip
    assert tom[13].startswith("Email 'tom.baker@@example.net'") and tom[14] == "Correct the email"
    assert sam[5] == "Nov 4, 2024 25:22:08" and sam[7] == "--"  # as written, Zoom's no-time mark included
    assert sam[14] == "Write the date and time like 2024-11-05 15:58"
    assert read_csv(create) == [["Email", "First Name", "Last Name"], ["lena.fischer@example.org", "Lena", "Fischer"]]

    report = tmp_path / "webinar.reconciliation.xlsx"
    keys = summary_keys(report)
    assert keys["fix_file"] == str(fix) and keys["create_file"] == str(create)
    assert str(fix) in keys["next_step"] and str(create) in keys["next_step"]
    errors = openpyxl.load_workbook(report, read_only=True)["Errors"]
    header, *problems = list(errors.iter_rows(values_only=True))
    tom_line = next(dict(zip(header, p, strict=True)) for p in problems if p[0] == "invalid_email")
    assert tom_line["name"] == "Tom Baker"
    assert "Email: tom.baker@@example.net" in tom_line["original_values"]
    assert "Join Time: Nov 5, 2024 11:10:45" in tom_line["original_values"]

    # the marketer corrects the two lines in a spreadsheet and runs the command the Summary names
    with fix.open(encoding="utf-8-sig", newline="") as fh:
        edited = list(csv.reader(fh))
    for line in edited[1:]:
        line[4] = line[4].replace("@@", "@")
        line[5] = line[5].replace("25:22", "15:22")
    with fix.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(edited)
    command = shlex.split(keys["next_step"].split("`")[1])
    assert command[:3] == ["importer", "run", str(fix)]
    assert main([*command[1:], "--base-url", box.base_url], environ=ENV) == 0
    got = {p["email"]: (p["state"], p["occurred_at"]) for p in box.participations("1001") if "email" in p}
    assert got["tom.baker@example.net"] == ("attend", ms("2024-11-05 11:10:45"))
    assert got["sam.noshow@example.com"] == ("register", ms("2024-11-04 15:22:08"))


def test_files_of_an_earlier_run_do_not_linger(box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    src = zoom_export(tmp_path)
    args = ["run", str(src), "--event", "1001", "--timezone", "America/New_York", "--base-url", box.base_url]
    assert main(args, environ=ENV) == 1
    assert (tmp_path / "webinar.fix-and-reimport.csv").exists()
    src.write_text((SAMPLES / "zoom_attendee_report.csv").read_text(encoding="utf-8-sig"), encoding="utf-8")
    box.add_contacts(["lena.fischer@example.org"])
    assert main(args, environ=ENV) == 0
    assert not (tmp_path / "webinar.fix-and-reimport.csv").exists()
    assert not (tmp_path / "webinar.contacts-to-create.csv").exists()
    assert "fix_file" not in summary_keys(tmp_path / "webinar.reconciliation.xlsx")


def test_source_lines_come_with_their_own_sections_header(tmp_path: Path) -> None:
    sheet = load(SAMPLES / "zoom_attendee_report.csv")
    lines = source_lines(sheet, MapOptions(), {7, 13, 99})
    assert set(lines) == {7, 13}  # a row number with no data line is simply absent
    host_header, host = lines[7]
    assert host_header[:4] == ("Attended", "User Name (Original Name)", "Email", "Join Time")
    assert host[:3] == ("Yes", "Olivia Host", "olivia.host@example.com")
    assert lines[13][0][:3] == ("Attended", "User Name (Original Name)", "First Name")
    assert lines[13][1][4] == "jane.doe@example.com"


def bad(file: str, row: int, reason: str, email: str | None = None, **extra: str) -> dict[str, Any]:
    return dict(
        file=file,
        row=row,
        email=email,
        state=State.ATTEND,
        outcome=Outcome.REJECTED,
        reason=reason,
        message=f"problem in row {row}",
        extra=extra,
    )


def test_plan_one_fix_file_per_layout_and_one_contact_per_email(tmp_path: Path) -> None:
    rows = [
        bad("a.csv", 2, Reason.INVALID_EMAIL),
        bad("b.csv", 5, Reason.BAD_TIME),
        bad("a.csv", 3, Reason.CONTACT_NOT_FOUND, "x@y.co", name="Müller, Ana"),
        bad("a.csv", 4, Reason.CONTACT_NOT_FOUND, "x@y.co", name="Ana Müller"),
        bad("a.csv", 6, Reason.CONTACT_NOT_FOUND, "z@y.co", name="Zoë van Dijk"),
        bad("a.csv", 7, Reason.CONTACT_NOT_FOUND, "w@y.co", first_name="Wen", last_name="Li"),
        bad("a.csv", 8, Reason.INVALID_VID),  # its line could not be read again: not in the fix file
        {**bad("a.csv", 9, Reason.HTTP_400), "outcome": Outcome.FAILED},
    ]
    found = {
        ("a.csv", 2): (("Email", "Join Time", ""), ("a@@b", "=cmd|' /C calc'!A0", "")),
        ("b.csv", 5): (("Mail", "Zeit"), ("b@c.de",)),
        ("a.csv", 9): (("Email", "Join Time", ""), ("q@r.co", "2024-11-05 10:00", "")),
    }
    plan = actions.plan(
        tmp_path / "r.reconciliation.xlsx", rows_table(*rows), found, event_id="42", timezone="Europe/Berlin"
    )
    fixes = [f for f in plan.files if f.kind == "fix"]
    assert [f.path.name for f in fixes] == ["r.fix-and-reimport.a-1.csv", "r.fix-and-reimport.b-2.csv"]
    assert fixes[0].lines == [
        ["Email", "Join Time", "problem", "fix"],
        ["a@@b", "=cmd|' /C calc'!A0", "problem in row 2", "Correct the email"],
    ]
    assert fixes[1].lines[1] == ["b@c.de", "", "problem in row 5", "Write the date and time like 2024-11-05 15:58"]
    assert fixes[0].command == f"importer run {fixes[0].path} --event 42 --timezone Europe/Berlin"
    (create,) = [f for f in plan.files if f.kind == "create"]
    assert create.lines == [
        ["Email", "First Name", "Last Name"],
        ["x@y.co", "Ana", "Müller"],
        ["z@y.co", "Zoë", "van Dijk"],
        ["w@y.co", "Wen", "Li"],
    ]
    assert plan.paths()["fix_rows"] == "2" and plan.paths()["create_rows"] == "3"
    actions.write(plan, tmp_path / "r.reconciliation.xlsx")
    assert read_csv(fixes[0].path)[1][1] == "'=cmd|' /C calc'!A0"  # never a live formula


@pytest.mark.parametrize(
    ("report", "name"),
    [
        ("reports/zoom.reconciliation.xlsx", "reports/zoom.fix-and-reimport.csv"),
        ("out.xlsx", "out.fix-and-reimport.csv"),
        ("zoom.reconciliation.csv", "zoom.fix-and-reimport.csv"),
    ],
)
def test_companion_names(report: str, name: str) -> None:
    assert actions.companion(report, actions.FIX_SUFFIX) == Path(name)


@pytest.mark.parametrize(
    ("text", "written"),
    [("--", "--"), ("-2", "-2"), ("+1 555 0100", "+1 555 0100"), ("=1+1", "'=1+1"), ("@SUM(A1)", "'@SUM(A1)"),
     ("-2+3", "'-2+3"), ("plain", "plain")],
)  # fmt: skip
def test_guard(text: str, written: str) -> None:
    assert actions._guard(text) == written


def _book(path: Path, sheets: dict[str, list[tuple[str, str]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, people in sheets.items():
        ws = wb.create_sheet(name)
        ws.append(["Email", "First Name", "Registered at"])
        for email, first in people:
            ws.append([email, first, "2024-11-01 09:00"])
    wb.save(path)
    return path


def test_a_workbooks_registrants_and_attendees_sheets_get_a_fix_file_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each sheet's rows to fix go to a file named after the sheet, whose command imports them again
    in the state the sheet's name gave them (nothing in a plain CSV would say it otherwise)."""
    monkeypatch.chdir(tmp_path)
    src = _book(
        tmp_path / "webinar.xlsx",
        {
            "Registrants": [("ann@example.com", "Ann"), ("bo@@example.com", "Bo")],
            "Attendees": [("ann@example.com", "Ann"), ("cy@example..com", "Cy")],
        },
    )
    with Sandbox(events=["1001"], contacts={"ann@example.com": 1, "bo@example.com": 2, "cy@example.com": 3}) as sb:
        env = {**ENV, "HUBSPOT_BASE_URL": sb.base_url}
        assert main(["run", str(src), "--event", "1001", "--timezone", "UTC"], environ=env) == 1
        capsys.readouterr()
        registrants = tmp_path / "webinar.fix-and-reimport.Registrants.csv"
        attendees = tmp_path / "webinar.fix-and-reimport.Attendees.csv"
        assert read_csv(registrants) == [
            ["Email", "First Name", "Registered at", "problem", "fix"],
            ["bo@@example.com", "Bo", "2024-11-01 09:00", read_csv(registrants)[1][3], "Correct the email"],
        ]
        assert [line[0] for line in read_csv(attendees)[1:]] == ["cy@example..com"]
        keys = summary_keys(tmp_path / "webinar.reconciliation.xlsx")
        assert keys["fix_file"] == f"{registrants}, {attendees}"
        commands = [shlex.split(c) for c in keys["next_step"].split("`")[1].split("; ")]
        assert [c[2] for c in commands] == [str(registrants), str(attendees)]
        assert [c[c.index("--state") + 1] for c in commands] == ["register", "attend"]
        errors = openpyxl.load_workbook(tmp_path / "webinar.reconciliation.xlsx", read_only=True)["Errors"]
        header, *problems = list(errors.iter_rows(values_only=True))
        originals = {p[header.index("source_file")]: p[header.index("original_values")] for p in problems}
        assert originals == {
            "webinar.xlsx [Registrants]": "Email: bo@@example.com; First Name: Bo; Registered at: 2024-11-01 09:00",
            "webinar.xlsx [Attendees]": "Email: cy@example..com; First Name: Cy; Registered at: 2024-11-01 09:00",
        }

        # a retry of that report keeps them (it reads each sheet's lines again)
        assert main(["retry", "webinar.reconciliation.xlsx"], environ=env) == 1
        assert registrants.is_file() and attendees.is_file()

        # corrected in a spreadsheet, each imports again as it is with its command
        for fix, wrong, right in ((registrants, "@@", "@"), (attendees, "..", ".")):
            edited = read_csv(fix)
            edited[1][0] = edited[1][0].replace(wrong, right)
            with fix.open("w", encoding="utf-8-sig", newline="") as fh:
                csv.writer(fh).writerows(edited)
        for command in commands:
            assert main(command[1:], environ=env) == 0
        got = {(p["email"], p["state"]) for p in sb.participations("1001")}
        assert {("bo@example.com", "register"), ("cy@example.com", "attend")} <= got


@pytest.mark.parametrize(
    ("sources", "names"),
    [
        (["a.csv"], ["r.fix-and-reimport.csv"]),
        (["a.csv", "b.csv"], ["r.fix-and-reimport.a-1.csv", "r.fix-and-reimport.b-2.csv"]),
        (["w.xlsx [Registrants]"], ["r.fix-and-reimport.Registrants.csv"]),
        (
            ["w.xlsx [Registrants]", "w.xlsx [Attendees]", "a.csv"],
            ["r.fix-and-reimport.Registrants.csv", "r.fix-and-reimport.Attendees.csv", "r.fix-and-reimport.a-3.csv"],
        ),
        (
            ["w.xlsx [Attendees]", "v.xlsx [Attendees]"],
            ["r.fix-and-reimport.Attendees-1.csv", "r.fix-and-reimport.Attendees-2.csv"],
        ),
        (["w.xlsx [Q3: EMEA/APAC]"], ["r.fix-and-reimport.Q3_ EMEA_APAC.csv"]),
    ],
)
def test_fix_file_names_per_source(sources: list[str], names: list[str], tmp_path: Path) -> None:
    rows = [bad(source, 2, Reason.INVALID_EMAIL) for source in sources]
    found = {(source, 2): (("Email", f"col {k}"), ("a@@b", "")) for k, source in enumerate(sources)}
    plan = actions.plan(tmp_path / "r.reconciliation.xlsx", rows_table(*rows), found, event_id="42")
    assert [f.path.name for f in plan.files] == names
