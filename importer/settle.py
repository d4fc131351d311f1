"""Joining HubSpot's answers back onto the rows: every sendable participation gets its fate.

Pure (no HTTP, no files).  The answers come in columns (:class:`~importer.answers.Answers`); they
are joined to the plan (batch id and contact key), then the plan to the rows (file, row and state).
A fate is a few numbers at first, as its words and messages are few (each is stored once, in
:class:`_Texts`); the rows' text columns are written from them a slice of rows at a time, so a
million rows never hold a second copy of each text on the way.  A slice whose rows all get the
same text shares one array of it (a dry run's columns are nearly all such), and its batch ids are
a slice of the plan's own when its lines follow each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .answers import Answers, answers_of
from .answers import keys as answer_keys
from .errors import StopRun
from .models import BatchOutcome, Outcome, Reason, part_keys
from .rows import distinct, worst_first

#: What :func:`settle` gives each participation, beside its row's ``vid`` and ``created_contact``.
_FATE = ("outcome", "reason", "message", "batch_id", "correlation_id")
_TEXT = pa.string()
_NULL_VID = pa.scalar(None, pa.int64())
#: Rows whose text columns are written together.
_SLICE = 65_536
_NOT_MENTIONED = "HubSpot's answer did not mention this contact."
_CREATED = " A new contact was created for this email."


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


class _Texts:
    """The distinct words and messages of the fates, each stored once: a fate names them by number."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}

    def code(self, text: str) -> int:
        return self._codes.setdefault(text, len(self._codes))

    def codes(self, texts: Iterable[str]) -> np.ndarray:
        return np.array([self.code(t) for t in texts], dtype=np.int32).reshape(-1)

    def array(self) -> pa.Array:
        return pa.array(list(self._codes), _TEXT)


@dataclass(frozen=True, slots=True)
class _States:
    """The plan's distinct states (``words``) and each line's among them (``line``): the plan's
    state column hashed once, for the fates' messages and for finding each line's row."""

    words: pa.Array
    line: np.ndarray

    @classmethod
    def of(cls, parts: pa.Table) -> _States:
        words, line = distinct(parts.column("state"))
        return cls(words, _np(line).astype(np.int32, copy=False))


@dataclass(frozen=True, slots=True)
class _Fates:
    """One line per planned participation, in the plan's order: where it is (``batch_id`` of the
    plan, its state among ``states``) and its fate: the numbers of its texts (outcome, reason,
    message, correlation id; one number when every line has the same), the vid HubSpot confirmed
    when it is not the row's (null: keep; None: every row keeps its own) and whether it was
    created (None: none was)."""

    parts: pa.Table
    states: _States
    codes: Mapping[str, np.ndarray | int]
    vid: pa.Array | pa.ChunkedArray | None
    created: np.ndarray | None


@dataclass(frozen=True, slots=True)
class Fates:
    """Every planned participation's fate and its row (:func:`fates`): nothing of the plan but its
    states and batch ids, and nothing of the answers, so a caller that lets the plan and the
    answers go before :func:`apply` writes the rows' columns does not hold them on the way."""

    lines: _Fates
    #: each line's row (-1: none)
    places: np.ndarray
    texts: _Texts
    unsent: _Unsent


def settle(
    rows: pa.Table,
    parts: pa.Table,
    outcomes: Answers | Mapping[str, BatchOutcome],
    *,
    dry_run: bool,
    stopped: StopRun | None,
) -> pa.Table:
    """The rows with every sendable participation settled from the answers to the batches of
    ``parts`` (a chunked plan): planned in a dry run, recorded or failed per contact, failed with
    the stop's reason when its batch got no answer, failed as unsent when no batch carries it.
    A row with two participations shows the one that most needs the user first."""
    return apply(rows, fates(rows, parts, outcomes, dry_run=dry_run, stopped=stopped))


def fates(
    rows: pa.Table,
    parts: pa.Table,
    outcomes: Answers | Mapping[str, BatchOutcome],
    *,
    dry_run: bool,
    stopped: StopRun | None,
) -> Fates:
    """The first half of :func:`settle`: each participation of ``parts`` given its fate and its row."""
    unsent = _Unsent.of(stopped)
    ids = parts.column("batch_id")
    planned = (parts if not ids.null_count else parts.filter(pc.is_valid(ids))).select(
        ["file", "row", "state", "batch_id", "vid", "email"]
    )
    texts = _Texts()
    lines = _planned(planned, texts) if dry_run else _answered(planned, answers_of(outcomes), unsent, texts)
    places = _places(rows, planned)
    lines = replace(lines, parts=lines.parts.select(["batch_id"]))  # the states are in lines.states
    return Fates(lines, places, texts, unsent)


