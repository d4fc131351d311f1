"""Workbooks (XLSX, XLSB, XLS, ODS) read by calamine into a grid of text cells.

Cells become the text a spreadsheet app shows for them (ISO dates, integral numbers without
".0"), and positions are kept from A1 so row numbers match what Excel shows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import python_calamine

from .errors import InputError
from .loader_detect import password_error
from .loader_grid import MAX_COLUMNS, Sheet, finish, too_wide
from .loader_sheets import HEAD_ROWS, SheetLook, choose_sheets, match_sheet

#: What a reader failure may raise: its own errors, and pyo3's PanicException (a BaseException) if the
#: Rust reader panics on a malformed file.  Interrupts are never swallowed.
_FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)


def open_workbook(p: Path, file: str, kind: str) -> python_calamine.CalamineWorkbook:
    """The workbook at ``p``; a password or a reader failure becomes one sentence for the user."""
    try:
        return python_calamine.CalamineWorkbook.from_path(str(p))
    except python_calamine.PasswordError:
        raise password_error(file) from None
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
        columns = _workbook_columns(rows)
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
    try:
        sheet = wb.get_sheet_by_name(name)
        end = sheet.end  # the last used cell, counted from A1; None for an empty sheet
        if end is not None and end[1] + 1 > MAX_COLUMNS:
            raise too_wide(f"{file} (sheet {name!r})", end[1] + 1, cut=False)
        rows: list[list[Any]] = sheet.to_python(skip_empty_area=False)
    except InputError:
        raise
    except python_calamine.PasswordError:
        raise password_error(file) from None
    except _FATAL:
        raise
    except BaseException as exc:
        raise _unreadable(file, kind) from exc
    return rows


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
