"""Nothing hangs: long Retry-After, signals during a backoff wait, and answers that trickle in.

Each case starts the real CLI in a subprocess against the sandbox (or a raw socket server on
127.0.0.1 that trickles its answer) and checks the exit code, the time it took, and that the same
command then resumes and records every row exactly once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from importer.sandbox import DEFAULT_TOKEN, Fault, Sandbox

EVENT = "1001"
ROWS = 150
WHEN = "2024-11-05T15:00:00Z"


def emails(n: int = ROWS) -> list[str]:
    return [f"person{i:04d}@example.com" for i in range(n)]


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(events=[EVENT]) as sb:
        sb.add_contacts(emails())
        yield sb


def attendees(tmp_path: Path) -> Path:
    src = tmp_path / "attendees.csv"
    src.write_text("Email,Join Time\n" + "".join(f"{e},{WHEN}\n" for e in emails()), encoding="utf-8")
    return src


def command(tmp_path: Path, base_url: str) -> list[str]:
    return [
        sys.executable, "-m", "importer", "run", str(attendees(tmp_path)), "--event", EVENT,
        "--base-url", base_url, "--state-dir", str(tmp_path / "state"), "--report", str(tmp_path / "report.csv"),
        "--concurrency", "2",
    ]  # fmt: skip


def environment(**extra: str) -> dict[str, str]:
    return {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN, "PATH": os.environ.get("PATH", ""), **extra}


def run(cmd: list[str], env: dict[str, str], timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    return done, time.monotonic() - began


def recorded_once(sb: Sandbox) -> None:
    counts = sb.write_counts(EVENT)
    assert len(counts) == ROWS and set(counts.values()) == {1}


def wait_for(condition: object, timeout: float = 30.0) -> None:
    """Poll (briefly) until ``condition()`` holds."""
    until = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < until, "the run never got there"
        time.sleep(0.05)


@pytest.mark.parametrize("header", [3600, 86400, 1e300])
def test_a_retry_after_beyond_max_wait_stops_with_exit_3_saying_when_and_resumes(
    box: Sandbox, tmp_path: Path, header: float
) -> None:
    box.inject(Fault("rate_limit_retry_after", path_contains="/attendance/", retry_after=header))
    cmd = command(tmp_path, box.base_url)
    first, took = run(cmd, environment())
    assert first.returncode == 3, first.stderr
    assert took < 20
    assert "longer than max_wait_s (5 min): run the same command again after" in first.stderr
    assert "internal error" not in first.stderr and "Overflow" not in first.stderr
    second, _ = run(cmd, environment())
    assert second.returncode == 0, second.stderr
    recorded_once(box)


@pytest.mark.parametrize("where", ["/attendance/", "/contacts/batch/read"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_backoff_wait_stops_within_two_seconds_and_the_run_resumes(
    box: Sandbox, tmp_path: Path, sig: signal.Signals, where: str
) -> None:
    box.inject(Fault("rate_limit_retry_after", path_contains=where, retry_after=200))
    cmd = command(tmp_path, box.base_url)
    proc = subprocess.Popen(cmd, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: any(r.status == 429 for r in box.requests))
        time.sleep(0.3)  # the client is now waiting its 200 s
        began = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
        took = time.monotonic() - began
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 3, err
    assert took < 2.0
    assert "Interrupted" in err and "internal error" not in err
    assert "run the same command again" in (out + err).lower() or "importer run" in out
    second, _ = run(cmd, environment())
    assert second.returncode == 0, second.stderr
    recorded_once(box)


class Trickler:
    """A server on 127.0.0.1 that accepts requests and answers one byte every ``gap_s``."""

    BODY = b'{"objectId": "1001", "eventName": "' + b"x" * 500 + b'"}'
    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)

    def __init__(self, gap_s: float = 0.2) -> None:
        self.gap_s = gap_s
        self.requests = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> Trickler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                self.requests += 1
                for byte in self.ANSWER:
                    if self._stop.wait(self.gap_s):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return


def test_an_answer_trickling_a_byte_at_a_time_meets_the_overall_deadline(tmp_path: Path) -> None:
    with Trickler() as slow:
        env = environment(IMPORTER_REQUEST_TIMEOUT_S="1", IMPORTER_RETRY_ATTEMPTS="2", IMPORTER_READ_TIMEOUT_S="30")
        done, took = run(command(tmp_path, slow.base_url), env, timeout=30)
    assert done.returncode == 3, done.stderr
    assert "did not answer in time" in done.stderr and "gave up after 2 attempt(s)" in done.stderr
    assert slow.requests == 2
    # Two attempts of one second each and a short backoff; every read was under 30 s.
    assert took < 8
