"""The on-disk memory of the importer: run journal, ledger of recorded participations, lookup cache.

Everything lives in one SQLite file, ``<state_dir>/journal.sqlite3`` (WAL, ``synchronous=FULL``), so that:

* a run that dies (kill -9, Ctrl-C, daily limit, network loss) can be resumed: the plan (every row and
  every batch) is saved before the first write, and each HubSpot answer is committed as it arrives;
* a finished run repeated sends nothing: every confirmed participation (event, state, vid, time) is in
  the ledger, committed in the same transaction as the answer that confirmed it;
* contact lookups by email are not repeated within the cache TTL.

One process at a time owns a state folder (an exclusive ``filelock`` beside the database); the lock is
an ``flock`` so the operating system releases it when a process dies.  The access token is never stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from operator import attrgetter, eq
from pathlib import Path
from types import TracebackType
from typing import Any

from filelock import FileLock, Timeout

from .errors import DISK_FULL_ERRNOS, InputError, StopRun, disk_full
from .models import Also, Batch, BatchOutcome, Failure, Outcome, Participation, Reason, Row, RowRef, State

SCHEMA_VERSION = 2
DB_NAME = "journal.sqlite3"
LOCK_NAME = "journal.lock"
LOCK_INFO_NAME = "journal.lock.json"
#: A run finished with this exit code (StopRun) stopped early and stays resumable.
RESUMABLE_EXIT_CODE = StopRun.exit_code
_CHUNK = 500  # stays well below SQLite's bound-parameter limit

_SCHEMA_V1 = """
CREATE TABLE runs (
    num         INTEGER PRIMARY KEY,
    run_id      TEXT NOT NULL UNIQUE,
    key         TEXT NOT NULL,
    started     REAL NOT NULL,
    finished    REAL,
    exit_code   INTEGER,
    report_path TEXT,
    meta        TEXT NOT NULL
);
CREATE INDEX runs_by_key ON runs (key, run_id);
CREATE TABLE plan_rows (
    run             INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    file            TEXT NOT NULL,
    row             INTEGER NOT NULL,
    email           TEXT,
    vid             INTEGER,
    state           TEXT,
    when_ms         INTEGER,
    time_source     TEXT NOT NULL,
    outcome         TEXT,
    reason          TEXT NOT NULL,
    message         TEXT NOT NULL,
    merged_file     TEXT,
    merged_row      INTEGER,
    batch_id        TEXT NOT NULL,
    correlation_id  TEXT NOT NULL,
    created_contact INTEGER NOT NULL,
    extra           TEXT,
    PRIMARY KEY (run, seq)
) WITHOUT ROWID;
CREATE TABLE plan_batches (
    run      INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    batch_id TEXT NOT NULL,  -- JSON string: ids may hold lone surrogates
    data     TEXT NOT NULL,
    PRIMARY KEY (run, seq)
);
CREATE TABLE outcomes (
    run      INTEGER NOT NULL,
    batch_id TEXT NOT NULL,  -- JSON string, as in plan_batches
    recorded REAL NOT NULL,
    data     TEXT NOT NULL,
    PRIMARY KEY (run, batch_id)
);
CREATE TABLE ledger (
    event_id TEXT NOT NULL,
    state    TEXT NOT NULL,
    vid      INTEGER NOT NULL,
    when_ms  INTEGER NOT NULL,
    run      INTEGER NOT NULL,
    recorded REAL NOT NULL,
    PRIMARY KEY (event_id, vid, state, when_ms)
) WITHOUT ROWID;
CREATE TABLE contact_cache (
    email  TEXT PRIMARY KEY,
    vid    INTEGER NOT NULL,
    stored REAL NOT NULL
) WITHOUT ROWID;
"""

#: Version 2: a row's second participation (``Row.also``, as compact JSON; NULL when it has none).
_SCHEMA_V2 = "ALTER TABLE plan_rows ADD COLUMN also TEXT"

#: ``user_version`` -> script that brings the schema to the next version.
_MIGRATIONS: dict[int, str] = {0: _SCHEMA_V1, 1: _SCHEMA_V2}


# --------------------------------------------------------------------------- serialization


def _ref_to_list(ref: RowRef) -> list[Any]:
    return [ref.file, ref.row]


def _ref_from_list(data: Sequence[Any]) -> RowRef:
    return RowRef(str(data[0]), int(data[1]))


def row_to_dict(row: Row) -> dict[str, Any]:
    """A JSON-ready dict holding every field of ``row`` (enums as their values)."""
    return {
        "ref": _ref_to_list(row.ref),
        "email": row.email,
        "vid": row.vid,
        "state": None if row.state is None else str(row.state),
        "when_ms": row.when_ms,
        "time_source": row.time_source,
        "outcome": None if row.outcome is None else str(row.outcome),
        "reason": str(row.reason),
        "message": row.message,
        "merged_into": None if row.merged_into is None else _ref_to_list(row.merged_into),
        "batch_id": row.batch_id,
        "correlation_id": row.correlation_id,
        "created_contact": row.created_contact,
        "extra": [[k, v] for k, v in row.extra],
        "also": None if row.also is None else _also_to_list(row.also),
    }


def row_from_dict(data: Mapping[str, Any]) -> Row:
    """Inverse of :func:`row_to_dict`."""
    return Row(
        ref=_ref_from_list(data["ref"]),
        email=data["email"],
        vid=data["vid"],
        state=None if data["state"] is None else State(data["state"]),
        when_ms=data["when_ms"],
        time_source=data["time_source"],
        outcome=None if data["outcome"] is None else Outcome(data["outcome"]),
        reason=data["reason"],
        message=data["message"],
        merged_into=None if data["merged_into"] is None else _ref_from_list(data["merged_into"]),
        batch_id=data["batch_id"],
        correlation_id=data["correlation_id"],
        created_contact=bool(data["created_contact"]),
        extra=tuple((str(k), str(v)) for k, v in data["extra"]),
        also=None if data.get("also") is None else _also_from_list(data["also"]),
    )


def _also_to_list(also: Also) -> list[Any]:
    merged = also.merged_into
    return [
        also.state.value,
        also.when_ms,
        also.time_source,
        None if also.outcome is None else also.outcome.value,
        also.reason,
        also.message,
        None if merged is None else [merged.file, merged.row],
        also.batch_id,
        also.correlation_id,
    ]


def _also_from_list(data: Sequence[Any]) -> Also:
    state, when_ms, source, outcome, reason, message, merged, batch_id, correlation_id = data
    return Also(
        State(state),
        when_ms,
        source,
        None if outcome is None else Outcome(outcome),
        reason,
        message,
        None if merged is None else RowRef(merged[0], merged[1]),
        batch_id,
        correlation_id,
    )


_STATE_OF: dict[str, State] = {s.value: s for s in State}
_STATES: dict[str | None, State | None] = {None: None, **{s.value: s for s in State}}
_OUTCOMES: dict[str | None, Outcome | None] = {None: None, **{o.value: o for o in Outcome}}
#: Plan data is ASCII JSON (lone surrogates from undecodable file names become escapes).
_encode = json.JSONEncoder(separators=(",", ":")).encode


def _participation_to_list(item: Participation) -> list[Any]:
    return [item.event_id, item.state, item.vid, item.email, item.when_ms, [[r.file, r.row] for r in item.rows]]


def _participation_from_list(data: Sequence[Any]) -> Participation:
    event_id, state, vid, email, when_ms, rows = data
    return Participation(event_id, _STATE_OF[state], vid, email, when_ms, tuple(RowRef(f, n) for f, n in rows))


def batch_to_dict(batch: Batch) -> dict[str, Any]:
    """A JSON-ready dict holding the batch and its participations (as compact lists)."""
    return {
        "id": batch.id,
        "event_id": batch.event_id,
        "state": str(batch.state),
        "by_email": batch.by_email,
        "items": [_participation_to_list(i) for i in batch.items],
    }


def batch_from_dict(data: Mapping[str, Any]) -> Batch:
    """Inverse of :func:`batch_to_dict`."""
    return Batch(
        id=data["id"],
        event_id=data["event_id"],
        state=_STATE_OF[data["state"]],
        by_email=bool(data["by_email"]),
        items=tuple(_participation_from_list(i) for i in data["items"]),
    )


def outcome_to_dict(outcome: BatchOutcome) -> dict[str, Any]:
    """A JSON-ready dict of a batch answer (failures as ``[reason, message]``, ``created`` sorted)."""
    return {
        "batch_id": outcome.batch_id,
        "status": outcome.status,
        "recorded": dict(outcome.recorded),
        "failed": {k: [str(f.reason), f.message] for k, f in outcome.failed.items()},
        "correlation_id": outcome.correlation_id,
        "created": sorted(outcome.created),
    }


def outcome_from_dict(data: Mapping[str, Any]) -> BatchOutcome:
    """Inverse of :func:`outcome_to_dict`."""
    return BatchOutcome(
        batch_id=data["batch_id"],
        status=int(data["status"]),
        recorded={k: int(v) for k, v in data["recorded"].items()},
        failed={k: Failure(reason, message) for k, (reason, message) in data["failed"].items()},
        correlation_id=data["correlation_id"],
        created=frozenset(data["created"]),
    )


_UNIT, _RECORD = "\x1f", "\x1e"
_ROW_COLUMNS = (
    "file, row, email, vid, state, when_ms, time_source, outcome, reason, message,"
    " merged_file, merged_row, batch_id, correlation_id, created_contact, extra, also"
)


def _row_record(run: int, seq: int, r: Row) -> tuple[Any, ...]:
    """A ``plan_rows`` record: one column per field, so a million rows bind in C, not through JSON."""
    merged = r.merged_into
    return (
        run,
        seq,
        r.ref.file,
        r.ref.row,
        r.email,
        r.vid,
        r.state,
        r.when_ms,
        r.time_source,
        r.outcome,
        r.reason,
        r.message,
        None if merged is None else merged.file,
        None if merged is None else merged.row,
        r.batch_id,
        r.correlation_id,
        r.created_contact,
        _extra_text(r.extra) if r.extra else None,
        None if r.also is None else _encode(_also_to_list(r.also)),
    )


def _extra_text(extra: tuple[tuple[str, str], ...]) -> str:
    """``extra`` as unit-separated text (cheap for a million rows); JSON after a marker if a value holds a separator."""
    text = _UNIT.join([part for pair in extra for part in pair])
    if text.count(_UNIT) == 2 * len(extra) - 1 and _RECORD not in text:
        return text
    return _RECORD + _encode(extra)


def _extra_from_text(text: str) -> tuple[tuple[str, str], ...]:
    if text.startswith(_RECORD):
        return tuple((k, v) for k, v in json.loads(text[1:]))
    parts = text.split(_UNIT)
    return tuple(zip(parts[::2], parts[1::2], strict=True))


_INSERT_ROW = f"INSERT INTO plan_rows (run, seq, {_ROW_COLUMNS}) VALUES ({', '.join('?' * 19)})"


def _text_ref(ref: tuple[str | bytes, int]) -> tuple[str, int]:
    """A stored (file, row): a file name kept as bytes (lone surrogates) back as text."""
    file, row = ref
    return (file.decode("utf-8", "surrogatepass") if isinstance(file, bytes) else file, row)


def _insert_rows(
    conn: sqlite3.Connection, statement: str, run: int, numbered: Callable[[], Iterable[tuple[int, Row]]]
) -> None:
    """Insert ``(seq, row)`` records as a stream: a million rows never become a million records
    at once.  If some text cannot be stored as SQLite text, what was inserted is rolled back to a
    savepoint and the stream starts again with every record made storable."""
    conn.execute("SAVEPOINT rows")
    try:
        conn.executemany(statement, (_row_record(run, seq, r) for seq, r in numbered()))
    except UnicodeEncodeError:
        conn.execute("ROLLBACK TO rows")
        conn.executemany(statement, (_storable(_row_record(run, seq, r)) for seq, r in numbered()))
    conn.execute("RELEASE rows")


def _storable(record: tuple[Any, ...]) -> tuple[Any, ...]:
    """The record itself, or (if some text holds lone surrogates) with every text as UTF-8 bytes.

    Undecodable file names reach Python as lone surrogates, which SQLite text cannot hold; such a
    row is stored as blobs, recognised on load by its ``file`` column being bytes.
    """
    try:
        for value in record:
            if isinstance(value, str):
                value.encode("utf-8")
    except UnicodeEncodeError:
        return tuple(v.encode("utf-8", "surrogatepass") if isinstance(v, str) else v for v in record)
    return record


def _row_from_record(record: Sequence[Any]) -> Row:
    """Inverse of :func:`_row_record` (without run and seq)."""
    if type(record[0]) is bytes:
        record = [v.decode("utf-8", "surrogatepass") if type(v) is bytes else v for v in record]
    (
        file,
        row,
        email,
        vid,
        state,
        when_ms,
        source,
        outcome,
        reason,
        message,
        mfile,
        mrow,
        bid,
        cid,
        created,
        extra,
        also,
    ) = record
    return Row(
        RowRef(file, row),
        email,
        vid,
        _STATES[state],
        when_ms,
        source,
        _OUTCOMES[outcome],
        reason,
        message,
        None if mfile is None else RowRef(mfile, mrow),
        bid,
        cid,
        bool(created),
        _extra_from_text(extra) if extra else (),
        None if also is None else _also_from_list(json.loads(also)),
    )


def _dumps(data: Any) -> str:
    # ensure_ascii keeps lone surrogates (undecodable file names) storable as SQLite text.
    return json.dumps(data, separators=(",", ":"), sort_keys=True, default=str)


def _refuse_token(data: Any, where: str) -> None:
    """Raise ValueError if any key of a (nested) mapping names a token: the token is never stored."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            if "token" in str(key).lower():
                raise ValueError(f"{where} must not contain a token (key {key!r}).")
            _refuse_token(value, where)
    elif isinstance(data, list | tuple):
        for value in data:
            _refuse_token(value, where)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _email_key(email: str) -> str | None:
    """Cache key of an email (case-insensitive), or None if it cannot be stored as text."""
    key = email.strip().lower()
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return key or None


