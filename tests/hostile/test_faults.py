"""A whole run against the sandbox while it misbehaves: nothing is ever lost, nothing hangs.

Each case injects one kind of trouble (5xx bursts, dropped connections, read timeouts, 429s with
and without headers, a token revoked mid-run, the daily limit, 200s that cannot be read), runs the
pipeline over real HTTP, and checks the promise of the issue: every input row is in the report
exactly once, the rows the report calls recorded are exactly those HubSpot holds, the others are
``failed`` with the reason, the exit code follows the contract, retries stay within the configured
attempts and time, and a second run once the trouble is gone records what the first could not.

Sleeps and the retry clock are a fake (``fake_time``), so nothing really waits; only the read
timeout cases wait for real, half a second at a time.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from importer import config, pipeline
from importer.config import DEFAULT_API_VERSION
from importer.hubspot_paths import ApiPaths
from importer.hubspot_retry import BACKOFF_CAP_S
from importer.reporter import read_report
from importer.sandbox import ALL_SCOPES, DEFAULT_TOKEN, Fault, Sandbox

EVENT = "1001"
ROWS = 250
ATTEND = "/attendance/"
LOOKUP = "/contacts/batch/read"
EVENT_GET = ApiPaths(DEFAULT_API_VERSION).event(EVENT)
ATTEMPTS = 4
BUDGET_S = 120.0
WHEN = "2024-11-05T15:00:00Z"
RUN_LIMIT_S = 30.0


def emails(n: int = ROWS) -> list[str]:
    return [f"person{i:04d}@example.com" for i in range(n)]


def write_attendees(folder: Path, n: int = ROWS) -> Path:
    """A generic export: Email plus a Join Time with an explicit Z, one row per person."""
    src = folder / "attendees.csv"
    src.write_text("Email,Join Time\n" + "".join(f"{e},{WHEN}\n" for e in emails(n)), encoding="utf-8")
    return src


def make_config(tmp_path: Path, sb: Sandbox, src: Path, token: str = DEFAULT_TOKEN, **over: Any) -> config.Config:
    flags: dict[str, Any] = {
        "inputs": (str(src),),
        "event_id": EVENT,
        "base_url": sb.base_url,
        "state_dir": str(tmp_path / "state"),
        "report": str(tmp_path / "report.csv"),
        "concurrency": 1,
        "retry_attempts": ATTEMPTS,
        "retry_max_seconds": BUDGET_S,
    }
    flags.update(over)
    return config.build(flags, environ={"HUBSPOT_ACCESS_TOKEN": token})


def run_bounded(cfg: config.Config, svc: pipeline.Services) -> pipeline.RunResult:
    """Run the pipeline in a thread so that a hang fails the test instead of freezing the suite."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = pipeline.run(cfg, svc)
        except BaseException as exc:  # handed to the test thread below
            box["error"] = exc

    worker = threading.Thread(target=target, name="run-under-test", daemon=True)
    worker.start()
    worker.join(RUN_LIMIT_S)
    assert not worker.is_alive(), f"the run did not finish within {RUN_LIMIT_S} s"
    if "error" in box:
        raise box["error"]
    result: pipeline.RunResult = box["result"]
    return result


def report_rows(path: Path, n: int = ROWS) -> dict[str, dict[str, str]]:
    """The report's rows by email, after checking every input row is there exactly once."""
    _, rows = read_report(path)
    numbers = Counter(int(r["source_row"]) for r in rows)
    assert sorted(numbers) == list(range(2, n + 2)), "some input rows are missing from the report"
    assert max(numbers.values()) == 1, "some input row is in the report twice"
    by_email = {r["email"]: r for r in rows}
    assert set(by_email) == set(emails(n))
    return by_email


def held(sb: Sandbox) -> set[str]:
    """Emails HubSpot (the sandbox) holds an attend participation for."""
    return {p["email"] for p in sb.participations(EVENT) if p["state"] == "attend"}


def writes(sb: Sandbox) -> list[Any]:
    return [r for r in sb.requests if ATTEND in r.path]


