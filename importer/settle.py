"""Joining HubSpot's answers back onto the rows: every sendable participation gets its fate.

Pure (no HTTP, no files).  The answers arrive per batch as :class:`BatchOutcome` objects (the
edge); they are flattened into columns once and joined to the plan (batch id and contact key),
then the plan to the rows (file, row and state).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import StopRun
from .models import BatchOutcome, Outcome, Reason, part_keys
from .rows import worst_first

#: What :func:`settle` gives each participation, beside its row's ``vid`` and ``created_contact``.
_FATE = ("outcome", "reason", "message", "batch_id", "correlation_id")
_TEXT = pa.string()
_NULL_VID = pa.scalar(None, pa.int64())
_ANSWER = pa.schema(
    [("_b", pa.int64()), ("key", _TEXT), ("confirmed", pa.int64()), ("created", pa.bool_()),
     ("failure_reason", _TEXT), ("failure_message", _TEXT)]
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Unsent:
    """The fate of a participation no answer speaks for: the run stopped first."""

    reason: str
    message: str

    @classmethod
    def of(cls, stopped: StopRun | None) -> _Unsent:
        why = stopped.message if stopped else "the run stopped before this batch was sent."
        return cls(
            stopped.reason if stopped else Reason.INTERRUPTED.value,
            f"Not sent: {why} Run the same command again to continue.",
        )


def settle(
    rows: pa.Table,
    parts: pa.Table,
    outcomes: Mapping[str, BatchOutcome],
    *,
    dry_run: bool,
    stopped: StopRun | None,
) -> pa.Table:
    """The rows with every sendable participation settled from the answers to the batches of
    ``parts`` (a chunked plan): planned in a dry run, recorded or failed per contact, failed with
    the stop's reason when its batch got no answer, failed as unsent when no batch carries it.
    A row with two participations shows the one that most needs the user first."""
    unsent = _Unsent.of(stopped)
    planned = parts.filter(pc.is_valid(parts.column("batch_id")))
    verdicts = _planned(planned) if dry_run else _answered(planned, outcomes, unsent)
    return _apply(rows, verdicts, unsent)


def _planned(parts: pa.Table) -> pa.Table:
    state = parts.column("state")
    n = parts.num_rows
    return _verdicts(
        parts,
        outcome=_repeat(Outcome.PLANNED.value, n),
        reason=_repeat(Reason.DRY_RUN.value, n),
        message=pc.binary_join_element_wise("Would be recorded as ", state, " (dry run: nothing was sent).", ""),
        correlation_id=_repeat("", n),
        vid=pa.nulls(n, pa.int64()),
        created=_repeat(False, n),
    )


def _answers(outcomes: Mapping[str, BatchOutcome]) -> pa.Table:
    """The answers flattened (the edge), a line per contact named: its batch (the answer's place in
    ``outcomes``), key, the vid HubSpot confirmed (null: failed), created, and a failure's reason
    and message.  The lists grow by whole answers, so the cost is the objects' own."""
    c: dict[str, list[Any]] = {name: [] for name in _ANSWER.names}
    for i, answer in enumerate(outcomes.values()):
        recorded = answer.recorded
        failed = [k for k in answer.failed if k not in recorded] if recorded else list(answer.failed)
        c["_b"].extend([i] * (len(recorded) + len(failed)))
        c["key"] += [*recorded, *failed]
        c["confirmed"] += [*recorded.values(), *[None] * len(failed)]
        c["created"] += [k in answer.created for k in recorded] if answer.created else [False] * len(recorded)
        c["created"] += [False] * len(failed)
        c["failure_reason"] += [None] * len(recorded)
        c["failure_reason"] += [str(answer.failed[k].reason) for k in failed]
        c["failure_message"] += [None] * len(recorded)
        c["failure_message"] += [answer.failed[k].message for k in failed]
    return pa.Table.from_pydict(c, schema=_ANSWER)


