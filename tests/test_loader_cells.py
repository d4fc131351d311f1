"""A workbook's cells as text: the column-wise conversion says exactly what the one-cell rule says."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from importer.loader_book import cell_text, text_columns

CELLS = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 1e16 - 2, 1e16, -1e16 + 2, 2.5, 45123.99999, 0.1 + 0.2, 1e-7]),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59)),
    st.dates(),
    st.times(),
    st.timedeltas(min_value=dt.timedelta(days=-9999), max_value=dt.timedelta(days=9999)),
)


@given(st.integers(1, 4).flatmap(lambda w: st.lists(st.lists(CELLS, min_size=w, max_size=w), min_size=1, max_size=30)))
def test_columns_say_what_each_cell_says(rows: list[list[Any]]) -> None:
    columns = text_columns(rows)
    assert [c.to_pylist() for c in columns] == [[cell_text(row[i]) for row in rows] for i in range(len(rows[0]))]
