"""The Rows sheet as columns, computed from the rows table, and the CSV and JSON reports written from them.

``layout`` fixes the report's columns once (the importer's own, then a second participation's
when some row proves two, then the source names of ``extra`` in first-seen order); ``cells`` builds
them for a slice of the rows with column operations: the time a row was sent at, ``file:row``
references, each file's profile, the source names aligned.  The writers take the rows a part at a
time, so a million-row report never holds every cell at once.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .models import EventInfo
from .report_model import ALSO_COLUMNS, REPORT_COLUMNS, ROW_COLUMNS, Report, profiles_of, zone_of
from .report_text import summary_fields
from .rows import distinct as distinct_of
from .rows import text as plain_text

#: An Arrow column, whole or in chunks.
Column: TypeAlias = pa.Array | pa.ChunkedArray

#: What a column holds: TEXT (never null), INT (a number), VID (a number or null), FLAG (a boolean),
#: UTC / LOCAL (epoch ms or null: the same instant, shown in UTC or in the run's zone).
TEXT, INT, VID, FLAG, UTC_TIME, LOCAL_TIME = "text", "int", "vid", "flag", "utc", "local"
#: A flag's words in the CSV and JSON text of a report (``created_contact``).
YES, NO = "yes", "no"
_ROW_KINDS: Mapping[str, str] = {
    "source_row": INT,
    "vid": VID,
    "interaction_time_utc": UTC_TIME,
    "interaction_time_local": LOCAL_TIME,
    "created_contact": FLAG,
    "also_time_utc": UTC_TIME,
}
#: Rows per part of a written report: large enough that per-part work is noise, small enough that
#: the cells of one part take tens of MiB.
PART_ROWS = 100_000
#: Lines of a CSV or JSON report joined at a time (a few MiB of text).
LINE_ROWS = 16_384
#: OWASP CSV injection: a cell starting with one of these could become a live formula; ``'`` too,
#: so that ``read_report`` strips exactly the one it added.
_RISKY_FIRST = np.zeros(256, bool)
_RISKY_FIRST[[ord(c) for c in "=+-@\t\r'"]] = True
_CSV_SPECIAL = tuple(c.encode() for c in '",\r\n')


@dataclass(frozen=True, slots=True)
class Layout:
    """The Rows columns of one report: labels in order, what each holds, the source names of
    ``extra`` (one per label after the importer's columns), whether the ``also_*`` columns are in."""

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    extras: tuple[str, ...]
    also: bool


def layout(rows: pa.Table) -> Layout:
    """The columns for these rows.  A source name that clashes with the importer's own columns (or
    JSON's ``type``) gets `` (source)`` appended."""
    also = bool(rows.num_rows) and bool(pc.any(pc.is_valid(rows.column("also_state"))).as_py())
    seen = (pc.unique(_names(chunk)).to_pylist() for chunk in rows.column("extra").chunks)  # not combined: a copy
    extras = [name for name in dict.fromkeys(name for names in seen for name in names) if name is not None]
    reserved = set(REPORT_COLUMNS) | {"type"}
    labels: list[str] = []
    for name in extras:
        label = name
        while label in reserved or label in labels:
            label = f"{label} (source)"
        labels.append(label)
    own = ROW_COLUMNS + (ALSO_COLUMNS if also else ())
    kinds = tuple(_ROW_KINDS.get(name, TEXT) for name in own) + (TEXT,) * len(labels)
    return Layout(own + tuple(labels), kinds, tuple(extras), also)


def cells(rows: pa.Table, lay: Layout, event: EventInfo, profiles: Mapping[str, str]) -> pa.Table:
    """The Rows columns of these rows, typed as :data:`Layout.kinds` says."""
    n = rows.num_rows
    when = _sent_at(rows, "", event)
    files = plain_text(rows.column("file"))
    columns: list[Any] = [
        files,
        rows.column("row"),
        _text(rows, "email"),
        rows.column("vid"),
        _text(rows, "state"),
        when,
        _text(rows, "outcome"),
        _text(rows, "reason"),
        _text(rows, "message"),
        pa.chunked_array([pa.repeat(event.object_id, n)], pa.string()),
        when,
        pc.fill_null(plain_text(rows.column("time_source")), "file"),
        _ref(rows, ""),
        _text(rows, "batch_id"),
        _text(rows, "correlation_id"),
        pc.fill_null(rows.column("created_contact"), False),
        _profiles(files, profiles),
    ]
    if lay.also:
        has = pc.is_valid(rows.column("also_state"))
        columns += [
            _text(rows, "also_state"),
            _sent_at(rows, "also_", event),
            _text(rows, "also_outcome"),
            _text(rows, "also_reason"),
            _text(rows, "also_message"),
            pc.if_else(has, pc.fill_null(plain_text(rows.column("also_time_source")), "file"), ""),
            _ref(rows, "also_"),
        ]
    columns += _extras(rows, lay.extras)
    return pa.Table.from_arrays([_chunked(c) for c in columns], names=list(lay.names))


def parts(report: Report, lay: Layout | None = None) -> Iterator[tuple[Layout, pa.Table]]:
    """The report's Rows columns, :data:`PART_ROWS` rows at a time (in ``lay``, when the caller
    has it already: a layout reads every row's ``extra``)."""
    lay = lay or layout(report.rows)
    profiles = profiles_of(report.summary.files)
    for start in range(0, report.rows.num_rows, PART_ROWS):
        yield lay, cells(report.rows.slice(start, PART_ROWS), lay, report.summary.event, profiles)


def _chunked(column: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    return column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])


