"""Pure planning of what is sent: one participation per contact and state, then batches.

No HTTP, no files.  Rows are a :data:`~importer.models.ROWS` table and the plan a
:data:`~importer.models.PARTS` table.  Merging needs resolved contact ids, so the pipeline calls
:func:`merge` after the lookups; :func:`chunk` then cuts the plan into API-sized batches, and
:func:`batches` gives the sender its :class:`Batch` objects one at a time, never all at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Sequence
from itertools import pairwise
from typing import overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .models import CODED_TEXT, PARTS, STATE_RANK, Batch, Outcome, Participation, Reason, RowRef, State, part_keys
from .rows import coded, distinct, nulls, ordered_codes, repeated, text

#: State words in rank order (cancel, register, attend): a state's rank is its index here.
_WORDS = pa.array([s.value for s, _ in sorted(STATE_RANK.items(), key=lambda item: item[1])])
_CANCEL = STATE_RANK[State.CANCEL]


def _col(table: pa.Table, name: str) -> pa.Array:
    column = table.column(name)
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _np(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False))


def _positions(n: int) -> type[np.signedinteger]:
    """The smallest integer type that numbers ``n`` lines (row positions, contact codes): half
    the memory of int64 for every table a run can hold."""
    return np.int32 if n < 2**31 else np.int64


def _ranks(words: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The rank of each state word (cancel 0, register 1, attend 2), -1 for none."""
    return _np(pc.fill_null(pc.index_in(words, value_set=_WORDS), -1)).astype(np.int8)


def _contacts(rows: pa.Table) -> np.ndarray:
    """A code per row naming its contact: its vid, or its email when it has none.  An email-only
    contact shares a code only with the same email (never with another email, nor with a vid);
    rows with neither share one code, as they did when the key was ``None``.  A vid is its own code
    (numbering a million ids in order sorted them all); email-only contacts come after the largest."""
    vid = _col(rows, "vid")
    if not vid.null_count:
        return _np(vid)
    has_vid = _np(vid.is_valid())
    emails = pc.dictionary_encode(rows.column("email").filter(pa.array(~has_vid)).combine_chunks())
    own = _np(pc.fill_null(emails.indices, len(emails.dictionary))).astype(np.int64)
    code = np.array(_np(pc.fill_null(vid, 0)), np.int64)
    top = pc.max(vid).as_py()
    if top is not None and top > 2**62:  # the codes after it would not fit: vids numbered in order
        vids, code[has_vid] = np.unique(code[has_vid], return_inverse=True)
        top = len(vids) - 1
    code[~has_vid] = (-1 if top is None else top) + 1 + own
    return code