def check_accounted(rows: dict[str, dict[str, str]], sb: Sandbox, ambiguous: frozenset[str] = frozenset()) -> None:
    """Recorded rows are exactly what the sandbox holds; every other row failed with a reason and a message.

    Rows failed for a reason in ``ambiguous`` (the server applied the write but its answer never
    arrived) may be held by the sandbox too: the client cannot know.
    """
    recorded = {e for e, r in rows.items() if r["outcome"] == "recorded"}
    failed = {e: r for e, r in rows.items() if r["outcome"] != "recorded"}
    assert all(r["outcome"] == "failed" and r["reason"] and r["message"] for r in failed.values())
    hold = held(sb)
    assert recorded <= hold
    extra = hold - recorded
    assert all(failed[e]["reason"] in ambiguous for e in extra), "the sandbox holds rows the report calls failed"
    assert all(rows[e]["vid"] for e in recorded)


@dataclass(frozen=True)
class Case:
    """One fault scenario and what the run must make of it."""

    faults: tuple[Fault, ...]
    exit_code: int = 0
    failed: int = 0
    reason: str = ""
    attend_requests: int | None = None
    max_writes: int = 1
    sleeps: tuple[float, ...] | None = None
    ambiguous: frozenset[str] = frozenset()
    options: dict[str, Any] = field(default_factory=dict)
    rerun: bool = False
    tries: int = ATTEMPTS


TRANSIENT = {
    "5xx burst (500, 502 HTML, 504)": Case(
        (
            Fault("status", ATTEND, status=500),
            Fault("status", ATTEND, status=502),
            Fault("status", ATTEND, status=504),
        ),
        attend_requests=6,
        rerun=True,
    ),
    "5xx burst across concurrent batches": Case(
        (Fault("status", ATTEND, times=3, status=503),), attend_requests=6, options={"concurrency": 4}
    ),
    "503 burst": Case((Fault("status", ATTEND, times=ATTEMPTS - 1, status=503),), attend_requests=2 + ATTEMPTS),
    "disconnect without answer": Case((Fault("disconnect", ATTEND, times=2),), attend_requests=5),
    "disconnect mid-response": Case((Fault("disconnect_mid", ATTEND),), attend_requests=4, max_writes=2, rerun=True),
    "read timeout": Case(
        (Fault("slow", ATTEND, delay_s=2.0),), attend_requests=4, max_writes=2, options={"read_timeout_s": 0.5}
    ),
    "slow answers within the timeout": Case(
        (Fault("slow", ATTEND, times=3, delay_s=0.1),), attend_requests=3, options={"read_timeout_s": 1.0}
    ),
    "429 without any header": Case((Fault("rate_limit", ATTEND, times=2),), attend_requests=5, sleeps=(10.0, 10.0)),
    "429 with Retry-After": Case(
        (Fault("rate_limit_retry_after", ATTEND, times=2, retry_after=3),), attend_requests=5, sleeps=(3.0, 3.0)
    ),
    "200 that is not JSON": Case((Fault("bad_json", ATTEND, times=2),), attend_requests=5),
    "200 without results": Case((Fault("no_results", ATTEND),), attend_requests=4, max_writes=2, rerun=True),
    "lookup 5xx burst": Case((Fault("status", LOOKUP, times=2, status=503),), attend_requests=3),
    "event read 502 burst": Case((Fault("status", EVENT_GET, times=2, status=502),), attend_requests=3),
}

