"""What HubSpot's answer bodies say, read defensively (a field of the wrong type is absent): an
event, a participation, and a batch's recorded and refused participations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from .hubspot_answers import Verdict, context_names, errors_in
from .models import Batch, BatchOutcome, EventInfo, Failure, Reason


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer the client goes on with (2xx, a JSON object) and how it was classified."""

    status: int
    body: dict[str, Any]
    verdict: Verdict


def parse_body(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return response.text


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def as_ms(value: object) -> int | None:
    """Epoch milliseconds from HubSpot's ISO timestamps (or from a number of ms)."""
    number = as_int(value)
    if number is not None:
        return number
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def event_info(body: dict[str, Any], event_id: str) -> EventInfo:
    return EventInfo(
        object_id=str(body.get("objectId") or event_id),
        name=str(body.get("eventName") or ""),
        start_ms=as_ms(body.get("startDateTime")),
        end_ms=as_ms(body.get("endDateTime")),
    )


def participation(item: object) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        return None
    contact = as_dict(as_dict(item.get("associations")).get("contact"))
    props = as_dict(item.get("properties"))
    vid = as_int(contact.get("contactId"))
    if vid is None:
        return None
    return {
        "vid": vid,
        "email": str(contact.get("email") or "").strip().lower(),
        "state": str(props.get("attendanceState") or ""),
        "occurred_at": as_ms(props.get("occurredAt")),
    }


def _confirmed(results: Sequence[object], by_name: Mapping[str, str], *, by_email: bool) -> dict[str, int]:
    """The participation keys the answer's ``results`` confirm, with the contact id HubSpot gave."""
    recorded: dict[str, int] = {}
    for item in results:
        if not isinstance(item, dict):
            continue
        vid = as_int(item.get("vid"))
        name = str(item.get("email") or "") if by_email else str(vid)
        key = by_name.get(name.strip().lower())
        if key is not None and vid is not None:
            recorded[key] = vid
    return recorded


def _refusals(
    body: object, by_name: Mapping[str, str], recorded: Mapping[str, int]
) -> tuple[dict[str, Failure], list[str], frozenset[str]]:
    """The keys the answer's ``errors`` name (unless recorded), the messages that name none, and
    the keys an ``OBJECT_NOT_FOUND`` names (no contact has them)."""
    failed: dict[str, Failure] = {}
    unattributed: list[str] = []
    gone: set[str] = set()
    for error in errors_in(body):
        message = " ".join(str(error.get("message") or "HubSpot rejected this contact.").split())
        keys = [by_name[n.lower()] for n in context_names(error) if n.lower() in by_name]
        if not keys:
            unattributed.append(message)
        for key in keys:
            if key not in recorded and key not in failed:
                failed[key] = Failure(Reason.REJECTED_BY_HUBSPOT, message)
                if error.get("category") == "OBJECT_NOT_FOUND":
                    gone.add(key)
    return failed, unattributed, frozenset(gone)


def batch_outcome(batch: Batch, answer: Answer) -> BatchOutcome:
    """Reduce a 2xx attendance answer to recorded/failed per participation key."""
    by_name = {((p.email or "") if batch.by_email else str(p.vid)).strip().lower(): p.key for p in batch.items}
    recorded = _confirmed(answer.body["results"], by_name, by_email=batch.by_email)
    failed, unattributed, gone = _refusals(answer.body, by_name, recorded)
    said = f" HubSpot also reported: {' / '.join(unattributed)}" if unattributed else ""
    missing = Failure(
        Reason.NOT_IN_RESPONSE,
        f"HubSpot's answer did not confirm this contact; run the same command again to retry it.{said}",
    )
    for p in batch.items:
        if p.key not in recorded and p.key not in failed:
            failed[p.key] = missing
    # Only emails that no contact had go through email-create, so each one recorded was created.
    created = frozenset(recorded) if batch.by_email else frozenset()
    return BatchOutcome(
        batch.id,
        answer.status,
        recorded,
        failed,
        correlation_id=answer.verdict.correlation_id,
        created=created,
        gone=gone if not batch.by_email else frozenset(),
    )
