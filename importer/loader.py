"""Loader: turn an input file into a raw grid of text cells, without interpreting any header.

The mapper finds the header row and the columns in this grid, so the loader keeps every non-blank
line (title lines included) and remembers, for each, the row number a spreadsheet app shows: that
number travels to the report so every input row can be found again by the user.

The real format comes from the file's bytes, never its name: exports get renamed, Teams writes
UTF-16 tab-separated text into a ``.csv``, and a failed download is often a web page.  Anything we
cannot read stops the run with one sentence that names the file and says what to do.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import stat
import struct
import sys
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import python_calamine

from .errors import InputError
from .titles import title_says

DEFAULT_MAX_BYTES = 512 * 2**20
DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 64 * 1024
#: HubSpot's own imports take at most this many columns and an attendee export has a few dozen, so a
#: wider file is refused before its cells are parsed (a 0.9 MB CSV of 100,000 columns took 41 s and
#: 2.2 GB to read as a table).
MAX_COLUMNS = 1000

#: Stripped from both ends of every cell: Unicode whitespace (NBSP and narrow NBSP included),
#: zero-width characters, stray byte-order marks and NULs.  The whitespace is every character
#: ``str.isspace`` knows, spelled out: scanning all code points at import cost 70 ms a run.
STRIP_CHARS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000" + "\u200b\u200c\u200d\u2060\ufeff\x00"
)

# Zip-bomb bounds, checked on the zip directory before any reader sees the workbook.
ZIP_MAX_TOTAL = 2**30
ZIP_MAX_EXPANSION = 100
ZIP_EXPANSION_FLOOR = 200 * 2**20
ZIP_MAX_MEMBER_RATIO = 1000
ZIP_RATIO_FLOOR = 50 * 2**20

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_NOT_DATA = "not a spreadsheet: download the attendee report again as CSV or XLSX"
_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
)
# Bytes that never occur in a text export; NUL is handled separately (stripped with a note).
_CONTROL_BYTES = bytes([*range(1, 9), 11, *range(14, 26), *range(27, 32)])  # not 0x1A, the DOS end-of-file mark
_EMAIL_RE = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[A-Za-z]{2,}")
_EMAIL_WORDS = ("email", "e-mail", "courriel", "correo", "mail address")
_ATTENDEE_WORDS = ("attend", "particip", "registr", "guest", "teilnehm", "inscri", "asist", "people", "contacts")
_SEP_LINE = re.compile(rb"\A\s*sep=(.)\s*?(\r\n|\r|\n)", re.IGNORECASE)


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode the five bytes cp1252 leaves undefined as their Latin-1 control characters (like browsers)."""
    assert isinstance(exc, UnicodeDecodeError)
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("importer-latin1", _latin1_fallback)


@dataclass(frozen=True, slots=True, eq=False)
class Sheet:
    """The raw grid of one input file.

    ``frame`` holds every non-blank line (title lines and header rows included) with positional
    integer columns and text cells; ``row_numbers`` gives, for each frame row, the row number a
    spreadsheet app shows, so rows can be traced back even though blank lines were dropped.
    """

    file: str
    path: Path
    frame: pd.DataFrame
    row_numbers: np.ndarray
    encoding: str | None
    delimiter: str | None
    sheet_name: str | None
    kind: str
    notes: tuple[str, ...] = ()


