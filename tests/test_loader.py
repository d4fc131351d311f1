"""The loader turns any supported export into a grid of text cells with the row numbers Excel shows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.errors import InputError
from importer.loader import Sheet, load, sheet_names, sniff_delimiter


def grid(sheet: Sheet) -> list[list[str]]:
    return sheet.frame.values.tolist()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def assert_all_text(sheet: Sheet) -> None:
    assert list(sheet.frame.columns) == list(range(sheet.frame.shape[1]))
    assert all(type(v) is str for v in sheet.frame.to_numpy().ravel())
    assert sheet.row_numbers.dtype == np.int64
    assert len(sheet.row_numbers) == len(sheet.frame)
    assert list(sheet.frame.index) == list(range(len(sheet.frame)))


# --- encodings ------------------------------------------------------------------------------------


def test_plain_utf8(tmp_path: Path) -> None:
    p = write(tmp_path, "in.csv", "Email,First Name\nzoë@example.com,Zoë\nbob@example.com,Bob\n".encode())
    s = load(p)
    assert grid(s) == [["Email", "First Name"], ["zoë@example.com", "Zoë"], ["bob@example.com", "Bob"]]
    assert (s.encoding, s.delimiter, s.kind, s.sheet_name, s.notes) == ("utf-8", ",", "csv", None, ())
    assert s.row_numbers.tolist() == [1, 2, 3]
    assert s.file == str(p) and s.path == p
    assert_all_text(s)


def test_utf8_bom_is_not_part_of_first_cell(tmp_path: Path) -> None:
    s = load(write(tmp_path, "in.csv", "\ufeffEmail;Name\r\na@x.com;Jürgen\r\n".encode()))
    assert grid(s) == [["Email", "Name"], ["a@x.com", "Jürgen"]]
    assert (s.encoding, s.delimiter) == ("utf-8-sig", ";")


def test_teams_utf16_le_tab_crlf(tmp_path: Path) -> None:
    text = "1. Summary\r\nMeeting title\tWeekly sync\r\n\r\n2. Participants\r\nName\tEmail\tRole\r\n"
    text += "Renée Dupont\trenee@example.fr\tAttendee\r\nOwen\towen@example.com\tOrganizer\r\n"
    s = load(write(tmp_path, "teams.csv", text.encode("utf-16")))
    assert s.encoding == "utf-16" and s.delimiter == "\t"
    assert grid(s) == [
        ["1. Summary", "", ""],
        ["Meeting title", "Weekly sync", ""],
        ["2. Participants", "", ""],
        ["Name", "Email", "Role"],
        ["Renée Dupont", "renee@example.fr", "Attendee"],
        ["Owen", "owen@example.com", "Organizer"],
    ]
    assert s.row_numbers.tolist() == [1, 2, 4, 5, 6, 7]


def test_utf16_big_endian_with_bom(tmp_path: Path) -> None:
    s = load(write(tmp_path, "in.csv", "\ufeffEmail\tName\nä@x.de\tÄnne\n".encode("utf-16-be")))
    assert s.encoding == "utf-16" and grid(s) == [["Email", "Name"], ["ä@x.de", "Änne"]]


def test_utf16_without_bom_is_recognised(tmp_path: Path) -> None:
    s = load(write(tmp_path, "in.csv", "Email,Name\na@x.com,Ann\n".encode("utf-16-le")))
    assert s.encoding == "utf-16-le" and grid(s) == [["Email", "Name"], ["a@x.com", "Ann"]]
    assert any("UTF-16" in n for n in s.notes)


def test_cp1252_fallback_is_recorded(tmp_path: Path) -> None:
    s = load(write(tmp_path, "in.csv", "Email,Nom,Ville\nelise@x.fr,Élise Müller,Zürich – Süd\n".encode("cp1252")))
    assert s.encoding == "cp1252"
    assert grid(s)[1] == ["elise@x.fr", "Élise Müller", "Zürich – Süd"]
    assert any("cp1252" in n for n in s.notes)


def test_cp1252_undefined_bytes_still_load(tmp_path: Path) -> None:
    s = load(write(tmp_path, "in.csv", b"Email,Name\na@x.com,Ren\xe9\x81\n"))
    assert s.encoding == "cp1252" and grid(s)[1] == ["a@x.com", "René\x81"]


# --- delimiters -----------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter(tmp_path: Path, delimiter: str) -> None:
    others = "".join(d for d in (",", ";", "|") if d != delimiter)
    rows = [["Email", "Name", "Company"], ["a@x.com", f"Doe{others[0]} Jane", "ACME"], ["b@x.com", "Bo", f"B{others}"]]
    text = "\n".join(delimiter.join(r) for r in rows) + "\n"
    s = load(write(tmp_path, "in.csv", text.encode()))
    assert s.delimiter == delimiter
    assert grid(s) == rows


def test_excel_sep_hint_line_sets_delimiter_and_is_not_a_row(tmp_path: Path) -> None:
    s = load(write(tmp_path, "in.csv", b"sep=;\r\nEmail;Name,Title\r\na@x.com;Ann,CEO\r\n"))
    assert s.delimiter == ";" and grid(s) == [["Email", "Name,Title"], ["a@x.com", "Ann,CEO"]]
    assert s.row_numbers.tolist() == [1, 2]


def test_sniffer_ignores_title_lines_and_prefers_more_columns() -> None:
    sample = "Webinar report\nGenerated: 2024-03-01; by admin\n\nName\tEmail\tCity\nDoe, J\tj@x.com\tParis, FR\n"
    assert sniff_delimiter(sample, complete=True) == "\t"
    assert sniff_delimiter("Email\na@x.com\n", complete=True) == ","


def test_sniffer_is_not_fooled_by_commas_inside_teams_dates() -> None:
    sample = "1. Summary\r\nMeeting title\tSync\r\nStart time\t11/13/24, 2:00:05 PM\r\n\r\n2. Participants\r\n"
    sample += "Name\tFirst Join\tLast Leave\tEmail\tRole\r\n"
    sample += "Ann\t11/13/24, 2:01:10 PM\t11/13/24, 3:00:02 PM\tann@x.com\tAttendee\r\n" * 5
    assert sniff_delimiter(sample, complete=True) == "\t"
    semicolons = "Name;Email;Score;Rate\r\n" + "Müller, Hans;h@x.de;1,5;2,25\r\n" * 5
    assert sniff_delimiter(semicolons, complete=True) == ";"


# --- layout: title lines, sections, ragged rows, blank lines ---------------------------------------


def test_zoom_title_lines_sections_ragged_and_trailing_commas(tmp_path: Path) -> None:
    text = (
        "Meeting ID,Topic,Start Time,End Time,User Email,Duration (Minutes),Participants,\n"
        '812 3456 7890,"Q3 Launch, live",03/01/2024 10:00:00 AM,03/01/2024 11:00:00 AM,host@x.com,60,3,\n'
        "\n"
        "Participant Details,,,,,,,\n"
        "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest,\n"
        "Ann,ann@x.com,03/01/2024 10:01:00 AM,03/01/2024 10:59:00 AM,58,Yes,\n"
        "Bob,bob@x.com,03/01/2024 10:05:00 AM,03/01/2024 10:30:00 AM,25,No,\n"
    )
    s = load(write(tmp_path, "zoom.csv", text.encode()))
    assert s.delimiter == ","
    g = grid(s)
    assert s.frame.shape == (6, 7)
    assert g[0][0] == "Meeting ID" and g[1][1] == "Q3 Launch, live"
    assert g[2] == ["Participant Details", "", "", "", "", "", ""]
    assert g[3][:3] == ["Name (Original Name)", "User Email", "Join Time"] and g[3][6] == ""
    assert g[5] == ["Bob", "bob@x.com", "03/01/2024 10:05:00 AM", "03/01/2024 10:30:00 AM", "25", "No", ""]
    assert s.row_numbers.tolist() == [1, 2, 4, 5, 6, 7]


def test_goto_label_value_lines_above_the_table(tmp_path: Path) -> None:
    text = (
        "Generated,03/02/2024\nWebinar Name,Spring Update\nWebinar ID,123-456-789\n\n"
        "Attendee Details\nAttended,Interest Rating,First Name,Last Name,Email,Join Time\n"
        'Yes,50,Ann,Lee,ann@x.com,"Mar 01, 2024 10:01 AM EST"\n'
    )
    s = load(write(tmp_path, "goto.csv", text.encode()))
    assert s.frame.shape == (6, 6)
    assert grid(s)[5] == ["Yes", "50", "Ann", "Lee", "ann@x.com", "Mar 01, 2024 10:01 AM EST"]
    assert s.row_numbers.tolist() == [1, 2, 3, 5, 6, 7]


def test_embedded_newline_is_one_row_and_later_numbers_stay_right(tmp_path: Path) -> None:
    text = 'Email,Note\na@x.com,"line one\nline two\r\nline three"\n\nb@x.com,"say ""hi"""\n'
    s = load(write(tmp_path, "in.csv", text.encode()))
    assert grid(s) == [["Email", "Note"], ["a@x.com", "line one\nline two\r\nline three"], ["b@x.com", 'say "hi"']]
    assert s.row_numbers.tolist() == [1, 2, 4]