def _answered(parts: pa.Table, outcomes: Mapping[str, BatchOutcome], unsent: _Unsent) -> pa.Table:
    """Each planned participation joined to its contact's answer (batch and key)."""
    answers = _answers(outcomes)
    batch = _np(pc.fill_null(pc.index_in(parts.column("batch_id"), value_set=pa.array(list(outcomes), _TEXT)), -1))
    found = _match(parts, batch.astype(np.int64), answers)
    line = pa.array(found, mask=found < 0)
    answered = pa.array(batch >= 0)
    correlation = pa.array([a.correlation_id for a in outcomes.values()], _TEXT).take(pa.array(batch, mask=batch < 0))
    confirmed = answers.column("confirmed").take(line)
    created = pc.fill_null(answers.column("created").take(line), False)
    same = pc.fill_null(pc.equal(confirmed, parts.column("vid")), False)
    changed = pc.and_(pc.is_valid(confirmed), pc.or_(pc.invert(same), created))
    recorded_text = pc.binary_join_element_wise(
        "Recorded as ",
        parts.column("state"),
        ".",
        pc.if_else(created, " A new contact was created for this email.", ""),
        "",
    )
    failure = answers.column("failure_message").take(line)
    fail_text = pc.fill_null(failure, "HubSpot's answer did not mention this contact.")
    not_answered = pc.invert(answered)
    is_recorded = pc.is_valid(confirmed)
    why = pc.fill_null(answers.column("failure_reason").take(line), Reason.NOT_IN_RESPONSE.value)
    return _verdicts(
        parts,
        outcome=_pick(not_answered, Outcome.FAILED.value, is_recorded, Outcome.RECORDED.value, Outcome.FAILED.value),
        reason=_pick(not_answered, unsent.reason, is_recorded, "", why),
        message=_pick(not_answered, unsent.message, is_recorded, recorded_text, fail_text),
        correlation_id=pc.fill_null(correlation, ""),
        vid=pc.if_else(changed, confirmed, _NULL_VID),
        created=pc.and_(is_recorded, created),
    )


def _match(parts: pa.Table, batch: np.ndarray, answers: pa.Table) -> np.ndarray:
    """For each plan line, its line in ``answers`` (same batch, same key; -1 for none): a join.

    Contacts by vid, nearly all of them, are joined on integers (batch, vid) by sorting, as the
    hash join on text keys costs seconds for a million lines; contacts by email on their text."""
    found = np.full(parts.num_rows, -1, np.int64)
    has_vid = _np(parts.column("vid").is_valid())
    by_vid = np.flatnonzero(has_vid & (batch >= 0))
    by_email = np.flatnonzero(~has_vid & (batch >= 0))
    if len(by_vid):
        found[by_vid] = _match_vids(_np(pc.fill_null(parts.column("vid"), 0))[by_vid], batch[by_vid], answers)
    if len(by_email):
        plan = pa.table({"_b": pa.array(batch[by_email]), "key": part_keys(parts.take(pa.array(by_email)))})
        plan = plan.append_column("_p", pa.array(by_email))
        lines = answers.select(["_b", "key"]).append_column("_a", pa.array(np.arange(answers.num_rows)))
        hits = plan.join(lines, ["_b", "key"], join_type="inner")
        if hits.num_rows:
            found[_np(hits.column("_p"))] = _np(hits.column("_a"))
    return found


def _digits(key: pa.ChunkedArray, pattern: str) -> pa.ChunkedArray:
    return pc.match_substring_regex(key, pattern)


def _longest(key: pa.ChunkedArray) -> pa.ChunkedArray:
    """Keys that are 19-digit vids an int64 holds (written as ``str(vid)`` writes them)."""
    return pc.and_(_digits(key, r"^[1-9][0-9]{18}$"), pc.less_equal(key, str(np.iinfo(np.int64).max)))


def _match_vids(vids: np.ndarray, batch: np.ndarray, answers: pa.Table) -> np.ndarray:
    """For each (vid, batch) of the plan, the answer line with that batch and the vid as its key."""
    known = np.sort(vids)
    known = known[np.append(True, known[1:] != known[:-1])]  # distinct (np.unique hashes, slower here)
    key = answers.column("key")
    numeric = _np(pc.fill_null(pc.or_(_digits(key, r"^-?(0|[1-9][0-9]{0,17})$"), _longest(key)), False))
    at = np.flatnonzero(numeric)
    said = _np(pc.cast(key.take(pa.array(at)), pa.int64())) if len(at) else np.zeros(0, np.int64)
    code = np.minimum(np.searchsorted(known, said), len(known) - 1)
    ours = known[code] == said
    at, code = at[ours], code[ours]
    packed = (_np(answers.column("_b"))[at] << 32) | code
    order = np.argsort(packed, kind="stable")
    ranked = packed[order]
    wanted = (batch << 32) | np.searchsorted(known, vids)
    where = np.minimum(np.searchsorted(ranked, wanted), max(len(ranked) - 1, 0))
    hit = ranked[where] == wanted if len(ranked) else np.zeros(len(wanted), bool)
    return np.where(hit, at[order[where]] if len(ranked) else -1, -1)


