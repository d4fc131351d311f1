"""The token goes nowhere else: proxies from the environment, and credentials in the base URL.

A fake proxy listens on 127.0.0.1 and records every byte it is sent; it never forwards anything
(a CONNECT is refused), so no test reaches beyond this machine.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from importer import cli, config
from importer.sandbox import DEFAULT_TOKEN, Sandbox

EVENT = "1001"
TOKEN = "pat-na1-00000000-secret-token"
#: Never resolved: the fake proxy refuses the tunnel before anyone looks the name up.
FAR = "https://hubspot.example.invalid"


class FakeProxy:
    """Accepts connections on 127.0.0.1, keeps what each sent, answers 403 and closes."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> FakeProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    data = conn.recv(65536)
                    self.received.append(data)
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass


@pytest.fixture
def proxy() -> Iterator[FakeProxy]:
    with FakeProxy() as p:
        yield p


def attendees(tmp_path: Path) -> Path:
    src = tmp_path / "attendees.csv"
    src.write_text("Email,Join Time\nalice@example.com,2024-11-05T15:00:00Z\n", encoding="utf-8")
    return src


def run_cli(tmp_path: Path, base_url: str, token: str, **env: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable, "-m", "importer", "run", str(attendees(tmp_path)), "--event", EVENT, "--base-url", base_url,
        "--state-dir", str(tmp_path / "state"), "--report", str(tmp_path / "report.csv"),
    ]  # fmt: skip
    environ = {"HUBSPOT_ACCESS_TOKEN": token, "PATH": os.environ.get("PATH", ""), "IMPORTER_RETRY_ATTEMPTS": "1", **env}
    return subprocess.run(cmd, env=environ, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "HTTPS_PROXY"])
def test_plain_http_to_this_machine_never_goes_through_a_proxy(tmp_path: Path, proxy: FakeProxy, name: str) -> None:
    with Sandbox(events=[EVENT], contacts={"alice@example.com": 101}) as box:
        done = run_cli(tmp_path, box.base_url, DEFAULT_TOKEN, **{name: proxy.url})
        assert done.returncode == 0, done.stderr
        assert len(box.participations(EVENT)) == 1
    assert proxy.received == []


def test_https_proxy_is_used_for_https_and_sees_only_the_tunnel_request(tmp_path: Path, proxy: FakeProxy) -> None:
    done = run_cli(tmp_path, FAR, TOKEN, HTTPS_PROXY=proxy.url, HTTP_PROXY="http://127.0.0.1:9")
    assert done.returncode == 3, done.stderr
    assert "could not be reached" in done.stderr and "internal error" not in done.stderr
    assert len(proxy.received) == 1
    sent = proxy.received[0]
    assert sent.startswith(b"CONNECT hubspot.example.invalid:443 ")
    assert TOKEN.encode() not in sent and b"authorization" not in sent.lower()


@pytest.mark.parametrize("name", ["ALL_PROXY", "all_proxy", "HTTPS_PROXY"])
def test_a_socks_proxy_for_https_is_one_clear_sentence(tmp_path: Path, name: str) -> None:
    done = run_cli(tmp_path, FAR, TOKEN, **{name: "socks5://127.0.0.1:1080"})
    assert done.returncode == 2
    assert "is a SOCKS proxy (socks5://), which the importer cannot use" in done.stderr
    assert "internal error" not in done.stderr and "ImportError" not in done.stderr


def test_a_socks_proxy_does_not_matter_for_the_sandbox(tmp_path: Path) -> None:
    with Sandbox(events=[EVENT], contacts={"alice@example.com": 101}) as box:
        done = run_cli(tmp_path, box.base_url, DEFAULT_TOKEN, ALL_PROXY="socks5://127.0.0.1:1080")
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"HTTPS_PROXY": "http://p:3128"}, "http://p:3128"),
        ({"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2"}, "http://lower:1"),
        ({"ALL_PROXY": "http://all:3128"}, "http://all:3128"),
        ({"HTTPS_PROXY": "http://p:1", "ALL_PROXY": "http://all:2"}, "http://p:1"),
        ({"HTTP_PROXY": "http://plain:3128"}, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "api.hubapi.com"}, None),
        ({"HTTPS_PROXY": "http://p:1", "no_proxy": ".hubapi.com"}, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "example.com, hubapi.com:443"}, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "api.hubapi.com.evil"}, "http://p:1"),
        ({}, None),
    ],
)
def test_the_proxy_comes_from_https_proxy_or_all_proxy_unless_no_proxy_names_the_host(
    environ: dict[str, str], expected: str | None
) -> None:
    cfg = config.build({}, environ={"HUBSPOT_ACCESS_TOKEN": TOKEN, **environ})
    assert cfg.proxy == expected
    assert "p:1" not in repr(cfg)


@pytest.mark.parametrize(
    "url", ["https://user:pass@api.hubapi.com", "http://me:secret@127.0.0.1:8765", "https://token@api.hubapi.com"]
)
def test_a_base_url_with_credentials_is_refused(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["run", "x.csv", "--event", EVENT, "--base-url", url], environ={"HUBSPOT_ACCESS_TOKEN": TOKEN})
    err = capsys.readouterr().err
    assert code == 2
    assert "contains a user name or password" in err
    assert "pass" not in err.split("(user:pass@)")[1] and "secret" not in err