def test_blank_and_empty_lines_are_dropped_but_counted(tmp_path: Path) -> None:
    text = "\n\nEmail,Name\n,\n   \n\t,  \na@x.com,Ann\n\n\n"
    s = load(write(tmp_path, "in.csv", text.encode()))
    assert grid(s) == [["Email", "Name"], ["a@x.com", "Ann"]]
    assert s.row_numbers.tolist() == [3, 7]


def test_old_mac_line_endings(tmp_path: Path) -> None:
    s = load(write(tmp_path, "in.csv", b"Email,Name\ra@x.com,Ann\r\rb@x.com,Bo\r"))
    assert grid(s)[2] == ["b@x.com", "Bo"] and s.row_numbers.tolist() == [1, 2, 4]


def test_nul_bytes_are_stripped_with_a_note(tmp_path: Path) -> None:
    s = load(write(tmp_path, "in.csv", b"Email,Name\na@x.com\x00,A\x00nn\n\x00\x00\n"))
    assert grid(s) == [["Email", "Name"], ["a@x.com", "Ann"]]
    assert any("NUL" in n for n in s.notes)


def test_cells_are_stripped_including_nbsp_and_narrow_nbsp(tmp_path: Path) -> None:
    s = load(write(tmp_path, "in.csv", "Email , Name\n\u00a0a@x.com\u202f,\t Ann \u200b\n".encode()))
    assert grid(s) == [["Email", "Name"], ["a@x.com", "Ann"]]


