"""The vocabulary every stage speaks: frozen dataclasses and the outcome/reason words.

A row is born in the loader as a ``RowRef`` (file + spreadsheet row number) and that reference
travels unchanged to the report, so every input row can be accounted for.  Stages never mutate a
row: they return a new one (``dataclasses.replace``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class State(StrEnum):
    """HubSpot's ``subscriberState`` path segment."""

    REGISTER = "register"
    ATTEND = "attend"
    CANCEL = "cancel"


#: A fixed order of the states (batches are cut per state in this order).
STATE_RANK: Mapping[State, int] = {State.CANCEL: 0, State.REGISTER: 1, State.ATTEND: 2}


class Outcome(StrEnum):
    """What finally happened to a row (report column ``outcome``; a user-facing contract)."""

    RECORDED = "recorded"
    MERGED = "merged"
    SKIPPED = "skipped"
    REJECTED = "rejected"
    FAILED = "failed"
    PLANNED = "planned"


class Reason(StrEnum):
    """Stable snake_case reason codes (report column ``reason``; a user-facing contract).

    Add new codes freely; never rename one.  ``http_<status>`` codes for other statuses are
    built with :func:`http_reason`.
    """

    # rejected: the row's data cannot be sent
    MISSING_EMAIL = "missing_email"
    INVALID_EMAIL = "invalid_email"
    INVALID_VID = "invalid_vid"
    LOST_PRECISION_ID = "lost_precision_id"
    CONTACT_NOT_FOUND = "contact_not_found"
    CONFLICTING_CONTACT_ID = "conflicting_contact_id"
    BAD_TIME = "bad_time"
    MISSING_TIME = "missing_time"
    # merged
    DUPLICATE_CONTACT = "duplicate_contact"
    # skipped by a rule
    HOST = "host"
    PANELIST = "panelist"
    ORGANIZER = "organizer"
    NOT_APPROVED = "not_approved"
    DECLINED = "declined"
    INVITED = "invited"
    PENDING_APPROVAL = "pending_approval"
    WAITLIST = "waitlist"
    TRANSFERRED = "transferred"
    ALREADY_RECORDED = "already_recorded"
    STILL_REGISTERED = "still_registered"
    # failed: HubSpot refused it or could not be reached
    HTTP_400 = "http_400"
    HTTP_429 = "http_429"
    HTTP_5XX = "http_5xx"
    NETWORK_ERROR = "network_error"
    TIMEOUT = "timeout"
    REJECTED_BY_HUBSPOT = "rejected_by_hubspot"
    NOT_IN_RESPONSE = "not_in_response"
    BAD_RESPONSE = "bad_response"
    TOKEN_REJECTED = "token_rejected"
    MISSING_SCOPE = "missing_scope"
    EVENT_NOT_FOUND = "event_not_found"
    DAILY_LIMIT = "daily_limit"
    DISK_FULL = "disk_full"
    INTERRUPTED = "interrupted"
    LOCKED = "locked"
    # planned (dry run)
    DRY_RUN = "dry_run"
    # skipped by a platform rule (mapper)
    DENIED = "denied"
    WAITING_ROOM = "waiting_room"
    PLACEHOLDER_EMAIL = "placeholder_email"
    BANNED = "banned"


def http_reason(status: int) -> str:
    """Reason code for an HTTP status that has no dedicated code (``http_404``, ``http_409``...)."""
    if status >= 500:
        return Reason.HTTP_5XX.value
    return f"http_{status}"


#: Where a row came from and who it names: the same for both of a row's participations.
_ROW_FIELDS = (
    pa.field("file", pa.string(), nullable=False),  # the input as the user named it ('file [sheet]')
    pa.field("row", pa.int64(), nullable=False),  # the row number a spreadsheet app shows
    pa.field("email", pa.string()),
    pa.field("vid", pa.int64()),  # HubSpot's contact id
)


def _participation_fields(prefix: str) -> tuple[pa.Field, ...]:
    """One participation and its fate; ``prefix`` '' for a row's first one, 'also_' for a second."""
    return (
        pa.field(f"{prefix}state", pa.string()),  # a State value; null: none (or, for also_, no second)
        pa.field(f"{prefix}when_ms", pa.int64()),  # epoch ms; null: the file gives no time
        pa.field(f"{prefix}time_source", pa.string()),  # 'file' or 'event_start'
        pa.field(f"{prefix}outcome", pa.string()),  # an Outcome value; null while still sendable
        pa.field(f"{prefix}reason", pa.string()),  # a Reason code ('' for recorded)
        pa.field(f"{prefix}message", pa.string()),
        pa.field(f"{prefix}merged_file", pa.string()),  # the row that carries this participation
        pa.field(f"{prefix}merged_row", pa.int64()),
        pa.field(f"{prefix}batch_id", pa.string()),
        pa.field(f"{prefix}correlation_id", pa.string()),
    )


