"""The rows table: one declared schema, and rows survive the trip to it and back."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from row_objects import Also, Row, rows_to_table, table_to_rows

from importer.models import PART_COLUMNS, ROWS, Outcome, RowRef, State

texts = st.text(max_size=8)
refs = st.builds(RowRef, texts, st.integers(1, 10**6))
ms = st.none() | st.integers(0, 2**53)
outcomes = st.none() | st.sampled_from(Outcome)
alsos = st.none() | st.builds(
    Also,
    st.sampled_from(State),
    ms,
    st.sampled_from(["file", "event_start"]),
    outcomes,
    texts,
    texts,
    st.none() | refs,
    texts,
    texts,
)
rows = st.builds(
    Row,
    refs,
    st.none() | texts,
    st.none() | st.integers(1, 2**63 - 1),
    st.none() | st.sampled_from(State),
    ms,
    st.sampled_from(["file", "event_start"]),
    outcomes,
    texts,
    texts,
    st.none() | refs,
    texts,
    texts,
    st.booleans(),
    st.lists(st.tuples(texts, texts), max_size=3).map(tuple),
    alsos,
)


@settings(deadline=None)
@given(st.lists(rows, max_size=20))
def test_rows_survive_the_table(batch: list[Row]) -> None:
    table = rows_to_table(batch)
    assert table.schema == ROWS and table.num_rows == len(batch)
    assert table_to_rows(table) == batch


def test_a_participation_has_the_same_columns_twice() -> None:
    names = ROWS.names
    assert [n for n in names if n.startswith("also_")] == [f"also_{n}" for n in PART_COLUMNS]
    assert all(n in names for n in PART_COLUMNS)
    assert len(set(names)) == len(names)


def test_an_empty_input_is_an_empty_table_of_the_schema() -> None:
    table = rows_to_table([])
    assert table.num_rows == 0 and table.schema == ROWS
