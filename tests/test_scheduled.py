"""Scheduled runs: ``importer run --config job.toml --json`` with nothing else, as cron would start it.

The job file names the inputs (a glob), the event, the time zone, the report and done folders and the
log file; stdout carries exactly one JSON line, stderr plain log lines.  The console's progress bar
is checked on a fake terminal.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from importer.console import Console
from importer.sandbox import DEFAULT_TOKEN, Sandbox

FIRST = "Email,Join Time\nalice@example.com,2024-11-05 10:58:03\nbob@example.com,2024-11-05 11:00:00\n"
SECOND = "Email,Join Time\ncarol@example.com,2024-11-05 11:05:00\n"


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(
        events=["1001"], contacts={"alice@example.com": 101, "bob@example.com": 102, "carol@example.com": 103}
    ) as sb:
        yield sb


def _job(tmp_path: Path, base_url: str) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (tmp_path / "logs").mkdir()
    (inbox / "a-webinar.csv").write_text(FIRST, encoding="utf-8")
    (inbox / "b-webinar.csv").write_text(SECOND, encoding="utf-8")
    job = tmp_path / "job.toml"
    job.write_text(
        f"""inputs = ["inbox/*.csv"]
event_id = "1001"
timezone = "America/New_York"
report_dir = "reports"
done_dir = "done"
state_dir = "state"
log_file = "logs/importer.log"
base_url = "{base_url}"
""",
        encoding="utf-8",
    )
    return job


def _run(job: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m importer`` with only the token in its environment, from an unrelated folder."""
    return subprocess.run(
        [sys.executable, "-m", "importer", "run", "--config", str(job), "--json"],
        cwd=cwd,
        env={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_config_alone_runs_the_job(box: Sandbox, tmp_path: Path) -> None:
    job = _job(tmp_path, box.base_url)
    elsewhere = tmp_path / "cron-cwd"
    elsewhere.mkdir()
    done = _run(job, elsewhere)
    assert done.returncode == 0, done.stderr

    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    summary = json.loads(lines[0])
    assert summary["exit_code"] == 0
    assert summary["run_id"]
    assert summary["counts"]["recorded"] == 3
    assert sum(summary["counts"].values()) == 3
    report = Path(summary["report"])
    assert report.is_file() and report.parent.resolve() == (tmp_path / "reports").resolve()

    assert "\x1b" not in done.stderr and "\r" not in done.stderr
    err_lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert err_lines and all(line.startswith("importer: ") for line in err_lines)
    log = (tmp_path / "logs" / "importer.log").read_text(encoding="utf-8")
    assert "a-webinar.csv" in log and "b-webinar.csv" in log

    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["a-webinar.csv", "b-webinar.csv"]
    assert list((tmp_path / "inbox").iterdir()) == []
    assert {(p["vid"], p["state"]) for p in box.participations("1001")} == {
        (101, "attend"),
        (102, "attend"),
        (103, "attend"),
    }
    assert not list(elsewhere.iterdir())  # nothing written in the working folder

    assert log.splitlines()[-1].split(" ", 1)[1].startswith("outcome: exit 0: ")
    assert "recorded 3" in log.splitlines()[-1] and str(report) in log.splitlines()[-1]

    again = _run(job, elsewhere)  # the inbox is empty now: nothing to import is not a failure
    assert again.returncode == 0, again.stderr
    err = again.stderr.strip()
    assert len(err.splitlines()) == 1 and "Nothing to import" in err and "inbox" in err and "Traceback" not in err
    out = again.stdout.strip().splitlines()
    assert len(out) == 1 and json.loads(out[0]) == {
        "exit_code": 0,
        "nothing_to_import": True,
        "message": err.removeprefix("importer: "),
    }
    assert len([r for r in box.requests if "attendance" in r.path]) == 1  # the second run sent nothing
    log = (tmp_path / "logs" / "importer.log").read_text(encoding="utf-8").splitlines()
    assert "Nothing to import" in log[-2] and "outcome: exit 0" in log[-1]

    strict = job.read_text(encoding="utf-8") + 'empty_inbox = "error"\n'
    job.write_text(strict, encoding="utf-8")
    refused = _run(job, elsewhere)
    assert refused.returncode == 2 and "No file matches" in refused.stderr and "empty_inbox" in refused.stderr


def test_failed_job_keeps_its_inputs(box: Sandbox, tmp_path: Path) -> None:
    """A run that stopped early (token revoked) keeps its files in the inbox so the next scheduled run resumes."""
    job = _job(tmp_path, box.base_url)
    box.revoke(DEFAULT_TOKEN)
    stopped = _run(job, tmp_path)
    assert stopped.returncode == 3
    assert json.loads(stopped.stdout.strip().splitlines()[-1])["exit_code"] == 3
    assert sorted(p.name for p in (tmp_path / "inbox").iterdir()) == ["a-webinar.csv", "b-webinar.csv"]
    assert not (tmp_path / "done").exists() or list((tmp_path / "done").iterdir()) == []


def test_log_folder_that_does_not_exist_yet(box: Sandbox, tmp_path: Path) -> None:
    """Like the report and done folders, the log file's folder is created; never an internal error."""
    job = _job(tmp_path, box.base_url)
    (tmp_path / "logs").rmdir()
    done = _run(job, tmp_path)
    assert "internal error" not in done.stderr
    assert done.returncode == 0, done.stderr
    assert "a-webinar.csv" in (tmp_path / "logs" / "importer.log").read_text(encoding="utf-8")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_counts_contacts_per_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _Terminal()
    console = Console(stream=stream)
    clock = iter([100.0, 130.0])
    monkeypatch.setattr("importer.console.time.monotonic", lambda: next(clock))
    console.progress(0, 10, 0, 1000)
    console.progress(5, 10, 500, 1000)  # 500 contacts in 30 s
    assert "1,000 contacts/min" in stream.getvalue() and "ETA 30s" in stream.getvalue()


def test_progress_bar_on_a_terminal() -> None:
    stream = _Terminal()
    console = Console(stream=stream)
    for done in range(1, 5):
        console.progress(done, 8)
    text = stream.getvalue()
    assert text.count("\r") >= 4
    assert "ETA" in text and "4/8" in text and "[" in text and "#" in text
    assert "\n" not in text  # the bar redraws one line until it is complete
    console.log("halfway")
    after = stream.getvalue()[len(text) :]
    assert after.startswith("\r") and after.endswith("importer: halfway\n")  # the bar is cleared first
    console.progress(8, 8)
    assert stream.getvalue().endswith("\n")


def test_plain_lines_when_not_a_terminal(tmp_path: Path) -> None:
    stream = io.StringIO()
    log_file = tmp_path / "run.log"
    console = Console(stream=stream, log_file=str(log_file))
    for done in range(1, 11):
        console.progress(done, 10)
    console.log("finished")
    console.close()
    text = stream.getvalue()
    assert "\r" not in text and "\x1b" not in text and "ETA" not in text
    lines = text.splitlines()
    assert lines[-1] == "importer: finished"
    assert all(line.startswith("importer: ") for line in lines)
    assert "importer: 10/10 batches answered" in text
    assert log_file.read_text(encoding="utf-8").rstrip().endswith(" finished")


def test_json_flag_from_the_config_file(box: Sandbox, tmp_path: Path) -> None:
    """``json_output = true`` in the job file works like --json (a scheduler may not pass flags)."""
    job = _job(tmp_path, box.base_url)
    job.write_text(job.read_text(encoding="utf-8") + "json_output = true\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "importer", "run", "--config", str(job)],
        cwd=tmp_path,
        env={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1
    assert json.loads(done.stdout)["counts"]["recorded"] == 3
