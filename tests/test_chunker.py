"""Merging and chunking on the tables: nothing lost, nothing duplicated, the right row wins."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from row_objects import Also, Row, swapped, worst_first
from tables import by_row, rows_table

from importer.chunker import Batches, batches, chunk, merge
from importer.models import PARTS, Outcome, Reason, RowRef, State

MAX_ID = 2**63 - 1


def row(n: int, vid: int | None, state: State, when: int, email: str | None = None, reg: int | None = None) -> dict:
    line: dict[str, Any] = {"row": n, "vid": vid, "email": email, "state": state.value, "when_ms": when}
    if reg is not None:
        line.update(also_state=State.REGISTER.value, also_when_ms=reg)
    return line


def sent(parts: pa.Table) -> dict[tuple[Any, str], tuple[int, int]]:
    """(contact, state) -> (time, carrier row) of each planned participation."""
    return {
        (p["vid"] if p["vid"] is not None else p["email"], p["state"]): (p["when_ms"], p["row"])
        for p in parts.to_pylist()
    }


def fate(line: dict[str, Any], prefix: str = "") -> tuple[Any, ...]:
    return tuple(line[f"{prefix}{k}"] for k in ("outcome", "reason", "merged_file", "merged_row"))


def test_one_participation_per_contact_and_state_at_its_earliest_time() -> None:
    rows = rows_table(
        row(2, 7, State.REGISTER, 100), row(3, 7, State.ATTEND, 500), row(4, 7, State.ATTEND, 300),
        row(5, 8, State.CANCEL, 900),
    )  # fmt: skip
    out, parts = merge(rows, "ev")
    assert parts.schema == PARTS and set(parts.column("event_id").to_pylist()) == {"ev"}
    assert sent(parts) == {(7, "register"): (100, 2), (7, "attend"): (300, 4), (8, "cancel"): (900, 5)}
    lines = by_row(out)
    assert fate(lines["a.csv", 3]) == ("merged", Reason.DUPLICATE_CONTACT.value, "a.csv", 4)
    assert lines["a.csv", 3]["message"] == (
        "Same contact as a.csv row 4, which carries its attend participation; nothing to do."
    )
    assert [fate(lines["a.csv", n]) for n in (2, 4, 5)] == [(None, "", None, None)] * 3
    assert out.schema == rows.schema and out.column("row").to_pylist() == [2, 3, 4, 5]


@pytest.mark.parametrize("with_vid", [(True, True), (False, False), (True, False, True, False, False)])
def test_a_plan_line_holds_the_email_only_when_it_is_sent_by_it(with_vid: tuple[bool, ...]) -> None:
    """A line with a vid is sent by it: its row's address stays in the rows table, not copied
    into the plan; an email-create line keeps the address it is sent by."""
    rows = rows_table(
        *(row(i + 2, 100 - i if v else None, State.ATTEND, i, f"p{i}@example.com") for i, v in enumerate(with_vid))
    )
    _, parts = merge(rows, "ev")
    got = {(p["row"], p["vid"] is not None): p["email"] for p in parts.to_pylist()}
    assert got == {(i + 2, v): None if v else f"p{i}@example.com" for i, v in enumerate(with_vid)}
    assert parts.schema == PARTS


def test_an_attendee_row_with_a_registration_time_proves_both_and_merges_each_apart() -> None:
    rows = rows_table(
        row(2, 7, State.REGISTER, 100),  # the registration report
        row(3, 7, State.ATTEND, 500, reg=100),  # the attendee report: same registration, a later rejoin
        row(4, 7, State.ATTEND, 300, reg=100),
        row(5, 9, State.ATTEND, 700, reg=650),
    )
    out, parts = merge(rows, "ev")
    assert sent(parts) == {
        (7, "register"): (100, 2),
        (7, "attend"): (300, 4),
        (9, "attend"): (700, 5),
        (9, "register"): (650, 5),
    }
    lines = by_row(out)
    assert fate(lines["a.csv", 2]) == (None, "", None, None)
    assert fate(lines["a.csv", 3]) == ("merged", "duplicate_contact", "a.csv", 4)
    assert fate(lines["a.csv", 3], "also_") == ("merged", "duplicate_contact", "a.csv", 2)
    assert "carries its register participation" in lines["a.csv", 3]["also_message"]
    assert lines["a.csv", 4]["outcome"] is None and lines["a.csv", 4]["also_outcome"] == "merged"
    assert lines["a.csv", 5]["outcome"] is None and lines["a.csv", 5]["also_outcome"] is None


def test_no_cancel_for_a_contact_who_still_holds_a_registration_or_attendance() -> None:
    rows = rows_table(
        row(2, 7, State.CANCEL, 900, reg=100),  # refunded ticket, then a new one
        row(3, 7, State.REGISTER, 200),
        row(4, 8, State.CANCEL, 900, reg=150),  # only cancelled: register and cancel both sent
        row(5, 9, State.CANCEL, 950),
        row(6, 9, State.ATTEND, 960),
    )
    out, parts = merge(rows, "ev")
    assert {k: v[0] for k, v in sent(parts).items()} == {
        (7, "register"): 100,
        (8, "cancel"): 900,
        (8, "register"): 150,
        (9, "attend"): 960,
    }
    lines = by_row(out)
    for n, holder in ((2, 3), (5, 6)):
        assert fate(lines["a.csv", n]) == ("skipped", Reason.STILL_REGISTERED.value, None, None)
        assert lines["a.csv", n]["message"] == (
            "Not sent as cancel: the same contact still holds a registration or attendance "
            f"(a.csv row {holder}); nothing to do."
        )
    assert lines["a.csv", 3]["outcome"] == "merged"  # the refunded ticket's order date is the earlier registration


def test_a_registration_in_the_second_participation_does_not_hold_a_cancel_back() -> None:
    """Only a row's own sendable register/attend is live: a cancel row's order date is not."""
    out, parts = merge(rows_table(row(2, 7, State.CANCEL, 900, reg=100), row(3, 7, State.CANCEL, 950)), "ev")
    assert sent(parts) == {(7, "cancel"): (900, 2), (7, "register"): (100, 2)}
    assert by_row(out)["a.csv", 3]["outcome"] == "merged"


def test_settled_rows_pass_through_and_email_only_contacts_merge_by_their_own_email() -> None:
    rows = rows_table(
        {"row": 9, "email": "x@", "outcome": "rejected", "reason": "invalid_email", "message": "bad"},
        row(2, None, State.ATTEND, 5, "a@example.com"),
        row(3, None, State.ATTEND, 4, "a@example.com"),
        row(4, None, State.ATTEND, 6, "b@example.com"),
        row(5, None, State.ATTEND, 7, "c@example.com"),
        row(6, 31, State.ATTEND, 8, "a@example.com"),  # a vid is a contact of its own, whatever its email
    )
    out, parts = merge(rows, "ev")
    assert out.slice(0, 1).equals(rows.slice(0, 1))
    assert sent(parts) == {
        ("a@example.com", "attend"): (4, 3),
        ("b@example.com", "attend"): (6, 4),
        ("c@example.com", "attend"): (7, 5),
        (31, "attend"): (8, 6),
    }
    assert [line["outcome"] for line in out.to_pylist()] == ["rejected", "merged", None, None, None, None]


def test_ties_go_to_the_row_that_comes_first_in_the_input() -> None:
    """Same time: the earlier row of the input carries it, whatever the files are called."""
    rows = rows_table(
        {**row(2, 7, State.ATTEND, 100), "file": "z.csv"},
        {**row(2, 7, State.ATTEND, 100), "file": "a.csv"},
        {**row(3, 8, State.ATTEND, 100), "file": "a.csv"},
        {**row(2, 8, State.ATTEND, 100), "file": "z.csv"},
    )
    out, parts = merge(rows, "ev")
    carriers = {(p["vid"], p["file"], p["row"]) for p in parts.to_pylist()}
    assert carriers == {(7, "z.csv", 2), (8, "a.csv", 3)}
    assert fate(by_row(out)["a.csv", 2]) == ("merged", "duplicate_contact", "z.csv", 2)


def test_a_sendable_participation_without_a_time_is_a_mistake_of_the_caller() -> None:
    with pytest.raises(ValueError, match="fill the times"):
        merge(rows_table({"row": 2, "vid": 1, "state": "attend"}), "ev")


def plan(*lines: tuple[int | None, State, str | None]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {"event_id": "77", "state": s.value, "vid": v, "email": e, "when_ms": 1, "file": "f", "row": i}
            for i, (v, s, e) in enumerate(lines)
        ],
        schema=PARTS,
    )


def test_batches_are_full_homogeneous_and_ordered_alike_whatever_the_input_order() -> None:
    lines = [(v, State.ATTEND, None) for v in range(1, 251)] + [(v, State.REGISTER, None) for v in range(300, 305)]
    cut = batches(chunk(plan(*lines), 100))
    assert [len(b.items) for b in cut] == [5, 100, 100, 50]
    assert [b.state for b in cut] == [State.REGISTER, State.ATTEND, State.ATTEND, State.ATTEND]
    for b in cut:
        assert {p.state for p in b.items} == {b.state} and not b.by_email
    assert [p.vid for b in cut for p in b.items] == [*range(300, 305), *range(1, 251)]
    assert len(set(cut.ids)) == len(cut)
    assert batches(chunk(plan(*reversed(lines)), 100)).ids == cut.ids


def test_email_create_items_get_their_own_batches() -> None:
    cut = batches(chunk(plan((1, State.ATTEND, None), (None, State.ATTEND, "n@example.com")), 100))
    assert [b.by_email for b in cut] == [False, True]
    assert cut[1].items[0].key == "n@example.com" and cut[1].id.startswith("attend-email-0000-")


def test_batch_ids_are_pinned() -> None:
    """A resumed run finds its batches by these ids in the journal: they never change."""
    lines = [
        {"state": "attend", "vid": v, "email": f"u{v}@example.com", "when_ms": 1_700_000_000_000 + v}
        for v in range(1, 6)
    ]
    lines += [
        {"state": "register", "vid": None, "email": e, "when_ms": 1_699_000_000_000}
        for e in ("zoë@example.com", "ann@example.com")
    ]
    lines += [{"state": "cancel", "vid": 42, "email": None, "when_ms": 5}]
    parts = pa.Table.from_pylist([{**x, "event_id": "77", "file": "a.csv", "row": 2} for x in lines], schema=PARTS)
    cut = batches(chunk(parts, 2))
    assert [(b.id, [p.key for p in b.items]) for b in cut] == [
        ("cancel-0000-4089346d", ["42"]),
        ("register-email-0000-0a8011f2", ["ann@example.com", "zoë@example.com"]),
        ("attend-0000-af9d5631", ["1", "2"]),
        ("attend-0001-01d2c894", ["3", "4"]),
        ("attend-0002-f64fef6b", ["5"]),
    ]
    assert cut[2].id.endswith(hashlib.sha1(b"1:1700000000001\n2:1700000000002").hexdigest()[:8])


def test_the_batches_are_built_one_at_a_time_from_the_plan() -> None:
    parts = chunk(plan(*[(v, State.ATTEND, None) for v in range(1, 8)]), 3)
    cut = batches(parts.take([6, 0, 3, 1, 4, 2, 5]))  # a plan read back in any order: batches as they come
    assert isinstance(cut, Batches) and len(cut) == 3 and cut.participations == 7
    assert [cut.size(i) for i in range(3)] == [1, 3, 3]
    assert cut[-1] == cut[2] and cut[0:2] == [cut[0], cut[1]]
    assert [p.vid for b in cut for p in b.items] == [7, 1, 2, 3, 4, 5, 6]
    assert cut[1].items[0].rows == (RowRef("f", 0),)
    with pytest.raises(IndexError):
        cut[3]
    left = cut.without({cut.ids[0], cut.ids[2]})
    assert left.ids == [cut.ids[1]] and [p.vid for p in left[0].items] == [1, 2, 3]
    assert len(batches(pa.Table.from_pylist([], schema=PARTS))) == 0


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


states = st.sampled_from(list(State))
contacts = st.sampled_from(
    [(v, f"v{v}@example.com") for v in range(1, 12)]
    + [(MAX_ID - v, f"big{v}@example.com") for v in range(3)]  # no room for email-only codes above them
    + [(None, f"p{i}@example.com") for i in range(6)]
)


@st.composite
def proofs(draw: st.DrawFn) -> dict[str, Any]:
    """One input row: a contact (vid, or email only), a state, a time, maybe a registration, and
    maybe a fate already (rejected, or a second participation already recorded)."""
    vid, email = draw(contacts)
    state = draw(states)
    reg = draw(st.none() | st.integers(0, 10**6)) if state is not State.REGISTER else None
    line = row(0, vid, state, draw(st.integers(0, 10**6)), email, reg)
    if draw(st.integers(0, 9)) == 0:
        line.update(outcome="rejected", reason="invalid_email")
    if reg is not None and draw(st.integers(0, 9)) == 0:
        line.update(also_outcome="skipped", also_reason="already_recorded")
    line["file"] = draw(st.sampled_from(["b.csv", "a.csv"]))
    return line


Contact = tuple[int | None, str | None]


@settings(max_examples=120, deadline=None)
@given(st.lists(proofs(), max_size=300), st.integers(1, 130))
def test_every_sendable_participation_is_sent_once_or_settled(drawn: list[dict[str, Any]], size: int) -> None:
    lines = [{**d, "row": i + 2} for i, d in enumerate(drawn)]
    out, parts = merge(rows_table(*lines), "ev")
    cut = batches(chunk(parts, size))
    assert all(cut.size(i) <= size for i in range(len(cut)))
    items = [(p, b) for b in cut for p in b.items]
    assert len(items) == parts.num_rows

    def who(d: dict[str, Any]) -> Contact:
        return (d["vid"], None) if d["vid"] is not None else (None, d["email"])

    proved: dict[tuple[Contact, str], list[tuple[int, int, str]]] = {}  # earliest, then input order
    for i, d in enumerate(lines):
        for prefix in ("", "also_"):
            if d.get(f"{prefix}state") is not None and d.get(f"{prefix}outcome") is None:
                proved.setdefault((who(d), d[f"{prefix}state"]), []).append((d[f"{prefix}when_ms"], i, prefix))
    live = {who(d) for d in lines if d.get("outcome") is None and d["state"] != "cancel"}
    expected = {k: min(v) for k, v in proved.items() if not (k[0] in live and k[1] == "cancel")}

    got = Counter(((p.vid, p.email if p.vid is None else None), p.state.value) for p, _ in items)
    assert set(got) == set(expected) and set(got.values()) <= {1}  # once per contact and state
    for p, b in items:
        assert b.state is p.state and b.by_email == (p.vid is None)
        when, i, _ = expected[((p.vid, p.email if p.vid is None else None), p.state.value)]
        assert (p.when_ms, p.rows[0]) == (when, RowRef(lines[i]["file"], lines[i]["row"]))
        if p.vid is None:
            assert {lines[j]["email"] for _, j, _ in proved[(None, p.email), p.state.value]} == {p.email}

    carriers = {(p.rows[0], p.state.value) for p, _ in items}
    settled = out.to_pylist()
    for (contact, state), proofs_of in proved.items():
        for _, i, prefix in proofs_of:
            line, ref = settled[i], RowRef(lines[i]["file"], lines[i]["row"])
            assert line["file"] == ref.file and line["row"] == ref.row
            outcome, merged_into = line[f"{prefix}outcome"], (line[f"{prefix}merged_file"], line[f"{prefix}merged_row"])
            if (ref, state) in carriers:
                assert (outcome, merged_into) == (None, (None, None))
            elif state == "cancel" and contact in live:
                assert (outcome, merged_into) == ("skipped", (None, None))
            else:
                assert outcome == "merged" and (RowRef(*merged_into), state) in carriers
                carrier = settled[next(j for j, d in enumerate(lines) if (d["file"], d["row"]) == merged_into)]
                assert who(carrier) == contact  # never merged into another contact (email-only ones included)
    for before, after in zip(lines, settled, strict=True):
        for prefix in ("", "also_"):
            if before.get(f"{prefix}outcome") is not None:
                assert after[f"{prefix}reason"] == before[f"{prefix}reason"]  # settled ones pass through


# --- The edges mutation testing found untested (mutmut): a plan of several events, more batches
# --- than one block of built batches, the first and last index, a plan read back interleaved.


def event_plan(*lines: tuple[str, int]) -> pa.Table:
    """Attendances of (event, vid), one a line, in that order."""
    return pa.Table.from_pylist(
        [
            {"event_id": e, "state": State.ATTEND.value, "vid": v, "email": None, "when_ms": v, "file": "f", "row": i}
            for i, (e, v) in enumerate(lines)
        ],
        schema=PARTS,
    )


def test_each_event_gets_its_own_batches() -> None:
    parts = chunk(event_plan(("2", 1), ("1", 2), ("2", 3), ("1", 4), ("1", 5)), 100)
    cut = batches(parts)
    assert [(b.event_id, [p.vid for p in b.items]) for b in cut] == [("1", [2, 4, 5]), ("2", [1, 3])]
    assert [b.id.split("-")[:2] for b in cut] == [["attend", "0000"], ["attend", "0000"]]  # numbered per event
    assert len(set(cut.ids)) == 2


def test_a_plan_holds_its_event_states_files_and_batch_ids_as_four_bytes_a_line() -> None:
    """The plan's few distinct texts are stored once (a million lines' file names, event ids,
    states and batch ids took 52 MiB as text, 15 coded), and read out as the texts."""
    n = 5000
    rows = rows_table(*({"file": "a rather long export name.csv", "row": r + 2, "vid": r + 1, "state": "attend",
                         "when_ms": r} for r in range(n)))  # fmt: skip
    _, parts = merge(rows, "1001")
    parts = chunk(parts, 100)
    for name in ("event_id", "state", "file"):
        column = parts.column(name).combine_chunks()
        assert column.indices.nbytes <= 4 * n and column.dictionary.nbytes < 100, name
    ids = parts.column("batch_id").combine_chunks()  # each of the 50 ids once (24 bytes a line as text)
    assert ids.indices.nbytes <= 4 * n and len(ids.dictionary) == n // 100
    assert parts.slice(4321, 1).select(["event_id", "state", "file", "row"]).to_pylist() == [
        {"event_id": "1001", "state": "attend", "file": "a rather long export name.csv", "row": 4323}
    ]
    assert {b.event_id for b in batches(parts)} == {"1001"} and len(batches(parts)) == n // 100


def test_more_batches_than_one_block_each_built_when_asked_for() -> None:
    """The sender may start anywhere (a resumed run skips answered batches): batch 130 of a fresh
    plan is batch 130, and every batch past the first block of 64 carries its own contact."""
    parts = chunk(event_plan(*[("1", v) for v in range(1, 131)]), 1)
    fresh = batches(parts)
    assert [p.vid for p in fresh[64].items] == [65]
    assert [p.vid for p in batches(parts)[-1].items] == [130]
    cut = batches(parts)
    assert len(cut) == 130
    assert [[p.vid for p in b.items] for b in cut] == [[v] for v in range(1, 131)]
    assert [cut.size(i) for i in (0, 63, 64, 129)] == [1, 1, 1, 1]


def test_the_first_and_last_index_and_one_past_them() -> None:
    cut = batches(chunk(event_plan(*[("1", v) for v in range(1, 6)]), 2))
    assert len(cut) == 3
    assert cut[-3] == cut[0] and cut[-1] == cut[2]
    for outside in (3, -4):
        with pytest.raises(IndexError):
            cut[outside]


def test_a_plan_read_back_interleaved_keeps_each_batch_in_its_planned_order() -> None:
    """A journal may hand the plan back in any line order; each batch posts its lines in the order
    the plan holds them (the sort that groups them is stable)."""
    parts = chunk(event_plan(*[("1", v) for v in range(1, 41)]), 20)
    interleaved = parts.take([i // 2 + (20 if i % 2 else 0) for i in range(40)])
    cut = batches(interleaved)
    assert [[p.vid for p in b.items] for b in cut] == [list(range(1, 21)), list(range(21, 41))]
    assert cut.ids == batches(parts).ids


def test_ids_that_differ_past_a_float_s_precision_stay_two_contacts_beside_email_only_ones() -> None:
    """The largest ids differ in their last digit only; a file that also has rows without an id
    must not read them through floating point (where they are one number)."""
    rows = rows_table(
        row(2, MAX_ID, State.ATTEND, 100), row(3, MAX_ID - 1, State.ATTEND, 200),
        row(4, None, State.ATTEND, 300, email="new@example.com"),
    )  # fmt: skip
    out, parts = merge(rows, "ev")
    assert sent(parts) == {
        (MAX_ID, "attend"): (100, 2),
        (MAX_ID - 1, "attend"): (200, 3),
        ("new@example.com", "attend"): (300, 4),
    }
    assert [line["outcome"] for line in out.to_pylist()] == [None, None, None]


def test_lines_without_a_batch_id_are_in_no_batch() -> None:
    """A plan read back may hold lines that were never batched (a resumed run's settled ones)."""
    parts = chunk(event_plan(*[("1", v) for v in range(1, 6)]), 2)
    ids = parts.column("batch_id").to_pylist()
    unbatched = parts.set_column(
        parts.schema.get_field_index("batch_id"), "batch_id", pa.array([None, *ids[1:4], None], pa.string())
    )
    cut = batches(unbatched)
    assert [[p.vid for p in b.items] for b in cut] == [[2], [3, 4]]
    assert cut.participations == 3 and cut.ids == ids[1:4:2]


def test_email_only_contacts_stay_apart_beside_an_id_past_a_float_s_precision() -> None:
    """Ids up to 2**62 are their own codes and email-only contacts are numbered after the largest:
    whole numbers, for past 2**53 a float makes the two addresses and that id one number."""
    big = 2**60
    rows = rows_table(
        row(2, big, State.ATTEND, 100),
        row(3, None, State.ATTEND, 200, email="a@example.com"),
        row(4, None, State.ATTEND, 300, email="b@example.com"),
    )
    out, parts = merge(rows, "ev")
    assert sent(parts) == {
        (big, "attend"): (100, 2),
        ("a@example.com", "attend"): (200, 3),
        ("b@example.com", "attend"): (300, 4),
    }
    assert [line["outcome"] for line in out.to_pylist()] == [None, None, None]


_RANK = {State.CANCEL: 0, State.REGISTER: 1, State.ATTEND: 2}


@pytest.mark.parametrize(
    "lines",
    [
        [(2, State.ATTEND), (1, State.ATTEND)],  # two lines, the larger id first
        [(1, State.ATTEND), (3, State.ATTEND), (2, State.ATTEND)],  # ids out of order after the first
        [(1, State.REGISTER), (2, State.ATTEND), (3, State.REGISTER)],  # a state again after a later one
        [(1, State.CANCEL), (2, State.ATTEND), (3, State.REGISTER), (4, State.ATTEND)],  # each after the first's
    ],
)
def test_a_plan_out_of_order_gets_the_batches_of_the_same_plan_in_order(lines: list[tuple[int, State]]) -> None:
    """A plan not in merge's order (one event, ids only, but states or ids out of order) is sorted
    before it is cut: one batch per state, its lines by id, with the ids the ordered plan gets."""
    ordered = sorted(lines, key=lambda line: (_RANK[line[1]], line[0]))
    cut = batches(chunk(plan(*[(v, s, None) for v, s in lines]), 100))
    states = list(dict.fromkeys(s for _, s in ordered))
    assert [(b.state, [p.vid for p in b.items]) for b in cut] == [
        (s, [v for v, t in ordered if t == s]) for s in states
    ]
    assert cut.ids == batches(chunk(plan(*[(v, s, None) for v, s in ordered]), 100)).ids
