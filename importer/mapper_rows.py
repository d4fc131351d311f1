"""The rows table (:data:`models.ROWS`) built from the mapper's columns, and the columns only the
report needs: the names that identify a row (``extra``) and a row's second participation.

Built with Arrow from whole columns: no object per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .mapper_layout import Block
from .mapper_states import display_names
from .mapper_values import arrow_cells
from .models import CODED_TEXT, ROWS, Outcome, Reason, State
from .rows import blanks, falses, nulls, repeated

#: The fields a row's names come from; with --keep-raw every other column joins them.
NAME_FIELDS = ("first_name", "last_name", "name")

_EXTRA = ROWS.field("extra").type
_NAME = _EXTRA.key_type


def _when(mask: np.ndarray, value: str) -> pa.Array:
    """``value`` where ``mask`` holds, null elsewhere."""
    if not mask.any():
        return nulls(len(mask), pa.string())
    return pc.if_else(pa.array(mask), value, pa.scalar(None, pa.string()))


def also_columns(
    ms: np.ndarray, proven: np.ndarray, bad: np.ndarray, messages: Mapping[int, str]
) -> dict[str, pa.Array]:
    """The ``also_`` columns: a registration at ``ms`` where ``proven``, a rejected one (its
    message from ``messages``) where ``bad``, null where a row proves no second participation."""
    n = len(ms)
    has = proven | bad
    text = np.full(n, None, dtype=object) if has.any() else None
    if text is not None:
        text[proven] = ""
        for i, message in messages.items():
            text[i] = message
    return {
        "also_state": _when(has, State.REGISTER.value).cast(CODED_TEXT),
        "also_when_ms": pa.array(ms, type=pa.int64(), mask=~proven) if proven.any() else nulls(n, pa.int64()),
        "also_time_source": _when(has, "file").cast(CODED_TEXT),
        "also_outcome": _when(bad, Outcome.REJECTED.value),
        "also_reason": pc.if_else(pa.array(bad), Reason.BAD_TIME.value, _when(proven, ""))
        if bad.any()
        else _when(proven, ""),
        "also_message": nulls(n, pa.string()) if text is None else pa.array(text, type=pa.string()),
        "also_merged_file": nulls(n, pa.string()),
        "also_merged_row": nulls(n, pa.int64()),
        "also_batch_id": _when(has, "").cast(CODED_TEXT),
        "also_correlation_id": _when(has, ""),
    }


def rows_table(
    file: str,
    rows: np.ndarray,
    *,
    email: pa.Array | pa.ChunkedArray,
    vid: pa.Array,
    state: pa.Array,
    when_ms: pa.Array,
    verdicts: tuple[pa.Array, pa.Array, pa.Array],
    extra: pa.ChunkedArray,
    also: Mapping[str, pa.Array],
) -> pa.Table:
    """The :data:`models.ROWS` table of one file: no row merged, batched or sent yet; ``verdicts``
    are the outcome, reason and message columns."""
    n = len(rows)
    outcome, reason, message = verdicts
    columns: dict[str, pa.Array] = {
        "file": repeated(file, n),
        "row": pa.array(rows, type=pa.int64()),
        "email": email,
        "vid": vid,
        "state": state.cast(CODED_TEXT),
        "when_ms": when_ms,
        "time_source": repeated("file", n),
        "outcome": outcome,
        "reason": reason,
        "message": message,
        "merged_file": nulls(n, pa.string()),
        "merged_row": nulls(n, pa.int64()),
        "batch_id": repeated("", n),
        "correlation_id": blanks(n),
        "created_contact": falses(n),
        "extra": extra,
        **also,
    }
    return pa.Table.from_arrays([columns[f.name] for f in ROWS], schema=ROWS)


@dataclass(frozen=True)
class _Entry:
    """One key/value pair of ``extra`` per row, where ``present`` holds."""

    keys: pa.Array | None  # None: every row's is ``key``
    values: pa.Array | pa.ChunkedArray
    present: np.ndarray
    key: str | None = None


def _same(key: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(key, pa.string()), n)


def _text(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    return arrow_cells(values).cast(pa.string())


def _chunks(values: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return values.chunks if isinstance(values, pa.ChunkedArray) else [values]


def _name_entries(text: Mapping[str, pd.Series], n: int) -> list[_Entry]:
    """First and last name (both, when either is there), else a display name; none without names."""
    named = display_names(text["name"]) if "name" in text else None
    entries: list[_Entry] = []
    if "first_name" in text or "last_name" in text:
        blank = np.ones(n, dtype=bool)
        for key in ("first_name", "last_name"):
            if key in text:
                blank &= (text[key] == "").to_numpy(dtype=bool)
        for key in ("first_name", "last_name"):
            values = _text(text[key]) if key in text else _same("", n)
            entries.append(_Entry(None, values, ~blank, key))
    else:
        blank = np.ones(n, dtype=bool)
    if named is not None:
        entries.append(_Entry(None, _text(named), blank & (named != "").to_numpy(dtype=bool), "name"))
    return entries


def _raw_entries(frame: pd.DataFrame, blocks: Sequence[Block]) -> list[_Entry]:
    """Every column but the names, under its table's header ('column 3' for a blank one)."""
    kept = [
        [j for j in range(len(b.headers)) if j not in {b.columns[f] for f in NAME_FIELDS if f in b.columns}]
        for b in blocks
    ]
    entries: list[_Entry] = []
    for k in range(max((len(cols) for cols in kept), default=0)):
        keys, values, present = [], [], []
        for b, cols in zip(blocks, kept, strict=True):
            m = len(b.positions)
            if k < len(cols):
                j = cols[k]
                keys.append(_same(b.headers[j] or f"column {j + 1}", m))
                values.append(_text(frame.iloc[b.positions, j]))
                present.append(np.ones(m, dtype=bool))
            else:
                keys.append(_same("", m))
                values.append(_same("", m))
                present.append(np.zeros(m, dtype=bool))
        joined = pa.chunked_array([c for v in values for c in _chunks(v)], pa.string())
        entries.append(_Entry(pa.concat_arrays(keys), joined, np.concatenate(present)))
    return entries


