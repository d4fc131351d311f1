"""Issue 13, "Rows lost" and "Messages": where the report goes, what a killed or full-disk run
leaves behind, and the sentences a person sees instead of ``internal error``."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from importer import reporter
from importer.cli import main
from importer.reporter import read_report
from importer.sandbox import DEFAULT_TOKEN, Sandbox

EVENT = "1001"
CSV = "Email,Join Time\nalice@example.com,2024-11-05T15:00:00Z\nbob@example.com,2024-11-05T15:01:00Z\n"
ENV = {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(contacts={"alice@example.com": 101, "bob@example.com": 102}, events=[EVENT]) as sb:
        yield sb


@pytest.fixture
def src(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "attendees.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def run(src: Path, box: Sandbox, *extra: str) -> int:
    argv = ["run", str(src), "--event", EVENT, "--base-url", box.base_url, "--state-dir", str(src.parent / "st")]
    return main([*argv, *extra], environ=dict(ENV))


# --------------------------------------------------------------------------- the report's path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _symlink(path: Path) -> Path:
    (path.parent / "elsewhere.xlsx").write_bytes(b"keep me")
    path.symlink_to(path.parent / "elsewhere.xlsx")
    return path


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda p: p.parent / "attendees.csv", "is the input file"),
        (_fifo, "is a FIFO (named pipe), not a regular file"),
        (lambda p: Path(os.devnull), "is a device, not a regular file"),
        (_symlink, "is a symbolic link"),
        (lambda p: p.parent, "is a folder, not a regular file"),
    ],
    ids=["input", "fifo", "device", "symlink", "folder"],
)
def test_report_path_that_is_not_a_new_file_is_refused_before_hubspot(
    make: object, said: str, box: Sandbox, src: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = make(src.parent / "report.xlsx")  # type: ignore[operator]
    assert run(src, box, "--report", str(target)) == 2
    err = capsys.readouterr().err
    assert said in err and "--report" in err
    assert box.requests == []  # refused before anything was read from HubSpot
    assert src.read_text(encoding="utf-8") == CSV
    if target.is_symlink():
        assert (src.parent / "elsewhere.xlsx").read_bytes() == b"keep me"


def test_report_path_hard_linked_to_the_input_is_refused(box: Sandbox, src: Path) -> None:
    os.link(src, src.parent / "alias.csv")
    assert run(src, box, "--report", str(src.parent / "alias.csv")) == 2
    assert src.read_text(encoding="utf-8") == CSV and box.requests == []


def test_retry_refuses_a_report_path_that_is_a_fifo(box: Sandbox, src: Path) -> None:
    report = src.parent / "r.csv"
    assert run(src, box, "--report", str(report)) == 0
    fifo = _fifo(src.parent / "out.csv")
    before = len(box.requests)
    code = main(["retry", str(report), "--report", str(fifo), "--base-url", box.base_url], environ=dict(ENV))
    assert code == 2 and len(box.requests) == before


# --------------------------------------------------------------------------- inputs that are not files


def test_fifo_as_input_is_not_a_regular_file(box: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = _fifo(tmp_path / "export.csv")
    code = main(["run", str(fifo), "--event", EVENT, "--base-url", box.base_url], environ=dict(ENV))
    err = capsys.readouterr().err
    assert code == 2 and "not a regular file" in err and "folder" not in err
    code = main(["inspect", str(fifo)], environ=dict(ENV))
    err = capsys.readouterr().err
    assert code == 2 and "not a regular file" in err and "folder" not in err


# --------------------------------------------------------------------------- writing the report


def test_temp_file_of_a_killed_writer_is_removed_by_the_next_write(box: Sandbox, src: Path) -> None:
    stale = src.parent / ".attendees.reconciliation.xlsx.importer-k1ll3d.tmp"
    stale.write_bytes(b"half a workbook")
    other = src.parent / ".other.csv.importer-abc.tmp"  # another report's, left by a run-stamped name
    other.write_bytes(b"half a csv")
    unrelated = src.parent / ".keep.tmp"
    unrelated.write_bytes(b"not ours")
    assert run(src, box) == 0
    assert not stale.exists() and not other.exists() and unrelated.exists()
    assert [p.name for p in src.parent.glob("*importer-*")] == []


def test_temp_file_being_written_by_another_process_is_left_alone(tmp_path: Path) -> None:
    import fcntl

    busy = tmp_path / ".r.xlsx.importer-busy.tmp"
    busy.write_bytes(b"")
    with busy.open("rb") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        reporter._remove_stale_temps(tmp_path)
        assert busy.exists()
    reporter._remove_stale_temps(tmp_path)
    assert not busy.exists()


def test_report_is_synced_before_it_is_renamed_into_place(
    box: Sandbox, src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync:" + os.readlink(f"/proc/self/fd/{fd}").rsplit("/", 1)[-1])
        real_fsync(fd)

    def replace(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> None:
        events.append("replace:" + Path(b).name)
        real_replace(a, b)

    monkeypatch.setattr(reporter.os, "fsync", fsync)
    monkeypatch.setattr(reporter.os, "replace", replace)
    assert run(src, box, "--report", str(src.parent / "r.csv")) == 0
    at = next(i for i, e in enumerate(events) if e.startswith("replace:r."))  # this run's stamped report
    stamped = events[at].removeprefix("replace:")
    assert events[at - 1].startswith(f"fsync:.{stamped}.importer-") and events[at + 1] == f"fsync:{src.parent.name}"


def test_journal_commits_are_synced(box: Sandbox, src: Path) -> None:
    from importer.journal import Journal

    with Journal.open(src.parent / "st") as journal:
        assert journal._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: every commit is fsynced
        assert journal._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --------------------------------------------------------------------------- a full disk


def _disk_full(*_: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_under_the_report_stops_with_exit_3_and_the_rerun_resumes(
    box: Sandbox, src: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    report = src.parent / "r.csv"
    with monkeypatch.context() as m:
        m.setattr(reporter, "write_csv", _disk_full)
        assert run(src, box, "--report", str(report)) == 3
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("importer: error")]
    assert len(lines) == 1 and "disk is full" in lines[0] and "run the same command again" in lines[0]
    assert "internal error" not in err and not report.exists()
    assert [p.name for p in src.parent.glob(".*.tmp")] == []
    sent = len([r for r in box.requests if "/attendance/" in r.path])
    assert run(src, box, "--report", str(report)) == 0
    assert len([r for r in box.requests if "/attendance/" in r.path]) == sent  # resumed: nothing sent again
    _, rows = read_report(report)
    assert [r["outcome"] for r in rows] == ["recorded", "recorded"]


def _fill_the_disk(journal: object) -> None:
    """From now on the journal's database cannot grow: SQLite itself answers SQLITE_FULL
    ("database or disk is full"), exactly as on a full disk."""
    conn = journal._conn  # type: ignore[attr-defined]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")


@pytest.mark.parametrize("when", ["begin", "record_outcome", "update_rows"])
def test_full_disk_under_the_state_folder_stops_with_exit_3_and_the_rerun_resumes(
    when: str, box: Sandbox, src: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from importer.journal import Journal

    real = getattr(Journal, when)

    def full_from_here(self: Journal, *args: object, **kwargs: object) -> object:
        _fill_the_disk(self)
        return real(self, *args, **kwargs)

    many = [f"guest{i:04d}@example.com" for i in range(1000)]  # a plan and answers that need new pages
    src.write_text("Email,Join Time\n" + "".join(f"{e},2024-11-05T15:00:00Z\n" for e in many), encoding="utf-8")
    box.add_contacts(many)
    report = src.parent / "r.csv"
    with monkeypatch.context() as m:
        m.setattr(Journal, when, full_from_here)
        code = run(src, box, "--report", str(report))
    err = capsys.readouterr().err
    assert code == 3, err
    lines = [line for line in err.splitlines() if "disk is full" in line]
    assert lines and "state folder" in lines[0] and "run the same command again" in lines[0]
    assert "internal error" not in err
    _, rows = read_report(report)  # the report of what is known was still written
    assert len(rows) == 1000
    assert run(src, box, "--report", str(report)) == 0
    assert {p["email"] for p in box.participations(EVENT)} == set(many)
    _, rows = read_report(report)
    assert {r["outcome"] for r in rows} == {"recorded"}


def test_a_full_disk_when_old_plans_are_let_go_leaves_the_finished_run_as_it_is(
    box: Sandbox, src: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from importer.errors import disk_full
    from importer.journal import Journal

    def full_from_here(self: Journal, *_: object) -> int:
        raise disk_full("the journal in the state folder", "database or disk is full")  # as _tx says it

    assert run(src, box, "--report", str(src.parent / "first.csv")) == 0
    with monkeypatch.context() as m:
        m.setattr(Journal, "prune", full_from_here)
        assert run(src, box, "--report", str(src.parent / "r.csv"), "--force") == 0
    err = capsys.readouterr().err
    assert "the plans of earlier runs stay in the state folder this time: the disk is full" in err
    assert "internal error" not in err and "run the same command again" not in err
    _, rows = read_report(src.parent / "r.csv")
    assert [r["outcome"] for r in rows] == ["recorded", "recorded"]


# --------------------------------------------------------------------------- a journal that is not ours


def test_sqlite_file_of_another_program_as_the_journal_exits_2_with_a_hint(
    box: Sandbox, src: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = src.parent / "st"
    state.mkdir()
    other = sqlite3.connect(state / "journal.sqlite3")
    other.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    other.execute("INSERT INTO moz_places (url) VALUES ('https://example.com')")
    other.commit()
    other.close()
    assert run(src, box) == 2
    err = capsys.readouterr().err
    assert "another program" in err and "state_dir" in err and "internal error" not in err
    assert box.requests == []
    check = sqlite3.connect(state / "journal.sqlite3")
    tables = {name for (name,) in check.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    check.close()
    assert tables == {"moz_places"}  # left exactly as it was


# --------------------------------------------------------------------------- a scheduled run during an outage


def _job(tmp_path: Path, base_url: str) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a-webinar.csv").write_text(CSV, encoding="utf-8")
    (inbox / "b-typos.csv").write_text("Email,Join Time\nnot-an-email,2024-11-05T15:00:00Z\n", encoding="utf-8")
    job = tmp_path / "job.toml"
    job.write_text(
        f"""inputs = ["inbox/*.csv"]
