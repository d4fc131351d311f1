"""Which sheets of a workbook to import: the one that lists people, or its registrants and attendees.

Panelists, hosts and summary sheets are left out by their names; anything else with people on
several sheets is not guessed (``--sheet`` decides).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import InputError
from .titles import title_says

_EMAIL_RE = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[A-Za-z]{2,}")
_EMAIL_WORDS = ("email", "e-mail", "courriel", "correo", "mail address")
_ATTENDEE_WORDS = ("attend", "particip", "registr", "guest", "teilnehm", "inscri", "asist", "people", "contacts")


def match_sheet(file: str, names: list[str], wanted: str) -> str:
    """The sheet the user named with --sheet: exactly, or ignoring case and surrounding spaces."""
    if wanted in names:
        return wanted
    folded = {n.strip().casefold(): n for n in names}
    if wanted.strip().casefold() in folded:
        return folded[wanted.strip().casefold()]
    listed = ", ".join(f"'{n}'" for n in names)
    raise InputError(f"{file} has no sheet named '{wanted}': its sheets are {listed}.")


_STAFF_WORDS = frozenset(
    {"panelist", "panelists", "host", "hosts", "cohost", "cohosts", "speaker", "speakers", "presenter"}
    | {"presenters", "organizer", "organizers", "organiser", "organisers", "moderator", "moderators", "staff"}
    | {"referenten", "moderatoren", "veranstalter", "intervenants", "animateurs", "organisateurs", "ponentes"}
    | {"anfitriones", "organizadores", "relatori", "sprekers", "prelegenci"}
)
_INFO_WORDS = frozenset(
    {"summary", "info", "information", "overview", "details", "statistics", "stats", "polls", "poll"}
    | {"survey", "questions", "qa", "chat", "meeting", "webinar", "event", "report", "zusammenfassung"}
    | {"übersicht", "informationen", "umfrage", "fragen", "résumé", "resume", "sondage", "resumen"}
    | {"encuesta", "preguntas", "riepilogo", "samenvatting", "podsumowanie"}
)
_ROLE_NAMES = {
    "registrants": "registrants",
    "attendees": "attendees",
    "staff": "panelists/hosts",
    "info": "summary/info",
    "other": "people",
}


def sheet_role(name: str) -> str:
    """What a sheet's name says it holds: registrants, attendees, staff (panelists, hosts),
    info (summary, polls) or other."""
    said = title_says(name)
    if said is not None:
        return "registrants" if said == "register" else "attendees"
    words = set(re.findall(r"[^\W_]+", name.casefold()))
    if words & _STAFF_WORDS:
        return "staff"
    if words & _INFO_WORDS:
        return "info"
    return "other"


def choose_sheets(file: str, looks: Sequence[SheetLook], notes: list[str]) -> list[str]:
    """The names of the sheets to import, among the visible worksheets ``looks`` (in workbook order):
    the one that lists people, or a registrants and an attendees sheet side by side (each read with
    its own rules); panelists/hosts and summary sheets are left out.  Anything else with people on
    several sheets is not guessed: --sheet decides."""
    scored = [(_score(index, look), look.name) for index, look in enumerate(looks)]
    people = [name for score, name in scored if score[0] > 0]
    if len(people) > 1:
        return _people_sheets(file, people, notes)
    best, name = max(scored)
    kind = _PICKED[max(-1, min(best[0], 1))]
    if kind is None:
        raise InputError(f"{file} has no data in any of its {len(looks)} sheets: check the export.")
    notes.append(kind.format(name=name, among=len(looks)))
    return [name]


@dataclass(frozen=True, slots=True)
class SheetLook:
    """What the choice reads of one sheet: its name, the stripped text cells of its first
    :data:`HEAD_ROWS` rows, and whether any cell there holds anything (a number, a date, text)."""

    name: str
    texts: Sequence[str]
    filled: bool


#: How many rows from the top of a sheet the choice looks at.
HEAD_ROWS = 2000

#: The note for the sheet picked alone, by the sign of its score: it lists people (1), nothing on any
#: sheet does (0), no sheet holds anything at all (-1, refused).
_PICKED: dict[int, str | None] = {
    1: "sheet '{name}' chosen among {among} sheets (use --sheet to pick another)",
    0: "no sheet looks like a list of attendees; used '{name}' among {among} sheets (use --sheet to pick another)",
    -1: None,
}


def _score(index: int, look: SheetLook) -> tuple[int, int, int]:
    """Emails and email headers seen, then a name that says attendees, then workbook order;
    (-1, 0, ...) for a sheet with nothing in it."""
    if not look.filled:
        return (-1, 0, -index)
    emails = sum(1 for v in look.texts if "@" in v and _EMAIL_RE.search(v))
    headers = sum(1 for v in look.texts if len(v) < 40 and any(w in v.casefold() for w in _EMAIL_WORDS))
    named = any(w in look.name.casefold() for w in _ATTENDEE_WORDS)
    return (emails + headers, int(named), -index)


#: The roles kept when several sheets list people, and the combinations of kept roles that say
#: clearly which sheet is which.
_KEPT_ROLES = ("registrants", "attendees", "other")
_CLEAR_ROLES = (("registrants",), ("attendees",), ("other",), ("attendees", "registrants"))


def _people_sheets(file: str, people: list[str], notes: list[str]) -> list[str]:
    """Several sheets list people: their names must say which is which."""
    roles = {name: sheet_role(name) for name in people}
    kept = [n for n in people if roles[n] in _KEPT_ROLES]
    left = [n for n in people if roles[n] not in _KEPT_ROLES]
    if tuple(sorted(roles[n] for n in kept)) not in _CLEAR_ROLES:
        listed = ", ".join(f"'{n}' ({_ROLE_NAMES[roles[n]]})" for n in people)
        raise InputError(
            f"{file} lists people on several sheets ({listed}) and their names do not say which sheet holds "
            "the registrants and which the attendees. Nothing was sent.",
            hint="Pass --sheet NAME to import one sheet (run once per sheet, with --state if the sheet does not say).",
        )
    if len(kept) == 1:
        note = f"sheet '{kept[0]}' chosen among {len(people)} sheets that list people"
    else:
        note = "read " + " and ".join(f"sheet '{n}' as the {_ROLE_NAMES[roles[n]]}" for n in kept)
    if left:
        note += "; left out " + ", ".join(f"'{n}' ({_ROLE_NAMES[roles[n]]})" for n in left)
    notes.append(note + " (use --sheet to read one sheet alone)")
    return kept