def load(path: str | Path, *, sheet: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> Sheet:
    """Read ``path`` (CSV/TSV text, XLSX, XLSB, XLS or ODS, detected from its bytes) into a :class:`Sheet`
    (the first one, for a workbook whose registrants and attendees sheets are both read)."""
    return load_all(path, sheet=sheet, max_bytes=max_bytes)[0]


def load_all(path: str | Path, *, sheet: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Sheet]:
    """Every sheet of ``path`` to import: one, or a workbook's registrants and attendees sheets."""
    file = str(path)
    p = Path(path)
    size = _check_file(p, file)
    if size > max_bytes:
        raise InputError(
            f"{file} is {_human_size(size)}, more than the {_human_size(max_bytes)} limit: "
            "split it into smaller files or raise the max_file_mb setting."
        )
    kind = _detect_kind(p, file, size)
    if kind == "csv":
        loaded = _load_text(p, file)
        if sheet is None:
            return [loaded]
        return [replace(loaded, notes=(*loaded.notes, f"sheet '{sheet}' ignored: a CSV file has no sheets"))]
    return _load_workbook(p, file, kind, sheet)


def sheet_names(path: str | Path) -> list[str]:
    """The sheet names of a workbook in workbook order (hidden ones included); ``[]`` for a text file."""
    file = str(path)
    p = Path(path)
    size = _check_file(p, file)
    kind = _detect_kind(p, file, size)
    if kind == "csv":
        return []
    with _open_workbook(p, file, kind) as wb:
        return list(wb.sheet_names)


# --- file checks and format detection ----------------------------------------------------------


def _check_file(p: Path, file: str) -> int:
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(f"{file} does not exist: check the file name and folder.") from None
    except OSError as exc:
        raise InputError(f"{file} cannot be opened ({exc.strerror}).") from None
    if p.is_dir():
        raise InputError(f"{file} is a folder, not a file: give the path of the attendee export inside it.")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{file} is not a regular file (a FIFO, device or socket): save the export as a file first.")
    if st.st_size == 0:
        raise InputError(f"{file} is empty (0 bytes): download the attendee report again.")
    return st.st_size


def _human_size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 2**20:
        return f"{n / 1024:.1f} KB"
    if n < 2**30:
        return f"{n / 2**20:.1f} MB"
    return f"{n / 2**30:.2f} GB"


def _read_head(p: Path, file: str, n: int = SNIFF_BYTES) -> bytes:
    try:
        with p.open("rb") as fh:
            return fh.read(n)
    except OSError as exc:
        raise InputError(f"{file} cannot be read ({exc.strerror}).") from None


def _detect_kind(p: Path, file: str, size: int) -> str:
    """Name the real format from the first bytes: ``csv``, ``xlsx``, ``xlsb``, ``ods`` or ``xls``."""
    head = _read_head(p, file)
    for magic, what in _MAGICS:
        if head.startswith(magic):
            raise InputError(f"{file} is {what}, {_NOT_DATA}.")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        raise InputError(f"{file} is a WebP image, {_NOT_DATA}.")
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return _zip_kind(p, file, size)
    if head.startswith(OLE2_MAGIC):
        return _ole_kind(p, file)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _utf16_without_bom(head):
        return "csv"
    text = head.lstrip(codecs.BOM_UTF8).lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<table")) or (
        text.startswith(b"<") and b"<html" in text[:2048]
    ):
        raise InputError(
            f"{file} is a web page (HTML), not a spreadsheet: the download probably failed or needs a login; "
            "download the attendee report again as CSV or XLSX, or open the file in Excel and save it as XLSX."
        )
    if text.startswith(b"<?xml"):
        if b"urn:schemas-microsoft-com:office:spreadsheet" in head:
            raise InputError(
                f"{file} is an Excel 2003 XML spreadsheet, which cannot be read: open it in Excel and save it "
                "as XLSX (File > Save As > Excel Workbook)."
            )
        raise InputError(f"{file} is an XML file, {_NOT_DATA}.")
    sample = head.replace(b"\x00", b"")
    if sample and len(sample) - len(sample.translate(None, _CONTROL_BYTES)) > max(2, len(sample) // 100):
        raise InputError(
            f"{file} is not a spreadsheet or CSV file (it contains binary data): "
            "download the attendee report again as CSV or XLSX."
        )
    return "csv"


def numbers_error(file: str) -> InputError:
    """Apple Numbers keeps its sheets in a format no reader here knows; the user can export it."""
    return InputError(
        f"{file} is an Apple Numbers file, which cannot be read: open it in Numbers and choose "
        "File > Export To > CSV (or Excel), then import the exported file."
    )


def _utf16_without_bom(head: bytes) -> bool:
    """UTF-16 text without a byte-order mark: ASCII characters leave a NUL in every other byte."""
    sample = head[:4096]
    if len(sample) < 8 or b"\x00" not in sample:
        return False
    even, odd = sample[0::2], sample[1::2]
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
    return (odd_nul > 0.4 and even_nul < 0.05) or (even_nul > 0.4 and odd_nul < 0.05)


def _zip_kind(p: Path, file: str, size: int) -> str:
    """Tell a workbook from other zips, and refuse zip bombs from the directory alone (nothing is extracted)."""
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
            names = {i.filename.lower(): i for i in infos}
            _check_zip_bomb(file, size, infos)
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "xl/workbook.bin" in names:
                return "xlsb"
            mimetype = b""
            info = names.get("mimetype")
            if info is not None and info.file_size <= 200:
                mimetype = zf.read(info).strip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError, OSError):
        raise InputError(
            f"{file} is damaged or incomplete (the download may have been cut short): download it again."
        ) from None
    if mimetype == b"application/vnd.oasis.opendocument.spreadsheet":
        return "ods"
    if any(n.startswith("index/") and n.endswith(".iwa") for n in names) or "index.zip" in names:
        raise numbers_error(file)
    if "word/document.xml" in names or mimetype == b"application/vnd.oasis.opendocument.text":
        raise InputError(f"{file} is a word-processing document, {_NOT_DATA}.")
    if "ppt/presentation.xml" in names or mimetype == b"application/vnd.oasis.opendocument.presentation":
        raise InputError(f"{file} is a presentation, {_NOT_DATA}.")
    inside = [i.filename for i in infos if i.filename.lower().endswith((".csv", ".xlsx", ".xls", ".ods", ".tsv"))]
    if inside:
        listed = ", ".join(inside[:3]) + (", ..." if len(inside) > 3 else "")
        raise InputError(f"{file} is a zip archive, not a spreadsheet: unzip it and give the file inside ({listed}).")
    raise InputError(f"{file} is a zip archive with no spreadsheet in it: download the attendee report as CSV or XLSX.")


