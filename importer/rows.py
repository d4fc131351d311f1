"""Operations on the rows table (:data:`models.ROWS`), column-wise.

A row proves one or two participations: its first one (the plain columns) and a second one (the
``also_`` columns).  The stages settle them with the functions here, which never loop over rows in
Python, so a million rows cost a few column passes.
"""

from __future__ import annotations

import mmap
from collections.abc import Mapping, Sequence
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .models import PART_COLUMNS, ROWS, Outcome

#: The two participation column sets of a row: its first one and its second one.
PREFIXES = ("", "also_")

#: How much a participation's outcome needs the user; a row shows its neediest one first (an open
#: one most of all), so a row's ``outcome`` is ``recorded`` only when all of its participations are.
NEED = (Outcome.MERGED, Outcome.SKIPPED, Outcome.RECORDED, Outcome.PLANNED, Outcome.REJECTED, Outcome.FAILED)

Mask: TypeAlias = pa.ChunkedArray | pa.Array


def empty() -> pa.Table:
    """A rows table with no rows."""
    return ROWS.empty_table()


def _zeros(n: int) -> pa.Buffer:
    """Room for ``n`` values of up to 8 bytes, all zero, in pages the system maps on first write
    (an anonymous mapping): as nothing ever writes them, they are never made resident.  NumPy's
    zeroed arrays were not so cheap: once the C allocator has freed a few large blocks it serves
    blocks of this size from its heap, zeroed by hand, so a million-row table's null columns cost
    about 50 MiB."""
    return pa.py_buffer(mmap.mmap(-1, (n + 1) * 8))


def nulls(n: int, type: pa.DataType) -> pa.Array:
    """A column of ``n`` nulls that costs next to no memory (the rows table has many: a second
    participation nobody has, merges nobody made)."""
    if pa.types.is_dictionary(type):
        return coded(nulls(n, type.index_type), pa.array([], type.value_type))
    zeros = _zeros(n)
    if pa.types.is_string(type):
        return pa.Array.from_buffers(type, n, [zeros, zeros, zeros.slice(0, 0)], null_count=n)
    if pa.types.is_integer(type) or pa.types.is_boolean(type):
        return pa.Array.from_buffers(type, n, [zeros, zeros], null_count=n)
    return pa.nulls(n, type)


def blanks(n: int) -> pa.Array:
    """A text column of ``n`` empty texts, as cheap as :func:`nulls`."""
    zeros = _zeros(n)
    return pa.Array.from_buffers(pa.string(), n, [None, zeros, zeros.slice(0, 0)], null_count=0)


def falses(n: int) -> pa.Array:
    """A flag column of ``n`` false values, as cheap as :func:`nulls`."""
    return pa.Array.from_buffers(pa.bool_(), n, [None, _zeros(n)], null_count=0)


def has_part(rows: pa.Table, prefix: str) -> pa.ChunkedArray:
    """Rows that prove a participation in this column set (every row has a first one)."""
    state = rows.column(f"{prefix}state")
    return pc.is_valid(state) if prefix else pc.fill_null(pc.is_valid(state), True)


def open_part(rows: pa.Table, prefix: str) -> pa.ChunkedArray:
    """Rows whose participation in this column set still waits for its fate."""
    waiting = pc.is_null(rows.column(f"{prefix}outcome"))
    return pc.and_(waiting, pc.is_valid(rows.column("also_state"))) if prefix else waiting


def open_rows(rows: pa.Table) -> pa.ChunkedArray:
    """Rows with some participation still open."""
    return pc.or_(open_part(rows, ""), open_part(rows, "also_"))


def put(rows: pa.Table, name: str, where: Mask, value: object) -> pa.Table:
    """Column ``name`` set to ``value`` (a scalar or a column) where ``where`` holds (a null in
    ``where`` keeps the value)."""
    where = pc.fill_null(where, False)
    if not pc.any(where).as_py():
        return rows  # nothing changes: the column is not copied
    column = rows.column(name)
    if not isinstance(value, pa.Array | pa.ChunkedArray):
        value = pa.scalar(value, column.type)
    return rows.set_column(rows.schema.get_field_index(name), name, pc.if_else(where, value, column))