def apply(rows: pa.Table, fates: Fates) -> pa.Table:
    """The second half of :func:`settle`: the rows with the fates of :func:`fates` written."""
    return _apply(rows, fates.lines, fates.places, fates.texts, fates.unsent)


def _planned(parts: pa.Table, texts: _Texts) -> _Fates:
    """Every line planned: the same outcome, reason and correlation id for all, a message per state."""
    states = _States.of(parts)
    message = texts.codes(f"Would be recorded as {w} (dry run: nothing was sent)." for w in states.words.to_pylist())
    return _Fates(
        parts,
        states,
        {
            "outcome": texts.code(Outcome.PLANNED.value),
            "reason": texts.code(Reason.DRY_RUN.value),
            "message": int(message[0]) if len(message) == 1 else message[states.line],
            "correlation_id": texts.code(""),
        },
        None,
        None,
    )


def _answered(parts: pa.Table, answers: Answers, unsent: _Unsent, texts: _Texts) -> _Fates:
    """Each planned participation joined to its contact's answer (batch and key)."""
    lines = answers.lines()
    failures = answers.failures()
    # numbers in 32 bits (a plan line's answer, its line there, its failure): half the memory
    batch = _np(pc.fill_null(pc.index_in(parts.column("batch_id"), value_set=pa.array(answers.ids(), _TEXT)), -1))
    batch = batch.astype(np.int32, copy=False)
    found = _match(parts, batch, lines)
    line = pa.array(found, mask=found < 0)
    del found
    answered = batch >= 0
    confirmed = lines.column("confirmed").take(line)
    created = _np(pc.fill_null(lines.column("created").take(line), False)).astype(bool)
    failure = _np(pc.fill_null(lines.column("failure").take(line), -1)).astype(np.int32, copy=False)
    del line, lines
    recorded = _np(confirmed.is_valid()).astype(bool)
    same = _np(pc.fill_null(pc.equal(confirmed, parts.column("vid")), False)).astype(bool)
    changed = recorded & (~same | created)  # nearly never: HubSpot confirms the ids it was given
    vid = pc.if_else(pa.array(changed), confirmed, _NULL_VID) if changed.any() else None
    del changed, confirmed, same
    states = _States.of(parts)
    said = texts.codes(f"Recorded as {w}.{extra}" for w in states.words.to_pylist() for extra in ("", _CREATED))
    failed = failure >= 0
    reason = np.where(
        failed, _gather(texts.codes(r for r, _ in failures), failure), texts.code(Reason.NOT_IN_RESPONSE.value)
    )
    message = np.where(failed, _gather(texts.codes(m for _, m in failures), failure), texts.code(_NOT_MENTIONED))
    del failure, failed
    recorded_text = _gather(said, states.line * 2 + created)
    return _Fates(
        parts,
        states,
        {
            "outcome": np.where(
                answered & recorded, texts.code(Outcome.RECORDED.value), texts.code(Outcome.FAILED.value)
            ).astype(np.int32),
            "reason": _first(answered, recorded, texts.code(unsent.reason), texts.code(""), reason),
            "message": _first(answered, recorded, texts.code(unsent.message), recorded_text, message),
            "correlation_id": np.where(
                answered, _gather(texts.codes(answers.correlation_ids()), batch), texts.code("")
            ).astype(np.int32),
        },
        vid,
        (recorded & created) if (recorded & created).any() else None,
    )


def _first(
    answered: np.ndarray, recorded: np.ndarray, unsent: int, so: np.ndarray | int, otherwise: np.ndarray
) -> np.ndarray:
    """``unsent`` where no answer came, else ``so`` where recorded, else ``otherwise``."""
    return np.where(~answered, unsent, np.where(recorded, so, otherwise)).astype(np.int32)


