"""`importer verify REPORT` and `run --verify` against the sandbox over real HTTP.

Verify reads the event's participations back from HubSpot and names every contact the report
says was recorded but HubSpot does not show (exit 1), with the participation counters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from importer.cli import main
from importer.sandbox import DEFAULT_TOKEN, Sandbox

ENV = {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN}
CONTACTS = {"alice@example.com": 101, "bob@example.com": 102, "carol@example.com": 103}
SOURCE = """Email,Join Time
alice@example.com,2024-11-05T15:58:03Z
bob@example.com,2024-11-05T16:00:00Z
carol@example.com,2024-11-05T16:05:00Z
"""


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(events=["1001"], contacts=CONTACTS) as sb:
        yield sb


def run_import(sb: Sandbox, tmp_path: Path, report: Path, *more: str, source: str = SOURCE) -> tuple[int, str]:
    src = tmp_path / "attendees.csv"
    src.write_text(source, encoding="utf-8")
    code = main(
        ["run", str(src), "--event", "1001", "--base-url", sb.base_url, "--report", str(report),
         "--state-dir", str(tmp_path / "state"), *more],
        environ=ENV,
    )  # fmt: skip
    return code, str(report)


def verify(sb: Sandbox, report: Path, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["verify", str(report), "--base-url", sb.base_url, *more], environ=ENV)
    out = capsys.readouterr()
    assert DEFAULT_TOKEN not in out.out + out.err
    assert "Traceback" not in out.err
    return code, out.out + out.err


def missing_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("missing")]


@pytest.mark.parametrize("suffix", ["xlsx", "csv", "json"])
def test_verify_passes_then_names_the_lost_contact(
    suffix: str, box: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / f"report.{suffix}"
    code, _ = run_import(box, tmp_path, report)
    assert code == 0 and report.is_file()
    assert len(box.participations("1001")) == 3

    code, text = verify(box, report, capsys)
    assert code == 0, text
    assert "3 of 3" in text
    assert missing_lines(text) == []
    assert re.search(r"counters now:\s+.*attended 3", text)

    box.lose_participation("1001", 102)
    code, text = verify(box, report, capsys)
    assert code == 1, text
    assert "2 of 3" in text
    lost = missing_lines(text)
    assert len(lost) == 1
    assert "102" in lost[0] and "bob@example.com" in lost[0]
    assert re.search(r"counters now:\s+.*attended 2", text)


def test_verify_names_every_missing_contact_and_only_them(
    box: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "r.xlsx"
    assert run_import(box, tmp_path, report)[0] == 0
    box.lose_participation("1001", 101, state="attend")
    box.lose_participation("1001", 103)
    code, text = verify(box, report, capsys)
    assert code == 1
    lost = missing_lines(text)
    assert len(lost) == 2
    joined = "\n".join(lost)
    assert "101" in joined and "alice@example.com" in joined
    assert "103" in joined and "carol@example.com" in joined
    assert "bob@example.com" not in joined and "102" not in joined


def test_verify_only_counts_recorded_rows(box: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Rejected rows were never recorded, so HubSpot not showing them is no problem."""
    source = SOURCE + "nobody@example.com,2024-11-05T16:10:00Z\nnot-an-email,2024-11-05T16:10:00Z\n"
    report = tmp_path / "r.csv"
    assert run_import(box, tmp_path, report, source=source)[0] == 1
    code, text = verify(box, report, capsys)
    assert code == 0, text
    assert "3 of 3" in text and "nobody@example.com" not in text