event_id = "{EVENT}"
report_dir = "reports"
done_dir = "done"
state_dir = "state"
base_url = "{base_url}"
retry_attempts = 1
""",
        encoding="utf-8",
    )
    return job


def _scheduled(job: Path) -> tuple[int, dict[str, object], str]:
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "importer", "run", "--config", str(job), "--json"],
        cwd=job.parent,
        env={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN, "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "internal error" not in done.stderr
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_scheduled_run_during_an_outage_keeps_the_failed_file_and_the_next_run_sends_it(
    box: Sandbox, tmp_path: Path
) -> None:
    from importer.sandbox import Fault

    job = _job(tmp_path, box.base_url)
    box.inject(Fault("status", path_contains="/attendance/", status=503))  # the one write of the run
    code, summary, err = _scheduled(job)
    assert code == 1 and summary["by_reason"] == {"http_5xx": 2, "invalid_email": 1}, err
    assert [p.name for p in (tmp_path / "inbox").iterdir()] == ["a-webinar.csv"]  # its rows failed: it stays
    assert [p.name for p in (tmp_path / "done").iterdir()] == ["b-typos.csv"]  # settled for good: rejected data
    assert "a-webinar.csv stays where it is" in err

    code, summary, err = _scheduled(job)  # the outage is over: the next run sends what is missing
    assert code == 0, err
    assert summary["counts"]["recorded"] == 2
    assert {p["vid"] for p in box.participations(EVENT)} == {101, 102}
    assert list((tmp_path / "inbox").iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["a-webinar.csv", "b-typos.csv"]


def test_a_row_merged_into_a_failed_row_keeps_its_file_too(tmp_path: Path) -> None:
    from tables import rows_table

    from importer.execute import _settled_files
    from importer.models import Outcome
    from importer.services import Services

    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    rows = rows_table(
        {"file": "a.csv", "row": 2, "outcome": Outcome.MERGED, "merged_file": "b.csv", "merged_row": 2},
        {"file": "b.csv", "row": 2, "outcome": Outcome.FAILED},
        {"file": "c.csv", "row": 2, "outcome": Outcome.RECORDED},
    )
    assert _settled_files([a, b, c], rows, Services(cwd=tmp_path)) == [c]


# --------------------------------------------- killed between starting a run and saving its plan


def test_a_run_begun_without_its_plan_is_planned_again_not_resumed(
    box: Sandbox, src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an older version left when killed between ``begin`` and ``save_plan``."""
    from importer.journal import Journal

    real = Journal.begin

    def begin_then_die(self: Journal, key: str, meta: object, plan: object = None) -> str:
        real(self, key, meta)  # type: ignore[arg-type]
        raise RuntimeError("killed")

    with monkeypatch.context() as m:
        m.setattr(Journal, "begin", begin_then_die)
        assert run(src, box, "--done-dir", str(src.parent / "done")) == 1  # the internal error of a crash
    with Journal.open(src.parent / "st") as journal:
        runs = journal._conn.execute("SELECT finished FROM runs").fetchall()
        assert runs == [(None,)]  # a run without a plan
    assert run(src, box, "--done-dir", str(src.parent / "done")) == 0
    assert {p["vid"] for p in box.participations(EVENT)} == {101, 102}
    assert (src.parent / "done" / "attendees.csv").exists()