def _text(rows: pa.Table, name: str) -> pa.ChunkedArray:
    return pc.fill_null(plain_text(rows.column(name)), "")


def _sent_at(rows: pa.Table, prefix: str, event: EventInfo) -> pa.ChunkedArray:
    """The time sent for each participation: its own, or the event start when the pipeline fell
    back to it (``time_source`` other than 'file')."""
    when = rows.column(f"{prefix}when_ms")
    if event.start_ms is None:
        return when
    source = pc.fill_null(plain_text(rows.column(f"{prefix}time_source")), "file")
    fallback = pc.and_(pc.is_null(when), pc.not_equal(source, "file"))
    return pc.if_else(fallback, pa.scalar(event.start_ms, pa.int64()), when)


def _ref(rows: pa.Table, prefix: str) -> pa.ChunkedArray:
    """``file:row`` of the row a participation was merged into ('' when none)."""
    row = pc.cast(rows.column(f"{prefix}merged_row"), pa.string())
    return pc.fill_null(pc.binary_join_element_wise(rows.column(f"{prefix}merged_file"), row, ":"), "")


def _profiles(files: pa.ChunkedArray, profiles: Mapping[str, str]) -> pa.ChunkedArray:
    names = pa.array(list(profiles), pa.string())
    where = pc.index_in(files, value_set=names)
    return pc.fill_null(pc.take(pa.array(list(profiles.values()), pa.string()), where), "")


def _extras(rows: pa.Table, names: tuple[str, ...]) -> list[pa.Array]:
    """The ``extra`` values aligned to ``names`` ('' where a row lacks one; the last of a repeated
    name in a row wins, as in a dict)."""
    n = rows.num_rows
    if not names:
        return []
    parents, keys, values = _entries(rows.column("extra"))
    values = pc.fill_null(values, "")
    codes = pc.fill_null(pc.index_in(keys, value_set=pa.array(names, pa.string())), -1).to_numpy(zero_copy_only=False)
    out = []
    for i in range(len(names)):
        mine = np.flatnonzero(codes == i)
        owners = parents[mine]
        last = np.append(owners[1:] != owners[:-1], True) if len(owners) else np.zeros(0, bool)
        pos = np.full(n, -1, np.int64)
        pos[owners[last]] = mine[last]
        out.append(pc.fill_null(values.take(pa.array(pos, mask=pos < 0)), ""))
    return out


