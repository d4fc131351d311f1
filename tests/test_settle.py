"""settle(): how batch answers become the rows' outcomes (one fate per sendable participation)."""

from __future__ import annotations

import gc
import random
import re
import weakref
from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tables import by_row, rows_table

from importer import config, execute, pipeline
from importer import settle as settle_module
from importer.answers import answers_of
from importer.answers import keys as line_keys
from importer.chunker import batches, chunk, merge
from importer.errors import StopRun
from importer.models import PARTS, ROWS, BatchOutcome, Failure, Reason
from importer.rows import worst_first
from importer.sandbox import DEFAULT_TOKEN, Sandbox
from importer.settle import _match, apply, fates, settle


def _plan() -> tuple[pa.Table, pa.Table]:
    rows = rows_table(
        {"row": 2, "email": "one@example.com", "vid": 1, "state": "attend", "when_ms": 10},
        {"row": 3, "email": "two@example.com", "vid": 2, "state": "attend", "when_ms": 20},
        {"row": 4, "email": "one@example.com", "vid": 1, "state": "register", "when_ms": 5},
        {"file": "b.csv", "row": 2, "email": "bad", "outcome": "rejected", "reason": "invalid_email", "message": "bad"},
        {"file": "b.csv", "row": 3, "email": "three@example.com", "vid": 3, "state": "cancel", "when_ms": 30},
    )
    merged, parts = merge(rows, "77")
    return merged, chunk(parts, 100)


def _batch(parts: pa.Table, state: str) -> str:
    return next(b.id for b in batches(parts) if b.state.value == state)


def fate(line: dict[str, Any], prefix: str = "") -> tuple[Any, ...]:
    return tuple(line[f"{prefix}{k}"] for k in ("outcome", "reason", "message"))


def test_dry_run_plans_every_sendable_row_and_leaves_the_others() -> None:
    rows, parts = _plan()
    out = by_row(settle(rows, parts, {}, dry_run=True, stopped=None))
    assert fate(out["a.csv", 2]) == ("planned", "dry_run", "Would be recorded as attend (dry run: nothing was sent).")
    assert out["a.csv", 2]["batch_id"] == _batch(parts, "attend")
    assert fate(out["b.csv", 3])[2] == "Would be recorded as cancel (dry run: nothing was sent)."
    assert out["a.csv", 4]["outcome"] == "planned"  # the same contact's registration: a participation too
    assert out["a.csv", 4]["batch_id"] == _batch(parts, "register")
    assert fate(out["b.csv", 2]) == ("rejected", "invalid_email", "bad")
    assert [line["correlation_id"] for line in out.values()] == [""] * 5


@pytest.mark.parametrize(
    ("answer", "fate_", "vid", "created"),
    [
        (BatchOutcome("x", 200, {"1": 1, "2": 2}, {}, "c-1"), ("recorded", "", "Recorded as attend."), 1, False),
        (BatchOutcome("x", 200, {"1": 9, "2": 2}, {}, "c-1"), ("recorded", "", "Recorded as attend."), 9, False),
        (
            BatchOutcome("x", 200, {"2": 2}, {"1": Failure("http_400", "vid 1 is archived")}, "c-2"),
            ("failed", "http_400", "vid 1 is archived"),
            1,
            False,
        ),
        (
            BatchOutcome("x", 200, {"2": 2}, {}, "c-3"),
            ("failed", Reason.NOT_IN_RESPONSE.value, "HubSpot's answer did not mention this contact."),
            1,
            False,
        ),
        (
            BatchOutcome("x", 200, {"1": 1, "2": 2}, {}, "c-4", created=frozenset({"1"})),
            ("recorded", "", "Recorded as attend. A new contact was created for this email."),
            1,
            True,
        ),
    ],
)
def test_answers_become_outcomes(answer: BatchOutcome, fate_: tuple[str, ...], vid: int, created: bool) -> None:
    rows, parts = _plan()
    attend = _batch(parts, "attend")
    out = by_row(settle(rows, parts, {attend: answer}, dry_run=False, stopped=None))
    line = out["a.csv", 2]
    assert fate(line) == fate_ and (line["vid"], line["created_contact"]) == (vid, created)
    assert line["correlation_id"] == answer.correlation_id and line["batch_id"] == attend
    assert fate(out["a.csv", 3]) == ("recorded", "", "Recorded as attend.")
    # the cancel batch got no answer: the run stopped before sending it
    cancel = out["b.csv", 3]
    assert (cancel["outcome"], cancel["reason"]) == ("failed", Reason.INTERRUPTED.value)
    assert cancel["message"] == (
        "Not sent: the run stopped before this batch was sent. Run the same command again to continue."
    )
    assert cancel["batch_id"] == _batch(parts, "cancel") and cancel["correlation_id"] == ""


