"""The journal must survive crashes, repeat runs safely, and never let two runs share a state folder."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.errors import InputError, StopRun
from importer.journal import (
    _SCHEMA_V1,
    DB_NAME,
    SCHEMA_VERSION,
    Journal,
    batch_from_dict,
    batch_to_dict,
    outcome_from_dict,
    outcome_to_dict,
    row_from_dict,
    row_to_dict,
)
from importer.models import Also, Batch, BatchOutcome, Failure, Outcome, Participation, Reason, Row, RowRef, State

ROOT = Path(__file__).resolve().parents[1]
EVENT = "123456"
KEY = Journal.run_key(EVENT, [("a.csv", "ff" * 32)], {"state": "auto", "timezone": None})


# --------------------------------------------------------------------------- helpers and strategies


def sample_plan() -> tuple[list[Row], list[Batch]]:
    """A small deterministic plan: six sendable rows in three batches of two, plus one rejected row."""
    rows = [
        Row(RowRef("a.csv", i + 2), email=f"p{i}@example.com", vid=100 + i, state=State.ATTEND, when_ms=1_000 * i)
        for i in range(6)
    ]
    rows.append(Row(RowRef("a.csv", 8), outcome=Outcome.REJECTED, reason=Reason.MISSING_EMAIL, message="No email."))
    batches = [
        Batch(
            id=f"b{n}",
            event_id=EVENT,
            state=State.ATTEND,
            by_email=False,
            items=tuple(
                Participation(EVENT, State.ATTEND, r.vid, r.email, r.when_ms or 0, (r.ref,))
                for r in rows[2 * n : 2 * n + 2]
            ),
        )
        for n in range(3)
    ]
    return rows, batches


def all_recorded(batch: Batch) -> BatchOutcome:
    return BatchOutcome(batch.id, 200, {i.key: int(i.key) for i in batch.items}, {}, correlation_id=f"c-{batch.id}")


def child(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in another Python process that can import the project and this test module."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False
    )


# Lone surrogates stand for undecodable file names (surrogateescape), which SQLite text cannot hold.
surrogates = st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF)
texts = st.text(max_size=12) | st.text(surrogates, min_size=1, max_size=3)
refs = st.builds(RowRef, texts, st.integers(1, 10**7))
rows_st = st.builds(
    Row,
    ref=refs,
    email=st.none() | texts,
    vid=st.none() | st.integers(1, 2**62),
    state=st.none() | st.sampled_from(State),
    when_ms=st.none() | st.integers(-(2**53), 2**53),
    time_source=st.sampled_from(["file", "event_start"]) | texts,
    outcome=st.none() | st.sampled_from(Outcome),
    reason=st.sampled_from(Reason) | texts,
    message=texts,
    merged_into=st.none() | refs,
    batch_id=texts,
    correlation_id=texts,
    created_contact=st.booleans(),
    extra=st.lists(st.tuples(texts | st.sampled_from(["\x1f", "a\x1eb", ""]), texts), max_size=3).map(tuple),
)
participations = st.builds(
    Participation,
    event_id=texts,
    state=st.sampled_from(State),
    vid=st.none() | st.integers(1, 2**62),
    email=st.none() | texts,
    when_ms=st.integers(-(2**53), 2**53),
    rows=st.lists(refs, max_size=3).map(tuple),
)
batches_st = st.builds(
    Batch,
    id=texts,
    event_id=texts,
    state=st.sampled_from(State),
    by_email=st.booleans(),
    items=st.lists(participations, max_size=4).map(tuple),
)
outcomes_st = st.builds(
    BatchOutcome,
    batch_id=texts,
    status=st.integers(0, 599),
    recorded=st.dictionaries(texts, st.integers(1, 2**62), max_size=4),
    failed=st.dictionaries(texts, st.builds(Failure, st.sampled_from(Reason) | texts, texts), max_size=4),
    correlation_id=texts,
    created=st.frozensets(texts, max_size=3),
)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path / "state") as j:
        yield j


# --------------------------------------------------------------------------- round trips


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(rows_st, max_size=15), batches=st.lists(batches_st, max_size=5))
def test_plan_survives_save_and_load_unchanged(rows: list[Row], batches: list[Batch]) -> None:
    with tempfile.TemporaryDirectory() as tmp, Journal.open(tmp) as j:
        run_id = j.begin(KEY, {"event_id": EVENT})
        j.save_plan(run_id, rows, batches)
        assert j.load_plan(run_id) == (rows, batches)


@settings(max_examples=60, deadline=None)
@given(row=rows_st, batch=batches_st, outcome=outcomes_st)
def test_dict_forms_round_trip_through_json(row: Row, batch: Batch, outcome: BatchOutcome) -> None:
    assert row_from_dict(json.loads(json.dumps(row_to_dict(row)))) == row
    assert batch_from_dict(json.loads(json.dumps(batch_to_dict(batch)))) == batch
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


def test_undecodable_file_name_is_stored_and_updated(journal: Journal) -> None:
    ref = RowRef("caf\udce9.csv", 2)
    run_id = journal.begin(KEY, {})
    journal.save_plan(run_id, [Row(ref, email="a@example.com")], [])
    settled = Row(ref, email="a@example.com", outcome=Outcome.SKIPPED, reason=Reason.HOST, message="Host.")
    journal.update_rows(run_id, [settled])
    assert journal.load_plan(run_id) == ([settled], [])


def test_a_stream_that_meets_an_undecodable_name_midway_is_stored_once(journal: Journal) -> None:
    refs = [RowRef("a.csv", 2), RowRef("caf\udce9.csv", 3), RowRef("a.csv", 4)]
    run_id = journal.begin(KEY, {})
    journal.save_plan(run_id, [Row(ref, email=f"{ref.row}@example.com") for ref in refs], [])
    settled = [Row(ref, outcome=Outcome.RECORDED, message=f"row {ref.row}") for ref in refs]
    journal.update_rows(run_id, settled)
    assert journal.load_plan(run_id) == (settled, [])


# --------------------------------------------------------------------------- runs and resuming


def test_resume_flow_finds_plan_and_answers_after_reopen(tmp_path: Path) -> None:
    rows, batches = sample_plan()
    with Journal.open(tmp_path) as j:
        assert j.find_unfinished(KEY) is None
        run_id = j.begin(KEY, {"event_id": EVENT, "inputs": ["a.csv"]})
        j.save_plan(run_id, rows, batches)
        j.record_outcome(run_id, all_recorded(batches[0]), batches[0])
        j.record_outcome(run_id, all_recorded(batches[1]), batches[1])

    with Journal.open(tmp_path) as j:
        assert j.find_unfinished(KEY) == run_id
        assert j.find_unfinished("some-other-key") is None
        assert j.run_meta(run_id) == {"event_id": EVENT, "inputs": ["a.csv"]}
        assert j.load_plan(run_id) == (rows, batches)
        assert j.outcomes(run_id) == {b.id: all_recorded(b) for b in batches[:2]}

        j.record_outcome(run_id, all_recorded(batches[2]), batches[2])
        recorded = [Row(r.ref, vid=r.vid, outcome=Outcome.RECORDED, batch_id="b0") for r in rows[:2]]
        j.update_rows(run_id, recorded)
        loaded_rows, _ = j.load_plan(run_id)
        assert loaded_rows == recorded + rows[2:]

        j.finish(run_id, 3, "report-partial.xlsx")
        assert j.find_unfinished(KEY) == run_id, "a run stopped early (exit 3) stays resumable"
        j.finish(run_id, 0, "report.xlsx")
        assert j.find_unfinished(KEY) is None
        [last] = j.last_runs()
        assert (last["run_id"], last["key"], last["exit_code"], last["report_path"]) == (run_id, KEY, 0, "report.xlsx")
        assert last["finished"] is not None and last["started"] <= last["finished"]


def test_run_ids_sort_by_start_time_and_last_runs_is_newest_first(tmp_path: Path) -> None:
    now = [1_730_818_801.0]
    with Journal.open(tmp_path, clock=lambda: now[0]) as j:
        first = j.begin(KEY, {}, plan=sample_plan())
        now[0] += 3600
        second = j.begin(KEY, {}, plan=sample_plan())
        assert first.startswith("20241105T150001Z-")
        assert first < second
        assert [r["run_id"] for r in j.last_runs()] == [second, first]
        assert [r["run_id"] for r in j.last_runs(limit=1)] == [second]
        assert j.find_unfinished(KEY) == second


def test_begin_with_a_plan_commits_both_and_a_run_without_a_plan_is_never_resumed(tmp_path: Path) -> None:
    rows, batches = sample_plan()
    now = [1_730_818_801.0]
    with Journal.open(tmp_path, clock=lambda: now[0]) as j:
        bare = j.begin(KEY, {})
        assert j.find_unfinished(KEY) is None, "a run killed before its plan was saved is planned again"
        j.save_plan(bare, rows, batches)
        assert j.find_unfinished(KEY) == bare
        now[0] += 1
        whole = j.begin(KEY, {}, plan=(rows, batches))
        assert j.load_plan(whole) == (rows, batches)
        assert j.find_unfinished(KEY) == whole


def test_update_rows_refuses_a_row_that_is_not_in_the_plan(journal: Journal) -> None:
    rows, batches = sample_plan()
    run_id = journal.begin(KEY, {})
    journal.save_plan(run_id, rows, batches)
    with pytest.raises(ValueError, match="not in the plan"):
        journal.update_rows(run_id, [rows[0], Row(RowRef("other.csv", 2))])
    assert journal.load_plan(run_id) == (rows, batches), "a refused update changes nothing"


def test_unknown_run_is_a_key_error(journal: Journal) -> None:
    with pytest.raises(KeyError):
        journal.run_meta("nope")
    with pytest.raises(KeyError):
        journal.load_plan("nope")
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
    assert journal.last_runs() == []
    journal.close()
    assert b"pat-na1-secret" not in b"".join(p.read_bytes() for p in journal.state_dir.iterdir() if p.is_file())


def test_concurrent_outcome_writes_from_threads_all_land(journal: Journal) -> None:
    batches = [
        Batch(f"t{n}", EVENT, State.REGISTER, False, (Participation(EVENT, State.REGISTER, n + 1, None, 5, ()),))
        for n in range(40)
    ]
    run_id = journal.begin(KEY, {})
    journal.save_plan(run_id, [], batches)

    def send(part: list[Batch]) -> None:
        for b in part:
            journal.record_outcome(run_id, all_recorded(b), b)

    threads = [threading.Thread(target=send, args=(batches[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(journal.outcomes(run_id)) == {b.id for b in batches}


def test_prune_drops_old_finished_plans_but_keeps_ledger_and_resumable_runs(journal: Journal) -> None:
    rows, batches = sample_plan()
    now = [1_700_000_000.0]
    journal._clock = lambda: now[0]
    ids = []
    for code in (0, 3, 1, 0):
        run_id = journal.begin(KEY, {})
        journal.save_plan(run_id, rows, batches)
        journal.record_outcome(run_id, all_recorded(batches[0]), batches[0])
        journal.finish(run_id, code, "r.xlsx")
        ids.append(run_id)
        now[0] += 10
    assert journal.prune(keep=1) == 2
    assert journal.load_plan(ids[0]) == ([], []) and journal.outcomes(ids[2]) == {}
    assert journal.load_plan(ids[1]) == (rows, batches), "a stopped (exit 3) run stays resumable"
    assert journal.load_plan(ids[3]) == (rows, batches)
    assert journal.already_recorded(EVENT, batches[0].items) == {(i.key, i.state) for i in batches[0].items}


# --------------------------------------------------------------------------- ledger


def test_ledger_knows_exactly_the_confirmed_state_and_time(journal: Journal) -> None:
    p1 = Participation(EVENT, State.ATTEND, 1, "a@example.com", 1_000, (RowRef("a.csv", 2),))
    p2 = Participation(EVENT, State.ATTEND, 2, "b@example.com", 2_000, (RowRef("a.csv", 3),))
    p3 = Participation(EVENT, State.ATTEND, 3, "c@example.com", 3_000, (RowRef("a.csv", 4),))
    batch = Batch("b1", EVENT, State.ATTEND, False, (p1, p2, p3))
    outcome = BatchOutcome("b1", 207, {"1": 1, "2": 2}, {"3": Failure(Reason.REJECTED_BY_HUBSPOT, "Refused.")})
    run_id = journal.begin(KEY, {})
    journal.record_outcome(run_id, outcome, batch)

    assert journal.already_recorded(EVENT, [p1, p2, p3]) == {("1", State.ATTEND), ("2", State.ATTEND)}
    moved = Participation(EVENT, State.ATTEND, 1, None, 1_001, ())
    other_state = Participation(EVENT, State.REGISTER, 2, None, 2_000, ())
    assert journal.already_recorded(EVENT, [moved, other_state]) == set()
    assert journal.already_recorded("other-event", [p1, p2]) == set()
    no_vid = Participation(EVENT, State.ATTEND, None, "a@example.com", 1_000, ())
    assert journal.already_recorded(EVENT, [no_vid]) == set()


def test_ledger_learns_the_vid_of_an_email_create(journal: Journal) -> None:
    by_email = Participation(EVENT, State.REGISTER, None, "new@example.com", 9_000, (RowRef("a.csv", 2),))
    batch = Batch("e1", EVENT, State.REGISTER, True, (by_email,))
    outcome = BatchOutcome("e1", 200, {"new@example.com": 777}, {}, created=frozenset({"new@example.com"}))
    run_id = journal.begin(KEY, {})
    journal.record_outcome(run_id, outcome, batch)
    later = Participation(EVENT, State.REGISTER, 777, "new@example.com", 9_000, ())
    assert journal.already_recorded(EVENT, [later]) == {("777", State.REGISTER)}


def test_ledger_lookup_handles_many_items(journal: Journal) -> None:
    items = tuple(Participation(EVENT, State.ATTEND, v, None, v * 10, ()) for v in range(1, 2_501))
    batch = Batch("big", EVENT, State.ATTEND, False, items)
    run_id = journal.begin(KEY, {})
    journal.record_outcome(run_id, BatchOutcome("big", 200, {i.key: i.vid or 0 for i in items[::2]}, {}), batch)
    assert journal.already_recorded(EVENT, items) == {(i.key, State.ATTEND) for i in items[::2]}


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


def test_a_row_with_two_participations_keeps_both_fates(journal: Journal) -> None:
    also = Also(
        State.REGISTER, 900, "file", Outcome.MERGED, Reason.DUPLICATE_CONTACT, "Same contact.", RowRef("b.csv", 4),
        "register-0000-x", "c-1",
    )  # fmt: skip
    row = Row(RowRef("a.csv", 2), email="a@example.com", vid=5, state=State.ATTEND, when_ms=1_000, also=also)
    run_id = journal.begin(KEY, {})
    journal.save_plan(run_id, [row], [])
    assert journal.load_plan(run_id) == ([row], [])
    settled = replace(row, outcome=Outcome.RECORDED, also=replace(also, outcome=Outcome.FAILED, reason="http_5xx"))
    journal.update_rows(run_id, [settled])
    assert journal.load_plan(run_id) == ([settled], [])
    assert row_from_dict(row_to_dict(settled)) == settled


def test_a_version_1_journal_is_upgraded_and_keeps_its_plans(tmp_path: Path) -> None:
    raw = sqlite3.connect(tmp_path / DB_NAME)
    raw.executescript(_SCHEMA_V1)
    raw.execute("PRAGMA user_version = 1")
    raw.execute("INSERT INTO runs (num, run_id, key, started, meta) VALUES (1, 'r1', 'k', 0, '{}')")
    raw.execute(
        "INSERT INTO plan_rows VALUES (1, 0, 'a.csv', 2, 'a@example.com', 5, 'attend', 1000, 'file', NULL, '', '',"
        " NULL, NULL, '', '', 0, NULL)"
    )
    raw.commit()
    raw.close()
    with Journal.open(tmp_path) as j:
        rows, _ = j.load_plan("r1")
    assert rows == [Row(RowRef("a.csv", 2), email="a@example.com", vid=5, state=State.ATTEND, when_ms=1000)]


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
from test_journal import KEY, all_recorded, sample_plan
rows, batches = sample_plan()
j = Journal.open({str(tmp_path)!r})
run_id = j.begin(KEY, {{"event_id": "123456"}})
j.save_plan(run_id, rows, batches)
j.record_outcome(run_id, all_recorded(batches[0]), batches[0])
j.record_outcome(run_id, all_recorded(batches[1]), batches[1])
print(run_id, flush=True)
{death}
"""
    crashed = child(code)
    assert crashed.returncode != 0
    run_id = crashed.stdout.strip()
    assert run_id, crashed.stderr
    rows, batches = sample_plan()
    with Journal.open(tmp_path) as j:
        assert j.find_unfinished(KEY) == run_id
        assert j.load_plan(run_id) == (rows, batches)
        assert j.outcomes(run_id) == {b.id: all_recorded(b) for b in batches[:2]}
        assert j.already_recorded(EVENT, [i for b in batches for i in b.items]) == {
            (i.key, i.state) for b in batches for i in b.items if i.vid in (100, 101, 102, 103)
        }


