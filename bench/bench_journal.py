"""Benchmark: storing and reading back a large plan in the journal.

Run:  .venv/bin/python bench/bench_journal.py            (1,000,000 rows, about a minute)
      .venv/bin/python bench/bench_journal.py --rows N

A plan of N rows (``models.ROWS``: email, vid, state, time, two name columns) and N participations
(``models.PARTS``) is stored with ``Journal.begin``, read back with ``load_plan`` and stored again
with ``update_rows``, each in a fresh process: its time and the memory it takes on top of the
tables it was given (peak resident set above the start).  The bare baseline, measured in the same
run, writes the same two tables to one Arrow IPC file and reads them back, without SQLite.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from importer.journal import Journal  # noqa: E402
from importer.models import PARTS, ROWS  # noqa: E402

PHASES = ("bare-write", "bare-read", "begin", "load_plan", "load_plan/system-pool", "update_rows")


def _text(values: np.ndarray) -> pa.Array:
    """A string array from numpy text (pyarrow hands out a large one in chunks)."""
    out = pa.array(values, pa.string())
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def plan_tables(n: int) -> tuple[pa.Table, pa.Table]:
    """A plan as a mapper and chunker would make it: every row sendable, one participation each."""
    i = np.arange(n)
    emails = _text(np.char.add(np.char.add("person", np.char.zfill(i.astype(str), 7)), "@example.com"))
    when = pa.array(1_730_000_000_000 + i * 1000)
    vids = pa.array(1000 + i)
    rows_ = pa.array(i + 2)
    files = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), ["export.csv"]).cast(pa.string())
    attend = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), ["attend"]).cast(pa.string())
    names = pa.MapArray.from_arrays(
        pa.array(np.arange(0, 2 * n + 1, 2, dtype=np.int32)),
        _text(np.tile(["first_name", "last_name"], n)),
        _text(np.stack([np.char.add("First", i.astype(str)), np.char.add("Last", i.astype(str))], 1).ravel()),
    )
    given = {"file": files, "row": rows_, "email": emails, "vid": vids, "state": attend, "when_ms": when}
    given |= {"time_source": pa.array(["file"] * n), "created_contact": pa.array(np.zeros(n, dtype=bool))}
    given["extra"] = names
    rows = pa.table({f.name: given.get(f.name, pa.nulls(n, f.type)) for f in ROWS}, schema=ROWS)
    batch = np.char.add("attend-", np.char.zfill((i // 100).astype(str), 4))
    parts = pa.table(
        {
            "event_id": pa.array(["123456"] * n),
            "state": attend,
            "vid": vids,
            "email": emails,
            "when_ms": when,
            "file": files,
            "row": rows_,
            "batch_id": _text(batch),
        },
        schema=PARTS,
    )
    return rows, parts


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(phase: str, n: int, folder: Path) -> tuple[float, float]:
    """Seconds and MiB above the start for one phase (this process has just the tables)."""
    rows, parts = plan_tables(n)
    path = folder / "bare.arrows"
    run_id = ""
    if phase == "load_plan/system-pool":  # what the journal would take reading into the system allocator
        pa.set_memory_pool(pa.system_memory_pool())
    if phase.startswith("load_plan") or phase == "update_rows":
        with Journal.open(folder) as j:
            run_id = j.find_unfinished("bench") or ""
    if phase == "bare-read":
        del rows, parts
    start, peak, done = _rss(), [0], threading.Event()

    def watch() -> None:
        while not done.wait(0.002):  # a sample every 2 ms until the phase ends
            peak[0] = max(peak[0], _rss())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    if phase == "bare-write":
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, ROWS) as writer:
            writer.write_table(rows)
        with pa.OSFile(str(path) + "p", "wb") as sink, pa.ipc.new_stream(sink, PARTS) as writer:
            writer.write_table(parts)
    elif phase == "bare-read":
        got = [pa.ipc.open_stream(pa.OSFile(str(path) + s, "rb")).read_all() for s in ("", "p")]
        assert got[0].num_rows == n
    elif phase == "begin":
        with Journal.open(folder) as j:
            j.begin("bench", {}, plan=(rows, parts))
    elif phase.startswith("load_plan"):
        with Journal.open(folder) as j:
            back = j.load_plan(run_id)
        assert back[0].num_rows == n and back[1].num_rows == n
    else:
        with Journal.open(folder) as j:
            j.update_rows(run_id, rows)
    seconds = time.perf_counter() - t0
    done.set()
    watcher.join()
    return seconds, (max(peak[0], _rss()) - start) / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        seconds, mib = measure(args.phase, args.rows, Path(args.folder))
        print(f"{seconds} {mib}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        got: dict[str, tuple[float, float]] = {}
        for phase in PHASES:
            cmd = [sys.executable, __file__, "--rows", str(args.rows), "--phase", phase, "--folder", tmp]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
            got[phase] = (float(out[0]), float(out[1]))
        db = sum(p.stat().st_size for p in Path(tmp).glob("journal.sqlite3*"))
        bare = sum(p.stat().st_size for p in Path(tmp).glob("bare.arrows*"))
    print(f"plan of {args.rows:,} rows and {args.rows:,} participations")
    write, read = got["bare-write"][0], got["bare-read"][0]
    for phase, (seconds, mib) in got.items():
        base = read if "read" in phase or "load" in phase else write
        print(
            f"  {phase:22} {seconds:6.2f} s  {seconds / base:5.1f}x the bare {'read' if base == read else 'write'}"
            f"  +{mib:4.0f} MiB"
        )
    print(f"  journal {db / 2**20:.0f} MiB on disk (bare IPC files {bare / 2**20:.0f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
