"""HubSpot as the importer sees it: contacts, marketing events, participations, auth and limits.

This module knows nothing about sockets: :meth:`HubSpotModel.handle` turns one request into an
:class:`Answer` (status, headers, body, and how the server must deliver it).  Everything mutable
sits behind one lock, so the threaded HTTP server can call it from many threads.  HubSpot's wire
vocabulary and the stateless answers are in ``wire``, the request limits in ``limits``, the
contacts and their batch read in ``contacts``, the ``/_sandbox/...`` control endpoints in ``control``.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .contacts import Contacts
from .faults import ABRUPT_KINDS, Fault, FaultQueue
from .limits import Limits
from .wire import (
    ALL_SCOPES,
    AUTH_EXPIRED,
    AUTH_MISSING,
    BAD_EMAILS,
    BATCH_CAP,
    BREAKDOWN_FILTERS,
    BREAKDOWN_STATE,
    DEFAULT_START,
    DEFAULT_TOKEN,
    EMAIL_SHAPE,
    INT64_MAX,
    READ_CONTACTS,
    READ_EVENTS,
    READ_PARTIAL_STATUS,
    SCOPES_LINK,
    STATES,
    UNKNOWN_VIDS,
    WRITE_EVENTS,
    Answer,
    ApiError,
    RequestLog,
    Route,
    batch_answer,
    bearer,
    check_int64_path,
    cursor_offset,
    dumps,
    error_answer,
    fault_answer,
    input_error,
    inputs_of,
    is_int,
    iso,
    iso_plus_hour,
    page_cursor,
    parse_body,
    parse_iso,
    string_map,
    validation,
    versioned,
)


@dataclass(slots=True)
class _Record:
    """One stored participation (event, vid, state)."""

    pid: str
    created_at: str
    occurred_at: int
    email: str


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
        self._events: dict[str, dict[str, Any]] = {}
        self._limits = Limits(
            rate_limit_max=rate_limit_max,
            rate_limit_interval_ms=rate_limit_interval_ms,
            daily_limit=daily_limit,
            daily_headers=daily_headers,
            retry_after=retry_after,
            external_load=external_load,
            clock=clock,
        )
        self._latency_s = latency_s
        # Each answer's latency is latency_s +- latency_jitter_s (uniform), as real networks vary.
        self._jitter_s = max(0.0, latency_jitter_s)
        self._rng = random.Random()
        self._poison = frozenset(poison_vids)
        self._faults = FaultQueue()
        self._store: dict[str, dict[tuple[int, str], _Record]] = {}
        self._writes: dict[str, Counter[tuple[int, str]]] = {}
        self._log: list[RequestLog] = []
        self._next_pid = 1_000_001
        self._born = iso(time.time())
        self._contacts = Contacts(auto=auto_contacts, born=self._born)
        for email, vid in (contacts or {}).items():
            self._contacts.put(email, int(vid))
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
            return {email: self._contacts.ensure(email) for email in emails}

    def delete_contacts(self, emails: Iterable[str]) -> dict[str, int]:
        """Delete contacts (and their participations, which belong to them); map each deleted email
        to the vid it had.  Their ids are never issued again: a contact created again gets a new one."""
        gone: dict[str, int] = {}
        with self._lock:
            for email in emails:
                vid = self._contacts.delete(email)
                if vid is None:
                    continue
                gone[email.strip().lower()] = vid
                for records in self._store.values():
                    for pair in [pair for pair in records if pair[0] == vid]:
                        del records[pair]
        return gone

    def add_event(self, object_id: str, name: str = "", start: str = DEFAULT_START, end: str | None = None) -> None:
        if not str(object_id).isdigit() or int(object_id) > INT64_MAX:
            raise ValueError(f"a marketing event's object id is a number below 2^63, not {object_id!r}")
        try:
            parse_iso(start)
            end_text = end if end is not None else iso_plus_hour(start)
            parse_iso(end_text)
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
            return self._contacts.by_email()

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
                "contacts": len(self._contacts),
            }

    # ------------------------------------------------------------------ the request path

    def handle(self, method: str, target: str, authorization: str | None, raw_body: bytes) -> Answer:
        """Answer one API request (anything outside ``/_sandbox/``)."""
        arrived = self._clock()
        correlation_id = str(uuid.uuid4())
        parts = urlsplit(target)
        path = parts.path
        body, body_ok = parse_body(raw_body)
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
        token = bearer(authorization)
        if token is None or token not in self._tokens or token in self._revoked:
            message = AUTH_EXPIRED if token in self._revoked else AUTH_MISSING
            error = ApiError(401, "INVALID_AUTHENTICATION", message)
            return error_answer(error, correlation_id, self._limits.headers(None)), False
        limited = self._limits.admit(token, correlation_id)
        if limited is not None:
            return limited, True
        rl = self._limits.headers(token)
        fault = self._faults.take(path)
        if fault is not None and fault.kind in ABRUPT_KINDS:
            return fault_answer(fault, correlation_id, rl), True
        try:
            route = self._route(method, path)
            scopes = self._tokens[token]
            if route.scope not in scopes:
                raise ApiError(
                    403,
                    "MISSING_SCOPES",
                    "This app hasn't been granted all required scopes to make this call. "
                    f"Read more about required scopes here: {SCOPES_LINK}.",
                    errors=[
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": [route.scope]},
                        }
                    ],
                    extra={"links": {"scopes": SCOPES_LINK}},
                )
            if not body_ok:
                raise validation("Invalid input JSON: the request body could not be parsed.")
            started = iso(time.time())
            status, payload = route.run(body, parse_qs(query), fault.kind if fault else None)
            if "startedAt" in payload:
                payload["startedAt"] = started
        except ApiError as error:
            return error_answer(error, correlation_id, rl), True
        kind = fault.kind if fault else None
        if kind == "no_results" and status < 300:
            payload.pop("results", None)
            status = 200
        mode = "disconnect_mid" if kind == "disconnect_mid" else "normal"
        delay = fault.delay_s if kind == "slow" and fault else 0.0
        return Answer(status, dumps(payload), rl, mode=mode, delay_s=delay), True

    def _latency(self) -> float:
        if not self._jitter_s:
            return self._latency_s
        with self._lock:
            spread = self._rng.uniform(-self._jitter_s, self._jitter_s)
        return max(0.0, self._latency_s + spread)

    # ------------------------------------------------------------------ routing

    def _route(self, method: str, path: str) -> Route:
        """Find the handler for a path in any served version (``/marketing/v3/marketing-events/...``,
        ``/marketing/marketing-events/2026-03/...``, ``/crm/v3/objects/contacts/...``,
        ``/crm/objects/2026-09/contacts/...``); a version HubSpot does not serve is a 404."""
        segments = tuple(unquote(s) for s in path.strip("/").split("/"))
        found: Route | None = None
        version, rest = versioned(segments)
        if version is not None and rest == ("crm", "objects", "contacts", "batch", "read"):
            partial = READ_PARTIAL_STATUS[version]
            found = Route("POST", READ_CONTACTS, lambda body, q, kind: self._contacts.batch_read(body, partial))
        elif version is not None and rest[:2] == ("marketing", "marketing-events"):
            found = self._events_route(rest[2:])
        if found is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"No route matches {method} {path}.")
        if found.method != method:
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"{method} is not supported on {path}.")
        return found

    def _events_route(self, rest: tuple[str, ...]) -> Route | None:
        """The marketing-events handler for the path after ``marketing-events`` (None: no route)."""
        if not rest:
            return Route("GET", READ_EVENTS, lambda body, q, kind: self._list_events(q))
        if len(rest) == 2 and rest[0] == "participations":
            return Route("GET", READ_EVENTS, lambda body, q, kind: self._counters(rest[1]))
        if len(rest) == 3 and rest[0] == "participations" and rest[2] == "breakdown":
            return Route("GET", READ_EVENTS, lambda body, q, kind: self._breakdown(rest[1], q))
        if len(rest) == 1 and rest[0] != "participations":
            return Route("GET", READ_EVENTS, lambda body, q, kind: self._get_event(rest[0]))
        if len(rest) == 4 and rest[1] == "attendance" and rest[3] in ("create", "email-create"):
            write = self._create if rest[3] == "create" else self._email_create
            return Route("POST", WRITE_EVENTS, lambda body, q, kind: write(rest[0], rest[2], body, kind))
        return None

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
        ended = parse_iso(info["endDateTime"]) < datetime.now(UTC)
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
            raise validation(f"limit must be a whole number from 1 to {BATCH_CAP}, not {limit_text!r}.")
        limit = int(limit_text)
        offset = cursor_offset(query["after"][-1]) if "after" in query else 0
        ids = list(self._events)
        results = [self._get_event(object_id)[1] for object_id in ids[offset : offset + limit]]
        payload: dict[str, Any] = {"results": results}
        if offset + limit < len(ids):
            after = page_cursor(offset + limit)
            payload["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
        return 200, payload

    def _counters(self, event_id: str) -> tuple[int, dict[str, Any]]:
        check_int64_path(event_id)
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
        check_int64_path(event_id)
        info = self._event(event_id)
        limit_text = query.get("limit", ["10"])[-1]
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= BATCH_CAP:
            raise validation(f"limit must be a whole number from 1 to {BATCH_CAP}, not {limit_text!r}.")
        limit = int(limit_text)
        offset = cursor_offset(query["after"][-1]) if "after" in query else 0
        state_filter = query.get("state", [""])[-1].upper()
        if state_filter and state_filter not in BREAKDOWN_FILTERS:
            raise validation(f"state must be one of {', '.join(sorted(BREAKDOWN_FILTERS))}.")
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
            payload["paging"] = {"next": {"after": page_cursor(offset + limit)}}
        return 200, payload

    def _record(self, event_id: str, vid: int, state: str, when: int) -> None:
        records = self._store.setdefault(event_id, {})
        rec = records.get((vid, state))
        if rec is None:
            records[(vid, state)] = _Record(str(self._next_pid), iso(time.time()), when, self._contacts.email_of(vid))
            self._next_pid += 1
        else:
            rec.occurred_at = when
        self._writes.setdefault(event_id, Counter())[(vid, state)] += 1

    @staticmethod
    def _check_state(state: str) -> None:
        if state not in STATES:
            raise validation(f"subscriberState must be one of register, attend or cancel, not {state!r}.")

    def _create(self, event_id: str, state: str, body: Any, kind: str | None) -> tuple[int, dict[str, Any]]:
        self._check_state(state)
        inputs = inputs_of(body)
        pairs: list[tuple[int, int]] = []
        for item in inputs:
            if not isinstance(item, dict):
                raise validation("Invalid input JSON: every input must be an object.")
            vid, when = item.get("vid"), item.get("interactionDateTime")
            if not is_int(vid) or not 0 < vid <= INT64_MAX or not is_int(when) or not string_map(item, "properties"):
                raise validation(
                    "Invalid input JSON: Cannot build MarketingEventSubscriber, "
                    "some of required attributes are not set or not valid."
                )
            pairs.append((vid, when))
        if any(vid in self._poison for vid, _ in pairs):
            raise validation("Invalid input JSON on line 1: one or more inputs could not be processed.")
        self._event(event_id)
        known = [(vid, when) for vid, when in pairs if vid in self._contacts]
        unknown = list(dict.fromkeys(str(vid) for vid, _ in pairs if vid not in self._contacts))
        dropped = known[0][0] if kind == "drop_one" and known else None
        results: dict[int, None] = {}
        for vid, when in known:
            if vid == dropped:
                continue
            self._record(event_id, vid, state, when)
            results[vid] = None
        errors = [input_error("OBJECT_NOT_FOUND", UNKNOWN_VIDS, unknown)] if unknown else []
        return batch_answer([{"vid": vid} for vid in results], errors, kind)

    def _email_create(self, event_id: str, state: str, body: Any, kind: str | None) -> tuple[int, dict[str, Any]]:
        """Record by email, creating contacts that do not exist; a malformed address fails alone."""
        self._check_state(state)
        inputs = inputs_of(body)
        pairs: list[tuple[str, int]] = []
        for item in inputs:
            if not isinstance(item, dict):
                raise validation("Invalid input JSON: every input must be an object.")
            email, when = item.get("email"), item.get("interactionDateTime")
            if (
                not isinstance(email, str)
                or not is_int(when)
                or not string_map(item, "properties")
                or not string_map(item, "contactProperties")
            ):
                raise validation(
                    "Invalid input JSON: Cannot build MarketingEventEmailSubscriber, "
                    "some of required attributes are not set or not valid."
                )
            pairs.append((email, when))
        self._event(event_id)
        results: dict[int, str] = {}
        malformed: list[str] = []
        for index, (email, when) in enumerate(pairs):
            if not EMAIL_SHAPE.fullmatch(email.strip()):
                malformed.append(email)
                continue
            vid = self._contacts.ensure(email)
            if kind == "drop_one" and index == 0:
                continue
            self._record(event_id, vid, state, when)
            results[vid] = self._contacts.email_of(vid)
        errors = [input_error("VALIDATION_ERROR", BAD_EMAILS, malformed)] if malformed else []
        return batch_answer([{"vid": vid, "email": email} for vid, email in results.items()], errors, kind)
