"""Merging and chunking: nothing lost, nothing duplicated, the right row wins."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from importer.chunker import chunk, merge
from importer.models import Outcome, Participation, Reason, Row, RowRef, State


def row(n: int, vid: int | None, state: State, when: int, email: str | None = None) -> Row:
    return Row(ref=RowRef("a.csv", n), email=email, vid=vid, state=state, when_ms=when)


def test_attend_beats_register_beats_cancel_and_earliest_time_wins() -> None:
    rows = [
        row(2, 7, State.REGISTER, 100),
        row(3, 7, State.ATTEND, 500),
        row(4, 7, State.ATTEND, 300),
        row(5, 7, State.CANCEL, 50),
        row(6, 8, State.CANCEL, 900),
    ]
    result = merge(rows, "ev")
    by_vid = {p.vid: p for p in result.participations}
    assert by_vid[7].state is State.ATTEND and by_vid[7].when_ms == 300
    assert by_vid[7].rows[0] == RowRef("a.csv", 4)
    assert by_vid[8].state is State.CANCEL
    merged = [r for r in result.rows if r.outcome is Outcome.MERGED]
    assert sorted(r.ref.row for r in merged) == [2, 3, 5]
    assert all(r.reason == Reason.DUPLICATE_CONTACT and r.merged_into == RowRef("a.csv", 4) for r in merged)
    assert [r.ref for r in result.rows] == [r.ref for r in rows]


def test_settled_rows_pass_through_and_email_only_rows_merge_by_email() -> None:
    bad = Row(ref=RowRef("a.csv", 9), email="x@", outcome=Outcome.REJECTED, reason="invalid_email")
    rows = [bad, row(2, None, State.ATTEND, 5, "a@example.com"), row(3, None, State.ATTEND, 4, "a@example.com")]
    result = merge(rows, "ev")
    assert result.rows[0] is bad
    assert len(result.participations) == 1 and result.participations[0].email == "a@example.com"
    assert result.participations[0].when_ms == 4


def part(vid: int | None, state: State, email: str | None = None) -> Participation:
    return Participation("ev", state, vid, email, 1, (RowRef("f", vid or 0),))


def test_batches_are_full_and_homogeneous() -> None:
    parts = [part(v, State.ATTEND) for v in range(1, 251)] + [part(v, State.REGISTER) for v in range(300, 305)]
    batches = chunk(parts, 100)
    assert [len(b.items) for b in batches] == [5, 100, 100, 50]
    for b in batches:
        assert {p.state for p in b.items} == {b.state}
    assert len({b.id for b in batches}) == len(batches)
    assert [b.id for b in chunk(list(reversed(parts)), 100)] == [b.id for b in batches]


def test_email_create_items_get_their_own_batches() -> None:
    batches = chunk([part(1, State.ATTEND), part(None, State.ATTEND, "n@example.com")], 100)
    assert sorted(b.by_email for b in batches) == [False, True]
    assert next(b for b in batches if b.by_email).items[0].key == "n@example.com"


states = st.sampled_from(list(State))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 40), states, st.integers(0, 10**6)), max_size=400),
    st.integers(1, 130),
)
def test_merge_then_chunk_loses_and_duplicates_nothing(items: list[tuple[int, State, int]], size: int) -> None:
    rows = [row(i + 2, vid, state, when) for i, (vid, state, when) in enumerate(items)]
    result = merge(rows, "ev")
    batches = chunk(result.participations, size)
    sent = [p for b in batches for p in b.items]
    assert all(len(b.items) <= min(size, 130) for b in batches)
    assert Counter(p.vid for p in sent) == Counter({v: 1 for v in {vid for vid, _, _ in items}})
    carried = Counter(p.rows[0] for p in sent)
    merged = [r for r in result.rows if r.outcome is Outcome.MERGED]
    assert len(carried) + len(merged) == len(rows)
    assert all(r.merged_into in carried for r in merged)
    for p in sent:
        wanted = max(
            items_for(items, p.vid), key=lambda t: ({State.CANCEL: 0, State.REGISTER: 1, State.ATTEND: 2}[t[0]], -t[1])
        )
        assert (p.state, p.when_ms) == wanted


def items_for(items: list[tuple[int, State, int]], vid: int | None) -> list[tuple[State, int]]:
    return [(s, w) for v, s, w in items if v == vid]