def test_an_email_create_answer_gives_the_row_its_new_contact_id() -> None:
    merged, parts = merge(rows_table({"row": 2, "email": "new@example.com", "state": "attend", "when_ms": 1}), "77")
    plan = chunk(parts, 100)
    answer = BatchOutcome("x", 200, {"new@example.com": 77}, {}, "c", created=frozenset({"new@example.com"}))
    (line,) = settle(merged, plan, {_batch(plan, "attend"): answer}, dry_run=False, stopped=None).to_pylist()
    assert (line["outcome"], line["vid"], line["created_contact"]) == ("recorded", 77, True)


def test_answers_find_their_contacts_by_vid_at_its_bounds_and_by_email() -> None:
    rows = rows_table(
        {"row": 2, "vid": 2**63 - 1, "state": "attend", "when_ms": 1},
        {"row": 3, "vid": 1, "state": "attend", "when_ms": 1},
        {"row": 4, "vid": 7, "state": "attend", "when_ms": 1},
        {"row": 5, "email": "7", "state": "attend", "when_ms": 1},  # an email-only contact is never a vid
    )
    merged, parts = merge(rows, "77")
    plan = chunk(parts, 100)
    vids, emails = (next(b.id for b in batches(plan) if b.by_email is e) for e in (False, True))
    answers = {
        vids: BatchOutcome("v", 200, {str(2**63 - 1): 2**63 - 1, "1": 1, "007": 7}, {}, "c-v"),
        emails: BatchOutcome("e", 200, {}, {"7": Failure("http_400", "no such email")}, "c-e"),
    }
    out = by_row(settle(merged, plan, answers, dry_run=False, stopped=None))
    assert [out["a.csv", n]["outcome"] for n in (2, 3)] == ["recorded", "recorded"]
    assert out["a.csv", 4]["reason"] == Reason.NOT_IN_RESPONSE.value  # '007' is not how vid 7 is named
    assert fate(out["a.csv", 5]) == ("failed", "http_400", "no such email")


def test_a_stop_names_its_reason_on_every_unsent_row() -> None:
    rows, parts = _plan()
    stop = StopRun("HubSpot's daily limit is used up.", reason=Reason.DAILY_LIMIT.value)
    out = settle(rows, parts, {}, dry_run=False, stopped=stop).to_pylist()
    unsent = [line for line in out if line["outcome"] == "failed"]
    assert len(unsent) == 4
    assert {fate(line)[1:] for line in unsent} == {
        ("daily_limit", "Not sent: HubSpot's daily limit is used up. Run the same command again to continue.")
    }


def test_a_sendable_row_that_no_batch_carries_is_reported_not_lost() -> None:
    rows, _ = _plan()
    out = by_row(settle(rows, pa.Table.from_pylist([], schema=PARTS), {}, dry_run=False, stopped=None))
    line = out["a.csv", 2]
    assert (line["outcome"], line["reason"], line["batch_id"]) == ("failed", "interrupted", "")
    assert (
        line["message"] == "Not sent: the run stopped before this row was sent. Run the same command again to continue."
    )
    assert out["b.csv", 2]["outcome"] == "rejected"


