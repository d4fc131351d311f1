"""Merging and chunking: nothing lost, nothing duplicated, the right row wins."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from functools import partial

from hypothesis import given, settings
from hypothesis import strategies as st

from importer.chunker import chunk, merge
from importer.models import Also, Outcome, Participation, Reason, Row, RowRef, State, swapped, worst_first


def row(n: int, vid: int | None, state: State, when: int, email: str | None = None, reg: int | None = None) -> Row:
    also = Also(State.REGISTER, reg) if reg is not None else None
    return Row(ref=RowRef("a.csv", n), email=email, vid=vid, state=state, when_ms=when, also=also)


def test_one_participation_per_contact_and_state_at_its_earliest_time() -> None:
    rows = [
        row(2, 7, State.REGISTER, 100),
        row(3, 7, State.ATTEND, 500),
        row(4, 7, State.ATTEND, 300),
        row(5, 8, State.CANCEL, 900),
    ]
    result = merge(rows, "ev")
    got = {(p.vid, p.state): (p.when_ms, p.rows) for p in result.participations}
    ref = partial(RowRef, "a.csv")
    assert got == {
        (7, State.REGISTER): (100, (ref(2),)),
        (7, State.ATTEND): (300, (ref(4), ref(3))),
        (8, State.CANCEL): (900, (ref(5),)),
    }
    merged = [r for r in result.rows if r.outcome is Outcome.MERGED]
    assert [(r.ref.row, r.reason, r.merged_into) for r in merged] == [(3, Reason.DUPLICATE_CONTACT, ref(4))]
    assert "attend" in merged[0].message
    assert [r.ref for r in result.rows] == [r.ref for r in rows]


def test_an_attendee_row_with_a_registration_time_proves_both_and_merges_each_apart() -> None:
    rows = [
        row(2, 7, State.REGISTER, 100),  # the registration report
        row(3, 7, State.ATTEND, 500, reg=100),  # the attendee report: same registration, a later rejoin
        row(4, 7, State.ATTEND, 300, reg=100),
        row(5, 9, State.ATTEND, 700, reg=650),
    ]
    result = merge(rows, "ev")
    got = {(p.vid, p.state): (p.when_ms, p.rows[0].row) for p in result.participations}
    assert got == {
        (7, State.REGISTER): (100, 2),
        (7, State.ATTEND): (300, 4),
        (9, State.ATTEND): (700, 5),
        (9, State.REGISTER): (650, 5),
    }
    by_row = {r.ref.row: r for r in result.rows}
    assert by_row[2].outcome is None
    assert by_row[3].outcome is Outcome.MERGED and by_row[3].merged_into == RowRef("a.csv", 4)
    assert by_row[3].also is not None and by_row[3].also.outcome is Outcome.MERGED
    assert by_row[3].also.merged_into == RowRef("a.csv", 2)
    assert by_row[4].outcome is None and by_row[4].also is not None and by_row[4].also.outcome is Outcome.MERGED
    assert by_row[5].outcome is None and by_row[5].also is not None and by_row[5].also.outcome is None


def test_no_cancel_for_a_contact_who_still_holds_a_registration_or_attendance() -> None:
    rows = [
        row(2, 7, State.CANCEL, 900, reg=100),  # refunded ticket, then a new one
        row(3, 7, State.REGISTER, 200),
        row(4, 8, State.CANCEL, 900, reg=150),  # only cancelled: register and cancel both sent
        row(5, 9, State.CANCEL, 950),
        row(6, 9, State.ATTEND, 960),
    ]
    result = merge(rows, "ev")
    got = {(p.vid, p.state): p.when_ms for p in result.participations}
    assert got == {
        (7, State.REGISTER): 100,
        (8, State.CANCEL): 900,
        (8, State.REGISTER): 150,
        (9, State.ATTEND): 960,
    }
    by_row = {r.ref.row: r for r in result.rows}
    for n in (2, 5):
        assert (by_row[n].outcome, by_row[n].reason) == (Outcome.SKIPPED, Reason.STILL_REGISTERED)
    assert "row 3" in by_row[2].message and "row 6" in by_row[5].message
    assert by_row[3].outcome is Outcome.MERGED  # the refunded ticket's order date is the earlier registration


def test_settled_rows_pass_through_and_email_only_rows_merge_by_email() -> None:
    bad = Row(ref=RowRef("a.csv", 9), email="x@", outcome=Outcome.REJECTED, reason="invalid_email")
    rows = [
        bad,
        row(2, None, State.ATTEND, 5, "a@example.com"),
        row(3, None, State.ATTEND, 4, "a@example.com"),
        row(4, None, State.ATTEND, 6, "b@example.com"),
    ]
    result = merge(rows, "ev")
    assert result.rows[0] is bad
    assert sorted((p.email, p.when_ms) for p in result.participations) == [("a@example.com", 4), ("b@example.com", 6)]


def test_worst_first_shows_the_participation_that_needs_the_user() -> None:
    r = Row(
        RowRef("a.csv", 2), vid=7, state=State.ATTEND, when_ms=5, outcome=Outcome.RECORDED,
        also=Also(State.REGISTER, 3, outcome=Outcome.FAILED, reason="http_5xx", message="Not sent"),
    )  # fmt: skip
    shown = worst_first(r)
    assert (shown.state, shown.when_ms, shown.outcome, shown.reason) == (State.REGISTER, 3, Outcome.FAILED, "http_5xx")
    assert shown.also == Also(State.ATTEND, 5, outcome=Outcome.RECORDED)
    assert worst_first(shown) is shown and worst_first(swapped(shown)) == shown
    merged_first = replace(r, outcome=Outcome.MERGED, also=Also(State.REGISTER, 3, outcome=Outcome.RECORDED))
    assert worst_first(merged_first).outcome is Outcome.RECORDED  # the row carries a participation
    tie = replace(r, also=Also(State.REGISTER, 3, outcome=Outcome.RECORDED))
    assert worst_first(tie) is tie


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
contacts = st.sampled_from([(v, None) for v in range(1, 12)] + [(None, f"p{i}@example.com") for i in range(6)])


@st.composite
def proofs(draw: st.DrawFn) -> Row:
    """One input row: a contact (vid, or email only), a state, a time, and maybe a registration."""
    vid, email = draw(contacts)
    state = draw(states)
    reg = draw(st.none() | st.integers(0, 10**6)) if state is not State.REGISTER else None
    return row(0, vid, state, draw(st.integers(0, 10**6)), email, reg)


@settings(max_examples=200, deadline=None)
@given(st.lists(proofs(), max_size=300), st.integers(1, 130))
def test_per_state_merge_one_participation_per_contact_and_state(drawn: list[Row], size: int) -> None:
    rows = [replace(r, ref=RowRef("a.csv", i + 2)) for i, r in enumerate(drawn)]
    result = merge(rows, "ev")
    sent = [p for b in chunk(result.participations, size) for p in b.items]
    assert all(len(b.items) <= size for b in chunk(result.participations, size))

    def who(r: Row) -> tuple[int | None, str | None]:
        return (r.vid, None) if r.vid is not None else (None, r.email)

    proved: dict[tuple[tuple[int | None, str | None], State], list[tuple[int, RowRef]]] = {}
    for r in rows:
        assert r.state is not None and r.when_ms is not None
        proved.setdefault((who(r), r.state), []).append((r.when_ms, r.ref))
        if r.also is not None:
            assert r.also.when_ms is not None
            proved.setdefault((who(r), r.also.state), []).append((r.also.when_ms, r.ref))
    live = {who(r) for r in rows if r.state is not State.CANCEL}
    expected = {k: min(v) for k, v in proved.items() if not (k[1] is State.CANCEL and k[0] in live)}

    got = Counter(((p.vid, p.email if p.vid is None else None), p.state) for p in sent)
    assert all(n == 1 for n in got.values())  # one participation per contact and state
    assert set(got) == set(expected)  # never a state (attend...) that no row of the contact proves
    for p in sent:
        key = ((p.vid, p.email if p.vid is None else None), p.state)
        assert (p.when_ms, p.rows[0]) == expected[key]  # the earliest time (then source order)
        assert sorted(p.rows) == sorted(ref for _, ref in proved[key])

    carriers = {(p.rows[0], p.state) for p in sent}
    by_ref = {r.ref: r for r in result.rows}
    for (contact, state), proofs_of in proved.items():
        for _, ref in proofs_of:
            out = by_ref[ref]
            fate = (out.outcome, out.merged_into) if out.state is state else (out.also.outcome, out.also.merged_into)  # type: ignore[union-attr]
            if (ref, state) in carriers:
                assert fate == (None, None)
            elif state is State.CANCEL and contact in live:
                assert fate == (Outcome.SKIPPED, None)
            else:
                assert fate[0] is Outcome.MERGED and (fate[1], state) in carriers


def test_a_tie_on_time_goes_to_the_row_given_first_not_to_the_file_name() -> None:
    # z.csv was given before a.csv: its row carries the participation although 'a' sorts first
    first = Row(ref=RowRef("z.csv", 5), email=None, vid=7, state=State.ATTEND, when_ms=300)
    second = Row(ref=RowRef("a.csv", 2), email=None, vid=7, state=State.ATTEND, when_ms=300)
    for order in ([first, second], [second, first]):
        result = merge(order, "ev")
        (p,) = result.participations
        assert p.rows == (order[0].ref, order[1].ref)
        later = next(r for r in result.rows if r.ref == order[1].ref)
        assert later.outcome is Outcome.MERGED and later.merged_into == order[0].ref
