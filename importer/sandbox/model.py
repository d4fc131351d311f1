"""HubSpot as the importer sees it: contacts, marketing events, participations, auth and limits.

This module knows nothing about sockets: :meth:`HubSpotModel.handle` turns one request into an
:class:`Answer` (status, headers, body, and how the server must deliver it).  Everything mutable
sits behind one lock, so the threaded HTTP server can call it from many threads.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard
from urllib.parse import parse_qs, unquote, urlsplit

from .faults import ABRUPT_KINDS, Fault, FaultQueue

DEFAULT_TOKEN = "sandbox-token"
READ_EVENTS = "crm.objects.marketing_events.read"
WRITE_EVENTS = "crm.objects.marketing_events.write"
READ_CONTACTS = "crm.objects.contacts.read"
ALL_SCOPES = frozenset({READ_EVENTS, WRITE_EVENTS, READ_CONTACTS})

BATCH_CAP = 100
STATES = ("register", "attend", "cancel")
#: Breakdown ``attendanceState`` for each stored state (the sandbox never produces NO_SHOW).
BREAKDOWN_STATE = {"register": "REGISTERED", "attend": "ATTENDED", "cancel": "CANCELLED"}
BREAKDOWN_FILTERS = frozenset({"REGISTERED", "ATTENDED", "CANCELLED", "NO_SHOW"})
DEFAULT_START = "2024-11-05T15:00:00Z"

#: The API versions the sandbox serves (the same ones the importer can be set to).
API_VERSIONS = ("v3", "2026-03", "2026-09")
#: Batch-read answers with missing contacts: 207 where the version's contract declares it, else 200.
_READ_PARTIAL_STATUS = {"v3": 207, "2026-03": 207, "2026-09": 200}
INT64_MAX = 2**63 - 1
#: Batch reads that ask for property history take at most this many inputs.
HISTORY_CAP = 50
#: Contacts the sandbox creates get ids of the size real portals issue (11 digits, past 2^31 and 2^32).
_VID_FLOOR = 10_000_000_000
_VID_SPAN = 90_000_000_000
_JSON = "application/json;charset=utf-8"
_SCOPES_LINK = "https://developers.hubspot.com/scopes"
_AUTH_MISSING = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
_AUTH_EXPIRED = "The OAuth token used to make this call expired 1 second(s) ago."


@dataclass(frozen=True, slots=True)
class RequestLog:
    """One API request as the sandbox saw it (``t`` is ``time.monotonic()`` at arrival).

    ``status`` is 0 when the connection was closed without an answer.
    """

    t: float
    method: str
    path: str
    inputs: int
    status: int
    token_ok: bool


@dataclass(frozen=True, slots=True)
class Answer:
    """What the HTTP layer must send back.

    ``mode`` is ``"normal"``, ``"disconnect"`` (close without answering) or ``"disconnect_mid"``
    (send headers and half the body, then close).  ``delay_s`` is waited before answering.
    """

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = _JSON
    mode: str = "normal"
    delay_s: float = 0.0


class ApiError(Exception):
    """An error answer in HubSpot's shape, raised inside a handler to short-circuit it."""

    def __init__(
        self,
        status: int,
        category: str | None,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.errors = errors
        self.extra = dict(extra or {})

    def body(self, correlation_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "error", "message": self.message, "correlationId": correlation_id}
        if self.category is not None:
            body["category"] = self.category
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


@dataclass(slots=True)
class _Record:
    """One stored participation (event, vid, state)."""

    pid: str
    created_at: str
    occurred_at: int
    email: str


@dataclass(slots=True)
class _Window:
    """Sliding-window usage of one token."""

    stamps: deque[float]


def iso(ts: float) -> str:
    """Epoch seconds as HubSpot writes times: ``2024-11-05T15:00:00.123Z``."""
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso_plus_hour(text: str) -> str:
    return (_parse_iso(text) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def _validation(message: str) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", message)


_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_UNKNOWN_VIDS = "Could not find contacts with the given vids; they may be deleted or not exist."
_BAD_EMAILS = "Invalid email address; these inputs were not recorded."


def _string_map(item: Mapping[str, Any], key: str) -> bool:
    """An optional ``{name: text}`` object (HubSpot refuses property values that are not strings)."""
    value = item.get(key, {})
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _input_error(category: str, message: str, ids: list[str]) -> dict[str, Any]:
    """One ``errors[]`` entry of a batch answer, naming its inputs in ``context.ids``."""
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": {"ids": ids},
        "errors": [],
        "links": {},
    }


def _check_int64_path(text: str) -> None:
    """A ``marketingEventId`` path parameter is an int64: anything else is a 400, as HubSpot answers."""
    if not text.isdigit() or int(text) > INT64_MAX:
        raise _validation(f"Unable to parse marketingEventId {text!r} as a 64-bit number.")


def _cursor(offset: int) -> str:
    """An opaque paging cursor, as HubSpot's are (clients must pass it back, never compute it)."""
    return base64.urlsafe_b64encode(f"sandbox:{offset}".encode()).decode().rstrip("=")


def _cursor_offset(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    prefix, _, number = text.partition(":")
    if prefix != "sandbox" or not number.isdigit():
        raise _validation("The 'after' cursor is not valid; pass back the one the previous page gave.")
    return int(number)


def _read_inputs(body: Any) -> list[Any]:
    """A contacts batch read's inputs, once its body is one HubSpot accepts."""
    inputs = _inputs_of(body)
    history = body.get("propertiesWithHistory")
    if not isinstance(history, list) or not all(isinstance(p, str) for p in history):
        raise _validation("Invalid input JSON: 'propertiesWithHistory' is required (a list of property names).")
    if history and len(inputs) > HISTORY_CAP:
        raise _validation(
            f"Batch read with propertiesWithHistory cannot exceed {HISTORY_CAP} inputs (got {len(inputs)})."
        )
    properties = body.get("properties", [])
    if not isinstance(properties, list) or not all(isinstance(p, str) for p in properties):
        raise _validation("Invalid input JSON: 'properties' must be a list of property names.")
    return inputs


def _inputs_of(body: Any) -> list[Any]:
    """The ``inputs`` list of a batch body, or a 400 like HubSpot's."""
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise _validation("Invalid input JSON: the request body must be an object with an 'inputs' array.")
    inputs: list[Any] = body["inputs"]
    if len(inputs) > BATCH_CAP:
        raise _validation(f"Batch input cannot exceed {BATCH_CAP} inputs (got {len(inputs)}).")
    return inputs


class HubSpotModel:
    """All sandbox state plus the request logic; see :class:`importer.sandbox.Sandbox` for the knobs."""

    def __init__(
        self,
        *,
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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self._tokens = dict(tokens) if tokens is not None else {DEFAULT_TOKEN: ALL_SCOPES}
        self._revoked: set[str] = set()
        self._vid_by_email: dict[str, int] = {}
        self._email_by_vid: dict[int, str] = {}
        self._contact_created: dict[int, str] = {}
        # ids of deleted contacts: HubSpot never issues an id twice
        self._retired: set[int] = set()
        self._auto_contacts = auto_contacts
        self._events: dict[str, dict[str, Any]] = {}
        self._max = rate_limit_max
        self._interval_s = rate_limit_interval_ms / 1000.0
        self._interval_ms = rate_limit_interval_ms
        self._daily_limit = daily_limit
        self._daily_used = 0
        self._daily_headers = daily_headers
        self._latency_s = latency_s
        # Each answer's latency is latency_s +- latency_jitter_s (uniform), as real networks vary.
        self._jitter_s = max(0.0, latency_jitter_s)
        self._rng = random.Random()
        self._retry_after = retry_after
        self._external_load = external_load
        self._poison = frozenset(poison_vids)
        self._windows: dict[str, _Window] = {}
        self._faults = FaultQueue()
        self._store: dict[str, dict[tuple[int, str], _Record]] = {}
        self._writes: dict[str, Counter[tuple[int, str]]] = {}
        self._log: list[RequestLog] = []
        self._next_pid = 1_000_001
        self._born = iso(time.time())
        for email, vid in (contacts or {}).items():
            self._put_contact(email, int(vid))
        seeds: Iterable[tuple[str, Mapping[str, Any]]] = (
            events.items() if isinstance(events, Mapping) else ((e, {}) for e in events or ())
        )
        for object_id, info in seeds:
            self.add_event(
                str(object_id),
                name=str(info.get("eventName", "")),
                start=str(info.get("startDateTime", DEFAULT_START)),
                end=info.get("endDateTime"),
            )

    # ------------------------------------------------------------------ direct access (tests)

    def add_contacts(self, emails: Iterable[str]) -> dict[str, int]:
        with self._lock:
            return {email: self._ensure_contact(email) for email in emails}

    def delete_contacts(self, emails: Iterable[str]) -> dict[str, int]:
        """Delete contacts (and their participations, which belong to them); map each deleted email
        to the vid it had.  Their ids are never issued again: a contact created again gets a new one."""
        gone: dict[str, int] = {}
        with self._lock:
            for email in emails:
                key = email.strip().lower()
                vid = self._vid_by_email.pop(key, None)
                if vid is None:
                    continue
                gone[key] = vid
                self._email_by_vid.pop(vid, None)
                self._contact_created.pop(vid, None)
                self._retired.add(vid)
                for records in self._store.values():
                    for pair in [pair for pair in records if pair[0] == vid]:
                        del records[pair]
        return gone

    def add_event(self, object_id: str, name: str = "", start: str = DEFAULT_START, end: str | None = None) -> None:
        if not str(object_id).isdigit() or int(object_id) > INT64_MAX:
            raise ValueError(f"a marketing event's object id is a number below 2^63, not {object_id!r}")
        try:
            _parse_iso(start)
            end_text = end if end is not None else _iso_plus_hour(start)
            _parse_iso(end_text)
        except ValueError:
            raise ValueError(
                f"event {object_id}: start and end must be ISO 8601 times such as {DEFAULT_START}"
            ) from None
        with self._lock:
            self._events[str(object_id)] = {
                "eventName": name or f"Sandbox event {object_id}",
                "startDateTime": start,
                "endDateTime": end_text,
            }

    def grant(self, token: str, scopes: Iterable[str]) -> None:
        """Give a private app's token more scopes (what a user does in HubSpot's settings)."""
        with self._lock:
            self._tokens[token] = frozenset(self._tokens.get(token, frozenset())) | frozenset(scopes)

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._faults.add(fault)

    def revoke(self, token: str) -> None:
        with self._lock:
            self._revoked.add(token)

    def contacts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._vid_by_email)

    def participations(self, event_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"vid": vid, "email": rec.email, "state": state, "occurred_at": rec.occurred_at}
                for (vid, state), rec in self._sorted_records(str(event_id))
            ]

    def write_counts(self, event_id: str) -> dict[tuple[int, str], int]:
        with self._lock:
            return dict(self._writes.get(str(event_id), Counter()))

    def lose_participation(self, event_id: str, vid: int, state: str | None = None) -> None:
        with self._lock:
            records = self._store.get(str(event_id), {})
            for key in [k for k in records if k[0] == vid and (state is None or k[1] == state)]:
                del records[key]

    def requests(self) -> list[RequestLog]:
        with self._lock:
            return list(self._log)

    def snapshot(self) -> dict[str, Any]:
        """Everything a driver in another process may want to check (``GET /_sandbox/state``)."""
        with self._lock:
            events = sorted(set(self._store) | set(self._writes))
            return {
                "events": {object_id: dict(info) for object_id, info in sorted(self._events.items())},
                "participations": {event: self.participations(event) for event in events},
                "write_counts": {
                    event: [
                        {"vid": vid, "state": state, "count": count}
                        for (vid, state), count in sorted(self._writes.get(event, Counter()).items())
                    ]
                    for event in events
                },
                "requests": len(self._log),
                "http_429": sum(1 for entry in self._log if entry.status == 429),
                "faults_pending": len(self._faults),
                "contacts": len(self._vid_by_email),
            }

    # ------------------------------------------------------------------ the request path

    def handle(self, method: str, target: str, authorization: str | None, raw_body: bytes) -> Answer:
        """Answer one API request (anything outside ``/_sandbox/``)."""
        arrived = self._clock()
        correlation_id = str(uuid.uuid4())
        parts = urlsplit(target)
        path = parts.path
        body, body_ok = self._parse_body(raw_body)
        inputs = len(body["inputs"]) if isinstance(body, dict) and isinstance(body.get("inputs"), list) else 0
        with self._lock:
            answer, token_ok = self._answer(method, path, parts.query, authorization, body, body_ok, correlation_id)
            status = 0 if answer.mode == "disconnect" else answer.status
            self._log.append(RequestLog(arrived, method, path, inputs, status, token_ok))
        headers = (("X-HubSpot-Correlation-Id", correlation_id), *answer.headers)
        return Answer(
            answer.status,
            answer.body,
            headers,
            answer.content_type,
            answer.mode,
            answer.delay_s + self._latency(),
        )

    def _answer(
        self,
        method: str,
        path: str,
        query: str,
        authorization: str | None,
        body: Any,
        body_ok: bool,
        correlation_id: str,
    ) -> tuple[Answer, bool]:
        token = self._bearer(authorization)
        if token is None or token not in self._tokens or token in self._revoked:
            message = _AUTH_EXPIRED if token in self._revoked else _AUTH_MISSING
            error = ApiError(401, "INVALID_AUTHENTICATION", message)
            return self._error(error, correlation_id, self._rl_headers(None)), False
        limited = self._admit(token, correlation_id)
        if limited is not None:
            return limited, True
        rl = self._rl_headers(token)
        fault = self._faults.take(path)
        if fault is not None and fault.kind in ABRUPT_KINDS:
            return self._fault_answer(fault, correlation_id, rl), True
        try:
            route = self._route(method, path)
            scopes = self._tokens[token]
            if route.scope not in scopes:
                raise ApiError(
                    403,
                    "MISSING_SCOPES",
                    "This app hasn't been granted all required scopes to make this call. "
                    f"Read more about required scopes here: {_SCOPES_LINK}.",
                    errors=[
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": [route.scope]},
                        }
                    ],
                    extra={"links": {"scopes": _SCOPES_LINK}},
                )
            if not body_ok:
                raise _validation("Invalid input JSON: the request body could not be parsed.")
            started = iso(time.time())
            status, payload = route.run(body, parse_qs(query), fault.kind if fault else None)
            if "startedAt" in payload:
                payload["startedAt"] = started
        except ApiError as error:
            return self._error(error, correlation_id, rl), True
        kind = fault.kind if fault else None
        if kind == "no_results" and status < 300:
            payload.pop("results", None)
            status = 200
        mode = "disconnect_mid" if kind == "disconnect_mid" else "normal"
        delay = fault.delay_s if kind == "slow" and fault else 0.0
        return Answer(status, _dumps(payload), rl, mode=mode, delay_s=delay), True

    def _latency(self) -> float:
        if not self._jitter_s:
            return self._latency_s
        with self._lock:
            spread = self._rng.uniform(-self._jitter_s, self._jitter_s)
        return max(0.0, self._latency_s + spread)

    @staticmethod
    def _parse_body(raw: bytes) -> tuple[Any, bool]:
        if not raw.strip():
            return None, True
        try:
            return json.loads(raw), True
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None, False

    @staticmethod
    def _bearer(authorization: str | None) -> str | None:
        if not authorization:
            return None
        scheme, _, value = authorization.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None

    def _error(self, error: ApiError, correlation_id: str, headers: tuple[tuple[str, str], ...]) -> Answer:
        return Answer(error.status, _dumps(error.body(correlation_id)), headers)

    # ------------------------------------------------------------------ limits

    def _window(self, token: str) -> deque[float]:
        window = self._windows.setdefault(token, _Window(deque())).stamps
        horizon = self._clock() - self._interval_s
        while window and window[0] <= horizon:
            window.popleft()
        return window

    def _admit(self, token: str, correlation_id: str) -> Answer | None:
        """Count the request against the limits, or answer 429 (refused requests are not counted)."""
        if self._daily_used >= self._daily_limit:
            error = _daily()
            return self._error(error, correlation_id, self._rl_headers(token))
        window = self._window(token)
        if len(window) + self._external_load >= self._max:
            headers = self._rl_headers(token)
            if self._retry_after:
                wait = window[0] + self._interval_s - self._clock() if window else self._interval_s
                headers += (("Retry-After", str(max(1, math.ceil(wait)))),)
            return self._error(_ten_secondly(), correlation_id, headers)
        window.append(self._clock())
        self._daily_used += 1
        return None

    def _rl_headers(self, token: str | None) -> tuple[tuple[str, str], ...]:
        """The X-HubSpot-RateLimit-* headers; the daily pair only when ``daily_headers`` (HubSpot
        leaves it out for OAuth tokens, so a client must manage without)."""
        used = len(self._window(token)) if token is not None and token in self._tokens else 0
        burst = (
            ("X-HubSpot-RateLimit-Max", str(self._max)),
            ("X-HubSpot-RateLimit-Remaining", str(max(0, self._max - self._external_load - used))),
            ("X-HubSpot-RateLimit-Interval-Milliseconds", str(self._interval_ms)),
        )
        if not self._daily_headers:
            return burst
        return (
            *burst,
            ("X-HubSpot-RateLimit-Daily", str(self._daily_limit)),
            ("X-HubSpot-RateLimit-Daily-Remaining", str(max(0, self._daily_limit - self._daily_used))),
        )

    def _fault_answer(self, fault: Fault, correlation_id: str, rl: tuple[tuple[str, str], ...]) -> Answer:
        kind = fault.kind
        if kind == "disconnect":
            return Answer(0, b"", mode="disconnect")
        if kind == "bad_json":
            return Answer(200, b'{"status":"COMPLETE","results":[{"vid":', rl)
        if kind == "rate_limit":
            return self._error(_ten_secondly(), correlation_id, ())
        if kind == "rate_limit_retry_after":
            wait = 1.0 if fault.retry_after is None else fault.retry_after
            text = str(int(wait)) if float(wait).is_integer() else str(wait)
            return self._error(_ten_secondly(), correlation_id, (*rl, ("Retry-After", text)))
        if kind == "daily":
            error = _daily()
            return self._error(error, correlation_id, rl)
        if kind == "unauthorized":
            return self._error(ApiError(401, "INVALID_AUTHENTICATION", _AUTH_EXPIRED), correlation_id, rl)
        if kind == "bad_batch":
            error = _validation("Invalid input JSON on line 1, column 2: one or more inputs are not valid.")
            return self._error(error, correlation_id, rl)
        if fault.status in (502, 503):
            html = f"<html><body><h1>{fault.status} Service unavailable</h1></body></html>".encode()
            return Answer(fault.status, html, rl, content_type="text/html;charset=utf-8")
        error = ApiError(fault.status, "INTERNAL_ERROR" if fault.status >= 500 else "ERROR", "internal error")
        return self._error(error, correlation_id, rl)

    # ------------------------------------------------------------------ routing

    def _route(self, method: str, path: str) -> _Route:
        """Find the handler for a path in any served version (``/marketing/v3/marketing-events/...``,
        ``/marketing/marketing-events/2026-03/...``, ``/crm/v3/objects/contacts/...``,
        ``/crm/objects/2026-09/contacts/...``); a version HubSpot does not serve is a 404."""
        segments = tuple(unquote(s) for s in path.strip("/").split("/"))
        found: _Route | None = None
        version, rest = _versioned(segments)
        if version is not None and rest == ("crm", "objects", "contacts", "batch", "read"):
            partial = _READ_PARTIAL_STATUS[version]
            found = _Route("POST", READ_CONTACTS, lambda body, q, kind: self._batch_read(body, partial))
        elif version is not None and rest[:2] == ("marketing", "marketing-events"):
            found = self._events_route(rest[2:])
        if found is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"No route matches {method} {path}.")
        if found.method != method:
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"{method} is not supported on {path}.")
        return found

    def _events_route(self, rest: tuple[str, ...]) -> _Route | None:
        """The marketing-events handler for the path after ``marketing-events`` (None: no route)."""
        if not rest:
            return _Route("GET", READ_EVENTS, lambda body, q, kind: self._list_events(q))
        if len(rest) == 2 and rest[0] == "participations":
            return _Route("GET", READ_EVENTS, lambda body, q, kind: self._counters(rest[1]))
        if len(rest) == 3 and rest[0] == "participations" and rest[2] == "breakdown":
            return _Route("GET", READ_EVENTS, lambda body, q, kind: self._breakdown(rest[1], q))
        if len(rest) == 1 and rest[0] != "participations":
            return _Route("GET", READ_EVENTS, lambda body, q, kind: self._get_event(rest[0]))
        if len(rest) == 4 and rest[1] == "attendance" and rest[3] in ("create", "email-create"):
            write = self._create if rest[3] == "create" else self._email_create
            return _Route("POST", WRITE_EVENTS, lambda body, q, kind: write(rest[0], rest[2], body, kind))
        return None

    # ------------------------------------------------------------------ contacts

    def _put_contact(self, email: str, vid: int) -> None:
        key = email.strip().lower()
        self._vid_by_email[key] = vid
        self._email_by_vid.setdefault(vid, key)
        self._contact_created.setdefault(vid, self._born)

    def _ensure_contact(self, email: str) -> int:
        key = email.strip().lower()
        if key in self._vid_by_email:
            return self._vid_by_email[key]
        digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
        vid = _VID_FLOOR + digest % _VID_SPAN
        while vid in self._email_by_vid or vid in self._retired:
            vid += 1
        self._vid_by_email[key] = vid
        self._email_by_vid[vid] = key
        self._contact_created[vid] = iso(time.time())
        return vid

    def _contact_json(self, vid: int) -> dict[str, Any]:
        created = self._contact_created.get(vid, self._born)
        return {
            "id": str(vid),
            "properties": {
                "createdate": created,
                "email": self._email_by_vid.get(vid, ""),
                "hs_object_id": str(vid),
                "lastmodifieddate": created,
            },
            "createdAt": created,
            "updatedAt": created,
            "archived": False,
        }

    def _batch_read(self, body: Any, partial_status: int) -> tuple[int, dict[str, Any]]:
        inputs = _read_inputs(body)
        by_email = body.get("idProperty") == "email"
        found: dict[int, None] = {}
        missing: list[str] = []
        for item in inputs:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise _validation("Invalid input JSON: every input needs an 'id' string.")
            ident = item["id"]
            vid = self._read_one(ident, by_email=by_email)
            if vid is not None:
                found[vid] = None
            elif ident not in missing:
                missing.append(ident)
        payload = self._batch_payload([self._contact_json(vid) for vid in sorted(found)])
        if not missing:
            return 200, payload
        payload["numErrors"] = 1
        payload["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": "Could not get some CONTACT objects, they may be deleted or not exist. "
                "Check that ids are valid.",
                "context": {"ids": missing},
                "errors": [],
                "links": {},
            }
        ]
        return partial_status, payload

    def _read_one(self, ident: str, *, by_email: bool) -> int | None:
        """The contact a batch read's input names (by email, or by id), or None; with auto contacts
        an unknown email becomes a contact, as on a portal that has everyone."""
        if not by_email:
            return int(ident) if ident.isdigit() and int(ident) in self._email_by_vid else None
        key = ident.strip().lower()
        vid = self._vid_by_email.get(key)
        if vid is None and self._auto_contacts and "@" in key:
            vid = self._ensure_contact(key)
        return vid

    @staticmethod
    def _batch_payload(results: list[dict[str, Any]]) -> dict[str, Any]:
        now = iso(time.time())
        return {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}

    # ------------------------------------------------------------------ events and participations

    def _event(self, object_id: str) -> dict[str, Any]:
        """A created event, or HubSpot's 404: only events created (``add_event``, ``events=``,
        ``importer sandbox --event``) exist."""
        if object_id in self._events:
            return self._events[object_id]
        raise ApiError(
            404,
            "OBJECT_NOT_FOUND",
            f"Marketing event with id {object_id} not found.",
            errors=[{"message": f"Marketing event {object_id} does not exist.", "context": {"ids": [object_id]}}],
        )

    def _state_counts(self, event_id: str) -> dict[str, int]:
        records = self._store.get(event_id, {})
        return {state: sum(1 for (_, s) in records if s == state) for state in STATES}

    def _get_event(self, object_id: str) -> tuple[int, dict[str, Any]]:
        info = self._event(object_id)
        counts = self._state_counts(object_id)
        ended = _parse_iso(info["endDateTime"]) < datetime.now(UTC)
        return 200, {
            "objectId": object_id,
            "eventName": info["eventName"],
            "eventType": "WEBINAR",
            "startDateTime": info["startDateTime"],
            "endDateTime": info["endDateTime"],
            "eventOrganizer": "Sandbox",
            "eventDescription": "",
            "eventUrl": "",
            "eventCancelled": False,
            "eventCompleted": ended,
            "customProperties": [],
            "createdAt": self._born,
            "updatedAt": self._born,
            "registrants": counts["register"],
            "attendees": counts["attend"],
            "cancellations": counts["cancel"],
            "noShows": 0,
        }

    def _list_events(self, query: Mapping[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """The portal's events in the order they were created, ``limit`` a page (10 unless asked,
        at most 100) from the ``after`` cursor, with ``paging.next`` while more follow."""
        limit_text = query.get("limit", ["10"])[-1]
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= BATCH_CAP:
            raise _validation(f"limit must be a whole number from 1 to {BATCH_CAP}, not {limit_text!r}.")
        limit = int(limit_text)
        offset = _cursor_offset(query["after"][-1]) if "after" in query else 0
        ids = list(self._events)
        results = [self._get_event(object_id)[1] for object_id in ids[offset : offset + limit]]
        payload: dict[str, Any] = {"results": results}
        if offset + limit < len(ids):
            after = _cursor(offset + limit)
            payload["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
        return 200, payload

    def _counters(self, event_id: str) -> tuple[int, dict[str, Any]]:
        _check_int64_path(event_id)
        self._event(event_id)
        counts = self._state_counts(event_id)
        return 200, {
            "attended": counts["attend"],
            "registered": counts["register"],
            "cancelled": counts["cancel"],
            "noShows": 0,
        }

    def _sorted_records(self, event_id: str) -> list[tuple[tuple[int, str], _Record]]:
        records = self._store.get(event_id, {})
        return sorted(records.items(), key=lambda item: (item[0][0], STATES.index(item[0][1])))

    def _breakdown(self, event_id: str, query: Mapping[str, list[str]]) -> tuple[int, dict[str, Any]]:
        _check_int64_path(event_id)
        info = self._event(event_id)
        limit_text = query.get("limit", ["10"])[-1]
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= BATCH_CAP:
            raise _validation(f"limit must be a whole number from 1 to {BATCH_CAP}, not {limit_text!r}.")
        limit = int(limit_text)
        offset = _cursor_offset(query["after"][-1]) if "after" in query else 0
        state_filter = query.get("state", [""])[-1].upper()
        if state_filter and state_filter not in BREAKDOWN_FILTERS:
            raise _validation(f"state must be one of {', '.join(sorted(BREAKDOWN_FILTERS))}.")
        contact = query.get("contactIdentifier", [""])[-1].strip().lower()
        rows = []
        for (vid, state), rec in self._sorted_records(event_id):
            if state_filter and BREAKDOWN_STATE[state] != state_filter:
                continue
            if contact and contact not in (str(vid), rec.email):
                continue
            rows.append((vid, state, rec))
        page = rows[offset : offset + limit]
        results = [
            {
                "id": rec.pid,
                "createdAt": rec.created_at,
                "associations": {
                    "contact": {"contactId": str(vid), "email": rec.email},
                    "marketingEvent": {"marketingEventId": event_id, "name": info["eventName"]},
                },
                "properties": {"attendanceState": BREAKDOWN_STATE[state], "occurredAt": rec.occurred_at},
            }
            for vid, state, rec in page
        ]
        payload: dict[str, Any] = {"total": len(rows), "results": results}
        if offset + limit < len(rows):
            payload["paging"] = {"next": {"after": _cursor(offset + limit)}}
        return 200, payload

    def _record(self, event_id: str, vid: int, state: str, when: int) -> None:
        records = self._store.setdefault(event_id, {})
        rec = records.get((vid, state))
        if rec is None:
            records[(vid, state)] = _Record(str(self._next_pid), iso(time.time()), when, self._email_by_vid[vid])
            self._next_pid += 1
        else:
            rec.occurred_at = when
        self._writes.setdefault(event_id, Counter())[(vid, state)] += 1

    @staticmethod
    def _check_state(state: str) -> None:
        if state not in STATES:
            raise _validation(f"subscriberState must be one of register, attend or cancel, not {state!r}.")

    def _create(self, event_id: str, state: str, body: Any, kind: str | None) -> tuple[int, dict[str, Any]]:
        self._check_state(state)
        inputs = _inputs_of(body)
        pairs: list[tuple[int, int]] = []
        for item in inputs:
            if not isinstance(item, dict):
                raise _validation("Invalid input JSON: every input must be an object.")
            vid, when = item.get("vid"), item.get("interactionDateTime")
            if not _is_int(vid) or not 0 < vid <= INT64_MAX or not _is_int(when) or not _string_map(item, "properties"):
                raise _validation(
                    "Invalid input JSON: Cannot build MarketingEventSubscriber, "
                    "some of required attributes are not set or not valid."
                )
            pairs.append((vid, when))
        if any(vid in self._poison for vid, _ in pairs):
            raise _validation("Invalid input JSON on line 1: one or more inputs could not be processed.")
        self._event(event_id)
        known = [(vid, when) for vid, when in pairs if vid in self._email_by_vid]
        unknown = list(dict.fromkeys(str(vid) for vid, _ in pairs if vid not in self._email_by_vid))
        dropped = known[0][0] if kind == "drop_one" and known else None
        results: dict[int, None] = {}
        for vid, when in known:
            if vid == dropped:
                continue
            self._record(event_id, vid, state, when)
            results[vid] = None
        errors = [_input_error("OBJECT_NOT_FOUND", _UNKNOWN_VIDS, unknown)] if unknown else []
        return self._batch_answer([{"vid": vid} for vid in results], errors, kind)

    def _email_create(self, event_id: str, state: str, body: Any, kind: str | None) -> tuple[int, dict[str, Any]]:
        """Record by email, creating contacts that do not exist; a malformed address fails alone."""
        self._check_state(state)
        inputs = _inputs_of(body)
        pairs: list[tuple[str, int]] = []
        for item in inputs:
            if not isinstance(item, dict):
                raise _validation("Invalid input JSON: every input must be an object.")
            email, when = item.get("email"), item.get("interactionDateTime")
            if (
                not isinstance(email, str)
                or not _is_int(when)
                or not _string_map(item, "properties")
                or not _string_map(item, "contactProperties")
            ):
                raise _validation(
                    "Invalid input JSON: Cannot build MarketingEventEmailSubscriber, "
                    "some of required attributes are not set or not valid."
                )
            pairs.append((email, when))
        self._event(event_id)
        results: dict[int, str] = {}
        malformed: list[str] = []
        for index, (email, when) in enumerate(pairs):
            if not _EMAIL_SHAPE.fullmatch(email.strip()):
                malformed.append(email)
                continue
            vid = self._ensure_contact(email)
            if kind == "drop_one" and index == 0:
                continue
            self._record(event_id, vid, state, when)
            results[vid] = self._email_by_vid[vid]
        errors = [_input_error("VALIDATION_ERROR", _BAD_EMAILS, malformed)] if malformed else []
        return self._batch_answer([{"vid": vid, "email": email} for vid, email in results.items()], errors, kind)

    def _batch_answer(
        self, results: list[dict[str, Any]], errors: list[dict[str, Any]], kind: str | None
    ) -> tuple[int, dict[str, Any]]:
        """An attendance answer as the contract declares it: 200, with ``numErrors`` and ``errors``
        when some inputs failed; the ``partial_207`` fault answers such a batch 207 instead."""
        payload = self._batch_payload(results)
        if not errors:
            return 200, payload
        payload["numErrors"] = len(errors)
        payload["errors"] = errors
        return (207 if kind == "partial_207" else 200), payload

    # ------------------------------------------------------------------ control endpoints

    def control(self, method: str, target: str, raw_body: bytes) -> Answer:
        """Answer a ``/_sandbox/...`` request (no auth, not counted, never faulted)."""
        path = urlsplit(target).path.rstrip("/")
        body, body_ok = self._parse_body(raw_body)
        correlation_id = str(uuid.uuid4())
        headers = (("X-HubSpot-Correlation-Id", correlation_id),)
        handlers: dict[tuple[str, str], Callable[[Any], tuple[int, Any]]] = {
            ("GET", "/_sandbox/state"): lambda _: (200, self.snapshot()),
            ("POST", "/_sandbox/faults"): self._control_fault,
            ("POST", "/_sandbox/contacts"): self._control_add_contacts,
            ("DELETE", "/_sandbox/contacts"): self._control_delete_contacts,
            ("POST", "/_sandbox/events"): self._control_add_event,
        }
        try:
            if not body_ok:
                raise _validation("The request body is not JSON.")
            handler = handlers.get((method, path))
            if handler is None:
                raise ApiError(404, "OBJECT_NOT_FOUND", f"No sandbox control endpoint {method} {path}.")
            status, payload = handler(body)
            return Answer(status, _dumps(payload), headers)
        except ApiError as error:
            return self._error(error, correlation_id, headers)

    def _control_fault(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            raise _validation("Send the fault as a JSON object.")
        try:
            fault = Fault.from_json(body)
        except (TypeError, ValueError) as exc:
            raise _validation(str(exc)) from None
        self.inject(fault)
        return 201, {"queued": body}

    def _control_add_contacts(self, body: Any) -> tuple[int, Any]:
        emails = body.get("emails") if isinstance(body, dict) else None
        if not isinstance(emails, list) or not all(isinstance(e, str) and "@" in e for e in emails):
            raise _validation("Send {'emails': [...]} with email addresses.")
        return 200, {"contacts": self.add_contacts(emails)}

    def _control_delete_contacts(self, body: Any) -> tuple[int, Any]:
        emails = body.get("emails") if isinstance(body, dict) else None
        if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
            raise _validation("Send {'emails': [...]} with the email addresses of the contacts to delete.")
        return 200, {"deleted": self.delete_contacts(emails)}

    def _control_add_event(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("objectId"), str):
            raise _validation("Send {'objectId': ..., 'eventName': ..., 'startDateTime': ...}.")
        try:
            self.add_event(
                body["objectId"],
                name=str(body.get("eventName", "")),
                start=str(body.get("startDateTime", DEFAULT_START)),
                end=body.get("endDateTime"),
            )
        except ValueError as exc:
            raise _validation(f"{exc}.") from None
        return 201, {"objectId": body["objectId"]}


def _versioned(segments: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """Split a path into its API version and the path without it.

    ``("marketing", "v3", "marketing-events", ...)`` and ``("marketing", "marketing-events",
    "2026-03", ...)`` both give ``("marketing", "marketing-events", ...)``; CRM objects likewise.
    """
    if len(segments) >= 3 and segments[0] == "marketing":
        if segments[1] == "v3" and segments[2] == "marketing-events":
            return "v3", ("marketing", "marketing-events", *segments[3:])
        if segments[1] == "marketing-events" and segments[2] in API_VERSIONS and segments[2] != "v3":
            return segments[2], ("marketing", "marketing-events", *segments[3:])
        if segments[1:] == ("marketing-events", "v3"):  # where HubSpot's v3 spec file puts the listing
            return "v3", ("marketing", "marketing-events")
    if len(segments) >= 3 and segments[0] == "crm":
        if segments[1] == "v3" and segments[2] == "objects":
            return "v3", ("crm", "objects", *segments[3:])
        if segments[1] == "objects" and segments[2] in API_VERSIONS and segments[2] != "v3":
            return segments[2], ("crm", "objects", *segments[3:])
    return None, segments


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    scope: str
    run: Callable[[Any, Mapping[str, list[str]], str | None], tuple[int, dict[str, Any]]]


def _daily() -> ApiError:
    return ApiError(
        429,
        None,
        "You have reached your daily limit.",
        extra={"errorType": "RATE_LIMIT", "policyName": "DAILY", "groupName": "publicapi:daily"},
    )


def _ten_secondly() -> ApiError:
    return ApiError(
        429,
        None,
        "You have reached your ten_secondly_rolling limit.",
        extra={"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING", "groupName": "publicapi:private-app"},
    )
