"""A file far wider than any attendee export is refused before its cells are parsed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import xlsxwriter

from importer import loader
from importer.errors import InputError


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


def test_a_hundred_thousand_columns_are_refused(tmp_path: Path) -> None:
    header = ["Email", *(f"c{i}" for i in range(100_000))]
    src = _csv(tmp_path / "wide.csv", header, [["a@example.com", *([""] * 100_000)]])
    assert src.stat().st_size > 500_000
    with pytest.raises(InputError, match=r"has more than [\d,]+ columns.*at most 1,000"):
        loader.load(src)


def test_the_cli_says_so_and_exits_2(tmp_path: Path) -> None:
    header = ["Email", *(f"c{i}" for i in range(100_000))]
    src = _csv(tmp_path / "wide.csv", header, [["a@example.com", *([""] * 100_000)]])
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "importer", "inspect", str(src)], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 2, proc.stderr
    assert "columns" in proc.stderr and "attendee report" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert time.monotonic() - started < 60  # a bound against a hang, not a timing claim


def test_a_wide_line_far_below_the_top_is_refused(tmp_path: Path) -> None:
    rows = [[f"p{i}@example.com", "Yes"] for i in range(5000)]
    src = _csv(tmp_path / "late.csv", ["Email", "Attended"], rows)
    with src.open("a", encoding="utf-8") as fh:
        fh.write(",".join(["x"] * 1500) + "\n")
    assert src.stat().st_size > loader.SNIFF_BYTES
    with pytest.raises(InputError, match=r"has 1,500 columns"):
        loader.load(src)


def test_exactly_the_limit_is_read(tmp_path: Path) -> None:
    header = ["Email", *(f"c{i}" for i in range(loader.MAX_COLUMNS - 1))]
    src = _csv(tmp_path / "limit.csv", header, [["a@example.com", *(["v"] * (loader.MAX_COLUMNS - 1))]])
    sheet = loader.load(src)
    assert len(sheet.frame.columns) == loader.MAX_COLUMNS


def test_a_workbook_with_a_cell_past_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Attendees")
    ws.write_row(0, 0, ["Email", "Attended"])
    ws.write_row(1, 0, ["a@example.com", "Yes"])
    ws.write(1, 5000, "stray")
    wb.close()
    with pytest.raises(InputError, match=r"sheet 'Attendees'.*5,001 columns"):
        loader.load(path)
