"""The on-disk memory of the importer: run journal, ledger of recorded participations, lookup cache.

Everything lives in one SQLite file, ``<state_dir>/journal.sqlite3`` (WAL, ``synchronous=FULL``), so that:

* a run that dies (kill -9, Ctrl-C, daily limit, network loss) can be resumed: the plan (its rows and
  participations, two Arrow tables stored in chunks) is committed with the run before the first write,
  and each HubSpot answer is committed as it arrives;
* a finished run repeated sends nothing: every confirmed participation (event, state, vid, time) is in
  the ledger, committed in the same transaction as the answer that confirmed it;
* contact lookups by email are not repeated within the cache TTL;
* the plans of finished runs are let go (:meth:`Journal.prune`), the ledger never.

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
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc
from filelock import FileLock, Timeout

from .errors import DISK_FULL_ERRNOS, InputError, StopRun, disk_full
from .models import PARTS, ROWS, Batch, BatchOutcome, Failure, Reason

SCHEMA_VERSION = 3
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

#: Version 3: a plan is its two tables (``models.ROWS`` and ``models.PARTS``) as Arrow IPC chunks,
#: not a record per row; older plans cannot be read back (see :func:`_stranded`).
_SCHEMA_V3 = """
CREATE TABLE plan_chunks (
    run  INTEGER NOT NULL,
    part TEXT NOT NULL,  -- 'rows' or 'parts'
    seq  INTEGER NOT NULL,
    data BLOB NOT NULL,  -- an Arrow IPC stream of up to _CHUNK_LINES lines
    PRIMARY KEY (run, part, seq)
);
DROP TABLE plan_rows;
DROP TABLE plan_batches;
"""

#: ``user_version`` -> script that brings the schema to the next version.
_MIGRATIONS: dict[int, str] = {0: _SCHEMA_V1, 1: _SCHEMA_V2, 2: _SCHEMA_V3}


# --------------------------------------------------------------------------- serialization


#: Text kept in SQLite as ASCII JSON, so lone surrogates (undecodable file names) stay storable.
_encode = json.JSONEncoder(separators=(",", ":")).encode


def outcome_to_dict(outcome: BatchOutcome) -> dict[str, Any]:
    """A JSON-ready dict of a batch answer (failures as ``[reason, message]``, ``created`` sorted)."""
    return {
        "batch_id": outcome.batch_id,
        "status": outcome.status,
        "recorded": dict(outcome.recorded),
        "failed": {k: [str(f.reason), f.message] for k, f in outcome.failed.items()},
        "correlation_id": outcome.correlation_id,
        "created": sorted(outcome.created),
        "gone": sorted(outcome.gone),
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
        gone=frozenset(data.get("gone", ())),
    )


#: The plan's two tables, by the name their chunks are stored under.
_PLAN_SCHEMAS: Mapping[str, pa.Schema] = {"rows": ROWS, "parts": PARTS}
#: Lines per stored chunk: a million-row plan is written and read a few MiB at a time.
_CHUNK_LINES = 65_536
#: LZ4 stores a plan in about a third of its size in memory at little cost in time (bench/bench_journal.py).
_IPC_WRITE = pa.ipc.IpcWriteOptions(compression="lz4")


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly the columns, order and types of ``schema`` (no pandas metadata)."""
    table = table.select(schema.names)
    return table if table.schema.equals(schema) else table.cast(schema)


def _ipc_chunks(table: pa.Table) -> Iterator[memoryview]:
    """The table as Arrow IPC streams of at most :data:`_CHUNK_LINES` lines, one at a time;
    an empty table is one stream that holds the schema alone (so the plan exists)."""
    for start in range(0, max(table.num_rows, 1), _CHUNK_LINES):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema, options=_IPC_WRITE) as writer:
            writer.write_table(table.slice(start, _CHUNK_LINES))
        yield memoryview(sink.getvalue())


def _store_table(conn: sqlite3.Connection, run: int, part: str, table: pa.Table) -> None:
    table = _conform(table, _PLAN_SCHEMAS[part])
    conn.execute("DELETE FROM plan_chunks WHERE run = ? AND part = ?", (run, part))
    conn.executemany(
        "INSERT INTO plan_chunks (run, part, seq, data) VALUES (?, ?, ?, ?)",
        ((run, part, seq, data) for seq, data in enumerate(_ipc_chunks(table))),
    )


