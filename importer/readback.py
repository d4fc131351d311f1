"""A report read back into rows: ``retry`` and ``verify`` start from the report a run wrote.

The rows come back as one :data:`models.ROWS` table; each line of the file is parsed once, here,
at the edge where the report is read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from .errors import InputError
from .models import PART_COLUMNS, ROWS, Outcome, State
from .reporter import REPORT_COLUMNS, read_report


@dataclass(frozen=True)
class ReadBack:
    """A report read back: its summary fields, its lines as text, its event and its rows."""

    summary: dict[str, str]
    lines: list[dict[str, str]]
    event_id: str
    #: the report's rows, a :data:`models.ROWS` table in the report's order
    rows: pa.Table


def read_back(report_path: Path, event_id: str = "") -> ReadBack:
    """The report's rows; ``event_id`` (from --event) wins over the event the report names."""
    summary, lines = read_report(report_path)
    event_id = event_id or summary.get("event_id", "")
    if not event_id:
        raise InputError(f"{report_path} does not name its event.", hint="Pass --event OBJECT_ID.")
    return ReadBack(summary, lines, event_id, rows_from_report(lines))


def _ms_from_iso(text: str) -> int | None:
    if not text:
        return None
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(round(stamp.timestamp() * 1000))


def _ref_from_text(text: str) -> tuple[str | None, int | None]:
    """``file:row`` as (file, row); (None, None) when the text names no row."""
    if not text or ":" not in text:
        return None, None
    name, _, number = text.rpartition(":")
    return (name, int(number)) if number.isdigit() else (None, None)


def _whole(text: str) -> int:
    """A whole number from report text, exactly (contact ids exceed a double's 2**53)."""
    text = str(text).strip()
    return int(text) if text.isdigit() else int(float(text))


def _part(d: Mapping[str, str], prefix: str, time: str, merged: str) -> dict[str, Any]:
    """One participation's columns from a report line (``prefix`` '' or 'also_')."""
    state = d.get(f"{prefix}state")
    outcome = d.get(f"{prefix}outcome")
    merged_file, merged_row = _ref_from_text(d.get(merged, ""))
    return {
        f"{prefix}state": State(state).value if state else None,
        f"{prefix}when_ms": _ms_from_iso(d.get(time, "")),
        f"{prefix}time_source": d.get(f"{prefix}time_source") or "file",
        f"{prefix}outcome": Outcome(outcome).value if outcome else None,
        f"{prefix}reason": d.get(f"{prefix}reason", ""),
        f"{prefix}message": d.get(f"{prefix}message", ""),
        f"{prefix}merged_file": merged_file,
        f"{prefix}merged_row": merged_row,
        f"{prefix}batch_id": d.get(f"{prefix}batch_id", ""),
        f"{prefix}correlation_id": d.get(f"{prefix}correlation_id", ""),
    }


_NO_ALSO = {f"also_{name}": None for name in PART_COLUMNS}


def _record(d: Mapping[str, str]) -> dict[str, Any]:
    return {
        "file": d.get("source_file", ""),
        "row": _whole(d.get("source_row") or "0"),
        "email": d.get("email") or None,
        "vid": _whole(d["vid"]) if d.get("vid") else None,
        **_part(d, "", "interaction_time_utc", "merged_into"),
        "created_contact": str(d.get("created_contact", "")).lower() in ("true", "yes", "1"),
        "extra": [(k, str(v)) for k, v in d.items() if k not in REPORT_COLUMNS and v not in (None, "")],
        **(_part(d, "also_", "also_time_utc", "also_merged_into") if d.get("also_state") else _NO_ALSO),
    }


def rows_from_report(lines: Sequence[Mapping[str, str]]) -> pa.Table:
    """The report's lines (as ``read_report`` gives them) back as a :data:`models.ROWS` table."""
    try:
        return pa.Table.from_pylist([_record(d) for d in lines], schema=ROWS)
    except (KeyError, ValueError) as exc:
        raise InputError(
            f"The report has a line that cannot be read back ({exc}).", hint="Pass the report importer wrote."
        ) from None