def _check_zip_bomb(file: str, size: int, infos: Sequence[zipfile.ZipInfo]) -> None:
    total = sum(i.file_size for i in infos)
    absurd_member = any(
        i.file_size > ZIP_RATIO_FLOOR and i.file_size > ZIP_MAX_MEMBER_RATIO * max(i.compress_size, 1) for i in infos
    )
    if total > ZIP_MAX_TOTAL or (total > ZIP_EXPANSION_FLOOR and total > ZIP_MAX_EXPANSION * size) or absurd_member:
        raise InputError(
            f"{file} would unpack to {_human_size(total)} from {_human_size(size)}, which is not a normal "
            "spreadsheet (possibly a zip bomb): it was not opened; export the attendee report again."
        )


def _ole_kind(p: Path, file: str) -> str:
    """An OLE2 container is an old ``.xls``, or a password-protected ``.xlsx`` (EncryptionInfo stream)."""
    try:
        with p.open("rb") as fh:
            names = _cfb_stream_names(fh)
    except (OSError, ValueError, struct.error):
        names = None
    if names is None:
        raise InputError(
            f"{file} is a damaged or incomplete Office file: download it again, "
            "or open it in Excel and save it as XLSX."
        )
    lowered = {n.lower() for n in names}
    if "encryptioninfo" in lowered or "encryptedpackage" in lowered:
        raise _password_error(file)
    if "workbook" in lowered or "book" in lowered:
        return "xls"
    if "worddocument" in lowered:
        raise InputError(f"{file} is a Word document, {_NOT_DATA}.")
    if "powerpoint document" in lowered:
        raise InputError(f"{file} is a PowerPoint presentation, {_NOT_DATA}.")
    raise InputError(f"{file} is an Office file that holds no workbook, {_NOT_DATA}.")


def _password_error(file: str) -> InputError:
    return InputError(
        f"{file} is password-protected: open it in Excel, remove the password "
        "(File > Info > Protect Workbook > Encrypt with Password, clear it) and save it again."
    )