def settle_where(
    rows: pa.Table,
    where: Mask,
    prefix: str,
    outcome: Outcome,
    reason: object,
    message: object,
    correlation_id: object = None,
) -> pa.Table:
    """The participations of ``prefix`` that are open and ``where`` holds, settled; ``reason``,
    ``message`` and ``correlation_id`` are one value for all or a column."""
    mask = pc.and_(pc.fill_null(where, False), open_part(rows, prefix))
    if not pc.any(mask).as_py():
        return rows
    rows = put(rows, f"{prefix}outcome", mask, outcome.value)
    rows = put(rows, f"{prefix}reason", mask, reason)
    rows = put(rows, f"{prefix}message", mask, message)
    if correlation_id is not None:
        rows = put(rows, f"{prefix}correlation_id", mask, correlation_id)
    return rows


def settle_rows(
    rows: pa.Table, where: Mask, outcome: Outcome, reason: object, message: object, correlation_id: object = None
) -> pa.Table:
    """Every open participation of the rows ``where`` holds, settled alike (the contact cannot be
    resolved, ...)."""
    for prefix in PREFIXES:
        rows = settle_where(rows, where, prefix, outcome, reason, message, correlation_id)
    return rows


def need(rows: pa.Table, prefix: str) -> pa.ChunkedArray:
    """Each row's participation of ``prefix`` ranked by :data:`NEED` (open ones rank highest)."""
    rank = pc.index_in(rows.column(f"{prefix}outcome"), value_set=pa.array([o.value for o in NEED]))
    return pc.fill_null(rank, len(NEED))


def worst_first(rows: pa.Table, where: Mask | None = None) -> pa.Table:
    """Rows whose second participation needs the user more than their first show it first
    (the two sets of participation columns exchanged); ties keep the order.  ``where``: only
    those rows (the ones a stage has just settled)."""
    swap = pc.fill_null(pc.and_(has_part(rows, "also_"), pc.greater(need(rows, "also_"), need(rows, ""))), False)
    if where is not None:
        swap = pc.and_(swap, pc.fill_null(where, False))
    if not pc.any(swap).as_py():
        return rows
    columns: dict[str, pa.ChunkedArray] = {}
    for name in PART_COLUMNS:
        first, second = rows.column(name), rows.column(f"also_{name}")
        columns[name] = pc.if_else(swap, second, first)
        columns[f"also_{name}"] = pc.if_else(swap, first, second)
    for name, column in columns.items():
        rows = rows.set_column(rows.schema.get_field_index(name), name, column)
    return rows


def in_order(rows: pa.Table, files: Sequence[str]) -> pa.Table:
    """Rows by file (in the order given; files not named go last) then row number, stably."""
    rank = pc.fill_null(pc.index_in(rows.column("file"), value_set=pa.array(list(files), pa.string())), len(files))
    if _ascending(rank, rows.column("row")):
        return rows  # already in order (a run's rows nearly always are): no copy of the table
    keyed = rows.select(["row"]).append_column("__file_rank", rank)
    order = pc.sort_indices(keyed, sort_keys=[("__file_rank", "ascending"), ("row", "ascending")])
    return rows.take(order)


def _ascending(rank: pa.ChunkedArray, row: pa.ChunkedArray) -> bool:
    """Whether (rank, row) never goes down from one line to the next."""
    if len(row) < 2:
        return True
    r = np.asarray(rank.to_numpy(), np.int64)
    n = np.asarray(row.to_numpy(), np.int64)
    return bool(np.all((r[1:] > r[:-1]) | ((r[1:] == r[:-1]) & (n[1:] >= n[:-1]))))


def counts(rows: pa.Table, column: str) -> Mapping[str | None, int]:
    """How many rows hold each value of ``column``."""
    found = pc.value_counts(rows.column(column))
    return {v.as_py(): c.as_py() for v, c in zip(found.field("values"), found.field("counts"), strict=True)}


def distinct(column: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.ChunkedArray]:
    """The distinct values of ``column`` and each cell's index among them (null for null): what is
    worked out once per value (a text, a formatted time) instead of once per row."""
    chunked = column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])
    coded = pc.dictionary_encode(chunked).unify_dictionaries()
    if not coded.num_chunks:
        return pa.array([], text(chunked).type), pa.chunked_array([], pa.int32())
    return coded.chunk(0).dictionary, pa.chunked_array([chunk.indices for chunk in coded.chunks], pa.int32())


