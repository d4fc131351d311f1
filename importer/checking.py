"""``verify``: what a report (or a run) says was recorded, against the participations HubSpot shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .config import Config
from .hubspot import HubSpot
from .models import Outcome, Reason, State
from .readback import read_back
from .rows import PREFIXES
from .services import Services, connect
from .waits import Waits

_HUBSPOT_STATE = {State.ATTEND: "ATTENDED", State.REGISTER: "REGISTERED", State.CANCEL: "CANCELLED"}


@dataclass(frozen=True)
class VerifyResult:
    """Which recorded participations (contact and state) HubSpot does not show (exit 1 when any)."""

    exit_code: int
    text: str
    missing: tuple[tuple[int, str, str], ...]
    counters: dict[str, int]
    #: how many participations the report says HubSpot holds (recorded, or already recorded)
    checked: int = 0


def check_recorded(
    client: HubSpot, event_id: str, recorded: Sequence[tuple[int, str, State]], before: dict[str, int] | None = None
) -> VerifyResult:
    """Compare what a report says was recorded with the event's participations in HubSpot."""
    shown: set[tuple[int, str]] = set()
    for item in client.participations(event_id):
        shown.add((int(item["vid"]), str(item["state"])))
    counters = client.counters(event_id)
    missing = tuple(
        sorted(
            {(vid, email, state.value) for vid, email, state in recorded if (vid, _HUBSPOT_STATE[state]) not in shown}
        )
    )
    lines = [
        f"verify: event {event_id}: {len(recorded) - len(missing)} of {len(recorded)} "
        "recorded participations (contact and state) are visible in HubSpot"
    ]
    if before is not None:
        lines.append("counters before: " + ", ".join(f"{k} {v}" for k, v in sorted(before.items())))
    lines.append("counters now:    " + ", ".join(f"{k} {v}" for k, v in sorted(counters.items())))
    for vid, email, state in missing:
        lines.append(
            f"missing: vid {vid} {email or '(no email)'} as {state}: "
            "send it again by running the same import with --force"
        )
    return VerifyResult(
        exit_code=1 if missing else 0,
        text="\n".join(lines),
        missing=missing,
        counters=counters,
        checked=len(recorded),
    )


def verify_json(verdict: VerifyResult) -> dict[str, Any]:
    """``verify --json``: the real counts, and each participation HubSpot does not show."""
    return {
        "exit_code": verdict.exit_code,
        "checked": verdict.checked,
        "visible": verdict.checked - len(verdict.missing),
        "missing": [{"vid": vid, "email": email, "state": state} for vid, email, state in verdict.missing],
        "counters": verdict.counters,
    }


def recorded_from_rows(rows: pa.Table) -> list[tuple[int, str, State]]:
    """Every participation the rows say HubSpot holds, as (vid, email, state)."""
    out: list[tuple[int, str, State]] = []
    for prefix in PREFIXES:
        outcome, reason = rows.column(f"{prefix}outcome"), rows.column(f"{prefix}reason")
        held = pc.or_(
            pc.equal(outcome, Outcome.RECORDED.value),
            pc.and_(pc.equal(outcome, Outcome.SKIPPED.value), pc.equal(reason, Reason.ALREADY_RECORDED.value)),
        )
        sendable = pc.and_(pc.is_valid(rows.column("vid")), pc.is_valid(rows.column(f"{prefix}state")))
        found = rows.filter(pc.fill_null(pc.and_(held, sendable), False))
        emails = pc.fill_null(found.column("email"), "").to_pylist()
        states = [State(s) for s in found.column(f"{prefix}state").to_pylist()]
        out += zip(found.column("vid").to_pylist(), emails, states, strict=True)
    return out


def verify(cfg: Config, report_path: Path, svc: Services | None = None) -> VerifyResult:
    """``importer verify REPORT``: the report's recorded rows against HubSpot's participations."""
    svc = svc or Services()
    report = read_back(report_path, cfg.event_id)
    with connect(cfg, svc, Waits(svc.sleep)) as client:
        client.get_event(report.event_id)  # a wrong --event is an input error (exit 2), not a stop to resume
        return check_recorded(client, report.event_id, recorded_from_rows(report.rows))
