"""The merge at its edges, where mutation testing found the chunker tests silent: a holder or a
carrier that is the table's very first line (index 0)."""

from __future__ import annotations

from tables import by_row, rows_table

from importer.chunker import merge
from importer.models import Reason, State


def test_a_cancellation_names_the_first_line_when_that_line_holds_the_registration() -> None:
    rows = rows_table(
        {"row": 2, "vid": 7, "state": State.REGISTER.value, "when_ms": 100},
        {"row": 3, "vid": 7, "state": State.CANCEL.value, "when_ms": 900},
    )
    out, parts = merge(rows, "ev")
    assert [(p["vid"], p["state"], p["row"]) for p in parts.to_pylist()] == [(7, "register", 2)]
    cancelled = by_row(out)["a.csv", 3]
    assert (cancelled["outcome"], cancelled["reason"]) == ("skipped", Reason.STILL_REGISTERED.value)
    assert "(a.csv row 2)" in cancelled["message"]


def test_a_duplicate_points_at_the_first_line_when_that_line_carries_the_participation() -> None:
    rows = rows_table(
        {"row": 2, "vid": 7, "state": State.ATTEND.value, "when_ms": 100},
        {"row": 3, "vid": 7, "state": State.ATTEND.value, "when_ms": 200},
    )
    out, _ = merge(rows, "ev")
    merged = by_row(out)["a.csv", 3]
    assert (merged["outcome"], merged["merged_file"], merged["merged_row"]) == ("merged", "a.csv", 2)
    assert by_row(out)["a.csv", 2]["outcome"] is None
