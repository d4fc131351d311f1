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
The file's schema and opening are in ``journal_db``, the plan's storage as Arrow chunks in
``journal_plans``, the answers' JSON form in ``answers``.
"""

from __future__ import annotations

import hashlib
import json
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
from filelock import FileLock, Timeout

from .answers import Answers, outcome_from_dict, outcome_to_dict
from .errors import InputError, StopRun, disk_full
from .journal_db import (
    DB_NAME,
    LOCK_INFO_NAME,
    LOCK_NAME,
    RESUMABLE_EXIT_CODE,
    SCHEMA_VERSION,
    connect,
    is_full,
    locked_message,
    write_lock_info,
)
from .journal_plans import load_table, store_table
from .models import Batch, BatchOutcome, Reason

__all__ = ["DB_NAME", "SCHEMA_VERSION", "Journal", "outcome_from_dict", "outcome_to_dict"]

_CHUNK = 500  # stays well below SQLite's bound-parameter limit

#: Text kept in SQLite as ASCII JSON, so lone surrogates (undecodable file names) stay storable.
_encode = json.JSONEncoder(separators=(",", ":")).encode


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
            if is_full(exc):
                raise disk_full(f"the state folder {folder}", exc.strerror or str(exc)) from None
            raise InputError(f"Cannot create the state folder {folder}: {exc.strerror}.") from None
        lock = FileLock(folder / LOCK_NAME, timeout=0, thread_local=False, fallback_to_soft=False)
        try:
            lock.acquire()
        except Timeout:
            raise StopRun(locked_message(folder), reason=Reason.LOCKED) from None
        except OSError as exc:
            raise InputError(f"Cannot lock the state folder {folder}: {exc.strerror}.") from None
        try:
            write_lock_info(folder, clock())
            conn = connect(folder / DB_NAME, log)
        except OSError as exc:
            (folder / LOCK_INFO_NAME).unlink(missing_ok=True)
            lock.release()
            if is_full(exc):
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
                if is_full(exc):
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
                if is_full(exc):
                    raise disk_full(f"the journal in the state folder {self.state_dir}", str(exc)) from None
                raise

    # ----------------------------------------------------------------- plan

    @staticmethod
    def _store_plan(conn: sqlite3.Connection, run: int, rows: pa.Table, parts: pa.Table) -> None:
        store_table(conn, run, "rows", rows)
        store_table(conn, run, "parts", parts)

    def load_plan(self, run_id: str) -> tuple[pa.Table, pa.Table]:
        """The run's rows (``models.ROWS``) and participations (``models.PARTS``), as last stored."""
        with self._read() as conn:
            run = self._run_num(conn, run_id)
            return load_table(conn, run, "rows"), load_table(conn, run, "parts")

    def update_rows(self, run_id: str, rows: pa.Table) -> None:
        """Store the run's rows again (as settled), in place of the ones stored before."""
        with self._tx() as conn:
            store_table(conn, self._run_num(conn, run_id), "rows", rows)

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

    def _stored(self, run_id: str) -> Iterator[BatchOutcome]:
        """The run's recorded answers, one at a time, as they were journaled."""
        with self._read() as conn:
            run = self._run_num(conn, run_id)
            for (data,) in conn.execute("SELECT data FROM outcomes WHERE run = ?", (run,)):
                yield outcome_from_dict(json.loads(data))

    def outcomes(self, run_id: str) -> dict[str, BatchOutcome]:
        """Every answer recorded for the run, by batch id (the objects, as journaled)."""
        return {answer.batch_id: answer for answer in self._stored(run_id)}

    def answers(self, run_id: str) -> Answers:
        """Every answer recorded for the run, in columns (read a few at a time: a resumed
        million-contact run does not hold them all as objects)."""
        out = Answers()
        for answer in self._stored(run_id):
            out.add(answer)
        return out

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
        # joined as the ledger's types (a plan's event and states are coded text, which joins do not take)
        lines = pa.table({k: parts.column(k).cast(known.schema.field(k).type) for k in keys})
        lines = lines.append_column("_line", pa.array(np.arange(parts.num_rows)))
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
