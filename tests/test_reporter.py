"""The reconciliation report: the contract users' scripts and marketers rely on."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import zipfile
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string
from openpyxl.utils.escape import unescape
from tables import rows_table

from importer import report_cells
from importer.errors import InputError
from importer.models import EventInfo, FileInfo, Outcome, Reason, RunStats, State
from importer.readback import rows_from_report
from importer.report_cells import layout, local_texts, utc_texts
from importer.reporter import (
    ALSO_COLUMNS,
    CORE_COLUMNS,
    ROW_COLUMNS,
    Report,
    RunSummary,
    build_report,
    choose_format,
    default_report_path,
    exit_code_for,
    fix_for,
    iso_utc,
    read_report,
    render_terminal,
    write_report,
)
from importer.zones import parse_zone

T0 = 1730822283000  # 2024-11-05T15:58:03Z
EVENT = EventInfo(object_id="987654", name="Webinar: Pipelines", start_ms=1730822400000)
DANGEROUS = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\tx", "\rcr"]


Rows = list[dict[str, Any]]


def make_rows() -> Rows:
    a, b = "attendees.csv", "late.xlsx"
    return [
        dict(
            file=a,
            row=2,
            email="ana@example.com",
            vid=101,
            state=State.ATTEND,
            when_ms=T0,
            outcome=Outcome.RECORDED,
            batch_id="b1",
            correlation_id="c-1",
            extra=(("first_name", "Ana"), ("last_name", "Müller")),
        ),
        dict(
            file=a,
            row=3,
            email="bad@@example.com",
            state=State.ATTEND,
            when_ms=T0 + 250,
            outcome=Outcome.REJECTED,
            reason=Reason.INVALID_EMAIL,
            message="The email is not valid.",
            extra=(("first_name", DANGEROUS[0]), ("last_name", "+1")),
        ),
        dict(
            file=a,
            row=4,
            email="ana@example.com",
            vid=101,
            state=State.REGISTER,
            when_ms=T0 - 3_600_000,
            outcome=Outcome.MERGED,
            reason=Reason.DUPLICATE_CONTACT,
            message="Merged with row 2 of the same contact.",
            merged_file=a,
            merged_row=2,
            extra=(("first_name", "-2"), ("last_name", "@SUM(A1)")),
        ),
        dict(
            file=a,
            row=5,
            email="host@example.com",
            state=State.ATTEND,
            when_ms=T0,
            outcome=Outcome.SKIPPED,
            reason=Reason.HOST,
            message="Hosts are not participants.",
            extra=(("first_name", "\tx"), ("last_name", "'quoted")),
        ),
        dict(
            file=a,
            row=6,
            email="zed@example.com",
            state=State.ATTEND,
            when_ms=T0,
            outcome=Outcome.REJECTED,
            reason=Reason.CONTACT_NOT_FOUND,
            message="No HubSpot contact has this email.",
            extra=(("first_name", "\rcr"),),
        ),
        dict(
            file=b,
            row=2,
            email="bo@example.com",
            vid=202,
            state=State.REGISTER,
            when_ms=None,
            time_source="event_start",
            outcome=Outcome.FAILED,
            reason=Reason.HTTP_429,
            message="HubSpot kept answering 429 (too many requests).",
            batch_id="b2",
            correlation_id="corr-429",
            extra=(("company", "Acme"),),
        ),
        dict(
            file=b,
            row=3,
            email="cy@example.com",
            vid=303,
            state=State.REGISTER,
            when_ms=T0,
            outcome=Outcome.FAILED,
            reason=Reason.HTTP_429,
            message="HubSpot kept answering 429 (too many requests).",
            correlation_id="corr-429",
        ),
        dict(
            file=b,
            row=4,
            email="new@example.com",
            vid=404,
            state=State.ATTEND,
            when_ms=T0,
            outcome=Outcome.RECORDED,
            created_contact=True,
        ),
    ]


def make_summary(report_path: str = "out.xlsx", *, timezone: str | None = "Europe/Berlin", **kw: object) -> RunSummary:
    values: dict[str, object] = dict(
        run_id="run-42",
        event=EVENT,
        files=(
            FileInfo("attendees.csv", "zoom", encoding="utf-8", date_order="MDY", timezone="America/New_York"),
            FileInfo("late.xlsx", "excel", sheet="Sheet1", notes=("header found on row 3",)),
        ),
        started_at=datetime(2024, 11, 6, 9, 0, 0, tzinfo=UTC),
        finished_at=datetime(2024, 11, 6, 9, 1, 30, tzinfo=UTC),
        timezone=timezone,
        dry_run=False,
        stats=RunStats(requests=7, http_429=3, retries=3, lookups=2, writes=2),
        exit_code=1,
        report_path=report_path,
    )
    values.update(kw)
    return RunSummary(**values)  # type: ignore[arg-type]


@pytest.fixture
def report(tmp_path: Path) -> Report:
    return build_report(rows_table(*make_rows()), make_summary(str(tmp_path / "out.xlsx")))


@pytest.fixture
def xlsx(tmp_path: Path, report: Report) -> Path:
    return write_report(report, tmp_path / "out.xlsx")


# --------------------------------------------------------------------------- data


def test_iso_utc() -> None:
    assert iso_utc(T0) == "2024-11-05T15:58:03Z"
    assert iso_utc(T0 + 250) == "2024-11-05T15:58:03.250Z"
    assert iso_utc(0) == "1970-01-01T00:00:00Z"
    assert iso_utc(None) == ""


def test_build_report_counts_every_outcome(report: Report) -> None:
    assert report.counts == {"recorded": 2, "merged": 1, "skipped": 1, "rejected": 2, "failed": 2, "planned": 0}
    assert report.by_state == {"attend": 2}  # what was recorded: rejected, failed, merged rows are not counted
    assert report.by_reason["http_429"] == 2
    assert report.by_reason["invalid_email"] == 1
    assert "" not in report.by_reason


def test_exit_code_for() -> None:
    rows = make_rows()
    assert exit_code_for(rows_table(*rows)) == 1
    fine = [r for r in rows if r["outcome"] not in (Outcome.REJECTED, Outcome.FAILED)]
    assert exit_code_for(rows_table(*fine)) == 0
    assert exit_code_for(rows_table()) == 0
    planned = dict(file="a.csv", row=2, outcome=Outcome.PLANNED, reason=Reason.DRY_RUN)
    assert exit_code_for(rows_table(planned)) == 0
    assert exit_code_for(rows_table(dict(file="a.csv", row=2))) == 1


def test_default_report_path(tmp_path: Path) -> None:
    assert default_report_path("/data/in/attendees.csv", tmp_path) == tmp_path / "attendees.reconciliation.xlsx"
    assert default_report_path("export.2024.xlsx", tmp_path).name == "export.2024.reconciliation.xlsx"


# --------------------------------------------------------------------------- fixes


def test_fix_for_examples() -> None:
    bad = dict(file="a.csv", row=7, email="x@@y", reason=Reason.INVALID_EMAIL, outcome=Outcome.REJECTED)
    assert fix_for(bad).startswith("Correct the email in a.csv row 7 (found: 'x@@y')")
    missing = dict(file="a.csv", row=8, reason=Reason.CONTACT_NOT_FOUND, outcome=Outcome.REJECTED)
    assert fix_for(missing, "r.xlsx") == (
        "Add the contact to HubSpot (or re-run with --create-missing), then run `importer retry r.xlsx`"
    )
    assert fix_for(dict(file="a.csv", row=9, reason=Reason.BAD_TIME)).startswith("Fix the date in a.csv row 9")
    assert "crm.objects.marketing_events.write" in fix_for(dict(file="a", row=1, reason=Reason.MISSING_SCOPE))
    assert "HUBSPOT_ACCESS_TOKEN" in fix_for(dict(file="a", row=1, reason=Reason.TOKEN_REJECTED))
    for reason in (Reason.HTTP_429, Reason.HTTP_5XX, Reason.NETWORK_ERROR, Reason.TIMEOUT):
        assert fix_for(dict(file="a", row=1, reason=reason), "r.csv") == (
            "Temporary HubSpot problem: run `importer retry r.csv` later"
        )


def test_fix_for_covers_every_reason() -> None:
    generic = fix_for(dict(file="a.csv", row=3, reason="something_new"), "r.xlsx")
    assert "a.csv row 3" in generic and "importer retry r.xlsx" in generic
    for reason in Reason:
        text = fix_for(dict(file="a.csv", row=3, reason=reason.value), "r.xlsx")
        assert text and text != generic, reason
    assert "HTTP 404" in fix_for(dict(file="a.csv", row=3, reason="http_404"))


# --------------------------------------------------------------------------- xlsx


def test_xlsx_sheets_columns_and_rows(xlsx: Path, report: Report) -> None:
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["Summary", "Rows", "Errors"]
    ws = wb["Rows"]
    header = [c.value for c in ws[1]]
    assert tuple(header[:9]) == CORE_COLUMNS
    assert tuple(header[: len(ROW_COLUMNS)]) == ROW_COLUMNS
    assert header[len(ROW_COLUMNS) :] == ["first_name", "last_name", "company"]
    assert ws.max_row == len(report.rows) + 1
    got = [(r[0], r[1]) for r in ws.iter_rows(min_row=2, max_col=2, values_only=True)]
    assert got == [(r["file"], r["row"]) for r in report.rows.to_pylist()]
    first = dict(zip(header, next(ws.iter_rows(min_row=2, values_only=True)), strict=True))
    assert first["vid"] == 101 and isinstance(first["vid"], int)
    assert first["source_row"] == 2
    assert first["event_id"] == "987654"
    assert first["outcome"] == "recorded"
    assert first["last_name"] == "Müller"
    merged = dict(zip(header, next(ws.iter_rows(min_row=4, values_only=True)), strict=True))
    assert merged["merged_into"] == "attendees.csv:2"


def test_xlsx_times_are_real_datetimes(xlsx: Path) -> None:
    ws = load_workbook(xlsx)["Rows"]
    utc, local = ws.cell(2, 6), ws.cell(2, 11)
    assert isinstance(utc.value, datetime) and utc.value == datetime(2024, 11, 5, 15, 58, 3)
    assert utc.number_format.endswith('"Z"')
    assert isinstance(local.value, datetime) and local.value == datetime(2024, 11, 5, 16, 58, 3)  # CET
    with_ms = ws.cell(3, 6)
    assert abs(with_ms.value - datetime(2024, 11, 5, 15, 58, 3, 250000)).total_seconds() < 0.001
    assert ".000" in with_ms.number_format
    fallback = ws.cell(7, 6)  # late.xlsx row 2: no time in the file, event start used
    assert fallback.value == datetime(2024, 11, 5, 16, 0, 0)
    assert ws.cell(7, 12).value == "event_start"


def test_xlsx_without_timezone_leaves_local_empty(tmp_path: Path) -> None:
    path = write_report(build_report(rows_table(*make_rows()), make_summary(timezone=None)), tmp_path / "r.xlsx")
    ws = load_workbook(path)["Rows"]
    assert all(c.value is None for c in ws["K"][1:])
    assert ws["K1"].value == "interaction_time_local"


def test_xlsx_rows_sheet_is_usable(xlsx: Path) -> None:
    ws = load_workbook(xlsx)["Rows"]
    assert ws.freeze_panes == "D2"  # header, file, row and email stay in sight
    assert ws.auto_filter.ref is not None and ws.auto_filter.ref.startswith("A1:")
    assert ws.auto_filter.ref.endswith(str(ws.max_row))
    assert ws.column_dimensions["C"].width > 10
    fills: dict[str, set[str]] = {}
    for row in ws.iter_rows(min_row=2, min_col=7, max_col=7):
        cell = row[0]
        fills.setdefault(cell.value, set()).add(cell.fill.fgColor.rgb)
    assert fills["recorded"] == {"FFC6EFCE"}
    assert fills["rejected"] == fills["failed"] == {"FFFFC7CE"}
    assert fills["skipped"] == fills["merged"] == {"FFE7E6E6"}


def test_xlsx_planned_is_blue(tmp_path: Path) -> None:
    row = dict(file="a.csv", row=2, email="a@b.co", vid=1, when_ms=T0, outcome=Outcome.PLANNED, reason=Reason.DRY_RUN)
    path = write_report(build_report(rows_table(row), make_summary(dry_run=True, exit_code=0)), tmp_path / "r.xlsx")
    assert load_workbook(path)["Rows"]["G2"].fill.fgColor.rgb == "FFDDEBF7"


def test_xlsx_formula_safety(xlsx: Path) -> None:
    wb = load_workbook(xlsx)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    ws = wb["Rows"]
    texts = {unescape(c.value): c for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str)}
    for value in DANGEROUS:
        assert value in texts, value
        assert texts[value].data_type == "s"
        assert texts[value].quotePrefix
    raw = zipfile.ZipFile(xlsx).read("xl/worksheets/sheet2.xml").decode()
    assert "<f>" not in raw


def test_xlsx_summary_and_chart(xlsx: Path) -> None:
    ws = load_workbook(xlsx)["Summary"]
    by_key = {r[2]: r[1] for r in ws.iter_rows(min_row=3, max_col=3, values_only=True) if r[2]}
    assert by_key["event_id"] == "987654"
    assert by_key["event_name"] == "Webinar: Pipelines"
    assert by_key["file_1"] == "attendees.csv" and by_key["file_1_profile"] == "zoom"
    assert by_key["file_1_date_order"] == "MDY" and by_key["file_1_timezone"] == "America/New_York"
    assert by_key["file_2_notes"] == "header found on row 3"
    assert by_key["started_at_utc"] == "2024-11-06T09:00:00Z"
    assert by_key["timezone"] == "Europe/Berlin" and by_key["dry_run"] == "no"
    for outcome in Outcome:
        assert f"outcome_{outcome.value}" in by_key
    assert by_key["outcome_planned"] == 0 and by_key["outcome_failed"] == 2
    assert by_key["state_attend"] == 2 and "state_register" not in by_key and by_key["reason_http_429"] == 2
    assert (by_key["requests"], by_key["http_429"], by_key["retries"], by_key["lookups"], by_key["writes"]) == (
        7,
        3,
        3,
        2,
        2,
    )
    assert by_key["exit_code"] == 1 and "rejected or failed" in by_key["exit_meaning"]
    assert by_key["report_path"].endswith("out.xlsx")

    with zipfile.ZipFile(xlsx) as zf:
        names = zf.namelist()
        assert "xl/charts/chart1.xml" in names
        assert "<c:barChart>" in zf.read("xl/charts/chart1.xml").decode()
        workbook = zf.read("xl/workbook.xml").decode()
        assert re.search(r'<sheet name="Summary" sheetId="1" r:id="rId1"', workbook)
        rels = zf.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
        assert "drawing1.xml" in rels
        drawing_rels = zf.read("xl/drawings/_rels/drawing1.xml.rels").decode()
        assert "chart1.xml" in drawing_rels
        assert "<drawing" in zf.read("xl/worksheets/sheet1.xml").decode()


def width_of(ws: Any, letter: str) -> float:
    """A column's width (openpyxl files a run of equal columns under its first letter)."""
    index = column_index_from_string(letter)
    for dim in ws.column_dimensions.values():
        if dim.min is not None and dim.min <= index <= dim.max:
            return float(dim.width)
    return 0.0