def _names(maps: pa.MapArray) -> pa.Array:
    """The names of one chunk's ``extra`` entries, a null map's left out (the rows they belong to
    are not worked out: a layout needs only the names)."""
    offsets = maps.offsets.to_numpy()
    keys = maps.keys.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    if maps.null_count:  # a null map may still span entries: they are not the row's
        keys = keys.filter(np.repeat(maps.is_valid().to_numpy(zero_copy_only=False), np.diff(offsets)))
    return keys


def _entries(extra: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """Every name/value pair of the rows' ``extra`` maps, with the row it belongs to (in order)."""
    maps = extra.combine_chunks()
    offsets = maps.offsets.to_numpy()
    start, stop = int(offsets[0]), int(offsets[-1])
    parents = np.repeat(np.arange(len(maps)), np.diff(offsets))
    keys, values = maps.keys.slice(start, stop - start), maps.items.slice(start, stop - start)
    if maps.null_count:  # a null map may still span entries: they are not the row's
        kept = maps.is_valid().to_numpy(zero_copy_only=False)[parents]
        parents, keys, values = parents[kept], keys.filter(kept), values.filter(kept)
    return parents, keys, values


# --------------------------------------------------------------------------- times as text


def _floor_split(ms: Column) -> tuple[Column, Column]:
    """Whole seconds (rounded down, also before 1970) and the milliseconds after them."""
    frac = pc.modulo(ms, 1000)
    return pc.divide(pc.subtract(ms, frac), 1000), frac


#: Two digits for each number below 60, and every millisecond part, as ISO text: a time of day is
#: put together from them by index (hours, minutes and seconds taken apart by Arrow's kernels).
_TWO = pa.array([f"{i:02d}" for i in range(60)])
_MILLIS = pa.array(["", *(f".{i:03d}" for i in range(1, 1000))])


def _stamp(seconds: Column, frac: Column, tail: Column | str) -> Column:
    """``2024-11-05T15:58:03.250`` + ``tail``: the date formatted once per distinct day."""
    clock = pc.modulo(seconds, 86400)
    days = pc.divide(pc.subtract(seconds, clock), 86400)
    distinct = pc.drop_null(pc.unique(days))
    dates = pc.strftime(pc.cast(pc.multiply(distinct, 86400), pa.timestamp("s")), format="%Y-%m-%d")
    date = pc.take(dates, pc.index_in(days, value_set=distinct))
    minutes = pc.modulo(clock, 3600)
    hh, mm, ss = (
        pc.take(_TWO, part) for part in (pc.divide(clock, 3600), pc.divide(minutes, 60), pc.modulo(minutes, 60))
    )
    return pc.binary_join_element_wise(date, "T", hh, ":", mm, ":", ss, pc.take(_MILLIS, frac), tail, "")


def utc_texts(ms: Column) -> pa.ChunkedArray:
    """Epoch ms as ISO 8601 UTC text with ``Z`` (milliseconds only when non-zero); null stays null."""
    values, at = distinct_of(ms)
    seconds, frac = _floor_split(values)
    return pc.take(_stamp(seconds, frac, "Z"), at)


def local_ms(ms: Column, zone: tzinfo) -> tuple[Column, Column]:
    """Epoch ms as the wall-clock time in ``zone`` (ms, as if UTC) and the zone's offset (s) at each."""
    seconds, _ = _floor_split(ms)
    fixed = zone.utcoffset(None)
    if fixed is not None:
        offset: Any = pa.scalar(int(fixed.total_seconds()), pa.int64())
    else:
        offset = _offsets(seconds, zone)
    wall = pc.add(ms, pc.multiply(offset, 1000))
    if not isinstance(offset, pa.ChunkedArray):
        offset = pc.if_else(pc.is_valid(ms), offset, pa.scalar(None, pa.int64()))
    return wall, offset


def _offsets(seconds: Column, zone: tzinfo) -> Column:
    """The zone's UTC offset in seconds at each instant: the time-zone database's when Arrow knows
    the zone by name, else asked of ``zone`` once per distinct second."""
    if isinstance(zone, ZoneInfo) and zone.key:
        try:
            local = pc.local_timestamp(pc.cast(seconds, pa.timestamp("s", tz=zone.key)))
            return pc.subtract(pc.cast(local, pa.int64()), seconds)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    distinct = pc.drop_null(pc.unique(seconds))
    known = [_offset_at(s, zone) for s in distinct.to_pylist()]
    return pc.take(pa.array(known, pa.int64()), pc.index_in(seconds, value_set=distinct))


def _offset_at(second: int, zone: tzinfo) -> int:
    offset = datetime.fromtimestamp(second, UTC).astimezone(zone).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def local_texts(ms: Column, zone: tzinfo | None) -> pa.ChunkedArray:
    """Epoch ms as ISO 8601 text in ``zone`` with its offset, as ``datetime.isoformat`` writes it
    (each distinct instant formatted once)."""
    if zone is None:
        return pa.chunked_array([pa.nulls(len(ms), pa.string())])
    values, at = distinct_of(ms)
    wall, offset = local_ms(values, zone)
    seconds, frac = _floor_split(wall)
    distinct = pc.drop_null(pc.unique(offset))
    said = pa.array([_offset_text(s) for s in distinct.to_pylist()], pa.string())
    return pc.take(_stamp(seconds, frac, pc.take(said, pc.index_in(offset, value_set=distinct))), at)


def _offset_text(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def texts(table: pa.Table, lay: Layout, zone: tzinfo | None) -> list[pa.ChunkedArray]:
    """Every column as text ('' or null for nothing): numbers as digits, flags as words, times as ISO text."""
    return [_as_text(column, kind, zone) for kind, column in zip(lay.kinds, table.columns, strict=True)]


def _as_text(column: pa.ChunkedArray, kind: str, zone: tzinfo | None) -> pa.ChunkedArray:
    if kind in (INT, VID):
        return pc.cast(column, pa.string())
    if kind == FLAG:
        return pc.if_else(column, YES, NO)
    if kind == UTC_TIME:
        return utc_texts(column)
    if kind == LOCAL_TIME:
        return local_texts(column, zone)
    return column


# --------------------------------------------------------------------------- csv and json


def write_csv(report: Report, path: Path) -> None:
    """The Rows sheet as CSV, cell for cell as ``csv.writer`` (Excel's dialect) writes it: UTF-8 with
    BOM (Excel shows accents), CRLF lines, quotes only where a cell needs them, risky text prefixed
    with ``'`` so spreadsheet apps show it instead of evaluating it.

    pyarrow's own CSV writer would quote every text cell (``"planned"``), which changes the file
    users grep and diff; the lines are joined with Arrow's string kernels instead, and a column
    whose cells are one text in a part (a dry run's outcome, the event id) is part of the line's
    literal text there, not joined row by row."""
    zone = zone_of(report.summary.timezone)
    lay = layout(report.rows)
    with path.open("wb") as fh:
        header = io.StringIO()
        csv.writer(header).writerow(lay.names)
        fh.write(("\ufeff" + header.getvalue()).encode("utf-8"))
        for _, part in parts(report, lay):
            pieces: list[Any] = []
            for column, kind in zip(part.columns, lay.kinds, strict=True):
                pieces += [_csv_column(column, kind, zone), ","]
            pieces[-1] = "\r\n"
            _write_lines(fh, pieces, part.num_rows)


def _csv_column(column: pa.ChunkedArray, kind: str, zone: tzinfo | None) -> pa.ChunkedArray | str:
    """A column's CSV cells, or the one cell all its rows have (flags alike, numbers all missing, a
    text repeated: told apart from the others without formatting each cell)."""
    if kind == FLAG and not column.null_count:
        if not pc.any(column).as_py():
            return NO
        if pc.all(column).as_py():
            return YES
    if kind in (INT, VID):
        if column.null_count == len(column):
            return ""
        return _csv_cell(pc.cast(column, pa.string()), kind)
    text = _as_text(column, kind, zone)
    same = _same_text(text)
    if same is None:
        return _csv_cell(text, kind)
    return str(_csv_chunk(pa.array([same], pa.string()), kind == TEXT)[0].as_py())


def _same_text(column: pa.ChunkedArray) -> str | None:
    """The text every cell holds (null reads as ''), or None: most columns differ at their first,
    middle or last cell, only the others are compared whole."""
    n = len(column)
    if not n:
        return None
    if column.null_count:
        column = pc.fill_null(column, "")
    first = column[0].as_py()
    if column[n // 2].as_py() != first or column[n - 1].as_py() != first:
        return None
    return first if pc.all(pc.equal(column, first)).as_py() else None


def _csv_cell(column: pa.ChunkedArray, kind: str) -> pa.ChunkedArray:
    """Risky text gets a leading ``'``; a cell with a quote, comma or line break is quoted (only
    text can hold those: numbers, flags and times never do)."""
    return pa.chunked_array([_csv_chunk(chunk, kind == TEXT) for chunk in column.chunks], pa.string())


def _csv_chunk(text: pa.Array, quotable: bool) -> pa.Array:
    """:func:`_csv_cell` of one chunk: only the cells that change are rewritten (most change not)."""
    if text.null_count:
        text = pc.fill_null(text, "")
    bounds, data = _bytes(text)
    if not len(data):
        return text
    firsts = data[np.minimum(bounds[:-1], len(data) - 1)]
    risky = _RISKY_FIRST[firsts] & (bounds[1:] > bounds[:-1])
    if risky.any():
        text = _rewrite(text, risky, lambda cells: pc.binary_join_element_wise("'", cells, ""))
        bounds, data = _bytes(text)
    if not quotable:
        return text
    cells = data[bounds[0] : bounds[-1]].tobytes()  # a copy, searched at memchr's speed
    if not any(c in cells for c in _CSV_SPECIAL):
        return text
    special = np.asarray(pc.match_substring_regex(text, '[",\r\n]').to_numpy(zero_copy_only=False))
    return _rewrite(
        text, special, lambda cells: pc.binary_join_element_wise('"', pc.replace_substring(cells, '"', '""'), '"', "")
    )


def _rewrite(text: pa.Array, where: np.ndarray, how: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """``text`` with the cells ``where`` holds replaced by ``how`` of them (the others are not touched)."""
    mask = pa.array(where)
    return pc.replace_with_mask(text, mask, how(text.filter(mask)))


def _bytes(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's value bounds (``len + 1`` offsets) and its data buffer's bytes."""
    _, offsets, data = text.buffers()
    bounds = np.frombuffer(offsets, np.int32, count=len(text) + 1, offset=text.offset * 4)
    return bounds, (np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8))


def _utf8(lines: pa.StringArray) -> memoryview:
    """The bytes of a string array's values, one after the other."""
    _, offsets, data = lines.buffers()
    bounds = np.frombuffer(offsets, np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    return memoryview(data)[bounds[0] : bounds[-1]] if len(lines) else memoryview(b"")


def write_json(report: Report, path: Path) -> None:
    """JSON lines: the Summary's fields, then one object per row (numbers stay numbers, times are ISO
    text), byte for byte as ``json`` writes them (``ensure_ascii=False``); the rows' lines are joined
    column by column with Arrow's string kernels, not encoded one object at a time."""
    zone = zone_of(report.summary.timezone)
    encode = json.JSONEncoder(ensure_ascii=False).encode
    with path.open("wb") as fh:
        head: dict[str, Any] = {"type": "summary"}
        head.update((key, value) for key, _, value in summary_fields(report) if key)
        fh.write((encode(head) + "\n").encode("utf-8"))
        for lay, part in parts(report):
            pieces: list[Any] = ['{"type": "row"']
            for name, kind, column in zip(lay.names, lay.kinds, part.columns, strict=True):
                token, quoted = _json_value(column, kind, zone)
                pieces += [f", {encode(name)}: " + ('"' if quoted else ""), token, '"' if quoted else ""]
            pieces.append("}\n")
            _write_lines(fh, pieces, part.num_rows)


def _write_lines(fh: BinaryIO, pieces: list[Any], rows: int) -> None:
    """The lines of a part written, each the ``pieces`` (texts, and columns of a cell a row) joined,
    :data:`LINE_ROWS` lines at a time: a part's lines never exist all at once.  The row number is
    a column in every report, so every join gives lines, never a single text."""
    joined = _joined_literals(pieces)
    for start in range(0, rows, LINE_ROWS):
        some = [piece if isinstance(piece, str) else piece.slice(start, LINE_ROWS) for piece in joined]
        for chunk in pc.binary_join_element_wise(*some, "").chunks:
            fh.write(_utf8(chunk))


def _joined_literals(pieces: list[Any]) -> list[Any]:
    """Adjacent literal texts of a line made one (fewer arguments for the join)."""
    out: list[Any] = []
    for piece in pieces:
        if isinstance(piece, str) and out and isinstance(out[-1], str):
            out[-1] += piece
        elif not (isinstance(piece, str) and not piece):
            out.append(piece)
    return out


def _json_value(column: pa.ChunkedArray, kind: str, zone: tzinfo | None) -> tuple[pa.ChunkedArray | str, bool]:
    """A column's JSON values as text, and whether they go between quotes (text that is never
    null: the quotes are then part of the line's literals, not written into every value).  A
    column of one value gives that value's text alone, which the line's literals take in."""
    if kind in (INT, VID):
        if column.null_count == len(column):
            return "null", False
        return pc.fill_null(pc.cast(column, pa.string()), "null"), False
    if kind == FLAG:
        if not column.null_count and not pc.any(column).as_py():
            return "false", False
        if not column.null_count and pc.all(column).as_py():
            return "true", False
        return pc.fill_null(pc.if_else(column, "true", "false"), "null"), False
    if kind in (UTC_TIME, LOCAL_TIME):  # ISO text: nothing to escape
        text = pc.fill_null(utc_texts(column) if kind == UTC_TIME else local_texts(column, zone), "")
        same = _same_text(text)
        return (text if same is None else same), True
    same = None if column.null_count else _same_text(column)
    if same is not None:
        return json.dumps(same, ensure_ascii=False), False
    escaped = pa.chunked_array([_json_escaped(chunk) for chunk in column.chunks], pa.string())
    if not escaped.null_count:
        return escaped, True
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    return pc.fill_null(quoted, "null"), False


#: The bytes ``json`` writes as they are inside a string (``ensure_ascii=False``): all but the
#: control characters, the quote and the backslash.
_JSON_PLAIN = bytes(b for b in range(256) if b >= 0x20 and b not in b'"\\')
#: The escapes ``json`` writes, the backslash's first (the others add backslashes).
_JSON_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _json_escaped(text: pa.Array) -> pa.Array:
    """The values as ``json`` writes them between quotes: only the values that hold a character
    to escape are rewritten."""
    bounds, data = _bytes(text)
    special = data[bounds[0] : bounds[-1]].tobytes().translate(None, _JSON_PLAIN) if len(data) else b""
    if not special:
        return text
    present = {chr(b) for b in set(special)}
    found = pc.fill_null(pc.match_substring_regex(text, '[\\x00-\\x1f"\\\\]'), False)
    where = np.asarray(found.to_numpy(zero_copy_only=False))

    def escape(cells: pa.Array) -> pa.Array:
        for char in sorted(present, key=lambda c: (c != "\\", c)):
            cells = pc.replace_substring(cells, char, _JSON_ESCAPES.get(char, f"\\u{ord(char):04x}"))
        return cells

    return _rewrite(text, where, escape)
