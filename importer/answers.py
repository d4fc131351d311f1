"""HubSpot's answers to a run's batches, held as columns until ``settle`` joins them to the plan.

Each answer arrives as a :class:`~importer.models.BatchOutcome` (the edge) and is journaled as
such; kept as objects, a million-contact run would hold a dict entry and two objects per contact
until the end.  :class:`Answers` turns them into a few Arrow columns a few hundred answers at a
time, so the run keeps a few bytes per contact.  Also the answers' journal form (JSON).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .models import BatchOutcome, Failure

#: One line per contact an answer names: the answer's place (in the order the answers came), the
#: contact's key as a contact id (``vid``: the key's number when it is one, as ``str(vid)`` or a
#: minus sign writes it; null: it is not) and as text (null: ``str(vid)`` is the key, as nearly
#: always: a million contact ids kept as numbers, not as texts), the vid HubSpot confirmed (null:
#: failed), whether email-create made it, and its failure (null: recorded), a number in
#: :meth:`Answers.failures` (few distinct ones).
LINES = pa.schema(
    [("_b", pa.int32()), ("vid", pa.int64()), ("key", pa.string()), ("confirmed", pa.int64()),
     ("created", pa.bool_()), ("failure", pa.int32())]
)  # fmt: skip
_TEXT = pa.string()
#: What an int64 contact id looks like written out (19 digits only up to the largest int64).
_NUMBER = r"^-?(0|[1-9][0-9]{0,17})$"
_LONGEST = r"^[1-9][0-9]{18}$"
#: Answers turned into columns together: a few MiB of objects at most wait for it.
_BLOCK = 256


@dataclass(frozen=True, slots=True)
class _Block:
    """Answers in columns: their ids and correlation ids, the failed keys HubSpot says no contact
    has (``batch id, key``), and their lines (``_b`` counts from the first answer of the run)."""

    ids: Mapping[str, None]
    correlation: tuple[str, ...]
    gone: tuple[tuple[str, str], ...]
    lines: pa.Table


def keys(lines: pa.Table) -> pa.ChunkedArray:
    """Each line's key as the answer wrote it."""
    return pc.coalesce(lines.column("key"), pc.cast(lines.column("vid"), _TEXT))


def _as_vids(key: pa.Array) -> tuple[pa.Array, pa.Array]:
    """The keys that are contact ids as numbers (null: not one), and as text where ``str(vid)``
    does not write them so (``-0``; null elsewhere)."""
    longest = pc.and_(pc.match_substring_regex(key, _LONGEST), pc.less_equal(key, str(np.iinfo(np.int64).max)))
    numeric = pc.or_(pc.match_substring_regex(key, _NUMBER), longest)
    vid = pc.cast(pc.if_else(numeric, key, pa.scalar(None, _TEXT)), pa.int64())
    plain = pc.fill_null(pc.equal(pc.cast(vid, _TEXT), key), False)
    if pc.all(plain).as_py():
        return vid, pa.array([None] * len(key), _TEXT)  # no text kept at all (not even its offsets)
    return vid, pc.if_else(plain, pa.scalar(None, _TEXT), key)


def _block(outcomes: Iterable[BatchOutcome], first: int, failures: dict[tuple[str, str], int]) -> _Block:
    """The answers' lines; each distinct failure gets its number in ``failures`` (added to it)."""
    c: dict[str, list[Any]] = {name: [] for name in LINES.names if name != "vid"}
    answers = list(outcomes)
    for i, answer in enumerate(answers, first):
        recorded = answer.recorded
        failed = [k for k in answer.failed if k not in recorded] if recorded else list(answer.failed)
        c["_b"].extend([i] * (len(recorded) + len(failed)))
        c["key"] += [*recorded, *failed]
        c["confirmed"] += [*recorded.values(), *[None] * len(failed)]
        c["created"] += [k in answer.created for k in recorded] if answer.created else [False] * len(recorded)
        c["created"] += [False] * len(failed)
        c["failure"] += [None] * len(recorded)
        for key in failed:
            why = answer.failed[key]
            c["failure"].append(failures.setdefault((str(why.reason), why.message), len(failures)))
    columns = {name: pa.array(values, LINES.field(name).type) for name, values in c.items()}
    columns["vid"], columns["key"] = _as_vids(columns["key"])
    return _Block(
        ids=dict.fromkeys(a.batch_id for a in answers),
        correlation=tuple(a.correlation_id for a in answers),
        gone=tuple((a.batch_id, key) for a in answers for key in sorted(a.gone)),
        lines=pa.Table.from_pydict(columns, schema=LINES),
    )