def test_a_row_with_two_participations_shows_the_one_that_needs_the_user_first() -> None:
    rows = rows_table(
        {"row": 2, "vid": 1, "state": "attend", "when_ms": 10, "also_state": "register", "also_when_ms": 5},
        {"row": 3, "vid": 2, "state": "attend", "when_ms": 10, "also_state": "register", "also_when_ms": 5},
        {"row": 4, "vid": 3, "state": "attend", "when_ms": 10, "also_state": "register", "also_when_ms": 5,
         "also_outcome": "skipped", "also_reason": "already_recorded"},
    )  # fmt: skip
    merged, parts = merge(rows, "77")
    plan = chunk(parts, 100)
    answers = {
        _batch(plan, "attend"): BatchOutcome("a", 200, {"1": 1, "2": 2, "3": 3}, {}, "c-a"),
        _batch(plan, "register"): BatchOutcome("r", 200, {"2": 2}, {"1": Failure("http_400", "no")}, "c-r"),
    }
    out = by_row(settle(merged, plan, answers, dry_run=False, stopped=None))
    failed_first = out["a.csv", 2]
    assert (failed_first["state"], failed_first["when_ms"]) == ("register", 5)
    assert fate(failed_first) == ("failed", "http_400", "no") and failed_first["correlation_id"] == "c-r"
    assert (failed_first["also_state"], failed_first["also_when_ms"]) == ("attend", 10)
    assert fate(failed_first, "also_") == ("recorded", "", "Recorded as attend.")
    assert failed_first["also_batch_id"] == _batch(plan, "attend") and failed_first["also_correlation_id"] == "c-a"
    both = out["a.csv", 3]  # a tie keeps the order
    assert (both["state"], both["outcome"], both["also_state"], both["also_outcome"]) == (
        "attend", "recorded", "register", "recorded",
    )  # fmt: skip
    held = out["a.csv", 4]  # a skipped participation needs the user less than a recorded one
    assert (held["state"], held["outcome"], held["also_outcome"]) == ("attend", "recorded", "skipped")


def test_a_dry_run_where_every_row_is_sendable_plans_each_and_keeps_the_mappers_word() -> None:
    said = "The repeated hour was read as its first time."
    rows = rows_table(
        {"row": 2, "vid": 1, "state": "attend", "when_ms": 10},
        {"row": 3, "vid": 2, "state": "register", "when_ms": 20, "message": said},
        {"row": 4, "vid": 3, "state": "attend", "when_ms": 30, "also_state": "register", "also_when_ms": 5},
    )
    merged, parts = merge(rows, "77")
    plan = chunk(parts, 100)
    out = by_row(settle(merged, plan, {}, dry_run=True, stopped=None))
    assert fate(out["a.csv", 2]) == ("planned", "dry_run", "Would be recorded as attend (dry run: nothing was sent).")
    assert fate(out["a.csv", 3])[2] == f"Would be recorded as register (dry run: nothing was sent). {said}"
    assert fate(out["a.csv", 4], "also_") == (
        "planned", "dry_run", "Would be recorded as register (dry run: nothing was sent).",
    )  # fmt: skip
    assert [out["a.csv", r]["batch_id"] for r in (2, 3)] == [_batch(plan, "attend"), _batch(plan, "register")]
    assert [(line["vid"], line["created_contact"], line["correlation_id"]) for line in out.values()] == [
        (1, False, ""), (2, False, ""), (3, False, ""),
    ]  # fmt: skip


def test_a_dry_run_whose_plan_lacks_a_row_reports_it_unsent() -> None:
    rows, parts = _plan()
    out = by_row(settle(rows, parts.slice(1), {}, dry_run=True, stopped=None))
    fates = {key: fate(line) for key, line in out.items()}
    unsent = [key for key, (outcome, _, _) in fates.items() if outcome == "failed"]
    assert len(unsent) == 1 and fates[unsent[0]][1] == "interrupted" and out[unsent[0]]["batch_id"] == ""
    assert sorted(outcome for outcome, _, _ in fates.values()) == ["failed", *["planned"] * 3, "rejected"]


@pytest.mark.parametrize("dry_run", [False, True])
def test_fates_keep_only_the_plans_batch_ids_and_states_and_settle_as_settle_does(dry_run: bool) -> None:
    rows, parts = _plan()
    given = {_batch(parts, "attend"): BatchOutcome("a", 200, {"2": 2}, {"1": Failure("http_400", "no")}, "c-a")}
    answers = answers_of(given)
    held = weakref.ref(answers)
    decided = fates(rows, parts, answers, dry_run=dry_run, stopped=None)
    del answers
    gc.collect()
    assert held() is None, "the fates hold nothing of the answers"
    assert decided.lines.parts.column_names == ["batch_id"]  # the states as numbers, in decided.lines.states
    assert apply(rows, decided).equals(settle(rows, parts, given, dry_run=dry_run, stopped=None))