def test_ctrl_c_while_the_plan_is_saved_stops_with_exit_3_and_the_rerun_plans_again(
    box: Sandbox, src: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from importer import sender
    from importer.journal import Journal

    def interrupted(*_: object) -> None:
        raise sender.Interrupted("SIGINT")  # what the signal handler raises, landing mid-transaction

    done = src.parent / "done"
    with monkeypatch.context() as m:
        m.setattr(Journal, "_store_plan", staticmethod(interrupted))
        assert run(src, box, "--done-dir", str(done)) == 3
    err = capsys.readouterr().err
    assert "internal error" not in err and "not in the plan" not in err
    assert src.exists() and not done.exists()  # not a settled export: it stays
    with Journal.open(src.parent / "st") as journal:
        runs = journal._conn.execute("SELECT run_id FROM runs").fetchall()
        assert runs == []  # the run and its plan commit together, or not at all
    assert run(src, box, "--done-dir", str(done)) == 0
    assert {p["vid"] for p in box.participations(EVENT)} == {101, 102}
    assert (done / "attendees.csv").exists()


def _kill_while_planning(tmp_path: Path, signum: int) -> tuple[Sandbox, Path, list[str], int, str]:
    """Start a 5,000-row run in a subprocess and send ``signum`` once its lookups are answered,
    while it merges, cuts and saves its plan (about half a second on this machine)."""
    import signal
    import subprocess
    import sys
    import time

    many = [f"guest{i:04d}@example.com" for i in range(5000)]
    src = tmp_path / "attendees.csv"
    src.write_text("Email,Join Time\n" + "".join(f"{e},2024-11-05T15:00:00Z\n" for e in many), encoding="utf-8")
    box = Sandbox(
        contacts={e: 70_000 + i for i, e in enumerate(many)},
        events=[EVENT],
        rate_limit_max=1000,
        rate_limit_interval_ms=1000,
    )
    box.start()
    argv = [
        "run", str(src), "--event", EVENT, "--base-url", box.base_url, "--state-dir", str(tmp_path / "st"),
        "--report", str(tmp_path / "r.csv"), "--done-dir", str(tmp_path / "done"),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOT_", "IMPORTER_"))}
    env.update(ENV, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "importer", *argv], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while sum(1 for r in box.requests if "batch/read" in r.path) < 50:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(0.15)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    if signum == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    return box, src, argv, proc.returncode, err


@pytest.mark.parametrize("signame", ["SIGKILL", "SIGINT"])
def test_killed_while_planning_then_the_same_command_sends_every_row(
    signame: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import signal

    monkeypatch.chdir(tmp_path)
    box, src, argv, code, err = _kill_while_planning(tmp_path, getattr(signal, signame))
    try:
        assert "internal error" not in err and "Traceback" not in err
        if signame == "SIGINT":
            assert code in (0, 3), err  # 3 when it stopped; 0 only if it had finished already
        if code != 0:
            assert src.exists() and not (tmp_path / "done").exists()  # nothing settled: the export stays
            assert main(argv, environ=dict(ENV)) == 0
        assert len(box.participations(EVENT)) == 5000
        _, rows = read_report(tmp_path / "r.csv")
        assert len(rows) == 5000 and {r["outcome"] for r in rows} <= {"recorded", "skipped"}
        assert (tmp_path / "done" / "attendees.csv").exists() and not src.exists()
    finally:
        box.stop()


def _readme_block(lang: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"```{lang}\n", text.index("## Scheduled runs")) + len(lang) + 4
    return text[start : text.index("```", start)]


@pytest.mark.parametrize("exit_code", [0, 1, 2, 3])
def test_readme_cron_line_mails_every_exit_but_0(exit_code: int, tmp_path: Path) -> None:
    """The README's crontab line, run by sh with a stand-in importer that exits as told."""
    import subprocess

    line = next(ln for ln in _readme_block("cron").splitlines() if ln.startswith("0 7 * * 1"))
    command = line.split(None, 5)[5]
    stub = tmp_path / "importer"
    stub.write_text(f"#!/bin/sh\necho '{{\"exit_code\": {exit_code}}}'\necho 'log line' >&2\nexit {exit_code}\n")
    stub.chmod(0o755)
    command = command.replace("/opt/importer/.venv/bin/importer", str(stub)).replace("/var/log/importer", str(tmp_path))
    mailed = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=10)
    said = mailed.stdout + mailed.stderr
    if exit_code == 0:
        assert said == ""
    else:
        assert f"importer exited {exit_code} " in said and f"{exit_code}: " in said
    assert (tmp_path / "runs.jsonl").read_text() == f'{{"exit_code": {exit_code}}}\n'
    assert (tmp_path / "weekly.err").read_text() == "log line\n"


def test_readme_systemd_unit_reports_failures() -> None:
    unit = _readme_block("ini")
    assert "SuccessExitStatus" not in unit  # exit 1 or 3 counted as success would hide failed rows and stops
    assert "OnFailure=" in unit.split("[Service]")[0]  # OnFailure belongs to [Unit]


# --------------------------------------------------------------------------- a lookup answered 400 or a redirect


@pytest.mark.parametrize("status", [400, 302])
def test_lookup_answered_400_or_a_redirect_writes_the_report_it_points_to(
    status: int, box: Sandbox, src: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from importer.sandbox import Fault

    box.inject(Fault("status", path_contains="batch/read", status=status))
    report = src.parent / "r.csv"
    assert run(src, box, "--report", str(report)) == 1
    captured = capsys.readouterr()
    assert "internal error" not in captured.err and "importer: error" not in captured.err
    assert str(report) in captured.out  # the report the exit code's "see the report" means exists
    _, rows = read_report(report)
    assert {(r["outcome"], r["reason"]) for r in rows} == {("failed", f"http_{status}")}
    assert all(f"HTTP {status}" in r["message"] for r in rows)
    assert not [r for r in box.requests if "/attendance/" in r.path]


def test_a_report_folder_that_cannot_be_written_is_found_before_hubspot(
    box: Sandbox, src: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found after sending, the report would be lost with everything it accounts for: the folder is
    tried with a real file first.  A read-only file system is injected at that seam (as root, which
    CI is, a chmod does not make a folder read-only)."""
    tried: list[str] = []

    def read_only(*_: object, dir: str | Path = "", **__: object) -> None:  # noqa: A002
        tried.append(str(dir))
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(reporter.tempfile, "TemporaryFile", read_only)
    assert run(src, box, "--report", str(src.parent / "new" / "report.xlsx")) == 2
    err = capsys.readouterr().err
    assert f"Cannot write the report in {src.parent} (Read-only file system): nothing was sent" in err
    assert "--report" in err and "--state-dir" in err
    assert tried == [str(src.parent)], "the nearest folder that exists is the one tried"
    assert box.requests == []


def test_the_probe_leaves_nothing_behind(box: Sandbox, src: Path) -> None:
    assert run(src, box, "--report", str(src.parent / "out" / "report.xlsx")) == 0
    assert sorted(p.name for p in (src.parent / "out").iterdir() if p.name.startswith(".")) == []