def _cfb_stream_names(fh: BinaryIO) -> set[str] | None:
    """Names in a Compound File Binary directory (MS-CFB), read sector by sector; ``None`` if malformed."""
    header = fh.read(512)
    if len(header) < 512 or not header.startswith(OLE2_MAGIC):
        return None
    fh.seek(0, 2)
    file_size = fh.tell()
    shift = struct.unpack_from("<H", header, 0x1E)[0]
    if shift not in (9, 12):
        return None
    sector = 1 << shift
    n_sectors = max(0, file_size // sector - 1)
    first_dir, _, _, _, first_difat, n_difat = struct.unpack_from("<IIIIII", header, 0x30)

    def read_sector(sid: int) -> bytes:
        if sid >= n_sectors:
            raise ValueError("sector out of range")
        fh.seek((sid + 1) * sector)
        data = fh.read(sector)
        if len(data) < sector:
            raise ValueError("short sector")
        return data

    fat_ids = [s for s in struct.unpack_from("<109I", header, 0x4C) if s < n_sectors]
    difat, seen = first_difat, 0
    while difat < n_sectors and seen < n_difat and seen <= n_sectors:
        block = struct.unpack(f"<{sector // 4}I", read_sector(difat))
        fat_ids.extend(s for s in block[:-1] if s < n_sectors)
        difat, seen = block[-1], seen + 1
    fat: list[int] = []
    for sid in fat_ids:
        fat.extend(struct.unpack(f"<{sector // 4}I", read_sector(sid)))
    names: set[str] = set()
    sid, steps = first_dir, 0
    while sid < n_sectors and steps <= n_sectors:
        directory = read_sector(sid)
        for off in range(0, sector, 128):
            entry = directory[off : off + 128]
            name_len = struct.unpack_from("<H", entry, 0x40)[0]
            if entry[0x42] in (1, 2, 5) and 2 <= name_len <= 64:
                names.add(entry[: name_len - 2].decode("utf-16-le", "replace"))
        sid = fat[sid] if sid < len(fat) else n_sectors
        steps += 1
    return names or None


# --- text files ---------------------------------------------------------------------------------


def _load_text(p: Path, file: str) -> Sheet:
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"{file} cannot be read ({exc.strerror}).") from None
    data, encoding, notes = _decode(raw)
    del raw
    delimiter = None
    sep = _SEP_LINE.match(data[:64])
    if sep is not None and sep.group(1).decode("latin-1") in DELIMITERS:
        # Excel's "sep=;" hint line is not shown as a row, so it does not count in row numbers.
        delimiter = sep.group(1).decode("latin-1")
        data = data[sep.end() :]
    if delimiter is None:
        delimiter = sniff_delimiter(data[:SNIFF_BYTES].decode("utf-8", "ignore"), complete=len(data) <= SNIFF_BYTES)
    head = data[:SNIFF_BYTES].decode("utf-8", "ignore")
    widest = max((len(r) for r in csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)), default=0)
    if widest > MAX_COLUMNS:
        raise _too_wide(file, widest, cut=len(data) > SNIFF_BYTES)
    try:
        columns = _parse_fast(data, delimiter)
        if columns is None:
            columns = _parse_stdlib(data.decode("utf-8"), delimiter, file)
        elif data.count(b'"') % 2:
            # The fast parser accepts a quote left open up to the end of the file; an odd number of
            # quotes is the cheap sign that one may be, and the strict parser then says where it opens.
            _parse_stdlib(data.decode("utf-8"), delimiter, file)
    except _TooWide as exc:
        raise _too_wide(file, exc.width, cut=False) from None
    del data
    frame, row_numbers = _finish(columns)
    if frame.empty:
        raise InputError(f"{file} has no data (only blank lines): download the attendee report again.")
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xls", ".xlsm", ".ods"):
        notes.append(f"named {suffix} but it is a text (CSV) file; read it as CSV")
    return Sheet(file, p, frame, row_numbers, encoding, delimiter, None, "csv", tuple(notes))


class _TooWide(Exception):
    def __init__(self, width: int) -> None:
        self.width = width


def _too_wide(file: str, width: int, *, cut: bool) -> InputError:
    many = f"more than {width:,}" if cut else f"{width:,}"
    return InputError(
        f"{file} has {many} columns; an attendee export has a few dozen, and HubSpot itself imports at most "
        f"{MAX_COLUMNS:,}: check that this is the attendee report, or save just its table as CSV or XLSX."
    )


def _decode(raw: bytes) -> tuple[bytes, str, list[str]]:
    """Return the text as UTF-8 bytes (what the parsers read), the encoding used and notes for the user."""
    notes: list[str] = []
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _utf16_without_bom(raw[:4096]):
        if raw.startswith(codecs.BOM_UTF16_LE):
            encoding, text = "utf-16", raw[2:].decode("utf-16-le", "replace")
        elif raw.startswith(codecs.BOM_UTF16_BE):
            encoding, text = "utf-16", raw[2:].decode("utf-16-be", "replace")
        else:
            even_nul = raw[0:4096:2].count(0)
            encoding = "utf-16-be" if even_nul > raw[1:4096:2].count(0) else "utf-16-le"
            text = raw.decode(encoding, "replace")
            notes.append("read as UTF-16 although the file has no byte-order mark")
        nul = text.count("\x00")
        if nul:
            text = text.replace("\x00", "")
            notes.append(f"removed {nul} NUL character{'s' if nul > 1 else ''}")
        if "\ufffd" in text:
            notes.append("some bytes were not valid UTF-16 and were replaced by \ufffd")
        return text.encode("utf-8"), encoding, notes
    encoding = "utf-8"
    if raw.startswith(codecs.BOM_UTF8):
        encoding, raw = "utf-8-sig", raw[3:]
    nul = raw.count(b"\x00") if b"\x00" in raw else 0
    if nul:
        raw = raw.replace(b"\x00", b"")
        notes.append(f"removed {nul} NUL byte{'s' if nul > 1 else ''}")
    try:
        raw.decode("utf-8")
        return raw, encoding, notes
    except UnicodeDecodeError:
        pass
    if encoding == "utf-8-sig":
        notes.append("some bytes were not valid UTF-8 and were replaced by \ufffd")
        return raw.decode("utf-8", "replace").encode("utf-8"), encoding, notes
    notes.append("read as cp1252 (Windows Western European) because it is not valid UTF-8")
    return raw.decode("cp1252", "importer-latin1").encode("utf-8"), "cp1252", notes


