"""Crash and resume, end to end: the job runs as a real process against the sandbox and is killed.

The sandbox lives in this test process (slowed by latency and a tight rate limit, so a run takes a
couple of seconds); the job that gets killed is ``python -m importer run ...`` in a subprocess, the
runs after it go through the same CLI entry point in this process (no interpreter start-up).  After
a SIGKILL partway, running the same command again must leave every contact recorded exactly once,
except the batches that were in flight when the process died (HubSpot applied them, the journal never
heard the answer), and a third run must send nothing.  SIGTERM/SIGINT stop cleanly with exit 3, the
daily limit stops with exit 3 and resumes the next day (by re-running or by ``importer retry``), and
a second run on the same state folder is refused.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from importer.cli import main
from importer.reporter import read_report
from importer.sandbox import DEFAULT_TOKEN, Fault, Sandbox

EVENT = "1001"
ROWS = 500
BATCH = 50
CONCURRENCY = 2
WHEN = "2024-11-05T15:00:00Z"
ROOT = Path(__file__).resolve().parents[1]
ATTEND = "/attendance/"


def emails(n: int = ROWS) -> list[str]:
    return [f"guest{i:04d}@example.com" for i in range(n)]


#: Fixed contact ids, so a second sandbox (the next day) knows the same people by the same vids.
CONTACTS = {e: 50_000 + i for i, e in enumerate(emails())}


def write_attendees(folder: Path, n: int = ROWS) -> Path:
    src = folder / "attendees.csv"
    src.write_text("Email,Join Time\n" + "".join(f"{e},{WHEN}\n" for e in emails(n)), encoding="utf-8")
    return src


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run, in a subprocess or in this process, starts in the same folder as the user would."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def box() -> Iterator[Sandbox]:
    """About ten requests a second with 0.2 s per answer: a 500-row run takes a couple of seconds."""
    sb = Sandbox(events=[EVENT], contacts=CONTACTS, latency_s=0.2, rate_limit_max=10, rate_limit_interval_ms=1000)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


def args(src: Path, base_url: str, folder: Path, report: str) -> list[str]:
    return [
        "run", str(src), "--event", EVENT, "--base-url", base_url, "--state-dir", str(folder / "state"),
        "--report", str(folder / report), "--concurrency", str(CONCURRENCY), "--batch-size", str(BATCH),
    ]  # fmt: skip


#: The token, and the sandbox's pace so the client keeps to it instead of bouncing off 429s.
SETTINGS = {
    "HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN,
    "IMPORTER_RATE_LIMIT_MAX": "10",
    "IMPORTER_RATE_LIMIT_INTERVAL_MS": "1000",
}


def child_env() -> dict[str, str]:
    """The user's environment without any HubSpot/importer setting, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOT_", "IMPORTER_"))}
    return {**env, **SETTINGS, "PYTHONPATH": str(ROOT)}