#: The rows table, the one shape rows travel in from the mapper to the report: a line per input
#: row, its first participation's columns, then a second participation's (``also_``; null when the
#: row proves one), then what the report shows beside them.  Text columns hold the words of
#: :class:`State`, :class:`Outcome` and :class:`Reason`.
ROWS = pa.schema(
    [
        *_ROW_FIELDS,
        *_participation_fields(""),
        pa.field("created_contact", pa.bool_(), nullable=False),  # email-create made the contact
        pa.field("extra", pa.map_(pa.string(), pa.string())),  # identifying source columns (names)
        *_participation_fields("also_"),
    ]
)

#: The plan table: a line per participation to send (one per contact and state, see
#: ``chunker.merge``), carried by the input row ``file``/``row``; ``batch_id`` once cut into batches.
#: A contact is its ``vid``, or its ``email`` alone for email-create (``vid`` null).
PARTS = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("state", pa.string(), nullable=False),  # a State value
        pa.field("vid", pa.int64()),
        pa.field("email", pa.string()),
        pa.field("when_ms", pa.int64(), nullable=False),
        pa.field("file", pa.string(), nullable=False),
        pa.field("row", pa.int64(), nullable=False),
        pa.field("batch_id", pa.string()),
    ]
)


def part_keys(parts: pa.Table) -> pa.ChunkedArray | pa.Array:
    """What identifies each plan line's contact inside a batch answer (``Participation.key``):
    the vid as text, or the email for email-create."""
    vid = parts.column("vid")
    return pc.if_else(vid.is_null(), pc.fill_null(parts.column("email"), ""), pc.cast(vid, pa.string()))


#: The columns of one participation, without prefix (``state`` .. ``correlation_id``).
PART_COLUMNS: tuple[str, ...] = tuple(f.name for f in _participation_fields(""))


_T = TypeVar("_T")


#: From this many fields on, :func:`_fast_init` fills instances through ``__new__``; below it the
#: slot setters are quicker (measured: 2 fields 0.27 vs 0.38 s per million, 14 fields 1.47 vs 0.81).
_FILL_FROM = 8


def _fast_init(cls: type[_T]) -> type[_T]:
    """Build instances of a frozen slots dataclass faster; a large file makes millions of the
    classes this decorates.  The generated code takes the fields' names, order and defaults.

    A frozen dataclass's own ``__init__`` goes through ``object.__setattr__`` for every field.
    With few fields, the generated ``__init__`` calls the slots' setters directly instead.  With
    many, ``__new__`` fills an instance of a private class with the very same slots, where plain
    attribute stores are the interpreter's fastest path, and then makes it an instance of ``cls``
    (allowed because the layouts are identical).  Either way the object is an ordinary frozen
    ``cls``: equality, hashing, ``replace``, copy and pickle behave as the dataclass defines.
    """
    declared = fields(cls)  # type: ignore[arg-type]
    assert all(f.default_factory is MISSING for f in declared), "only plain defaults are supported"
    names = [f.name for f in declared]
    params = ", ".join(f.name if f.default is MISSING else f"{f.name}=_default_{f.name}" for f in declared)
    space: dict[str, Any] = {f"_default_{f.name}": f.default for f in declared if f.default is not MISSING}
    if len(names) < _FILL_FROM:
        space.update((f"_set_{n}", cls.__dict__[n].__set__) for n in names)
        exec(f"def __init__(self, {params}):\n" + "".join(f"    _set_{n}(self, {n})\n" for n in names), space)
        init = space["__init__"]
        init.__qualname__ = f"{cls.__qualname__}.__init__"
        cls.__init__ = init  # type: ignore[method-assign]
        return cls
    space["_object_new"] = object.__new__
    stores = "".join(f"    self.{n} = {n}\n" for n in names)
    exec(
        f"class _Filler:\n    __slots__ = {tuple(names)!r}\n\n"
        f"def __new__(cls, {params}):\n    self = _object_new(_Filler)\n{stores}"
        "    self.__class__ = cls\n    return self\n",
        space,
    )  # the technique dataclasses itself uses to write __init__
    new = space["__new__"]
    new.__qualname__ = f"{cls.__qualname__}.__new__"
    cls.__new__ = new  # type: ignore[method-assign]
    del cls.__init__  # object.__init__ accepts the arguments __new__ took

    def __reduce__(self: object) -> tuple[type, tuple[object, ...]]:
        return cls, tuple(getattr(self, n) for n in names)

    cls.__reduce__ = __reduce__  # type: ignore[method-assign]  # copy and pickle go through __new__
    return cls


