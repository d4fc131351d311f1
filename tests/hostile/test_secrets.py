"""Secrets and safe output: the token never leaves the process, plain http is refused before any
request, TLS is verified, reports are safe to open in a spreadsheet and hold only what a marketer needs."""

from __future__ import annotations

import csv
import io
import socket
import ssl
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import openpyxl
import pytest

from importer import config
from importer.cli import main
from importer.sandbox import ALL_SCOPES, DEFAULT_TOKEN, Fault, Sandbox

SECRET = "pat-na1-SECRET-7f3a9c2e-4b1d-4e8a-9c0f-1a2b3c4d5e6f"
#: Pieces that would give the token away even if it were cut or masked around them.
SECRET_PIECES = (SECRET, SECRET[8:], "7f3a9c2e-4b1d-4e8a-9c0f")
PEOPLE = [f"p{i}@example.com" for i in range(6)]
T = "2024-11-05T15:00:00Z"


def _leaks(data: bytes | str) -> list[str]:
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    return [p for p in SECRET_PIECES if p in text]


def _file_texts(path: Path) -> Iterator[tuple[str, bytes]]:
    """Every byte a file holds; workbooks (zip) are opened so compressed XML is searched too."""
    raw = path.read_bytes()
    yield str(path), raw
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                yield f"{path}!{name}", zf.read(name)


