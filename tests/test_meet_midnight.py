"""A Google Meet meeting that runs past midnight: which day each time of day is on, as the rows prove.

The placing itself (``mapper_days.place``) against meetings built with their true days; then the
report end to end through ``importer run`` against the sandbox, asserting the epoch ms HubSpot holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import test_layouts_e2e as layouts
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.cli import main
from importer.mapper_days import clock_seconds, iso_date, place
from importer.sandbox import DEFAULT_TOKEN, Sandbox

NY = "America/New_York"
DAY = 86_400
NAN = float("nan")


def test_clock_seconds_reads_the_times_meet_writes() -> None:
    got = clock_seconds(pd.Series(["1:58 PM", "12:05 AM", "12:30 PM", "23:59", "1:58:30 p.m.", "13:05 PM", "x", ""]))
    want = [13 * 3600 + 58 * 60, 300, 12 * 3600 + 1800, 23 * 3600 + 59 * 60, 13 * 3600 + 58 * 60 + 30]
    assert got[:5].tolist() == want
    assert np.isnan(got[5:]).all()  # 13 PM is no time; nor are text and an empty cell


@pytest.mark.parametrize(
    ("text", "want"),
    [("2024-11-21", "2024-11-21"), ("Nov 21, 2024", "2024-11-21"), ("21 November 2024", "2024-11-21"),
     ("21/11/2024", "2024-11-21"), ("11/21/2024", "2024-11-21"), ("05.05.2024", "2024-05-05"),
     ("05/11/2024", None), ("2024-02-30", None)],
)  # fmt: skip
def test_a_meeting_date_is_a_calendar_day_only_when_it_cannot_be_two(text: str, want: str | None) -> None:
    got = iso_date(text)
    assert (got.isoformat() if got else None) == want


def test_without_a_row_over_midnight_every_time_is_on_the_meeting_date() -> None:
    got = place(np.array([50_000.0, 51_000.0, 300.0]), np.array([52_000.0, 51_500.0, 900.0]))
    assert got.day.tolist() == [0, 0, 0] and not got.crossed.any() and got.conflict == ()


def test_a_row_over_midnight_places_the_rows_it_proves_and_leaves_the_rest_open() -> None:
    join = np.array([82_800.0, 84_000.0, 600.0, 54_000.0, 82_000.0, 1_000.0])
    leave = np.array([1_200.0, 85_000.0, 900.0, 55_800.0, 83_000.0, NAN])
    got = place(join, leave)
    # row 0 crossed; row 2 joined before row 0 left (after midnight); row 4 left after row 0 joined
    # (before midnight); row 5 has a join only, before the last exit after midnight; row 3 (3 PM) is open
    assert got.day.tolist() == [0, 0, 1, -1, 0, 1]
    assert got.crossed.tolist() == [True, False, False, False, False, False] and got.conflict == ()


def test_rows_that_cannot_be_one_meeting_of_24_hours_are_a_conflict() -> None:
    # two rows over midnight: one joined 1 AM (a day before the other left at 2 AM)
    got = place(np.array([82_800.0, 3_600.0]), np.array([7_200.0, 3_000.0]))
    assert got.conflict


def test_a_given_start_splits_the_day_and_refuses_a_row_it_would_turn_round() -> None:
    join, leave = np.array([82_500.0, 84_000.0, 600.0]), np.array([1_200.0, 85_000.0, 900.0])
    assert place(join, leave, start=82_500.0).day.tolist() == [0, 0, 1]
    assert place(join, leave, start=82_500.0).conflict == ()
    assert place(join, leave, start=82_800.0).conflict == (0,)  # row 0 joined before that start


@st.composite
def meetings(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """A meeting on day 0 of at most 24 hours, minutes only as Meet writes them, held by a chain of
    rows (someone is in it at every moment), plus rows anywhere inside it, some without an exit."""
    start = draw(st.integers(0, 1439)) * 60
    length = draw(st.integers(1, 1438) | st.integers(1380, 1438)) * 60  # near 24 hours too, at the edges
    cuts = sorted(draw(st.lists(st.integers(start + 1, start + length - 1), max_size=4, unique=True)))
    bounds = [start, *cuts, start + length]
    chain = [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
    inner = draw(st.lists(st.tuples(st.integers(0, length), st.integers(0, length)), max_size=8))
    rows = chain + [(start + min(a, b), start + max(a, b)) for a, b in inner]
    order = draw(st.permutations(range(len(rows))))
    real = np.array([rows[i] for i in order], dtype=float)
    no_exit = np.array([draw(st.booleans()) and rows[i] not in chain for i in order], dtype=bool)
    join, leave = real[:, 0] % DAY, np.where(no_exit, np.nan, real[:, 1] % DAY)
    return join, leave, (real[:, 0] // DAY).astype(int), real[:, 0], start + length >= DAY


@settings(max_examples=300, deadline=None)
@given(meetings())
def test_a_day_the_rows_give_is_always_the_true_day(m: tuple[np.ndarray, ...]) -> None:
    """Never a wrong day: a row is placed on its true day or left open (then the run asks)."""
    join, leave, true_day, real_join, crosses = m
    got = place(join, leave)
    assert got.conflict == ()
    placed = got.day != -1
    assert (got.day[placed] == true_day[placed]).all()
    assert got.crossed.any() == crosses  # the chain's row over midnight shows it, and nothing else can
    # the meeting's real start (its first join) given as --meeting-date's time places every row right
    at = place(join, leave, start=float(real_join.min() % DAY))
    assert at.conflict == () and (at.day == true_day).all()


# --- end to end -----------------------------------------------------------------------------------

LATE = (
    "First name,Last name,Email,Duration,Time joined,Time exited\n"
    "Ana,Silva,ana.silva@example.com,1 hr 25 min,10:55 PM,12:20 AM\n"  # over midnight: it ran past it
    "Tom,Lee,tom.lee@example.net,45 min,11:05 PM,11:50 PM\n"
    "Mei,Chen,mei.chen@example.net,20 min,12:05 AM,12:25 AM\n"  # after midnight: 2024-11-22
    "Jonas,Weber,jonas.weber@example.org,10 min,12:10 AM,12:20 AM\n"
)
PEOPLE = ["ana.silva@example.com", "tom.lee@example.net", "mei.chen@example.net", "jonas.weber@example.org",
          "odd.one@example.com"]  # fmt: skip


def _run(path: Path, tmp_path: Path, *extra: str) -> tuple[int, list, list]:
    with Sandbox(events={layouts.EVENT: {"startDateTime": layouts.EVENT_START}}) as box:
        box.add_contacts(PEOPLE)
        code = main(
            ["run", str(path), "--event", layouts.EVENT, "--report", str(tmp_path / "report.xlsx"),
             "--state-dir", str(tmp_path / "state"), "--base-url", box.base_url, "--timezone", NY, *extra],
            environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN},
        )  # fmt: skip
        return code, box.requests, box.participations(layouts.EVENT)


def _held(stored: list) -> set[tuple[str, str, int]]:
    return {(p["email"], p["state"], p["occurred_at"]) for p in stored}


def test_joins_after_midnight_land_on_the_next_day(tmp_path: Path) -> None:
    report = tmp_path / "2024-11-21 23-00 Late sync - Attendance Report.csv"
    report.write_text(LATE, encoding="utf-8")
    code, _, stored = _run(report, tmp_path)
    assert code == 0
    assert _held(stored) == {
        ("ana.silva@example.com", "attend", layouts.epoch_ms("2024-11-21 22:55", NY)),
        ("tom.lee@example.net", "attend", layouts.epoch_ms("2024-11-21 23:05", NY)),
        ("mei.chen@example.net", "attend", layouts.epoch_ms("2024-11-22 00:05", NY)),
        ("jonas.weber@example.org", "attend", layouts.epoch_ms("2024-11-22 00:10", NY)),
    }
    assert layouts.epoch_ms("2024-11-22 00:05", NY) == 1_732_251_900_000  # 05:05 UTC, worked by hand
    notes = str(layouts.summary_values(tmp_path / "report.xlsx")["file_1_notes"])
    assert "ran past midnight (row 2 joined 10:55 PM and left 12:20 AM the next day)" in notes
    assert "the times of rows 4, 5 are read on 2024-11-22" in notes


def test_a_row_the_file_cannot_place_stops_before_sending_and_the_start_flag_decides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "2024-11-21 23-00 Late sync - Attendance Report.csv"
    report.write_text(LATE + "Odd,One,odd.one@example.com,30 min,3:00 PM,3:30 PM\n", encoding="utf-8")
    code, requests, stored = _run(report, tmp_path)
    err = capsys.readouterr().err
    assert code == 2 and requests == [] and stored == []
    assert "row 6 (joined 3:00 PM, left 3:30 PM)" in err and "--meeting-date 2024-11-21T22:55" in err
    # a start after a join before midnight would turn that row round: refused, naming it, nothing sent
    code, requests, stored = _run(report, tmp_path, "--meeting-date", "2024-11-21T23:00")
    err = capsys.readouterr().err
    assert code == 2 and requests == [] and stored == []
    assert "row 2 (joined 10:55 PM, left 12:20 AM) would have left before it joined" in err
    code, _, stored = _run(report, tmp_path, "--meeting-date", "2024-11-21T22:55")
    assert code == 0
    held = _held(stored)
    assert ("odd.one@example.com", "attend", layouts.epoch_ms("2024-11-22 15:00", NY)) in held
    assert ("mei.chen@example.net", "attend", layouts.epoch_ms("2024-11-22 00:05", NY)) in held
    assert ("ana.silva@example.com", "attend", layouts.epoch_ms("2024-11-21 22:55", NY)) in held


def test_a_meeting_date_that_could_be_two_days_stops_when_a_time_is_on_the_next_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "attendance.csv"
    report.write_text("Meeting date,05/11/2024\n" + LATE, encoding="utf-8")
    code, requests, _ = _run(report, tmp_path)
    assert code == 2 and requests == []
    assert "which calendar day that date names is not certain" in capsys.readouterr().err
    code, _, stored = _run(report, tmp_path, "--meeting-date", "2024-05-11")
    assert code == 0
    assert ("mei.chen@example.net", "attend", layouts.epoch_ms("2024-05-12 00:05", NY)) in _held(stored)