def _pick(first: pa.Array, then: object, second: pa.Array, so: object, otherwise: object) -> pa.Array:
    """``then`` where ``first``, else ``so`` where ``second``, else ``otherwise``."""
    return pc.if_else(first, then, pc.if_else(second, so, otherwise))


def _repeat(value: object, n: int) -> pa.Array:
    return pa.array([value]).take(pa.array(np.zeros(n, np.int64)))


def _verdicts(parts: pa.Table, **columns: pa.Array | pa.ChunkedArray) -> pa.Table:
    """One line per planned participation: where it is (file, row, state) and its fate."""
    keep = {name: parts.column(name) for name in ("file", "row", "state", "batch_id")}
    return pa.table({**keep, **columns})


def _np(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False))


def _places(rows: pa.Table, verdicts: pa.Table) -> np.ndarray:
    """For each verdict, the index of its row (file and row number; -1 for none)."""
    files = pc.unique(rows.column("file"))
    n = rows.num_rows

    def keys(table: pa.Table) -> np.ndarray:
        code = pc.fill_null(pc.index_in(table.column("file"), value_set=files), len(files))
        return (_np(code).astype(np.int64) << 40) | _np(table.column("row"))  # row numbers stay below 2**40

    order = np.argsort(keys(rows), kind="stable")
    ranked = keys(rows)[order]
    wanted = keys(verdicts)
    at = np.minimum(np.searchsorted(ranked, wanted), max(n - 1, 0))
    found = ranked[at] == wanted if n else np.zeros(len(wanted), bool)
    return np.where(found, order[at] if n else -1, -1)


def _spread(rows: pa.Table, verdicts: pa.Table, places: np.ndarray, prefix: str, sendable: np.ndarray) -> pa.Array:
    """For each row, the index of the verdict of its participation ``prefix`` (null for none),
    counting only sendable participations."""
    pos = np.full(rows.num_rows, -1, np.int64)
    mine = np.flatnonzero(places >= 0)
    state = rows.column(f"{prefix}state").take(pa.array(places[mine]))
    same = _np(pc.fill_null(pc.equal(state, verdicts.column("state").take(pa.array(mine))), False))
    pos[places[mine[same]]] = mine[same]
    pos[~sendable] = -1
    return pa.array(pos, mask=pos < 0)


def _apply(rows: pa.Table, verdicts: pa.Table, unsent: _Unsent) -> pa.Table:
    """The rows with each sendable participation's fate from ``verdicts`` (unsent without one),
    the confirmed vid and created mark, and the neediest participation first."""
    first = _np(rows.column("outcome").is_null())
    second = _np(pc.and_(rows.column("also_state").is_valid(), rows.column("also_outcome").is_null()))
    columns = {name: rows.column(name) for name in rows.column_names}
    default = {
        "outcome": Outcome.FAILED.value,
        "reason": unsent.reason,
        "message": unsent.message.replace("this batch", "this row"),
        "batch_id": "",
        "correlation_id": "",
    }
    vids, created = [], []
    places = _places(rows, verdicts)
    for prefix, sendable in (("", first), ("also_", second)):
        if not sendable.any():
            continue
        at = _spread(rows, verdicts, places, prefix, sendable)
        mask = pa.array(sendable)
        for name in _FATE:
            fate = pc.fill_null(verdicts.column(name).take(at), default[name])
            if name == "message":  # an open part's message is the mapper's word on its time: it stays
                said = pc.fill_null(columns[f"{prefix}message"], "")
                fate = pc.if_else(pc.equal(said, ""), fate, pc.binary_join_element_wise(fate, said, " "))
            columns[f"{prefix}{name}"] = pc.if_else(mask, fate, columns[f"{prefix}{name}"])
        vids.append(verdicts.column("vid").take(at))
        created.append(pc.fill_null(verdicts.column("created").take(at), False))
    if not vids:
        return rows
    columns["vid"] = pc.coalesce(*vids, rows.column("vid"))
    for made in created:
        columns["created_contact"] = pc.or_(columns["created_contact"], made)
    return worst_first(pa.Table.from_pydict(columns, schema=rows.schema), pa.array(first | second))