def _everything_written(root: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield from _file_texts(path)


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(
        events=["1001"], tokens={SECRET: ALL_SCOPES}, contacts={e: 1000 + i for i, e in enumerate(PEOPLE)}
    ) as sb:
        yield sb


def _attendees(path: Path) -> Path:
    path.write_text("Email,First Name,Join Time\n" + "".join(f"{e},P{i},{T}\n" for i, e in enumerate(PEOPLE)))
    return path


def test_the_token_is_in_nothing_a_run_writes(
    box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Successful, failing (401 mid-run, 500s, bad answers), --debug, --json and --log-file runs; then
    retry and verify; then grep stdout, stderr and every file written for the token."""
    monkeypatch.chdir(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    src = _attendees(work / "attendees.csv")
    env = {"HUBSPOT_ACCESS_TOKEN": SECRET, "IMPORTER_RETRY_ATTEMPTS": "1"}
    common = ["--event", "1001", "--base-url", box.base_url, "--state-dir", str(work / "state"),
              "--log-file", str(work / "importer.log"), "--batch-size", "1", "--concurrency", "1"]  # fmt: skip
    codes: list[int] = []

    box.inject(Fault("unauthorized", path_contains="attendance", after=2))
    codes.append(main(["run", str(src), "--report", str(work / "stopped.xlsx"), "--debug", *common], environ=env))
    box.inject(Fault("status", path_contains="attendance", status=500, times=10))
    codes.append(main(["run", str(src), "--report", str(work / "failed.csv"), "--debug", *common], environ=env))
    box.inject(Fault("bad_json", path_contains="attendance"))
    box.inject(Fault("bad_batch", path_contains="attendance"))
    codes.append(main(["run", str(src), "--report", str(work / "bad.json"), "--json", "--debug", *common], environ=env))
    codes.append(main(["retry", str(work / "failed.csv"), "--debug", *common[2:]], environ=env))
    codes.append(main(["run", str(src), "--report", str(work / "done.xlsx"), "--force", *common], environ=env))
    codes.append(main(["verify", str(work / "done.xlsx"), "--debug", *common[:6]], environ=env))
    box.revoke(SECRET)
    codes.append(
        main(["run", str(src), "--report", str(work / "revoked.xlsx"), "--force", "--debug", *common], environ=env)
    )
    codes.append(main(["run", str(src), "--debug", *common], environ={**env, "HUBSPOT_ACCESS_TOKEN": SECRET + " x"}))

    # 401 mid-run stops (3); 500s, bad answers and the retry leave failed rows (1); the forced run and its
    # verification succeed (0); a revoked token stops (3); a malformed token is refused up front (2)
    assert codes == [3, 1, 1, 1, 0, 0, 3, 2]
    assert {p["vid"] for p in box.participations("1001")} == {1000 + i for i in range(len(PEOPLE))}
    out = capsys.readouterr()
    assert "HUBSPOT_ACCESS_TOKEN" in out.err  # the 401 told the user what to do
    assert _leaks(out.out) == [] and _leaks(out.err) == []
    written = list(_everything_written(work))
    names = {Path(name.split("!")[0]).name for name, _ in written}
    assert {"importer.log", "stopped.xlsx", "failed.csv", "bad.json", "done.xlsx", "journal.sqlite3"} <= names
    assert [name for name, data in written if _leaks(data)] == []


def test_config_and_errors_do_not_show_the_token(box: Sandbox) -> None:
    cfg = config.build({"event_id": "1"}, environ={"HUBSPOT_ACCESS_TOKEN": SECRET, "HUBSPOT_BASE_URL": box.base_url})
    assert cfg.token == SECRET
    assert _leaks(repr(cfg)) == [] and _leaks(str(cfg)) == []


@pytest.mark.parametrize(("mode", "warned"), [(0o644, True), (0o640, True), (0o600, False)])
def test_token_file_readable_by_others_warns(
    mode: int, warned: bool, box: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token_file = tmp_path / "hubspot.token"
    token_file.write_text(SECRET + "\n")
    token_file.chmod(mode)
    job = tmp_path / "job.toml"
    job.write_text(f'token_file = "{token_file.name}"\nbase_url = "{box.base_url}"\nevent_id = "1001"\n')
    src = _attendees(tmp_path / "a.csv")
    code = main(
        ["run", str(src), "--config", str(job), "--dry-run", "--report", str(tmp_path / "r.csv"),
         "--state-dir", str(tmp_path / "state")],
        environ={},
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0  # the token from the file worked
    assert box.requests and all(r.token_ok for r in box.requests)
    assert ("readable by other users" in err and "chmod 600" in err) is warned
    assert _leaks(err) == []


def test_plain_http_to_a_remote_host_is_refused_before_any_request(
    box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sandbox acts as the HTTP proxy: any request to http://api.example.com would arrive there."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", box.base_url)
    with httpx.Client() as probe:  # the trap works: a plain-http request does reach the sandbox
        probe.get("http://api.example.com/marketing/v3/marketing-events/1001")
    assert len(box.requests) == 1
    src = _attendees(tmp_path / "a.csv")
    for argv, environ in [
        (["--base-url", "http://api.example.com"], {}),
        ([], {"HUBSPOT_BASE_URL": "http://api.example.com"}),
        (["--base-url", "http://api.example.com:80/"], {}),
    ]:
        code = main(
            ["run", str(src), "--event", "1001", "--state-dir", str(tmp_path / "s"), *argv],
            environ={"HUBSPOT_ACCESS_TOKEN": SECRET, **environ},
        )
        err = capsys.readouterr().err
        assert code == 2
        assert "api.example.com" in err and "https://" in err and len(err.strip().splitlines()) == 1
        assert _leaks(err) == []
    assert len(box.requests) == 1


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_plain_http_is_allowed_for_this_machine(host: str) -> None:
    assert config.check_base_url(f"http://{host}:8765") == f"http://{host}:8765"


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, list[int]]]:
    """A TLS server on 127.0.0.1 with a self-signed certificate; counts HTTP requests that get through."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    requests: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    if tls.recv(4096):
                        requests.append(1)
                        tls.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            except (ssl.SSLError, OSError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{listener.getsockname()[1]}", requests
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_tls_certificates_are_verified(
    tls_server: tuple[str, list[int]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, requests = tls_server
    src = _attendees(tmp_path / "a.csv")
    code = main(
        ["run", str(src), "--event", "1001", "--base-url", url, "--state-dir", str(tmp_path / "s")],
        environ={"HUBSPOT_ACCESS_TOKEN": SECRET, "IMPORTER_RETRY_ATTEMPTS": "1"},
    )
    err = capsys.readouterr().err
    assert code == 3
    assert requests == []  # the token was never sent to a server whose certificate did not verify
    assert "CERTIFICATE_VERIFY_FAILED" in err or "certificate" in err.lower()
    assert _leaks(err) == []


RISKY = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "=1+1", "'quoted"]


def test_reports_never_hold_live_formulas(tmp_path: Path) -> None:
    src = tmp_path / "people.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Email", "First Name", "Last Name", "Join Time"])
        for i, name in enumerate(RISKY):
            out.writerow([PEOPLE[i], name, name, T])
        out.writerow(['=HYPERLINK("http://x")@example.com', "Bad", "Email", T])
    with Sandbox(events=["1001"], contacts={e: 1000 + i for i, e in enumerate(PEOPLE)}) as sb:
        for fmt in ("xlsx", "csv"):
            code = main(
                ["run", str(src), "--event", "1001", "--base-url", sb.base_url, "--report", str(tmp_path / f"r.{fmt}"),
                 "--state-dir", str(tmp_path / "s"), "--force"],
                environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN},
            )  # fmt: skip
            assert code in (0, 1)
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    texts: list[str] = []
    for ws in wb.worksheets:
        for line in ws.iter_rows():
            for cell in line:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    assert all(name in texts for name in RISKY)  # shown as text, not dropped
    with (tmp_path / "r.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = [r["first_name"] for r in rows if r["first_name"] != "Bad"]
    assert names == ["'" + n for n in RISKY]
    for row in rows:
        for value in row.values():
            assert not (value or "").startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_raw_columns_stay_out_of_reports_and_journal_unless_keep_raw(tmp_path: Path) -> None:
    phone, company = "+1 555 0100 7788", "Initech Confidential Holdings"
    src = tmp_path / "people.csv"
    src.write_text(
        f"Email,First Name,Phone,Company,Join Time\n{PEOPLE[0]},Ann,{phone},{company},{T}\n", encoding="utf-8"
    )
    with Sandbox(events=["1001"], contacts={PEOPLE[0]: 1000}) as sb:
        for keep in (False, True):
            out = tmp_path / ("kept" if keep else "plain")
            for fmt in ("xlsx", "csv", "json"):
                code = main(
                    ["run", str(src), "--event", "1001", "--base-url", sb.base_url, "--report", str(out / f"r.{fmt}"),
                     "--state-dir", str(out / "state"), *(["--keep-raw"] if keep else [])],
                    environ={"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN},
                )  # fmt: skip
                assert code == 0
    for keep in (False, True):
        out = tmp_path / ("kept" if keep else "plain")
        with (out / "r.csv").open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh))
        assert ("Phone" in header and "Company" in header) is keep
        assert "first_name" in header or "First Name" in header  # the identifying column stays
        found = [name for name, data in _everything_written(out) if phone.encode() in data or company.encode() in data]
        if keep:
            assert any(name.endswith("r.csv") for name in found)
        else:
            assert found == []


def test_json_summary_line_holds_no_token(box: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _attendees(tmp_path / "a.csv")
    code = main(
        ["run", str(src), "--event", "1001", "--base-url", box.base_url, "--json", "--report", str(tmp_path / "r.csv"),
         "--state-dir", str(tmp_path / "s")],
        environ={"HUBSPOT_ACCESS_TOKEN": SECRET},
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 0
    assert len(out.out.strip().splitlines()) == 1
    assert _leaks(out.out + out.err) == []
    assert io.StringIO(out.out).readline().startswith("{")
