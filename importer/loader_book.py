"""Workbooks (XLSX, XLSB, XLS, ODS) read by calamine into a grid of text cells.

Cells become the text a spreadsheet app shows for them (ISO dates, integral numbers without
".0"), and positions are kept from A1 so row numbers match what Excel shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import python_calamine

from .errors import InputError
from .loader_detect import password_error
from .loader_grid import MAX_COLUMNS, Sheet, finish, too_wide
from .loader_sheets import HEAD_ROWS, SheetLook, choose_sheets, match_sheet

#: What a reader failure may raise: its own errors, and pyo3's PanicException (a BaseException) if the
#: Rust reader panics on a malformed file.  Interrupts are never swallowed.
_FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)


@contextmanager
def _reading(file: str, kind: str) -> Iterator[None]:
    """A password or a failure of the workbook reader becomes one sentence for the user (the
    reader can raise anything, even a Rust panic); our own refusals pass as they are."""
    try:
        yield
    except InputError:
        raise
    except python_calamine.PasswordError:
        raise password_error(file) from None
    except _FATAL:
        raise
    except BaseException as exc:
        raise _unreadable(file, kind) from exc


def open_workbook(p: Path, file: str, kind: str) -> python_calamine.CalamineWorkbook:
    """The workbook at ``p``."""
    with _reading(file, kind):
        return python_calamine.CalamineWorkbook.from_path(str(p))


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


def load_workbook(p: Path, file: str, kind: str, wanted: str | None) -> list[Sheet]:
    """The sheet ``wanted`` of the workbook at ``p``, or the sheets :func:`choose_sheets` picks."""
    notes: list[str] = []
    with open_workbook(p, file, kind) as wb:
        names: list[str] = list(wb.sheet_names)
        if not names:
            raise InputError(f"{file} has no sheets: download the attendee report again.")
        if wanted is not None:
            name = match_sheet(file, names, wanted)
            chosen = [(name, _sheet_rows(wb, name, file, kind))]
        else:
            chosen = _chosen(wb, file, kind, notes)
    suffix = p.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        notes.append(f"named {suffix} but it is an {kind.upper()} workbook; read it as a workbook")
    out: list[Sheet] = []
    while chosen:
        name, rows = chosen.pop(0)
        columns = text_columns(rows)
        del rows
        frame, row_numbers = finish(columns)
        if frame.empty:
            raise InputError(
                f"Sheet '{name}' of {file} is empty: pick another sheet with --sheet, or check the export."
            )
        out.append(Sheet(file, p, frame, row_numbers, None, None, name, kind, tuple(notes)))
    return out


def _chosen(
    wb: python_calamine.CalamineWorkbook, file: str, kind: str, notes: list[str]
) -> list[tuple[str, list[list[Any]]]]:
    """The visible worksheets :func:`choose_sheets` picks, each read once."""
    candidates = [
        m.name
        for m in wb.sheets_metadata
        if m.visible == python_calamine.SheetVisibleEnum.Visible and m.typ == python_calamine.SheetTypeEnum.WorkSheet
    ] or list(wb.sheet_names)
    if len(candidates) == 1:
        return [(candidates[0], _sheet_rows(wb, candidates[0], file, kind))]
    read = {name: _sheet_rows(wb, name, file, kind) for name in candidates}
    picked = choose_sheets(file, [_look(name, rows) for name, rows in read.items()], notes)
    return [(name, read.pop(name)) for name in picked]


def _look(name: str, rows: list[list[Any]]) -> SheetLook:
    """What the sheet choice reads of a sheet: the text cells of its first rows, and whether any is filled."""
    head = rows[:HEAD_ROWS]
    texts = [v.strip() for row in head for v in row if isinstance(v, str) and v.strip()]
    filled = bool(texts) or any(v is not None and not isinstance(v, str) for row in head for v in row)
    return SheetLook(name, texts, filled)


def _sheet_rows(wb: python_calamine.CalamineWorkbook, name: str, file: str, kind: str) -> list[list[Any]]:
    """All rows from A1 (leading empty rows and columns kept so positions match what Excel shows)."""
    with _reading(file, kind):
        sheet = wb.get_sheet_by_name(name)
        end = sheet.end  # the last used cell, counted from A1; None for an empty sheet
        if end is not None and end[1] + 1 > MAX_COLUMNS:
            raise too_wide(f"{file} (sheet {name!r})", end[1] + 1, cut=False)
        rows: list[list[Any]] = sheet.to_python(skip_empty_area=False)
    return rows


def text_columns(rows: list[list[Any]]) -> list[pa.Array]:
    """The grid as text columns, read column-wise: a column of text and blank cells (most of a sheet)
    goes to Arrow as it is, and a column holding numbers or dates converts each kind of cell at
    once (:func:`cell_text` says what each becomes)."""
    if not rows:
        return []
    width = max(map(len, rows))
    if width == 0:
        return [pa.array([""] * len(rows), type=pa.string())]
    if min(map(len, rows)) != width:
        rows = [r if len(r) == width else [*r, *[None] * (width - len(r))] for r in rows]
    grid = np.array(rows, dtype=object)
    out: list[pa.Array] = []
    for i in range(width):
        column = grid[:, i]
        try:
            text = pa.array(column, type=pa.string())
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            text = _mixed_text(column)
        out.append(text.fill_null("") if text.null_count else text)
    return out


def _mixed_text(column: np.ndarray) -> pa.Array:
    """A column with numbers, dates or booleans: the cells of each type converted together, then put
    back in their places."""
    types = np.fromiter(map(type, column), dtype=object, count=len(column))
    parts: list[tuple[np.ndarray, pa.Array]] = []
    for t in set(types):
        where = np.flatnonzero(types == t)
        parts.append((where, _TEXT.get(t, _each)(column[where])))
    return _scatter(len(column), parts)


def _scatter(n: int, parts: list[tuple[np.ndarray, pa.Array]]) -> pa.Array:
    """One array of ``n`` from pieces and the positions each piece's values go to."""
    if len(parts) == 1:
        return parts[0][1]
    order = np.empty(n, dtype=np.int64)
    order[np.concatenate([where for where, _ in parts])] = np.arange(n)
    return pa.concat_arrays([piece for _, piece in parts]).take(pa.array(order))