def test_cells_stay_text_without_any_type_guessing(tmp_path: Path) -> None:
    s = load(write(tmp_path, "in.csv", b"Id,Flag,Missing,Zip,Big\n007,TRUE,NA,null,12345678901234567890\n"))
    assert grid(s)[1] == ["007", "TRUE", "NA", "null", "12345678901234567890"]


def test_single_column_file(tmp_path: Path) -> None:
    s = load(write(tmp_path, "in.csv", b"Email\na@x.com\n\nb@x.com\n"))
    assert grid(s) == [["Email"], ["a@x.com"], ["b@x.com"]] and s.row_numbers.tolist() == [1, 2, 4]


def test_wide_line_deep_in_a_regular_file_widens_the_grid(tmp_path: Path) -> None:
    lines = ["Email,Name"] + [f"u{i}@x.com,N{i}" for i in range(5000)] + ["late@x.com,Late,extra,more"]
    s = load(write(tmp_path, "in.csv", ("\n".join(lines) + "\n").encode()))
    assert s.frame.shape == (5002, 4)
    assert grid(s)[-1] == ["late@x.com", "Late", "extra", "more"] and grid(s)[1] == ["u0@x.com", "N0", "", ""]
    assert s.row_numbers[-1] == 5002


def test_header_only_file_is_returned(tmp_path: Path) -> None:
    s = load(write(tmp_path, "in.csv", b"Email,Name\n"))
    assert grid(s) == [["Email", "Name"]]


