"""The vocabulary every stage speaks: frozen dataclasses and the outcome/reason words.

A row is born in the loader as a ``RowRef`` (file + spreadsheet row number) and that reference
travels unchanged to the report, so every input row can be accounted for.  Stages never mutate a
row: they return a new one (``dataclasses.replace``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum


class State(StrEnum):
    """HubSpot's ``subscriberState`` path segment."""

    REGISTER = "register"
    ATTEND = "attend"
    CANCEL = "cancel"


#: When rows of one contact merge, the higher rank wins (attend beats register beats cancel).
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
    TRANSFERRED = "transferred"
    ALREADY_RECORDED = "already_recorded"
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
    INTERRUPTED = "interrupted"
    # planned (dry run)
    DRY_RUN = "dry_run"
    # skipped by a platform rule (mapper)
    DENIED = "denied"


def http_reason(status: int) -> str:
    """Reason code for an HTTP status that has no dedicated code (``http_404``, ``http_409``...)."""
    if status >= 500:
        return Reason.HTTP_5XX.value
    return f"http_{status}"


def _slot_setters(cls: type) -> tuple[Callable[[object, object], None], ...]:
    """The slot descriptors' ``__set__`` of a frozen dataclass, in field order.

    A frozen dataclass's generated ``__init__`` goes through ``object.__setattr__`` once per field;
    calling the slot descriptors directly builds the object in about half the time, which matters
    for the classes a large file creates a million of.  Only ``__init__`` may use them.
    """
    return tuple(cls.__dict__[f.name].__set__ for f in fields(cls))


@dataclass(frozen=True, slots=True, order=True, init=False)
class RowRef:
    """Where a row came from: the file as the user named it, and the row number a spreadsheet
    app shows (1-based, counting title and header rows)."""

    file: str
    row: int

    def __init__(self, file: str, row: int) -> None:
        s = _ROW_REF_SETTERS
        s[0](self, file)
        s[1](self, row)


_ROW_REF_SETTERS = _slot_setters(RowRef)


@dataclass(frozen=True, slots=True, init=False)
class Row:
    """One data row of the input on its way through the pipeline.

    ``outcome`` is ``None`` while the row is still sendable; any stage that settles the row's fate
    sets ``outcome``, ``reason`` and ``message`` (bad rows are data, not exceptions).
    ``when_ms`` is ``None`` when the file gives no time: the pipeline then uses the event's start
    (``time_source`` says which).  ``extra`` holds a few identifying source columns (names) for the
    report, never the whole raw row.
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

    def __init__(
        self,
        ref: RowRef,
        email: str | None = None,
        vid: int | None = None,
        state: State | None = None,
        when_ms: int | None = None,
        time_source: str = "file",
        outcome: Outcome | None = None,
        reason: str = "",
        message: str = "",
        merged_into: RowRef | None = None,
        batch_id: str = "",
        correlation_id: str = "",
        created_contact: bool = False,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        s = _ROW_SETTERS
        s[0](self, ref)
        s[1](self, email)
        s[2](self, vid)
        s[3](self, state)
        s[4](self, when_ms)
        s[5](self, time_source)
        s[6](self, outcome)
        s[7](self, reason)
        s[8](self, message)
        s[9](self, merged_into)
        s[10](self, batch_id)
        s[11](self, correlation_id)
        s[12](self, created_contact)
        s[13](self, extra)

    @property
    def settled(self) -> bool:
        return self.outcome is not None


_ROW_SETTERS = _slot_setters(Row)


@dataclass(frozen=True, slots=True, init=False)
class Participation:
    """One contact's participation to send: the winner of its merged rows.

    ``vid`` is set for the ``create`` endpoint; ``email`` alone (``vid is None``) is only sent
    through ``email-create`` (``--create-missing``).
    """

    event_id: str
    state: State
    vid: int | None
    email: str | None
    when_ms: int
    rows: tuple[RowRef, ...]

    def __init__(
        self, event_id: str, state: State, vid: int | None, email: str | None, when_ms: int, rows: tuple[RowRef, ...]
    ) -> None:
        s = _PARTICIPATION_SETTERS
        s[0](self, event_id)
        s[1](self, state)
        s[2](self, vid)
        s[3](self, email)
        s[4](self, when_ms)
        s[5](self, rows)

    @property
    def key(self) -> str:
        """What identifies the contact inside a batch answer."""
        return str(self.vid) if self.vid is not None else (self.email or "")


_PARTICIPATION_SETTERS = _slot_setters(Participation)


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


@dataclass(frozen=True, slots=True)
class RunStats:
    """Counters of the HTTP side, for the summary."""

    requests: int = 0
    http_429: int = 0
    retries: int = 0
    lookups: int = 0
    writes: int = 0
