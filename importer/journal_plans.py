"""A plan's two tables (``models.ROWS`` and ``models.PARTS``) stored in the journal as Arrow IPC
streams of a few MiB each, LZ4-compressed, and read back (schema version 3)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping

import pyarrow as pa
import pyarrow.ipc

from .models import PARTS, ROWS

#: The plan's two tables, by the name their chunks are stored under.
_PLAN_SCHEMAS: Mapping[str, pa.Schema] = {"rows": ROWS, "parts": PARTS}
#: Lines per stored chunk: a million-row plan is written and read a few MiB at a time.
_CHUNK_LINES = 65_536
#: LZ4 stores a plan in about a third of its size in memory at little cost in time (bench/bench_journal.py),
#: compressed on the calling thread: Arrow's worker threads compress into heaps of their own, which
#: kept about 40 MiB resident to the end of a 1M-row run after the plan was stored (and it is no slower).
_IPC_WRITE = pa.ipc.IpcWriteOptions(compression="lz4", use_threads=False)
#: Read back on the calling thread too: decompressed by worker threads, a 1M-row plan took 73 MiB
#: more (their heaps), kept after it was let go, and more CPU time.
_IPC_READ = pa.ipc.IpcReadOptions(use_threads=False)


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


def store_table(conn: sqlite3.Connection, run: int, part: str, table: pa.Table) -> None:
    table = _conform(table, _PLAN_SCHEMAS[part])
    conn.execute("DELETE FROM plan_chunks WHERE run = ? AND part = ?", (run, part))
    conn.executemany(
        "INSERT INTO plan_chunks (run, part, seq, data) VALUES (?, ?, ?, ?)",
        ((run, part, seq, data) for seq, data in enumerate(_ipc_chunks(table))),
    )


def load_table(conn: sqlite3.Connection, run: int, part: str) -> pa.Table:
    found = conn.execute("SELECT data FROM plan_chunks WHERE run = ? AND part = ? ORDER BY seq", (run, part))
    # in Arrow's default pool: the system allocator, once several times quicker at this (when a plan
    # held its states, files and ids as text), is no quicker with coded text and holds more
    # (bench/bench_journal.py, load_plan against load_plan/system-pool)
    tables = [pa.ipc.open_stream(data, options=_IPC_READ).read_all() for (data,) in found]
    # conformed: a plan stored by an earlier version holds its coded texts as plain text
    return _conform(pa.concat_tables(tables), _PLAN_SCHEMAS[part]) if tables else _PLAN_SCHEMAS[part].empty_table()
