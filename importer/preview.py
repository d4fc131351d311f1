"""What a run is about to do, said before the first write: the question a person answers on a terminal.

Pure: the pipeline hands in the planned rows and batches, the event as HubSpot has it and the
limiter's pace; this module only counts and words it.  Participations cannot be deleted through the
API, so the person sees the event, the files, the column mapping, what is sent in which state, what is
left out and why, and how long it takes, before anything is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from .models import Batch, EventInfo, FileInfo, Outcome
from .ratelimit import estimate_seconds
from .report_model import iso_utc, plural


def duration(seconds: float) -> str:
    """``about 4 s``, ``about 3 min``, ``about 1 h 20 min``."""
    s = max(1, round(seconds))
    if s < 90:
        return f"about {s} s"
    minutes = round(s / 60)
    if minutes < 90:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60} min"


@dataclass(frozen=True)
class Preview:
    """The numbers of the question, and its text."""

    participations: int
    requests: int
    seconds: float
    text: str

    def question(self, event: EventInfo) -> str:
        name = event.name or f"event {event.object_id}"
        return f"Send {plural(self.participations, 'participation')} to {name}? [y/N] "


def build_preview(
    event: EventInfo,
    files: Sequence[FileInfo],
    rows: pa.Table,
    batches: Sequence[Batch],
    limit: tuple[int, float],
    concurrency: int,
) -> Preview:
    lines = ["About to send to HubSpot:"]
    start = f", starts {iso_utc(event.start_ms)[:16].replace('T', ' ')} UTC" if event.start_ms is not None else ""
    lines.append(f"  event      {event.name or '(no name)'} (id {event.object_id}){start}")
    for info in files:
        sheet = f", sheet {info.sheet}" if info.sheet else ""
        lines.append(f"  file       {info.file}{sheet}: {info.profile}, {plural(info.data_rows, 'row')}")
        if info.columns:
            mapping = ", ".join(f"{name} <- {header!r}" for name, header in info.columns.items())
            lines.append(f"  columns    {mapping}")
    states = Counter(p.state.value for b in batches for p in b.items)
    sending = sum(states.values())
    per_state = ", ".join(f"{n:,} {state}" for state, n in sorted(states.items()))
    lines.append(f"  to send    {plural(sending, 'participation')}" + (f" ({per_state})" if per_state else ""))
    # every participation left out counts, a row's second one (``also_``: an attendee's registration) too
    left: Counter[tuple[str, str]] = Counter()
    for prefix in ("", "also_"):
        fate, why = f"{prefix}outcome", f"{prefix}reason"
        settled = rows.filter(pc.is_valid(rows.column(fate)))
        pairs = settled.group_by([fate, why], use_threads=False).aggregate([("row", "count")]).to_pylist()
        left.update({(p[fate], p[why] or ""): p["row_count"] for p in pairs})
    for outcome in (Outcome.MERGED, Outcome.SKIPPED, Outcome.REJECTED, Outcome.FAILED):
        reasons = {reason: n for (o, reason), n in left.items() if o == outcome.value}
        if reasons:
            said = ", ".join(f"{reason} {n:,}" for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
            lines.append(f"  {outcome.value:<10} {plural(sum(reasons.values()), 'participation')} ({said})")
    seconds = estimate_seconds(len(batches), limit, concurrency)
    most, window = limit
    lines.append(
        f"  requests   {plural(len(batches), 'request')}, {duration(seconds)} "
        f"(HubSpot allows {most:,} per {window:g} s)"
    )
    return Preview(participations=sending, requests=len(batches), seconds=seconds, text="\n".join(lines))