def test_a_run_lets_its_plan_and_answers_go_before_it_writes_the_rows_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emails = [f"p{i:03d}@example.com" for i in range(250)]
    src = tmp_path / "a.csv"
    src.write_text("Email,Join Time\n" + "".join(f"{e},2024-11-05T15:58:03Z\n" for e in emails), encoding="utf-8")
    seen: list[weakref.ref[Any]] = []
    decide, write = execute.settle_fates, execute.apply_fates

    def watched(rows: pa.Table, parts: pa.Table, outcomes: Any, **kw: Any) -> Any:
        assert parts.num_rows == 250 and len(outcomes) == 3
        seen.extend((weakref.ref(parts), weakref.ref(outcomes)))
        return decide(rows, parts, outcomes, **kw)

    def written(rows: pa.Table, decided: Any) -> pa.Table:
        gc.collect()
        assert [ref() for ref in seen] == [None, None], "the plan's lines and answers are let go first"
        return write(rows, decided)

    monkeypatch.setattr(execute, "settle_fates", watched)
    monkeypatch.setattr(execute, "apply_fates", written)
    with Sandbox(events=["1001"], contacts={e: 100 + i for i, e in enumerate(emails)}) as sb:
        cfg = config.build(
            {"inputs": (str(src),), "event_id": "1001", "state_dir": str(tmp_path / "s")},
            environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN, "HUBSPOT_BASE_URL": sb.base_url},
        )
        result = pipeline.run(cfg, pipeline.Services(cwd=tmp_path))
    assert result.exit_code == 0 and result.report.counts["recorded"] == 250 and len(seen) == 2


def _as_vid(key: str) -> int | None:
    """The contact id a key names (digits as ``str`` writes an int64, or a minus before them)."""
    if re.fullmatch(r"-?(0|[1-9][0-9]{0,17})", key) or (re.fullmatch(r"[1-9][0-9]{18}", key) and int(key) < 2**63):
        return int(key)
    return None


_VIDS = st.sampled_from([0, 1, 7, 2**63 - 1])
_EMAILS = st.sampled_from(["7", "0", "a@example.com", "b@example.com"])


@st.composite
def _asked_and_answered(draw: st.DrawFn) -> tuple[pa.Table, np.ndarray, pa.Table]:
    """Batches of a plan (by vid or by email), the answers some got (keys in any order, named in
    other ways too: ``-0``, ``007``, someone else), and each plan line's answer (-1: none)."""
    vids: list[int | None] = []
    emails: list[str | None] = []
    asked: list[str] = []
    answers: dict[str, BatchOutcome] = {}
    for b in range(draw(st.integers(1, 4))):
        by_email = draw(st.booleans())
        keys = draw(st.lists(_EMAILS if by_email else _VIDS, min_size=1, max_size=5, unique=True))
        vids += [None if by_email else int(k) for k in keys]
        emails += [str(k) if by_email else None for k in keys]
        asked += [f"b{b}"] * len(keys)
        if draw(st.booleans()):
            others = draw(st.lists(st.sampled_from(["-0", "007", "99", "a@example.com"]), unique=True, max_size=2))
            named = [str(k) for k in keys] + others
            said = named if draw(st.booleans()) else draw(st.permutations(named))[: draw(st.integers(0, len(named)))]
            split = draw(st.integers(0, len(said)))
            failed = {k: Failure("http_400", "no") for k in said[split:]}
            answers[f"b{b}"] = BatchOutcome("x", 200, {k: 5 for k in said[:split]}, failed, "c")
    order = draw(st.permutations(list(answers)))
    held = answers_of({b: answers[b] for b in order})
    place = {b: i for i, b in enumerate(held.ids())}
    parts = pa.table({"vid": pa.array(vids, pa.int64()), "email": pa.array(emails, pa.string())})
    return parts, np.array([place.get(b, -1) for b in asked], np.int64), held.lines()