@pytest.mark.parametrize(
    "extra",
    [(("", ""),), (("a\x1fb", "c"),), (("\x1e", "x"), ("y", "")), (("first_name", "Ann"), ("last_name", "Lee"))],
)
def test_extra_columns_survive_separator_characters(journal: Journal, extra: tuple[tuple[str, str], ...]) -> None:
    row = Row(RowRef("a.csv", 2), extra=extra)
    run_id = journal.begin(KEY, {})
    journal.save_plan(run_id, [row], [])
    assert journal.load_plan(run_id) == ([row], [])


def test_plain_text_states_are_stored_like_enum_states(journal: Journal) -> None:
    """Rows that went through pandas may carry the state as plain text; the journal must not care."""
    text_state: State = "attend"  # type: ignore[assignment]
    item = Participation(EVENT, text_state, 5, None, 1_000, (RowRef("a.csv", 2),))
    batch = Batch("b", EVENT, text_state, False, (item,))
    row = Row(RowRef("a.csv", 2), vid=5, state=text_state, when_ms=1_000)
    run_id = journal.begin(KEY, {})
    journal.save_plan(run_id, [row], [batch])
    journal.record_outcome(run_id, BatchOutcome("b", 200, {"5": 5}, {}), batch)
    assert journal.load_plan(run_id) == ([row], [batch])
    assert journal.already_recorded(EVENT, [Participation(EVENT, State.ATTEND, 5, None, 1_000, ())]) == {
        ("5", State.ATTEND)
    }
    assert journal.already_recorded(EVENT, [item]) == {("5", State.ATTEND)}


def test_updating_every_row_keeps_plan_order(journal: Journal) -> None:
    rows, batches = sample_plan()
    run_id = journal.begin(KEY, {})
    journal.save_plan(run_id, rows, batches)
    settled = [Row(r.ref, outcome=Outcome.RECORDED, message=f"row {r.ref.row}") for r in rows]
    journal.update_rows(run_id, list(reversed(settled)))
    assert journal.load_plan(run_id) == (settled, batches)


def test_a_transaction_an_interrupt_left_open_is_undone_by_the_next_write(journal: Journal) -> None:
    """Ctrl-C raises wherever the main thread is, also between a BEGIN and the statement after it;
    the next write must not fail with "cannot start a transaction within a transaction" (an internal
    error), and what the interrupted transaction wrote must not count."""
    journal._conn.execute("BEGIN IMMEDIATE")  # what an interrupt right after BEGIN leaves behind
    journal._conn.execute("INSERT INTO contact_cache (email, vid, stored) VALUES ('half@example.com', 1, 0)")
    journal.cache_put({"whole@example.com": 2})
    assert journal.cache_get(["half@example.com", "whole@example.com"], ttl_s=10**12) == {"whole@example.com": 2}
