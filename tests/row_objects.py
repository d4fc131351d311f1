"""Row objects for tests: a readable way to write a few rows and read them back, turned into the
rows table (``models.ROWS``) the stages take.  The importer itself never builds these."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa

from importer.models import PART_COLUMNS, ROWS, Outcome, RowRef, State


@dataclass(frozen=True, slots=True)
class Also:
    """The second participation a row proves, with its own fate: an attendee's or a cancelled
    ticket's registration (``register`` at the file's registration time).  HubSpot keeps one
    participation per contact and state, so a row can prove two; the row's own fields hold the
    other one."""

    state: State
    when_ms: int | None
    time_source: str = "file"
    outcome: Outcome | None = None
    reason: str = ""
    message: str = ""
    merged_into: RowRef | None = None
    batch_id: str = ""
    correlation_id: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    """One data row of the input on its way through the pipeline.

    ``outcome`` is ``None`` while the row is still sendable; any stage that settles the row's fate
    sets ``outcome``, ``reason`` and ``message`` (bad rows are data, not exceptions).
    ``when_ms`` is ``None`` when the file gives no time: the pipeline then uses the event's start
    (``time_source`` says which).  ``extra`` holds a few identifying source columns (names) for the
    report, never the whole raw row.

    ``state`` .. ``correlation_id`` describe one participation the row proves and its fate; ``also``
    the second one when the row proves two (see :class:`Also`).  The two are equals: every stage
    treats both, and a settled row shows its worst participation first (:func:`worst_first`).
    """

    ref: RowRef
    email: str | None = None
    vid: int | None = None
    state: State | None = None
    when_ms: int | None = None
    time_source: str = "file"
    outcome: Outcome | None = None
    reason: str = ""
    message: str = ""
    merged_into: RowRef | None = None
    batch_id: str = ""
    correlation_id: str = ""
    created_contact: bool = False
    extra: tuple[tuple[str, str], ...] = ()
    also: Also | None = None

    @property
    def settled(self) -> bool:
        """Every participation of the row has its fate."""
        return self.outcome is not None and (self.also is None or self.also.outcome is not None)


def is_open(row: Row) -> bool:
    """Some participation of the row still waits for its fate."""
    return row.outcome is None or (row.also is not None and row.also.outcome is None)


def part_when(row: Row, state: State) -> int | None:
    """The time of the row's participation in ``state``."""
    if row.state is state:
        return row.when_ms
    assert row.also is not None and row.also.state is state
    return row.also.when_ms


def settle_part(row: Row, state: State, outcome: Outcome, reason: str, message: str, **more: Any) -> Row:
    """The row with its participation in ``state`` settled (``more``: merged_into, time_source...)."""
    if row.state is state:
        return replace(row, outcome=outcome, reason=reason, message=message, **more)
    assert row.also is not None and row.also.state is state, (row.ref, state)
    return replace(row, also=replace(row.also, outcome=outcome, reason=reason, message=message, **more))


def settle_row(row: Row, outcome: Outcome, reason: str, message: str, correlation_id: str = "") -> Row:
    """The row with every open participation settled alike (the contact cannot be resolved, ...)."""
    also = row.also
    if also is not None and also.outcome is None:
        also = replace(also, outcome=outcome, reason=reason, message=message, correlation_id=correlation_id)
    if row.outcome is None:
        return replace(row, outcome=outcome, reason=reason, message=message, correlation_id=correlation_id, also=also)
    return replace(row, also=also)


#: How much a participation's outcome needs the user: the row shows its neediest one first.
_NEED: Mapping[Outcome | None, int] = {
    Outcome.MERGED: 0,
    Outcome.SKIPPED: 1,
    Outcome.RECORDED: 2,
    Outcome.PLANNED: 3,
    Outcome.REJECTED: 4,
    Outcome.FAILED: 5,
    None: 6,
}


def swapped(row: Row) -> Row:
    """The row with its two participations exchanged (the one in ``also`` comes first)."""
    a = row.also
    assert a is not None
    second = Also(
        row.state,  # type: ignore[arg-type]  # a row with two participations has a state
        row.when_ms,
        row.time_source,
        row.outcome,
        row.reason,
        row.message,
        row.merged_into,
        row.batch_id,
        row.correlation_id,
    )
    return replace(
        row,
        state=a.state,
        when_ms=a.when_ms,
        time_source=a.time_source,
        outcome=a.outcome,
        reason=a.reason,
        message=a.message,
        merged_into=a.merged_into,
        batch_id=a.batch_id,
        correlation_id=a.correlation_id,
        also=second,
    )


