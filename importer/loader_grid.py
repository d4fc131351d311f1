"""The grid every reader produces: the :class:`Sheet`, the cell clean-up they share, the width limit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InputError

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

#: The bytes a strip character's UTF-8 form begins with, and those it ends with: a cell whose first
#: byte is not among the first and whose last is not among the last has nothing to strip.
_STRIP_FIRST = np.zeros(256, dtype=bool)
_STRIP_FIRST[[c.encode()[0] for c in STRIP_CHARS]] = True
_STRIP_LAST = np.zeros(256, dtype=bool)
_STRIP_LAST[[c.encode()[-1] for c in STRIP_CHARS]] = True

#: A column of text cells as the readers give it: one array, or the CSV parser's blocks.
Column: TypeAlias = pa.Array | pa.ChunkedArray


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


def too_wide(file: str, width: int, *, cut: bool) -> InputError:
    """The refusal of a file wider than :data:`MAX_COLUMNS` (``cut``: only its first 64 KB were counted)."""
    many = f"more than {width:,}" if cut else f"{width:,}"
    return InputError(
        f"{file} has {many} columns; an attendee export has a few dozen, and HubSpot itself imports at most "
        f"{MAX_COLUMNS:,}: check that this is the attendee report, or save just its table as CSV or XLSX."
    )


def maybe_padded(cells: pa.Array) -> bool:
    """Whether some cell may begin or end with a strip character (``False`` only when none does).

    Looks at each cell's first and last byte in the array's own buffers, without a copy; cells with
    nulls, which never come from the readers, are always stripped."""
    if cells.null_count or not pa.types.is_string(cells.type):
        return True
    _, offsets, data = cells.buffers()
    if data is None or len(cells) == 0:
        return False  # every cell is empty
    ends = np.frombuffer(offsets, dtype=np.int32)[cells.offset : cells.offset + len(cells) + 1]
    filled = ends[1:] > ends[:-1]
    if filled.all():
        first, last = ends[:-1], ends[1:] - 1
    else:
        first, last = ends[:-1][filled], ends[1:][filled] - 1
    content = np.frombuffer(data, dtype=np.uint8)
    return bool(_STRIP_FIRST[content[first]].any() or _STRIP_LAST[content[last]].any())


def stripped(column: Column) -> Column:
    """The column with :data:`STRIP_CHARS` stripped from both ends of every cell; the blocks that have
    nothing to strip stay as they are (most exports pad no cell, and trimming copied every one)."""
    if isinstance(column, pa.ChunkedArray):
        return pa.chunked_array([stripped(chunk) for chunk in column.chunks], type=column.type)
    if not maybe_padded(column):
        return column
    return pc.utf8_trim(column, characters=STRIP_CHARS)


def finish(columns: list[Column]) -> tuple[pd.DataFrame, np.ndarray]:
    """Strip cells, drop blank lines (keeping their numbers counted) and trailing empty columns."""
    if not columns:
        return pd.DataFrame(), np.zeros(0, dtype=np.int64)
    stripped_columns = [stripped(c) for c in columns]
    filled = [pc.greater(pc.binary_length(c), 0) for c in stripped_columns]
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
            for i, c in enumerate(stripped_columns[:width])
        }
    )
    return frame, row_numbers
