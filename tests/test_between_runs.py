"""Between runs: every piece of advice the importer prints is followed once, literally, and works.

The runs go through the CLI entry point against the sandbox over real HTTP, from the folder a user
would be in (the default report name and state folder), with the base URL in the environment as the
README says, so a command copied from the terminal runs as it is.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from importer.cli import main
from importer.reporter import fix_for, read_report
from importer.sandbox import ALL_SCOPES, DEFAULT_TOKEN, Fault, Sandbox

EVENT = "1001"
KNOWN = {"alice@example.com": 101, "bob@example.com": 102}
SOURCE = """Email,Join Time
alice@example.com,2024-11-05T15:58:03Z
bob@example.com,2024-11-05T16:00:00Z
carol@example.com,2024-11-05T16:05:00Z
"""


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(events=[EVENT], contacts=KNOWN) as sb:
        yield sb


def env_for(sb: Sandbox, token: str = DEFAULT_TOKEN) -> dict[str, str]:
    return {"HUBSPOT_ACCESS_TOKEN": token, "HUBSPOT_BASE_URL": sb.base_url}


def importer(command: str | list[str], environ: dict[str, str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run one command line as typed (``importer ...``); returns the exit code and everything printed."""
    argv = shlex.split(command) if isinstance(command, str) else command
    assert argv[0] == "importer"
    capsys.readouterr()
    code = main(argv[1:], environ=environ)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text and environ["HUBSPOT_ACCESS_TOKEN"] not in text
    return code, text


def commands_in(text: str) -> list[str]:
    """The commands a message tells the user to run (written between backticks)."""
    return re.findall(r"`(importer [^`]+)`", " ".join(text.split()))


def next_line(text: str) -> str:
    """The closing "Next:" step (it may wrap over several lines)."""
    return text[text.index("Next: ") :].split("\nimporter: ")[0]


def outcomes(report: Path) -> dict[str, tuple[str, str]]:
    _, rows = read_report(report)
    return {r["email"]: (r["outcome"], r["reason"]) for r in rows}


def held(sb: Sandbox, event: str = EVENT) -> set[int]:
    return {p["vid"] for p in sb.participations(event)}


def first_run(tmp_path: Path, sb: Sandbox, capsys: pytest.CaptureFixture[str], token: str = DEFAULT_TOKEN) -> str:
    (tmp_path / "attendees.csv").write_text(SOURCE, encoding="utf-8")
    code, text = importer(f"importer run attendees.csv --event {EVENT}", env_for(sb, token), capsys)
    return text