def sniff_delimiter(sample: str, *, complete: bool = False) -> str:
    """Pick the delimiter among , ; tab | that yields the biggest block of equally wide lines.

    A block needs at least two lines, so one stray ``a; b`` cell in a one-column list cannot pick the
    delimiter.  A block counts its lines times its extra columns, so title lines, label/value lines and ragged
    sections above the table do not matter, and commas inside values (Teams writes "11/13/24, 2:00 PM"
    in a tab-separated file) lose to the real delimiter, which splits each line into more columns.
    """
    if not complete:
        cut = max(sample.rfind("\n"), sample.rfind("\r"))
        if cut > 0:
            sample = sample[:cut]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        if delimiter not in sample:
            continue
        counts = Counter(len(row) for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter))
        blocks = ((lines * (width - 1), width) for width, lines in counts.items() if width > 1 and lines >= 2)
        score = max(blocks, default=(0, 0))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _parse_fast(data: bytes, delimiter: str) -> list[pa.Array] | None:
    """Parse title lines with the stdlib and the regular table below them with pyarrow.

    Exports put a few ragged title or summary lines above one regular table; splitting there keeps
    big files on the fast path.  ``None`` (the table is not regular) sends the caller to the stdlib.
    """
    head, offset, width = _split_head(data, delimiter)
    body = _parse_arrow(pa.BufferReader(pa.py_buffer(data).slice(offset)), delimiter, width)
    if body is None:
        return None
    if not head:
        return body
    top = _columns_from_rows(head)
    empty = pa.scalar("", type=pa.string())
    return [
        pa.concat_arrays(
            [
                top[i] if i < len(top) else pa.repeat(empty, len(head)),
                body[i] if i < len(body) else pa.repeat(empty, len(body[0])),
            ]
        )
        for i in range(max(len(top), len(body)))
    ]


def _split_head(data: bytes, delimiter: str) -> tuple[list[list[str]], int, int]:
    """Records above the final regular run of the first 64 KB, the byte offset where that run starts,
    and its width.  Small files are not split: the stdlib handles them whole if they are ragged."""
    if len(data) <= SNIFF_BYTES:
        return [], 0, _width_of_first(data, delimiter)
    sample = data[:SNIFF_BYTES]
    lines = sample[: max(sample.rfind(b"\n"), sample.rfind(b"\r")) + 1].splitlines(keepends=True)
    consumed = 0

    def feed() -> Iterable[str]:
        nonlocal consumed
        for line in lines:
            consumed += len(line)
            yield line.decode("utf-8", "replace")

    records: list[tuple[list[str], int]] = []
    reader = csv.reader(feed(), delimiter=delimiter)
    try:
        for row in reader:
            records.append((row, consumed))
    except csv.Error:
        return [], 0, _width_of_first(data, delimiter)
    records = records[:-1]  # the last one may be cut in the middle of a quoted field
    if not records:
        return [], 0, _width_of_first(data, delimiter)
    width = len(records[-1][0])
    start = len(records) - 1
    while start > 0 and len(records[start - 1][0]) in (0, width):
        start -= 1
    while start < len(records) - 1 and not records[start][0]:
        start += 1
    offset = records[start - 1][1] if start else 0
    return [row for row, _ in records[:start]], offset, max(width, 1)


def _width_of_first(data: bytes, delimiter: str) -> int:
    head = data[:SNIFF_BYTES].decode("utf-8", "ignore")
    row = next(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter), [])
    return max(len(row), 1)


def _parse_arrow(source: pa.NativeFile, delimiter: str, width: int) -> list[pa.Array] | None:
    """Fast path for a regular table (every record as wide as the first); ``None`` if it is not regular."""
    try:
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                newlines_in_values=True,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    if table.num_columns == 0 or not all(pa.types.is_string(t) for t in table.schema.types):
        return None
    return [table.column(i).combine_chunks() for i in range(table.num_columns)]


