"""The sandbox HTTP server: a local stand-in for HubSpot that the real client code talks to.

Standard library only (``http.server``); the HubSpot behaviour lives in :mod:`.model`, this module
only moves bytes, delivers the odd answers faults ask for, and starts/stops cleanly.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from .control import control
from .faults import Fault
from .model import HubSpotModel
from .wire import Answer, RequestLog

_MAX_BODY = 16 * 1024 * 1024


class _Server(ThreadingHTTPServer):
    """Threaded server that remembers its open connections so ``stop`` can cut them all."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops the SYNs of a client opening 20 connections at once
    # (each retried a second later): HubSpot's front end takes them all
    request_queue_size = 128

    def __init__(self, port: int, model: HubSpotModel, stopping: threading.Event) -> None:
        self.model = model
        self.stopping = stopping
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def track(self, conn: socket.socket, open_: bool) -> None:
        with self._conns_lock:
            if open_:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def cut_all(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
            self._conns.clear()
        for conn in conns:
            _hard_close(conn)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients dropping connections is normal here; only real bugs reach stderr."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


def _hard_close(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, asks the model, writes the answer the way the model says."""

    protocol_version = "HTTP/1.1"
    server_version = "HubSpotSandbox/1.0"
    timeout = 30
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        """Silent: a sandbox run must not print a line per request."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, _MAX_BODY)) if length > 0 else b""

    def _serve(self, method: str) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self.send_error(400, "Malformed request body framing")
            return
        model = self.server.model
        if self.path.startswith("/_sandbox/"):
            answer = control(model, method, self.path, body)
        else:
            answer = model.handle(method, self.path, self.headers.get("Authorization"), body)
        if answer.delay_s > 0 and self.server.stopping.wait(answer.delay_s):
            self._drop()
            return
        if answer.mode == "disconnect":
            self._drop()
            return
        self._write(answer)

    def _write(self, answer: Answer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        if answer.mode == "disconnect_mid":
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(answer.body[: len(answer.body) // 2])
            self.wfile.flush()
            self._drop()
            return
        self.end_headers()
        self.wfile.write(answer.body)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        _hard_close(self.connection)


class Sandbox:
    """A fake HubSpot on ``127.0.0.1`` for tests and ``importer run --sandbox``.

    Defaults mirror a Free/Starter portal: 100 requests per 10 s per token, 250k per day, one token
    (:data:`DEFAULT_TOKEN`) holding every scope the importer needs.  Marketing events exist only
    once created (``events=`` ids or ``{id: {"eventName", "startDateTime", "endDateTime"}}``, or
    :meth:`add_event`); any other id answers 404 as HubSpot does.  Contacts it creates get 11-digit
    ids, as real portals issue.  Every API version the importer speaks is served (``v3``,
    ``2026-03``, ``2026-09`` paths).  ``daily_headers=False`` leaves out the daily rate-limit headers,
    as HubSpot does for OAuth tokens.  Requests refused with 401 or 429 do not count against the
    limits; every other API request does.  Writes are stored per (event, vid, state); a re-write keeps the newest
    ``interactionDateTime`` sent and counts one more write.  ``clock`` (monotonic seconds) drives the
    rate-limit window and ``RequestLog.t``, so tests can move time instead of sleeping.  Use it as a
    context manager, or call :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        tokens: Mapping[str, frozenset[str]] | None = None,
        contacts: Mapping[str, int] | None = None,
        auto_contacts: bool = False,
        events: Mapping[str, Mapping[str, Any]] | Iterable[str] | None = None,
        rate_limit_max: int = 100,
        rate_limit_interval_ms: int = 10_000,
        daily_limit: int = 250_000,
        daily_headers: bool = True,
        latency_s: float = 0.0,
        latency_jitter_s: float = 0.0,
        retry_after: bool = False,
        external_load: int = 0,
        poison_vids: Iterable[int] = (),
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._model = HubSpotModel(
            tokens=tokens,
            contacts=contacts,
            auto_contacts=auto_contacts,
            events=events,
            rate_limit_max=rate_limit_max,
            rate_limit_interval_ms=rate_limit_interval_ms,
            daily_limit=daily_limit,
            daily_headers=daily_headers,
            latency_s=latency_s,
            latency_jitter_s=latency_jitter_s,
            retry_after=retry_after,
            external_load=external_load,
            poison_vids=poison_vids,
            clock=clock,
        )
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._base_url = ""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Bind 127.0.0.1 (port 0 picks a free one), serve in a background thread, return the base URL."""
        if self._server is not None:
            return self._base_url
        self._stopping.clear()
        server = _Server(self._port, self._model, self._stopping)
        self._server = server
        self._base_url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="hubspot-sandbox", daemon=True
        )
        self._thread.start()
        return self._base_url

    def stop(self) -> None:
        """Stop serving and cut open connections (idempotent, fast)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        server.cut_all()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` once started, else an empty string."""
        return self._base_url

    # ------------------------------------------------------------------ driving and inspecting

    def add_contacts(self, emails: Iterable[str]) -> dict[str, int]:
        """Create the contacts that do not exist yet; map each given email to its vid."""
        return self._model.add_contacts(emails)

    def delete_contacts(self, emails: Iterable[str]) -> dict[str, int]:
        """Delete contacts (their participations go with them); map each deleted email to its old
        vid.  ``add_contacts`` creates them again under new ids, as HubSpot would."""
        return self._model.delete_contacts(emails)

    def add_event(
        self, object_id: str, name: str = "Sandbox webinar", start: str = "2024-11-05T15:00:00Z", end: str | None = None
    ) -> None:
        """Create (or replace) a marketing event; ``end`` defaults to one hour after ``start``."""
        self._model.add_event(object_id, name=name, start=start, end=end)

    def grant(self, token: str, scopes: Iterable[str]) -> None:
        """Add scopes to a token, as a user does in the private app's settings."""
        self._model.grant(token, scopes)

    def inject(self, fault: Fault) -> None:
        """Queue a fault for the next matching API requests."""
        self._model.inject(fault)

    def revoke(self, token: str) -> None:
        """Make further calls with this token answer 401."""
        self._model.revoke(token)

    def participations(self, event_id: str) -> list[dict[str, Any]]:
        """Stored participations: ``{"vid", "email", "state", "occurred_at"}``, by vid then state."""
        return self._model.participations(event_id)

    def write_counts(self, event_id: str) -> dict[tuple[int, str], int]:
        """How many times each (vid, state) of the event was written (duplicates show up here)."""
        return self._model.write_counts(event_id)

    def lose_participation(self, event_id: str, vid: int, state: str | None = None) -> None:
        """Forget a stored participation (every state unless given), as if HubSpot had lost it."""
        self._model.lose_participation(event_id, vid, state)

    @property
    def requests(self) -> list[RequestLog]:
        """Every API request so far (control endpoints excluded), oldest first."""
        return self._model.requests()

    @property
    def contacts(self) -> dict[str, int]:
        """Known contacts, lower-case email to vid."""
        return self._model.contacts()

    def state(self) -> dict[str, Any]:
        """The same JSON ``GET /_sandbox/state`` returns."""
        return self._model.snapshot()
