"""What every platform profile shares: the facts a profile's rules see, the decision they
return, and the generic state rules most profiles build on (the header words are in ``headers``).

Profiles are pure: they look at text already loaded and return arrays, one entry per data row, so
a million-row file is decided with a handful of vectorised operations.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from ..models import Reason, State
from ..titles import title_says
from .headers import ALIASES, norm_header


class SheetLike(Protocol):
    """The loader's ``Sheet`` as far as profiles and the mapper need it."""

    @property
    def file(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def frame(self) -> pd.DataFrame: ...
    @property
    def row_numbers(self) -> np.ndarray: ...
    @property
    def encoding(self) -> str | None: ...
    @property
    def delimiter(self) -> str | None: ...
    @property
    def sheet_name(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def notes(self) -> tuple[str, ...]: ...


HEAD_LINES = 60


def head_lines(sheet: SheetLike, n: int = HEAD_LINES) -> list[list[str]]:
    """The first ``n`` lines as lists of non-empty cells (what detection looks at)."""
    top = sheet.frame.iloc[:n]
    return [[c for c in line if c] for line in top.itertuples(index=False, name=None)]


def head_keys(sheet: SheetLike, n: int = HEAD_LINES) -> set[str]:
    """Normalised text of every non-empty cell in the first ``n`` lines."""
    return {norm_header(c) for line in head_lines(sheet, n) for c in line if len(c) < 80}


@dataclass(frozen=True)
class Facts:
    """What the mapper read, one entry per data row, for a profile's rules.

    ``text`` holds the raw cell text of each recognised field; ``attended`` is 1 (yes), 0 (no) or
    -1 (no answer); ``has_time`` says which rows have a non-empty cell in each time column;
    ``section`` is the normalised label of the section a row sits in ('' when none); ``duration``
    marks rows with a positive duration; ``title`` is the state a sheet name, title line, section
    label or file name gives each row (``None`` where none says registrants or attendees).
    """

    n: int
    section: np.ndarray
    text: Mapping[str, pd.Series]
    attended: np.ndarray
    has_time: Mapping[str, np.ndarray]
    duration: np.ndarray | None = None
    title: np.ndarray | None = None
    _factors: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict, repr=False, compare=False)

    def _factor(self, name: str) -> tuple[np.ndarray, list[str]]:
        """Codes and distinct lower-cased values of a field, so rules test each value once."""
        got = self._factors.get(name)
        if got is None:
            col = self.text.get(name)
            if col is None:
                got = (np.zeros(self.n, dtype=np.intp), [""])
            else:
                codes, uniq = pd.factorize(col)
                got = (codes, [str(u).strip().lower() for u in uniq] or [""])
            self._factors[name] = got
        return got

    def is_in(self, name: str, words: Collection[str]) -> np.ndarray:
        """Rows whose trimmed, lower-cased ``name`` text is one of ``words`` ('' = empty or absent)."""
        codes, uniq = self._factor(name)
        hit = np.fromiter((u in words for u in uniq), dtype=bool, count=len(uniq))
        return hit[codes]

    def time_present(self, name: str) -> np.ndarray:
        got = self.has_time.get(name)
        return np.zeros(self.n, dtype=bool) if got is None else got

    def has_duration(self) -> np.ndarray:
        return np.zeros(self.n, dtype=bool) if self.duration is None else self.duration

    def title_states(self) -> np.ndarray:
        if self.title is None:
            return np.full(self.n, None, dtype=object)
        return self.title


#: Where a row's state came from (``Decision.source``); the mapper names the column or title.
SOURCES = ("attended", "state_text", "join_time", "duration", "title", "registration_time", "layout")


@dataclass(frozen=True)
class Decision:
    """Per row: the state the rules chose (``None`` when nothing in the file says it), where it
    came from (one of :data:`SOURCES`, '' when undecided), and for rows a rule skips, a reason and
    a message.

    ``message`` entries are templates filled by the mapper with ``{row}``, ``{who}`` (email or
    name) and ``{status}`` (the row's status text).
    """

    state: np.ndarray
    reason: np.ndarray
    message: np.ndarray
    source: np.ndarray

    @classmethod
    def start(cls, n: int, state: State | None) -> Decision:
        """Every row in ``state``, said by the layout's own rules; ``None`` leaves rows undecided."""
        states = np.empty(n, dtype=object)
        states[:] = state  # np.full would turn the enum into a plain str
        source = np.full(n, "" if state is None else "layout", dtype=object)
        return cls(states, np.full(n, "", dtype=object), np.full(n, "", dtype=object), source)

    def set(self, mask: np.ndarray, state: State, source: str) -> None:
        """``state`` for the rows of ``mask``, said by ``source``."""
        self.state[mask] = state
        self.source[mask] = source

    def skip(self, mask: np.ndarray, reason: Reason | str, message: str, *, first: bool = False) -> None:
        """Skip rows not yet skipped (the first rule that skips a row gives its reason); ``first``
        lets a rule that matters more (host rows) take over."""
        if not first:
            mask = mask & (self.reason == "")
        self.reason[mask] = str(reason)
        self.message[mask] = message


Rules = Callable[[Facts], Decision]
Matcher = Callable[[SheetLike], float]


@dataclass(frozen=True)
class Profile:
    """A platform layout: how to recognise it, extra header aliases, and its row rules.

    ``leave_out`` says which sections (by normalised label) are not attendee data; ``platform`` names
    the export in notes and messages.  ``last_column`` names fields whose header appears twice (the
    meeting's host, then the participant) where the later column is the one to read.  A layout
    that can never be imported as it is (no emails at all) sets ``refuse`` to the sentence that
    says so and ``refuse_hint`` to where the usable report is downloaded.  ``ignore`` names headers
    the layout uses for someone else (GoTo Meeting's ``email``, ``firstName`` and ``lastName`` are the
    organizer's), so no field reads them.  A layout whose times carry no date (Google Meet) sets
    ``meeting_dates`` to what finds the dates the file writes outside the table (each with where),
    and ``leave_headers`` to the header of the column saying when each row left, whose times show
    a meeting that ran past midnight (``mapper_days``).
    """

    name: str
    matches: Matcher
    rules: Rules
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    leave_out: Callable[[str], bool] = field(default=lambda label: False)
    platform: str = ""
    last_column: frozenset[str] = frozenset()
    refuse: str = ""
    refuse_hint: str = ""
    ignore: frozenset[str] = frozenset()
    meeting_dates: Callable[[SheetLike, int], list[tuple[str, str]]] | None = None
    leave_headers: tuple[str, ...] = ()


# --- shared status vocabulary -----------------------------------------------------------------

YES = frozenset({"yes", "y", "ja", "j", "oui", "o", "si", "sí", "true", "wahr", "vrai", "verdadero", "1", "x"})
NO = frozenset({"no", "n", "nein", "non", "false", "falsch", "faux", "falso", "0"})
DENIED = frozenset({"denied", "rejected", "abgelehnt", "refusé", "refuse", "rechazado", "denegado"})
NOT_APPROVED = frozenset(
    {
        "pending",
        "pending_approval",
        "pending approval",
        "waitlist",
        "waitlisted",
        "waiting list",
        "declined",
        "invited",
        "ausstehend",
        "warteliste",
        "en attente",
        "liste d'attente",
        "pendiente",
        "lista de espera",
    }
)
CANCELLED = frozenset(
    {
        "cancelled",
        "canceled",
        "refunded",
        "not attending",
        "deleted",
        "storniert",
        "abgesagt",
        "annulé",
        "annule",
        "remboursé",
        "cancelado",
        "reembolsado",
    }
)
ATTENDED = frozenset(
    {
        "attended",
        "checked in",
        "checked_in",
        "checked-in",
        "present",
        "teilgenommen",
        "anwesend",
        "participé",
        "présent",
    }
    | {"asistió", "asistio"}
)
REGISTERED = frozenset(
    {"registered", "approved", "attending", "confirmed", "going", "angemeldet", "bestätigt", "genehmigt"}
    | {"inscrit", "confirmé", "approuvé", "registrado", "inscrito", "confirmado", "aprobado"}
)
TRANSFERRED = frozenset({"transferred", "übertragen", "transféré", "transferido"})


def generic_rules(f: Facts, *, default: State | None = None) -> Decision:
    """The rules any attendee list follows; a state is only ever taken from evidence.

    A status column may skip (denied, waitlist...) or cancel a row; an Attended yes/no column
    decides attend vs register; a status like 'approved' means registered unless the row has a join
    time; a join time or a positive duration means attended.  A row none of these decide takes what
    a sheet name or title says (registrants, attendees), else register when it has a registration
    time.  A known layout gives its own rule as ``default`` instead (an Eventbrite "attendee" holds a
    ticket, whatever the sheet is called); ``None`` leaves a row that says nothing undecided, and
    the run refuses to guess it.
    """
    d = Decision.start(f.n, default)
    if default is None:
        title = f.title_states()
        titled = title != None  # noqa: E711 - element-wise comparison
        d.state[titled] = title[titled]
        d.source[titled] = "title"
        d.set(~titled & f.time_present("registration_time"), State.REGISTER, "registration_time")
    joined = f.time_present("join_time")
    d.set(f.has_duration(), State.ATTEND, "duration")
    d.set(joined, State.ATTEND, "join_time")
    no_answer = f.attended == -1
    registered = no_answer & f.is_in("state_text", REGISTERED)
    d.set(registered & ~joined, State.REGISTER, "state_text")
    d.set(registered & joined, State.ATTEND, "state_text")
    d.set(no_answer & f.is_in("state_text", ATTENDED), State.ATTEND, "state_text")
    d.set(f.attended == 1, State.ATTEND, "attended")
    d.set(f.attended == 0, State.REGISTER, "attended")
    d.set(f.is_in("state_text", CANCELLED), State.CANCEL, "state_text")
    d.skip(
        f.is_in("state_text", DENIED), Reason.DENIED, "Row {row} ({who}) was denied registration; it is not recorded."
    )
    d.skip(
        f.is_in("state_text", NOT_APPROVED),
        Reason.NOT_APPROVED,
        "Row {row} ({who}) has status '{status}'; only approved registrations are recorded.",
    )
    d.skip(
        f.is_in("state_text", TRANSFERRED),
        Reason.TRANSFERRED,
        "Row {row} ({who}) was transferred to someone else; the new holder's row is recorded instead.",
    )
    return d


def title_state(text: str) -> State | None:
    """The state a sheet name, title line, section label or file name names (see :mod:`importer.titles`)."""
    said = title_says(text)
    return None if said is None else State(said)


def has_all(keys: set[str], *headers: str) -> bool:
    return all(norm_header(h) in keys for h in headers)


def count_in(keys: set[str], *headers: str) -> int:
    return sum(norm_header(h) in keys for h in headers)


def any_alias(keys: set[str], name: str) -> bool:
    """Whether any shared header alias of field ``name`` is among ``keys``."""
    return any(norm_header(text) in keys for text, _ in ALIASES[name])
