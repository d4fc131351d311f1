"""Benchmark: the loader alone on 100,000-row workbooks, against pandas + calamine reading the same file,
and on bench_import's 1,000,000-row CSV, against pandas + pyarrow reading it.

Run:  .venv/bin/python bench/bench_loader.py          (about a minute)
      .venv/bin/python bench/bench_loader.py --quick  (20,000 rows, a CSV of 200,000)

Three workbooks: 4 text columns and 15 text columns (as bench_import's dry runs), and 5 columns whose
cells are typed as Excel types them (numbers, date-times, a fractional number).  For each, the best of
three CPU times of ``loader.load`` and of ``pandas.read_excel(engine="calamine", dtype=str)`` in this
process (CPU time, so other work on the machine does not decide the ratio), and the ratio; the CSV
likewise against ``pandas.read_csv(engine="pyarrow", dtype=str)`` (both parse on every core, and CPU
time counts every thread).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_import import big_csv, export_shaped  # noqa: E402

from importer import loader  # noqa: E402

REPEATS = 3


def typed(n: int) -> pd.DataFrame:
    """Cells as Excel stores them: a number id, date-times, a fractional duration."""
    ids = pd.RangeIndex(n)
    return pd.DataFrame(
        {
            "Email": "user" + ids.astype(str) + "@example.com",
            "Record ID": np.arange(n) + 1000,
            "First Name": "First" + ids.astype(str),
            "Join Time": pd.Timestamp("2024-11-05 15:00:00") + pd.to_timedelta(ids % 3600, unit="s"),
            "Minutes": ids % 90 + 0.5,
        }
    )


def best(work: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20,000 rows")
    quick = parser.parse_args().quick
    rows = 20_000 if quick else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        csv_rows = 200_000 if quick else 1_000_000
        big_csv(work / "big.csv", csv_rows)
        bare = best(lambda: pd.read_csv(work / "big.csv", engine="pyarrow", dtype=str))
        took = best(lambda: loader.load(work / "big.csv"))
        print(
            f"load CSV  ({'4 text columns':<15}) rows {csv_rows:>7}  cpu {took:5.2f} s  "
            f"(pandas+pyarrow read {bare:.2f} s: {took / bare:.2f}x)"
        )
        big_csv(work / "narrow.csv", rows)
        books = {
            "4 text columns": pd.read_csv(work / "narrow.csv", dtype=str),
            "15 text columns": export_shaped(rows),
            "5 typed columns": typed(rows),
        }
        for label, frame in books.items():
            path = work / f"{label.replace(' ', '_')}.xlsx"
            frame.to_excel(path, index=False, engine="xlsxwriter")
            bare = best(lambda: pd.read_excel(path, engine="calamine", dtype=str))  # noqa: B023
            took = best(lambda: loader.load(path))  # noqa: B023
            print(
                f"load XLSX ({label:<15}) rows {rows:>7}  cpu {took:5.2f} s  "
                f"(pandas+calamine read {bare:.2f} s: {took / bare:.2f}x)"
            )
    print(f"(CPU times: the best of {REPEATS} in this process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
