"""Pure planning of what is sent: one participation per contact and state, then batches.

No HTTP, no files.  Merging needs resolved contact ids, so the pipeline calls :func:`merge` after
the lookups; :func:`chunk` then cuts the participations into API-sized batches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from .models import STATE_RANK, Batch, Outcome, Participation, Reason, Row, RowRef, State, part_when, settle_part


@dataclass(frozen=True, slots=True)
class MergeResult:
    """The participations to send and every input row, settled (merged) or still sendable."""

    participations: tuple[Participation, ...]
    rows: tuple[Row, ...]


_Key = int | str | None
_Groups = dict[_Key, Row | list[Row]]


def _add(groups: _Groups, key: _Key, row: Row) -> None:
    # A group's first row is stored bare and becomes a list only when a second one appears:
    # most contacts have one row per state, and a million small lists cost time and memory.
    seen = groups.get(key)
    if seen is None:
        groups[key] = row
    elif isinstance(seen, list):
        seen.append(row)
    else:
        groups[key] = [seen, row]


def merge(rows: Sequence[Row], event_id: str) -> MergeResult:
    """One participation per (contact, state): the earliest time of that state among the rows that
    prove it; on a tie, the row that comes first in ``rows`` (the pipeline passes them in input
    order: files in the order given, then row number), never the file's name.  A row proves up to two
    participations (its own and ``also``); each one that another row carries becomes ``merged``
    and points at that row.  A contact is its vid, or its email when it has none.

    No ``cancel`` is sent for a contact that, in the same input, still holds a live registration
    or attendance (a sendable row of its own in ``register`` or ``attend``): those are ``skipped``
    (``still_registered``).  Settled participations pass through untouched.
    """
    attend: _Groups = {}
    register: _Groups = {}
    cancel: _Groups = {}
    for row in rows:
        key = row.vid if row.vid is not None else row.email
        if row.outcome is None:
            st = row.state
            if st is State.ATTEND:
                _add(attend, key, row)
            elif st is State.REGISTER:
                _add(register, key, row)
            else:
                _add(cancel, key, row)
        also = row.also
        if also is not None and also.outcome is None:
            st = also.state
            _add(attend if st is State.ATTEND else register if st is State.REGISTER else cancel, key, row)
    live = _live(rows) if cancel else {}
    changed: dict[RowRef, Row] = {}
    participations: list[Participation] = []
    add = participations.append
    for state, groups in ((State.ATTEND, attend), (State.REGISTER, register), (State.CANCEL, cancel)):
        for key, group in groups.items():
            holder = live.get(key) if state is State.CANCEL else None
            if holder is not None:
                where = f"{holder.ref.file} row {holder.ref.row}"
                for member in group if isinstance(group, list) else (group,):
                    _settle(
                        changed,
                        member,
                        state,
                        Outcome.SKIPPED,
                        Reason.STILL_REGISTERED.value,
                        f"Not sent as cancel: the same contact still holds a registration or attendance "
                        f"({where}); nothing to do.",
                    )
                continue
            if not isinstance(group, list):
                # inline part_when: most groups are one row, and a million calls add up
                when = group.when_ms if group.state is state else group.also.when_ms  # type: ignore[union-attr]
                assert when is not None
                add(Participation(event_id, state, group.vid, group.email, when, (group.ref,)))
                continue
            # a stable sort on the time alone: a group lists its rows in the order of ``rows``
            ranked = sorted(((part_when(m, state), m) for m in group), key=_time_of)
            when, winner = ranked[0]
            assert when is not None
            add(Participation(event_id, state, winner.vid, winner.email, when, tuple(m.ref for _, m in ranked)))
            where = f"{winner.ref.file} row {winner.ref.row}"
            text = f"Same contact as {where}, which carries its {state.value} participation; nothing to do."
            for _, other in ranked[1:]:
                _settle(
                    changed, other, state, Outcome.MERGED, Reason.DUPLICATE_CONTACT.value, text, merged_into=winner.ref
                )
    out = tuple(changed.get(r.ref, r) for r in rows) if changed else tuple(rows)
    return MergeResult(participations=tuple(participations), rows=out)


def _live(rows: Sequence[Row]) -> dict[_Key, Row]:
    """Contacts with a live registration or attendance (a sendable row of their own in ``register``
    or ``attend``), each with its first such row."""
    live: dict[_Key, Row] = {}
    for row in rows:
        if row.outcome is None and row.state is not State.CANCEL:
            key = row.vid if row.vid is not None else row.email
            if key not in live:
                live[key] = row
    return live


def _time_of(item: tuple[int | None, Row]) -> int:
    when = item[0]
    assert when is not None
    return when


def _settle(
    changed: dict[RowRef, Row], row: Row, state: State, outcome: Outcome, reason: str, message: str, **more: object
) -> None:
    """Settle one participation of ``row``, building on what this merge already changed in it."""
    current = changed.get(row.ref, row)
    changed[row.ref] = settle_part(current, state, outcome, reason, message, **more)


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