class _UnclosedQuote(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _records(text: str, delimiter: str, *, strict: bool) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
    rows: list[list[str]] = []
    start = 1
    try:
        for row in reader:
            if len(row) > MAX_COLUMNS:
                raise _TooWide(len(row))
            rows.append(row)
            start = reader.line_num + 1
    except csv.Error as exc:
        if "end of data" in str(exc):
            raise _UnclosedQuote(start) from None
        raise
    return rows


def _parse_stdlib(text: str, delimiter: str, file: str) -> list[pa.Array]:
    """Parse irregular text (ragged widths, stray quotes) record by record; pad to the widest line."""
    csv.field_size_limit(max(csv.field_size_limit(), min(len(text) + 1, sys.maxsize, 2**31 - 1)))
    try:
        try:
            rows = _records(text, delimiter, strict=True)
        except csv.Error:
            rows = _records(text, delimiter, strict=False)
    except _UnclosedQuote as exc:
        raise InputError(
            f'{file} has a quote (") opened on line {exc.line} that is never closed: fix that line in a text '
            "editor or export the report again."
        ) from None
    return _columns_from_rows(rows)


def _columns_from_rows(rows: Sequence[Sequence[str]]) -> list[pa.Array]:
    if not rows:
        return []
    width = max(len(r) for r in rows)
    if width == 0:
        return [pa.array([""] * len(rows), type=pa.string())]
    padded: Iterable[Sequence[str]] = (r if len(r) == width else [*r, *[""] * (width - len(r))] for r in rows)
    return [pa.array(col, type=pa.string()) for col in zip(*padded, strict=True)]


def _finish(columns: list[pa.Array]) -> tuple[pd.DataFrame, np.ndarray]:
    """Strip cells, drop blank lines (keeping their numbers counted) and trailing empty columns."""
    if not columns:
        return pd.DataFrame(), np.zeros(0, dtype=np.int64)
    stripped = [pc.utf8_trim(c, characters=STRIP_CHARS) for c in columns]
    filled = [pc.greater(pc.binary_length(c), 0) for c in stripped]
    keep = filled[0]
    for f in filled[1:]:
        keep = pc.or_(keep, f)
    used = [pc.any(f).as_py() for f in filled]
    width = max((i + 1 for i, u in enumerate(used) if u), default=0)
    if width == 0:
        return pd.DataFrame(), np.zeros(0, dtype=np.int64)
    mask = keep.to_numpy(zero_copy_only=False)
    row_numbers = (np.flatnonzero(mask) + 1).astype(np.int64)
    all_kept = bool(mask.all())
    frame = pd.DataFrame(
        {
            i: pd.Series(c if all_kept else pc.filter(c, keep), dtype="str", copy=False)
            for i, c in enumerate(stripped[:width])
        }
    )
    return frame, row_numbers


# --- workbooks ----------------------------------------------------------------------------------


#: What a reader failure may raise: its own errors, and pyo3's PanicException (a BaseException) if the
#: Rust reader panics on a malformed file.  Interrupts are never swallowed.
_FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)


def _open_workbook(p: Path, file: str, kind: str) -> python_calamine.CalamineWorkbook:
    try:
        return python_calamine.CalamineWorkbook.from_path(str(p))
    except python_calamine.PasswordError:
        raise _password_error(file) from None
    except _FATAL:
        raise
    except BaseException as exc:
        raise _unreadable(file, kind) from exc


def _unreadable(file: str, kind: str) -> InputError:
    if kind == "xls":
        return InputError(
            f"{file} is an old-style .xls workbook that could not be read: open it in Excel and save it as XLSX "
            "(File > Save As > Excel Workbook), or download the report again as CSV."
        )
    return InputError(
        f"{file} is a damaged {kind.upper()} workbook that could not be read: download it again, or open it in "
        "Excel and save it again."
    )


def _load_workbook(p: Path, file: str, kind: str, wanted: str | None) -> list[Sheet]:
    notes: list[str] = []
    with _open_workbook(p, file, kind) as wb:
        names: list[str] = list(wb.sheet_names)
        if not names:
            raise InputError(f"{file} has no sheets: download the attendee report again.")
        if wanted is not None:
            name = _match_sheet(file, names, wanted)
            chosen = [(name, _sheet_rows(wb, name, file, kind))]
        else:
            chosen = _choose_sheets(wb, file, kind, notes)
    suffix = p.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        notes.append(f"named {suffix} but it is an {kind.upper()} workbook; read it as a workbook")
    out: list[Sheet] = []
    while chosen:
        name, rows = chosen.pop(0)
        columns = _workbook_columns(rows)
        del rows
        frame, row_numbers = _finish(columns)
        if frame.empty:
            raise InputError(
                f"Sheet '{name}' of {file} is empty: pick another sheet with --sheet, or check the export."
            )
        out.append(Sheet(file, p, frame, row_numbers, None, None, name, kind, tuple(notes)))
    return out


