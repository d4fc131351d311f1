"""Joining HubSpot's answers back onto the rows: every sendable participation gets its fate.

Pure (no HTTP, no files).  The answers arrive per batch as :class:`BatchOutcome` objects (the
edge); they are flattened into columns once and joined to the plan (batch id and contact key),
then the plan to the rows (file, row and state).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import StopRun
from .models import PART_COLUMNS, BatchOutcome, Outcome, Reason, part_keys
from .rows import need

#: What :func:`settle` gives each participation, beside its row's ``vid`` and ``created_contact``.
_FATE = ("outcome", "reason", "message", "batch_id", "correlation_id")
_TEXT = pa.string()
_NULL_VID = pa.scalar(None, pa.int64())
_PER_BATCH = pa.schema([("batch_id", _TEXT), ("correlation_id", _TEXT)])
_RECORDED = pa.schema([("batch_id", _TEXT), ("key", _TEXT), ("confirmed", pa.int64()), ("created", pa.bool_())])
_FAILED = pa.schema([("batch_id", _TEXT), ("key", _TEXT), ("failure_reason", _TEXT), ("failure_message", _TEXT)])


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


def _answers(outcomes: Mapping[str, BatchOutcome]) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The answers as three tables: per batch (correlation id), per recorded contact (confirmed
    vid, created) and per failed contact (reason, message).  One pass over the objects: the edge."""
    per_batch: dict[str, list[str]] = {"batch_id": [], "correlation_id": []}
    recorded: dict[str, list[object]] = {"batch_id": [], "key": [], "confirmed": [], "created": []}
    failed: dict[str, list[str]] = {"batch_id": [], "key": [], "failure_reason": [], "failure_message": []}
    for batch_id, answer in outcomes.items():
        per_batch["batch_id"].append(batch_id)
        per_batch["correlation_id"].append(answer.correlation_id)
        recorded["batch_id"].extend([batch_id] * len(answer.recorded))
        recorded["key"].extend(answer.recorded)
        recorded["confirmed"].extend(answer.recorded.values())
        recorded["created"].extend(key in answer.created for key in answer.recorded)
        failed["batch_id"].extend([batch_id] * len(answer.failed))
        failed["key"].extend(answer.failed)
        failed["failure_reason"].extend(str(f.reason) for f in answer.failed.values())
        failed["failure_message"].extend(f.message for f in answer.failed.values())
    return (
        pa.Table.from_pydict(per_batch, schema=_PER_BATCH),
        pa.Table.from_pydict(recorded, schema=_RECORDED),
        pa.Table.from_pydict(failed, schema=_FAILED),
    )


def _answered(parts: pa.Table, outcomes: Mapping[str, BatchOutcome], unsent: _Unsent) -> pa.Table:
    per_batch, recorded, failed = _answers(outcomes)
    joined = (
        parts.append_column("key", part_keys(parts))
        .join(per_batch, "batch_id", join_type="left outer")
        .join(recorded, ["batch_id", "key"], join_type="left outer")
        .join(failed, ["batch_id", "key"], join_type="left outer")
    )
    answered = pc.is_valid(joined.column("correlation_id"))
    confirmed = joined.column("confirmed")
    created = pc.fill_null(joined.column("created"), False)
    same = pc.fill_null(pc.equal(confirmed, joined.column("vid")), False)
    changed = pc.and_(pc.is_valid(confirmed), pc.or_(pc.invert(same), created))
    recorded_text = pc.binary_join_element_wise(
        "Recorded as ",
        joined.column("state"),
        ".",
        pc.if_else(created, " A new contact was created for this email.", ""),
        "",
    )
    fail_text = pc.fill_null(joined.column("failure_message"), "HubSpot's answer did not mention this contact.")
    not_answered = pc.invert(answered)
    is_recorded = pc.is_valid(confirmed)
    return _verdicts(
        joined,
        outcome=_pick(not_answered, Outcome.FAILED.value, is_recorded, Outcome.RECORDED.value, Outcome.FAILED.value),
        reason=_pick(
            not_answered,
            unsent.reason,
            is_recorded,
            "",
            pc.fill_null(joined.column("failure_reason"), Reason.NOT_IN_RESPONSE.value),
        ),  # fmt: skip
        message=_pick(not_answered, unsent.message, is_recorded, recorded_text, fail_text),
        correlation_id=pc.fill_null(joined.column("correlation_id"), ""),
        vid=pc.if_else(changed, confirmed, _NULL_VID),
        created=pc.and_(is_recorded, created),
    )


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


def _spread(rows: pa.Table, verdicts: pa.Table, prefix: str, sendable: np.ndarray) -> pa.Array:
    """For each row, the index of the verdict of its participation ``prefix`` (null for none),
    counting only sendable participations."""
    keys = pa.table(
        {"file": rows.column("file"), "row": rows.column("row"), "state": rows.column(f"{prefix}state"),
         "_at": pa.array(np.arange(rows.num_rows))}
    )  # fmt: skip
    where = verdicts.select(["file", "row", "state"]).append_column("_v", pa.array(np.arange(verdicts.num_rows)))
    hits = keys.join(where, ["file", "row", "state"], join_type="inner")
    pos = np.full(rows.num_rows, -1, np.int64)
    if hits.num_rows:
        pos[_np(hits.column("_at"))] = _np(hits.column("_v"))
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
    for prefix, sendable in (("", first), ("also_", second)):
        if not sendable.any():
            continue
        at = _spread(rows, verdicts, prefix, sendable)
        mask = pa.array(sendable)
        for name in _FATE:
            fate = pc.fill_null(verdicts.column(name).take(at), default[name])
            columns[f"{prefix}{name}"] = pc.if_else(mask, fate, columns[f"{prefix}{name}"])
        vids.append(verdicts.column("vid").take(at))
        created.append(pc.fill_null(verdicts.column("created").take(at), False))
    if not vids:
        return rows
    columns["vid"] = pc.coalesce(*vids, rows.column("vid"))
    for made in created:
        columns["created_contact"] = pc.or_(columns["created_contact"], made)
    return _neediest_first(pa.Table.from_pydict(columns, schema=rows.schema), first | second)


def _neediest_first(rows: pa.Table, touched: np.ndarray) -> pa.Table:
    """A settled row with two participations shows the one that most needs the user first (ties
    keep the order): its ``outcome`` is ``recorded`` only when all of its participations are."""
    has_two = _np(rows.column("also_state").is_valid())
    swap = touched & has_two & (_np(need(rows, "also_")) > _np(need(rows, "")))
    if not swap.any():
        return rows
    mask = pa.array(swap)
    columns = {name: rows.column(name) for name in rows.column_names}
    for name in PART_COLUMNS:
        mine, other = rows.column(name), rows.column(f"also_{name}")
        columns[name] = pc.if_else(mask, other, mine)
        columns[f"also_{name}"] = pc.if_else(mask, mine, other)
    return pa.Table.from_pydict(columns, schema=rows.schema)