def _joined(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The two in turn; the first as it is when there is no second (most rows prove one)."""
    return np.concatenate([first, second]) if len(second) else first


class _Proofs:
    """Every sendable participation of the rows (a row's first and ``also_`` one), sorted by
    state, contact, time, then input order: each (state, contact) group starts with its carrier."""

    def __init__(self, rows: pa.Table) -> None:
        ix = _positions(2 * rows.num_rows)
        first = _np(_col(rows, "outcome").is_null())
        self.rank0 = _ranks(_col(rows, "state"))
        rank1 = _ranks(_col(rows, "also_state"))
        at0 = np.flatnonzero(first & (self.rank0 >= 0)).astype(ix)
        at1 = np.flatnonzero(_np(_col(rows, "also_outcome").is_null()) & (rank1 >= 0)).astype(ix)
        self.live = first & (self.rank0 > _CANCEL)
        del first
        when = _joined(self._times(rows, "when_ms", at0), self._times(rows, "also_when_ms", at1))
        self.contacts = _contacts(rows)
        idx = _joined(at0, at1)
        slot = _joined(np.zeros(len(at0), np.int8), np.ones(len(at1), np.int8))
        rank = _joined(self.rank0[at0], rank1[at1])
        del at0, at1, rank1
        who = self.contacts[idx]
        order = np.lexsort((slot, idx, when, who, rank))
        del when
        self.idx, self.slot, self.rank, self.who = idx[order], slot[order], rank[order], who[order]
        del idx, slot, rank, who, order
        starts = np.ones(len(self.idx), bool)
        starts[1:] = (self.rank[1:] != self.rank[:-1]) | (self.who[1:] != self.who[:-1])
        self.starts = starts
        group = np.cumsum(starts, dtype=ix)
        group -= 1
        self.carrier = self.idx[np.flatnonzero(starts).astype(ix)[group]]

    @staticmethod
    def _times(rows: pa.Table, name: str, at: np.ndarray) -> np.ndarray:
        when = _col(rows, name).take(pa.array(at))
        if when.null_count:
            raise ValueError(f"merge needs every sendable participation's time ({name}): fill the times first")
        return _np(when)

    def holders(self) -> np.ndarray | None:
        """Per proof, the first row that holds a live registration or attendance of a cancelled
        contact (-1 for proofs that are not such a cancel); ``None`` when no proof is a cancel."""
        cancels = self.rank == _CANCEL
        if not cancels.any():
            return None
        held = np.full(len(self.idx), -1, np.int64)
        live = np.flatnonzero(self.live)
        who, first = np.unique(self.contacts[live], return_index=True)
        if len(who):
            wanted = self.who[cancels]
            at = np.minimum(np.searchsorted(who, wanted), len(who) - 1)
            held[cancels] = np.where(who[at] == wanted, live[first[at]], -1)
        return held


def merge(rows: pa.Table, event_id: str) -> tuple[pa.Table, pa.Table]:
    """One participation per (contact, state): the earliest time of that state among the rows that
    prove it (then input order, so the choice is deterministic).  A row proves up to two
    participations (its own and ``also_``); each one that another row carries becomes ``merged``
    and points at that row.  A contact is its vid, or its email when it has none.

    No ``cancel`` is sent for a contact that, in the same input, still holds a live registration
    or attendance (a sendable row of its own in ``register`` or ``attend``): those are ``skipped``
    (``still_registered``).  Settled participations pass through untouched.  Returns the rows and
    the plan (:data:`~importer.models.PARTS`, no batch ids yet).
    """
    proofs = _Proofs(rows)
    held = proofs.holders()
    kept = proofs.starts if held is None else proofs.starts & (held < 0)
    settled = np.flatnonzero(~kept)
    out = rows
    if len(settled):
        holder = np.full(len(settled), -1, np.int64) if held is None else held[settled]
        fate = _fates(rows, proofs.carrier[settled], holder, _words(proofs.rank[settled]))
        for slot, prefix in ((0, ""), (1, "also_")):
            mine = np.flatnonzero(proofs.slot[settled] == slot)
            if len(mine):
                at = pa.array(mine)
                out = _settle(out, prefix, proofs.idx[settled[mine]], {k: v.take(at) for k, v in fate.items()})
    carriers = np.flatnonzero(kept)
    states = coded(proofs.rank[carriers], _WORDS)
    return out, _plan(rows, event_id, proofs.idx[carriers], proofs.slot[carriers], states)


def _words(rank: np.ndarray) -> pa.Array:
    """The state words of these ranks."""
    return _WORDS.take(pa.array(rank))


def _fates(rows: pa.Table, carrier: np.ndarray, holder: np.ndarray, states: pa.Array) -> dict[str, pa.Array]:
    """The columns of participations another row carries (merged into ``carrier``), or cancels a
    live registration or attendance holds back (skipped, naming the ``holder``; -1 for none)."""
    files, numbers = text(_col(rows, "file")), _col(rows, "row")
    merged = pa.array(holder < 0)
    to = pa.array(carrier)
    by = pa.array(np.where(holder < 0, carrier, holder))
    merged_text = pc.binary_join_element_wise(
        "Same contact as ", files.take(to), " row ", pc.cast(numbers.take(to), pa.string()),
        ", which carries its ", states, " participation; nothing to do.", "",
    )  # fmt: skip
    skipped_text = pc.binary_join_element_wise(
        "Not sent as cancel: the same contact still holds a registration or attendance (", files.take(by),
        " row ", pc.cast(numbers.take(by), pa.string()), "); nothing to do.", "",
    )  # fmt: skip
    return {
        "outcome": pc.if_else(merged, Outcome.MERGED.value, Outcome.SKIPPED.value),
        "reason": pc.if_else(merged, Reason.DUPLICATE_CONTACT.value, Reason.STILL_REGISTERED.value),
        "message": pc.if_else(merged, merged_text, skipped_text),
        "merged_file": pc.if_else(merged, files.take(to), pa.scalar(None, pa.string())),
        "merged_row": pc.if_else(merged, numbers.take(to), pa.scalar(None, pa.int64())),
    }


def _settle(rows: pa.Table, prefix: str, at: np.ndarray, values: dict[str, pa.Array]) -> pa.Table:
    """``rows`` with the participation ``prefix`` of the rows ``at`` given ``values`` (a null
    value keeps what the row had)."""
    pos = np.full(rows.num_rows, -1, np.int64)
    pos[at] = np.arange(len(at))
    spread = pa.array(pos, mask=pos < 0)
    for name, value in values.items():
        column = f"{prefix}{name}"
        i = rows.schema.get_field_index(column)
        rows = rows.set_column(i, rows.schema.field(i), pc.coalesce(value.take(spread), _col(rows, column)))
    return rows


def _plan(rows: pa.Table, event_id: str, at: np.ndarray, slot: np.ndarray, states: pa.DictionaryArray) -> pa.Table:
    """The PARTS lines of the carriers: row ``at``'s participation ``slot`` in ``states``.  Only a
    line without a vid takes its row's email (the contact it is sent by): the others are sent by
    their vid, and copying every address cost a column as large as the file's emails."""
    n = len(at)
    take = pa.array(at)
    when = _col(rows, "when_ms").take(take)
    if slot.any():
        when = pc.if_else(pa.array(slot == 0), when, _col(rows, "also_when_ms").take(take))
    vid = _col(rows, "vid").take(take)
    files, file_codes = distinct(rows.column("file"))
    columns = {
        "event_id": repeated(event_id, n),
        "state": states,
        "vid": vid,
        "email": _emails_of(rows, at, _np(vid.is_null())),
        "when_ms": when,
        "file": coded(file_codes.take(take).combine_chunks(), files),
        "row": _col(rows, "row").take(take),
        "batch_id": nulls(n, CODED_TEXT),
    }
    return pa.Table.from_arrays([columns[f.name] for f in PARTS], schema=PARTS)


def _emails_of(rows: pa.Table, at: np.ndarray, by_email: np.ndarray) -> pa.Array:
    """The email of row ``at`` where ``by_email`` holds, null elsewhere."""
    if not by_email.any():
        return nulls(len(at), pa.string())
    emails = rows.column("email").take(pa.array(at[by_email])).combine_chunks()
    if by_email.all():
        return emails
    spread = np.cumsum(by_email, dtype=_positions(len(at) + 1))
    spread -= 1
    return emails.take(pa.array(spread, mask=~by_email))


def chunk(parts: pa.Table, batch_size: int) -> pa.Table:
    """The plan sorted into batches of at most ``batch_size``, one event, state and endpoint per
    batch, each line with its ``batch_id``.  Batches are full except the last of each group; the
    order and the ids are deterministic (the same participations always get the same ids, so a
    resumed run and the journal agree on what a batch is)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    by_email = _col(parts, "vid").is_null()
    ranks = _ranks(_col(parts, "state"))
    events = ordered_codes(parts.column("event_id"))
    if _in_batch_order(parts, events, ranks, by_email):
        plan, rank, email = parts, ranks, _np(by_email)  # merge's order already (vids only): no copy
    else:
        order = pc.sort_indices(
            pa.table(
                {
                    "event_id": pa.array(events),
                    "rank": pa.array(ranks),
                    "by_email": by_email,
                    "vid": _col(parts, "vid"),
                    "email": pc.if_else(by_email, pc.fill_null(_col(parts, "email"), ""), pa.scalar(None, pa.string())),
                }
            ),
            sort_keys=[(name, "ascending") for name in ("event_id", "rank", "by_email", "vid", "email")],
        )
        at = _np(order)
        plan, events, rank, email = parts.take(order), events[at], ranks[at], _np(by_email.take(order))
    n = plan.num_rows
    if n == 0:
        return plan
    starts = np.ones(n, bool)
    starts[1:] = (events[1:] != events[:-1]) | (rank[1:] != rank[:-1])
    starts[1:] |= email[1:] != email[:-1]
    # each group's batches, from the group's bounds: no number per line but the batch it is in
    bounds = np.append(np.flatnonzero(starts), n)
    firsts = [np.arange(start, end, batch_size) for start, end in pairwise(bounds.tolist())]
    first = np.concatenate(firsts)
    index = np.concatenate([np.arange(len(f)) for f in firsts])
    ids = _batch_ids(plan, first, index)
    sizes = np.diff(np.append(first, n))
    batch_of = np.repeat(np.arange(len(first), dtype=_positions(len(first))), sizes)
    i = plan.schema.get_field_index("batch_id")
    return plan.set_column(i, plan.schema.field(i), coded(batch_of, pa.array(ids, pa.string())))


def _in_batch_order(parts: pa.Table, events: np.ndarray, rank: np.ndarray, by_email: pa.Array) -> bool:
    """Whether the plan is sorted as :func:`chunk` sorts it already: one event, and contacts by
    vid only, by state then vid (as :func:`merge` leaves them)."""
    if parts.num_rows < 2:
        return True
    if pc.any(by_email).as_py() or bool((events != events[0]).any()):
        return False
    vid = _np(_col(parts, "vid"))
    return bool(np.all((rank[1:] > rank[:-1]) | ((rank[1:] == rank[:-1]) & (vid[1:] >= vid[:-1]))))


#: Lines whose batch ids are worked out together: the joined text of a slice, not of the plan.
_SLICE = 1 << 16


def _batch_ids(plan: pa.Table, first: np.ndarray, index: np.ndarray) -> list[str]:
    """Each batch's id: its state, endpoint and number in its group, and the start of the sha1 of
    its ``key:when_ms`` lines (the ids journals of earlier versions hold).  The lines are joined a
    slice of whole batches at a time."""
    states = _col(plan, "state").take(pa.array(first)).to_pylist()
    by_email = _col(plan, "vid").take(pa.array(first)).is_null().to_pylist()
    bounds = np.append(first, plan.num_rows)
    ids: list[str] = []
    b = 0
    while b < len(first):
        last = max(int(np.searchsorted(bounds, bounds[b] + _SLICE, side="right")) - 1, b + 1)
        start = int(bounds[b])
        for digest in _digests(plan.slice(start, int(bounds[last]) - start), bounds[b : last + 1] - start):
            ids.append(f"{states[b]}{'-email' if by_email[b] else ''}-{index[b]:04d}-{digest}")
            b += 1
    return ids


def _digests(plan: pa.Table, bounds: np.ndarray) -> Iterator[str]:
    """The start of the sha1 of each batch's ``key:when_ms`` lines (``bounds``: where each starts
    in ``plan``, then its end)."""
    lines = pc.binary_join_element_wise(part_keys(plan), ":", pc.cast(_col(plan, "when_ms"), pa.string()), "\n", "")
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    _, offsets_buffer, data = lines.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int32)[lines.offset : lines.offset + len(lines) + 1]
    view = memoryview(data)  # never empty: every line holds at least its ':'
    for start, end in pairwise(bounds.tolist()):
        yield hashlib.sha1(view[offsets[start] : offsets[end] - 1]).hexdigest()[:8]


def _items(plan: pa.Table) -> tuple[Participation, ...]:
    """The lines of ``plan`` as the sender's participation objects (the edge).  The few distinct
    events, states and files are shared, not one string per line: fewer objects to allocate."""
    shared = {name: _shared(_col(plan, name)) for name in ("event_id", "state", "file")}
    states = {word: State(word) for word in set(shared["state"])}
    carriers = [(ref,) for ref in map(RowRef, shared["file"], _col(plan, "row").to_pylist())]
    state = [states[word] for word in shared["state"]]
    vid, email, when = (_col(plan, name).to_pylist() for name in ("vid", "email", "when_ms"))
    return tuple(map(Participation, shared["event_id"], state, vid, email, when, carriers))


def _shared(column: pa.Array) -> list[str]:
    """A text column with few distinct values as a list that repeats one object per value."""
    encoded = pc.dictionary_encode(column)
    words = np.array(encoded.dictionary.to_pylist(), dtype=object)
    return list(words[_np(encoded.indices)]) if len(words) else []


def _first_seen(codes: np.ndarray) -> np.ndarray:
    """``codes`` renumbered in the order each first appears (a coded column's numbers follow its
    dictionary, which need not be the order of the lines)."""
    found, first = np.unique(codes, return_index=True)
    rank = np.empty(len(found), dtype=codes.dtype)
    rank[np.argsort(first, kind="stable")] = np.arange(len(found), dtype=codes.dtype)
    return rank[np.searchsorted(found, codes)]


#: Batches built together when the sender asks for the first of them (their lines read at once).
_BLOCK = 64


class Batches(Sequence[Batch]):
    """The batches of a chunked plan, each one built when asked for: a million-line plan never
    holds a million participations as objects.  Lines without a batch id are in no batch."""

    def __init__(self, parts: pa.Table) -> None:
        ids = parts.column("batch_id")
        plan = parts.filter(pc.is_valid(ids)) if ids.null_count else parts  # a chunked plan is not copied
        codes = _np(distinct(plan.column("batch_id"))[1])
        if len(codes) and np.any(codes[1:] < codes[:-1]):
            codes = _first_seen(codes)  # the batches in the order they come in the plan
            plan = plan.take(pa.array(np.argsort(codes, kind="stable")))  # each batch's lines together
            codes = np.sort(codes, kind="stable")
        self._plan = plan
        self._block: tuple[int, tuple[Participation, ...], int] = (-1, (), 0)
        self._bounds = np.append(np.flatnonzero(np.diff(codes, prepend=-1)), len(codes))
        self.ids: list[str] = _col(plan, "batch_id").take(pa.array(self._bounds[:-1])).to_pylist()

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> Batch: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Batch]: ...

    def __getitem__(self, index: int | slice) -> Batch | Sequence[Batch]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        block = index // _BLOCK
        if self._block[0] != block:  # the sender asks in order: build a block of batches at a time
            first, last = int(self._bounds[block * _BLOCK]), int(self._bounds[min(block * _BLOCK + _BLOCK, len(self))])
            self._block = (block, _items(self._plan.slice(first, last - first)), first)
        _, lines, first = self._block
        start, end = int(self._bounds[index]) - first, int(self._bounds[index + 1]) - first
        items = lines[start:end]
        return Batch(self.ids[index], items[0].event_id, items[0].state, items[0].vid is None, items)

    def __iter__(self) -> Iterator[Batch]:
        return (self[i] for i in range(len(self)))

    @property
    def plan(self) -> pa.Table:
        """The lines of the batches (PARTS with batch ids), batch by batch."""
        return self._plan

    @property
    def participations(self) -> int:
        """How many participations the batches carry together."""
        return self._plan.num_rows

    def size(self, index: int) -> int:
        """How many participations batch ``index`` carries."""
        return int(self._bounds[index + 1] - self._bounds[index])

    def without(self, answered: Collection[str]) -> Batches:
        """The batches whose id is not in ``answered`` (what a resumed run still has to send)."""
        if not answered:
            return self
        done = pc.is_in(self._plan.column("batch_id"), value_set=pa.array(list(answered), pa.string()))
        return Batches(self._plan.filter(pc.invert(done)))


def batches(parts: pa.Table) -> Batches:
    """The sender's batches of a chunked plan, materialised one at a time."""
    return Batches(parts)
