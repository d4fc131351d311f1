"""One participation per contact and state, end to end through ``importer run``, ``retry`` and
``verify`` against the sandbox over real HTTP.

The expected participations are written out here from what the sample files show (wall clock in
New York, read with zoneinfo), never computed by the importer.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from importer.cli import main
from importer.reporter import read_report
from importer.sandbox import DEFAULT_TOKEN, Fault, Sandbox

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
ATTENDEES = SAMPLES / "zoom_attendee_report.csv"
REGISTRANTS = SAMPLES / "zoom_registration_report.csv"
EVENT = "1001"
NY = "America/New_York"
ENV = {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN}

#: Who registered when (the earliest registration either file shows) and who joined when.
REGISTERED = {
    "jane.doe@example.com": "2024-10-28 09:14:22",  # both files; the rejoin row repeats it
    "carlos.ruiz@example.org": "2024-10-29 16:02:11",  # both files (one as 04:02:11 PM)
    "mei.chen@example.net": "2024-10-30 11:20:00",
    "ahmed.khan@example.com": "2024-11-01 08:45:33",
    "lena.fischer@example.org": "2024-11-02 19:03:41",
    "tom.baker@example.net": "2024-11-03 07:30:12",
    "sam.noshow@example.com": "2024-11-04 15:22:08",  # registered, did not attend
    "priya.patel@example.org": "2024-11-04 17:41:55",  # both files, did not attend
}
ATTENDED = {
    "jane.doe@example.com": "2024-11-05 10:58:03",  # the earlier of her two joins
    "carlos.ruiz@example.org": "2024-11-05 10:59:47",
    "mei.chen@example.net": "2024-11-05 11:02:15",
    "ahmed.khan@example.com": "2024-11-05 11:05:09",
    "lena.fischer@example.org": "2024-11-05 10:56:30",
    "tom.baker@example.net": "2024-11-05 11:10:45",
}
PEOPLE = sorted(set(REGISTERED) | {"olivia.host@example.com", "pat.panel@example.org", "rex.denied@example.net"})


def ms(wall: str) -> int:
    stamp = datetime.fromisoformat(wall).replace(tzinfo=ZoneInfo(NY))
    return (stamp - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def expected(vids: dict[str, int]) -> set[tuple[int, str, int]]:
    return {(vids[e], "register", ms(w)) for e, w in REGISTERED.items()} | {
        (vids[e], "attend", ms(w)) for e, w in ATTENDED.items()
    }


def run(box: Sandbox, tmp_path: Path, *files: Path, report: str = "r.csv", more: tuple[str, ...] = ()) -> int:
    return main(
        ["run", *map(str, files), "--event", EVENT, "--timezone", NY, "--base-url", box.base_url,
         "--state-dir", str(tmp_path / "state"), "--report", str(tmp_path / report), *more],
        environ=ENV,
    )  # fmt: skip


def breakdown(box: Sandbox) -> set[tuple[int, str, int]]:
    """What HubSpot's participations breakdown lists, read over HTTP as any client would."""
    url = f"{box.base_url}/marketing/v3/marketing-events/participations/{EVENT}/breakdown"
    got: set[tuple[int, str, int]] = set()
    params = {"limit": "100"}
    while True:
        answer = httpx.get(url, params=params, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        for item in page["results"]:
            state = {"REGISTERED": "register", "ATTENDED": "attend", "CANCELLED": "cancel"}[
                item["properties"]["attendanceState"]
            ]
            got.add((int(item["associations"]["contact"]["contactId"]), state, int(item["properties"]["occurredAt"])))
        if "paging" not in page:
            return got
        params = {"limit": "100", "after": page["paging"]["next"]["after"]}


def rows_of(path: Path) -> dict[tuple[str, int], dict[str, Any]]:
    _, rows = read_report(path)
    keys = [(Path(r["source_file"]).name, int(r["source_row"])) for r in rows]
    assert len(set(keys)) == len(keys)  # one line per input row
    return dict(zip(keys, rows, strict=True))


def test_an_attendee_report_records_each_attendee_as_registered_and_attended(tmp_path: Path) -> None:
    with Sandbox(events={EVENT: {"startDateTime": "2024-11-05T16:00:00Z"}}) as box:
        box.add_contacts(PEOPLE)
        vids = box.contacts
        code = run(box, tmp_path, ATTENDEES, more=("--verify",))
        assert code == 0
        assert breakdown(box) == expected(vids)
        counters = httpx.get(
            f"{box.base_url}/marketing/v3/marketing-events/participations/{EVENT}",
            headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
        ).json()
        assert (counters["registered"], counters["attended"]) == (8, 6)  # every attendee counts as registered
        assert set(box.write_counts(EVENT).values()) == {1}
    rows = rows_of(tmp_path / "r.csv")
    jane = rows["zoom_attendee_report.csv", 13]
    assert (jane["state"], jane["outcome"], jane["also_state"], jane["also_outcome"]) == (
        "attend", "recorded", "register", "recorded"
    )  # fmt: skip
    rejoin = rows["zoom_attendee_report.csv", 14]
    assert (rejoin["outcome"], rejoin["also_outcome"]) == ("merged", "merged")
    assert rejoin["also_merged_into"].endswith("zoom_attendee_report.csv:13")
    sam = rows["zoom_attendee_report.csv", 20]
    assert (sam["state"], sam["also_state"]) == ("register", "")  # a no-show proves no attendance


def test_a_registration_report_with_its_attendee_report_records_both(tmp_path: Path) -> None:
    with Sandbox(events={EVENT: {"startDateTime": "2024-11-05T16:00:00Z"}}) as box:
        box.add_contacts([*PEOPLE, "nina.wait@example.net"])
        vids = box.contacts
        code = run(box, tmp_path, REGISTRANTS, ATTENDEES)
        assert code == 0
        assert breakdown(box) == expected(vids)
        assert set(box.write_counts(EVENT).values()) == {1}
        verified = main(["verify", str(tmp_path / "r.csv"), "--base-url", box.base_url], environ=ENV)
        assert verified == 0
    rows = rows_of(tmp_path / "r.csv")
    # Jane registered once: one of her two rows that show it carries it, the other is merged into it
    listed = rows["zoom_registration_report.csv", 7]
    jane = rows["zoom_attendee_report.csv", 13]
    assert jane["outcome"] == "recorded" and jane["state"] == "attend"
    assert {listed["outcome"], jane["also_outcome"]} == {"recorded", "merged"}
    carrier = "zoom_attendee_report.csv:13" if listed["outcome"] == "merged" else "zoom_registration_report.csv:7"
    assert (listed["merged_into"] or jane["also_merged_into"]).endswith(carrier)
    assert rows["zoom_attendee_report.csv", 21]["state"] == "register"  # Priya, in both files, did not attend


def test_a_failed_registration_is_retried_alone_and_verify_checks_each_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox(events={EVENT: {"startDateTime": "2024-11-05T16:00:00Z"}}) as box:
        box.add_contacts(PEOPLE)
        vids = box.contacts
        box.inject(Fault("status", "/attendance/register/", times=1, status=500))
        code = main(
            ["run", str(ATTENDEES), "--event", EVENT, "--timezone", NY, "--base-url", box.base_url,
             "--state-dir", str(tmp_path / "state"), "--report", str(tmp_path / "r.xlsx")],
            environ={**ENV, "IMPORTER_RETRY_ATTEMPTS": "1"},  # a 500 fails at once: no real backoff waits
        )  # fmt: skip
        assert code == 1
        held = breakdown(box)
        assert {p for p in held if p[1] == "attend"} == {p for p in expected(vids) if p[1] == "attend"}
        assert {p for p in held if p[1] == "register"} == set()
        rows = rows_of(tmp_path / "r.xlsx")
        jane = rows["zoom_attendee_report.csv", 13]
        # the row shows what needs the user first: the failed registration; the attendance is recorded
        assert (jane["state"], jane["outcome"], jane["reason"]) == ("register", "failed", "http_5xx")
        assert (jane["also_state"], jane["also_outcome"]) == ("attend", "recorded")
        capsys.readouterr()
        assert main(["verify", str(tmp_path / "r.xlsx"), "--base-url", box.base_url], environ=ENV) == 0
        assert "6 of 6 recorded participations" in capsys.readouterr().out

        writes = Counter(box.write_counts(EVENT))
        retried = main(
            ["retry", str(tmp_path / "r.xlsx"), "--base-url", box.base_url, "--state-dir", str(tmp_path / "state")],
            environ=ENV,
        )
        assert retried == 0
        assert breakdown(box) == expected(vids)
        after = box.write_counts(EVENT)
        assert {k: v for k, v in after.items() if k[1] == "attend"} == {
            k: v for k, v in writes.items() if k[1] == "attend"
        }  # the recorded attendances were not sent again
        assert set(after.values()) == {1}
        rows = rows_of(tmp_path / "r.xlsx")
        assert {r["outcome"] for r in rows.values()} == {"recorded", "merged", "skipped"}
        jane = rows["zoom_attendee_report.csv", 13]
        assert {(jane["state"], jane["outcome"]), (jane["also_state"], jane["also_outcome"])} == {
            ("register", "recorded"),
            ("attend", "recorded"),
        }
        capsys.readouterr()
        assert main(["verify", str(tmp_path / "r.xlsx"), "--base-url", box.base_url], environ=ENV) == 0
        assert "14 of 14 recorded participations" in capsys.readouterr().out
        box.lose_participation(EVENT, vids["jane.doe@example.com"], "register")
        assert main(["verify", str(tmp_path / "r.xlsx"), "--base-url", box.base_url], environ=ENV) == 1
        out = capsys.readouterr().out
        assert f"missing: vid {vids['jane.doe@example.com']} jane.doe@example.com as register" in out
        assert "as attend" not in out


def test_a_stopped_run_resumes_per_participation_and_a_rerun_sends_nothing(tmp_path: Path) -> None:
    with Sandbox(events={EVENT: {"startDateTime": "2024-11-05T16:00:00Z"}}) as box:
        box.add_contacts(PEOPLE)
        vids = box.contacts
        box.inject(Fault("daily", "/attendance/attend/"))  # registrations go first, then the daily limit
        assert run(box, tmp_path, ATTENDEES, more=("--batch-size", "3", "--concurrency", "1")) == 3
        held = breakdown(box)
        assert {p for p in held if p[1] == "register"} == {p for p in expected(vids) if p[1] == "register"}
        assert not {p for p in held if p[1] == "attend"}
        assert (
            run(box, tmp_path, ATTENDEES, more=("--batch-size", "3", "--concurrency", "1")) == 0
        )  # the same command resumes
        assert breakdown(box) == expected(vids)
        assert set(box.write_counts(EVENT).values()) == {1}
        rows = rows_of(tmp_path / "r.csv")
        assert rows["zoom_attendee_report.csv", 13]["outcome"] == "recorded"
        assert rows["zoom_attendee_report.csv", 13]["also_outcome"] == "recorded"
        writes = sum(1 for r in box.requests if "/attendance/" in r.path)
        assert run(box, tmp_path, ATTENDEES, report="again.csv", more=("--batch-size", "3", "--concurrency", "1")) == 0
        assert sum(1 for r in box.requests if "/attendance/" in r.path) == writes
        again = rows_of(tmp_path / "again.csv")
        jane = again["zoom_attendee_report.csv", 13]
        assert (jane["outcome"], jane["reason"], jane["also_outcome"]) == ("skipped", "already_recorded", "skipped")
        assert jane["message"].startswith("Already in HubSpot: recorded as attend on ")
        assert jane["also_message"].startswith("Already in HubSpot: recorded as register on ")