def test_a_contact_added_in_hubspot_is_recorded_by_the_retry_the_advice_names(
    tmp_path: Path, box: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    text = first_run(tmp_path, box, capsys)
    report = tmp_path / "attendees.reconciliation.xlsx"
    assert outcomes(report)["carol@example.com"] == ("rejected", "contact_not_found")
    retry = [c for c in commands_in(text) if c.startswith("importer retry")]
    assert retry, text
    box.add_contacts(["carol@example.com"])
    code, text = importer(retry[0], env_for(box), capsys)
    assert code == 0, text
    assert "1 row" in text and "not found in HubSpot before" in text
    assert outcomes(report)["carol@example.com"][0] == "recorded"
    assert held(box) == {101, 102, box.contacts["carol@example.com"]}
    # the two recorded rows were not sent again
    assert set(box.write_counts(EVENT).values()) == {1}


def test_a_contact_still_missing_keeps_the_advice_and_sends_nothing(
    tmp_path: Path, box: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    first_run(tmp_path, box, capsys)
    writes = sum(1 for r in box.requests if "/attendance/" in r.path)
    code, text = importer("importer retry attendees.reconciliation.xlsx", env_for(box), capsys)
    assert code == 1
    assert "still contact_not_found" in text
    assert sum(1 for r in box.requests if "/attendance/" in r.path) == writes
    assert any(c.startswith("importer retry") for c in commands_in(text))


def test_a_scope_granted_then_retry_records_every_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reading = ALL_SCOPES - {"crm.objects.marketing_events.write"}
    with Sandbox(events=[EVENT], contacts={**KNOWN, "carol@example.com": 103}, tokens={DEFAULT_TOKEN: reading}) as sb:
        text = first_run(tmp_path, sb, capsys)
        report = tmp_path / "attendees.reconciliation.xlsx"
        assert {o for o, _ in outcomes(report).values()} == {"failed"}
        assert "crm.objects.marketing_events.write" in text
        again = commands_in(next_line(text))
        assert again == ["importer run attendees.csv --event 1001"], text
        sb.grant(DEFAULT_TOKEN, ALL_SCOPES)
        code, text = importer(again[0], env_for(sb), capsys)
        assert code == 0, text
        assert {o for o, _ in outcomes(report).values()} == {"recorded"}
        assert held(sb) == {101, 102, 103}


def test_a_new_token_then_retry_records_every_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tokens = {"old-token": ALL_SCOPES, "new-token": ALL_SCOPES}
    with Sandbox(events=[EVENT], contacts={**KNOWN, "carol@example.com": 103}, tokens=tokens) as sb:
        sb.revoke("old-token")
        text = first_run(tmp_path, sb, capsys, token="old-token")
        report = tmp_path / "attendees.reconciliation.xlsx"
        assert {r for _, r in outcomes(report).values()} == {"token_rejected"}
        assert "HUBSPOT_ACCESS_TOKEN" in next_line(text)
        _, rows = read_report(report)
        first = {"file": rows[0]["source_file"], "row": rows[0]["source_row"], "reason": rows[0]["reason"]}
        retry = [c for c in commands_in(fix_for(first, str(report))) if "retry" in c]
        assert retry, text
        code, text = importer(retry[0], env_for(sb, "new-token"), capsys)
        assert code == 0, text
        assert held(sb) == {101, 102, 103}


def test_an_event_gone_then_retry_with_the_right_event(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Sandbox(events=[EVENT, "1002"], contacts={**KNOWN, "carol@example.com": 103}) as sb:
        sb.inject(Fault("status", path_contains="/attendance/", status=404))
        text = first_run(tmp_path, sb, capsys)
        report = tmp_path / "attendees.reconciliation.xlsx"
        assert {r for _, r in outcomes(report).values()} == {"event_not_found"}
        retry = [c for c in commands_in(next_line(text)) if c.startswith("importer retry") and "--event" in c]
        assert retry, text
        command = retry[0].replace("OBJECT_ID", "1002")
        code, text = importer(command, env_for(sb), capsys)
        assert code == 0, text
        assert held(sb, "1002") == {101, 102, 103}
        assert held(sb, EVENT) == set()


def test_hubspot_down_then_retry_later(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Sandbox(events=[EVENT], contacts={**KNOWN, "carol@example.com": 103}) as sb:
        sb.inject(Fault("status", path_contains="/attendance/", status=503))
        (tmp_path / "attendees.csv").write_text(SOURCE, encoding="utf-8")
        environ = {**env_for(sb), "IMPORTER_RETRY_ATTEMPTS": "1"}
        code, text = importer(f"importer run attendees.csv --event {EVENT}", environ, capsys)
        assert code == 1
        report = tmp_path / "attendees.reconciliation.xlsx"
        assert {r for _, r in outcomes(report).values()} == {"http_5xx"}
        retry = [c for c in commands_in(text) if c.startswith("importer retry")]
        assert retry, text
        code, text = importer(retry[0], env_for(sb), capsys)
        assert code == 0, text
        assert held(sb) == {101, 102, 103}


def test_a_corrected_email_then_the_same_import_again_records_only_that_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox(events=[EVENT], contacts={**KNOWN, "carol@example.com": 103}) as sb:
        src = tmp_path / "attendees.csv"
        src.write_text(SOURCE.replace("carol@example.com", "carol@@example.com"), encoding="utf-8")
        command = f"importer run attendees.csv --event {EVENT}"
        code, text = importer(command, env_for(sb), capsys)
        assert code == 1
        assert "Correct the email in attendees.csv row 4" in " ".join(text.split())
        assert "run the same import again" in " ".join(text.split())
        src.write_text(SOURCE, encoding="utf-8")
        code, text = importer(command, env_for(sb), capsys)
        assert code == 0, text
        assert held(sb) == {101, 102, 103}
        assert set(sb.write_counts(EVENT).values()) == {1}


def test_reports_are_never_overwritten_and_a_rerun_says_who_recorded_what(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox(events=[EVENT], contacts={**KNOWN, "carol@example.com": 103}) as sb:
        (tmp_path / "attendees.csv").write_text(SOURCE, encoding="utf-8")
        command = f"importer run attendees.csv --event {EVENT}"
        code, first_text = importer(command, env_for(sb), capsys)
        assert code == 0
        latest = tmp_path / "attendees.reconciliation.xlsx"
        first = [p for p in tmp_path.glob("attendees.reconciliation.*.xlsx")]
        assert len(first) == 1 and str(first[0]) in first_text
        run_id = first[0].name.split(".")[2]

        code, text = importer(command, env_for(sb), capsys)
        assert code == 0
        assert re.search(r"already in HubSpot\s+3$", text, re.M), text
        assert "Nobody new to record" in text
        code, _ = importer(command + " --dry-run", env_for(sb), capsys)
        assert code == 0

        kept = sorted(tmp_path.glob("attendees.reconciliation.*.xlsx"))
        assert len(kept) == 3
        assert {o for o, _ in outcomes(first[0]).values()} == {"recorded"}  # the first run's report survives
        _, rows = read_report(latest)  # the plain name is the latest (the dry run's)
        assert {r["reason"] for r in rows} == {"already_recorded"}
        assert all(f"by run {run_id}" in r["message"] and " UTC " in r["message"] for r in rows)

        code, text = importer("importer verify attendees.reconciliation.xlsx", env_for(sb), capsys)
        assert code == 0 and "3 of 3" in text, text
        sb.lose_participation(EVENT, 102)
        code, text = importer("importer verify attendees.reconciliation.xlsx", env_for(sb), capsys)
        assert code == 1 and "bob@example.com" in text


def test_a_report_not_kept_under_a_run_stamp_is_set_aside_not_replaced(
    tmp_path: Path, box: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "attendees.reconciliation.xlsx"
    old.write_bytes(b"an older version's report")
    first_run(tmp_path, box, capsys)
    saved = list(tmp_path.glob("attendees.reconciliation.saved-*.xlsx"))
    assert len(saved) == 1 and saved[0].read_bytes() == b"an older version's report"
    assert outcomes(old)["alice@example.com"][0] == "recorded"


def test_old_plans_are_let_go_but_the_ledger_keeps_a_rerun_from_sending_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    def plans() -> list[str]:
        db = sqlite3.connect(tmp_path / ".importer" / "journal.sqlite3")
        try:
            found = db.execute("SELECT DISTINCT r.run_id FROM plan_chunks p JOIN runs r ON r.num = p.run")
            return [run_id for (run_id,) in found]
        finally:
            db.close()

    (tmp_path / "attendees.csv").write_text(SOURCE, encoding="utf-8")
    command = f"importer run attendees.csv --event {EVENT}"
    with Sandbox(events=[EVENT], contacts=KNOWN) as sb:
        environ = env_for(sb) | {"IMPORTER_KEEP_PLANS": "1"}
        assert importer(command, environ, capsys)[0] == 1  # carol is not a contact yet
        [first] = plans()
        sent = len([r for r in sb.requests if "/attendance/" in r.path])
        carol = sb.add_contacts(["carol@example.com"])["carol@example.com"]
        assert importer(command, environ, capsys)[0] == 0
        [second] = plans()
        assert second != first, "the older finished plan was dropped, the newest kept"
        assert held(sb) == {101, 102, carol}
        assert len([r for r in sb.requests if "/attendance/" in r.path]) == sent + 1
        assert outcomes(tmp_path / "attendees.reconciliation.xlsx") == {
            "alice@example.com": ("skipped", "already_recorded"),  # the ledger outlived the first run's plan
            "bob@example.com": ("skipped", "already_recorded"),
            "carol@example.com": ("recorded", ""),
        }


def test_a_state_folder_of_an_older_version_is_upgraded_and_says_its_unfinished_run_is_planned_afresh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    from importer.journal_db import _SCHEMA_V1, _SCHEMA_V2

    (tmp_path / ".importer").mkdir(mode=0o700)
    old = sqlite3.connect(tmp_path / ".importer" / "journal.sqlite3")
    old.executescript(_SCHEMA_V1)
    old.execute(_SCHEMA_V2)
    old.execute("PRAGMA user_version = 2")
    old.execute("INSERT INTO runs (num, run_id, key, started, meta) VALUES (1, '20240101T000000Z-aaaaaa', 'k', 0, '')")
    old.execute(
        "INSERT INTO plan_rows VALUES (1, 0, 'attendees.csv', 2, 'alice@example.com', 101, 'attend', 0, 'file',"
        " NULL, '', '', NULL, NULL, '', '', 0, NULL, NULL)"
    )
    old.execute(f"INSERT INTO ledger VALUES ('{EVENT}', 'attend', 101, 1730822283000, 1, 1.0)")
    old.commit()
    old.close()
    (tmp_path / "attendees.csv").write_text(SOURCE, encoding="utf-8")
    with Sandbox(events=[EVENT], contacts=KNOWN) as sb:
        code, text = importer(f"importer run attendees.csv --event {EVENT}", env_for(sb), capsys)
        assert code == 1, text  # carol is not a contact: the run itself went through
        said = " ".join(text.split())
        assert "cannot resume the run an older version left unfinished (20240101T000000Z-aaaaaa)" in said
        assert held(sb) == {102}, "alice is in the old ledger: not sent again"
    assert outcomes(tmp_path / "attendees.reconciliation.xlsx")["alice@example.com"] == ("skipped", "already_recorded")


FIRST_WEBINAR = "Email,Join Time\nalice@example.com,2024-11-05T15:58:03Z\nbob@example.com,2024-11-05T16:00:00Z\n"
NEXT_WEBINAR = "Email,Join Time\nalice@example.com,2024-11-12T15:58:03Z\nbob@example.com,2024-11-12T16:00:00Z\n"


def vids_in(report: Path) -> dict[str, str]:
    _, rows = read_report(report)
    return {r["email"]: r["vid"] for r in rows}


def alice_created_again(sb: Sandbox) -> int:
    """Alice's contact deleted in HubSpot and created again: the lookup cache still has her old id."""
    assert sb.delete_contacts(["alice@example.com"]) == {"alice@example.com": 101}
    new = sb.add_contacts(["alice@example.com"])["alice@example.com"]
    assert new != 101
    return new


def paths_since(sb: Sandbox, count: int) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in sb.requests[count:]]


def test_a_contact_created_again_under_a_new_id_is_looked_up_again_in_the_same_run(
    tmp_path: Path, box: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "first.csv").write_text(FIRST_WEBINAR, encoding="utf-8")
    assert importer(f"importer run first.csv --event {EVENT}", env_for(box), capsys)[0] == 0
    alice = alice_created_again(box)
    (tmp_path / "next.csv").write_text(NEXT_WEBINAR, encoding="utf-8")
    before = len(box.requests)
    code, text = importer(f"importer run next.csv --event {EVENT}", env_for(box), capsys)
    assert code == 0, text
    # the cached id is refused, the email looked up again and sent, all in this run
    assert paths_since(box, before) == [EVENT, "create", "read", "create"]
    assert "2 contact ids taken from the lookup cache" in text and "looking up 1 email again" in text
    report = tmp_path / "next.reconciliation.xlsx"
    assert {e: o for e, (o, _) in outcomes(report).items()} == {
        "alice@example.com": "recorded",
        "bob@example.com": "recorded",
    }
    assert vids_in(report)["alice@example.com"] == str(alice)
    assert held(box) == {alice, 102}
    # the cache holds the new id now: the next file is sent without a lookup
    (tmp_path / "third.csv").write_text(NEXT_WEBINAR.replace("2024-11-12", "2024-11-19"), encoding="utf-8")
    before = len(box.requests)
    assert importer(f"importer run third.csv --event {EVENT}", env_for(box), capsys)[0] == 0
    assert paths_since(box, before) == [EVENT, "create"]
    assert vids_in(tmp_path / "third.reconciliation.xlsx")["alice@example.com"] == str(alice)


def test_retry_of_a_report_with_an_id_hubspot_no_longer_has_looks_the_contact_up_again(
    tmp_path: Path, box: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "first.csv").write_text(FIRST_WEBINAR, encoding="utf-8")
    assert importer(f"importer run first.csv --event {EVENT}", env_for(box), capsys)[0] == 0
    alice = alice_created_again(box)
    box.inject(Fault("status", path_contains="/attendance/", status=503))
    (tmp_path / "next.csv").write_text(NEXT_WEBINAR, encoding="utf-8")
    environ = {**env_for(box), "IMPORTER_RETRY_ATTEMPTS": "1"}
    code, text = importer(f"importer run next.csv --event {EVENT}", environ, capsys)
    assert code == 1
    report = tmp_path / "next.reconciliation.xlsx"
    assert vids_in(report)["alice@example.com"] == "101"  # the old id, from the cache
    retry = [c for c in commands_in(text) if c.startswith("importer retry")]
    assert retry, text
    code, text = importer(retry[0], env_for(box), capsys)
    assert code == 0, text
    assert {e: o for e, (o, _) in outcomes(report).items()} == {
        "alice@example.com": "recorded",
        "bob@example.com": "recorded",
    }
    assert vids_in(report)["alice@example.com"] == str(alice)
    assert held(box) == {alice, 102}


def test_a_run_stopped_before_sending_what_it_looked_up_again_resumes_it(
    tmp_path: Path, box: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "first.csv").write_text(FIRST_WEBINAR, encoding="utf-8")
    assert importer(f"importer run first.csv --event {EVENT}", env_for(box), capsys)[0] == 0
    alice = alice_created_again(box)
    box.inject(Fault("daily", path_contains="/attendance/", after=1))  # the write after the new lookup
    (tmp_path / "next.csv").write_text(NEXT_WEBINAR, encoding="utf-8")
    command = f"importer run next.csv --event {EVENT}"
    code, text = importer(command, env_for(box), capsys)
    assert code == 3, text
    assert held(box) == {102}
    before = len(box.requests)
    code, text = importer(command, env_for(box), capsys)
    assert code == 0, text
    assert paths_since(box, before) == [EVENT, "create"]  # the planned batch, no lookup
    report = tmp_path / "next.reconciliation.xlsx"
    assert outcomes(report)["alice@example.com"] == ("recorded", "")
    assert vids_in(report)["alice@example.com"] == str(alice)
    assert held(box) == {alice, 102}


def test_a_contact_looked_up_again_that_the_file_also_names_by_its_new_id_is_sent_once(
    tmp_path: Path, box: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "first.csv").write_text(FIRST_WEBINAR, encoding="utf-8")
    assert importer(f"importer run first.csv --event {EVENT}", env_for(box), capsys)[0] == 0
    alice = alice_created_again(box)
    (tmp_path / "next.csv").write_text(
        "Email,Record ID,Join Time\n"
        f"alice@example.com,{alice},2024-11-12T15:58:03Z\n"
        "alice@example.com,,2024-11-12T15:59:00Z\n"
        "bob@example.com,,2024-11-12T16:00:00Z\n",
        encoding="utf-8",
    )
    code, text = importer(f"importer run next.csv --event {EVENT}", env_for(box), capsys)
    assert code == 0, text
    _, rows = read_report(tmp_path / "next.reconciliation.xlsx")
    fates = [(r["source_row"], r["outcome"], r["reason"], r["merged_into"]) for r in rows]
    assert fates == [
        ("2", "recorded", "", ""),
        ("3", "merged", "duplicate_contact", "next.csv:2"),
        ("4", "recorded", "", ""),
    ]
    assert held(box) == {alice, 102}
    assert [n for (vid, _), n in box.write_counts(EVENT).items() if vid == alice] == [1]