PERSISTENT = {
    "5xx outlasting the attempts": Case(
        (Fault("status", ATTEND, times=ATTEMPTS, status=503),),
        exit_code=1,
        failed=100,
        reason="http_5xx",
        attend_requests=ATTEMPTS + 2,
    ),
    "connection dropped every time": Case(
        (Fault("disconnect", ATTEND, times=ATTEMPTS),),
        exit_code=1,
        failed=100,
        reason="network_error",
        attend_requests=ATTEMPTS + 2,
    ),
    "429 without headers every time": Case(
        (Fault("rate_limit", ATTEND, times=ATTEMPTS),),
        exit_code=1,
        failed=100,
        reason="http_429",
        attend_requests=ATTEMPTS + 2,
    ),
    "200 not JSON every time": Case(
        (Fault("bad_json", ATTEND, times=ATTEMPTS),),
        exit_code=1,
        failed=100,
        reason="bad_response",
        attend_requests=ATTEMPTS + 2,
    ),
    "read timeout with a single attempt": Case(
        (Fault("slow", ATTEND, delay_s=2.0),),
        exit_code=1,
        failed=100,
        reason="timeout",
        attend_requests=3,
        tries=1,
        ambiguous=frozenset({"timeout"}),
        options={"read_timeout_s": 0.5, "retry_attempts": 1},
    ),
    # Retry-After 50 s against a 120 s budget: the third wait would overrun it, so the batch gives
    # up after 3 attempts although 6 are allowed.
    "Retry-After beyond the time budget": Case(
        (Fault("rate_limit_retry_after", ATTEND, times=3, retry_after=50),),
        exit_code=1,
        failed=100,
        reason="http_429",
        attend_requests=5,
        tries=3,
        sleeps=(50.0, 50.0, 50.0),  # two retry waits, then the next batch waits out the last Retry-After
        options={"retry_attempts": 6},
    ),
}


def assert_sleeps_bounded(case: Case, cfg: config.Config, slept: list[float], requests: int) -> None:
    """Each wait is a backoff (capped) or what HubSpot asked for; all of them fit the budgets."""
    asked = [f.retry_after for f in case.faults if f.retry_after is not None] + [10.0]
    assert all(0 <= s <= max(BACKOFF_CAP_S, *asked) for s in slept)
    assert len(slept) <= requests
    assert sum(slept) <= cfg.retry_max_seconds * 3 + max(asked)


def first_run(case: Case, tmp_path: Path, fake_time: Any, sb: Sandbox) -> tuple[config.Config, Path]:
    src = write_attendees(tmp_path)
    sb.add_contacts(emails())
    cfg = make_config(tmp_path, sb, src, **case.options)
    for fault in case.faults:
        sb.inject(fault)
    result = run_bounded(cfg, pipeline.Services(sleep=fake_time.sleep, clock=fake_time.clock, cwd=tmp_path))
    assert result.exit_code == case.exit_code
    rows = report_rows(Path(cfg.report or ""))
    check_accounted(rows, sb, case.ambiguous)
    failed = [r for r in rows.values() if r["outcome"] == "failed"]
    assert len(failed) == case.failed
    assert {r["reason"] for r in failed} <= {case.reason}
    if case.attend_requests is not None:
        assert len(writes(sb)) == case.attend_requests
    assert max(sb.write_counts(EVENT).values()) <= case.max_writes
    if case.sleeps is not None:
        assert sorted(s for s in fake_time.slept if s > 0) == sorted(case.sleeps)
    assert_sleeps_bounded(case, cfg, fake_time.slept, len(sb.requests))
    return cfg, src


def second_run(cfg: config.Config, sb: Sandbox, fake_time: Any, tmp_path: Path, first_failed: int) -> None:
    """The trouble is gone: a re-run records what the first could not and re-sends nothing else."""
    before = len(writes(sb))
    report = tmp_path / "report-2.csv"
    result = run_bounded(
        replace(cfg, report=str(report)),
        pipeline.Services(sleep=fake_time.sleep, clock=fake_time.clock, cwd=tmp_path),
    )
    assert result.exit_code == 0
    rows = report_rows(report)
    assert {r["outcome"] for r in rows.values()} <= {"recorded", "skipped"}
    assert all(r["reason"] == "already_recorded" for r in rows.values() if r["outcome"] == "skipped")
    assert held(sb) == set(emails())
    sent = sum(r.inputs for r in writes(sb)[before:])
    assert sent == first_failed
    assert max(sb.write_counts(EVENT).values()) <= 2


