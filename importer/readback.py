"""A report read back into rows: ``retry`` and ``verify`` start from the report a run wrote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import InputError
from .models import Also, Outcome, Row, RowRef, State
from .reporter import REPORT_COLUMNS, read_report


@dataclass(frozen=True)
class ReadBack:
    """A report read back: its summary fields, its lines as text, its event and its rows."""

    summary: dict[str, str]
    lines: list[dict[str, str]]
    event_id: str
    rows: list[Row]


def read_back(report_path: Path, event_id: str = "") -> ReadBack:
    """The report's rows; ``event_id`` (from --event) wins over the event the report names."""
    summary, lines = read_report(report_path)
    event_id = event_id or summary.get("event_id", "")
    if not event_id:
        raise InputError(f"{report_path} does not name its event.", hint="Pass --event OBJECT_ID.")
    return ReadBack(summary, lines, event_id, [row_from_report(d) for d in lines])


def _ms_from_iso(text: str) -> int | None:
    if not text:
        return None
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(round(stamp.timestamp() * 1000))


def _ref_from_text(text: str) -> RowRef | None:
    if not text or ":" not in text:
        return None
    name, _, number = text.rpartition(":")
    return RowRef(name, int(number)) if number.isdigit() else None


def _whole(text: str) -> int:
    """A whole number from report text, exactly (contact ids exceed a double's 2**53)."""
    text = str(text).strip()
    return int(text) if text.isdigit() else int(float(text))


def _also_from_report(d: dict[str, str]) -> Also | None:
    """The second participation of a report line (the ``also_*`` columns), if it has one."""
    if not d.get("also_state"):
        return None
    return Also(
        State(d["also_state"]),
        _ms_from_iso(d.get("also_time_utc", "")),
        d.get("also_time_source") or "file",
        Outcome(d["also_outcome"]) if d.get("also_outcome") else None,
        d.get("also_reason", ""),
        d.get("also_message", ""),
        _ref_from_text(d.get("also_merged_into", "")),
    )


def row_from_report(d: dict[str, str]) -> Row:
    """A report line back into a Row (for retry and verify)."""
    try:
        return Row(
            ref=RowRef(d.get("source_file", ""), _whole(d.get("source_row") or "0")),
            email=d.get("email") or None,
            vid=_whole(d["vid"]) if d.get("vid") else None,
            state=State(d["state"]) if d.get("state") else None,
            when_ms=_ms_from_iso(d.get("interaction_time_utc", "")),
            time_source=d.get("time_source") or "file",
            outcome=Outcome(d["outcome"]) if d.get("outcome") else None,
            reason=d.get("reason", ""),
            message=d.get("message", ""),
            merged_into=_ref_from_text(d.get("merged_into", "")),
            batch_id=d.get("batch_id", ""),
            correlation_id=d.get("correlation_id", ""),
            created_contact=str(d.get("created_contact", "")).lower() in ("true", "yes", "1"),
            extra=tuple((k, str(v)) for k, v in d.items() if k not in REPORT_COLUMNS and v not in (None, "")),
            also=_also_from_report(d),
        )
    except (KeyError, ValueError) as exc:
        raise InputError(
            f"The report has a line that cannot be read back ({exc}).", hint="Pass the report importer wrote."
        ) from None