class Answers:
    """The answers of a run by batch id, in the order they came (a collection of batch ids).

    An answer added again (the same batch id) is kept once.  Every change is one assignment, so
    an exception between two statements leaves the answers whole."""

    def __init__(self, outcomes: Iterable[BatchOutcome] = ()) -> None:
        #: the answers in columns, and the ones still waiting to be (by batch id)
        self._state: tuple[tuple[_Block, ...], dict[str, BatchOutcome]] = ((), {})
        #: every distinct failure (reason, message) by its number; a number once given stays
        self._failures: dict[tuple[str, str], int] = {}
        for outcome in outcomes:
            self.add(outcome)

    def add(self, outcome: BatchOutcome) -> None:
        """Keep ``outcome`` (once: an answer held already is not added again)."""
        blocks, waiting = self._state
        if outcome.batch_id in self:
            return
        waiting[outcome.batch_id] = outcome
        if len(waiting) >= _BLOCK:
            self._state = ((*blocks, _block(waiting.values(), self._columned(), self._failures)), {})

    def _columned(self) -> int:
        return sum(len(b.ids) for b in self._state[0])

    def __contains__(self, batch_id: object) -> bool:
        blocks, waiting = self._state
        return batch_id in waiting or any(batch_id in b.ids for b in blocks)

    def __len__(self) -> int:
        return self._columned() + len(self._state[1])

    def __iter__(self) -> Iterator[str]:
        blocks, waiting = self._state
        for b in blocks:
            yield from b.ids
        yield from waiting

    def _blocks(self) -> tuple[_Block, ...]:
        blocks, waiting = self._state
        return (*blocks, _block(waiting.values(), self._columned(), self._failures)) if waiting else blocks

    def ids(self) -> list[str]:
        """The batch ids answered, in the order the answers came."""
        return list(self)

    def correlation_ids(self) -> list[str]:
        """Each answer's correlation id, in the order of :meth:`ids`."""
        return [c for b in self._blocks() for c in b.correlation]

    def gone(self) -> list[tuple[str, str]]:
        """``(batch id, key)`` of the failed keys HubSpot says no contact has (deleted or merged)."""
        return [g for b in self._blocks() for g in b.gone]

    def failures(self) -> list[tuple[str, str]]:
        """The distinct failures (reason, message) the lines' ``failure`` numbers name."""
        self._blocks()  # the answers still waiting name theirs too
        return list(self._failures)

    def lines(self) -> pa.Table:
        """A line per contact the answers name (:data:`LINES`); ``_b`` is the answer's place in
        :meth:`ids`, and an answer's lines follow each other, in that order."""
        blocks = self._blocks()
        return pa.concat_tables([b.lines for b in blocks]) if blocks else LINES.empty_table()


def answers_of(outcomes: Answers | Mapping[str, BatchOutcome]) -> Answers:
    """``outcomes`` as :class:`Answers` (a mapping of answers by batch id, as tests give them)."""
    if isinstance(outcomes, Answers):
        return outcomes
    return Answers(replace(outcome, batch_id=batch_id) for batch_id, outcome in outcomes.items())


# --------------------------------------------------------------------------- the journal's form


def outcome_to_dict(outcome: BatchOutcome) -> dict[str, Any]:
    """A JSON-ready dict of a batch answer (failures as ``[reason, message]``, ``created`` sorted)."""
    return {
        "batch_id": outcome.batch_id,
        "status": outcome.status,
        "recorded": dict(outcome.recorded),
        "failed": {k: [str(f.reason), f.message] for k, f in outcome.failed.items()},
        "correlation_id": outcome.correlation_id,
        "created": sorted(outcome.created),
        "gone": sorted(outcome.gone),
    }


def outcome_from_dict(data: Mapping[str, Any]) -> BatchOutcome:
    """Inverse of :func:`outcome_to_dict`."""
    return BatchOutcome(
        batch_id=data["batch_id"],
        status=int(data["status"]),
        recorded={k: int(v) for k, v in data["recorded"].items()},
        failed={k: Failure(reason, message) for k, (reason, message) in data["failed"].items()},
        correlation_id=data["correlation_id"],
        created=frozenset(data["created"]),
        gone=frozenset(data.get("gone", ())),
    )