@pytest.mark.parametrize("name", list(TRANSIENT))
def test_transient_trouble_is_retried_and_every_row_lands(name: str, tmp_path: Path, fake_time: Any) -> None:
    case = TRANSIENT[name]
    with Sandbox(events=[EVENT]) as sb:
        cfg, _ = first_run(case, tmp_path, fake_time, sb)
        assert held(sb) == set(emails())
        if case.rerun:
            second_run(cfg, sb, fake_time, tmp_path, first_failed=0)


@pytest.mark.parametrize("name", list(PERSISTENT))
def test_lasting_trouble_fails_rows_with_the_reason_and_a_rerun_records_them(
    name: str, tmp_path: Path, fake_time: Any
) -> None:
    case = PERSISTENT[name]
    with Sandbox(events=[EVENT]) as sb:
        cfg, _ = first_run(case, tmp_path, fake_time, sb)
        rows = report_rows(Path(cfg.report or ""))
        told = f"after {case.tries} attempt"
        assert all(told in r["message"].lower() for r in rows.values() if r["outcome"] == "failed")
        assert len(held(sb)) == ROWS - case.failed + (case.failed if case.ambiguous else 0)
        second_run(cfg, sb, fake_time, tmp_path, first_failed=case.failed)


def test_token_revoked_mid_run_stops_with_exit_3_and_a_new_token_resumes(tmp_path: Path, fake_time: Any) -> None:
    old, new = "pat-na1-old-0000-revoked", "pat-na1-new-1111-fresh"
    with Sandbox(events=[EVENT], tokens={old: ALL_SCOPES, new: ALL_SCOPES}) as sb:
        src = write_attendees(tmp_path)
        sb.add_contacts(emails())
        cfg = make_config(tmp_path, sb, src, token=old)

        def revoke_after_first(done: int, total: int, *contacts: int) -> None:
            if done == 1:
                sb.revoke(old)

        svc = pipeline.Services(sleep=fake_time.sleep, clock=fake_time.clock, cwd=tmp_path, progress=revoke_after_first)
        result = run_bounded(cfg, svc)
        assert result.exit_code == 3
        assert result.stopped is not None and result.stopped.reason == "token_rejected"
        assert "HUBSPOT_ACCESS_TOKEN" in str(result.stopped)
        rows = report_rows(Path(cfg.report or ""))
        check_accounted(rows, sb)
        failed = [r for r in rows.values() if r["outcome"] == "failed"]
        assert len(failed) == ROWS - 100 and {r["reason"] for r in failed} == {"token_rejected"}
        assert all(old not in r["message"] for r in rows.values())
        assert len([r for r in writes(sb) if r.token_ok]) == 1  # one 401, then no further write is tried
        assert len(writes(sb)) == 2

        resumed = run_bounded(
            make_config(tmp_path, sb, src, token=new, report=str(tmp_path / "report-2.csv")),
            pipeline.Services(sleep=fake_time.sleep, clock=fake_time.clock, cwd=tmp_path),
        )
        assert resumed.exit_code == 0 and resumed.resumed
        rows = report_rows(tmp_path / "report-2.csv")
        assert {r["outcome"] for r in rows.values()} == {"recorded"}
        assert held(sb) == set(emails())
        assert set(sb.write_counts(EVENT).values()) == {1}