def worst_first(row: Row) -> Row:
    """The row with the participation that most needs the user first, so the row's ``outcome``
    is ``recorded`` only when all of its participations are (merged or skipped ones count as
    done), and its reason and message say what to do.  Ties keep the order."""
    a = row.also
    if a is not None and _NEED[a.outcome] > _NEED[row.outcome]:
        return swapped(row)
    return row


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def rows_to_table(rows: Sequence[Row]) -> pa.Table:
    """The rows as a :data:`ROWS` table (while stages move from ``Row`` objects to the table)."""
    refs = [r.ref for r in rows]
    merged = [r.merged_into for r in rows]
    alsos = [r.also for r in rows]
    columns: dict[str, list[Any]] = {
        "file": [f.file for f in refs],
        "row": [f.row for f in refs],
        "email": [r.email for r in rows],
        "vid": [r.vid for r in rows],
        "state": [_text(r.state) for r in rows],
        "when_ms": [r.when_ms for r in rows],
        "time_source": [r.time_source for r in rows],
        "outcome": [_text(r.outcome) for r in rows],
        "reason": [r.reason for r in rows],
        "message": [r.message for r in rows],
        "merged_file": [None if m is None else m.file for m in merged],
        "merged_row": [None if m is None else m.row for m in merged],
        "batch_id": [r.batch_id for r in rows],
        "correlation_id": [r.correlation_id for r in rows],
        "created_contact": [r.created_contact for r in rows],
        "extra": [list(r.extra) for r in rows],
    }
    for name in PART_COLUMNS:
        if name in ("merged_file", "merged_row"):
            continue
        columns[f"also_{name}"] = [None if a is None else _text(getattr(a, name)) for a in alsos]
    columns["also_when_ms"] = [None if a is None else a.when_ms for a in alsos]
    also_merged = [None if a is None else a.merged_into for a in alsos]
    columns["also_merged_file"] = [None if m is None else m.file for m in also_merged]
    columns["also_merged_row"] = [None if m is None else m.row for m in also_merged]
    return pa.Table.from_pydict({f.name: columns[f.name] for f in ROWS}, schema=ROWS)


def _shared(col: pa.ChunkedArray, make: Any = None, empty: object = None) -> list[Any]:
    """A column's values as Python objects, one object per distinct value (``make`` of it;
    ``empty`` for null): a million rows repeat a few words, and one object each would cost
    time and memory."""
    encoded = col.combine_chunks().dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    values = np.array([empty, *(v if make is None else make(v) for v in distinct)], dtype=object)
    codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64) + 1
    out: list[Any] = values[codes].tolist()
    return out


def _or_file(source: str) -> str:
    return source or "file"


def _refs(files: pa.ChunkedArray, rows: pa.ChunkedArray) -> list[RowRef | None]:
    """``RowRef`` per line, ``None`` where the file is null."""
    if not files.null_count:
        return list(map(RowRef, _shared(files), rows.to_pylist()))
    out: list[RowRef | None] = [None] * len(files)
    has = np.flatnonzero(np.asarray(files.is_valid().to_numpy(zero_copy_only=False), dtype=bool))
    taken = pa.array(has)
    for i, ref in zip(has.tolist(), _refs(files.take(taken), rows.take(taken)), strict=True):
        out[i] = ref
    return out


def _pairs(col: pa.ChunkedArray) -> list[tuple[tuple[str, str], ...]]:
    """The ``extra`` map per line as a tuple of (key, value) pairs, keys shared."""
    arr = col.combine_chunks()
    if isinstance(arr, pa.ChunkedArray):  # an empty column
        arr = pa.array([], type=arr.type)
    offsets = np.asarray(arr.offsets.to_numpy(zero_copy_only=False), dtype=np.int64).tolist()
    pairs = list(zip(_shared(pa.chunked_array([arr.keys])), arr.items.to_pylist(), strict=True))
    return [tuple(pairs[a:b]) for a, b in zip(offsets[:-1], offsets[1:], strict=True)]


def _alsos(table: pa.Table) -> list[Also | None]:
    """The second participation per line, ``None`` where a line has none."""
    out: list[Also | None] = [None] * table.num_rows
    has = np.flatnonzero(np.asarray(table.column("also_state").is_valid().to_numpy(zero_copy_only=False), dtype=bool))
    if not len(has):
        return out
    part = table.take(pa.array(has))
    col = part.column
    built = map(
        Also,
        _shared(col("also_state"), State),
        col("also_when_ms").to_pylist(),
        _shared(col("also_time_source"), _or_file, "file"),
        _shared(col("also_outcome"), Outcome),
        _shared(col("also_reason"), empty=""),
        _shared(col("also_message"), empty=""),
        _refs(col("also_merged_file"), col("also_merged_row")),
        _shared(col("also_batch_id"), empty=""),
        _shared(col("also_correlation_id"), empty=""),
    )
    for i, also in zip(has.tolist(), built, strict=True):
        out[i] = also
    return out


def table_to_rows(table: pa.Table) -> list[Row]:
    """``Row`` objects from a :data:`ROWS` table (while stages move from them to the table):
    column by column, repeated words shared."""
    col = table.column
    return list(
        map(
            Row,
            _refs(col("file"), col("row")),
            col("email").to_pylist(),
            col("vid").to_pylist(),
            _shared(col("state"), State),
            col("when_ms").to_pylist(),
            _shared(col("time_source"), _or_file, "file"),
            _shared(col("outcome"), Outcome),
            _shared(col("reason"), empty=""),
            _shared(col("message"), empty=""),
            _refs(col("merged_file"), col("merged_row")),
            _shared(col("batch_id"), empty=""),
            _shared(col("correlation_id"), empty=""),
            [bool(c) for c in col("created_contact").to_pylist()],
            _pairs(col("extra")),
            _alsos(table),
        )
    )