@_fast_init
@dataclass(frozen=True, slots=True, order=True)
class RowRef:
    """Where a row came from: the file as the user named it, and the row number a spreadsheet
    app shows (1-based, counting title and header rows)."""

    file: str
    row: int


@_fast_init
@dataclass(frozen=True, slots=True)
class Also:
    """The second participation a row proves, with its own fate: an attendee's or a cancelled
    ticket's registration (``register`` at the file's registration time).  HubSpot keeps one
    participation per contact and state, so a row can prove two; the row's own fields hold the
    other one."""

    state: State
    when_ms: int | None
    time_source: str = "file"
    outcome: Outcome | None = None
    reason: str = ""
    message: str = ""
    merged_into: RowRef | None = None
    batch_id: str = ""
    correlation_id: str = ""


@_fast_init
@dataclass(frozen=True, slots=True)
class Row:
    """One data row of the input on its way through the pipeline.

    ``outcome`` is ``None`` while the row is still sendable; any stage that settles the row's fate
    sets ``outcome``, ``reason`` and ``message`` (bad rows are data, not exceptions).
    ``when_ms`` is ``None`` when the file gives no time: the pipeline then uses the event's start
    (``time_source`` says which).  ``extra`` holds a few identifying source columns (names) for the
    report, never the whole raw row.

    ``state`` .. ``correlation_id`` describe one participation the row proves and its fate; ``also``
    the second one when the row proves two (see :class:`Also`).  The two are equals: every stage
    treats both, and a settled row shows its worst participation first (:func:`worst_first`).
    """

    ref: RowRef
    email: str | None = None
    vid: int | None = None
    state: State | None = None
    when_ms: int | None = None
    time_source: str = "file"
    outcome: Outcome | None = None
    reason: str = ""
    message: str = ""
    merged_into: RowRef | None = None
    batch_id: str = ""
    correlation_id: str = ""
    created_contact: bool = False
    extra: tuple[tuple[str, str], ...] = ()
    also: Also | None = None

    @property
    def settled(self) -> bool:
        """Every participation of the row has its fate."""
        return self.outcome is not None and (self.also is None or self.also.outcome is not None)


def is_open(row: Row) -> bool:
    """Some participation of the row still waits for its fate."""
    return row.outcome is None or (row.also is not None and row.also.outcome is None)


def part_when(row: Row, state: State) -> int | None:
    """The time of the row's participation in ``state``."""
    if row.state is state:
        return row.when_ms
    assert row.also is not None and row.also.state is state
    return row.also.when_ms


def settle_part(row: Row, state: State, outcome: Outcome, reason: str, message: str, **more: Any) -> Row:
    """The row with its participation in ``state`` settled (``more``: merged_into, time_source...)."""
    if row.state is state:
        return replace(row, outcome=outcome, reason=reason, message=message, **more)
    assert row.also is not None and row.also.state is state, (row.ref, state)
    return replace(row, also=replace(row.also, outcome=outcome, reason=reason, message=message, **more))


def settle_row(row: Row, outcome: Outcome, reason: str, message: str, correlation_id: str = "") -> Row:
    """The row with every open participation settled alike (the contact cannot be resolved, ...)."""
    also = row.also
    if also is not None and also.outcome is None:
        also = replace(also, outcome=outcome, reason=reason, message=message, correlation_id=correlation_id)
    if row.outcome is None:
        return replace(row, outcome=outcome, reason=reason, message=message, correlation_id=correlation_id, also=also)
    return replace(row, also=also)


#: How much a participation's outcome needs the user: the row shows its neediest one first.
_NEED: Mapping[Outcome | None, int] = {
    Outcome.MERGED: 0,
    Outcome.SKIPPED: 1,
    Outcome.RECORDED: 2,
    Outcome.PLANNED: 3,
    Outcome.REJECTED: 4,
    Outcome.FAILED: 5,
    None: 6,
}