def summary_sheet(path: Path) -> list[tuple[Any, ...]]:
    return list(load_workbook(path)["Summary"].iter_rows(values_only=True))


def by_key_of(path: Path) -> dict[str, Any]:
    return {r[2]: r[1] for r in summary_sheet(path)[2:] if len(r) > 2 and r[2]}


def test_summary_starts_with_a_headline_and_what_to_do(xlsx: Path) -> None:
    lines = summary_sheet(xlsx)
    assert lines[0][0] == "Import into Webinar: Pipelines"
    assert lines[2][:2] == (
        "Result",
        "2 participations recorded in Webinar: Pipelines. 4 rows need attention "
        "(HubSpot busy (rate limit): 2; Contact not in HubSpot: 1; Email not valid: 1).",
    )
    assert lines[3][0] == "What to do"
    assert lines[3][1].startswith(
        "Correct the 1 row listed on the Errors sheet and run the import again; then add the 1"
    )
    assert f"run `importer retry {xlsx}`" in lines[3][1]
    ws = load_workbook(xlsx)["Summary"]
    assert ws.column_dimensions["C"].hidden  # the keys scripts read stay, out of sight
    assert ws.column_dimensions["B"].width >= 60


def test_summary_labels_are_plain_words(xlsx: Path) -> None:
    labels = {r[2]: r[0] for r in summary_sheet(xlsx)[2:] if r[2]}
    assert labels["outcome_rejected"] == "Rejected (data to fix)"
    assert labels["reason_contact_not_found"] == "Contact not in HubSpot"
    assert labels["state_attend"] == "Attended"
    assert labels["event_name"] == "Event"
    assert not any("_" in label for label in labels.values())


