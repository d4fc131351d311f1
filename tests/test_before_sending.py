"""Before sending, on a terminal: the run shows what it is about to send and asks.

The CLI runs as a real process whose standard input, output and error are a pseudo-terminal (the
``pty`` module), as when a person types the command; the sandbox lives in this test process.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from row_objects import Also, Row, rows_to_table

from importer.chunker import batches, chunk, merge
from importer.models import EventInfo, FileInfo, Outcome, RowRef, State
from importer.preview import build_preview
from importer.sandbox import DEFAULT_TOKEN, Sandbox

EVENT = "1001"
SOURCE = """Email,Join Time,Attended
alice@example.com,2024-11-05T15:58:03Z,Yes
bob@example.com,2024-11-05T16:00:00Z,No
carol@example.com,2024-11-05T16:05:00Z,Yes
not-an-email,2024-11-05T16:05:00Z,Yes
"""
CONTACTS = {"alice@example.com": 101, "bob@example.com": 102, "carol@example.com": 103}


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(events={EVENT: {"eventName": "Pipelines Webinar"}}, contacts=CONTACTS) as sb:
        yield sb


def writes(sb: Sandbox) -> int:
    return sum(1 for r in sb.requests if "/attendance/" in r.path)


def on_a_terminal(args: list[str], cwd: Path, sb: Sandbox, answer: str | None) -> tuple[int, str]:
    """Run ``importer ARGS`` on a pseudo-terminal; type ``answer`` when the question shows."""
    master, slave = pty.openpty()
    env = {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN, "HUBSPOT_BASE_URL": sb.base_url, "COLUMNS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "importer", *args], cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    seen = b""
    typed = answer is None
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the process closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if not typed and b"[y/N]" in seen:
                os.write(master, answer.encode() if answer is not None else b"")
                typed = True
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, seen.decode("utf-8", "replace").replace("\r\n", "\n")


def command(tmp_path: Path, *more: str) -> list[str]:
    (tmp_path / "attendees.csv").write_text(SOURCE, encoding="utf-8")
    return ["run", "attendees.csv", "--event", EVENT, *more]


@pytest.mark.parametrize("answer", ["\n", "n\n", "no\n"])
def test_enter_or_no_sends_nothing(answer: str, box: Sandbox, tmp_path: Path) -> None:
    code, screen = on_a_terminal(command(tmp_path), tmp_path, box, answer)
    assert "Send 3 participations to Pipelines Webinar? [y/N]" in screen
    assert code == 3, screen
    assert writes(box) == 0
    assert "Nothing was sent" in screen and "--yes" in screen
    assert "Traceback" not in screen


def test_the_preview_says_what_will_happen_then_yes_sends(box: Sandbox, tmp_path: Path) -> None:
    code, screen = on_a_terminal(command(tmp_path), tmp_path, box, "y\n")
    preview = screen[screen.index("About to send") : screen.index("[y/N]")]
    assert "Pipelines Webinar (id 1001), starts " in preview
    assert "attendees.csv: generic, 4 rows" in preview
    assert "email <- 'Email'" in preview
    assert "3 participations (2 attend, 1 register)" in preview
    assert "rejected   1 participation (invalid_email 1)" in preview
    assert "2 requests, about 1 s (HubSpot allows 100 per 10 s)"  # one per state in preview
    assert code == 1, screen  # the bad email
    assert writes(box) == 2
    assert {p["vid"] for p in box.participations(EVENT)} == {101, 102, 103}


def test_yes_flag_and_a_pipe_never_ask(box: Sandbox, tmp_path: Path) -> None:
    code, screen = on_a_terminal(command(tmp_path, "--yes"), tmp_path, box, None)
    assert "[y/N]" not in screen and code == 1 and writes(box) == 2
    env = {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN, "HUBSPOT_BASE_URL": box.base_url}
    (tmp_path / "again.csv").write_text(SOURCE.replace("example.com", "example.org"), encoding="utf-8")
    box.add_contacts([e.replace("example.com", "example.org") for e in CONTACTS])
    piped = subprocess.run(
        [sys.executable, "-m", "importer", "run", "again.csv", "--event", EVENT],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "[y/N]" not in piped.stderr + piped.stdout
    assert piped.returncode == 1 and writes(box) == 4


def test_a_dry_run_never_asks_and_ends_with_how_to_send(box: Sandbox, tmp_path: Path) -> None:
    code, screen = on_a_terminal(command(tmp_path, "--dry-run"), tmp_path, box, None)
    assert "[y/N]" not in screen
    last = " ".join(screen.strip().split("Next: ")[-1].split())
    assert last == "run without --dry-run to send 3 participations: `importer run attendees.csv --event 1001`"
    assert code == 1 and writes(box) == 0


def test_the_preview_counts_a_rows_second_participation_too() -> None:
    """An attendee row proves its registration too: when that one is merged into another row's
    registration, or rejected for a bad registration time, the preview counts it."""
    rows = [
        Row(RowRef("reg.csv", 2), "a@example.com", 7, State.REGISTER, 100),
        Row(RowRef("att.csv", 2), "a@example.com", 7, State.ATTEND, 500, also=Also(State.REGISTER, 100)),
        Row(
            RowRef("att.csv", 3),
            "b@example.com",
            8,
            State.ATTEND,
            600,
            also=Also(State.REGISTER, None, outcome=Outcome.REJECTED, reason="bad_time", message="Bad time."),
        ),
    ]
    merged, parts = merge(rows_to_table(rows), "1001")
    plan = batches(chunk(parts, 100))
    files = [FileInfo(file="reg.csv", profile="generic", data_rows=1), FileInfo(file="att.csv", profile="generic")]
    text = build_preview(EventInfo(object_id="1001"), files, merged, plan, (100, 10.0), 4).text
    assert "to send    3 participations (2 attend, 1 register)" in text
    assert "merged     1 participation (duplicate_contact 1)" in text  # att.csv row 2's registration
    assert "rejected   1 participation (bad_time 1)" in text  # att.csv row 3's registration
