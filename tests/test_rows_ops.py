"""Operations on the rows table: settling, the neediest participation first, input order."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from row_objects import Row, rows_to_table, settle_row, worst_first
from test_rows_table import rows as rows_strategy

from importer import rows as ops
from importer.models import CODED_TEXT, ROWS, Outcome


def table(*lines: dict[str, object]) -> pa.Table:
    """A rows table from partial lines (missing columns take their empty value)."""
    defaults: dict[str, object] = {"time_source": "file", "reason": "", "message": "", "batch_id": ""}
    defaults |= {"correlation_id": "", "created_contact": False}
    full = [{**{n: None for n in ROWS.names}, **defaults, **line} for line in lines]
    return pa.Table.from_pylist(full, schema=ROWS)


def col(t: pa.Table, name: str) -> list[object]:
    return t.column(name).to_pylist()


def test_settling_touches_only_open_participations_where_asked() -> None:
    t = table(
        {"file": "a", "row": 2, "state": "attend", "also_state": "register"},
        {"file": "a", "row": 3, "state": "attend", "outcome": "rejected", "reason": "bad_time"},
        {"file": "a", "row": 4, "state": "attend"},
    )
    out = ops.settle_rows(t, pa.array([True, True, False]), Outcome.FAILED, "timeout", "later", "c1")
    assert col(out, "outcome") == ["failed", "rejected", None]
    assert col(out, "reason") == ["timeout", "bad_time", ""]
    assert col(out, "also_outcome") == ["failed", None, None]  # row 3 has no second participation
    assert col(out, "correlation_id") == ["c1", "", ""]
    assert col(out, "also_correlation_id") == ["c1", None, None]


def test_a_message_may_differ_per_row() -> None:
    t = table({"file": "a", "row": 2, "state": "attend"}, {"file": "a", "row": 3, "state": "attend"})
    out = ops.settle_where(t, pa.array([True, True]), "", Outcome.REJECTED, "x", pa.array(["one", "two"]))
    assert col(out, "message") == ["one", "two"]


@pytest.mark.parametrize(
    ("first", "second", "shown"),
    [
        ("recorded", "failed", "failed"),
        ("failed", "recorded", "failed"),
        ("merged", "recorded", "recorded"),
        ("skipped", "rejected", "rejected"),
        ("recorded", None, None),  # an open one needs the user most
        ("planned", "planned", "planned"),
    ],
)
def test_the_neediest_participation_comes_first(first: str, second: str | None, shown: str | None) -> None:
    t = table(
        {
            "file": "a",
            "row": 2,
            "state": "attend",
            "outcome": first,
            "reason": "r1",
            "also_state": "register",
            "also_outcome": second,
            "also_reason": "r2",
        }
    )
    out = ops.worst_first(t)
    assert col(out, "outcome") == [shown]
    swapped = shown != first
    assert col(out, "state") == ["register" if swapped else "attend"]
    assert col(out, "also_state") == ["attend" if swapped else "register"]
    assert col(out, "reason") == ["r2" if swapped else "r1"]


def test_a_row_without_a_second_participation_is_never_swapped() -> None:
    t = table({"file": "a", "row": 2, "state": "attend", "outcome": "merged"})
    assert ops.worst_first(t).equals(t)


def test_input_order_is_the_files_order_then_the_row_number() -> None:
    t = table(
        {"file": "b", "row": 3},
        {"file": "a", "row": 9},
        {"file": "b", "row": 2},
        {"file": "c", "row": 1},
        {"file": "a", "row": 4},
    )
    out = ops.in_order(t, ["b", "a"])
    assert list(zip(col(out, "file"), col(out, "row"), strict=True)) == [
        ("b", 2),
        ("b", 3),
        ("a", 4),
        ("a", 9),
        ("c", 1),
    ]
    assert out.schema == ROWS


def test_open_rows_and_counts() -> None:
    t = table(
        {"file": "a", "row": 2, "state": "attend", "outcome": "recorded", "also_state": "register"},
        {"file": "a", "row": 3, "state": "attend", "outcome": "recorded"},
        {"file": "a", "row": 4, "state": "cancel"},
    )
    assert col(t.append_column("o", ops.open_rows(t)), "o") == [True, False, True]
    assert ops.counts(t, "outcome") == {"recorded": 2, None: 1}


@settings(max_examples=50, deadline=None)
@given(st.lists(rows_strategy, max_size=12), st.data())
def test_the_table_agrees_with_the_row_objects(batch: list[Row], data: st.DataObject) -> None:
    """While both exist, the column-wise operations say what the row-at-a-time ones say."""
    t = rows_to_table(batch)
    assert ops.worst_first(t).equals(rows_to_table([worst_first(r) for r in batch]))
    where = data.draw(st.lists(st.booleans(), min_size=len(batch), max_size=len(batch)))
    settled = ops.settle_rows(t, pa.array(where, pa.bool_()), Outcome.FAILED, "timeout", "m", "c")
    expected = [
        settle_row(r, Outcome.FAILED, "timeout", "m", "c") if w else r for r, w in zip(batch, where, strict=True)
    ]
    assert settled.equals(rows_to_table(expected))


def test_an_unknown_answer_in_the_mask_changes_nothing() -> None:
    t = table({"file": "a", "row": 2, "message": "kept"}, {"file": "a", "row": 3, "message": "kept"})
    out = ops.put(t, "message", pa.array([None, True], pa.bool_()), "new")
    assert col(out, "message") == ["kept", "new"]


@given(st.lists(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "é", ""])), max_size=6), max_size=4))
def test_distinct_gives_each_value_once_and_each_cell_its_index(chunks: list[list[str | None]]) -> None:
    column = pa.chunked_array(chunks, pa.string())
    values, at = ops.distinct(column)
    cells = column.to_pylist()
    assert values.type == pa.string()
    assert values.to_pylist() == list(dict.fromkeys(c for c in cells if c is not None))
    assert [None if i is None else values[i].as_py() for i in at.to_pylist()] == cells


@given(st.lists(st.lists(st.one_of(st.none(), st.sampled_from(["b", "a", "é", "", "ab"])), max_size=6), max_size=4))
def test_coded_text_orders_and_counts_as_its_text(chunks: list[list[str | None]]) -> None:
    """A plan's coded columns (each chunk its own dictionary, as read back from the journal) sort
    and count as their texts would: the numbers compare as the texts, nulls not counted."""
    column = pa.chunked_array([pa.array(c, pa.string()).dictionary_encode() for c in chunks], CODED_TEXT)
    texts = column.to_pylist()
    assert ops.text(column).to_pylist() == texts and ops.text(column).type == pa.string()
    assert ops.count_distinct(column) == len({t for t in texts if t is not None})
    present = [i for i, t in enumerate(texts) if t is not None]
    codes = ops.ordered_codes(pc.drop_null(column))
    for a, i in enumerate(present):
        for b, j in enumerate(present):
            assert (codes[a] < codes[b]) == (texts[i] < texts[j]) and (codes[a] == codes[b]) == (texts[i] == texts[j])


def test_a_repeated_text_is_one_word_and_untouched_pages() -> None:
    column = ops.repeated("1001", 100_000)
    assert column.type == CODED_TEXT and column.dictionary.to_pylist() == ["1001"]
    assert column[0].as_py() == column[99_999].as_py() == "1001" and column.null_count == 0
    assert ops.coded(np.array([1, 0, 1]), pa.array(["x", "y"])).to_pylist() == ["y", "x", "y"]


def _resident_pages(buffer: pa.Buffer) -> int:
    """How many of the memory pages under ``buffer`` are resident (Linux's page map: bit 63)."""
    page = os.sysconf("SC_PAGE_SIZE")
    first, last = buffer.address // page, (buffer.address + buffer.size - 1) // page
    with open("/proc/self/pagemap", "rb") as fh:
        fh.seek(first * 8)
        entries = np.frombuffer(fh.read((last - first + 1) * 8), np.uint64)
    return int(np.count_nonzero(entries >> np.uint64(63)))


@pytest.mark.skipif(not os.path.exists("/proc/self/pagemap"), reason="reads Linux's page map")
def test_empty_columns_take_no_resident_memory_even_after_large_blocks_were_freed() -> None:
    """A million-row table has a dozen empty columns (a second participation nobody has...): their
    buffers must stay unwritten pages, also once the C allocator has been handed large blocks back
    (it then serves blocks of this size from memory it holds, zeroed by hand: resident)."""
    n = 1_000_000
    big = np.ones(4 * n, np.int64)
    del big  # past the allocator's threshold: it takes blocks of this size from its heap from now on
    for _ in range(3):
        blocks = [np.ones(n + 1, np.int64) for _ in range(4)]
        del blocks  # resident memory the allocator keeps, as the loader's and mapper's leave it
    columns = [ops.nulls(n, t) for t in (pa.string(), pa.int64(), pa.bool_())]
    columns += [ops.blanks(n), ops.falses(n)]
    resident = {str(c.type): sum(_resident_pages(b) for b in c.buffers() if b is not None) for c in columns}
    assert max(resident.values()) <= 2, f"resident pages per empty column of {n:,} rows: {resident}"
    assert [c.null_count for c in columns[:3]] == [n] * 3
    assert columns[0][n - 1].as_py() is None and columns[3][n - 1].as_py() == "" and not columns[4][0].as_py()
    assert pc.count_distinct(columns[3]).as_py() == 1 and pc.any(columns[4]).as_py() is False
