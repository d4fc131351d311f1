"""The sandbox's control endpoints (``/_sandbox/...``): what a test or a driver in another process
asks of the portal (its state, faults to inject, contacts and events to add or delete).  No auth,
not counted, never faulted; they use only the model's public methods.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .faults import Fault
from .model import HubSpotModel
from .wire import DEFAULT_START, Answer, ApiError, dumps, error_answer, parse_body, validation


def control(model: HubSpotModel, method: str, target: str, raw_body: bytes) -> Answer:
    """Answer a ``/_sandbox/...`` request (no auth, not counted, never faulted)."""
    path = urlsplit(target).path.rstrip("/")
    body, body_ok = parse_body(raw_body)
    correlation_id = str(uuid.uuid4())
    headers = (("X-HubSpot-Correlation-Id", correlation_id),)
    handlers: dict[tuple[str, str], Callable[[Any], tuple[int, Any]]] = {
        ("GET", "/_sandbox/state"): lambda _: (200, model.snapshot()),
        ("POST", "/_sandbox/faults"): lambda b: _fault(model, b),
        ("POST", "/_sandbox/contacts"): lambda b: _add_contacts(model, b),
        ("DELETE", "/_sandbox/contacts"): lambda b: _delete_contacts(model, b),
        ("POST", "/_sandbox/events"): lambda b: _add_event(model, b),
    }
    try:
        if not body_ok:
            raise validation("The request body is not JSON.")
        handler = handlers.get((method, path))
        if handler is None:
            raise ApiError(404, "OBJECT_NOT_FOUND", f"No sandbox control endpoint {method} {path}.")
        status, payload = handler(body)
        return Answer(status, dumps(payload), headers)
    except ApiError as error:
        return error_answer(error, correlation_id, headers)


def _fault(model: HubSpotModel, body: Any) -> tuple[int, Any]:
    if not isinstance(body, dict):
        raise validation("Send the fault as a JSON object.")
    try:
        fault = Fault.from_json(body)
    except (TypeError, ValueError) as exc:
        raise validation(str(exc)) from None
    model.inject(fault)
    return 201, {"queued": body}


def _add_contacts(model: HubSpotModel, body: Any) -> tuple[int, Any]:
    emails = body.get("emails") if isinstance(body, dict) else None
    if not isinstance(emails, list) or not all(isinstance(e, str) and "@" in e for e in emails):
        raise validation("Send {'emails': [...]} with email addresses.")
    return 200, {"contacts": model.add_contacts(emails)}


def _delete_contacts(model: HubSpotModel, body: Any) -> tuple[int, Any]:
    emails = body.get("emails") if isinstance(body, dict) else None
    if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
        raise validation("Send {'emails': [...]} with the email addresses of the contacts to delete.")
    return 200, {"deleted": model.delete_contacts(emails)}


def _add_event(model: HubSpotModel, body: Any) -> tuple[int, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("objectId"), str):
        raise validation("Send {'objectId': ..., 'eventName': ..., 'startDateTime': ...}.")
    try:
        model.add_event(
            body["objectId"],
            name=str(body.get("eventName", "")),
            start=str(body.get("startDateTime", DEFAULT_START)),
            end=body.get("endDateTime"),
        )
    except ValueError as exc:
        raise validation(f"{exc}.") from None
    return 201, {"objectId": body["objectId"]}