# --------------------------------------------------------------------------- journal


class Journal:
    """One open state folder.  Thread-safe: every method runs under one lock on one connection."""

    def __init__(self, state_dir: Path, conn: sqlite3.Connection, lock: FileLock, clock: Callable[[], float]) -> None:
        self.state_dir = state_dir
        self._conn = conn
        self._lock = lock
        self._clock = clock
        self._mutex = threading.RLock()
        self._closed = False

    # ----------------------------------------------------------------- opening and closing

    @classmethod
    def open(cls, state_dir: str | Path, *, clock: Callable[[], float] = time.time) -> Journal:
        """Take the state folder for this process and open (or create) its database."""
        folder = Path(state_dir)
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            if _is_full(exc):
                raise disk_full(f"the state folder {folder}", exc.strerror or str(exc)) from None
            raise InputError(f"Cannot create the state folder {folder}: {exc.strerror}.") from None
        lock = FileLock(folder / LOCK_NAME, timeout=0, thread_local=False, fallback_to_soft=False)
        try:
            lock.acquire()
        except Timeout:
            raise StopRun(_locked_message(folder), reason=Reason.LOCKED) from None
        except OSError as exc:
            raise InputError(f"Cannot lock the state folder {folder}: {exc.strerror}.") from None
        try:
            _write_lock_info(folder, clock())
            conn = _connect(folder / DB_NAME)
        except OSError as exc:
            (folder / LOCK_INFO_NAME).unlink(missing_ok=True)
            lock.release()
            if _is_full(exc):
                raise disk_full(f"the state folder {folder}", exc.strerror or str(exc)) from None
            raise InputError(f"Cannot write in the state folder {folder}: {exc.strerror}.") from None
        except BaseException:
            (folder / LOCK_INFO_NAME).unlink(missing_ok=True)
            lock.release()
            raise
        return cls(folder, conn, lock, clock)

    def close(self) -> None:
        """Close the database and let another process use the state folder."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            try:
                self._conn.close()
            finally:
                (self.state_dir / LOCK_INFO_NAME).unlink(missing_ok=True)
                self._lock.release()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; committed (and synced) before returning."""
        with self._mutex:
            if self._closed:
                raise RuntimeError("The journal is closed.")
            try:
                if self._conn.in_transaction:
                    # every transaction ends before _tx returns, so an open one is what an interrupt
                    # (Ctrl-C raises anywhere in this thread) left between two statements: undo it
                    self._conn.execute("ROLLBACK")
                try:
                    self._conn.execute("BEGIN IMMEDIATE")
                    yield self._conn
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:  # also when an interrupt lands on the COMMIT itself
                        self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                if _is_full(exc):
                    raise disk_full(f"the journal in the state folder {self.state_dir}", str(exc)) from None
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            if self._closed:
                raise RuntimeError("The journal is closed.")
            yield self._conn

    # ----------------------------------------------------------------- runs

    @staticmethod
    def run_key(event_id: str, inputs: Sequence[tuple[str, str]], options: Mapping[str, object]) -> str:
        """Stable identity of a run: same event, same file contents and same options give the same key.

        Input order does not matter (the stored plan fixes the order when a run resumes).
        """
        _refuse_token(options, "Run options")
        payload = {
            "event_id": str(event_id),
            "inputs": sorted([str(name), str(digest)] for name, digest in inputs),
            "options": options,
        }
        return hashlib.sha256(_dumps(payload).encode("utf-8")).hexdigest()

    def find_unfinished(self, key: str) -> str | None:
        """The newest run with ``key`` that never finished or stopped early (exit 3), to resume it.

        A run without a stored plan (begun by an older version that was killed before saving
        it) is never resumed: the same command plans it again."""
        with self._read() as conn:
            found = conn.execute(
                "SELECT run_id FROM runs WHERE key = ? AND (finished IS NULL OR exit_code = ?)"
                " AND EXISTS (SELECT 1 FROM plan_rows WHERE plan_rows.run = runs.num)"
                " ORDER BY run_id DESC LIMIT 1",
                (key, RESUMABLE_EXIT_CODE),
            ).fetchone()
        return None if found is None else str(found[0])

    def begin(
        self, key: str, meta: Mapping[str, object], plan: tuple[Sequence[Row], Sequence[Batch]] | None = None
    ) -> str:
        """Start a new run and return its id (sortable by start time, e.g. ``20241105T150001Z-ab12cd``).

        With ``plan`` (rows, batches) the run and its whole plan commit in one transaction: a
        process killed in between leaves no run at all, so the same command plans it again."""
        _refuse_token(meta, "Run metadata")
        meta_text = _dumps(meta)
        now = self._clock()
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
        with self._tx() as conn:
            while True:
                run_id = f"{stamp}-{secrets.token_hex(3)}"
                if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
                    break
            conn.execute(
                "INSERT INTO runs (run_id, key, started, meta) VALUES (?, ?, ?, ?)", (run_id, key, now, meta_text)
            )
            if plan is not None:
                self._store_plan(conn, self._run_num(conn, run_id), *plan)
        return run_id

    def run_meta(self, run_id: str) -> dict[str, Any]:
        """The metadata given to :meth:`begin`."""
        with self._read() as conn:
            found = conn.execute("SELECT meta FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if found is None:
            raise KeyError(run_id)
        meta: dict[str, Any] = json.loads(found[0])
        return meta

    def finish(self, run_id: str, exit_code: int, report_path: str) -> None:
        """Mark the run finished; exit code 3 (stopped early) keeps it resumable."""
        with self._tx() as conn:
            done = conn.execute(
                "UPDATE runs SET finished = ?, exit_code = ?, report_path = ? WHERE run_id = ?",
                (self._clock(), int(exit_code), str(report_path), run_id),
            )
            if done.rowcount == 0:
                raise KeyError(run_id)

    def last_runs(self, limit: int = 10) -> list[dict[str, Any]]:
        """The newest runs first; ``started``/``finished`` are epoch seconds (``finished`` None if unfinished)."""
        with self._read() as conn:
            found = conn.execute(
                "SELECT run_id, key, started, finished, exit_code, report_path, meta FROM runs"
                " ORDER BY run_id DESC LIMIT ?",
                (int(limit),),
            ).fetchall()
        names = ("run_id", "key", "started", "finished", "exit_code", "report_path")
        out = []
        for record in found:
            item = dict(zip(names, record[:6], strict=True))
            item["meta"] = json.loads(record[6])
            out.append(item)
        return out

    def prune(self, keep: int = 5) -> int:
        """Drop the plans and answers of finished runs older than the newest ``keep`` (the ledger stays).

        A million-row plan takes a few hundred MB; nothing reads it once its run has finished.
        Returns the number of runs whose data was dropped.
        """
        with self._tx() as conn:
            old = conn.execute(
                "SELECT num FROM runs WHERE finished IS NOT NULL AND exit_code IS NOT ?"
                " ORDER BY run_id DESC LIMIT -1 OFFSET ?",
                (RESUMABLE_EXIT_CODE, max(0, int(keep))),
            ).fetchall()
            for table in ("plan_rows", "plan_batches", "outcomes"):
                conn.executemany(f"DELETE FROM {table} WHERE run = ?", old)
        return len(old)

    # ----------------------------------------------------------------- plan

    def save_plan(self, run_id: str, rows: Sequence[Row], batches: Sequence[Batch]) -> None:
        """Store every row and batch of the run in one transaction (replacing an earlier plan)."""
        with self._tx() as conn:
            self._store_plan(conn, self._run_num(conn, run_id), rows, batches)

    @staticmethod
    def _store_plan(conn: sqlite3.Connection, run: int, rows: Sequence[Row], batches: Sequence[Batch]) -> None:
        batch_records = [(i, _encode(b.id), _encode(batch_to_dict(b))) for i, b in enumerate(batches)]
        conn.execute("DELETE FROM plan_rows WHERE run = ?", (run,))
        conn.execute("DELETE FROM plan_batches WHERE run = ?", (run,))
        _insert_rows(conn, _INSERT_ROW, run, lambda: enumerate(rows))
        conn.executemany(
            "INSERT INTO plan_batches (run, seq, batch_id, data) VALUES (?, ?, ?, ?)",
            [(run, *record) for record in batch_records],
        )

    def load_plan(self, run_id: str) -> tuple[list[Row], list[Batch]]:
        """The rows and batches as saved (and updated), in their original order."""
        with self._read() as conn:
            run = self._run_num(conn, run_id)
            found = conn.execute(f"SELECT {_ROW_COLUMNS} FROM plan_rows WHERE run = ? ORDER BY seq", (run,))
            rows = [_row_from_record(record) for record in found]
            found = conn.execute("SELECT data FROM plan_batches WHERE run = ? ORDER BY seq", (run,))
            batches = [batch_from_dict(json.loads(data)) for (data,) in found]
        return rows, batches

    def update_rows(self, run_id: str, rows: Sequence[Row]) -> None:
        """Replace stored rows that have the same ``ref`` (their place in the plan is kept)."""
        with self._tx() as conn:
            run = self._run_num(conn, run_id)
            stored = conn.execute("SELECT file, row FROM plan_rows WHERE run = ? ORDER BY seq", (run,))
            refs = map(attrgetter("file", "row"), map(attrgetter("ref"), rows))
            in_order = all(map(eq, map(_text_ref, stored), refs))
            stored.close()
            count = conn.execute("SELECT COUNT(*) FROM plan_rows WHERE run = ?", (run,)).fetchone()[0]
            if in_order and count == len(rows):
                # The usual case, the whole plan in its own order: rewritten as a stream, which
                # beats a million replaces and never holds a million records.
                conn.execute("DELETE FROM plan_rows WHERE run = ?", (run,))
                _insert_rows(conn, _INSERT_ROW, run, lambda: enumerate(rows))
                return
            wanted = {(r.ref.file, r.ref.row): r for r in rows}  # plain tuples hash in C, RowRef does not
            pairs: list[tuple[int, Row]] = []
            for seq, file, row in conn.execute("SELECT seq, file, row FROM plan_rows WHERE run = ?", (run,)):
                found = wanted.pop(_text_ref((file, row)), None)
                if found is not None:
                    pairs.append((seq, found))
            if wanted:
                file, row = next(iter(wanted))
                raise ValueError(f"Row {file}:{row} is not in the plan of run {run_id}.")
            _insert_rows(conn, _INSERT_ROW.replace("INSERT", "INSERT OR REPLACE", 1), run, lambda: pairs)

    # ----------------------------------------------------------------- outcomes and ledger

    def record_outcome(self, run_id: str, outcome: BatchOutcome, batch: Batch) -> None:
        """Commit HubSpot's answer to ``batch`` now, and add its confirmed participations to the ledger."""
        if outcome.batch_id != batch.id:
            raise ValueError(f"Outcome of batch {outcome.batch_id} given with batch {batch.id}.")
        now = self._clock()
        confirmed = [
            (item.event_id, str(item.state), int(outcome.recorded[item.key]), item.when_ms)
            for item in batch.items
            if item.key in outcome.recorded
        ]
        data = _encode(outcome_to_dict(outcome))
        with self._tx() as conn:
            run = self._run_num(conn, run_id)
            conn.execute(
                "INSERT OR REPLACE INTO outcomes (run, batch_id, recorded, data) VALUES (?, ?, ?, ?)",
                (run, _encode(batch.id), now, data),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO ledger (event_id, state, vid, when_ms, run, recorded) VALUES (?, ?, ?, ?, ?, ?)",
                [(*c, run, now) for c in confirmed],
            )

    def outcomes(self, run_id: str) -> dict[str, BatchOutcome]:
        """Every answer recorded for the run, by batch id."""
        with self._read() as conn:
            run = self._run_num(conn, run_id)
            found = conn.execute("SELECT data FROM outcomes WHERE run = ?", (run,)).fetchall()
        answers = [outcome_from_dict(json.loads(data)) for (data,) in found]
        return {answer.batch_id: answer for answer in answers}

    def already_recorded(self, event_id: str, items: Sequence[Participation]) -> set[tuple[str, State]]:
        """``(key, state)`` of the participations whose (event, state, vid, time) HubSpot already confirmed."""
        with self._read() as conn:
            if conn.execute("SELECT 1 FROM ledger WHERE event_id = ? LIMIT 1", (event_id,)).fetchone() is None:
                return set()  # the usual first run of an event: no need to look at every item
        by_vid: dict[int, list[Participation]] = {}
        for item in items:
            if item.vid is not None:
                by_vid.setdefault(int(item.vid), []).append(item)
        known: set[tuple[int, str, int]] = set()
        vids = list(by_vid)
        with self._read() as conn:
            for chunk in _chunks(vids):
                marks = ",".join("?" * len(chunk))
                known.update(
                    conn.execute(
                        f"SELECT vid, state, when_ms FROM ledger WHERE event_id = ? AND vid IN ({marks})",
                        (event_id, *chunk),
                    )
                )
        return {
            (item.key, item.state)
            for vid, group in by_vid.items()
            for item in group
            if (vid, str(item.state), item.when_ms) in known
        }

    def recorded_when(self, event_id: str, vids: Iterable[int]) -> dict[tuple[int, str, int], tuple[str, float, str]]:
        """When and by which run the ledger's participations of ``vids`` were confirmed:
        ``(vid, state, when_ms) -> (run id, confirmed at (epoch s), that run's report path)``.
        A run id is ``""`` when the run that recorded it is no longer known."""
        out: dict[tuple[int, str, int], tuple[str, float, str]] = {}
        wanted = sorted({int(v) for v in vids})
        with self._read() as conn:
            for chunk in _chunks(wanted):
                marks = ",".join("?" * len(chunk))
                for vid, state, when_ms, run_id, recorded, report in conn.execute(
                    "SELECT l.vid, l.state, l.when_ms, r.run_id, l.recorded, r.report_path FROM ledger l "
                    f"LEFT JOIN runs r ON r.num = l.run WHERE l.event_id = ? AND l.vid IN ({marks})",
                    (event_id, *chunk),
                ):
                    out[(int(vid), str(state), int(when_ms))] = (run_id or "", float(recorded), report or "")
        return out

    # ----------------------------------------------------------------- contact lookup cache

    def cache_get(self, emails: Iterable[str], ttl_s: float) -> dict[str, int]:
        """Cached vids of ``emails`` (as given; matched case-insensitively) stored less than ``ttl_s`` ago."""
        wanted: dict[str, list[str]] = {}
        for email in emails:
            key = _email_key(email)
            if key is not None:
                wanted.setdefault(key, []).append(email)
        oldest = self._clock() - ttl_s
        out: dict[str, int] = {}
        keys = list(wanted)
        with self._read() as conn:
            for chunk in _chunks(keys):
                marks = ",".join("?" * len(chunk))
                for key, vid in conn.execute(
                    f"SELECT email, vid FROM contact_cache WHERE stored >= ? AND email IN ({marks})", (oldest, *chunk)
                ):
                    for email in wanted[key]:
                        out[email] = int(vid)
        return out

    def cache_put(self, found: Mapping[str, int]) -> None:
        """Remember email -> vid answers of a lookup (stamped now)."""
        now = self._clock()
        records = [(key, int(vid), now) for email, vid in found.items() if (key := _email_key(email)) is not None]
        with self._tx() as conn:
            conn.executemany("INSERT OR REPLACE INTO contact_cache (email, vid, stored) VALUES (?, ?, ?)", records)

    def cache_forget(self, emails: Iterable[str]) -> None:
        """Drop cached answers, e.g. when HubSpot says a cached vid no longer exists."""
        records = [(key,) for email in emails if (key := _email_key(email)) is not None]
        with self._tx() as conn:
            conn.executemany("DELETE FROM contact_cache WHERE email = ?", records)

    # ----------------------------------------------------------------- helpers

    @staticmethod
    def _run_num(conn: sqlite3.Connection, run_id: str) -> int:
        """The run's row number (plan tables are keyed by it: smaller than the text id)."""
        found = conn.execute("SELECT num FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if found is None:
            raise KeyError(run_id)
        return int(found[0])


def _is_full(exc: BaseException) -> bool:
    """SQLite's "database or disk is full", or a write refused because the disk is full."""
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc)
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


def _connect(path: Path) -> sqlite3.Connection:
    """Open the database in WAL mode and bring its schema to :data:`SCHEMA_VERSION`."""
    fresh = not path.exists()
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise InputError(f"Cannot open the journal {path}: {exc}.") from None
    try:
        if fresh:
            os.chmod(path, 0o600)  # it holds email addresses; SQLite gives -wal/-shm the same mode
        conn.execute("PRAGMA busy_timeout=5000")
        _refuse_foreign(conn, path)  # before WAL mode, which would change another program's file
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        _migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if _is_full(exc):
            raise disk_full(f"the journal {path}", str(exc)) from None
        raise InputError(
            f"The journal {path} is unreadable ({exc}).",
            hint="Move it aside to start afresh; earlier runs then cannot be resumed or skipped.",
        ) from None
    except BaseException:
        conn.close()
        raise
    return conn


#: A table every version of the journal has; a versioned database without it is another program's.
_OUR_MARK = "runs"


def _refuse_foreign(conn: sqlite3.Connection, path: Path) -> None:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if (tables and version == 0) or (version and _OUR_MARK not in tables):
        shown = ", ".join(sorted(tables)[:3]) + (", ..." if len(tables) > 3 else "")
        raise InputError(
            f"{path} is a SQLite database of another program (tables {shown or 'none'}), not an importer journal;"
            " it was left untouched.",
            hint="Point state_dir (--state-dir) at a folder of the importer's own, e.g. .importer/.",
        )


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise InputError(
            f"The journal {path} was written by a newer version of the importer.",
            hint="Upgrade the importer, or use another state_dir.",
        )
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _MIGRATIONS[version].split(";"):
                if statement.strip():
                    conn.execute(statement)
            version += 1
            conn.execute(f"PRAGMA user_version = {version}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def _write_lock_info(folder: Path, started: float) -> None:
    """Say who holds the lock, so a second run can tell the user."""
    info = folder / LOCK_INFO_NAME
    tmp = info.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "started": started}), encoding="utf-8")
    os.replace(tmp, info)


def _locked_message(folder: Path) -> str:
    holder = ""
    try:
        info = json.loads((folder / LOCK_INFO_NAME).read_text(encoding="utf-8"))
        started = datetime.fromtimestamp(float(info["started"])).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
        holder = f" (started {started}, pid {int(info['pid'])})"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return (
        f"Another import is running with the state folder {folder}{holder}; "
        "wait for it to finish or use another state_dir."
    )