def _match_sheet(file: str, names: list[str], wanted: str) -> str:
    if wanted in names:
        return wanted
    folded = {n.strip().casefold(): n for n in names}
    if wanted.strip().casefold() in folded:
        return folded[wanted.strip().casefold()]
    listed = ", ".join(f"'{n}'" for n in names)
    raise InputError(f"{file} has no sheet named '{wanted}': its sheets are {listed}.")


def _sheet_rows(wb: python_calamine.CalamineWorkbook, name: str, file: str, kind: str) -> list[list[Any]]:
    """All rows from A1 (leading empty rows and columns kept so positions match what Excel shows)."""
    try:
        sheet = wb.get_sheet_by_name(name)
        end = sheet.end  # the last used cell, counted from A1; None for an empty sheet
        if end is not None and end[1] + 1 > MAX_COLUMNS:
            raise _too_wide(f"{file} (sheet {name!r})", end[1] + 1, cut=False)
        rows: list[list[Any]] = sheet.to_python(skip_empty_area=False)
    except InputError:
        raise
    except python_calamine.PasswordError:
        raise _password_error(file) from None
    except _FATAL:
        raise
    except BaseException as exc:
        raise _unreadable(file, kind) from exc
    return rows


#: Sheet names of the people a workbook lists but who are not participants, and of sheets that
#: describe the event rather than list people (a registrants or attendees name comes first).
_STAFF_WORDS = frozenset(
    {"panelist", "panelists", "host", "hosts", "cohost", "cohosts", "speaker", "speakers", "presenter"}
    | {"presenters", "organizer", "organizers", "organiser", "organisers", "moderator", "moderators", "staff"}
    | {"referenten", "moderatoren", "veranstalter", "intervenants", "animateurs", "organisateurs", "ponentes"}
    | {"anfitriones", "organizadores", "relatori", "sprekers", "prelegenci"}
)
_INFO_WORDS = frozenset(
    {"summary", "info", "information", "overview", "details", "statistics", "stats", "polls", "poll"}
    | {"survey", "questions", "qa", "chat", "meeting", "webinar", "event", "report", "zusammenfassung"}
    | {"übersicht", "informationen", "umfrage", "fragen", "résumé", "resume", "sondage", "resumen"}
    | {"encuesta", "preguntas", "riepilogo", "samenvatting", "podsumowanie"}
)
_ROLE_NAMES = {
    "registrants": "registrants",
    "attendees": "attendees",
    "staff": "panelists/hosts",
    "info": "summary/info",
    "other": "people",
}


def sheet_role(name: str) -> str:
    """What a sheet's name says it holds: registrants, attendees, staff (panelists, hosts),
    info (summary, polls) or other."""
    said = title_says(name)
    if said is not None:
        return "registrants" if said == "register" else "attendees"
    words = set(re.findall(r"[^\W_]+", name.casefold()))
    if words & _STAFF_WORDS:
        return "staff"
    if words & _INFO_WORDS:
        return "info"
    return "other"


def _choose_sheets(
    wb: python_calamine.CalamineWorkbook, file: str, kind: str, notes: list[str]
) -> list[tuple[str, list[list[Any]]]]:
    """The visible worksheets to import: the one that lists people, or a registrants and an
    attendees sheet side by side (each read with its own rules); panelists/hosts and summary sheets
    are left out.  Anything else with people on several sheets is not guessed: --sheet decides."""
    candidates = [
        m.name
        for m in wb.sheets_metadata
        if m.visible == python_calamine.SheetVisibleEnum.Visible and m.typ == python_calamine.SheetTypeEnum.WorkSheet
    ] or list(wb.sheet_names)
    if len(candidates) == 1:
        return [(candidates[0], _sheet_rows(wb, candidates[0], file, kind))]
    scored: list[tuple[tuple[int, int, int], str, list[list[Any]]]] = []
    for index, name in enumerate(candidates):
        rows = _sheet_rows(wb, name, file, kind)
        head = rows[:2000]
        cells = [v.strip() for row in head for v in row if isinstance(v, str) and v.strip()]
        emails = sum(1 for v in cells if "@" in v and _EMAIL_RE.search(v))
        headers = sum(1 for v in cells if len(v) < 40 and any(w in v.casefold() for w in _EMAIL_WORDS))
        named = any(w in name.casefold() for w in _ATTENDEE_WORDS)
        filled = bool(cells) or any(v is not None and not isinstance(v, str) for row in head for v in row)
        scored.append(((emails + headers, int(named), -index) if filled else (-1, 0, -index), name, rows))
    people = [(name, rows) for score, name, rows in scored if score[0] > 0]
    if len(people) > 1:
        return _people_sheets(file, people, notes)
    best, name, rows = max(scored, key=lambda t: t[0])
    if best[0] < 0:
        raise InputError(f"{file} has no data in any of its {len(candidates)} sheets: check the export.")
    if best[0] > 0:
        notes.append(f"sheet '{name}' chosen among {len(candidates)} sheets (use --sheet to pick another)")
    else:
        notes.append(
            f"no sheet looks like a list of attendees; used '{name}' among {len(candidates)} sheets "
            "(use --sheet to pick another)"
        )
    return [(name, rows)]


