"""Text exports (CSV, TSV, semicolon or pipe separated) as a grid of text cells.

The encoding is found (UTF-8, UTF-16 with or without a byte-order mark, cp1252), the delimiter
sniffed, and the regular table below any title lines parsed by pyarrow; ragged text falls back to
the standard library's reader, which also says where an unclosed quote opens.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from .errors import InputError
from .loader_detect import utf16_without_bom
from .loader_grid import MAX_COLUMNS, SNIFF_BYTES, Column, Sheet, finish, too_wide

DELIMITERS = (",", ";", "\t", "|")
_SEP_LINE = re.compile(rb"\A\s*sep=(.)\s*?(\r\n|\r|\n)", re.IGNORECASE)


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode the five bytes cp1252 leaves undefined as their Latin-1 control characters (like browsers)."""
    assert isinstance(exc, UnicodeDecodeError)
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("importer-latin1", _latin1_fallback)


def load_text(p: Path, file: str) -> Sheet:
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
        raise too_wide(file, widest, cut=len(data) > SNIFF_BYTES)
    try:
        columns = _parse_fast(data, delimiter)
        if columns is None:
            columns = _parse_stdlib(data.decode("utf-8"), delimiter, file)
        elif data.count(b'"') % 2:
            # The fast parser accepts a quote left open up to the end of the file; an odd number of
            # quotes is the cheap sign that one may be, and the strict parser then says where it opens.
            _parse_stdlib(data.decode("utf-8"), delimiter, file)
    except _TooWide as exc:
        raise too_wide(file, exc.width, cut=False) from None
    del data
    frame, row_numbers = finish(columns)
    if frame.empty:
        raise InputError(f"{file} has no data (only blank lines): download the attendee report again.")
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xls", ".xlsm", ".ods"):
        notes.append(f"named {suffix} but it is a text (CSV) file; read it as CSV")
    return Sheet(file, p, frame, row_numbers, encoding, delimiter, None, "csv", tuple(notes))


def _decode(raw: bytes) -> tuple[bytes, str, list[str]]:
    """Return the text as UTF-8 bytes (what the parsers read), the encoding used and notes for the user."""
    notes: list[str] = []
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or utf16_without_bom(raw[:4096]):
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
    if is_utf8(raw):
        return raw, encoding, notes
    if encoding == "utf-8-sig":
        notes.append("some bytes were not valid UTF-8 and were replaced by \ufffd")
        return raw.decode("utf-8", "replace").encode("utf-8"), encoding, notes
    notes.append("read as cp1252 (Windows Western European) because it is not valid UTF-8")
    return raw.decode("cp1252", "importer-latin1").encode("utf-8"), "cp1252", notes


def is_utf8(raw: bytes) -> bool:
    """Whether ``raw`` is valid UTF-8 (as strict as Python's decoder), checked where it lies: decoding a
    file to check it made a text as large as the file, four times larger with one emoji in it."""
    if raw.isascii():
        return True
    offsets = pa.py_buffer(np.array([0, len(raw)], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(raw)]).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


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


def _parse_fast(data: bytes, delimiter: str) -> list[Column] | None:
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
        pa.chunked_array(
            [
                top[i] if i < len(top) else pa.repeat(empty, len(head)),
                *(body[i].chunks if i < len(body) else [pa.repeat(empty, len(body[0]))]),
            ],
            type=pa.string(),
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


def _parse_arrow(source: pa.NativeFile, delimiter: str, width: int) -> list[pa.ChunkedArray] | None:
    """Fast path for a regular table (every record as wide as the first); ``None`` if it is not regular.

    The columns stay in the parser's blocks: joining them copied every cell, and nothing downstream
    needs one buffer per column.  The parse runs on this thread: blocks parsed on the reader's
    worker threads were freed to those threads' idle heaps, which kept 50-80 MB of a 1M-row file
    resident to the end of the run, for no gain in time on two cores."""
    try:
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, use_threads=False),
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
    return table.columns


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


class _TooWide(Exception):
    def __init__(self, width: int) -> None:
        self.width = width
