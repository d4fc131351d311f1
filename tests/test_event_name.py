"""--event-name: the marketing event found by its name in HubSpot's list of the portal's events
(paged as HubSpot pages it), asked about when several match, never guessed."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from importer import config, pipeline
from importer.cli import main
from importer.config import Config
from importer.console import Console
from importer.errors import InputError
from importer.events import matching, pick
from importer.hubspot import HubSpot
from importer.models import EventInfo
from importer.sandbox import DEFAULT_TOKEN, Sandbox

CSV = "Email,Join Time\nalice@example.com,2024-11-05T15:58:03Z\n"
START = "2024-11-05T15:00:00Z"


def _env(sb: Sandbox) -> dict[str, str]:
    return {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN, "HUBSPOT_BASE_URL": sb.base_url}


def _events(*names: str, first: int = 1001) -> dict[str, dict[str, str]]:
    return {str(first + i): {"eventName": name, "startDateTime": START} for i, name in enumerate(names)}


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text(CSV, encoding="utf-8")
    return tmp_path


def test_the_list_is_read_page_by_page_as_hubspot_pages_it() -> None:
    names = [f"Webinar {i}" for i in range(250)]
    with Sandbox(events=_events(*names)) as sb:
        cfg = Config(base_url=sb.base_url, token=DEFAULT_TOKEN)
        with HubSpot(cfg) as client:
            listed = list(client.list_events())
        assert [e.name for e in listed] == names
        assert listed[0] == EventInfo("1001", "Webinar 0", 1730818800000, 1730822400000)
        pages = [r.path for r in sb.requests]
        assert pages == ["/marketing/marketing-events/2026-03"] * 3  # 100 a page, HubSpot's most
        plain = httpx.get(
            f"{sb.base_url}/marketing/v3/marketing-events", headers={"Authorization": "Bearer " + DEFAULT_TOKEN}
        )
        assert len(plain.json()["results"]) == 10 and plain.json()["paging"]["next"]["after"]  # HubSpot's default
        too_many = httpx.get(
            f"{sb.base_url}/marketing/marketing-events/2026-03",
            params={"limit": 101},
            headers={"Authorization": "Bearer " + DEFAULT_TOKEN},
        )
        assert too_many.status_code == 400


def test_one_event_of_exactly_that_name_is_taken(inbox: Path) -> None:
    with Sandbox(events=_events("Autumn webinar 2025", "autumn  Webinar"), contacts={"alice@example.com": 101}) as sb:
        assert main(["run", "a.csv", "--event-name", "Autumn webinar"], environ=_env(sb)) == 0
        assert [p["vid"] for p in sb.participations("1002")] == [101]
        assert sb.participations("1001") == []


def test_several_of_that_name_stop_a_run_without_a_terminal_naming_each_id(
    inbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox(
        events=_events("Autumn webinar", "Spring webinar", "Autumn webinar"), contacts={"alice@example.com": 101}
    ) as sb:
        assert main(["run", "a.csv", "--event-name", "Autumn webinar"], environ=_env(sb)) == 2
        err = capsys.readouterr().err
        assert "2 marketing events in HubSpot are named 'Autumn webinar' (nothing was sent):" in err
        assert "\n  --event 1001  Autumn webinar  (starts 2024-11-05 15:00 UTC)\n" in err
        assert "\n  --event 1003  Autumn webinar  (starts 2024-11-05 15:00 UTC)\n" in err
        assert "1002" not in err
        assert "Run the same command with the --event of the one you mean instead of --event-name" in err
        assert not any(r.method == "POST" for r in sb.requests)  # nothing was sent
        # the step the message names works
        assert main(["run", "a.csv", "--event", "1003"], environ=_env(sb)) == 0
        assert [p["vid"] for p in sb.participations("1003")] == [101]


def test_names_that_only_contain_it_are_asked_about_never_taken(
    inbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox(events=_events("Autumn webinar 2025"), contacts={"alice@example.com": 101}) as sb:
        assert main(["run", "a.csv", "--event-name", "autumn webinar"], environ=_env(sb)) == 2
        err = capsys.readouterr().err
        assert "No marketing event is named exactly 'autumn webinar'; 1 has 'autumn webinar' in the name" in err
        assert "  --event 1001  Autumn webinar 2025" in err
        assert sb.participations("1001") == []


def test_no_event_of_that_name_says_how_to_list_them(inbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Sandbox(events=_events("Spring webinar")) as sb:
        assert main(["run", "a.csv", "--event-name", "Autumn webinar"], environ=_env(sb)) == 2
        err = capsys.readouterr().err
        assert "No marketing event in HubSpot is named 'Autumn webinar'" in err and "importer events" in err
        # and listing them works
        assert main(["events"], environ=_env(sb)) == 0
        assert "1001  Spring webinar  (starts 2024-11-05 15:00 UTC)" in capsys.readouterr().out
        assert main(["events", "--name", "spring", "--json"], environ=_env(sb)) == 0
        listed = json.loads(capsys.readouterr().out)
        assert listed["events"] == [{"id": "1001", "name": "Spring webinar", "start_utc": "2024-11-05T15:00:00Z"}]


def test_on_a_terminal_the_person_picks_one(inbox: Path) -> None:
    asked: list[tuple[str, list[str]]] = []

    def choose(said: str, candidates: list[EventInfo]) -> EventInfo | None:
        asked.append((said, [e.object_id for e in candidates]))
        return candidates[1]

    with Sandbox(events=_events("Autumn webinar", "Autumn webinar"), contacts={"alice@example.com": 101}) as sb:
        cfg = config.build(
            {"inputs": ("a.csv",), "event_name": "Autumn webinar", "base_url": sb.base_url}, environ=_env(sb)
        )
        result = pipeline.run(cfg, pipeline.Services(choose=choose))
        assert result.exit_code == 0 and result.report.summary.event.object_id == "1002"
        assert asked == [("2 marketing events in HubSpot are named 'Autumn webinar':", ["1001", "1002"])]
        assert [p["vid"] for p in sb.participations("1002")] == [101]
        with pytest.raises(InputError, match="No event was chosen"):
            pipeline.run(cfg, pipeline.Services(choose=lambda said, c: None))


@pytest.mark.parametrize(("typed", "picked"), [("2\n", "1002"), ("\n", None), ("x\n", None), ("9\n", None), ("", None)])
def test_the_console_asks_by_number(typed: str, picked: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    stream = io.StringIO()
    candidates = [EventInfo("1001", "Autumn webinar"), EventInfo("1002", "Autumn webinar", 1730818800000)]
    chosen = Console(stream=stream).choose_event("2 marketing events ...:", candidates)
    assert (chosen.object_id if chosen else None) == picked
    shown = stream.getvalue()
    assert (
        "  1) 1001  Autumn webinar\n" in shown and "  2) 1002  Autumn webinar  (starts 2024-11-05 15:00 UTC)" in shown
    )
    assert "Which event? [1-2, Enter for none]" in shown


def test_the_name_comes_from_file_env_or_flag_and_the_later_source_wins(tmp_path: Path) -> None:
    job = tmp_path / "job.toml"
    job.write_text('event_name = "Autumn webinar"\n', encoding="utf-8")
    assert config.build({"config": str(job)}, environ={}).event_name == "Autumn webinar"
    env = {"IMPORTER_EVENT_NAME": "Spring webinar"}
    assert config.build({"config": str(job)}, environ=env).event_name == "Spring webinar"
    by_flag = config.build({"config": str(job), "event_id": "1001"}, environ=env)
    assert (by_flag.event_id, by_flag.event_name) == ("1001", "")  # the command line names the event by id
    job.write_text('event_id = "1001"\n', encoding="utf-8")
    by_name = config.build({"config": str(job), "event_name": " Autumn webinar "}, environ={})
    assert (by_name.event_id, by_name.event_name) == ("", "Autumn webinar")


def test_one_source_giving_both_is_asked_to_choose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "a.csv", "--event", "1001", "--event-name", "Autumn webinar"], environ={}) == 2
    assert "gives both --event and --event-name" in capsys.readouterr().err
    job = tmp_path / "job.toml"
    job.write_text('event_id = "1001"\nevent_name = "Autumn webinar"\n', encoding="utf-8")
    with pytest.raises(InputError, match="gives both event_id and event_name"):
        config.build({"config": str(job)}, environ={})


def test_a_rehearsal_finds_the_event_by_name(inbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "a.csv", "--event-name", "Autumn webinar", "--sandbox", "--yes"], environ={}) == 0
    err = capsys.readouterr().err
    assert "sandbox: created marketing event 'Autumn webinar'" in err
    assert "event 'Autumn webinar' is 1001  Autumn webinar" in err
    assert "sandbox: HubSpot recorded 1 participation for event 1001;" in err


def test_matching_ignores_case_and_spacing() -> None:
    events = [EventInfo("1", "Autumn  Webinar"), EventInfo("2", "Autumn webinar (repeat)"), EventInfo("3", "")]
    assert matching(events, "autumn webinar") == ([events[0]], [])
    assert matching(events, "repeat") == ([], [events[1]])
    assert pick(events, " AUTUMN webinar ", None) == events[0]


def _on_a_terminal(args: list[str], cwd: Path, sb: Sandbox, answers: dict[bytes, bytes]) -> tuple[int, str]:
    """``importer ARGS`` on a pseudo-terminal, typing each answer when its prompt shows."""
    master, slave = pty.openpty()
    env = {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN, "HUBSPOT_BASE_URL": sb.base_url, "COLUMNS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "importer", *args], cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    seen, pending = b"", dict(answers)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            for prompt in [p for p in pending if p in seen]:
                os.write(master, pending.pop(prompt))
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, seen.decode("utf-8", "replace").replace("\r\n", "\n")


def test_a_person_at_a_terminal_picks_the_event_by_number(inbox: Path) -> None:
    with Sandbox(events=_events("Autumn webinar", "Autumn webinar"), contacts={"alice@example.com": 101}) as sb:
        answers = {b"Which event?": b"2\n", b"[y/N]": b"y\n"}
        code, screen = _on_a_terminal(["run", "a.csv", "--event-name", "Autumn webinar"], inbox, sb, answers)
        assert code == 0, screen
        assert "  1) 1001  Autumn webinar  (starts 2024-11-05 15:00 UTC)" in screen
        assert "  2) 1002  Autumn webinar  (starts 2024-11-05 15:00 UTC)" in screen
        assert "Send 1 participation to Autumn webinar? [y/N]" in screen
        assert [p["vid"] for p in sb.participations("1002")] == [101] and sb.participations("1001") == []