def text(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A coded text column (:data:`models.CODED_TEXT`) as plain text, for the kernels that take no
    dictionaries; any other column as it is."""
    return pc.cast(column, column.type.value_type) if pa.types.is_dictionary(column.type) else column


def coded(codes: pa.Array | np.ndarray, words: pa.Array) -> pa.DictionaryArray:
    """The coded text column (:data:`models.CODED_TEXT`) whose line ``i`` is ``words[codes[i]]``."""
    indices = codes if isinstance(codes, pa.Array) else pa.array(np.asarray(codes, np.int32))
    return pa.DictionaryArray.from_arrays(indices.cast(pa.int32()), words)


def repeated(word: str, n: int) -> pa.DictionaryArray:
    """A coded text column of ``n`` lines all ``word``, its indices in pages never made resident."""
    return coded(pa.Array.from_buffers(pa.int32(), n, [None, _zeros(n)]), pa.array([word], pa.string()))


def ordered_codes(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A number per line that orders the lines as their texts order (equal texts, equal numbers):
    a coded column sorted without writing out its text."""
    words, codes = distinct(column)
    rank = np.empty(len(words), np.int32)
    rank[np.argsort(np.asarray(words.to_numpy(zero_copy_only=False), dtype=object), kind="stable")] = np.arange(
        len(words), dtype=np.int32
    )
    return rank[np.asarray(codes.to_numpy(), np.int64)] if len(words) else np.zeros(len(column), np.int32)


def count_distinct(column: pa.Array | pa.ChunkedArray) -> int:
    """How many distinct values (nulls not counted) a column holds, coded text included."""
    return len(distinct(pc.drop_null(column))[0])


SEP = "\x1f"  # the unit separator: in no file name, row number or state word


def part_names(table: pa.Table, prefix: str = "") -> pa.ChunkedArray:
    """Each line's participation named as one text, ``file, row, state``: a rows table's
    participation of ``prefix``, or a plan table's (PARTS) carrier row and state.  Null where the
    row has no such participation."""
    row = pc.cast(table.column("row"), pa.string())
    return pc.binary_join_element_wise(text(table.column("file")), row, text(table.column(f"{prefix}state")), SEP)


def settle_named(
    rows: pa.Table, names: pa.Array | pa.ChunkedArray, outcome: Outcome, reason: str, message: object
) -> pa.Table:
    """The open participations :func:`part_names` names in ``names``, settled alike."""
    for prefix in PREFIXES:
        where = pc.is_in(part_names(rows, prefix), value_set=pa.array(names, pa.string()))
        rows = settle_where(rows, where, prefix, outcome, reason, message)
    return rows


def lookup(keys: pa.ChunkedArray | pa.Array, values: Mapping[str, object], type: pa.DataType) -> pa.ChunkedArray:
    """``values[key]`` for each key, null where ``values`` has none."""
    index = pc.index_in(keys, value_set=pa.array(list(values), pa.string()))
    return pc.take(pa.array(list(values.values()), type), index)


def row_keys(table: pa.Table) -> pa.ChunkedArray:
    """Each line's input row named as one text (``file, row``)."""
    return pc.binary_join_element_wise(text(table.column("file")), pc.cast(table.column("row"), pa.string()), SEP)


def merged_keys(rows: pa.Table, prefix: str = "") -> pa.ChunkedArray:
    """The row each participation of ``prefix`` is merged into, named as :func:`row_keys` names
    rows; null where it is not merged."""
    into = pc.cast(rows.column(f"{prefix}merged_row"), pa.string())
    return pc.binary_join_element_wise(rows.column(f"{prefix}merged_file"), into, SEP)


def replace_rows(base: pa.Table, new: pa.Table) -> pa.Table:
    """``base`` with each row that ``new`` also holds (same file and row) taken from ``new``."""
    if new.num_rows == 0:
        return base
    at = pc.index_in(row_keys(base), value_set=row_keys(new).combine_chunks())
    found = pc.is_valid(at)
    columns = [pc.if_else(found, pc.take(new.column(n), at), base.column(n)) for n in base.column_names]
    return pa.Table.from_arrays(columns, schema=base.schema)
