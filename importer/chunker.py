"""Pure planning of what is sent: merge rows into one participation per contact, then batch.

No HTTP, no files.  Merging needs resolved contact ids, so the pipeline calls :func:`merge` after
the lookups; :func:`chunk` then cuts the participations into API-sized batches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter

from .models import STATE_RANK, Batch, Outcome, Participation, Reason, Row, RowRef, State


@dataclass(frozen=True, slots=True)
class MergeResult:
    """The participations to send and every input row, settled (merged) or still sendable."""

    participations: tuple[Participation, ...]
    rows: tuple[Row, ...]


def _preference(row: Row) -> tuple[int, int, str, int]:
    """Sort key of the row that carries a contact's participation: higher state first, then the
    earliest time, then source order (so the choice is deterministic)."""
    assert row.state is not None and row.when_ms is not None
    return (-STATE_RANK[row.state], row.when_ms, row.ref.file, row.ref.row)


def merge(rows: Sequence[Row], event_id: str) -> MergeResult:
    """Fold the sendable rows of one contact into one participation (attend beats register beats
    cancel; the earliest time of the winning state).  The other rows become ``merged`` and point
    at the row that carries the outcome.  Settled rows pass through untouched.

    Every sendable row must have a state, a time and a vid or an email.
    """
    # A contact's first row is stored bare and becomes a list only when a second one appears:
    # most contacts have one row, and a million small lists cost time and memory.
    groups: dict[int | str | None, Row | list[Row]] = {}
    for row in rows:
        if row.outcome is None:
            key = row.vid if row.vid is not None else row.email
            seen = groups.get(key)
            if seen is None:
                groups[key] = row
            elif isinstance(seen, list):
                seen.append(row)
            else:
                groups[key] = [seen, row]
    replaced: dict[RowRef, Row] = {}
    participations: list[Participation] = []
    add = participations.append
    for group in groups.values():
        if not isinstance(group, list):
            assert group.state is not None and group.when_ms is not None
            add(Participation(event_id, group.state, group.vid, group.email, group.when_ms, (group.ref,)))
            continue
        members = sorted(group, key=_preference)
        winner = members[0]
        assert winner.state is not None and winner.when_ms is not None
        add(
            Participation(
                event_id=event_id,
                state=winner.state,
                vid=winner.vid,
                email=winner.email,
                when_ms=winner.when_ms,
                rows=tuple(m.ref for m in members),
            )
        )
        where = f"{winner.ref.file} row {winner.ref.row}"
        for other in members[1:]:
            replaced[other.ref] = replace(
                other,
                outcome=Outcome.MERGED,
                reason=Reason.DUPLICATE_CONTACT.value,
                message=f"Same contact as {where}, which carries the outcome; nothing to do.",
                merged_into=winner.ref,
            )
    out = tuple(replaced.get(r.ref, r) for r in rows) if replaced else tuple(rows)
    return MergeResult(participations=tuple(participations), rows=out)


def _batch_id(state: State, by_email: bool, index: int, items: Sequence[Participation]) -> str:
    """Deterministic: the same participations always get the same id, so a resumed run and the
    journal agree on what a batch is."""
    # a vid batch's key is its vid: reading it directly spares a property call per contact
    lines = [f"{p.key}:{p.when_ms}" for p in items] if by_email else [f"{p.vid}:{p.when_ms}" for p in items]
    digest = hashlib.sha1("\n".join(lines).encode()).hexdigest()[:8]
    return f"{state.value}{'-email' if by_email else ''}-{index:04d}-{digest}"


def _email_order(p: Participation) -> str:
    return p.email or ""


def chunk(participations: Iterable[Participation], batch_size: int) -> list[Batch]:
    """Cut participations into batches of at most ``batch_size``, one event, state and endpoint
    per batch.  Batches are full except the last of each group; order is deterministic."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")

    groups: dict[tuple[str, int, bool], list[Participation]] = {}
    for p in participations:
        groups.setdefault((p.event_id, STATE_RANK[p.state], p.vid is None), []).append(p)
    batches: list[Batch] = []
    for (event_id, _, by_email), members in sorted(groups.items()):
        items = sorted(members, key=_email_order) if by_email else sorted(members, key=attrgetter("vid"))
        state = items[0].state
        for index, start in enumerate(range(0, len(items), batch_size)):
            part = tuple(items[start : start + batch_size])
            batches.append(
                Batch(
                    id=_batch_id(state, by_email, index, part),
                    event_id=event_id,
                    state=state,
                    by_email=by_email,
                    items=part,
                )
            )
    return batches