def _people_sheets(
    file: str, people: list[tuple[str, list[list[Any]]]], notes: list[str]
) -> list[tuple[str, list[list[Any]]]]:
    """Several sheets list people: their names must say which is which."""
    roles = {name: sheet_role(name) for name, _ in people}
    kept = [(n, r) for n, r in people if roles[n] in ("registrants", "attendees", "other")]
    left = [n for n, _ in people if roles[n] in ("staff", "info")]
    by_role = [roles[n] for n, _ in kept]
    clear = len(kept) == 1 or (len(kept) == 2 and sorted(by_role) == ["attendees", "registrants"])
    if not clear:
        listed = ", ".join(f"'{n}' ({_ROLE_NAMES[roles[n]]})" for n, _ in people)
        raise InputError(
            f"{file} lists people on several sheets ({listed}) and their names do not say which sheet holds "
            "the registrants and which the attendees. Nothing was sent.",
            hint="Pass --sheet NAME to import one sheet (run once per sheet, with --state if the sheet does not say).",
        )
    if len(kept) == 1:
        note = f"sheet '{kept[0][0]}' chosen among {len(people)} sheets that list people"
    else:
        note = "read " + " and ".join(f"sheet '{n}' as the {_ROLE_NAMES[roles[n]]}" for n, _ in kept)
    if left:
        note += "; left out " + ", ".join(f"'{n}' ({_ROLE_NAMES[roles[n]]})" for n in left)
    notes.append(note + " (use --sheet to read one sheet alone)")
    return kept


def _workbook_columns(rows: list[list[Any]]) -> list[pa.Array]:
    """The grid as text columns.  Column by column, so a column of text cells (most of a sheet)
    goes to Arrow as it is and only dates, numbers and blanks pass through :func:`_cell_text`."""
    if not rows:
        return []
    width = max(map(len, rows))
    if width == 0:
        return [pa.array([""] * len(rows), type=pa.string())]
    if min(map(len, rows)) != width:
        rows = [r if len(r) == width else [*r, *[None] * (width - len(r))] for r in rows]
    out: list[pa.Array] = []
    for column in zip(*rows, strict=True):
        if set(map(type, column)) != {str}:
            column = tuple(map(_cell_text, column))
        out.append(pa.array(column, type=pa.string()))
    return out


def _cell_text(v: Any) -> str:
    """Workbook cell as text: ISO dates, integral numbers without ".0", TRUE/FALSE, '' for empty."""
    t = type(v)
    if t is str:
        return v
    if v is None:
        return ""
    if t is float:
        if v.is_integer() and abs(v) < 1e16:
            return str(int(v))
        return repr(v)
    if t is bool:
        return "TRUE" if v else "FALSE"
    if t is int:
        return str(v)
    if t is dt.datetime:
        if v.microsecond >= 500_000:
            v = v + dt.timedelta(seconds=1)
        return v.replace(microsecond=0, tzinfo=None).isoformat(" ", "seconds")
    if t is dt.date:
        return v.isoformat()
    if t is dt.time:
        if v.microsecond >= 500_000 and (v.hour, v.minute, v.second) != (23, 59, 59):
            v = (dt.datetime.combine(dt.date.min, v) + dt.timedelta(seconds=1)).time()
        return v.replace(microsecond=0).isoformat("seconds")
    if t is dt.timedelta:
        seconds = round(v.total_seconds())
        sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
        return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return str(v)