def test_summary_local_times_have_no_milliseconds(tmp_path: Path) -> None:
    started = datetime(2024, 11, 6, 9, 0, 0, 123000, tzinfo=UTC)
    path = write_report(build_report(rows_table(*make_rows()), make_summary(started_at=started)), tmp_path / "r.xlsx")
    by_key = by_key_of(path)
    assert by_key["started_at_local"] == "2024-11-06 10:00:00 CET"
    assert by_key["finished_at_local"] == "2024-11-06 10:01:30 CET"
    assert by_key["event_start_local"] == "2024-11-05 17:00:00 CET"
    assert by_key["started_at_utc"] == "2024-11-06T09:00:00.123Z"  # the key's value is unchanged


def test_summary_chart_shows_small_counts(tmp_path: Path) -> None:
    ok = [
        dict(file="a.csv", row=i, email=f"p{i}@x.co", vid=i, state=State.ATTEND, when_ms=T0, outcome=Outcome.RECORDED)
        for i in range(2, 3994)
    ]
    bad = [
        dict(file="a.csv", row=i, email=f"p{i}@x", outcome=Outcome.REJECTED, reason=Reason.INVALID_EMAIL)
        for i in range(3994, 4002)
    ]
    path = write_report(build_report(rows_table(*ok + bad), make_summary()), tmp_path / "r.xlsx")
    with zipfile.ZipFile(path) as zf:
        chart = zf.read("xl/charts/chart1.xml").decode()
    assert '<c:barDir val="bar"/>' in chart
    assert '<c:logBase val="10"/>' in chart  # 8 next to 3,992 gets a bar of its own
    assert '<c:showVal val="1"/>' in chart  # and its number
    # the chart plots only the outcomes that occurred: the first rows of the outcome list
    ref = re.search(r"<c:val><c:numRef><c:f>Summary!\$B\$(\d+):\$B\$(\d+)</c:f>", chart)
    assert ref is not None
    plotted = summary_sheet(path)[int(ref.group(1)) - 1 : int(ref.group(2))]
    assert [(r[0], r[1]) for r in plotted] == [("Recorded", 3992), ("Rejected (data to fix)", 8)]


def test_summary_headline_when_all_is_well_and_on_a_dry_run(tmp_path: Path) -> None:
    row = dict(file="a.csv", row=2, email="a@b.co", vid=1, state=State.ATTEND, when_ms=T0, outcome=Outcome.RECORDED)
    fine = write_report(build_report(rows_table(row), make_summary(exit_code=0)), tmp_path / "fine.xlsx")
    assert by_key_of(fine)["headline"] == "1 participation recorded in Webinar: Pipelines. Nothing needs attention."
    assert by_key_of(fine)["next_step"] == "Nothing to do."
    planned = {**row, "outcome": Outcome.PLANNED, "reason": Reason.DRY_RUN}
    dry = by_key_of(
        write_report(build_report(rows_table(planned), make_summary(dry_run=True, exit_code=0)), tmp_path / "d.xlsx")
    )
    assert dry["headline"].startswith("Dry run, nothing was sent: 1 participation would be recorded")
    assert dry["next_step"] == "Run the same command without --dry-run to send."
    assert dry["state_attend"] == 1


