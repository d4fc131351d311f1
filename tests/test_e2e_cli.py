"""End to end through the CLI against the sandbox over real HTTP: the issue's "done when" cases."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from importer.cli import main
from importer.sandbox import DEFAULT_TOKEN, Fault, Sandbox

CONTRACT = [
    "source_file",
    "source_row",
    "email",
    "vid",
    "state",
    "interaction_time_utc",
    "outcome",
    "reason",
    "message",
]
NY = ZoneInfo("America/New_York")

GENERIC = """Email,Record ID,Join Time
alice@example.com,,2024-11-05 10:58:03
BOB@Example.com,,2024-11-05 11:00:00
 bob@example.com ,,2024-11-05 10:59:00
carol@example.com,5005,2024-11-05 11:05:00
not-an-email,,2024-11-05 11:00:00
nobody@example.com,,2024-11-05 11:00:00
,7007,2024-03-10 03:30:00
"""


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=NY).timestamp() * 1000)


def rows_of(report: Path) -> dict[int, dict[str, object]]:
    wb = openpyxl.load_workbook(report, read_only=True)
    ws = wb["Rows"]
    values = list(ws.iter_rows(values_only=True))
    header = list(values[0])
    assert header[: len(CONTRACT)] == CONTRACT
    return {int(v[1]): dict(zip(header, v, strict=True)) for v in values[1:]}  # type: ignore[arg-type]


@pytest.fixture
def box() -> Sandbox:
    sb = Sandbox(
        events=["1001"],
        contacts={"alice@example.com": 101, "bob@example.com": 102, "carol@example.com": 5005, "dan@example.com": 7007},
    )
    sb.start()
    yield sb
    sb.stop()


def write_xlsx(path: Path, text: str) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    lines = text.splitlines()
    ws.append(lines[0].split(","))
    for line in lines[1:]:
        cells = line.split(",")
        ws.append(
            [
                cells[0],
                int(cells[1]) if cells[1].isdigit() else None,
                datetime.fromisoformat(cells[2]) if cells[2][:1].isdigit() else cells[2],
            ]
        )
    wb.save(path)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_generic_sheet_lands_exactly(kind: str, box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    src = tmp_path / f"attendees.{kind}"
    if kind == "csv":
        src.write_text(GENERIC, encoding="utf-8")
    else:
        write_xlsx(src, GENERIC)
    env = {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN}
    code = main(
        ["run", str(src), "--event", "1001", "--timezone", "America/New_York", "--base-url", box.base_url], environ=env
    )
    assert code == 1  # some rows rejected
    got = {(p["vid"], p["state"]): p["occurred_at"] for p in box.participations("1001")}
    assert got == {
        (101, "attend"): ms("2024-11-05 10:58:03"),
        (102, "attend"): ms("2024-11-05 10:59:00"),
        (5005, "attend"): ms("2024-11-05 11:05:00"),
        (7007, "attend"): ms("2024-03-10 03:30:00"),  # 02:00-03:00 does not exist that night; 03:30 is EDT
    }
    assert all(r.inputs <= 100 for r in box.requests)
    report = tmp_path / "attendees.reconciliation.xlsx"
    rows = rows_of(report)
    assert set(rows) == {2, 3, 4, 5, 6, 7, 8}
    assert rows[2]["outcome"] == "recorded" and rows[2]["vid"] == 101
    assert rows[2]["interaction_time_utc"] in ("2024-11-05T15:58:03Z", datetime(2024, 11, 5, 15, 58, 3))
    assert rows[3]["outcome"] == "merged" and rows[3]["reason"] == "duplicate_contact"
    assert rows[4]["outcome"] == "recorded" and rows[4]["email"] == "bob@example.com"
    assert rows[6]["outcome"] == "rejected" and rows[6]["reason"] == "invalid_email"
    assert rows[7]["outcome"] == "rejected" and rows[7]["reason"] == "contact_not_found"
    assert rows[8]["outcome"] == "recorded" and rows[8]["vid"] == 7007
    assert all(r["message"] for r in rows.values() if r["outcome"] != "recorded")


def test_large_file_never_sends_more_than_100_inputs(tmp_path: Path) -> None:
    emails = [f"p{i}@example.com" for i in range(250)]
    src = tmp_path / "big.csv"
    src.write_text("Email,Join Time\n" + "".join(f"{e},2024-11-05T15:00:00Z\n" for e in emails))
    with Sandbox(events=["1001"]) as sb:
        sb.add_contacts(emails)
        code = main(
            ["run", str(src), "--event", "1001", "--base-url", sb.base_url, "--report", str(tmp_path / "r.csv"),
             "--state-dir", str(tmp_path / "st")],
            environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN},
        )  # fmt: skip
        assert code == 0
        sizes = sorted(r.inputs for r in sb.requests if "attendance" in r.path)
        assert sizes == [50, 100, 100]
        lookups = [r.inputs for r in sb.requests if "batch/read" in r.path]
        assert sorted(lookups) == [50, 100, 100]
        assert len(sb.participations("1001")) == 250


def test_dry_run_sends_nothing_and_plans_every_row(box: Sandbox, tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text(GENERIC)
    report = tmp_path / "plan.csv"
    code = main(
        ["run", str(src), "--event", "1001", "--timezone", "America/New_York", "--dry-run", "--base-url", box.base_url,
         "--report", str(report), "--state-dir", str(tmp_path / "st")],
        environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN},
    )  # fmt: skip
    assert code == 1
    assert box.participations("1001") == []
    assert not [r for r in box.requests if "attendance" in r.path]
    text = report.read_text(encoding="utf-8-sig")
    assert text.count(",planned,") == 4
    lines = list(csv.DictReader(io.StringIO(text)))
    assert {line["profile"] for line in lines} == {"generic"}  # a CSV report has no Summary, so each line says it


@pytest.mark.parametrize(
    ("tokens", "token", "code", "words"),
    [
        (None, "wrong-token", 3, "HUBSPOT_ACCESS_TOKEN"),
        (
            {"t": frozenset({"crm.objects.marketing_events.read", "crm.objects.contacts.read"})},
            "t",
            3,
            "crm.objects.marketing_events.write",
        ),
        (
            {"t": frozenset({"crm.objects.marketing_events.read", "crm.objects.marketing_events.write"})},
            "t",
            3,
            "crm.objects.contacts.read",
        ),
    ],
)
def test_token_and_scope_problems_stop_with_exit_3(
    tokens: dict[str, frozenset[str]] | None,
    token: str,
    code: int,
    words: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    src = tmp_path / "a.csv"
    src.write_text("Email,Join Time\nalice@example.com,2024-11-05T15:00:00Z\n")
    with Sandbox(events=["1001"], tokens=tokens, contacts={"alice@example.com": 1}) as sb:
        got = main(
            ["run", str(src), "--event", "1001", "--base-url", sb.base_url, "--report", str(tmp_path / "r.csv"),
             "--state-dir", str(tmp_path / "st")],
            environ={"HUBSPOT_ACCESS_TOKEN": token},
        )  # fmt: skip
        assert sb.participations("1001") == []
    assert got == code
    out = capsys.readouterr()
    assert words in out.err + out.out
    assert token not in out.err + out.out or token == "t"
    assert "Traceback" not in out.err


def test_unknown_event_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.csv"
    src.write_text("Email,Join Time\nalice@example.com,2024-11-05T15:00:00Z\n")
    with Sandbox() as sb:
        args = ["run", str(src), "--event", "424242", "--base-url", sb.base_url, "--state-dir", str(tmp_path / "s")]
        code = main(args,
                    environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN})  # fmt: skip
    assert code == 2
    assert "424242" in capsys.readouterr().err


def test_times_without_offset_need_a_timezone(box: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.csv"
    src.write_text(GENERIC)
    code = main(["run", str(src), "--event", "1001", "--base-url", box.base_url, "--state-dir", str(tmp_path / "s")],
                environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN})  # fmt: skip
    assert code == 2
    assert "--timezone" in capsys.readouterr().err
    assert box.requests == []


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty.csv", b"", "empty"),
        ("noemail.csv", b"Name,Company\nAlice,ACME\n", "Name"),
        ("image.xlsx", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "PNG"),
        ("broken.xlsx", b"PK\x03\x04" + b"garbage" * 20, "broken.xlsx"),
    ],
)
def test_bad_files_exit_2_with_one_sentence(
    name: str, content: bytes, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / name
    src.write_bytes(content)
    args = ["run", str(src), "--event", "1001", "--base-url", "http://127.0.0.1:9", "--state-dir", str(tmp_path / "s")]
    code = main(args,
                environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN})  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert name in err and words in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_sandbox_run_needs_no_account_and_repeats_identically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "attendees.csv"
    src.write_text(GENERIC, encoding="utf-8")
    args = ["run", str(src), "--event", "1001", "--timezone", "America/New_York", "--sandbox"]
    for _ in range(2):  # the sandbox forgets everything, so the second run must not claim "already recorded"
        assert main(args, environ={}) == 1  # the bad email is still rejected
        rows = rows_of(tmp_path / "attendees.reconciliation.xlsx")
        outcomes = sorted(str(r["outcome"]) for r in rows.values())
        assert outcomes == ["merged", "recorded", "recorded", "recorded", "recorded", "recorded", "rejected"]
        dump = json.loads((tmp_path / ".importer" / "sandbox-hubspot-state.json").read_text())
        assert len(dump["participations"]["1001"]) == 5
    err = capsys.readouterr().err
    assert "sandbox-hubspot-state.json" in err
    assert "sandbox: created marketing event 1001" in err


@pytest.mark.parametrize(
    ("version", "events_prefix", "contacts_prefix"),
    [
        ("v3", "/marketing/v3/marketing-events/", "/crm/v3/objects/contacts/"),
        ("2026-03", "/marketing/marketing-events/2026-03/", "/crm/objects/2026-03/contacts/"),
        ("2026-09", "/marketing/marketing-events/2026-09/", "/crm/objects/2026-09/contacts/"),
    ],
)
def test_run_and_verify_in_every_api_version(
    version: str, events_prefix: str, contacts_prefix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lookup, record by vid and by email (created contacts), counters and breakdown, on each version's paths,
    with contact ids past 2^31 as real portals issue them."""
    src = tmp_path / "a.csv"
    src.write_text("Email,Join Time\nalice@example.com,2024-11-05T15:00:00Z\nnew@example.com,2024-11-05T15:01:00Z\n")
    report = tmp_path / "r.csv"
    with Sandbox(events=["1001"], contacts={"alice@example.com": 86097279137}) as sb:
        common = ["--base-url", sb.base_url, "--api-version", version]
        run = ["run", str(src), "--event", "1001", "--report", str(report), "--state-dir", str(tmp_path / "s")]
        env = {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN}
        assert main([*run, "--create-missing", "--verify", *common], environ=env) == 0
        assert main(["verify", str(report), *common], environ=env) == 0
        paths = {r.path for r in sb.requests}
        vids = {p["email"]: p["vid"] for p in sb.participations("1001")}
    assert vids["alice@example.com"] == 86097279137 and vids["new@example.com"] > 2**32
    assert all(p.startswith((events_prefix, contacts_prefix)) for p in paths), paths
    assert {p.rsplit("/", 1)[-1] for p in paths} >= {"1001", "create", "email-create", "read", "breakdown"}
    assert (
        capsys.readouterr().out.count("2 of 2 recorded participations (contact and state) are visible in HubSpot") == 2
    )