def swapped(row: Row) -> Row:
    """The row with its two participations exchanged (the one in ``also`` comes first)."""
    a = row.also
    assert a is not None
    second = Also(
        row.state,  # type: ignore[arg-type]  # a row with two participations has a state
        row.when_ms,
        row.time_source,
        row.outcome,
        row.reason,
        row.message,
        row.merged_into,
        row.batch_id,
        row.correlation_id,
    )
    return replace(
        row,
        state=a.state,
        when_ms=a.when_ms,
        time_source=a.time_source,
        outcome=a.outcome,
        reason=a.reason,
        message=a.message,
        merged_into=a.merged_into,
        batch_id=a.batch_id,
        correlation_id=a.correlation_id,
        also=second,
    )


def worst_first(row: Row) -> Row:
    """The row with the participation that most needs the user first, so the row's ``outcome``
    is ``recorded`` only when all of its participations are (merged or skipped ones count as
    done), and its reason and message say what to do.  Ties keep the order."""
    a = row.also
    if a is not None and _NEED[a.outcome] > _NEED[row.outcome]:
        return swapped(row)
    return row


@_fast_init
@dataclass(frozen=True, slots=True)
class Participation:
    """One contact's participation in one state, to send: the earliest of the rows that prove it
    (``rows[0]`` carries it, the others are merged into it).

    ``vid`` is set for the ``create`` endpoint; ``email`` alone (``vid is None``) is only sent
    through ``email-create`` (``--create-missing``).
    """

    event_id: str
    state: State
    vid: int | None
    email: str | None
    when_ms: int
    rows: tuple[RowRef, ...]

    @property
    def key(self) -> str:
        """What identifies the contact inside a batch answer."""
        return str(self.vid) if self.vid is not None else (self.email or "")


@dataclass(frozen=True, slots=True)
class Batch:
    """At most ``batch_size`` participations of one event and one state, sent in one request."""

    id: str
    event_id: str
    state: State
    by_email: bool
    items: tuple[Participation, ...]