def test_summary_headline_of_a_stopped_run(tmp_path: Path) -> None:
    rows = [
        dict(file="a.csv", row=2, email="a@b.co", vid=1, state=State.ATTEND, when_ms=T0, outcome=Outcome.RECORDED),
        dict(
            file="a.csv",
            row=3,
            email="c@b.co",
            vid=2,
            state=State.ATTEND,
            when_ms=T0,
            outcome=Outcome.FAILED,
            reason=Reason.INTERRUPTED,
        ),
    ]
    by_key = by_key_of(write_report(build_report(rows_table(*rows), make_summary(exit_code=3)), tmp_path / "s.xlsx"))
    assert by_key["headline"].startswith("The run stopped early. 1 participation recorded")
    assert by_key["next_step"].startswith("Run the same command again")


def test_xlsx_errors_sheet(xlsx: Path) -> None:
    """The nine established columns keep their positions (scripts read them so); newer ones follow."""
    ws = load_workbook(xlsx)["Errors"]
    header = [c.value for c in ws[1]]
    assert header == [
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
    ]
    lines = [dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert [(e["reason"], e["source_file"], e["source_row"]) for e in lines] == [
        ("contact_not_found", "attendees.csv", 6),
        ("http_429", "late.xlsx", 2),
        ("http_429", "late.xlsx", 3),
        ("invalid_email", "attendees.csv", 3),
    ]
    assert [e["count_in_group"] for e in lines] == [1, 2, 2, 1]
    assert lines[3]["fix"].startswith("Correct the email in attendees.csv row 3 (found: 'bad@@example.com')")
    assert "importer retry" in lines[1]["fix"] and lines[1]["correlation_id"] == "corr-429"
    assert lines[1]["vid"] == 202
    assert ws.freeze_panes == "A2"
    assert [e["name"] for e in lines] == ["cr", None, None, '=HYPERLINK("http://x","y") +1']
    for letter, cell in zip("ABCDEFGHIJK", ws[1], strict=True):
        assert width_of(ws, letter) >= len(cell.value), cell.value
    assert width_of(ws, "G") >= 40 and ws["G2"].alignment.wrap_text  # message
    assert width_of(ws, "H") >= 40 and ws["H2"].alignment.wrap_text  # fix


def test_errors_sheet_shows_the_original_values(tmp_path: Path) -> None:
    rows = make_rows()
    originals = {
        ("attendees.csv", 3): (("First Name", "Email", "Join Time", ""), ("Bo", "bad@@example.com", "", "")),
    }
    path = write_report(build_report(rows_table(*rows), make_summary(), originals=originals), tmp_path / "r.xlsx")
    ws = load_workbook(path)["Errors"]
    header = [c.value for c in ws[1]]
    lines = [dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert lines[3]["original_values"] == "First Name: Bo; Email: bad@@example.com"
    assert lines[0]["original_values"] is None


def test_errors_sheet_says_no_problems(tmp_path: Path) -> None:
    fine = [r for r in make_rows() if r["outcome"] not in (Outcome.REJECTED, Outcome.FAILED)]
    path = write_report(build_report(rows_table(*fine), make_summary(exit_code=0)), tmp_path / "r.xlsx")
    ws = load_workbook(path)["Errors"]
    assert ws["A2"].value == "No problems"
    assert ws.max_row == 2


def test_rows_sheet_reads_like_a_list(xlsx: Path) -> None:
    ws = load_workbook(xlsx)["Rows"]
    header = {c.value: c.column_letter for c in ws[1]}
    message = header["message"]
    assert width_of(ws, message) >= 40
    assert ws[f"{message}3"].alignment.wrap_text
    for name in ("event_id", "time_source", "batch_id", "correlation_id", "profile"):
        dim = ws.column_dimensions[header[name]]
        assert dim.hidden and dim.outline_level == 1, name  # folded, not gone
    for name in ("email", "outcome", "reason", "first_name", "last_name"):
        assert not ws.column_dimensions[header[name]].hidden, name


def test_empty_report_still_writes(tmp_path: Path) -> None:
    report = build_report(rows_table(), make_summary(exit_code=0))
    for name in ("e.xlsx", "e.csv", "e.json"):
        summary, rows = read_report(write_report(report, tmp_path / name))
        assert rows == []
    assert load_workbook(tmp_path / "e.xlsx").sheetnames == ["Summary", "Rows", "Errors"]


# --------------------------------------------------------------------------- csv / json


def test_csv_encoding_columns_and_guard(tmp_path: Path, report: Report) -> None:
    path = write_report(report, tmp_path / "out.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        records = list(csv.reader(fh))
    assert tuple(records[0][:9]) == CORE_COLUMNS
    assert records[0][len(ROW_COLUMNS) :] == ["first_name", "last_name", "company"]
    assert len(records) == len(report.rows) + 1
    first = dict(zip(records[0], records[1], strict=True))
    assert first["interaction_time_utc"] == "2024-11-05T15:58:03Z"
    assert first["interaction_time_local"] == "2024-11-05T16:58:03+01:00"
    assert first["last_name"] == "Müller" and first["vid"] == "101"
    cells = {c for rec in records[1:] for c in rec}
    for value in DANGEROUS:
        assert "'" + value in cells and value not in cells
    assert "''quoted" in cells
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)


def test_json_lines(tmp_path: Path, report: Report) -> None:
    path = write_report(report, tmp_path / "out.json")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    head = lines[0]
    assert head["type"] == "summary" and head["event_id"] == "987654" and head["outcome_failed"] == 2
    assert head["dry_run"] is False and head["exit_code"] == 1
    assert all(line["type"] == "row" for line in lines[1:]) and len(lines) == len(report.rows) + 1
    row = lines[2]
    assert list(row)[1:10] == list(CORE_COLUMNS)
    assert row["interaction_time_utc"] == "2024-11-05T15:58:03.250Z"
    assert row["first_name"] == DANGEROUS[0] and row["vid"] is None and row["source_row"] == 3
    assert lines[8]["created_contact"] is True


def test_format_from_extension_and_errors(tmp_path: Path, report: Report) -> None:
    assert write_report(report, tmp_path / "x.jsonl").read_text(encoding="utf-8").startswith('{"type": "summary"')
    forced = write_report(report, tmp_path / "x.txt", fmt="csv")
    assert forced.read_bytes().startswith(b"\xef\xbb\xbfsource_file,")
    with pytest.raises(InputError):
        write_report(report, tmp_path / "x.txt")
    with pytest.raises(InputError):
        write_report(report, tmp_path / "x.xlsx", fmt="pdf")


def test_write_is_atomic_and_leaves_no_temp(tmp_path: Path, report: Report) -> None:
    target = tmp_path / "sub" / "out.xlsx"
    target.parent.mkdir()
    target.write_text("old")
    write_report(report, target)
    assert zipfile.is_zipfile(target)
    assert [p.name for p in target.parent.iterdir()] == ["out.xlsx"]
    mask = os.umask(0o022)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask  # as any new file, not owner-only like a temp file


# --------------------------------------------------------------------------- read back


@pytest.mark.parametrize("suffix", ["xlsx", "csv", "json"])
def test_read_report_round_trip(tmp_path: Path, report: Report, suffix: str) -> None:
    summary, rows = read_report(write_report(report, tmp_path / f"out.{suffix}"))
    assert summary["event_id"] == "987654"
    assert len(rows) == len(report.rows)
    assert all(isinstance(v, str) for r in rows for v in r.values())
    written = report.rows.to_pylist()
    assert [r["source_file"] for r in rows] == [r["file"] for r in written]
    assert [r["source_row"] for r in rows] == [str(r["row"]) for r in written]
    assert [r["vid"] for r in rows] == [str(r["vid"]) if r["vid"] is not None else "" for r in written]
    assert [r["outcome"] for r in rows] == [r["outcome"] for r in written]
    assert rows[0]["interaction_time_utc"] == "2024-11-05T15:58:03Z"
    assert rows[1]["interaction_time_utc"] == "2024-11-05T15:58:03.250Z"
    assert rows[5]["interaction_time_utc"] == "2024-11-05T16:00:00Z"
    assert rows[0]["interaction_time_local"] == "2024-11-05T16:58:03+01:00"
    assert rows[2]["merged_into"] == "attendees.csv:2"
    assert rows[7]["created_contact"] == "yes" and rows[0]["created_contact"] == "no"
    assert rows[5]["correlation_id"] == "corr-429"
    extras = [(r["first_name"], r["last_name"]) for r in rows[:5]]
    assert extras == [("Ana", "Müller"), (DANGEROUS[0], "+1"), ("-2", "@SUM(A1)"), ("\tx", "'quoted"), ("\rcr", "")]
    assert rows[5]["company"] == "Acme" and rows[0]["company"] == ""
    if suffix != "csv":
        assert summary["dry_run"] == "no" and summary["outcome_failed"] == "2" and summary["run_id"] == "run-42"


def test_read_report_refuses_other_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_report(tmp_path / "nope.xlsx")
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="lacks the columns"):
        read_report(other)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(InputError):
        read_report(broken)


text_cells = st.lists(
    st.sampled_from(["=", "+", "-", "@", "\t", "\r", "\n", "'", "a", " ", ",", '"', "é", "_x000D_", "\x01"]), max_size=6
).map("".join)


@pytest.mark.parametrize("suffix", ["xlsx", "csv", "json"])
@settings(max_examples=25, deadline=None)
@given(first=text_cells, last=text_cells)
def test_round_trip_any_text(tmp_path_factory: pytest.TempPathFactory, suffix: str, first: str, last: str) -> None:
    row = dict(file="a.csv", row=2, email="a@b.co", outcome=Outcome.RECORDED, extra=(("first", first), ("last", last)))
    path = tmp_path_factory.mktemp("rt") / f"r.{suffix}"
    write_report(build_report(rows_table(row), make_summary()), path)
    _, rows = read_report(path)
    assert (rows[0]["first"], rows[0]["last"]) == (first, last)


def test_extra_name_clash_is_renamed(tmp_path: Path) -> None:
    row = dict(file="a.csv", row=2, email="a@b.co", outcome=Outcome.RECORDED, extra=(("email", "Other"), ("type", "x")))
    _, rows = read_report(write_report(build_report(rows_table(row), make_summary()), tmp_path / "r.json"))
    assert rows[0]["email"] == "a@b.co" and rows[0]["email (source)"] == "Other" and rows[0]["type (source)"] == "x"


# --------------------------------------------------------------------------- terminal


def test_render_terminal(report: Report) -> None:
    text = render_terminal(report, width=80)
    assert all(len(line) <= 80 for line in text.splitlines())
    for outcome in Outcome:
        assert re.search(rf"^\s+{outcome.value}\s+\d", text, re.M), outcome
    assert re.search(r"failed\s+2$", text, re.M) and re.search(r"planned\s+0$", text, re.M)
    assert "out.xlsx" in text
    assert "Needs attention: 4 rows rejected or failed." in text
    assert text.index("http_429 (2") < text.index("contact_not_found (1") < text.index("invalid_email (1")
    assert "Temporary HubSpot problem" in text
    assert "rejected or failed" in text[: text.index("Next: ")].splitlines()[-1]
    assert "1 contact is not in HubSpot: add it, then `importer retry " in " ".join(
        text[text.index("Next: ") :].split()
    )


def test_render_terminal_all_good(tmp_path: Path) -> None:
    row = dict(file="a.csv", row=2, email="a@b.co", vid=1, when_ms=T0, outcome=Outcome.PLANNED, reason=Reason.DRY_RUN)
    text = render_terminal(build_report(rows_table(row), make_summary(dry_run=True, exit_code=0)), width=60)
    assert "Dry run" in text and "Needs attention" not in text
    assert re.search(r"planned\s+1$", text, re.M)
    assert all(len(line) <= 60 for line in text.splitlines())


# --------------------------------------------------------------------------- large reports


def _word(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _iso(ms: int | None, zone: Any = UTC) -> str:
    if ms is None or zone is None:
        return ""
    text = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).astimezone(zone)
    iso = text.isoformat(timespec="milliseconds" if ms % 1000 else "seconds")
    return iso.replace("+00:00", "Z") if zone is UTC else iso


def _expected_cells(rows: Rows, summary: RunSummary) -> tuple[tuple[str, ...], list[list[Any]]]:
    """The Rows columns defined row by row from the keyword rows, as the oracle of every writer."""
    event, zone = summary.event, parse_zone(summary.timezone) if summary.timezone else None
    profiles = {f.file: f.profile for f in summary.files}
    names = list(dict.fromkeys(name for r in rows for name, _ in r.get("extra", ())))
    labels: list[str] = []
    for name in names:
        label = name
        while label in (*ROW_COLUMNS, *ALSO_COLUMNS, "type") or label in labels:
            label += " (source)"
        labels.append(label)
    also = any(r.get("also_state") for r in rows)

    def sent_at(r: dict[str, Any], p: str) -> int | None:
        ms = r.get(f"{p}when_ms")
        return ms if ms is not None or (r.get(f"{p}time_source") or "file") == "file" else event.start_ms

    def ref(r: dict[str, Any], p: str) -> str:
        return f"{r[p + 'merged_file']}:{r[p + 'merged_row']}" if r.get(f"{p}merged_file") else ""

    out = []
    for r in rows:
        t = {k: _word(v) for k, v in r.items()}
        ms = sent_at(t, "")
        values = [
            t["file"], t["row"], t.get("email") or "", t.get("vid"), t.get("state") or "", _iso(ms),
            t.get("outcome") or "", t.get("reason") or "", t.get("message") or "", event.object_id, _iso(ms, zone),
            t.get("time_source") or "file", ref(t, ""), t.get("batch_id") or "", t.get("correlation_id") or "",
            bool(t.get("created_contact")), profiles.get(t["file"], ""),
        ]  # fmt: skip
        if also and t.get("also_state"):
            values += [
                t["also_state"], _iso(sent_at(t, "also_")), t.get("also_outcome") or "", t.get("also_reason") or "",
                t.get("also_message") or "", t.get("also_time_source") or "file", ref(t, "also_"),
            ]  # fmt: skip
        elif also:
            values += [""] * len(ALSO_COLUMNS)
        extra = dict(t.get("extra", ()))
        out.append(values + [extra.get(name, "") for name in names])
    return (*ROW_COLUMNS, *(ALSO_COLUMNS if also else ()), *labels), out


def _csv_expected(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = "yes" if value is True else "no" if value is False else "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r", "'") else text


def _check_csv_and_json(tmp_path: Path, rows: Rows, summary: RunSummary) -> None:
    """The CSV and JSON reports hold exactly the cells the row-by-row definition gives."""
    report = build_report(rows_table(*rows), summary)
    names, expected = _expected_cells(rows, summary)
    with write_report(report, tmp_path / "big.csv").open(encoding="utf-8-sig", newline="") as fh:
        records = list(csv.reader(fh))
    assert tuple(records[0]) == names
    assert records[1:] == [[_csv_expected(v) for v in values] for values in expected]
    lines = write_report(report, tmp_path / "big.json").read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == len(rows) + 2
    for line, values in zip(lines[1:-1], expected, strict=True):
        assert line == json.dumps({"type": "row", **dict(zip(names, values, strict=True))}, ensure_ascii=False)


def _many_rows(n: int) -> Rows:
    out = []
    for i in range(n):
        extra: tuple[tuple[str, str], ...] = (("first_name", f"First{i}"), ("last_name", f"Last {i}"))
        if i % 97 == 0:
            extra = (("name", f"N%s {i}"),)
        elif i % 89 == 0:
            extra = ()
        out.append(
            dict(
                file="big.csv",
                row=i + 2,
                email=f"user{i}@example.com" if i % 13 else None,
                vid=1000 + i if i % 3 else None,
                state=State.ATTEND if i % 5 else State.REGISTER,
                when_ms=T0 + (i % 600) * 1000 + (250 if i % 7 == 0 else 0) if i % 11 else None,
                time_source="file" if i % 11 else "event_start",
                outcome=Outcome.PLANNED if i % 17 else Outcome.REJECTED,
                reason=Reason.DRY_RUN if i % 17 else Reason.CONTACT_NOT_FOUND,
                message=f"Would be recorded at {i % 600}." if i % 17 else "No contact, add it, then retry.",
                merged_file="big.csv" if i % 101 == 0 else None,
                merged_row=2 if i % 101 == 0 else None,
                batch_id=f"b{i // 100}",
                created_contact=i % 19 == 0,
                extra=extra,
            )
        )
    return out


def test_large_csv_and_json_match_the_row_by_row_definition(tmp_path: Path) -> None:
    """The column-wise writers (fast path for big files) say exactly what the workbook says, row by row."""
    _check_csv_and_json(tmp_path, _many_rows(3000), make_summary(timezone="America/New_York"))


def test_large_clean_columns_and_one_risky_cell(tmp_path: Path) -> None:
    rows = [{**r, "extra": (("first_name", f"F{r['row']}"),)} for r in _many_rows(500)]
    rows[250] = {**rows[250], "email": "=cmd|'/c calc'!A1", "extra": (("first_name", '-2+3,"x"'),)}
    _check_csv_and_json(tmp_path, rows, make_summary(timezone=None))
    text = (tmp_path / "big.csv").read_text(encoding="utf-8-sig")
    assert "'=cmd|'/c calc'!A1" in text and '"\'-2+3,""x"""' in text


#: Text with every character JSON escapes (backslash, every control character) and some it does not.
any_text = st.lists(
    st.sampled_from(["\\", "\x1f", "\b", "\f", "\x00", "\x7f", "\u2028", "\U0001f600", '"', "\n", "'", "=", "a", ","]),
    max_size=6,
).map("".join)
text_or_none = st.one_of(st.none(), text_cells, any_text)


@settings(max_examples=30, deadline=None)
@given(
    cells=st.lists(
        st.tuples(text_or_none, text_cells, any_text, st.booleans(), st.sampled_from([None, T0, T0 + 5, -1001])),
        min_size=1,
        max_size=8,
    )
)
def test_any_rows_match_the_row_by_row_definition(
    tmp_path_factory: pytest.TempPathFactory, cells: list[tuple[str | None, str, str, bool, int | None]]
) -> None:
    rows = [
        dict(
            file=name or "f.csv",
            row=i + 2,
            email=email,
            message=message,
            when_ms=when,
            time_source="file" if when else "event_start",
            created_contact=flag,
            outcome=Outcome.FAILED,
            reason=message,
            extra=((name, message),) if name else (),
        )
        for i, (email, name, message, flag, when) in enumerate(cells)
    ]
    _check_csv_and_json(tmp_path_factory.mktemp("any"), rows, make_summary(timezone="Asia/Kolkata"))


def test_single_row_of_constants(tmp_path: Path) -> None:
    row = dict(file="a%s.csv", row=2, email="a@b.co", outcome=Outcome.RECORDED, vid=7, extra=(("x%", "%d"),))
    _check_csv_and_json(tmp_path, [row, row], make_summary())


# --------------------------------------------------------------------------- choosing the format


def test_choose_format_switches_big_default_workbooks_to_csv(tmp_path: Path) -> None:
    default = tmp_path / "attendees.reconciliation.xlsx"
    path, note = choose_format(default, 1_000_000, explicit=False)
    assert path == tmp_path / "attendees.reconciliation.csv"
    assert note is not None
    assert "1,000,000 rows" in note and "CSV" in note and "Excel" in note
    assert "--report attendees.reconciliation.xlsx" in note


@pytest.mark.parametrize(
    ("name", "rows", "explicit"),
    [
        ("r.xlsx", 1_000_000, True),  # the user asked for a workbook
        ("r.xlsx", 200_000, False),  # at the limit
        ("r.csv", 1_000_000, False),
        ("r.json", 1_000_000, False),
    ],
)
def test_choose_format_keeps_other_paths(tmp_path: Path, name: str, rows: int, explicit: bool) -> None:
    assert choose_format(tmp_path / name, rows, explicit) == (tmp_path / name, None)


def test_choose_format_just_above_the_limit() -> None:
    path, note = choose_format(Path("out/R.XLSX"), 200_001, explicit=False)
    assert path == Path("out/R.csv") and note is not None and "200,001 rows" in note


@pytest.mark.parametrize("suffix", ["xlsx", "csv", "json"])
def test_contact_ids_beyond_double_precision_survive(tmp_path: Path, suffix: str) -> None:
    """Excel keeps numbers as doubles: a vid above 2**53 must be written as text, not rounded."""
    vids = [2**53, 2**53 + 1, 2**63 - 1]
    rows = [
        dict(file="a.csv", row=i + 2, email=f"u{i}@x.co", vid=v, outcome=Outcome.RECORDED) for i, v in enumerate(vids)
    ]
    _, back = read_report(write_report(build_report(rows_table(*rows), make_summary()), tmp_path / f"r.{suffix}"))
    assert [r["vid"] for r in back] == [str(v) for v in vids]


# --------------------------------------------------------------------------- a row's second participation


def two_part_rows() -> Rows:
    return [
        dict(file="attendees.csv", row=2, email="a@example.com", vid=11, state=State.REGISTER, when_ms=T0 - 86_400_000,
            outcome=Outcome.FAILED, reason="http_5xx", message="Not sent: HubSpot answered 503.",
            also_state=State.ATTEND, also_when_ms=T0, also_time_source="file", also_outcome=Outcome.RECORDED,
            also_reason="", also_message="Recorded as attend."),
        dict(file="attendees.csv", row=3, email="a@example.com", vid=11, state=State.ATTEND, when_ms=T0 + 60_000,
            outcome=Outcome.MERGED, reason="duplicate_contact", message="Same contact.",
            merged_file="attendees.csv", merged_row=2,
            also_state=State.REGISTER, also_time_source="event_start", also_outcome=Outcome.MERGED,
            also_reason="duplicate_contact", also_message="Same contact.",
            also_merged_file="attendees.csv", also_merged_row=2),
        dict(file="attendees.csv", row=4, email="b@example.com", vid=12, state=State.REGISTER, when_ms=T0,
            outcome=Outcome.RECORDED, message="Recorded as register."),
    ]  # fmt: skip


def test_states_count_both_participations_of_a_row() -> None:
    report = build_report(rows_table(*two_part_rows()), make_summary())
    assert report.by_state == {"attend": 1, "register": 1}  # the failed registration is not counted
    assert report.counts["failed"] == 1 and report.counts["recorded"] == 1


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_second_participations_are_written_and_read_back(tmp_path: Path, fmt: str) -> None:
    rows = two_part_rows()
    path = write_report(build_report(rows_table(*rows), make_summary(timezone=None)), tmp_path / f"r.{fmt}")
    _, table = read_report(path)
    assert list(table[0])[: len(ROW_COLUMNS) + len(ALSO_COLUMNS)] == [*ROW_COLUMNS, *ALSO_COLUMNS]
    first, rejoin, single = table
    assert (first["state"], first["outcome"], first["also_state"], first["also_outcome"]) == (
        "register", "failed", "attend", "recorded"
    )  # fmt: skip
    assert first["also_time_utc"] == iso_utc(T0) and first["also_message"] == "Recorded as attend."
    # a second participation at the event's start shows that time, and says so
    assert (rejoin["also_time_utc"], rejoin["also_time_source"]) == (iso_utc(EVENT.start_ms), "event_start")
    assert rejoin["also_merged_into"] == "attendees.csv:2"
    assert [single[c] for c in ALSO_COLUMNS] == [""] * len(ALSO_COLUMNS)
    back = rows_from_report(table).to_pylist()
    assert [b["also_state"] for b in back] == ["attend", "register", None]
    assert (back[0]["also_when_ms"], back[0]["also_outcome"], back[0]["also_message"]) == (
        T0, "recorded", "Recorded as attend."
    )  # fmt: skip
    also = ("also_when_ms", "also_time_source", "also_outcome", "also_merged_file", "also_merged_row")
    assert [back[1][c] for c in also] == [EVENT.start_ms, "event_start", "merged", "attendees.csv", 2]
    assert all(back[2][c] is None for c in also)


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_rows_read_back_are_the_rows_written(tmp_path: Path, fmt: str) -> None:
    """Every format reads back into the rows table that was written (times the event start filled in)."""
    rows = make_rows()
    _, lines = read_report(write_report(build_report(rows_table(*rows), make_summary()), tmp_path / f"r.{fmt}"))
    back = rows_from_report(lines).to_pylist()
    keys = ("file", "row", "email", "vid", "state", "outcome", "merged_file", "merged_row")
    assert [[b[k] for k in keys] for b in back] == [[_word(r.get(k)) for k in keys] for r in rows]
    texts = ("reason", "message", "batch_id", "correlation_id")
    assert [[b[k] for k in texts] for b in back] == [[_word(r.get(k)) or "" for k in texts] for r in rows]
    assert [b["when_ms"] for b in back] == [r.get("when_ms") or EVENT.start_ms for r in rows]
    assert [b["created_contact"] for b in back] == [r.get("created_contact", False) for r in rows]
    assert [dict(b["extra"]) for b in back] == [{k: v for k, v in r.get("extra", ()) if v} for r in rows]
    assert all(b["also_state"] is None for b in back)


def test_reports_without_a_second_participation_keep_their_columns(tmp_path: Path, report: Report) -> None:
    _, table = read_report(write_report(report, tmp_path / "r.csv"))
    assert not set(ALSO_COLUMNS) & set(table[0])


def test_state_counts_take_a_rows_second_participation(tmp_path: Path) -> None:
    both = dict(file="a.csv", row=2, email="a@b.co", vid=1, state=State.ATTEND, when_ms=T0, outcome=Outcome.RECORDED,
                also_state=State.REGISTER, also_when_ms=T0 - 86_400_000, also_outcome=Outcome.RECORDED)  # fmt: skip
    half = {**both, "row": 3, "vid": 2, "also_when_ms": T0, "also_outcome": Outcome.FAILED}
    report = build_report(rows_table(both, half), make_summary(exit_code=1))
    assert report.by_state == {"attend": 2, "register": 1}
    path = write_report(report, tmp_path / "r.xlsx")
    assert by_key_of(path)["headline"].startswith("3 participations recorded in Webinar: Pipelines.")


ZONES = ["UTC", "Europe/Amsterdam", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "America/St_Johns",
         "UTC-05:00", "UTC+05:45"]  # fmt: skip
#: From 1900 (Amsterdam's offset then had seconds: +00:19:32) to past 2037 (rules, not a table).
any_ms = st.integers(min_value=-2_208_988_800_000, max_value=4_102_444_800_000)
near_changes = st.sampled_from([1711846800000, 1730595600000, 1710054000000, -1001, 0]).flatmap(
    lambda ms: st.integers(min_value=ms - 3_600_000, max_value=ms + 3_600_000)
)  # around spring-forward and fall-back instants, and the epoch


@settings(max_examples=20, deadline=None)
@given(zone=st.sampled_from(ZONES), times=st.lists(st.one_of(any_ms, near_changes), min_size=1, max_size=40))
def test_times_read_as_python_writes_them(
    tmp_path_factory: pytest.TempPathFactory, zone: str, times: list[int]
) -> None:
    """Each time in UTC and in the run's zone, computed column-wise, reads as ``datetime.isoformat``."""
    rows = [
        dict(file="t.csv", row=i + 2, state=State.ATTEND, when_ms=ms, outcome=Outcome.PLANNED)
        for i, ms in enumerate(times)
    ]
    summary = make_summary(timezone=zone)
    path = write_report(build_report(rows_table(*rows), summary), tmp_path_factory.mktemp("t") / "t.csv")
    _, back = read_report(path)
    assert [r["interaction_time_utc"] for r in back] == [_iso(ms) for ms in times]
    assert [r["interaction_time_local"] for r in back] == [_iso(ms, parse_zone(zone)) for ms in times]


# --------------------------------------------------------------------------- parts, literal columns, times once


def _csv_written(names: tuple[str, ...], expected: list[list[Any]]) -> bytes:
    """The CSV report as the standard library's ``csv.writer`` (Excel's dialect) writes its cells."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(names)
    writer.writerows([_csv_expected(v) for v in values] for values in expected)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


few_texts = st.sampled_from(["", "planned", "=1+1", 'say "hi"', "a,b", "line\nnext", "é", "'q", "\\"])
few_times = st.sampled_from([None, T0, T0 + 250, -1001, T0 + 86_400_000])
report_row = st.fixed_dictionaries(
    {
        "file": st.sampled_from(["attendees.csv", "late.xlsx", "other.csv"]),
        "email": st.one_of(st.none(), few_texts),
        "vid": st.sampled_from([None, 7, 2**62]),
        "state": st.sampled_from([State.ATTEND, State.REGISTER]),
        "when_ms": few_times,
        "time_source": st.sampled_from(["file", "event_start"]),
        "outcome": st.sampled_from([Outcome.PLANNED, Outcome.REJECTED]),
        "reason": st.sampled_from([Reason.DRY_RUN.value, "=bad"]),
        "message": few_texts,
        "batch_id": few_texts,
        "correlation_id": few_texts,
        "created_contact": st.booleans(),
        "extra": st.sampled_from([(), (("first_name", "Ann"),), (("first_name", "=x"), ("state", 'q"'))]),
    },
    optional={
        "also": st.fixed_dictionaries(
            {"also_state": st.just(State.REGISTER), "also_when_ms": few_times, "also_message": few_texts}
        )
    },
)


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(report_row, min_size=1, max_size=14),
    part_rows=st.integers(1, 6),
    line_rows=st.integers(1, 4),
    zone=st.sampled_from([*ZONES, None]),
)
def test_csv_and_json_are_what_the_standard_library_writes_whatever_the_parts(
    tmp_path_factory: pytest.TempPathFactory, rows: Rows, part_rows: int, line_rows: int, zone: str | None
) -> None:
    """Byte for byte ``csv.writer`` and ``json.dumps`` of the row-by-row cells, whether a column
    is one text in a part (written once, as a literal) or not, and however the parts and their
    lines are cut."""
    rows = [
        {**{k: v for k, v in r.items() if k != "also"}, **r.get("also", {}), "row": i + 2} for i, r in enumerate(rows)
    ]
    summary = make_summary(timezone=zone)
    names, expected = _expected_cells(rows, summary)
    report = build_report(rows_table(*rows), summary)
    tmp = tmp_path_factory.mktemp("parts")
    with patch.object(report_cells, "PART_ROWS", part_rows), patch.object(report_cells, "LINE_ROWS", line_rows):
        csv_path, json_path = write_report(report, tmp / "r.csv"), write_report(report, tmp / "r.json")
    assert csv_path.read_bytes() == _csv_written(names, expected)
    lines = json_path.read_text(encoding="utf-8").split("\n")[1:-1]
    assert lines == [
        json.dumps({"type": "row", **dict(zip(names, values, strict=True))}, ensure_ascii=False) for values in expected
    ]


@settings(max_examples=40, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    known=st.lists(st.one_of(any_ms, near_changes), min_size=1, max_size=5),
    picks=st.lists(st.integers(0, 5), min_size=1, max_size=30),
    split=st.integers(0, 30),
)
def test_times_many_rows_share_are_each_written_as_python_writes_them(
    zone: str, known: list[int], picks: list[int], split: int
) -> None:
    """A time is formatted once however many rows hold it: each row still reads its own, in
    chunks or not, and a missing time stays missing."""
    times = [known[i] if i < len(known) else None for i in picks]
    column = pa.chunked_array([pa.array(times[:split], pa.int64()), pa.array(times[split:], pa.int64())])
    tz = parse_zone(zone)
    assert utc_texts(column).to_pylist() == [None if ms is None else _iso(ms) for ms in times]
    assert local_texts(column, tz).to_pylist() == [None if ms is None else _iso(ms, tz) for ms in times]


def test_source_names_are_taken_in_the_order_first_seen_across_chunks() -> None:
    """The layout reads the names chunk by chunk (the column is not copied whole)."""
    first = rows_table({"row": 2, "extra": (("b", "1"),)}, {"row": 3})
    second = rows_table({"row": 4, "extra": (("a", "2"), ("b", "3"))}, {"row": 5, "extra": (("c", "4"),)})
    rows = pa.concat_tables([first, second])
    assert rows.column("extra").num_chunks == 2
    assert layout(rows).extras == ("b", "a", "c")
    # a null map whose offsets still span an entry (as Arrow allows): the entry is no row's
    spanning = pa.MapArray.from_arrays(
        pa.array([0, 1, 2], pa.int32()), pa.array(["z", "d"]), pa.array(["9", "5"]), mask=pa.array([True, False])
    )
    third = rows_table({"row": 6}, {"row": 7})
    third = third.set_column(third.schema.get_field_index("extra"), "extra", pa.chunked_array([spanning]))
    assert layout(pa.concat_tables([rows, third.cast(rows.schema)])).extras == ("b", "a", "c", "d")
