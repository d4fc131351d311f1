"""Benchmark: merge, chunk and settle of a 1,000,000-row file, before and after the table core.

Run:  .venv/bin/python bench/bench_core.py               (1,000,000 rows, about two minutes)
      .venv/bin/python bench/bench_core.py --rows 100000 (a smoke check)
      .venv/bin/python bench/bench_core.py --before REV  (the Row-object version to compare with)

Each measurement is a fresh process.  The baseline is a bare ``pandas.read_csv(engine="pyarrow")``
of the same CSV (Email, Record ID, First Name, Join Time), timed and measured the same way.  Then,
for the version before (``--before``, by default the commit before ``importer/settle.py`` was added,
checked out with ``git archive``) and for this checkout, the rows are built untimed (Row objects
before, a ROWS table after), and merge + chunk and settle against an answer for every batch are
timed (what a dry run spends there), and apart from them the walk over every batch's objects that
sending adds (the Row-object version built those in its merge); the peak is the memory they add over
what the rows already held (the kernel's high-water mark reset after the setup), and the whole
process's peak.  Every figure is printed as a ratio to the bare read.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 3

PROBE = Path(__file__).with_name("core_probe.py")


def measure(mode: str, csv: Path, path: Path | None = None) -> dict[str, float]:
    """The best time of ``REPEATS`` fresh processes and their highest memory figures."""
    env = {"PYTHONPATH": str(path or ROOT), "PATH": "/usr/bin:/bin"}
    best: dict[str, float] = {}
    for _ in range(REPEATS):
        cmd = [sys.executable, str(PROBE), mode, str(csv)]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if out.returncode:
            raise SystemExit(out.stderr[-3000:])
        for key, value in json.loads(out.stdout.strip().splitlines()[-1]).items():
            keep = min if key in ("time", "merge_chunk", "walk", "settle") else max
            best[key] = keep(best.get(key, value), value)
    return best


def before_rev() -> str:
    added = subprocess.run(
        ["git", "-C", str(ROOT), "log", "--diff-filter=A", "--format=%H", "--", "importer/settle.py"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return f"{added[-1]}~1" if added else "HEAD"


def checkout(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "importer"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def big_csv(path: Path, n: int) -> None:
    import pandas as pd

    ids = pd.RangeIndex(n)
    frame = pd.DataFrame(
        {
            "Email": "user" + ids.astype(str) + "@example.com",
            "Record ID": (ids + 1000).astype(str),
            "First Name": "First" + ids.astype(str),
            "Join Time": "2024-11-05 15:" + (ids % 60).astype(str).str.zfill(2) + ":00",
        }
    )
    frame.to_csv(path, index=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--before", default=None, help="the git revision to compare with")
    args = parser.parse_args()
    rev = args.before or before_rev()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = work / "big.csv"
        big_csv(src, args.rows)
        bare = measure("bare", src)
        old = measure("plan", src, checkout(rev, work))
        new = measure("plan", src)
    print(f"rows {args.rows:,}; the best time of {REPEATS} fresh processes, the highest memory")
    label = "bare pandas.read_csv(engine=pyarrow)"
    print(f"{label:<40} {bare['time']:6.2f} s  adds {bare['added']:7.1f} MiB  peak {bare['peak']:7.1f} MiB")
    for label, got in ((f"before ({rev}): Row objects", old), ("after: tables", new)):
        print(
            f"{label:<40} {got['time']:6.2f} s = {got['time'] / bare['time']:5.2f}x the read "
            f"(merge+chunk {got['merge_chunk']:.2f} s, settle {got['settle']:.2f} s; "
            f"walking the batches {got['walk']:.2f} s = {got['walk'] / bare['time']:.2f}x)  "
            f"adds {got['added']:7.1f} MiB = {got['added'] / bare['added']:4.2f}x  "
            f"peak {got['peak']:7.1f} MiB = {got['peak'] / bare['peak']:4.2f}x"
        )
    print(f"after/before: time {new['time'] / old['time']:.2f}x, added memory {new['added'] / old['added']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