@pytest.mark.parametrize("multi_status", [False, True], ids=["200 with errors (the contract)", "207 (fault)"])
def test_partial_attendance_answer_fails_only_the_named_contact(
    multi_status: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """HubSpot answers a batch with an unknown contact id 200 + numErrors + errors[].context.ids;
    some answers come as 207.  Either way the named row fails, the others are recorded."""
    src = tmp_path / "a.csv"
    src.write_text("Email,Record ID,Join Time\nalice@example.com,86097279137,2024-11-05T15:00:00Z\n"
                   "ghost@example.com,86097279999,2024-11-05T15:00:00Z\n")  # fmt: skip
    with Sandbox(events=["1001"], contacts={"alice@example.com": 86097279137}) as sb:
        if multi_status:
            sb.inject(Fault("partial_207", path_contains="/attendance/"))
        code = main(
            ["run", str(src), "--event", "1001", "--base-url", sb.base_url, "--report", str(tmp_path / "r.csv"),
             "--state-dir", str(tmp_path / "s")],
            environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN},
        )  # fmt: skip
        statuses = [r.status for r in sb.requests if "/attendance/" in r.path]
        held = [p["vid"] for p in sb.participations("1001")]
    assert code == 1, capsys.readouterr().err
    assert statuses == [207 if multi_status else 200]
    assert held == [86097279137]
    with (tmp_path / "r.csv").open(encoding="utf-8-sig") as handle:
        rows = {r["email"]: r for r in csv.DictReader(handle)}
    assert (rows["alice@example.com"]["outcome"], rows["alice@example.com"]["vid"]) == ("recorded", "86097279137")
    assert (rows["ghost@example.com"]["outcome"], rows["ghost@example.com"]["reason"]) == (
        "failed",
        "rejected_by_hubspot",
    )