@settings(max_examples=400, deadline=None)
@given(case=_asked_and_answered())
def test_each_plan_line_finds_the_first_answer_line_of_its_batch_that_names_its_contact(
    case: tuple[pa.Table, np.ndarray, pa.Table],
) -> None:
    parts, batch, lines = case
    keys, answered = line_keys(lines).to_pylist(), lines.column("_b").to_pylist()
    expected = []
    for vid, email, b in zip(parts.column("vid").to_pylist(), parts.column("email").to_pylist(), batch, strict=True):
        hits = [
            i for i, (k, a) in enumerate(zip(keys, answered, strict=True))
            if a == b and (k == email if vid is None else _as_vid(k) == vid)
        ]  # fmt: skip
        expected.append(hits[0] if hits else -1)
    assert _match(parts, batch, lines).tolist() == expected


def test_an_answer_naming_an_id_twice_counts_its_first_line_wherever_the_plan_has_it() -> None:
    parts = pa.table({"vid": pa.array([1, 0], pa.int64()), "email": pa.array([None, None], pa.string())})
    lines = answers_of({"b": BatchOutcome("b", 200, {"-0": 5, "0": 6}, {}, "c")}).lines()
    assert _match(parts, np.array([0, 0]), lines).tolist() == [-1, 0]


def test_ids_confirmed_as_given_leave_the_rows_id_column_as_it_was() -> None:
    rows, parts = _plan()
    answers = {_batch(parts, "attend"): BatchOutcome("a", 200, {"1": 1, "2": 2}, {}, "c")}
    out = settle(rows, parts, answers, dry_run=False, stopped=None)
    buffers = [[b.address for b in c.buffers() if b is not None] for c in out.column("vid").chunks]
    assert buffers == [[b.address for b in c.buffers() if b is not None] for c in rows.column("vid").chunks]
    assert out.column("created_contact").equals(rows.column("created_contact")), "nobody was created"


_NOT_SENT = "Not sent: the run stopped before this row was sent. Run the same command again to continue."
_STATES = ("register", "attend", "cancel")


@st.composite
def _dry_rows(draw: st.DrawFn) -> pa.Table:
    """Rows as the mapper leaves them: some settled already, some with a second participation or
    the mapper's word on their time, contacts shared now and then (merged), in any order."""
    keys = draw(st.lists(st.tuples(st.sampled_from(["a.csv", "b.csv"]), st.integers(2, 60)), unique=True, max_size=40))
    rows = []
    for file, row in keys:
        state = draw(st.sampled_from(_STATES))
        line: dict[str, Any] = {"file": file, "row": row, "vid": draw(st.integers(1, 12)), "state": state}
        line["when_ms"] = draw(st.integers(0, 50))
        line["message"] = draw(st.sampled_from(["", "", "The repeated hour was read as its first time."]))
        line["correlation_id"] = draw(st.sampled_from(["", "", None, "c-0"]))  # what a fate replaces
        if draw(st.integers(0, 5)) == 0:
            line |= {"outcome": "rejected", "reason": "invalid_email", "message": "bad"}
        if draw(st.booleans()):
            line |= {"also_state": draw(st.sampled_from([s for s in _STATES if s != state])), "also_when_ms": 1}
            if draw(st.integers(0, 4)) == 0:
                line |= {"also_outcome": "skipped", "also_reason": "already_recorded"}
        rows.append(line)
    return rows_table(*rows)


def _dry_fates(rows: pa.Table, parts: pa.Table) -> pa.Table:
    """What a dry run makes of the rows, worked out a row at a time: each open participation
    the plan carries planned with its batch, the others not sent; the mapper's word kept."""
    batch = {(p["file"], p["row"], p["state"]): p["batch_id"] for p in parts.to_pylist() if p["batch_id"]}
    lines, settled = rows.to_pylist(), []
    for line in lines:
        settled.append(False)
        for prefix in ("", "also_"):
            if line[f"{prefix}state"] is None or line[f"{prefix}outcome"] is not None:
                continue
            settled[-1] = True
            key = (line["file"], line["row"], line[f"{prefix}state"])
            said = line[f"{prefix}message"] or ""
            if key in batch:
                fate = ("planned", "dry_run", f"Would be recorded as {key[2]} (dry run: nothing was sent).", batch[key])
            else:
                fate = ("failed", "interrupted", _NOT_SENT, "")
            message = f"{fate[2]} {said}" if said else fate[2]
            line |= {f"{prefix}outcome": fate[0], f"{prefix}reason": fate[1], f"{prefix}message": message}
            line |= {f"{prefix}batch_id": fate[3], f"{prefix}correlation_id": ""}
    return worst_first(pa.Table.from_pylist(lines, schema=ROWS), pa.array(settled, pa.bool_()))


