"""Hostile and broken inputs: each one stops with an InputError (exit 2) naming the file, never a traceback.

Bad files are built here in ``tmp_path`` (no binary fixtures): a real MS-CFB container writer lets us
produce a password-protected workbook and genuine old-style ``.xls`` files.
"""

from __future__ import annotations

import random
import struct
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.errors import InputError
from importer.loader import load, sheet_names

FREE, END, FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


def cfb(streams: list[tuple[str, bytes]]) -> bytes:
    """A minimal MS-CFB v3 file; streams are padded to 4096 bytes so they live in regular sectors."""
    size = 512
    sectors: list[bytes] = []
    fat: list[int] = []
    entries: list[tuple[str, int, int]] = []
    for name, payload in streams:
        if not payload:
            entries.append((name, END, 0))
            continue
        padded = payload.ljust(max(4096, -(-len(payload) // size) * size), b"\x00")
        start, count = len(sectors), len(padded) // size
        for k in range(count):
            sectors.append(padded[k * size : (k + 1) * size])
            fat.append(start + k + 1 if k < count - 1 else END)
        entries.append((name, start, len(padded)))
    n_dir = -(-(len(entries) + 1) // 4)
    dir_start = len(sectors)
    fat.extend(dir_start + k + 1 if k < n_dir - 1 else END for k in range(n_dir))
    fat_sector = dir_start + n_dir
    fat.append(FATSECT)
    assert len(fat) <= size // 4

    def entry(name: str, kind: int, start: int, length: int, child: int = FREE, right: int = FREE) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00"
        head = raw.ljust(64, b"\x00") + struct.pack("<HBBIII", len(raw), kind, 1, FREE, right, child)
        return (head + b"\x00" * 36 + struct.pack("<IQ", start, length)).ljust(128, b"\x00")

    directory = [entry("Root Entry", 5, END, 0, child=1 if entries else FREE)]
    for i, (name, start, length) in enumerate(entries):
        directory.append(entry(name, 2, start, length, right=i + 2 if i + 1 < len(entries) else FREE))
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
    header += b"\x00" * 6 + struct.pack("<9I", 0, 1, dir_start, 0, 4096, END, 0, END, 0)
    header += struct.pack("<109I", fat_sector, *([FREE] * 108))
    fat_bytes = struct.pack(f"<{size // 4}I", *(fat + [FREE] * (size // 4 - len(fat))))
    return header + b"".join(sectors) + b"".join(directory).ljust(n_dir * size, b"\x00") + fat_bytes


def biff(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def xls(cells: dict[tuple[int, int], str | float], sheet: str = "Attendees", password: bool = False) -> bytes:
    """A genuine BIFF8 ``.xls`` workbook with one sheet (LABEL and NUMBER cells), optionally encrypted."""

    def bof(kind: int) -> bytes:
        return biff(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0, 0, 0, 0))

    name = sheet.encode("latin-1")
    filepass = biff(0x002F, struct.pack("<HHH", 1, 1, 1) + b"\x00" * 48) if password else b""

    def globals_(offset: int) -> bytes:
        bound = biff(0x0085, struct.pack("<IBBBB", offset, 0, 0, len(name), 0) + name)
        return bof(0x0005) + filepass + biff(0x0042, struct.pack("<H", 1200)) + bound + biff(0x000A, b"")

    body = bof(0x0010)
    for (r, c), v in cells.items():
        if isinstance(v, str):
            text = v.encode("latin-1")
            body += biff(0x0204, struct.pack("<HHHHB", r, c, 0, len(text), 0) + text)
        else:
            body += biff(0x0203, struct.pack("<HHHd", r, c, 0, float(v)))
    body += biff(0x000A, b"")
    return cfb([("Workbook", globals_(len(globals_(0))) + body)])


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def good_xlsx(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Attendees")
    ws.write_row(0, 0, ["Email", "Name"])
    for i in range(200):
        ws.write_row(i + 1, 0, [f"user{i}@example.com", f"Name {i}"])
    wb.close()
    return path


def refused(path: Path, *words: str, **kwargs: object) -> str:
    """Load ``path``, expect an InputError naming the file in one plain sentence; return the message."""
    with pytest.raises(InputError) as info:
        load(path, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert info.value.exit_code == 2
    assert str(path) in message
    assert "\n" not in message and "Traceback" not in message and 'File "' not in message
    assert "Error" not in message and "Exception" not in message
    lowered = message.lower()
    for word in words:
        assert word.lower() in lowered, message
    return message


# --- empty and missing -------------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    refused(write(tmp_path, "empty.csv", b""), "empty")


@pytest.mark.parametrize("content", [b"\n\n\r\n", b"  \n\t\n", b",,,\n,,\n\n,\n", "\ufeff\n".encode(), b"\x00\x00\n"])
def test_only_blank_lines(tmp_path: Path, content: bytes) -> None:
    refused(write(tmp_path, "blank.csv", content), "no data")


def test_only_empty_cells_in_a_workbook(tmp_path: Path) -> None:
    wb = xlsxwriter.Workbook(str(tmp_path / "blank.xlsx"))
    wb.add_worksheet("One").write("B2", "   ")
    wb.add_worksheet("Two")
    wb.close()
    refused(tmp_path / "blank.xlsx", "no data")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    refused(tmp_path / "nope.csv", "does not exist")
    refused(tmp_path, "folder")


# --- not a spreadsheet at all ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["photo.csv", "photo.xlsx"])
def test_png_named_as_spreadsheet(tmp_path: Path, name: str) -> None:
    message = refused(write(tmp_path, name, PNG + bytes(200)), "PNG image", "CSV or XLSX")
    assert message.endswith(".")


@pytest.mark.parametrize(
    ("data", "what"),
    [(b"%PDF-1.7\n%\xe2\xe3\n", "PDF"), (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG"), (b"\x1f\x8b\x08\x00", "gzip")],
)
def test_other_known_binaries(tmp_path: Path, data: bytes, what: str) -> None:
    refused(write(tmp_path, "report.csv", data + bytes(100)), what)


@pytest.mark.parametrize("name", ["noise.csv", "noise.xlsx"])
def test_random_bytes(tmp_path: Path, name: str) -> None:
    noise = random.Random(7).randbytes(20_000)
    refused(write(tmp_path, name, noise), "binary")


def test_html_page_saved_as_xls(tmp_path: Path) -> None:
    page = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><table></table></body></html>"
    refused(write(tmp_path, "attendees.xls", page), "web page", "XLSX")


def test_excel_2003_xml(tmp_path: Path) -> None:
    data = b'<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"></Workbook>'
    refused(write(tmp_path, "old.xls", data), "Excel 2003", "save it as XLSX")


# --- broken and hostile zips ---------------------------------------------------------------------------


def test_truncated_xlsx(tmp_path: Path) -> None:
    full = good_xlsx(tmp_path / "full.xlsx").read_bytes()
    refused(write(tmp_path, "cut.xlsx", full[: len(full) // 2]), "damaged", "download it again")


def test_xlsx_with_a_corrupt_member_is_refused_by_the_reader(tmp_path: Path) -> None:
    data = bytearray(good_xlsx(tmp_path / "full.xlsx").read_bytes())
    start = data.find(b"xl/worksheets/sheet1.xml") + len(b"xl/worksheets/sheet1.xml")
    data[start : start + 200] = bytes(200)
    refused(write(tmp_path, "corrupt.xlsx", bytes(data)), "could not be read")


def test_zip_with_a_csv_inside(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "download.xlsx", "w") as z:
        z.writestr("participants_123.csv", "Email\na@x.com\n")
    refused(tmp_path / "download.xlsx", "zip archive", "unzip", "participants_123.csv")


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "stuff.xlsx", "w") as z:
        z.writestr("readme.txt", "hello")
    refused(tmp_path / "stuff.xlsx", "zip archive", "no spreadsheet")


def test_word_document_named_xlsx(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "doc.xlsx", "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    refused(tmp_path / "doc.xlsx", "word-processing", "not a spreadsheet")


def test_zip_bomb_is_refused_from_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = bytes(2**20)
            for _ in range(210):
                member.write(chunk)
    refused(path, "zip bomb", "MB")


@pytest.mark.parametrize("claimed", [0x7FFF_FFFF * 2, 60 * 2**20])
def test_zip_with_forged_huge_sizes(tmp_path: Path, claimed: int) -> None:
    """A directory claiming absurd sizes is refused without extracting (total > 1 GiB, or > 1000:1)."""
    path = tmp_path / "forged.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet/>" * 10)
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, claimed)
    path.write_bytes(bytes(data))
    refused(path, "zip bomb")


# --- OLE2 containers: encrypted workbooks and old .xls ----------------------------------------------


@pytest.mark.parametrize("name", ["secret.xlsx", "secret.xls"])
def test_password_protected_xlsx(tmp_path: Path, name: str) -> None:
    data = cfb([("EncryptionInfo", b"\x04\x00\x04\x00" + bytes(200)), ("EncryptedPackage", bytes(5000))])
    refused(write(tmp_path, name, data), "password-protected", "remove the password", "save it again")


def test_password_protected_old_xls(tmp_path: Path) -> None:
    data = xls({(0, 0): "Email", (1, 0): "a@x.com"}, password=True)
    refused(write(tmp_path, "secret.xls", data), "password-protected")


def test_old_xls_just_works(tmp_path: Path) -> None:
    cells: dict[tuple[int, int], str | float] = {(0, 0): "Webinar", (2, 0): "Email", (2, 1): "Minutes"}
    cells |= {(3, 0): "a@x.com", (3, 1): 42.0, (4, 0): "b@x.com", (4, 1): 7.5}
    path = write(tmp_path, "export.xls", xls(cells))
    s = load(path)
    assert (s.kind, s.sheet_name, s.encoding) == ("xls", "Attendees", None)
    assert s.frame.values.tolist() == [["Webinar", ""], ["Email", "Minutes"], ["a@x.com", "42"], ["b@x.com", "7.5"]]
    assert s.row_numbers.tolist() == [1, 3, 4, 5]
    assert sheet_names(path) == ["Attendees"]


def test_word_97_document_named_xls(tmp_path: Path) -> None:
    refused(write(tmp_path, "minutes.xls", cfb([("WordDocument", bytes(100))])), "Word document")


def test_ole2_magic_with_garbage(tmp_path: Path) -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + random.Random(1).randbytes(3000)
    refused(write(tmp_path, "broken.xls", data), "damaged")


def test_xls_whose_workbook_stream_is_garbage(tmp_path: Path) -> None:
    data = cfb([("Workbook", random.Random(2).randbytes(5000))])
    refused(write(tmp_path, "garbage.xls", data), "could not be read", "save it as XLSX")


# --- text that cannot be parsed, size, sheet choice ----------------------------------------------------


def test_unclosed_quote_names_the_line(tmp_path: Path) -> None:
    text = 'Email,Note\na@x.com,"two\nlines"\nb@x.com,ok\nc@x.com,"never closed\nd@x.com,x\n'
    refused(write(tmp_path, "quote.csv", text.encode()), "quote", "line 5", "never closed")


def test_file_larger_than_the_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "big.csv", b"Email\n" + b"a@x.com\n" * 1000)
    refused(path, "7.8 KB", "1.0 KB limit", "max_file_mb", max_bytes=1024)
    assert len(load(path, max_bytes=2**20).frame) == 1001


def test_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    wb = xlsxwriter.Workbook(str(tmp_path / "multi.xlsx"))
    wb.add_worksheet("Registrants").write("A1", "Email")
    wb.add_worksheet("Attendees").write("A1", "Email")
    wb.close()
    refused(tmp_path / "multi.xlsx", "no sheet named 'Guests'", "'Registrants', 'Attendees'", sheet="Guests")


def test_named_sheet_that_is_empty(tmp_path: Path) -> None:
    wb = xlsxwriter.Workbook(str(tmp_path / "multi.xlsx"))
    wb.add_worksheet("Data").write("A1", "Email")
    wb.add_worksheet("Empty")
    wb.close()
    refused(tmp_path / "multi.xlsx", "'Empty'", "is empty", sheet="Empty")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=3000), name=st.sampled_from(["f.csv", "f.xlsx", "f.xls", "f.ods"]))
def test_arbitrary_bytes_load_or_fail_cleanly(tmp_path: Path, data: bytes, name: str) -> None:
    path = write(tmp_path, name, data)
    try:
        sheet = load(path)
    except InputError as exc:
        assert str(path) in str(exc)
    else:
        assert len(sheet.frame) == len(sheet.row_numbers) > 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8))
def test_damaged_xlsx_loads_or_fails_cleanly(tmp_path: Path, flips: list[tuple[int, int]]) -> None:
    base = tmp_path / "base.xlsx"
    if not base.exists():
        good_xlsx(base)
    data = bytearray(base.read_bytes())
    for where, value in flips:
        data[where % len(data)] = value
    path = write(tmp_path, "damaged.xlsx", bytes(data))
    try:
        sheet = load(path)
    except InputError as exc:
        assert str(path) in str(exc)
    else:
        assert sheet.kind == "xlsx" and len(sheet.frame) == len(sheet.row_numbers)
