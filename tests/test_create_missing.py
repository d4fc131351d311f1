"""`--create-missing`: contacts not found by email are created through email-create, opt-in.

Driven through the CLI against the sandbox over real HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from importer.cli import main
from importer.reporter import read_report
from importer.sandbox import DEFAULT_TOKEN, Sandbox

ENV = {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN}
KNOWN = {"alice@example.com": 101, "bob@example.com": 102}
NEW = ("new.one@example.com", "new.two@example.com")
SOURCE = """Email,Join Time
alice@example.com,2024-11-05T15:58:03Z
New.One@Example.com,2024-11-05T16:00:00Z
bob@example.com,2024-11-05T16:01:00Z
new.two@example.com,2024-11-05T16:02:00Z
not-an-email,2024-11-05T16:03:00Z
"""
T_NEW_ONE = 1730822400000  # 2024-11-05T16:00:00Z


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(events=["1001"], contacts=KNOWN) as sb:
        yield sb


def run(sb: Sandbox, tmp_path: Path, report: Path, *more: str) -> int:
    src = tmp_path / "attendees.csv"
    src.write_text(SOURCE, encoding="utf-8")
    return main(
        ["run", str(src), "--event", "1001", "--base-url", sb.base_url, "--report", str(report),
         "--state-dir", str(tmp_path / "state"), *more],
        environ=ENV,
    )  # fmt: skip


def by_email(report: Path) -> dict[str, dict[str, str]]:
    _, rows = read_report(report)
    return {r["email"]: r for r in rows}


def attendance_paths(sb: Sandbox) -> list[str]:
    return [r.path for r in sb.requests if "/attendance/" in r.path]


def test_without_the_flag_unknown_emails_are_rejected(box: Sandbox, tmp_path: Path) -> None:
    report = tmp_path / "r.csv"
    assert run(box, tmp_path, report) == 1
    rows = by_email(report)
    for email in NEW:
        assert rows[email]["outcome"] == "rejected"
        assert rows[email]["reason"] == "contact_not_found"
        assert "--create-missing" in rows[email]["message"]
        assert rows[email]["created_contact"] == "no"
    assert rows["alice@example.com"]["outcome"] == "recorded"
    assert not any("email-create" in p for p in attendance_paths(box))
    assert set(box.contacts) == set(KNOWN)
    assert {p["vid"] for p in box.participations("1001")} == {101, 102}


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_with_the_flag_unknown_emails_are_created_and_recorded(suffix: str, box: Sandbox, tmp_path: Path) -> None:
    report = tmp_path / f"r.{suffix}"
    assert run(box, tmp_path, report, "--create-missing") == 1  # the invalid email is still rejected

    paths = attendance_paths(box)
    created_calls = [r for r in box.requests if "email-create" in r.path]
    assert len(created_calls) == 1 and created_calls[0].inputs == 2
    assert created_calls[0].path.endswith("/attendance/attend/email-create")
    by_vid = [r for r in box.requests if r.path.endswith("/attendance/attend/create")]
    assert len(by_vid) == 1 and by_vid[0].inputs == 2  # known contacts still go by contact id
    assert len(paths) == 2

    contacts = box.contacts
    for email in NEW:
        assert email in contacts
    got = {p["vid"]: p for p in box.participations("1001")}
    assert set(got) == {101, 102, contacts[NEW[0]], contacts[NEW[1]]}
    assert got[contacts[NEW[0]]]["state"] == "attend"
    assert got[contacts[NEW[0]]]["occurred_at"] == T_NEW_ONE

    rows = by_email(report)
    for email in NEW:
        assert rows[email]["outcome"] == "recorded", rows[email]
        assert rows[email]["vid"] == str(contacts[email])
        assert rows[email]["created_contact"] == "yes"
    for email in KNOWN:
        assert rows[email]["outcome"] == "recorded"
        assert rows[email]["created_contact"] == "no"
    assert rows["not-an-email"]["outcome"] == "rejected" and rows["not-an-email"]["reason"] == "invalid_email"
    assert rows["not-an-email"]["created_contact"] == "no"


def test_created_contacts_pass_verify(box: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.json"
    run(box, tmp_path, report, "--create-missing")
    capsys.readouterr()
    code = main(["verify", str(report), "--base-url", box.base_url], environ=ENV)
    text = capsys.readouterr().out
    assert code == 0, text
    assert "4 of 4" in text


def test_dry_run_with_the_flag_creates_nothing(box: Sandbox, tmp_path: Path) -> None:
    report = tmp_path / "r.csv"
    run(box, tmp_path, report, "--create-missing", "--dry-run")
    assert attendance_paths(box) == []
    assert set(box.contacts) == set(KNOWN)
    rows = by_email(report)
    for email in NEW:
        assert rows[email]["outcome"] == "planned"
        assert rows[email]["created_contact"] == "no"