def _gather(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``values[at]``, with 0 where ``at`` is negative (the caller picks another value there)."""
    if not len(values):
        return np.zeros(len(at), values.dtype)
    return values[np.maximum(at, 0)]


def _match(parts: pa.Table, batch: np.ndarray, answers: pa.Table) -> np.ndarray:
    """For each plan line, its line in ``answers`` (same batch, same key; -1 for none): a join.

    Contacts by vid, nearly all of them, are joined on integers (batch, vid): first each to the
    line at its own place in its batch's answer (HubSpot answers in the order it was asked), the
    others by sorting, as the hash join on text keys costs seconds for a million lines; contacts
    by email on their text."""
    found = np.full(parts.num_rows, -1, np.int32)
    has_vid = _np(parts.column("vid").is_valid())
    if (has_vid & (batch >= 0)).any():
        vids = _np(pc.fill_null(parts.column("vid"), 0))
        _Said.of(answers).match(vids, np.where(has_vid, batch, np.int32(-1)), found)
    by_email = np.flatnonzero(~has_vid & (batch >= 0))
    if len(by_email):
        keys = part_keys(parts.take(pa.array(by_email)))
        plan = pa.table({"_b": pa.array(batch[by_email].astype(np.int32)), "key": keys})
        plan = plan.append_column("_p", pa.array(by_email))
        lines = pa.table({"_b": answers.column("_b"), "key": answer_keys(answers)})
        lines = lines.append_column("_a", pa.array(np.arange(answers.num_rows)))
        hits = plan.join(lines, ["_b", "key"], join_type="inner")
        if hits.num_rows:
            found[_np(hits.column("_p"))] = _np(hits.column("_a"))
    return found


@dataclass(frozen=True, slots=True)
class _Said:
    """The answers' lines that name a contact id: its answer's place (``b``) and the id (``vid``),
    and where each answer's lines begin (``starts``, one more at the end)."""

    b: np.ndarray
    vid: np.ndarray
    named: np.ndarray
    starts: np.ndarray
    #: the answers that name an id in two ways (``0`` and ``-0``): the first line counts, as sorted
    odd: np.ndarray

    @classmethod
    def of(cls, answers: pa.Table) -> _Said:
        b = _np(answers.column("_b")).astype(np.int32, copy=False)
        counts = np.bincount(b) if len(b) else np.zeros(0, np.int64)
        named = _np(answers.column("vid").is_valid()).astype(bool)
        odd = b[named & _np(answers.column("key").is_valid()).astype(bool)]
        starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        return cls(b, _np(pc.fill_null(answers.column("vid"), 0)), named, starts, odd)

    def match(self, vids: np.ndarray, batch: np.ndarray, found: np.ndarray) -> None:
        """``found`` given, for each plan line of a batch answered (``batch`` >= 0), the answer
        line of that batch that names its vid."""
        self._in_place(vids, batch, found)
        rest = np.flatnonzero((batch >= 0) & (found < 0))
        if len(rest):
            found[rest] = self._sorted(vids[rest], batch[rest])

    def _in_place(self, vids: np.ndarray, batch: np.ndarray, found: np.ndarray) -> None:
        """Each plan line matched to the line at the same place in its answer, when that names
        its vid: the k-th line of a batch (its lines follow each other in a chunked plan) to the
        k-th line of the batch's answer.  A key is named once in an answer, so a hit is the match."""
        n = len(batch)
        if not n or not len(self.b):
            return
        begins = np.ones(n, bool)
        begins[1:] = batch[1:] != batch[:-1]
        first = np.flatnonzero(begins)
        place = np.arange(n, dtype=np.int32) - np.repeat(first.astype(np.int32), np.diff(np.append(first, n)))
        del begins, first
        usual = (batch >= 0) & (batch < len(self.starts) - 1)
        if len(self.odd):
            usual &= ~np.isin(batch, self.odd)
        asked = np.flatnonzero(usual)
        del usual
        line = self.starts[batch[asked]] + place[asked]
        del place
        inside = line < self.starts[batch[asked] + 1]
        asked, line = asked[inside], line[inside]
        hit = self.named[line] & (self.vid[line] == vids[asked])
        found[asked[hit]] = line[hit]

    def _sorted(self, vids: np.ndarray, batch: np.ndarray) -> np.ndarray:
        """For each (vid, batch) of the plan, the answer line with that batch and the vid as its key."""
        known = np.sort(vids)
        known = known[np.append(True, known[1:] != known[:-1])]  # distinct (np.unique hashes, slower here)
        at = np.flatnonzero(self.named)
        said = self.vid[at]
        code = np.minimum(np.searchsorted(known, said), len(known) - 1)
        ours = known[code] == said
        at, code = at[ours], code[ours]
        packed = (self.b[at].astype(np.int64) << 32) | code
        order = np.argsort(packed, kind="stable")
        ranked = packed[order]
        wanted = (batch.astype(np.int64) << 32) | np.searchsorted(known, vids)
        where = np.minimum(np.searchsorted(ranked, wanted), max(len(ranked) - 1, 0))
        hit = ranked[where] == wanted if len(ranked) else np.zeros(len(wanted), bool)
        return np.where(hit, at[order[where]] if len(ranked) else -1, -1)


def _np(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False))


