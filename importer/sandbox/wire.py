"""HubSpot's wire as the sandbox speaks it: scopes, limits and states, the request log entry,
the answer the HTTP layer sends, HubSpot's error shape, and the checks and answers that need no
sandbox state (paths per API version, batch bodies, paging cursors, rate-limit and fault answers).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

from .faults import Fault

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
READ_PARTIAL_STATUS = {"v3": 207, "2026-03": 207, "2026-09": 200}
INT64_MAX = 2**63 - 1
#: Batch reads that ask for property history take at most this many inputs.
HISTORY_CAP = 50
JSON_TYPE = "application/json;charset=utf-8"
SCOPES_LINK = "https://developers.hubspot.com/scopes"
AUTH_MISSING = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
AUTH_EXPIRED = "The OAuth token used to make this call expired 1 second(s) ago."


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
    content_type: str = JSON_TYPE
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


def iso(ts: float) -> str:
    """Epoch seconds as HubSpot writes times: ``2024-11-05T15:00:00.123Z``."""
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso_plus_hour(text: str) -> str:
    return (parse_iso(text) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def validation(message: str) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", message)


EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
UNKNOWN_VIDS = "Could not find contacts with the given vids; they may be deleted or not exist."
BAD_EMAILS = "Invalid email address; these inputs were not recorded."


def string_map(item: Mapping[str, Any], key: str) -> bool:
    """An optional ``{name: text}`` object (HubSpot refuses property values that are not strings)."""
    value = item.get(key, {})
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def input_error(category: str, message: str, ids: list[str]) -> dict[str, Any]:
    """One ``errors[]`` entry of a batch answer, naming its inputs in ``context.ids``."""
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": {"ids": ids},
        "errors": [],
        "links": {},
    }


def check_int64_path(text: str) -> None:
    """A ``marketingEventId`` path parameter is an int64: anything else is a 400, as HubSpot answers."""
    if not text.isdigit() or int(text) > INT64_MAX:
        raise validation(f"Unable to parse marketingEventId {text!r} as a 64-bit number.")


def page_cursor(offset: int) -> str:
    """An opaque paging cursor, as HubSpot's are (clients must pass it back, never compute it)."""
    return base64.urlsafe_b64encode(f"sandbox:{offset}".encode()).decode().rstrip("=")


def cursor_offset(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    prefix, _, number = text.partition(":")
    if prefix != "sandbox" or not number.isdigit():
        raise validation("The 'after' cursor is not valid; pass back the one the previous page gave.")
    return int(number)


def read_inputs(body: Any) -> list[Any]:
    """A contacts batch read's inputs, once its body is one HubSpot accepts."""
    inputs = inputs_of(body)
    history = body.get("propertiesWithHistory")
    if not isinstance(history, list) or not all(isinstance(p, str) for p in history):
        raise validation("Invalid input JSON: 'propertiesWithHistory' is required (a list of property names).")
    if history and len(inputs) > HISTORY_CAP:
        raise validation(
            f"Batch read with propertiesWithHistory cannot exceed {HISTORY_CAP} inputs (got {len(inputs)})."
        )
    properties = body.get("properties", [])
    if not isinstance(properties, list) or not all(isinstance(p, str) for p in properties):
        raise validation("Invalid input JSON: 'properties' must be a list of property names.")
    return inputs


def inputs_of(body: Any) -> list[Any]:
    """The ``inputs`` list of a batch body, or a 400 like HubSpot's."""
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise validation("Invalid input JSON: the request body must be an object with an 'inputs' array.")
    inputs: list[Any] = body["inputs"]
    if len(inputs) > BATCH_CAP:
        raise validation(f"Batch input cannot exceed {BATCH_CAP} inputs (got {len(inputs)}).")
    return inputs


def parse_body(raw: bytes) -> tuple[Any, bool]:
    if not raw.strip():
        return None, True
    try:
        return json.loads(raw), True
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, False


def bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def error_answer(error: ApiError, correlation_id: str, headers: tuple[tuple[str, str], ...]) -> Answer:
    return Answer(error.status, dumps(error.body(correlation_id)), headers)


def fault_answer(fault: Fault, correlation_id: str, rl: tuple[tuple[str, str], ...]) -> Answer:
    kind = fault.kind
    if kind == "disconnect":
        return Answer(0, b"", mode="disconnect")
    if kind == "bad_json":
        return Answer(200, b'{"status":"COMPLETE","results":[{"vid":', rl)
    if kind == "rate_limit":
        return error_answer(ten_secondly_error(), correlation_id, ())
    if kind == "rate_limit_retry_after":
        wait = 1.0 if fault.retry_after is None else fault.retry_after
        text = str(int(wait)) if float(wait).is_integer() else str(wait)
        return error_answer(ten_secondly_error(), correlation_id, (*rl, ("Retry-After", text)))
    if kind == "daily":
        error = daily_error()
        return error_answer(error, correlation_id, rl)
    if kind == "unauthorized":
        return error_answer(ApiError(401, "INVALID_AUTHENTICATION", AUTH_EXPIRED), correlation_id, rl)
    if kind == "bad_batch":
        error = validation("Invalid input JSON on line 1, column 2: one or more inputs are not valid.")
        return error_answer(error, correlation_id, rl)
    if fault.status in (502, 503):
        html = f"<html><body><h1>{fault.status} Service unavailable</h1></body></html>".encode()
        return Answer(fault.status, html, rl, content_type="text/html;charset=utf-8")
    error = ApiError(fault.status, "INTERNAL_ERROR" if fault.status >= 500 else "ERROR", "internal error")
    return error_answer(error, correlation_id, rl)


def batch_payload(results: list[dict[str, Any]]) -> dict[str, Any]:
    now = iso(time.time())
    return {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}


def batch_answer(
    results: list[dict[str, Any]], errors: list[dict[str, Any]], kind: str | None
) -> tuple[int, dict[str, Any]]:
    """An attendance answer as the contract declares it: 200, with ``numErrors`` and ``errors``
    when some inputs failed; the ``partial_207`` fault answers such a batch 207 instead."""
    payload = batch_payload(results)
    if not errors:
        return 200, payload
    payload["numErrors"] = len(errors)
    payload["errors"] = errors
    return (207 if kind == "partial_207" else 200), payload


def versioned(segments: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
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
class Route:
    method: str
    scope: str
    run: Callable[[Any, Mapping[str, list[str]], str | None], tuple[int, dict[str, Any]]]


def daily_error() -> ApiError:
    return ApiError(
        429,
        None,
        "You have reached your daily limit.",
        extra={"errorType": "RATE_LIMIT", "policyName": "DAILY", "groupName": "publicapi:daily"},
    )


def ten_secondly_error() -> ApiError:
    return ApiError(
        429,
        None,
        "You have reached your ten_secondly_rolling limit.",
        extra={"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING", "groupName": "publicapi:private-app"},
    )
