"""The journal's SQLite file: its schema and the migrations that bring an older one up to date,
opening it (WAL, ``synchronous=FULL``), refusing another program's database, telling a full disk
apart, and the note beside the lock that says which process holds the state folder."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from .errors import DISK_FULL_ERRNOS, InputError, StopRun, disk_full

SCHEMA_VERSION = 3
DB_NAME = "journal.sqlite3"
LOCK_NAME = "journal.lock"
LOCK_INFO_NAME = "journal.lock.json"
#: A run finished with this exit code (StopRun) stopped early and stays resumable.
RESUMABLE_EXIT_CODE = StopRun.exit_code

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


def is_full(exc: BaseException) -> bool:
    """SQLite's "database or disk is full", or a write refused because the disk is full."""
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc)
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


def connect(path: Path, log: Callable[[str], None] | None = None) -> sqlite3.Connection:
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
        if is_full(exc):
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


def write_lock_info(folder: Path, started: float) -> None:
    """Say who holds the lock, so a second run can tell the user."""
    info = folder / LOCK_INFO_NAME
    tmp = info.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "started": started}), encoding="utf-8")
    os.replace(tmp, info)


def locked_message(folder: Path) -> str:
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
