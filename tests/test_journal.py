"""The journal must survive crashes, repeat runs safely, and never let two runs share a state folder."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer import journal_plans
from importer.answers import outcome_from_dict, outcome_to_dict
from importer.errors import InputError, StopRun
from importer.journal import DB_NAME, SCHEMA_VERSION, Journal
from importer.journal_db import _SCHEMA_V1, _SCHEMA_V2
from importer.models import PARTS, ROWS, Batch, BatchOutcome, Failure, Outcome, Participation, Reason, RowRef, State

ROOT = Path(__file__).resolve().parents[1]
EVENT = "123456"
KEY = Journal.run_key(EVENT, [("a.csv", "ff" * 32)], {"state": "auto", "timezone": None})


# --------------------------------------------------------------------------- helpers and strategies


def rows_table(*rows: dict[str, Any]) -> pa.Table:
    """A ROWS table; every column a line does not give is null (``created_contact`` false)."""
    return pa.Table.from_pylist([{"created_contact": False, **r} for r in rows], schema=ROWS)


def parts_table(*lines: tuple[str, int | None, str | None, int, int, str | None]) -> pa.Table:
    """A PARTS table of ``(state, vid, email, when_ms, row in a.csv, batch_id)`` lines of EVENT."""
    names = ("state", "vid", "email", "when_ms", "row", "batch_id")
    return pa.Table.from_pylist(
        [{"event_id": EVENT, "file": "a.csv", **dict(zip(names, line, strict=True))} for line in lines], schema=PARTS
    )


def sample_plan() -> tuple[pa.Table, pa.Table]:
    """A small deterministic plan: six sendable rows in three batches of two, plus one rejected row."""
    rows = rows_table(
        *(
            {"file": "a.csv", "row": i + 2, "email": f"p{i}@example.com", "vid": 100 + i, "state": "attend",
             "when_ms": 1_000 * i, "time_source": "file", "extra": [("first_name", f"P{i}")]}
            for i in range(6)
        ),
        {"file": "a.csv", "row": 8, "outcome": "rejected", "reason": "missing_email", "message": "No email."},
    )  # fmt: skip
    parts = parts_table(*(("attend", 100 + i, f"p{i}@example.com", 1_000 * i, i + 2, f"b{i // 2}") for i in range(6)))
    return rows, parts


def sample_batches() -> list[Batch]:
    """The sample plan's batches, as the sender posts them."""
    _, parts = sample_plan()
    lines = parts.to_pylist()
    return [
        Batch(
            f"b{n}",
            EVENT,
            State.ATTEND,
            False,
            tuple(
                Participation(EVENT, State.ATTEND, p["vid"], p["email"], p["when_ms"], (RowRef(p["file"], p["row"]),))
                for p in lines[2 * n : 2 * n + 2]
            ),
        )
        for n in range(3)
    ]


def all_recorded(batch: Batch) -> BatchOutcome:
    return BatchOutcome(batch.id, 200, {i.key: int(i.key) for i in batch.items}, {}, correlation_id=f"c-{batch.id}")


def hits(journal: Journal, parts: pa.Table, event_id: str = EVENT) -> list[bool]:
    mask = journal.already_recorded(event_id, parts)
    assert len(mask) == parts.num_rows
    return list(mask.to_pylist())


def runs_in(journal: Journal) -> list[tuple[Any, ...]]:
    return list(journal._conn.execute("SELECT run_id, key, finished, exit_code, report_path FROM runs ORDER BY run_id"))


def child(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in another Python process that can import the project and this test module."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False
    )


# Lone surrogates stand for undecodable file names (surrogateescape), which SQLite text cannot hold:
# answers keep them (JSON escapes); an Arrow table cannot hold them at all.
surrogates = st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF)
texts = st.text(max_size=12) | st.text(surrogates, min_size=1, max_size=3)
plain = st.text(st.characters(codec="utf-8"), max_size=12)
opt = st.none() | plain
ints = st.integers(-(2**63), 2**63 - 1)


