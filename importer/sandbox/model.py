"""HubSpot as the importer sees it: contacts, marketing events, participations, auth and limits.

This module knows nothing about sockets: :meth:`HubSpotModel.handle` turns one request into an
:class:`Answer` (status, headers, body, and how the server must deliver it).  Everything mutable
sits behind one lock, so the threaded HTTP server can call it from many threads.
"""

from __future__ import annotations

import hashlib
import json
import math
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

_EVENTS_PREFIX = ("marketing", "v3", "marketing-events")
_CONTACTS_READ = ("crm", "v3", "objects", "contacts", "batch", "read")
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
        events: Mapping[str, Mapping[str, Any]] | None = None,
        any_event: bool = True,
        rate_limit_max: int = 100,
        rate_limit_interval_ms: int = 10_000,
        daily_limit: int = 250_000,
        latency_s: float = 0.0,
        partial_status: int = 207,
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
        self._auto_contacts = auto_contacts
        self._events: dict[str, dict[str, Any]] = {}
        self._any_event = any_event
        self._max = rate_limit_max
        self._interval_s = rate_limit_interval_ms / 1000.0
        self._interval_ms = rate_limit_interval_ms
        self._daily_limit = daily_limit
        self._daily_used = 0
        self._latency_s = latency_s
        self._partial_status = partial_status
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
        for object_id, info in (events or {}).items():
            self.add_event(
                object_id,
                name=str(info.get("eventName", f"Sandbox event {object_id}")),
                start=str(info.get("startDateTime", DEFAULT_START)),
                end=info.get("endDateTime"),
            )

    # ------------------------------------------------------------------ direct access (tests)

    def add_contacts(self, emails: Iterable[str]) -> dict[str, int]:
        with self._lock:
            return {email: self._ensure_contact(email) for email in emails}

    def add_event(self, object_id: str, name: str = "", start: str = DEFAULT_START, end: str | None = None) -> None:
        _parse_iso(start)
        end_text = end if end is not None else _iso_plus_hour(start)
        _parse_iso(end_text)
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
            answer.delay_s + self._latency_s,
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
        used = len(self._window(token)) if token is not None and token in self._tokens else 0
        return (
            ("X-HubSpot-RateLimit-Max", str(self._max)),
            ("X-HubSpot-RateLimit-Remaining", str(max(0, self._max - self._external_load - used))),
            ("X-HubSpot-RateLimit-Interval-Milliseconds", str(self._interval_ms)),
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
        segments = tuple(unquote(s) for s in path.strip("/").split("/"))
        found: _Route | None = None
        if segments == _CONTACTS_READ:
            found = _Route("POST", READ_CONTACTS, lambda body, q, kind: self._batch_read(body))
        elif segments[:3] == _EVENTS_PREFIX:
            rest = segments[3:]
            if len(rest) == 2 and rest[0] == "participations":
                found = _Route("GET", READ_EVENTS, lambda body, q, kind: self._counters(rest[1]))
            elif len(rest) == 3 and rest[0] == "participations" and rest[2] == "breakdown":
                found = _Route("GET", READ_EVENTS, lambda body, q, kind: self._breakdown(rest[1], q))
            elif len(rest) == 1 and rest[0] != "participations":
                found = _Route("GET", READ_EVENTS, lambda body, q, kind: self._get_event(rest[0]))
            elif len(rest) == 4 and rest[1] == "attendance" and rest[3] == "create":
                found = _Route("POST", WRITE_EVENTS, lambda body, q, kind: self._create(rest[0], rest[2], body, kind))
            elif len(rest) == 4 and rest[1] == "attendance" and rest[3] == "email-create":
                found = _Route(
                    "POST", WRITE_EVENTS, lambda body, q, kind: self._email_create(rest[0], rest[2], body, kind)
                )
        if found is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"No route matches {method} {path}.")
        if found.method != method:
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"{method} is not supported on {path}.")
        return found

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
        digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")
        vid = 100_000 + digest % 900_000_000
        while vid in self._email_by_vid:
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

    def _batch_read(self, body: Any) -> tuple[int, dict[str, Any]]:
        inputs = _inputs_of(body)
        by_email = body.get("idProperty") == "email"
        found: dict[int, None] = {}
        missing: list[str] = []
        for item in inputs:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise _validation("Invalid input JSON: every input needs an 'id' string.")
            ident = item["id"]
            vid: int | None
            if by_email:
                key = ident.strip().lower()
                vid = self._vid_by_email.get(key)
                if vid is None and self._auto_contacts and "@" in key:
                    vid = self._ensure_contact(key)
            else:
                vid = int(ident) if ident.isdigit() and int(ident) in self._email_by_vid else None
            if vid is None:
                if ident not in missing:
                    missing.append(ident)
            else:
                found[vid] = None
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
        return 207, payload

    @staticmethod
    def _batch_payload(results: list[dict[str, Any]]) -> dict[str, Any]:
        now = iso(time.time())
        return {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}

    # ------------------------------------------------------------------ events and participations

    def _event(self, object_id: str) -> dict[str, Any]:
        if object_id in self._events:
            return self._events[object_id]
        if self._any_event and object_id.isdigit():
            return {
                "eventName": f"Sandbox event {object_id}",
                "startDateTime": DEFAULT_START,
                "endDateTime": _iso_plus_hour(DEFAULT_START),
            }
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

    def _counters(self, event_id: str) -> tuple[int, dict[str, Any]]:
        if not event_id.isdigit():
            raise _validation(f"Unable to parse marketingEventId {event_id!r} as a number.")
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
        if not event_id.isdigit():
            raise _validation(f"Unable to parse marketingEventId {event_id!r} as a number.")
        info = self._event(event_id)
        limit_text = query.get("limit", ["10"])[-1]
        after_text = query.get("after", ["0"])[-1]
        if not limit_text.isdigit() or int(limit_text) < 1:
            raise _validation("limit must be a positive whole number.")
        if not after_text.isdigit():
            raise _validation("The 'after' cursor is not valid.")
        limit = min(int(limit_text), BATCH_CAP)
        offset = int(after_text)
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
            payload["paging"] = {"next": {"after": str(offset + limit)}}
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
            vid, when, props = item.get("vid"), item.get("interactionDateTime"), item.get("properties")
            if not _is_int(vid) or vid <= 0 or not _is_int(when) or not isinstance(props, dict):
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
        payload = self._batch_payload([{"vid": vid} for vid in results])
        if not unknown:
            return 200, payload
        payload["numErrors"] = 1
        payload["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": "Could not find contacts with the given vids; they may be deleted or not exist.",
                "context": {"ids": unknown},
                "errors": [],
                "links": {},
            }
        ]
        return self._partial_status, payload

    def _email_create(self, event_id: str, state: str, body: Any, kind: str | None) -> tuple[int, dict[str, Any]]:
        self._check_state(state)
        inputs = _inputs_of(body)
        pairs: list[tuple[str, int]] = []
        for item in inputs:
            if not isinstance(item, dict):
                raise _validation("Invalid input JSON: every input must be an object.")
            email, when = item.get("email"), item.get("interactionDateTime")
            props, contact_props = item.get("properties"), item.get("contactProperties")
            if (
                not isinstance(email, str)
                or "@" not in email
                or not _is_int(when)
                or not isinstance(props, dict)
                or not isinstance(contact_props, dict)
            ):
                raise _validation(
                    "Invalid input JSON: Cannot build MarketingEventEmailSubscriber, "
                    "some of required attributes are not set or not valid."
                )
            pairs.append((email, when))
        self._event(event_id)
        results: dict[int, str] = {}
        for index, (email, when) in enumerate(pairs):
            vid = self._ensure_contact(email)
            if kind == "drop_one" and index == 0:
                continue
            self._record(event_id, vid, state, when)
            results[vid] = self._email_by_vid[vid]
        return 200, self._batch_payload([{"vid": vid, "email": email} for vid, email in results.items()])

    # ------------------------------------------------------------------ control endpoints

    def control(self, method: str, target: str, raw_body: bytes) -> Answer:
        """Answer a ``/_sandbox/...`` request (no auth, not counted, never faulted)."""
        path = urlsplit(target).path.rstrip("/")
        body, body_ok = self._parse_body(raw_body)
        correlation_id = str(uuid.uuid4())
        headers = (("X-HubSpot-Correlation-Id", correlation_id),)
        try:
            if not body_ok:
                raise _validation("The request body is not JSON.")
            if (method, path) == ("GET", "/_sandbox/state"):
                return Answer(200, _dumps(self.snapshot()), headers)
            if (method, path) == ("POST", "/_sandbox/faults"):
                if not isinstance(body, dict):
                    raise _validation("Send the fault as a JSON object.")
                try:
                    fault = Fault.from_json(body)
                except (TypeError, ValueError) as exc:
                    raise _validation(str(exc)) from None
                self.inject(fault)
                return Answer(201, _dumps({"queued": body}), headers)
            if (method, path) == ("POST", "/_sandbox/contacts"):
                emails = body.get("emails") if isinstance(body, dict) else None
                if not isinstance(emails, list) or not all(isinstance(e, str) and "@" in e for e in emails):
                    raise _validation("Send {'emails': [...]} with email addresses.")
                return Answer(200, _dumps({"contacts": self.add_contacts(emails)}), headers)
            if (method, path) == ("POST", "/_sandbox/events"):
                if not isinstance(body, dict) or not isinstance(body.get("objectId"), str):
                    raise _validation("Send {'objectId': ..., 'eventName': ..., 'startDateTime': ...}.")
                try:
                    self.add_event(
                        body["objectId"],
                        name=str(body.get("eventName", "")),
                        start=str(body.get("startDateTime", DEFAULT_START)),
                        end=body.get("endDateTime"),
                    )
                except ValueError:
                    raise _validation("startDateTime and endDateTime must be ISO 8601 times.") from None
                return Answer(201, _dumps({"objectId": body["objectId"]}), headers)
            raise ApiError(404, "OBJECT_NOT_FOUND", f"No sandbox control endpoint {method} {path}.")
        except ApiError as error:
            return self._error(error, correlation_id, headers)


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