@pytest.mark.parametrize("event", ["webinar-7", str(2**63)])
def test_sandbox_run_with_an_impossible_event_id_exits_2(
    event: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "a.csv"
    src.write_text("Email,Join Time\nalice@example.com,2024-11-05T15:00:00Z\n")
    code = main(["run", str(src), "--event", event, "--sandbox", "--state-dir", str(tmp_path / "s")], environ={})
    err = capsys.readouterr().err
    assert code == 2
    assert f"no marketing event {event}" in err and "Traceback" not in err


def test_a_tie_on_time_is_carried_by_the_file_given_first(box: Sandbox, tmp_path: Path) -> None:
    # z.csv is given first: its row carries the participation, though 'a.csv' sorts first by name
    for name in ("z.csv", "a.csv"):
        (tmp_path / name).write_text("Email,Join Time\nalice@example.com,2024-11-05T15:00:00Z\n")
    report = tmp_path / "plan.csv"
    code = main(
        ["run", str(tmp_path / "z.csv"), str(tmp_path / "a.csv"), "--event", "1001", "--dry-run",
         "--base-url", box.base_url, "--report", str(report), "--state-dir", str(tmp_path / "st")],
        environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN},
    )  # fmt: skip
    assert code == 0
    text = report.read_text(encoding="utf-8-sig")
    lines = {Path(line["source_file"]).name: line for line in csv.DictReader(io.StringIO(text))}
    assert lines["z.csv"]["outcome"] == "planned"
    assert lines["a.csv"]["outcome"] == "merged"
    assert lines["a.csv"]["merged_into"].endswith("z.csv:2")


def test_a_time_the_autumn_repeats_is_recorded_and_its_row_says_which_reading(box: Sandbox, tmp_path: Path) -> None:
    src = tmp_path / "night.csv"
    src.write_text("Email,Join Time\nalice@example.com,2024-11-03 01:30\nbob@example.com,2024-11-03 03:00\n")
    report = tmp_path / "r.csv"
    code = main(
        ["run", str(src), "--event", "1001", "--timezone", "America/New_York", "--base-url", box.base_url,
         "--report", str(report), "--state-dir", str(tmp_path / "st")],
        environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN},
    )  # fmt: skip
    assert code == 0
    assert (
        {p["vid"]: p["occurred_at"] for p in box.participations("1001")}[101]
        == ms("2024-11-03 01:30")
        == (
            int(datetime(2024, 11, 3, 5, 30, tzinfo=ZoneInfo("UTC")).timestamp() * 1000)  # EDT, the first of the two
        )
    )
    lines = list(csv.DictReader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    alice, bob = lines
    assert alice["outcome"] == "recorded" and alice["message"].startswith("Recorded as attend.")
    assert "happened twice in America/New_York" in alice["message"] and "01:30 EST (UTC-05:00)" in alice["message"]
    assert bob["message"] == "Recorded as attend."