def _participation(prefix: str) -> dict[str, st.SearchStrategy[Any]]:
    return {
        f"{prefix}state": st.none() | st.sampled_from(State).map(str),
        f"{prefix}when_ms": st.none() | ints,
        f"{prefix}time_source": st.none() | st.sampled_from(["file", "event_start"]),
        f"{prefix}outcome": st.none() | st.sampled_from(Outcome).map(str),
        f"{prefix}reason": st.none() | st.sampled_from(Reason).map(str) | plain,
        f"{prefix}message": opt,
        f"{prefix}merged_file": opt,
        f"{prefix}merged_row": st.none() | ints,
        f"{prefix}batch_id": opt,
        f"{prefix}correlation_id": opt,
    }


row_lines = st.fixed_dictionaries(
    {
        "file": plain,
        "row": ints,
        "email": opt,
        "vid": st.none() | ints,
        **_participation(""),
        "created_contact": st.booleans(),
        "extra": st.none() | st.lists(st.tuples(plain | st.sampled_from(["\x1f", "a\x1eb", ""]), opt), max_size=3),
        **_participation("also_"),
    }
)
part_lines = st.fixed_dictionaries(
    {
        "event_id": plain,
        "state": st.sampled_from(State).map(str),
        "vid": st.none() | ints,
        "email": opt,
        "when_ms": ints,
        "file": plain,
        "row": ints,
        "batch_id": opt,
    }
)
outcomes_st = st.builds(
    BatchOutcome,
    batch_id=texts,
    status=st.integers(0, 599),
    recorded=st.dictionaries(texts, st.integers(1, 2**62), max_size=4),
    failed=st.dictionaries(texts, st.builds(Failure, st.sampled_from(Reason) | texts, texts), max_size=4),
    correlation_id=texts,
    created=st.frozensets(texts, max_size=3),
    gone=st.frozensets(texts, max_size=3),
)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path / "state") as j:
        yield j


# --------------------------------------------------------------------------- round trips


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(row_lines, max_size=15), parts=st.lists(part_lines, max_size=15))
def test_plan_survives_save_and_load_unchanged(rows: list[dict[str, Any]], parts: list[dict[str, Any]]) -> None:
    plan = pa.Table.from_pylist(rows, schema=ROWS), pa.Table.from_pylist(parts, schema=PARTS)
    with tempfile.TemporaryDirectory() as tmp, Journal.open(tmp) as j:
        run_id = j.begin(KEY, {"event_id": EVENT}, plan=plan)
        rows_back, parts_back = j.load_plan(run_id)
        assert rows_back.equals(plan[0]) and parts_back.equals(plan[1])


def test_a_plan_larger_than_a_chunk_is_stored_in_chunks_and_read_back_in_order(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_plans, "_CHUNK_LINES", 3)
    rows = rows_table(*({"file": "a.csv", "row": n, "email": f"{n}@example.com"} for n in range(2, 12)))
    parts = parts_table(*(("attend", n, None, n, n, "b") for n in range(2, 9)))
    run_id = journal.begin(KEY, {}, plan=(rows, parts))
    stored = dict(journal._conn.execute("SELECT part, COUNT(*) FROM plan_chunks GROUP BY part"))
    assert stored == {"rows": 4, "parts": 3}
    rows_back, parts_back = journal.load_plan(run_id)
    assert rows_back.equals(rows) and parts_back.equals(parts)
    settled = rows.set_column(rows.schema.get_field_index("outcome"), "outcome", pa.array(["recorded"] * 10))
    journal.update_rows(run_id, settled.slice(0, 7))  # fewer chunks than before: none of the old ones stay
    assert journal.load_plan(run_id)[0].equals(settled.slice(0, 7))


def _as_text(t: pa.DataType) -> pa.DataType:
    """The type an earlier version stored: coded text as plain text (a map's names too)."""
    if pa.types.is_dictionary(t):
        return t.value_type
    if pa.types.is_map(t):
        return pa.map_(_as_text(t.key_type), _as_text(t.item_type))
    return t