@settings(max_examples=150, deadline=None)
@given(
    rows=_dry_rows(),
    size=st.integers(1, 4),
    slice_rows=st.sampled_from([1, 2, 3, 7, 65_536]),
    order=st.sampled_from(["plan", "reversed", "shuffled", "rows"]),
    dropped=st.integers(0, 3),
    seed=st.integers(0, 2**16),
)
def test_a_dry_run_settles_every_row_as_worked_out_one_by_one(
    rows: pa.Table, size: int, slice_rows: int, order: str, dropped: int, seed: int
) -> None:
    """Whatever the plan's order (its lines in batch order, reversed, shuffled, or in the rows'
    order, so that a slice's batch ids follow each other), whatever the slices' size, and with
    lines missing from the plan."""
    merged, parts = merge(rows, "77")
    plan = chunk(parts, size)
    at = list(range(plan.num_rows))
    if order == "reversed":
        at.reverse()
    elif order == "shuffled":
        random.Random(seed).shuffle(at)
    elif order == "rows":
        place = {(r["file"], r["row"]): i for i, r in enumerate(merged.select(["file", "row"]).to_pylist())}
        at.sort(key=lambda i: place[plan.column("file")[i].as_py(), plan.column("row")[i].as_py()])
    plan = plan.take(pa.array(at[dropped:], pa.int64()))
    with patch.object(settle_module, "_SLICE", slice_rows):
        out = settle(merged, plan, {}, dry_run=True, stopped=None)
    assert out.to_pylist() == _dry_fates(merged, plan).to_pylist()


def test_a_dry_run_shares_one_array_for_a_slice_of_one_text_and_the_plans_batch_ids() -> None:
    """The outcome, reason and message of a slice of rows alike are one array (slices of it), and
    a slice's batch ids are the plan's own when its lines follow each other: nothing per row."""
    rows = rows_table(*({"row": r, "vid": r, "state": "attend", "when_ms": r} for r in range(2, 12)))
    merged, parts = merge(rows, "77")
    plan = chunk(parts, 3)
    with patch.object(settle_module, "_SLICE", 4):
        out = settle(merged, plan, {}, dry_run=True, stopped=None)
    for name in ("outcome", "reason", "message"):
        datas = {chunk.buffers()[2].address for chunk in out.column(name).chunks}
        assert len(datas) == 1, name

    def held(column: pa.ChunkedArray) -> set[tuple[int, int]]:  # where its ids' texts and its numbers lie
        return {(c.dictionary.buffers()[2].address, c.buffers()[1].address) for c in column.chunks}

    assert held(out.column("batch_id")) <= held(plan.column("batch_id"))
    assert out.column("correlation_id") is merged.column("correlation_id") or out.column("correlation_id").equals(
        merged.column("correlation_id")
    )


@pytest.mark.parametrize("slice_rows", [2, 3, 4, 8])
@pytest.mark.parametrize("swapped", [(1, 2), (0, 3), (4, 7)])
def test_a_dry_run_whose_plan_has_two_lines_swapped_gives_each_row_its_own_batch(
    slice_rows: int, swapped: tuple[int, int]
) -> None:
    """A slice whose lines begin and end where they would in order but are swapped inside is not
    the plan's slice: each row still gets the batch of its own line."""
    rows = rows_table(*({"row": r, "vid": r, "state": "attend", "when_ms": r} for r in range(2, 10)))
    merged, parts = merge(rows, "77")
    plan = chunk(parts, 1)  # a batch per line: every line's batch id differs
    at = list(range(plan.num_rows))
    at[swapped[0]], at[swapped[1]] = at[swapped[1]], at[swapped[0]]
    plan = plan.take(pa.array(at, pa.int64()))
    with patch.object(settle_module, "_SLICE", slice_rows):
        out = settle(merged, plan, {}, dry_run=True, stopped=None)
    want = {(p["file"], p["row"]): p["batch_id"] for p in plan.to_pylist()}
    assert {key: line["batch_id"] for key, line in by_row(out).items()} == want