#: Rows whose map entries are gathered together: the values are taken from the loader's blocks a
#: slice at a time, so the whole column's names are never joined into one array first (Arrow joins
#: the blocks before it takes from them: 18 MiB more for a million rows' first and last names).
_MAP_ROWS = 1 << 16


def _map_of(entries: Sequence[_Entry], n: int) -> pa.ChunkedArray:
    """Per row the present entries, in order, as a map column (a chunk per :data:`_MAP_ROWS` rows)."""
    if not entries:
        empty = pa.MapArray.from_arrays(
            pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], _NAME), pa.array([], pa.string()), type=_EXTRA
        )
        return pa.chunked_array([empty], _EXTRA)
    present = np.stack([e.present for e in entries], axis=1)
    names = pa.array([e.key for e in entries], pa.string()) if all(e.keys is None for e in entries) else None
    chunks = [_map_rows(entries, present, names, start) for start in range(0, n, _MAP_ROWS)]
    return pa.chunked_array(chunks, _EXTRA)


def _map_rows(entries: Sequence[_Entry], present: np.ndarray, names: pa.Array | None, start: int) -> pa.MapArray:
    """The map of the rows from ``start`` (:data:`_MAP_ROWS` of them, fewer at the end); ``names``:
    the one name of each entry, or ``None`` when an entry's name differs by row (--keep-raw)."""
    mine = present[start : start + _MAP_ROWS]
    m, k = mine.shape
    offsets = np.zeros(m + 1, dtype=np.int32)
    np.cumsum(mine.sum(axis=1, dtype=np.int32), out=offsets[1:])
    source: np.ndarray
    if mine.all():  # every row has every entry: the k entries of each row in turn
        which = np.tile(np.arange(k, dtype=np.int16), m)
        source = np.add.outer(np.arange(m, dtype=np.int32), np.arange(0, m * k, m, dtype=np.int32)).ravel()
    else:
        row, which = np.divmod(np.flatnonzero(mine.ravel()).astype(np.int32), k)
        source = which * m + row
    take = pa.array(source)
    if names is not None:  # entry ``which`` of the k names
        keys = pa.DictionaryArray.from_arrays(pa.array(which.astype(np.int16, copy=False)), names)
    else:
        own = [_same(e.key or "", m) if e.keys is None else e.keys.slice(start, m) for e in entries]
        keys = pa.concat_arrays(own).take(take).cast(_NAME)
    blocks = [c for e in entries for c in _chunks(e.values.slice(start, m))]
    taken = pa.chunked_array(blocks, pa.string()).take(take)
    values = taken.chunk(0) if taken.num_chunks == 1 else taken.combine_chunks()
    return pa.MapArray.from_arrays(pa.array(offsets), keys, values, type=_EXTRA)


def extras(
    text: Mapping[str, pd.Series], frame: pd.DataFrame, blocks: Sequence[Block], *, keep_raw: bool
) -> pa.ChunkedArray:
    """The ``extra`` column: identifying columns for the report (first/last name or a display
    name); every column with keep_raw."""
    n = sum(len(b.positions) for b in blocks)
    entries = _name_entries(text, n)
    if keep_raw:
        entries += _raw_entries(frame, blocks)
    return _map_of(entries, n)
