"""The vocabulary every stage speaks: the rows and plan tables' schemas (``ROWS``, ``PARTS``), the
state, outcome and reason words, and the few objects that live at the edges (the batches the sender
posts, HubSpot's answers, what was learned about a file).

Rows travel as one table from the mapper to the report; a row is named by its file and the row
number a spreadsheet app shows, so every input row can be accounted for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

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


#: A text column of few distinct values (the rows' and the plan's files, states and batch ids, the
#: rows' time sources, the plan's event), each text stored once and every line a 4-byte index into
#: them: 4 MiB a million lines, where the text took 8-24 MiB.
#: Kernels that take no dictionaries (sorts, joins, ``count_distinct``, ``binary_join_element_wise``)
#: are given ``rows.text`` of the column.
CODED_TEXT = pa.dictionary(pa.int32(), pa.string())


#: Where a row came from and who it names: the same for both of a row's participations.
_ROW_FIELDS = (
    pa.field("file", CODED_TEXT, nullable=False),  # the input as the user named it ('file [sheet]')
    pa.field("row", pa.int64(), nullable=False),  # the row number a spreadsheet app shows
    pa.field("email", pa.string()),
    pa.field("vid", pa.int64()),  # HubSpot's contact id
)


def _participation_fields(prefix: str) -> tuple[pa.Field, ...]:
    """One participation and its fate; ``prefix`` '' for a row's first one, 'also_' for a second."""
    return (
        pa.field(f"{prefix}state", CODED_TEXT),  # a State value; null: none (or, for also_, no second)
        pa.field(f"{prefix}when_ms", pa.int64()),  # epoch ms; null: the file gives no time
        pa.field(f"{prefix}time_source", CODED_TEXT),  # 'file' or 'event_start'
        pa.field(f"{prefix}outcome", pa.string()),  # an Outcome value; null while still sendable
        pa.field(f"{prefix}reason", pa.string()),  # a Reason code ('' for recorded)
        pa.field(f"{prefix}message", pa.string()),
        pa.field(f"{prefix}merged_file", pa.string()),  # the row that carries this participation
        pa.field(f"{prefix}merged_row", pa.int64()),
        pa.field(f"{prefix}batch_id", CODED_TEXT),  # the plan's own: a million rows share its few thousand ids
        pa.field(f"{prefix}correlation_id", pa.string()),
    )


#: The names in a row's ``extra`` (``first_name``, or a source column's header with --keep-raw):
#: a file has at most 1,000 columns, so a name is a 2-byte index into the few distinct ones.  As
#: plain text the two names of a million rows took 27 MiB from the mapper to the report; coded, 4.
EXTRA_NAME = pa.dictionary(pa.int16(), pa.string())

#: The rows table, the one shape rows travel in from the mapper to the report: a line per input
#: row, its first participation's columns, then a second participation's (``also_``; null when the
#: row proves one), then what the report shows beside them.  Text columns hold the words of
#: :class:`State`, :class:`Outcome` and :class:`Reason`.
ROWS = pa.schema(
    [
        *_ROW_FIELDS,
        *_participation_fields(""),
        pa.field("created_contact", pa.bool_(), nullable=False),  # email-create made the contact
        pa.field("extra", pa.map_(EXTRA_NAME, pa.string())),  # identifying source columns (names)
        *_participation_fields("also_"),
    ]
)

#: The plan table: a line per participation to send (one per contact and state, see
#: ``chunker.merge``), carried by the input row ``file``/``row``; ``batch_id`` once cut into batches.
#: A contact is its ``vid``, or its ``email`` alone for email-create (``vid`` null).
PARTS = pa.schema(
    [
        pa.field("event_id", CODED_TEXT, nullable=False),
        pa.field("state", CODED_TEXT, nullable=False),  # a State value
        pa.field("vid", pa.int64()),
        pa.field("email", pa.string()),  # only on a line without vid: the address it is sent by
        pa.field("when_ms", pa.int64(), nullable=False),
        pa.field("file", CODED_TEXT, nullable=False),
        pa.field("row", pa.int64(), nullable=False),
        pa.field("batch_id", CODED_TEXT),
    ]
)


def part_keys(parts: pa.Table) -> pa.ChunkedArray | pa.Array:
    """What identifies each plan line's contact inside a batch answer (``Participation.key``):
    the vid as text, or the email for email-create."""
    vid = parts.column("vid")
    return pc.if_else(vid.is_null(), pc.fill_null(parts.column("email"), ""), pc.cast(vid, pa.string()))


#: The columns of one participation, without prefix (``state`` .. ``correlation_id``).
PART_COLUMNS: tuple[str, ...] = tuple(f.name for f in _participation_fields(""))


@dataclass(frozen=True, slots=True, order=True)
class RowRef:
    """Where a row came from: the file as the user named it, and the row number a spreadsheet
    app shows (1-based, counting title and header rows)."""

    file: str
    row: int


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
    #: failed keys HubSpot says no contact has (deleted, or merged into another): a vid the lookup
    #: cache gave is looked up again
    gone: frozenset[str] = frozenset()


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
