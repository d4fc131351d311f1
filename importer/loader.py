"""Loader: turn an input file into a raw grid of text cells, without interpreting any header.

The mapper finds the header row and the columns in this grid, so the loader keeps every non-blank
line (title lines included) and remembers, for each, the row number a spreadsheet app shows: that
number travels to the report so every input row can be found again by the user.

The real format comes from the file's bytes, never its name (:mod:`importer.loader_detect`); text
exports are read by :mod:`importer.loader_text`, workbooks by :mod:`importer.loader_book`, whose
sheets :mod:`importer.loader_sheets` picks.  Anything we cannot read stops the run with one sentence
that names the file and says what to do.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .errors import InputError
from .loader_book import load_workbook, open_workbook
from .loader_detect import check_file, detect_kind, human_size, numbers_error
from .loader_grid import MAX_COLUMNS, SNIFF_BYTES, STRIP_CHARS, Sheet
from .loader_sheets import sheet_role
from .loader_text import load_text, sniff_delimiter

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_COLUMNS",
    "SNIFF_BYTES",
    "STRIP_CHARS",
    "Sheet",
    "load",
    "load_all",
    "numbers_error",
    "sheet_names",
    "sheet_role",
    "sniff_delimiter",
]

DEFAULT_MAX_BYTES = 512 * 2**20


def load(path: str | Path, *, sheet: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> Sheet:
    """Read ``path`` (CSV/TSV text, XLSX, XLSB, XLS or ODS, detected from its bytes) into a :class:`Sheet`
    (the first one, for a workbook whose registrants and attendees sheets are both read)."""
    return load_all(path, sheet=sheet, max_bytes=max_bytes)[0]


def load_all(path: str | Path, *, sheet: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Sheet]:
    """Every sheet of ``path`` to import: one, or a workbook's registrants and attendees sheets."""
    file = str(path)
    p = Path(path)
    size = check_file(p, file)
    if size > max_bytes:
        raise InputError(
            f"{file} is {human_size(size)}, more than the {human_size(max_bytes)} limit: "
            "split it into smaller files or raise the max_file_mb setting."
        )
    kind = detect_kind(p, file, size)
    if kind == "csv":
        loaded = load_text(p, file)
        if sheet is None:
            return [loaded]
        return [replace(loaded, notes=(*loaded.notes, f"sheet '{sheet}' ignored: a CSV file has no sheets"))]
    return load_workbook(p, file, kind, sheet)


def sheet_names(path: str | Path) -> list[str]:
    """The sheet names of a workbook in workbook order (hidden ones included); ``[]`` for a text file."""
    file = str(path)
    p = Path(path)
    size = check_file(p, file)
    kind = detect_kind(p, file, size)
    if kind == "csv":
        return []
    with open_workbook(p, file, kind) as wb:
        return list(wb.sheet_names)