def _floats(v: np.ndarray) -> pa.Array:
    """Integral numbers without ".0" (below 1e16, where a float is still exact), others as ``repr``."""
    f = v.astype(np.float64)
    whole = (np.abs(f) < 1e16) & (f == np.trunc(f))
    parts = [
        (np.flatnonzero(whole), pa.array(f[whole].astype(np.int64)).cast(pa.string())),
        (
            np.flatnonzero(~whole),
            pa.array(list(map(repr, v[~whole])), type=pa.string()),
        ),
    ]
    return _scatter(len(v), [p for p in parts if len(p[0])])


def _datetimes(v: np.ndarray) -> pa.Array:
    """``2024-11-05 15:58:03``: rounded to the second, half a second up."""
    micros = pa.array(v.tolist(), type=pa.timestamp("us")).to_numpy().astype(np.int64)
    seconds = ((micros + 500_000) // 1_000_000).astype("datetime64[s]")
    text = pa.array(np.datetime_as_string(seconds, unit="s"), type=pa.string())
    return pc.replace_substring(text, "T", " ", max_replacements=1)


def _dates(v: np.ndarray) -> pa.Array:
    """``2024-11-05``."""
    days = pa.array(v.tolist(), type=pa.date32()).cast(pa.int32()).to_numpy().astype("datetime64[D]")
    return pa.array(np.datetime_as_string(days), type=pa.string())


def _each(v: np.ndarray) -> pa.Array:
    """Cells of a rarer type (times of day, durations), one by one."""
    return pa.array(list(map(cell_text, v)), type=pa.string())


#: How the cells of one type become text, all at once.
_TEXT: dict[type, Callable[[np.ndarray], pa.Array]] = {
    str: lambda v: pa.array(v, type=pa.string()),
    type(None): lambda v: pa.repeat(pa.scalar("", type=pa.string()), len(v)),
    float: _floats,
    int: lambda v: pa.array(list(map(str, v)), type=pa.string()),
    bool: lambda v: pa.array(np.where(v.astype(bool), "TRUE", "FALSE"), type=pa.string()),
    dt.datetime: _datetimes,
    dt.date: _dates,
}


def cell_text(v: Any) -> str:
    """Workbook cell as text: ISO dates, integral numbers without ".0", TRUE/FALSE, '' for empty.

    The rule for one cell; :func:`text_columns` follows it a column at a time (a test holds them
    equal) and calls it only for the rare types (times of day, durations)."""
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