def test_a_plan_stored_with_plain_text_by_an_earlier_version_is_read_back_in_todays_schema(journal: Journal) -> None:
    rows, parts = sample_plan()
    run_id = journal.begin(KEY, {}, plan=(rows, parts))
    run = journal._conn.execute("SELECT num FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0]
    for part, table in (("rows", rows), ("parts", parts)):
        plain = pa.schema([f.with_type(_as_text(f.type)) for f in table.schema])
        assert plain != table.schema or part == "parts"
        chunks = journal_plans._ipc_chunks(table.cast(plain))
        with journal._conn:
            journal._conn.execute("DELETE FROM plan_chunks WHERE run = ? AND part = ?", (run, part))
            journal._conn.executemany(
                "INSERT INTO plan_chunks (run, part, seq, data) VALUES (?, ?, ?, ?)",
                ((run, part, seq, data) for seq, data in enumerate(chunks)),
            )
    rows_back, parts_back = journal.load_plan(run_id)
    assert rows_back.schema == ROWS and parts_back.schema == PARTS
    assert rows_back.to_pylist() == rows.to_pylist() and parts_back.to_pylist() == parts.to_pylist()


def test_a_plan_is_compressed_and_read_back_on_the_calling_thread(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Arrow's worker threads would do it in heaps of their own, which stay resident."""
    written: list[pa.ipc.IpcWriteOptions] = []
    read: list[pa.ipc.IpcReadOptions] = []
    new_stream, open_stream = pa.ipc.new_stream, pa.ipc.open_stream

    def writer(sink: Any, schema: pa.Schema, *, options: pa.ipc.IpcWriteOptions) -> Any:
        written.append(options)
        return new_stream(sink, schema, options=options)

    def reader(source: Any, *, options: pa.ipc.IpcReadOptions) -> Any:
        read.append(options)
        return open_stream(source, options=options)

    monkeypatch.setattr(pa.ipc, "new_stream", writer)
    monkeypatch.setattr(pa.ipc, "open_stream", reader)
    plan = rows_table({"file": "a.csv", "row": 2}), parts_table(("attend", 2, None, 2, 2, "b"))
    rows_back, parts_back = journal.load_plan(journal.begin(KEY, {}, plan=plan))
    assert rows_back.equals(plan[0]) and parts_back.equals(plan[1])
    assert [(o.compression, o.use_threads) for o in written] == [("lz4", False)] * 2
    assert [o.use_threads for o in read] == [False] * 2


def test_a_table_in_another_column_order_or_with_pandas_metadata_is_stored_as_the_schema_says(
    journal: Journal,
) -> None:
    rows, parts = sample_plan()
    shuffled = rows.select(list(reversed(rows.column_names))).replace_schema_metadata({b"pandas": b"{}"})
    run_id = journal.begin(KEY, {}, plan=(shuffled, parts))
    rows_back, _ = journal.load_plan(run_id)
    assert rows_back.schema.equals(ROWS) and rows_back.equals(rows)


@settings(max_examples=60, deadline=None)
@given(outcome=outcomes_st)
def test_answers_round_trip_through_json(outcome: BatchOutcome) -> None:
    assert outcome_from_dict(json.loads(json.dumps(outcome_to_dict(outcome)))) == outcome


@settings(max_examples=30, deadline=None)
@given(outcomes=st.lists(outcomes_st, max_size=5, unique_by=lambda o: o.batch_id))
def test_outcomes_survive_record_and_reload(outcomes: list[BatchOutcome]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with Journal.open(tmp) as j:
            run_id = j.begin(KEY, {})
            for o in outcomes:
                j.record_outcome(run_id, o, Batch(o.batch_id, EVENT, State.ATTEND, False, ()))
        with Journal.open(tmp) as j:
            assert j.outcomes(run_id) == {o.batch_id: o for o in outcomes}


# --------------------------------------------------------------------------- runs and resuming


def test_resume_flow_finds_plan_and_answers_after_reopen(tmp_path: Path) -> None:
    rows, parts = sample_plan()
    batches = sample_batches()
    with Journal.open(tmp_path) as j:
        assert j.find_unfinished(KEY) is None
        run_id = j.begin(KEY, {"event_id": EVENT, "inputs": ["a.csv"]}, plan=(rows, parts))
        j.record_outcome(run_id, all_recorded(batches[0]), batches[0])
        j.record_outcome(run_id, all_recorded(batches[1]), batches[1])

    with Journal.open(tmp_path) as j:
        assert j.find_unfinished(KEY) == run_id
        assert j.find_unfinished("some-other-key") is None
        rows_back, parts_back = j.load_plan(run_id)
        assert rows_back.equals(rows) and parts_back.equals(parts)
        assert j.outcomes(run_id) == {b.id: all_recorded(b) for b in batches[:2]}

        j.record_outcome(run_id, all_recorded(batches[2]), batches[2])
        outcome = pa.array(["recorded"] * 6 + ["rejected"])
        settled = rows.set_column(rows.schema.get_field_index("outcome"), "outcome", outcome)
        j.update_rows(run_id, settled)
        rows_back, parts_back = j.load_plan(run_id)
        assert rows_back.equals(settled) and parts_back.equals(parts), "the participations stay as planned"

        j.finish(run_id, 3, "report-partial.xlsx")
        assert j.find_unfinished(KEY) == run_id, "a run stopped early (exit 3) stays resumable"
        j.finish(run_id, 0, "report.xlsx")
        assert j.find_unfinished(KEY) is None
        [(_, key, finished, code, report)] = runs_in(j)
        assert (key, code, report) == (KEY, 0, "report.xlsx") and finished is not None


def test_run_ids_sort_by_start_time_and_the_newest_unfinished_is_resumed(tmp_path: Path) -> None:
    now = [1_730_818_801.0]
    with Journal.open(tmp_path, clock=lambda: now[0]) as j:
        first = j.begin(KEY, {}, plan=sample_plan())
        now[0] += 3600
        second = j.begin(KEY, {}, plan=sample_plan())
        assert first.startswith("20241105T150001Z-")
        assert first < second
        assert [r[0] for r in runs_in(j)] == [first, second]
        assert j.find_unfinished(KEY) == second


def test_begin_with_a_plan_commits_both_and_a_run_without_a_plan_is_never_resumed(tmp_path: Path) -> None:
    rows, parts = sample_plan()
    now = [1_730_818_801.0]
    with Journal.open(tmp_path, clock=lambda: now[0]) as j:
        j.begin(KEY, {})
        assert j.find_unfinished(KEY) is None, "a run killed before its plan was saved is planned again"
        now[0] += 1
        whole = j.begin(KEY, {}, plan=(rows.slice(0, 0), parts.slice(0, 0)))
        assert j.find_unfinished(KEY) == whole, "an empty plan is a plan"
        assert [t.num_rows for t in j.load_plan(whole)] == [0, 0]


def test_a_plan_stored_again_while_running_is_the_one_a_resume_finds(tmp_path: Path) -> None:
    rows, parts = sample_plan()
    with Journal.open(tmp_path) as j:
        run_id = j.begin(KEY, {}, plan=(rows, parts))
        again = parts_table(("attend", 999, "p1@example.com", 1_000, 3, "b0-again"))
        changed = rows.set_column(
            rows.schema.get_field_index("vid"), "vid", pa.array([100, 999, 102, 103, 104, 105, None])
        )
        j.update_plan(run_id, changed, pa.concat_tables([parts, again]))
    with Journal.open(tmp_path) as j:
        assert j.find_unfinished(KEY) == run_id
        stored_rows, stored_parts = j.load_plan(run_id)
        assert stored_rows.column("vid").to_pylist() == [100, 999, 102, 103, 104, 105, None]
        assert stored_parts.column("batch_id").to_pylist() == ["b0", "b0", "b1", "b1", "b2", "b2", "b0-again"]


def test_unknown_run_is_a_key_error(journal: Journal) -> None:
    rows, _ = sample_plan()
    with pytest.raises(KeyError):
        journal.load_plan("nope")
    with pytest.raises(KeyError):
        journal.update_rows("nope", rows)
    with pytest.raises(KeyError):
        journal.finish("nope", 0, "r.xlsx")


def test_run_key_is_stable_and_sensitive_to_what_matters() -> None:
    inputs = [("a.csv", "1" * 64), ("b.xlsx", "2" * 64)]
    options = {"state": "attend", "timezone": "Europe/Berlin", "columns": {"email": "E-Mail"}}
    key = Journal.run_key(EVENT, inputs, options)
    assert key == Journal.run_key(EVENT, list(reversed(inputs)), dict(reversed(list(options.items()))))
    assert len(key) == 64 and int(key, 16) >= 0
    assert key != Journal.run_key("999", inputs, options)
    assert key != Journal.run_key(EVENT, [("a.csv", "3" * 64), ("b.xlsx", "2" * 64)], options)
    assert key != Journal.run_key(EVENT, inputs, {**options, "state": "register"})


def test_token_is_never_stored(journal: Journal) -> None:
    with pytest.raises(ValueError, match="token"):
        journal.begin(KEY, {"event_id": EVENT, "token": "pat-na1-secret"})
    with pytest.raises(ValueError, match="token"):
        journal.begin(KEY, {"hubspot": {"access_token": "pat-na1-secret"}})
    with pytest.raises(ValueError, match="token"):
        Journal.run_key(EVENT, [], {"token": "pat-na1-secret"})
    assert runs_in(journal) == []
    journal.close()
    assert b"pat-na1-secret" not in b"".join(p.read_bytes() for p in journal.state_dir.iterdir() if p.is_file())


def test_concurrent_outcome_writes_from_threads_all_land(journal: Journal) -> None:
    batches = [
        Batch(f"t{n}", EVENT, State.REGISTER, False, (Participation(EVENT, State.REGISTER, n + 1, None, 5, ()),))
        for n in range(40)
    ]
    run_id = journal.begin(KEY, {})

    def send(part: list[Batch]) -> None:
        for b in part:
            journal.record_outcome(run_id, all_recorded(b), b)

    threads = [threading.Thread(target=send, args=(batches[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(journal.outcomes(run_id)) == {b.id for b in batches}


# --------------------------------------------------------------------------- letting old plans go


def _finished_runs(journal: Journal, codes: Sequence[int], now: list[float], step: float) -> list[str]:
    ids = []
    batch = sample_batches()[0]
    for code in codes:
        run_id = journal.begin(KEY, {}, plan=sample_plan())
        journal.record_outcome(run_id, all_recorded(batch), batch)
        journal.finish(run_id, code, "r.xlsx")
        ids.append(run_id)
        now[0] += step
    return ids


def test_prune_drops_old_finished_plans_but_keeps_ledger_and_resumable_runs(journal: Journal) -> None:
    now = [1_700_000_000.0]
    journal._clock = lambda: now[0]
    ids = _finished_runs(journal, (0, 3, 1, 0), now, 10)
    assert journal.prune(keep_runs=1, keep_days=365) == 2
    assert [t.num_rows for t in journal.load_plan(ids[0])] == [0, 0] and journal.outcomes(ids[2]) == {}
    assert journal.load_plan(ids[1])[0].equals(sample_plan()[0]), "a stopped (exit 3) run stays resumable"
    assert journal.load_plan(ids[3])[1].equals(sample_plan()[1])
    assert len(runs_in(journal)) == 4, "the runs stay listed: the ledger names the run that recorded"
    _, parts = sample_plan()
    assert hits(journal, parts) == [True, True, False, False, False, False], "the ledger stays"
    assert journal.recorded_when(EVENT, [100])[(100, "attend", 0)][0] == ids[0]
    assert journal.prune(keep_runs=1, keep_days=365) == 0, "nothing is left to drop"
    assert journal._conn.execute("PRAGMA freelist_count").fetchone()[0] == 0, "the space went back to the disk"


def test_prune_keeps_recent_plans_for_the_days_asked_and_no_more(journal: Journal) -> None:
    now = [1_700_000_000.0]
    journal._clock = lambda: now[0]
    day = 86_400.0
    ids = _finished_runs(journal, (0, 0, 1), now, 10 * day)  # finished 30, 20 and 10 days before now
    assert journal.prune(keep_runs=10, keep_days=15) == 2
    assert [journal.load_plan(i)[0].num_rows for i in ids] == [0, 0, 7]
    assert journal.prune(keep_runs=0, keep_days=365) == 1, "keep_runs 0 keeps no finished plan"
    assert journal.load_plan(ids[2])[0].num_rows == 0


def test_runs_begun_within_one_second_are_told_apart_by_the_order_they_began(journal: Journal) -> None:
    journal._clock = lambda: 1_700_000_000.0  # one second: the ids differ only by their random part
    ids = [journal.begin(KEY, {}, plan=sample_plan()) for _ in range(6)]
    assert journal.find_unfinished(KEY) == ids[-1]
    for run_id in ids:
        journal.finish(run_id, 0, "r.xlsx")
    assert journal.prune(keep_runs=1, keep_days=1) == 5
    assert [journal.load_plan(i)[0].num_rows for i in ids] == [0, 0, 0, 0, 0, 7]


# --------------------------------------------------------------------------- ledger


def test_ledger_knows_exactly_the_confirmed_state_and_time(journal: Journal) -> None:
    p1 = Participation(EVENT, State.ATTEND, 1, "a@example.com", 1_000, (RowRef("a.csv", 2),))
    p2 = Participation(EVENT, State.ATTEND, 2, "b@example.com", 2_000, (RowRef("a.csv", 3),))
    p3 = Participation(EVENT, State.ATTEND, 3, "c@example.com", 3_000, (RowRef("a.csv", 4),))
    batch = Batch("b1", EVENT, State.ATTEND, False, (p1, p2, p3))
    outcome = BatchOutcome("b1", 207, {"1": 1, "2": 2}, {"3": Failure(Reason.REJECTED_BY_HUBSPOT, "Refused.")})
    run_id = journal.begin(KEY, {})
    journal.record_outcome(run_id, outcome, batch)

    sent = parts_table(
        ("attend", 1, None, 1_000, 2, None), ("attend", 2, None, 2_000, 3, None), ("attend", 3, None, 3_000, 4, None)
    )
    assert hits(journal, sent) == [True, True, False]
    moved, other_state = ("attend", 1, None, 1_001, 2, None), ("register", 2, None, 2_000, 3, None)
    no_vid = ("attend", None, "a@example.com", 1_000, 2, None)
    assert hits(journal, parts_table(moved, other_state, no_vid)) == [False, False, False]
    assert hits(journal, sent, event_id="other-event") == [False, False, False]
    elsewhere = sent.set_column(0, "event_id", pa.array(["other-event"] * 3))
    assert hits(journal, elsewhere) == [False, False, False], "a line of another event is not this event's"
    assert hits(journal, sent.slice(0, 0)) == []


def test_ledger_learns_the_vid_of_an_email_create(journal: Journal) -> None:
    by_email = Participation(EVENT, State.REGISTER, None, "new@example.com", 9_000, (RowRef("a.csv", 2),))
    batch = Batch("e1", EVENT, State.REGISTER, True, (by_email,))
    outcome = BatchOutcome("e1", 200, {"new@example.com": 777}, {}, created=frozenset({"new@example.com"}))
    run_id = journal.begin(KEY, {})
    journal.record_outcome(run_id, outcome, batch)
    assert hits(journal, parts_table(("register", 777, "new@example.com", 9_000, 2, None))) == [True]


def test_ledger_lookup_asks_for_a_few_vids_or_reads_the_whole_event(journal: Journal) -> None:
    items = tuple(Participation(EVENT, State.ATTEND, v, None, v * 10, ()) for v in range(1, 2_501))
    batch = Batch("big", EVENT, State.ATTEND, False, items)
    run_id = journal.begin(KEY, {})
    journal.record_outcome(run_id, BatchOutcome("big", 200, {i.key: i.vid or 0 for i in items[::2]}, {}), batch)
    every = parts_table(*(("attend", v, None, v * 10, v, None) for v in range(1, 2_501)))
    assert hits(journal, every) == [v % 2 == 1 for v in range(1, 2_501)]
    few = every.filter(pc.less(every.column("vid"), 8))  # far fewer vids than the event's ledger holds
    assert hits(journal, few) == [True, False, True, False, True, False, True]
    twice = pa.concat_tables([few, few])  # a vid asked twice (two states, or two events' plans)
    assert hits(journal, twice) == [True, False, True, False, True, False, True] * 2


def test_record_outcome_refuses_a_mismatched_batch(journal: Journal) -> None:
    run_id = journal.begin(KEY, {})
    with pytest.raises(ValueError):
        journal.record_outcome(run_id, BatchOutcome("x", 200, {}, {}), Batch("y", EVENT, State.ATTEND, False, ()))


# --------------------------------------------------------------------------- lookup cache


def test_cache_respects_ttl_with_injected_clock(tmp_path: Path) -> None:
    now = [1_000_000.0]
    with Journal.open(tmp_path, clock=lambda: now[0]) as j:
        j.cache_put({"Ann@Example.com": 11, "bob@example.com": 22})
        now[0] += 99
        assert j.cache_get(["ann@example.com", "BOB@example.com ", "zed@example.com"], ttl_s=100) == {
            "ann@example.com": 11,
            "BOB@example.com ": 22,
        }
        now[0] += 2
        assert j.cache_get(["ann@example.com"], ttl_s=100) == {}
        j.cache_put({"ann@example.com": 33})
        assert j.cache_get(["ann@example.com"], ttl_s=100) == {"ann@example.com": 33}


def test_cache_forget_drops_entries_and_cache_survives_reopen(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as j:
        j.cache_put({f"p{i}@example.com": i for i in range(1, 1_201)})
        j.cache_forget(["P1@example.com", "p2@example.com"])
    with Journal.open(tmp_path) as j:
        found = j.cache_get([f"p{i}@example.com" for i in range(1, 1_201)], ttl_s=3600)
        assert len(found) == 1_198 and "p1@example.com" not in found and found["p3@example.com"] == 3


# --------------------------------------------------------------------------- database and lock


def test_database_is_in_wal_mode_with_versioned_schema(journal: Journal) -> None:
    raw = sqlite3.connect(journal.state_dir / DB_NAME)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        raw.close()
    assert (journal.state_dir / DB_NAME).stat().st_mode & 0o077 == 0, "the journal holds emails: owner only"


def _old_journal(folder: Path) -> None:
    """A version 2 journal (plans stored a record per row) with an unfinished run, a finished one and a ledger."""
    raw = sqlite3.connect(folder / DB_NAME)
    raw.executescript(_SCHEMA_V1)
    raw.execute(_SCHEMA_V2)
    raw.execute("PRAGMA user_version = 2")
    for num, run_id, finished in ((1, "20240101T000000Z-aaaaaa", 1.0), (2, "20240102T000000Z-bbbbbb", None)):
        raw.execute(
            "INSERT INTO runs (num, run_id, key, started, finished, exit_code, meta) VALUES (?, ?, 'k', 0, ?, ?, '{}')",
            (num, run_id, finished, None if finished is None else 0),
        )
        raw.execute(
            "INSERT INTO plan_rows VALUES (?, 0, 'a.csv', 2, 'a@example.com', 5, 'attend', 1000, 'file', NULL, '', '',"
            " NULL, NULL, '', '', 0, NULL, NULL)",
            (num,),
        )
    raw.execute(f"INSERT INTO ledger VALUES ('{EVENT}', 'attend', 5, 1000, 1, 1.0)")
    raw.commit()
    raw.close()


def test_an_old_journal_is_upgraded_keeping_its_ledger_and_naming_the_runs_it_cannot_resume(tmp_path: Path) -> None:
    _old_journal(tmp_path)
    said: list[str] = []
    with Journal.open(tmp_path, log=said.append) as j:
        assert j.find_unfinished("k") is None, "the old plan cannot be read: the same command plans afresh"
        assert hits(j, parts_table(("attend", 5, None, 1000, 2, None))) == [True], "the ledger stays"
        assert [r[0] for r in runs_in(j)] == ["20240101T000000Z-aaaaaa", "20240102T000000Z-bbbbbb"]
        tables = {name for (name,) in j._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"plan_rows", "plan_batches"}.isdisjoint(tables) and "plan_chunks" in tables
        assert j._conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental from now on
    [note] = said
    assert "20240102T000000Z-bbbbbb" in note and "20240101T000000Z-aaaaaa" not in note
    assert "cannot resume the run" in note and "the same command plans its files afresh" in note
    said.clear()
    Journal.open(tmp_path, log=said.append).close()
    assert said == [], "said once, at the upgrade"


def test_journal_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    Journal.open(tmp_path).close()
    raw = sqlite3.connect(tmp_path / DB_NAME)
    raw.execute("PRAGMA user_version = 99")
    raw.close()
    with pytest.raises(InputError, match="newer version"):
        Journal.open(tmp_path)
    Journal.open(tmp_path / "elsewhere").close()


def test_unreadable_journal_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not a database" * 100)
    with pytest.raises(InputError, match="Move it aside"):
        Journal.open(tmp_path)
    with pytest.raises(InputError, match="Move it aside"):
        Journal.open(tmp_path)  # not StopRun: the failed open released the lock
    assert not (tmp_path / "journal.lock.json").exists()


def test_second_process_is_refused_while_the_lock_is_held(tmp_path: Path) -> None:
    code = f"""
import sys
from importer.errors import StopRun
from importer.journal import Journal
try:
    Journal.open({str(tmp_path)!r}).close()
except StopRun as exc:
    print(exc.reason + "|" + exc.message)
    sys.exit(exc.exit_code)
print("opened")
"""
    first = Journal.open(tmp_path)
    try:
        refused = child(code)
        assert refused.returncode == 3, refused.stderr
        reason, message = refused.stdout.strip().split("|", 1)
        assert reason == "locked"
        assert message.startswith(f"Another import is running with the state folder {tmp_path} (started ")
        assert f"pid {os.getpid()})" in message
        assert message.endswith("wait for it to finish or use another state_dir.")
        assert "Traceback" not in refused.stderr
        with pytest.raises(StopRun, match="Another import is running"):
            Journal.open(tmp_path)
    finally:
        first.close()
    allowed = child(code)
    assert (allowed.returncode, allowed.stdout.strip()) == (0, "opened"), allowed.stderr


@pytest.mark.parametrize("death", ["os._exit(1)", "os.kill(os.getpid(), signal.SIGKILL)"])
def test_crash_keeps_every_committed_outcome(tmp_path: Path, death: str) -> None:
    code = f"""
import os, signal
from importer.journal import Journal
from test_journal import KEY, all_recorded, sample_batches, sample_plan
batches = sample_batches()
j = Journal.open({str(tmp_path)!r})
run_id = j.begin(KEY, {{"event_id": "123456"}}, plan=sample_plan())
j.record_outcome(run_id, all_recorded(batches[0]), batches[0])
j.record_outcome(run_id, all_recorded(batches[1]), batches[1])
print(run_id, flush=True)
{death}
"""
    crashed = child(code)
    assert crashed.returncode != 0
    run_id = crashed.stdout.strip()
    assert run_id, crashed.stderr
    rows, parts = sample_plan()
    with Journal.open(tmp_path) as j:
        assert j.find_unfinished(KEY) == run_id
        rows_back, parts_back = j.load_plan(run_id)
        assert rows_back.equals(rows) and parts_back.equals(parts)
        assert j.outcomes(run_id) == {b.id: all_recorded(b) for b in sample_batches()[:2]}
        assert hits(j, parts) == [True, True, True, True, False, False]


def test_a_transaction_an_interrupt_left_open_is_undone_by_the_next_write(journal: Journal) -> None:
    """Ctrl-C raises wherever the main thread is, also between a BEGIN and the statement after it;
    the next write must not fail with "cannot start a transaction within a transaction" (an internal
    error), and what the interrupted transaction wrote must not count."""
    journal._conn.execute("BEGIN IMMEDIATE")  # what an interrupt right after BEGIN leaves behind
    journal._conn.execute("INSERT INTO contact_cache (email, vid, stored) VALUES ('half@example.com', 1, 0)")
    journal.cache_put({"whole@example.com": 2})
    assert journal.cache_get(["half@example.com", "whole@example.com"], ttl_s=10**12) == {"whole@example.com": 2}


def test_an_interrupt_while_a_plan_is_stored_leaves_no_run(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_: object) -> Iterator[memoryview]:
        raise KeyboardInterrupt
        yield memoryview(b"")

    rows, parts = sample_plan()
    monkeypatch.setattr(journal_plans, "_ipc_chunks", interrupted)
    with pytest.raises(KeyboardInterrupt):
        journal.begin(KEY, {}, plan=(rows, parts))
    monkeypatch.undo()
    assert runs_in(journal) == [] and journal._conn.execute("SELECT COUNT(*) FROM plan_chunks").fetchone() == (0,)
    run_id = journal.begin(KEY, {}, plan=(rows, parts))
    assert journal.find_unfinished(KEY) == run_id


def test_a_full_disk_while_a_plan_is_stored_stops_the_run_and_keeps_nothing_of_it(journal: Journal) -> None:
    pages = journal._conn.execute("PRAGMA page_count").fetchone()[0]
    journal._conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    big = rows_table(*({"file": "a.csv", "row": n, "email": f"{n:09d}@example.com"} for n in range(20_000)))
    with pytest.raises(StopRun) as stopped:
        journal.begin(KEY, {}, plan=(big, sample_plan()[1]))
    assert stopped.value.reason == Reason.DISK_FULL and "state folder" in stopped.value.message
    assert runs_in(journal) == []