def start(argv: Sequence[str], folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "importer", *argv],
        cwd=folder,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def again(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the same command again, in this process (the CLI entry point, minus interpreter start-up)."""
    capsys.readouterr()
    code = main(list(argv), environ=dict(SETTINGS))
    return code, capsys.readouterr().err


def held(sb: Sandbox) -> set[str]:
    return {p["email"] for p in sb.participations(EVENT) if p["state"] == "attend"}


def attendance_requests(sb: Sandbox) -> int:
    return sum(1 for r in sb.requests if ATTEND in r.path)


def wait_until_partway(sb: Sandbox, proc: subprocess.Popen[str], at_least: int = BATCH) -> None:
    """Block until the job has recorded some rows (but the run is far from done)."""
    deadline = time.monotonic() + 30
    while len(held(sb)) < at_least:
        assert proc.poll() is None, f"the job ended early: {proc.communicate()}"
        assert time.monotonic() < deadline, "the job recorded nothing within 30 s"
        time.sleep(0.01)


def report_by_email(path: Path) -> dict[str, dict[str, str]]:
    """Every input row exactly once, keyed by email."""
    _, rows = read_report(path)
    numbers = Counter(int(r["source_row"]) for r in rows)
    assert sorted(numbers) == list(range(2, ROWS + 2)) and max(numbers.values()) == 1
    return {r["email"]: r for r in rows}


def assert_once_but_in_flight(sb: Sandbox) -> None:
    """Every contact held; written once, except at most the batches in flight at the kill."""
    assert held(sb) == set(emails())
    counts = sb.write_counts(EVENT)
    assert len(counts) == ROWS
    assert max(counts.values()) <= 2
    assert sum(1 for c in counts.values() if c == 2) <= CONCURRENCY * BATCH


def assert_third_run_sends_nothing(sb: Sandbox, tmp_path: Path, src: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before, counts = attendance_requests(sb), sb.write_counts(EVENT)
    code, err = again(args(src, sb.base_url, tmp_path, "third.xlsx"), capsys)
    assert code == 0, err
    assert attendance_requests(sb) == before
    assert sb.write_counts(EVENT) == counts
    rows = report_by_email(tmp_path / "third.xlsx")
    assert {r["outcome"] for r in rows.values()} <= {"skipped", "recorded"}
    assert all(r["reason"] == "already_recorded" for r in rows.values() if r["outcome"] == "skipped")


def test_sigkill_partway_then_rerun_records_each_row_once(
    box: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_attendees(tmp_path)
    first = start(args(src, box.base_url, tmp_path, "first.xlsx"), tmp_path)
    wait_until_partway(box, first)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=10)
    assert first.returncode == -signal.SIGKILL
    assert 0 < len(held(box)) < ROWS

    code, err = again(args(src, box.base_url, tmp_path, "second.xlsx"), capsys)
    assert code == 0, err
    assert "resuming" in err
    rows = report_by_email(tmp_path / "second.xlsx")
    assert {r["outcome"] for r in rows.values()} == {"recorded"}
    assert_once_but_in_flight(box)

    assert_third_run_sends_nothing(box, tmp_path, src, capsys)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_stop_cleanly_with_exit_3_and_a_rerun_completes(
    signum: signal.Signals, box: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_attendees(tmp_path)
    first = start(args(src, box.base_url, tmp_path, "first.xlsx"), tmp_path)
    wait_until_partway(box, first)
    first.send_signal(signum)
    out, err = first.communicate(timeout=20)
    assert first.returncode == 3, err
    assert "Traceback" not in err
    assert "again" in (out + err)
    rows = report_by_email(tmp_path / "first.xlsx")
    recorded = {e for e, r in rows.items() if r["outcome"] == "recorded"}
    assert recorded == held(box), "a clean stop records the answers of the batches in flight"
    assert 0 < len(recorded) < ROWS
    assert {r["reason"] for r in rows.values() if r["outcome"] != "recorded"} == {"interrupted"}

    code, err = again(args(src, box.base_url, tmp_path, "second.xlsx"), capsys)
    assert code == 0, err
    assert {r["outcome"] for r in report_by_email(tmp_path / "second.xlsx").values()} == {"recorded"}
    assert held(box) == set(emails())
    assert set(box.write_counts(EVENT).values()) == {1}


def first_stops_on_daily_limit(box: Sandbox, src: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """HubSpot says the daily limit is used up after four write batches: exit 3, the rest reported left."""
    box.inject(Fault("daily", ATTEND, after=4))
    first = main(args(src, box.base_url, tmp_path, "first.xlsx"), environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN})
    out = capsys.readouterr()
    assert first == 3
    rows = report_by_email(tmp_path / "first.xlsx")
    left = [r for r in rows.values() if r["outcome"] != "recorded"]
    assert 0 < len(left) < ROWS
    assert "daily" in out.err.lower() and "again" in out.err
    assert f"{len(left)} rows" in out.out
    assert {(r["outcome"], r["reason"]) for r in left} == {("failed", "daily_limit")}
    assert all("again" in r["message"] for r in left)
    assert {e for e, r in rows.items() if r["outcome"] == "recorded"} == held(box)


def test_daily_limit_stops_with_exit_3_and_resumes_once_it_is_lifted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_attendees(tmp_path)
    with Sandbox(events=[EVENT], contacts=CONTACTS) as box:
        first_stops_on_daily_limit(box, src, tmp_path, capsys)
        second = main(args(src, box.base_url, tmp_path, "second.xlsx"), environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN})
        assert second == 0, capsys.readouterr().err
        assert {r["outcome"] for r in report_by_email(tmp_path / "second.xlsx").values()} == {"recorded"}
        assert held(box) == set(emails())
        assert set(box.write_counts(EVENT).values()) == {1}


def test_retry_after_a_stop_then_the_same_run_again_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report says "run importer retry REPORT tomorrow"; whoever then also runs the same command
    (a scheduled job, a colleague) must not send those rows a second time."""
    src = write_attendees(tmp_path)
    env = {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN}
    with Sandbox(events=[EVENT], contacts=CONTACTS) as box:
        first_stops_on_daily_limit(box, src, tmp_path, capsys)
        retried = main(
            ["retry", str(tmp_path / "first.xlsx"), "--base-url", box.base_url, "--state-dir", str(tmp_path / "state")],
            environ=env,
        )
        assert retried == 0, capsys.readouterr().err
        assert {r["outcome"] for r in report_by_email(tmp_path / "first.xlsx").values()} == {"recorded"}
        assert held(box) == set(emails())
        before = attendance_requests(box)
        third = main(args(src, box.base_url, tmp_path, "third.xlsx"), environ=env)
        assert third == 0, capsys.readouterr().err
        assert attendance_requests(box) == before
        assert set(box.write_counts(EVENT).values()) == {1}


@pytest.mark.parametrize("daily_headers", [True, False], ids=["daily headers", "no daily headers (OAuth)"])
def test_daily_budget_used_up_then_the_next_day_records_exactly_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], daily_headers: bool
) -> None:
    """A real daily budget of 12 requests: the event read, 5 lookups and 6 write batches.  The next
    day is a fresh sandbox on the same address that knows the same contacts by the same ids.

    With the daily headers the importer stops before the budget is gone; without them (HubSpot
    sends none for OAuth tokens) HubSpot's 429 DAILY stops it, with the same report and resume."""
    src = write_attendees(tmp_path)
    env = {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN}
    day1 = Sandbox(events=[EVENT], contacts=CONTACTS, daily_limit=12, daily_headers=daily_headers)
    url = day1.start()
    try:
        first = main(args(src, url, tmp_path, "first.xlsx"), environ=env)
        first_held = held(day1)
        first_counts = day1.write_counts(EVENT)
        refused = [r.status for r in day1.requests if r.status == 429]
    finally:
        day1.stop()
    if not daily_headers:
        assert refused, "without the headers only HubSpot's 429 DAILY can have stopped the run"
    out = capsys.readouterr()
    assert first == 3
    assert "daily" in out.err.lower()
    rows = report_by_email(tmp_path / "first.xlsx")
    assert {e for e, r in rows.items() if r["outcome"] == "recorded"} == first_held
    assert {r["reason"] for r in rows.values() if r["outcome"] != "recorded"} == {"daily_limit"}
    assert len(first_held) == 6 * BATCH

    port = int(url.rsplit(":", 1)[1])
    day2 = Sandbox(events=[EVENT], contacts=CONTACTS, port=port)
    day2.start()
    try:
        second = main(args(src, day2.base_url, tmp_path, "second.xlsx"), environ=env)
        second_held = held(day2)
        second_counts = day2.write_counts(EVENT)
    finally:
        day2.stop()
    assert second == 0, capsys.readouterr().err
    assert first_held.isdisjoint(second_held)
    assert first_held | second_held == set(emails())
    assert set(first_counts.values()) == set(second_counts.values()) == {1}
    assert {r["outcome"] for r in report_by_email(tmp_path / "second.xlsx").values()} == {"recorded"}


def test_a_second_run_on_the_same_state_folder_is_refused_with_exit_3(
    box: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_attendees(tmp_path)
    first = start(args(src, box.base_url, tmp_path, "first.xlsx"), tmp_path)
    wait_until_partway(box, first)
    code = main(args(src, box.base_url, tmp_path, "second.xlsx"), environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN})
    err = capsys.readouterr().err
    assert code == 3
    assert "Another import is running" in err and "Traceback" not in err
    assert not (tmp_path / "second.xlsx").exists()
    out, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    assert held(box) == set(emails())
    assert set(box.write_counts(EVENT).values()) == {1}