def _load_table(conn: sqlite3.Connection, run: int, part: str) -> pa.Table:
    found = conn.execute("SELECT data FROM plan_chunks WHERE run = ? AND part = ? ORDER BY seq", (run, part))
    # decoded into the system allocator's memory: fresh memory from Arrow's default pool made this
    # several times slower (bench/bench_journal.py, load_plan against load_plan/default-pool)
    pool = pa.system_memory_pool()
    tables = [pa.ipc.open_stream(data, memory_pool=pool).read_all() for (data,) in found]
    return pa.concat_tables(tables) if tables else _PLAN_SCHEMAS[part].empty_table()


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
    def open(
        cls, state_dir: str | Path, *, clock: Callable[[], float] = time.time, log: Callable[[str], None] | None = None
    ) -> Journal:
        """Take the state folder for this process and open (or create) its database; ``log`` hears
        what an upgrade of an older journal means for its unfinished runs."""
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
            conn = _connect(folder / DB_NAME, log)
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
        it, or stored by a version before the plan was kept as tables) is never resumed: the same
        command plans it again."""
        with self._read() as conn:
            found = conn.execute(
                "SELECT run_id FROM runs WHERE key = ? AND (finished IS NULL OR exit_code = ?)"
                " AND EXISTS (SELECT 1 FROM plan_chunks WHERE plan_chunks.run = runs.num)"
                " ORDER BY num DESC LIMIT 1",
                (key, RESUMABLE_EXIT_CODE),
            ).fetchone()
        return None if found is None else str(found[0])

    def begin(self, key: str, meta: Mapping[str, object], plan: tuple[pa.Table, pa.Table] | None = None) -> str:
        """Start a new run and return its id (sortable by start time, e.g. ``20241105T150001Z-ab12cd``).

        With ``plan`` (its rows as ``models.ROWS``, its participations as ``models.PARTS``) the run
        and its whole plan commit in one transaction: a process killed in between leaves no run at
        all, so the same command plans it again."""
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

    def finish(self, run_id: str, exit_code: int, report_path: str) -> None:
        """Mark the run finished; exit code 3 (stopped early) keeps it resumable."""
        with self._tx() as conn:
            done = conn.execute(
                "UPDATE runs SET finished = ?, exit_code = ?, report_path = ? WHERE run_id = ?",
                (self._clock(), int(exit_code), str(report_path), run_id),
            )
            if done.rowcount == 0:
                raise KeyError(run_id)

    def prune(self, keep_runs: int, keep_days: float) -> int:
        """Drop the plans and answers of finished runs that are not among the newest ``keep_runs``
        or finished more than ``keep_days`` ago; a resumable run keeps its plan, and the ledger
        and the list of runs stay (the ledger is what keeps a later run from sending twice).

        A million-row plan takes about 100 MB; nothing reads it once its run has finished.
        Returns the number of runs whose data was dropped."""
        oldest = self._clock() - max(0.0, float(keep_days)) * 86400
        with self._tx() as conn:
            finished = conn.execute(
                "SELECT num, finished FROM runs WHERE finished IS NOT NULL AND exit_code IS NOT ? ORDER BY num DESC",
                (RESUMABLE_EXIT_CODE,),
            ).fetchall()
            old = [(num,) for rank, (num, at) in enumerate(finished) if rank >= max(0, int(keep_runs)) or at < oldest]
            held = {
                num
                for (num,) in conn.execute(
                    "SELECT DISTINCT run FROM plan_chunks UNION SELECT DISTINCT run FROM outcomes"
                ).fetchall()
            }
            old = [(num,) for (num,) in old if num in held]
            for table in ("plan_chunks", "outcomes"):
                conn.executemany(f"DELETE FROM {table} WHERE run = ?", old)
        if old:
            self._give_back_space()
        return len(old)

    def _give_back_space(self) -> None:
        """Hand the pages pruned plans left free back to the file system."""
        with self._mutex:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")  # what an interrupt left open, as in _tx: never committed
            try:
                # a script, as sqlite3_exec runs the pragma to its end (execute would free one page)
                self._conn.executescript("PRAGMA incremental_vacuum;")
            except sqlite3.OperationalError as exc:
                if _is_full(exc):
                    raise disk_full(f"the journal in the state folder {self.state_dir}", str(exc)) from None
                raise

    # ----------------------------------------------------------------- plan

    @staticmethod
    def _store_plan(conn: sqlite3.Connection, run: int, rows: pa.Table, parts: pa.Table) -> None:
        _store_table(conn, run, "rows", rows)
        _store_table(conn, run, "parts", parts)

    def load_plan(self, run_id: str) -> tuple[pa.Table, pa.Table]:
        """The run's rows (``models.ROWS``) and participations (``models.PARTS``), as last stored."""
        with self._read() as conn:
            run = self._run_num(conn, run_id)
            return _load_table(conn, run, "rows"), _load_table(conn, run, "parts")

    def update_rows(self, run_id: str, rows: pa.Table) -> None:
        """Store the run's rows again (as settled), in place of the ones stored before."""
        with self._tx() as conn:
            _store_table(conn, self._run_num(conn, run_id), "rows", rows)

    def update_plan(self, run_id: str, rows: pa.Table, parts: pa.Table) -> None:
        """Store the run's whole plan again (participations planned while it goes on, such as
        contacts looked up again, and the rows they change) in one transaction: a run stopped
        before sending them resumes them."""
        with self._tx() as conn:
            self._store_plan(conn, self._run_num(conn, run_id), rows, parts)

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

    def already_recorded(self, event_id: str, parts: pa.Table) -> pa.Array:
        """For each line of ``parts`` (``models.PARTS``): whether HubSpot already confirmed its
        (event, state, vid, time), as the ledger says.  An email-only line (no vid) never is."""
        hits = pa.array(np.zeros(parts.num_rows, dtype=bool))
        with self._read() as conn:
            count = conn.execute("SELECT COUNT(*) FROM ledger WHERE event_id = ?", (event_id,)).fetchone()[0]
        if not count or not parts.num_rows:
            return hits  # the usual first run of an event: no need to look at every line
        vids = pc.unique(parts.column("vid").drop_null()).to_pylist()
        with self._read() as conn:
            if count <= 4 * len(vids):  # reading the event's whole ledger beats asking for each vid
                found = conn.execute(
                    "SELECT vid, state, when_ms FROM ledger WHERE event_id = ?", (event_id,)
                ).fetchall()
            else:
                found = []
                for chunk in _chunks(vids):
                    marks = ",".join("?" * len(chunk))
                    found += conn.execute(
                        f"SELECT vid, state, when_ms FROM ledger WHERE event_id = ? AND vid IN ({marks})",
                        (event_id, *chunk),
                    ).fetchall()
        if not found:
            return hits
        vid, state, when_ms = zip(*found, strict=True)
        known = pa.table(
            {
                "event_id": pa.array([event_id] * len(found), pa.string()),
                "state": pa.array(state, pa.string()),
                "vid": pa.array(vid, pa.int64()),
                "when_ms": pa.array(when_ms, pa.int64()),
                "_known": pa.array(np.ones(len(found), dtype=bool)),
            }
        )
        keys = ["event_id", "state", "vid", "when_ms"]
        lines = parts.select(keys).append_column("_line", pa.array(np.arange(parts.num_rows)))
        joined = lines.join(known, keys=keys, join_type="left outer").sort_by("_line")
        return pc.fill_null(joined.column("_known"), False).combine_chunks()

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


