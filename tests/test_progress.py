"""The progress a person watches: lookups get a bar of their own, and the ETA covers the whole run
(lookups, then writes) at HubSpot's rate limit, in contacts per minute."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from importer import config, pipeline
from importer.console import Console
from importer.sandbox import DEFAULT_TOKEN, Sandbox


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    now = [1000.0]
    monkeypatch.setattr("importer.console.time.monotonic", lambda: now[0])
    yield now


def _last_eta(text: str) -> int:
    """The seconds of the last ETA drawn (``42s`` or ``14m05s``)."""
    minutes, seconds = re.findall(r"ETA (?:(\d+)m)?(\d+)s", text)[-1]
    return int(minutes or 0) * 60 + int(seconds)


def test_lookups_have_a_bar_in_contacts_per_minute(clock: list[float]) -> None:
    stream = _Terminal()
    console = Console(stream=stream)
    console.lookups(0, 120, 0, 12_000)
    clock[0] += 30
    console.lookups(60, 120, 6_000, 12_000)
    line = stream.getvalue().split("\r")[-1]
    assert "60/120 lookups" in line and "6,000/12,000 emails" in line
    assert "12,000 contacts/min" in line
    assert "\n" not in stream.getvalue()  # one line redrawn until the lookups are done
    clock[0] += 30
    console.lookups(120, 120, 12_000, 12_000)
    assert stream.getvalue().endswith("\n")


def test_the_eta_covers_the_writes_that_follow_the_lookups(clock: list[float]) -> None:
    alone, whole = _Terminal(), _Terminal()
    for stream, writes in ((alone, 0), (whole, 120)):
        console = Console(stream=stream)
        console.expect(writes)
        console.lookups(0, 120, 0, 12_000)
        clock[0] += 10
        console.lookups(60, 120, 6_000, 12_000)
    assert _last_eta(alone.getvalue()) == 10  # 60 lookups left at 6 a second
    assert _last_eta(whole.getvalue()) == 30  # and then 120 writes at the same pace


def test_a_burst_the_window_allows_does_not_shorten_the_eta(clock: list[float]) -> None:
    """12,000 rows: 120 lookups then 120 writes, HubSpot allows 100 per 10 s.  The first 100 go in a
    second; the other 140 cannot all start before two more windows, whatever the first second's pace."""
    stream = _Terminal()
    console = Console(stream=stream)
    console.expect(120, limit=(100, 10.0), concurrency=4)
    console.lookups(0, 120, 0, 12_000)
    clock[0] += 1
    console.lookups(100, 120, 10_000, 12_000)
    assert _last_eta(stream.getvalue()) >= 19  # request 201 starts 20 s after the first at the soonest
    without_limit = _Terminal()
    blind = Console(stream=without_limit)
    blind.expect(120)
    blind.lookups(0, 120, 0, 12_000)
    clock[0] += 1
    blind.lookups(100, 120, 10_000, 12_000)
    assert _last_eta(without_limit.getvalue()) <= 2  # what the pace alone would have promised


def test_the_writes_start_their_own_bar_and_baseline(clock: list[float]) -> None:
    stream = _Terminal()
    console = Console(stream=stream)
    console.expect(10, limit=(100, 10.0))
    console.lookups(0, 2, 0, 200)
    clock[0] += 2
    console.lookups(2, 2, 200, 200)
    clock[0] += 60  # the question before sending: no pace is counted while the person reads
    console.expect(0, limit=(100, 10.0))
    console.progress(0, 10, 0, 1_000)
    clock[0] += 5
    console.progress(5, 10, 500, 1_000)
    line = stream.getvalue().split("\r")[-1]
    assert "5/10 batches" in line and "500/1,000 contacts" in line
    assert "6,000 contacts/min" in line and _last_eta(line) == 5


def test_lookup_lines_without_a_terminal() -> None:
    stream = io.StringIO()
    console = Console(stream=stream)
    for done in range(11):
        console.lookups(done, 10, done * 100, 1_000)
    text = stream.getvalue()
    assert "\r" not in text and "ETA" not in text
    assert "importer: 10/10 lookups answered  1,000/1,000 emails" in text
    assert len(text.splitlines()) == 10


def test_a_run_reports_its_lookups_and_what_follows_them(tmp_path: Path) -> None:
    """250 emails: three lookup requests, answered one by one, then three writes (the estimate the
    ETA counts before the lookups), then nothing after the writes."""
    emails = [f"p{i:03d}@example.com" for i in range(250)]
    src = tmp_path / "a.csv"
    src.write_text("Email,Join Time\n" + "".join(f"{e},2024-11-05T15:58:03Z\n" for e in emails), encoding="utf-8")
    lookups: list[tuple[int, int, int, int]] = []
    expects: list[tuple[int, tuple[int, float], int]] = []
    with Sandbox(events=["1001"], contacts={e: 100 + i for i, e in enumerate(emails)}) as sb:
        cfg = config.build(
            {"inputs": (str(src),), "event_id": "1001", "state_dir": str(tmp_path / "s"), "concurrency": 2},
            environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN, "HUBSPOT_BASE_URL": sb.base_url},
        )
        svc = pipeline.Services(
            cwd=tmp_path,
            lookups=lambda *a: lookups.append(a),
            expect=lambda *a: expects.append(a),
        )
        assert pipeline.run(cfg, svc).exit_code == 0
    # the emails counted are those of the requests answered, in the order they came back (two run
    # at once, so the last request, of 50, may come back before the second one of 100)
    assert lookups[0] == (0, 3, 0, 250) and lookups[-1] == (3, 3, 250, 250)
    assert [(a[0], a[1], a[3]) for a in lookups] == [(i, 3, 250) for i in range(4)]
    assert lookups[1][2] == 100 and lookups[2][2] in (150, 200)
    assert expects == [(3, (100, 10.0), 2), (0, (100, 10.0), 2)]