@dataclass(frozen=True, slots=True)
class Failure:
    """Why one contact of a batch was not recorded."""

    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """HubSpot's answer to one batch, reduced to what the report needs.

    ``recorded`` maps participation keys (vid as text, or email for email-create) to the vid
    HubSpot confirmed; ``failed`` maps keys to a failure.  Every key of the batch is in exactly one
    of the two.
    """

    batch_id: str
    status: int
    recorded: Mapping[str, int]
    failed: Mapping[str, Failure]
    correlation_id: str = ""
    created: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class EventInfo:
    """The marketing event as HubSpot describes it."""

    object_id: str
    name: str = ""
    start_ms: int | None = None
    end_ms: int | None = None


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What the loader and mapper learned about one input file (shown by the summary and inspect)."""

    file: str
    profile: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    date_order: str | None = None
    timezone: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    data_rows: int = 0
    #: where the rows' states come from, in words ('' when nothing in the file says it)
    state_source: str = ""
    #: rows that could be sent but whose state nothing in the file gives, and the first of them
    undecided: int = 0
    undecided_rows: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class RunStats:
    """Counters of the HTTP side, for the summary."""

    requests: int = 0
    http_429: int = 0
    retries: int = 0
    lookups: int = 0
    writes: int = 0


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def rows_to_table(rows: Sequence[Row]) -> pa.Table:
    """The rows as a :data:`ROWS` table (while stages move from ``Row`` objects to the table)."""
    refs = [r.ref for r in rows]
    merged = [r.merged_into for r in rows]
    alsos = [r.also for r in rows]
    columns: dict[str, list[Any]] = {
        "file": [f.file for f in refs],
        "row": [f.row for f in refs],
        "email": [r.email for r in rows],
        "vid": [r.vid for r in rows],
        "state": [_text(r.state) for r in rows],
        "when_ms": [r.when_ms for r in rows],
        "time_source": [r.time_source for r in rows],
        "outcome": [_text(r.outcome) for r in rows],
        "reason": [r.reason for r in rows],
        "message": [r.message for r in rows],
        "merged_file": [None if m is None else m.file for m in merged],
        "merged_row": [None if m is None else m.row for m in merged],
        "batch_id": [r.batch_id for r in rows],
        "correlation_id": [r.correlation_id for r in rows],
        "created_contact": [r.created_contact for r in rows],
        "extra": [list(r.extra) for r in rows],
    }
    for name in PART_COLUMNS:
        if name in ("merged_file", "merged_row"):
            continue
        columns[f"also_{name}"] = [None if a is None else _text(getattr(a, name)) for a in alsos]
    columns["also_when_ms"] = [None if a is None else a.when_ms for a in alsos]
    also_merged = [None if a is None else a.merged_into for a in alsos]
    columns["also_merged_file"] = [None if m is None else m.file for m in also_merged]
    columns["also_merged_row"] = [None if m is None else m.row for m in also_merged]
    return pa.Table.from_pydict({f.name: columns[f.name] for f in ROWS}, schema=ROWS)


def _shared(col: pa.ChunkedArray, make: Any = None, empty: object = None) -> list[Any]:
    """A column's values as Python objects, one object per distinct value (``make`` of it;
    ``empty`` for null): a million rows repeat a few words, and one object each would cost
    time and memory."""
    encoded = col.combine_chunks().dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    values = np.array([empty, *(v if make is None else make(v) for v in distinct)], dtype=object)
    codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64) + 1
    out: list[Any] = values[codes].tolist()
    return out


def _or_file(source: str) -> str:
    return source or "file"


def _refs(files: pa.ChunkedArray, rows: pa.ChunkedArray) -> list[RowRef | None]:
    """``RowRef`` per line, ``None`` where the file is null."""
    if not files.null_count:
        return list(map(RowRef, _shared(files), rows.to_pylist()))
    out: list[RowRef | None] = [None] * len(files)
    has = np.flatnonzero(np.asarray(files.is_valid().to_numpy(zero_copy_only=False), dtype=bool))
    taken = pa.array(has)
    for i, ref in zip(has.tolist(), _refs(files.take(taken), rows.take(taken)), strict=True):
        out[i] = ref
    return out


def _pairs(col: pa.ChunkedArray) -> list[tuple[tuple[str, str], ...]]:
    """The ``extra`` map per line as a tuple of (key, value) pairs, keys shared."""
    arr = col.combine_chunks()
    if isinstance(arr, pa.ChunkedArray):  # an empty column
        arr = pa.array([], type=arr.type)
    offsets = np.asarray(arr.offsets.to_numpy(zero_copy_only=False), dtype=np.int64).tolist()
    pairs = list(zip(_shared(pa.chunked_array([arr.keys])), arr.items.to_pylist(), strict=True))
    return [tuple(pairs[a:b]) for a, b in zip(offsets[:-1], offsets[1:], strict=True)]


def _alsos(table: pa.Table) -> list[Also | None]:
    """The second participation per line, ``None`` where a line has none."""
    out: list[Also | None] = [None] * table.num_rows
    has = np.flatnonzero(np.asarray(table.column("also_state").is_valid().to_numpy(zero_copy_only=False), dtype=bool))
    if not len(has):
        return out
    part = table.take(pa.array(has))
    col = part.column
    built = map(
        Also,
        _shared(col("also_state"), State),
        col("also_when_ms").to_pylist(),
        _shared(col("also_time_source"), _or_file, "file"),
        _shared(col("also_outcome"), Outcome),
        _shared(col("also_reason"), empty=""),
        _shared(col("also_message"), empty=""),
        _refs(col("also_merged_file"), col("also_merged_row")),
        _shared(col("also_batch_id"), empty=""),
        _shared(col("also_correlation_id"), empty=""),
    )
    for i, also in zip(has.tolist(), built, strict=True):
        out[i] = also
    return out


def table_to_rows(table: pa.Table) -> list[Row]:
    """``Row`` objects from a :data:`ROWS` table (while stages move from them to the table):
    column by column, repeated words shared."""
    col = table.column
    return list(
        map(
            Row,
            _refs(col("file"), col("row")),
            col("email").to_pylist(),
            col("vid").to_pylist(),
            _shared(col("state"), State),
            col("when_ms").to_pylist(),
            _shared(col("time_source"), _or_file, "file"),
            _shared(col("outcome"), Outcome),
            _shared(col("reason"), empty=""),
            _shared(col("message"), empty=""),
            _refs(col("merged_file"), col("merged_row")),
            _shared(col("batch_id"), empty=""),
            _shared(col("correlation_id"), empty=""),
            [bool(c) for c in col("created_contact").to_pylist()],
            _pairs(col("extra")),
            _alsos(table),
        )
    )