def test_verify_contact_without_email(box: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = "Email,Record ID,Join Time\n,101,2024-11-05T15:58:03Z\nbob@example.com,,2024-11-05T16:00:00Z\n"
    report = tmp_path / "r.json"
    assert run_import(box, tmp_path, report, source=source)[0] == 0
    box.lose_participation("1001", 101)
    code, text = verify(box, report, capsys)
    assert code == 1
    (lost,) = missing_lines(text)
    assert "101" in lost and "no email" in lost


def test_run_with_verify_prints_counters_before_and_after(
    box: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code, _ = run_import(box, tmp_path, tmp_path / "r.csv", "--verify")
    out = capsys.readouterr()
    text = out.out + out.err
    assert code == 0, text
    assert DEFAULT_TOKEN not in text
    assert re.search(r"counters before:.*attended 0", text)
    assert re.search(r"counters now:\s+.*attended 3", text)
    assert "3 of 3" in text
    assert text.count("3 of 3") == 1 and text.count("counters now") == 1  # said once
    assert missing_lines(text) == []
    assert any("/breakdown" in r.path for r in box.requests)


def test_verify_json_gives_the_real_counts(box: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.xlsx"
    run_import(box, tmp_path, report)
    box.lose_participation("1001", 102)
    code, text = verify(box, report, capsys, "--json")
    assert code == 1
    (line,) = [t for t in text.splitlines() if t.startswith("{")]
    got = json.loads(line)
    assert (got["checked"], got["visible"], got["exit_code"]) == (3, 2, 1)
    assert got["missing"] == [{"vid": 102, "email": "bob@example.com", "state": "attend"}]
    assert got["counters"]["attended"] == 2


def test_run_with_verify_json_says_verified(box: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code, _ = run_import(box, tmp_path, tmp_path / "r.csv", "--verify", "--json")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert code == 0
    assert '"verified": true' in lines[-1]


def test_verify_pages_through_more_than_100_participations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    emails = [f"p{i:03d}@example.com" for i in range(250)]
    source = "Email,Join Time\n" + "".join(f"{e},2024-11-05T15:00:00Z\n" for e in emails)
    with Sandbox(events=["1001"]) as sb:
        vids = sb.add_contacts(emails)
        report = tmp_path / "r.csv"
        assert run_import(sb, tmp_path, report, source=source)[0] == 0
        assert len(sb.participations("1001")) == 250
        before = len(sb.requests)
        code, text = verify(sb, report, capsys)
        assert code == 0, text
        assert "250 of 250" in text
        pages = [r for r in sb.requests[before:] if r.path.endswith("/breakdown")]
        assert len(pages) == 3  # the sandbox pages at 100

        last = max(vids, key=lambda e: vids[e])  # sorted by vid, so it is on the last page
        sb.lose_participation("1001", vids[last])
        code, text = verify(sb, report, capsys)
        assert code == 1
        (lost,) = missing_lines(text)
        assert str(vids[last]) in lost and last in lost


def test_verify_event_override_and_missing_report(
    box: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "r.csv"
    assert run_import(box, tmp_path, report)[0] == 0
    box.add_event("2002")
    code, text = verify(box, report, capsys, "--event", "2002")  # nothing was recorded in that event
    assert code == 1
    assert len(missing_lines(text)) == 3

    code, text = verify(box, report, capsys, "--event", "4242")  # no such event in the portal
    assert code == 2
    assert "HubSpot has no marketing event 4242" in text and len(text.strip().splitlines()) == 1

    code, text = verify(box, tmp_path / "nope.xlsx", capsys)
    assert code == 2
    assert "nope.xlsx" in text and len(text.strip().splitlines()) == 1


def test_verify_keeps_contact_ids_beyond_double_precision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A vid above 2**53 read back from the report must stay the same contact (no float rounding)."""
    big = 2**53 + 1
    with Sandbox(events=["1001"], contacts={"big@example.com": big}) as sb:
        report = tmp_path / "r.csv"
        assert run_import(sb, tmp_path, report, source=f"Record ID,Join Time\n{big},2024-11-05T15:00:00Z\n")[0] == 0
        assert [p["vid"] for p in sb.participations("1001")] == [big]
        code, text = verify(sb, report, capsys)
    assert code == 0, text
    assert "1 of 1" in text