def _places(rows: pa.Table, parts: pa.Table) -> np.ndarray:
    """For each line of ``parts``, the index of its row (file and row number; -1 for none).
    Rows already in order are not sorted, and a plan whose lines are the rows' in their order
    is not searched."""
    files = distinct(rows.column("file"))[0]
    n = rows.num_rows

    def keys(table: pa.Table) -> np.ndarray:
        code = pc.fill_null(pc.index_in(table.column("file"), value_set=files), len(files))
        key = _np(code).astype(np.int64)
        key <<= 40  # row numbers stay below 2**40
        key |= _np(table.column("row"))
        return key

    ranked, wanted = keys(rows), keys(parts)
    if len(wanted) == n and np.array_equal(ranked, wanted):
        return np.arange(n)
    order = None if bool((ranked[1:] >= ranked[:-1]).all()) else np.argsort(ranked, kind="stable")
    if order is not None:
        ranked = ranked[order]
    at = np.minimum(np.searchsorted(ranked, wanted), max(n - 1, 0))
    found = ranked[at] == wanted if n else np.zeros(len(wanted), bool)
    del ranked, wanted
    if not n:
        return np.full(len(found), -1, np.int64)
    return np.where(found, at if order is None else order[at], -1)


def _spread(rows: pa.Table, fates: _Fates, places: np.ndarray, prefix: str, sendable: np.ndarray) -> np.ndarray:
    """For each row, the line of the plan of its participation ``prefix`` (-1 for none),
    counting only sendable participations."""
    words = fates.states.words  # the states compared as numbers: no text is copied
    ours = _np(pc.fill_null(pc.index_in(rows.column(f"{prefix}state"), value_set=words), -2))
    mine = np.flatnonzero((places >= 0) & (fates.states.line == ours[np.maximum(places, 0)]))
    del ours
    pos = np.full(rows.num_rows, -1, np.int32)  # a plan's lines are fewer than 2**31
    pos[places[mine]] = mine
    pos[~sendable] = -1
    return pos


class _Columns:
    """The fates' texts as columns, a slice of rows at a time: a slice whose rows all get one
    text shares a single array of it, the others take theirs from the distinct texts."""

    def __init__(self, words: pa.Array) -> None:
        self.words = words
        self._same: dict[int, pa.Array] = {}
        self._empty = pc.index(words, "").as_py()

    def of(self, codes: np.ndarray) -> pa.Array:
        first = int(codes[0])
        if not (codes == first).all():
            return self.words.take(pa.array(codes))
        if first not in self._same:
            self._same[first] = pa.repeat(self.words[first], _SLICE)
        return self._same[first].slice(0, len(codes))

    def all_empty(self, codes: np.ndarray) -> bool:
        """Whether every code is the empty text's."""
        return bool((codes == self._empty).all())


class _BatchIds:
    """The plan's batch ids for a slice of rows: a slice of the plan's column when the rows'
    lines follow each other there (no copy), else taken line by line."""

    def __init__(self, ids: pa.ChunkedArray) -> None:
        self._ids = ids
        self._whole: pa.Array | None = None

    def of(self, at: np.ndarray) -> pa.Array | pa.ChunkedArray:
        first = int(at[0])
        if first >= 0 and int(at[-1]) - first == len(at) - 1 and (np.diff(at) == 1).all():
            return self._ids.slice(first, len(at))
        if self._whole is None:
            self._whole = self._ids.chunk(0) if self._ids.num_chunks == 1 else self._ids.combine_chunks()
        return pc.fill_null(self._whole.take(pa.array(at, mask=at < 0)), "")


def _text_bytes(column: pa.ChunkedArray) -> int:
    """How many bytes of text the cells of a string column hold (nulls hold none)."""
    total = 0
    for chunk in column.chunks:
        offsets = chunk.buffers()[1]
        if len(chunk) and offsets is not None:
            bounds = np.frombuffer(offsets, np.int32, count=len(chunk) + 1, offset=chunk.offset * 4)
            total += int(bounds[-1] - bounds[0])
    return total