def test_daily_limit_mid_run_stops_with_exit_3_and_the_next_run_resumes(tmp_path: Path, fake_time: Any) -> None:
    with Sandbox(events=[EVENT]) as sb:
        src = write_attendees(tmp_path)
        sb.add_contacts(emails())
        cfg = make_config(tmp_path, sb, src)
        sb.inject(Fault("daily", ATTEND, after=1))
        result = run_bounded(cfg, pipeline.Services(sleep=fake_time.sleep, clock=fake_time.clock, cwd=tmp_path))
        assert result.exit_code == 3
        assert result.stopped is not None and result.stopped.reason == "daily_limit"
        assert "daily" in str(result.stopped) and "again" in str(result.stopped)
        rows = report_rows(Path(cfg.report or ""))
        check_accounted(rows, sb)
        failed = [r for r in rows.values() if r["outcome"] == "failed"]
        assert len(failed) == ROWS - 100 and {r["reason"] for r in failed} == {"daily_limit"}
        assert len(writes(sb)) == 2  # the 429 DAILY is not retried
        assert sum(fake_time.slept) == 0

        resumed = run_bounded(
            make_config(tmp_path, sb, src, report=str(tmp_path / "report-2.csv")),
            pipeline.Services(sleep=fake_time.sleep, clock=fake_time.clock, cwd=tmp_path),
        )
        assert resumed.exit_code == 0 and resumed.resumed
        assert held(sb) == set(emails())
        assert set(sb.write_counts(EVENT).values()) == {1}
        assert {r["outcome"] for r in report_rows(tmp_path / "report-2.csv").values()} == {"recorded"}


def test_event_unreachable_stops_before_sending_and_reports_every_row(tmp_path: Path, fake_time: Any) -> None:
    with Sandbox(events=[EVENT]) as sb:
        src = write_attendees(tmp_path)
        sb.add_contacts(emails())
        cfg = make_config(tmp_path, sb, src)
        sb.inject(Fault("status", EVENT_GET, times=ATTEMPTS, status=503))
        result = run_bounded(cfg, pipeline.Services(sleep=fake_time.sleep, clock=fake_time.clock, cwd=tmp_path))
        assert result.exit_code == 3
        assert len(sb.requests) == ATTEMPTS and not writes(sb)
        rows = report_rows(Path(cfg.report or ""))
        assert {(r["outcome"], r["reason"]) for r in rows.values()} == {("failed", "http_5xx")}
        assert all(r["message"] for r in rows.values())
        second_run(cfg, sb, fake_time, tmp_path, first_failed=ROWS)


def test_lookup_outlasting_the_retries_reports_its_rows_failed(tmp_path: Path, fake_time: Any) -> None:
    """The first lookup of 100 emails keeps failing: those rows must still reach the report, failed
    with the reason (or the run stops), never vanish in an error without a report."""
    with Sandbox(events=[EVENT]) as sb:
        src = write_attendees(tmp_path)
        sb.add_contacts(emails())
        cfg = make_config(tmp_path, sb, src)
        sb.inject(Fault("status", LOOKUP, times=ATTEMPTS, status=503))
        result = run_bounded(cfg, pipeline.Services(sleep=fake_time.sleep, clock=fake_time.clock, cwd=tmp_path))
        assert result.exit_code in (1, 3)
        rows = report_rows(Path(cfg.report or ""))
        check_accounted(rows, sb)
        failed = [r for r in rows.values() if r["outcome"] == "failed"]
        assert len(failed) >= 100 and {r["reason"] for r in failed} == {"http_5xx"}
        second_run(cfg, sb, fake_time, tmp_path, first_failed=len(failed))


def test_retry_command_resends_only_the_failed_rows_once_the_trouble_is_gone(tmp_path: Path, fake_time: Any) -> None:
    """``importer retry REPORT`` after a 5xx storm: the failed batch goes again, nothing else."""
    case = PERSISTENT["5xx outlasting the attempts"]
    with Sandbox(events=[EVENT]) as sb:
        cfg, _ = first_run(case, tmp_path, fake_time, sb)
        report = Path(cfg.report or "")
        before = len(writes(sb))
        result = pipeline.retry(
            replace(cfg, inputs=()), report, pipeline.Services(sleep=fake_time.sleep, clock=fake_time.clock)
        )
        assert result.exit_code == 0
        assert sum(r.inputs for r in writes(sb)[before:]) == case.failed
        rows = report_rows(report)
        assert {r["outcome"] for r in rows.values()} == {"recorded"}
        assert held(sb) == set(emails())
        assert set(sb.write_counts(EVENT).values()) == {1}
        assert {f.profile for f in result.report.summary.files} == {"generic"}  # the updated report keeps it