def _connect(path: Path, log: Callable[[str], None] | None = None) -> sqlite3.Connection:
    """Open the database in WAL mode and bring its schema to :data:`SCHEMA_VERSION`."""
    fresh = not path.exists()
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise InputError(f"Cannot open the journal {path}: {exc}.") from None
    try:
        if fresh:
            os.chmod(path, 0o600)  # it holds email addresses; SQLite gives -wal/-shm the same mode
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # pruned plans give their space back
        conn.execute("PRAGMA busy_timeout=5000")
        _refuse_foreign(conn, path)  # before WAL mode, which would change another program's file
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        _migrate(conn, path, log)
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


def _migrate(conn: sqlite3.Connection, path: Path, log: Callable[[str], None] | None) -> None:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise InputError(
            f"The journal {path} was written by a newer version of the importer.",
            hint="Upgrade the importer, or use another state_dir.",
        )
    stranded = _stranded(conn, version)
    upgraded = 0 < version < SCHEMA_VERSION
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
    if upgraded:
        # the old plans are gone: the file is rewritten without them, and gives pruned space back from now on
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("VACUUM")
    if stranded and log is not None:
        log(
            f"the journal in {path.parent} was upgraded for this version of the importer, which cannot resume"
            f" {_plural_runs(len(stranded))} an older version left unfinished ({', '.join(stranded[:3])}"
            f"{', ...' if len(stranded) > 3 else ''}); the same command plans its files afresh instead (this run"
            " does, if it is that command) and skips every participation HubSpot already confirmed (the ledger"
            " keeps them)"
        )


def _stranded(conn: sqlite3.Connection, version: int) -> list[str]:
    """The resumable runs whose plan a journal before version 3 holds as records (they cannot be read back)."""
    if not 1 <= version < 3:
        return []
    found = conn.execute(
        "SELECT run_id FROM runs WHERE (finished IS NULL OR exit_code = ?)"
        " AND EXISTS (SELECT 1 FROM plan_rows WHERE plan_rows.run = runs.num) ORDER BY run_id",
        (RESUMABLE_EXIT_CODE,),
    )
    return [str(run_id) for (run_id,) in found]


def _plural_runs(count: int) -> str:
    return "the run" if count == 1 else f"the {count} runs"


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