def test_csv_named_xlsx_is_read_as_csv_with_a_note(tmp_path: Path) -> None:
    s = load(write(tmp_path, "report.xlsx", b"Email\na@x.com\n"))
    assert s.kind == "csv" and grid(s) == [["Email"], ["a@x.com"]]
    assert any(".xlsx" in n for n in s.notes)
    assert sheet_names(tmp_path / "report.xlsx") == []
    assert any("ignored" in n for n in load(tmp_path / "report.xlsx", sheet="Attendees").notes)


cell_text = st.text(alphabet="ab é,\"'\n\r@.", max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cell_text, max_size=5), min_size=1, max_size=12), pad=st.integers(0, 2))
def test_any_written_csv_reads_back_with_spreadsheet_row_numbers(
    tmp_path: Path, rows: list[list[str]], pad: int
) -> None:
    """Whatever a CSV writer produces (ragged or not), the grid and Excel's row numbers come back."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row + [""] * pad if row else row)
    p = write(tmp_path, "prop.csv", buf.getvalue().encode())
    if not any(c.strip() for r in rows for c in r):
        return
    s = load(p)
    kept = [(i + 1, [c.strip() for c in r]) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    width = max(j + 1 for _, r in kept for j, c in enumerate(r) if c)
    assert s.row_numbers.tolist() == [n for n, _ in kept]
    assert grid(s) == [(r + [""] * width)[:width] for _, r in kept]


# --- workbooks ------------------------------------------------------------------------------------


def make_xlsx(path: Path, build: object) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    build(wb)  # type: ignore[operator]
    wb.close()
    return path


def test_xlsx_title_rows_and_leading_empty_rows_keep_excel_row_numbers(tmp_path: Path) -> None:
    def build(wb: xlsxwriter.Workbook) -> None:
        ws = wb.add_worksheet("Report")
        ws.write("B3", "Attendee report")
        ws.write_row("B5", ["Email", "Name"])
        ws.write_row("B6", ["a@x.com", "Ann"])
        ws.write_row("B8", ["  b@x.com\u00a0", "Bo"])

    s = load(make_xlsx(tmp_path / "r.xlsx", build))
    assert (s.kind, s.sheet_name, s.encoding, s.delimiter) == ("xlsx", "Report", None, None)
    assert s.row_numbers.tolist() == [3, 5, 6, 8]
    assert grid(s) == [
        ["", "Attendee report", ""],
        ["", "Email", "Name"],
        ["", "a@x.com", "Ann"],
        ["", "b@x.com", "Bo"],
    ]
    assert_all_text(s)


def test_xlsx_cell_types_become_text(tmp_path: Path) -> None:
    def build(wb: xlsxwriter.Workbook) -> None:
        ws = wb.add_worksheet()
        stamp = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        day = wb.add_format({"num_format": "dd/mm/yyyy"})
        clock = wb.add_format({"num_format": "hh:mm"})
        ws.write_row(0, 0, ["Email", "Joined", "Day", "At", "Minutes", "Score", "Paid", "Serial", "Phone"])
        ws.write(1, 0, "a@x.com")
        ws.write_datetime(1, 1, dt.datetime(2024, 3, 1, 9, 30, 15), stamp)
        ws.write_datetime(1, 2, dt.datetime(2024, 3, 2), day)
        ws.write_datetime(1, 3, dt.time(14, 5), clock)
        ws.write_number(1, 4, 58.0)
        ws.write_number(1, 5, 4.25)
        ws.write_boolean(1, 6, False)
        ws.write_number(1, 7, 45352)
        ws.write_number(1, 8, 4915112345678)

    s = load(make_xlsx(tmp_path / "t.xlsx", build))
    assert grid(s)[1] == [
        "a@x.com",
        "2024-03-01 09:30:15",
        "2024-03-02",
        "14:05:00",
        "58",
        "4.25",
        "FALSE",
        "45352",
        "4915112345678",
    ]


def test_xlsx_formulas_give_cached_values(tmp_path: Path) -> None:
    def build(wb: xlsxwriter.Workbook) -> None:
        ws = wb.add_worksheet()
        ws.write_row(0, 0, ["First", "Last", "Email", "Total"])
        ws.write_row(1, 0, ["ann", "lee"])
        ws.write_formula(1, 2, '=A2&"."&B2&"@x.com"', None, "ann.lee@x.com")
        ws.write_formula(1, 3, "=2*21", None, 42)

    s = load(make_xlsx(tmp_path / "f.xlsx", build))
    assert grid(s)[1] == ["ann", "lee", "ann.lee@x.com", "42"]


def test_xlsx_merged_header_value_in_first_cell_only(tmp_path: Path) -> None:
    def build(wb: xlsxwriter.Workbook) -> None:
        ws = wb.add_worksheet()
        ws.merge_range("A1:C1", "Webinar attendees")
        ws.merge_range("A2:A3", "Email")
        ws.write_row("B2", ["Name", "Joined"])
        ws.write_row("A4", ["a@x.com", "Ann", "10:00"])

    s = load(make_xlsx(tmp_path / "m.xlsx", build))
    assert grid(s) == [["Webinar attendees", "", ""], ["Email", "Name", "Joined"], ["a@x.com", "Ann", "10:00"]]
    assert s.row_numbers.tolist() == [1, 2, 4]


def several_sheets(wb: xlsxwriter.Workbook) -> None:
    summary = wb.add_worksheet("Summary")
    summary.write_row(0, 0, ["Webinar", "Spring update"])
    summary.write_row(1, 0, ["Host", "host@x.com"])
    hidden = wb.add_worksheet("Old attendees")
    for i in range(5):
        hidden.write_row(i, 0, [f"old{i}@x.com"])
    hidden.hide()
    people = wb.add_worksheet("Sheet3")
    people.write_row(0, 0, ["E-mail", "Name"])
    people.write_row(1, 0, ["a@x.com", "Ann"])
    people.write_row(2, 0, ["b@x.com", "Bo"])


def test_several_sheets_picks_the_one_with_attendees(tmp_path: Path) -> None:
    p = make_xlsx(tmp_path / "multi.xlsx", several_sheets)
    s = load(p)
    assert s.sheet_name == "Sheet3" and grid(s)[0] == ["E-mail", "Name"]
    assert any("'Sheet3'" in n and "2 sheets" in n for n in s.notes)
    assert sheet_names(p) == ["Summary", "Old attendees", "Sheet3"]


def test_sheet_named_explicitly_even_hidden_and_case_insensitively(tmp_path: Path) -> None:
    p = make_xlsx(tmp_path / "multi.xlsx", several_sheets)
    assert grid(load(p, sheet="Summary"))[1] == ["Host", "host@x.com"]
    s = load(p, sheet="old ATTENDEES")
    assert s.sheet_name == "Old attendees" and len(s.frame) == 5 and s.notes == ()


def test_sheet_without_any_email_falls_back_to_the_first_with_a_note(tmp_path: Path) -> None:
    def build(wb: xlsxwriter.Workbook) -> None:
        wb.add_worksheet("Blank")
        wb.add_worksheet("Data").write_row(0, 0, ["Name", "Joined"])
        wb.add_worksheet("More").write_row(0, 0, ["x"])

    s = load(make_xlsx(tmp_path / "n.xlsx", build))
    assert s.sheet_name == "Data" and any("no sheet looks like" in n for n in s.notes)


def test_xlsx_named_csv_is_read_as_a_workbook(tmp_path: Path) -> None:
    def build(wb: xlsxwriter.Workbook) -> None:
        wb.add_worksheet().write_row(0, 0, ["Email", "a@x.com"])

    p = make_xlsx(tmp_path / "renamed.csv", build)
    s = load(p)
    assert s.kind == "xlsx" and grid(s) == [["Email", "a@x.com"]] and any(".csv" in n for n in s.notes)


def ods_bytes(rows: list[list[str]], name: str = "Guests") -> bytes:
    """A minimal OpenDocument spreadsheet, enough for any ODS reader."""

    def cell(c: str) -> str:
        if not c:
            return "<table:table-cell/>"
        return f'<table:table-cell office:value-type="string"><text:p>{escape(c)}</text:p></table:table-cell>'

    body = "".join("<table:table-row>" + "".join(cell(c) for c in r) + "</table:table-row>" for r in rows)
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2"><office:body>'
        f'<office:spreadsheet><table:table table:name="{name}">{body}</table:table></office:spreadsheet>'
        "</office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", manifest)
        z.writestr("content.xml", content)
    return buf.getvalue()


def test_ods_is_read(tmp_path: Path) -> None:
    p = write(tmp_path, "export.ods", ods_bytes([["Luma export"], [], ["email", "name"], ["a@x.com", "Ann"]]))
    s = load(p)
    assert (s.kind, s.sheet_name) == ("ods", "Guests")
    assert grid(s) == [["Luma export", ""], ["email", "name"], ["a@x.com", "Ann"]]
    assert s.row_numbers.tolist() == [1, 3, 4]
    assert sheet_names(p) == ["Guests"]


# --- big files: title lines above a regular table stay on the fast path -------------------------------


def expected(rows: list[list[str]]) -> tuple[list[int], list[list[str]]]:
    """What a spreadsheet app shows: non-blank records, their 1-based numbers, stripped and padded."""
    kept = [(i + 1, [c.strip() for c in r]) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    width = max(j + 1 for _, r in kept for j, c in enumerate(r) if c)
    return [n for n, _ in kept], [(r + [""] * width)[:width] for _, r in kept]


def csv_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
    return buf.getvalue().encode()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    head=st.lists(st.lists(cell_text, max_size=6), max_size=6),
    template=st.lists(cell_text, min_size=1, max_size=5),
    blanks=st.sets(st.integers(0, 3999), max_size=5),
)
def test_big_file_with_title_lines_reads_like_a_spreadsheet(
    tmp_path: Path, head: list[list[str]], template: list[str], blanks: set[int]
) -> None:
    body = [[*template[:-1], f"{template[-1]}u{i}@x.com"] for i in range(4000)]
    rows = head + [[] if i in blanks else r for i, r in enumerate(body)]
    s = load(write(tmp_path, "big.csv", csv_bytes(rows)))
    numbers, cells = expected(rows)
    assert s.row_numbers.tolist() == numbers
    assert grid(s) == cells


def test_big_file_title_wider_than_table_and_embedded_newlines(tmp_path: Path) -> None:
    rows = [["Report", "", "", "", "Generated 2024"], [], ["Email", "Note"]]
    rows += [[f"u{i}@x.com", "two\nlines" if i % 1000 == 0 else f"n{i}"] for i in range(6000)]
    s = load(write(tmp_path, "big.csv", csv_bytes(rows)))
    assert s.frame.shape == (6002, 5)
    assert grid(s)[0] == ["Report", "", "", "", "Generated 2024"] and grid(s)[1] == ["Email", "Note", "", "", ""]
    assert grid(s)[-1] == ["u5999@x.com", "n5999", "", "", ""]
    assert s.row_numbers[:3].tolist() == [1, 3, 4] and s.row_numbers[-1] == 6003


def test_big_file_with_a_wider_row_late_in_the_table(tmp_path: Path) -> None:
    rows = [["Title"], ["Email", "Name"]] + [[f"u{i}@x.com", f"N{i}"] for i in range(6000)] + [["x@x.com", "X", "!"]]
    s = load(write(tmp_path, "big.csv", csv_bytes(rows)))
    assert s.frame.shape == (6003, 3) and grid(s)[-1] == ["x@x.com", "X", "!"] and s.row_numbers[-1] == 6003


def test_big_file_with_an_unclosed_quote_is_refused(tmp_path: Path) -> None:
    data = csv_bytes([["Email", "Name"]] + [[f"u{i}@x.com", f"N{i}"] for i in range(6000)])
    p = write(tmp_path, "big.csv", data + b'late@x.com,"open\nmore@x.com,M\n')
    with pytest.raises(InputError, match="line 6002"):
        load(p)


def test_strip_chars_hold_all_unicode_whitespace() -> None:
    from importer.loader import STRIP_CHARS

    spaces = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert spaces <= set(STRIP_CHARS)
    assert set(STRIP_CHARS) - spaces == set("\u200b\u200c\u200d\u2060\ufeff\x00")