def _fate_texts(
    texts: _Columns, codes: np.ndarray | int, at: np.ndarray, default: int, was: pa.ChunkedArray
) -> pa.Array | None:
    """A slice's fate texts (``default`` where no line carries the row); None when every cell
    already holds the empty text it would get."""
    said = codes if isinstance(codes, int) else _gather(codes, at)
    code = np.where(at >= 0, said, default).astype(np.int32)
    if texts.all_empty(code) and not was.null_count and not _text_bytes(was):
        return None
    return texts.of(code)


def _with_word(fate: pa.Array | pa.ChunkedArray, was: pa.ChunkedArray, mask: np.ndarray) -> pa.Array | pa.ChunkedArray:
    """An open part's message is the mapper's word on its time: it stays, after the fate's."""
    if not _text_bytes(was):
        return fate
    said = pc.fill_null(was, "")
    told = pc.and_(pc.not_equal(said, ""), pa.array(mask))
    if not pc.any(told).as_py():
        return fate
    return pc.if_else(told, pc.binary_join_element_wise(fate, said, " "), fate)


def _written(
    rows: pa.Table, name: str, fates: _Fates, texts: _Columns, pos: np.ndarray, sendable: np.ndarray, default: int
) -> pa.ChunkedArray:
    """Column ``name`` with each sendable row's fate (``default``, a text's number, where no line
    of the plan carries it), a slice of rows at a time; the others keep theirs, and so does a
    slice whose cells already hold the empty text it would get."""
    column = rows.column(name)
    codes = fates.codes.get(name.removeprefix("also_"))
    ids = _BatchIds(fates.parts.column("batch_id"))
    chunks: list[pa.Array] = []
    kept = True
    for start in range(0, rows.num_rows, _SLICE):
        at, mask = pos[start : start + _SLICE], sendable[start : start + _SLICE]
        was = column.slice(start, len(at))
        fate = None
        if mask.any():  # the batch id is the plan's own text
            fate = ids.of(at) if codes is None else _fate_texts(texts, codes, at, default, was)
        if fate is None:
            chunks += was.chunks
            continue
        kept = False
        if name.endswith("message"):
            fate = _with_word(fate, was, mask)
        out = fate if mask.all() else pc.if_else(pa.array(mask), fate, was)
        chunks += out.chunks if isinstance(out, pa.ChunkedArray) else [out]
    return column if kept else pa.chunked_array(chunks, type=column.type)


def _apply(rows: pa.Table, fates: _Fates, places: np.ndarray, texts: _Texts, unsent: _Unsent) -> pa.Table:
    """The rows with each sendable participation's fate from ``fates`` (unsent without one),
    the confirmed vid and created mark, and the neediest participation first."""
    first = _np(rows.column("outcome").is_null()).astype(bool)
    second = _np(pc.and_(rows.column("also_state").is_valid(), rows.column("also_outcome").is_null())).astype(bool)
    if not (first.any() or second.any()):
        return rows
    default = {
        "outcome": texts.code(Outcome.FAILED.value),
        "reason": texts.code(unsent.reason),
        "message": texts.code(unsent.message.replace("this batch", "this row")),
        "batch_id": -1,
        "correlation_id": texts.code(""),
    }
    columns = {name: rows.column(name) for name in rows.column_names}
    words = _Columns(texts.array())
    vids, created = [], []
    for prefix, sendable in (("", first), ("also_", second)):
        if not sendable.any():
            continue
        pos = _spread(rows, fates, places, prefix, sendable)
        for name in _FATE:
            columns[f"{prefix}{name}"] = _written(rows, f"{prefix}{name}", fates, words, pos, sendable, default[name])
        if fates.vid is not None:
            vids.append(fates.vid.take(pa.array(pos, mask=pos < 0)))
        if fates.created is not None:
            created.append(pa.array(_gather(fates.created, pos) & (pos >= 0)))
    if vids:
        columns["vid"] = pc.coalesce(*vids, rows.column("vid"))
    for made in created:
        columns["created_contact"] = pc.or_(columns["created_contact"], made)
    return worst_first(pa.Table.from_pydict(columns, schema=rows.schema), pa.array(first | second))
