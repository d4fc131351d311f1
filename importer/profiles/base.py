"""What every platform profile shares: header aliases, the facts a profile's rules see, the
decision they return, and the generic state rules most profiles build on.

Profiles are pure: they look at text already loaded and return arrays, one entry per data row, so
a million-row file is decided with a handful of vectorised operations.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from ..models import Reason, State
from ..titles import title_says

#: Fields the mapper understands; ``[columns]`` in the config may name a header for any of them.
FIELDS = (
    "email",
    "vid",
    "join_time",
    "registration_time",
    "cancel_time",
    "attended",
    "state_text",
    "role",
    "duration",
    "first_name",
    "last_name",
    "name",
    "waiting_room",
    "speaker",
    "team_member",
)
TIME_FIELDS = ("join_time", "registration_time", "cancel_time")
KEY_FIELDS = ("email", "vid")

# Header aliases per field, best first, tagged with their language.  The other languages are the
# words Zoom, Teams and Webex use for these columns in their Japanese, Chinese, Korean, Portuguese,
# Italian, Dutch and Polish interfaces (README, "Formats it recognises").  Checked against public
# copies or parsers of real exports (sources in sample_data/README.md): Zoom's participants report
# in Japanese, Spanish (two versions), French, Italian, Portuguese (Brazil) and Korean, German
# from one parser, and Zoom's webinar attendee report in Chinese (Taiwan).  Simplified Chinese,
# Dutch and Polish Zoom, and every localised Teams and Webex word, could not be confirmed and
# follow the interface wording.
_EN, _DE, _FR, _ES = "en", "de", "fr", "es"
_IT, _NL, _PL, _PT, _JA, _ZH, _KO = "it", "nl", "pl", "pt", "ja", "zh", "ko"
#: Languages whose numeric dates are day-first (13/11/2024); ja/zh/ko write year first.
DAY_FIRST_LANGS = frozenset({_DE, _FR, _ES, _IT, _NL, _PL, _PT})
ALIASES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "email": (
        ("Email", _EN),
        ("E-mail", _EN),
        ("Email Address", _EN),
        ("E-mail Address", _EN),
        ("email_address", _EN),
        ("User Email", _EN),
        ("Attendee Email", _EN),
        ("Participant Email", _EN),
        ("Registrant Email", _EN),
        ("Mail", _EN),
        ("E-Mail-Adresse", _DE),
        ("Emailadresse", _DE),
        ("Mailadresse", _DE),
        ("Courriel", _FR),
        ("Adresse e-mail", _FR),
        ("Adresse électronique", _FR),
        ("Adresse courriel", _FR),
        ("Correo electrónico", _ES),
        ("Correo", _ES),
        ("Dirección de correo electrónico", _ES),
        ("Email del asistente", _ES),
        ("Benutzer-E-Mail", _DE),
        ("E-mail de l'utilisateur", _FR),
        ("Adresse e-mail de l'utilisateur", _FR),
        ("Correo electrónico del usuario", _ES),
        ("E-mail del usuario", _ES),
        ("E-mail", _IT),
        ("Indirizzo e-mail", _IT),
        ("E-mail utente", _IT),
        ("Posta elettronica", _IT),
        ("E-mailadres", _NL),
        ("E-mail gebruiker", _NL),
        ("E-mailadres van gebruiker", _NL),
        ("Adres e-mail", _PL),
        ("E-mail użytkownika", _PL),
        ("Endereço de e-mail", _PT),
        ("E-mail do usuário", _PT),
        ("E-mail do utilizador", _PT),
        ("ユーザーメール", _JA),
        ("メールアドレス", _JA),
        ("メール", _JA),
        ("電子メール", _JA),
        ("用户邮箱", _ZH),
        ("用户电子邮件", _ZH),
        ("电子邮件", _ZH),
        ("邮箱", _ZH),
        ("電子郵件", _ZH),
        ("使用者電子郵件", _ZH),
        ("電子郵件地址", _ZH),
        ("사용자 이메일", _KO),
        ("이메일", _KO),
        ("이메일 주소", _KO),
    ),
    "vid": (
        ("vid", _EN),
        ("Record ID", _EN),
        ("Contact ID", _EN),
        ("hs_object_id", _EN),
        ("HubSpot ID", _EN),
        ("HubSpot Contact ID", _EN),
        ("Record ID - Contact", _EN),
        ("Datensatz-ID", _DE),
        ("Kontakt-ID", _DE),
        ("ID de fiche", _FR),
        ("ID du contact", _FR),
        ("ID de registro", _ES),
        ("ID de contacto", _ES),
    ),
    "join_time": (
        ("Join Time", _EN),
        ("First Join", _EN),
        ("First Join Time", _EN),
        ("Check-in Time", _EN),
        ("Checked In At", _EN),
        ("checked_in_at", _EN),
        ("Check-In Date", _EN),
        ("Check In Time", _EN),
        ("Joined At", _EN),
        ("Join Date", _EN),
        ("Attended At", _EN),
        ("Attendance Time", _EN),
        ("Beitrittszeit", _DE),
        ("Erster Beitritt", _DE),
        ("Teilnahmezeit", _DE),
        ("Beitrittsdatum", _DE),
        ("Check-in-Zeit", _DE),
        ("Heure d'arrivée", _FR),
        ("Heure d'entrée", _FR),
        ("Heure de connexion", _FR),
        ("Première connexion", _FR),
        ("Première participation", _FR),
        ("Hora de entrada", _ES),
        ("Hora de unión", _ES),
        ("Hora de ingreso", _ES),
        ("Primera unión", _ES),
        ("Primera entrada", _ES),
        ("Hora para unirse", _ES),
        ("Joined", _EN),
        ("Time joined", _EN),
        ("Joined at", _EN),
        ("Join time (UTC)", _EN),
        ("Beitrittszeitpunkt", _DE),
        ("Heure de participation", _FR),
        ("Ora di ingresso", _IT),
        ("Orario di ingresso", _IT),
        ("Primo ingresso", _IT),
        ("Ora di partecipazione", _IT),
        ("Deelnametijd", _NL),
        ("Tijd van deelname", _NL),
        ("Eerste deelname", _NL),
        ("Czas dołączenia", _PL),
        ("Godzina dołączenia", _PL),
        ("Pierwsze dołączenie", _PL),
        ("Horário de entrada", _PT),
        ("Hora de entrada", _PT),
        ("Primeira entrada", _PT),
        ("Hora de ingresso", _PT),
        ("Ingressar na hora", _PT),
        ("参加時刻", _JA),
        ("参加時間", _JA),
        ("最初の参加", _JA),
        ("加入时间", _ZH),
        ("首次加入", _ZH),
        ("加入時間", _ZH),
        ("首次加入時間", _ZH),
        ("참가 시간", _KO),
        ("처음 참가", _KO),
        ("참가 시각", _KO),
    ),
    "registration_time": (
        ("Registration Time", _EN),
        ("Registration Date", _EN),
        ("Registered At", _EN),
        ("Registration Date/Time", _EN),
        ("created_at", _EN),
        ("Order Date", _EN),
        ("Signup Date", _EN),
        ("Sign-up Date", _EN),
        ("Date Registered", _EN),
        ("Anmeldedatum", _DE),
        ("Anmeldezeit", _DE),
        ("Registrierungsdatum", _DE),
        ("Registrierungszeit", _DE),
        ("Date d'inscription", _FR),
        ("Heure d'inscription", _FR),
        ("Fecha de registro", _ES),
        ("Fecha de inscripción", _ES),
        ("Hora de registro", _ES),
        ("Registration date", _EN),
        ("Registered on", _EN),
        ("Data di registrazione", _IT),
        ("Ora di registrazione", _IT),
        ("Data di iscrizione", _IT),
        ("Registratiedatum", _NL),
        ("Registratietijd", _NL),
        ("Inschrijfdatum", _NL),
        ("Data rejestracji", _PL),
        ("Czas rejestracji", _PL),
        ("Data de inscrição", _PT),
        ("Hora de inscrição", _PT),
        ("Horário de registro", _PT),
        ("Data de registro", _PT),
        ("登録時間", _JA),
        ("登録日時", _JA),
        ("注册时间", _ZH),
        ("註冊時間", _ZH),
        ("등록 시간", _KO),
        ("등록 일시", _KO),
    ),
    "cancel_time": (
        ("Cancellation Time", _EN),
        ("Cancellation Date", _EN),
        ("Cancelled At", _EN),
        ("Canceled At", _EN),
        ("cancelled_at", _EN),
        ("canceled_at", _EN),
        ("Stornierungsdatum", _DE),
        ("Date d'annulation", _FR),
        ("Fecha de cancelación", _ES),
    ),
    "attended": (
        ("Attended", _EN),
        ("Attendance", _EN),
        ("Present", _EN),
        ("Teilgenommen", _DE),
        ("Anwesend", _DE),
        ("Participé", _FR),
        ("Présent", _FR),
        ("Asistió", _ES),
        ("Asistencia", _ES),
        ("Partecipato", _IT),
        ("Presente", _IT),
        ("Aanwezig", _NL),
        ("Deelgenomen", _NL),
        ("Obecny", _PL),
        ("Uczestniczył", _PL),
        ("Compareceu", _PT),
        ("Participou", _PT),
        ("出席", _JA),
        ("参加済み", _JA),
        ("已参加", _ZH),
        ("已出席", _ZH),
        ("出席", _ZH),
        ("참석", _KO),
        ("참석 여부", _KO),
    ),
    "state_text": (
        ("Attendee Status", _EN),
        ("Approval Status", _EN),
        ("approval_status", _EN),
        ("Registration Status", _EN),
        ("Status", _EN),
        ("Teilnahmestatus", _DE),
        ("Status der Anmeldung", _DE),
        ("Statut", _FR),
        ("Statut de l'inscription", _FR),
        ("Estado", _ES),
        ("Estado de la inscripción", _ES),
    ),
    "duration": (
        ("Duration", _EN),
        ("Duration (Minutes)", _EN),
        ("Attendance Duration", _EN),
        ("Total Duration", _EN),
        ("Time in Session", _EN),
        ("Time in Session (minutes)", _EN),
        ("In Session Duration (minutes)", _EN),
        ("In-Meeting Duration", _EN),
        ("Minutes Attended", _EN),
        ("Time Attended", _EN),
        ("Watch Time", _EN),
        ("Dauer", _DE),
        ("Dauer (Minuten)", _DE),
        ("Teilnahmedauer", _DE),
        ("Anwesenheitsdauer", _DE),
        ("Durée", _FR),
        ("Durée (minutes)", _FR),
        ("Durée de présence", _FR),
        ("Duración", _ES),
        ("Duración (minutos)", _ES),
        ("Duración total (minutos)", _ES),
        ("Tiempo de asistencia", _ES),
        ("Durata (minuti)", _IT),
        ("Duração (minutos)", _PT),
        ("所要時間（分）", _JA),
        ("出席時間（分鐘）", _ZH),
        ("기간(분)", _KO),
    ),
    "role": (
        ("Role", _EN),
        ("Participant Role", _EN),
        ("Rolle", _DE),
        ("Rôle", _FR),
        ("Rol", _ES),
        ("Ruolo", _IT),
        ("Rol", _NL),
        ("Rola", _PL),
        ("Função", _PT),
        ("役割", _JA),
        ("角色", _ZH),
        ("역할", _KO),
    ),
    "first_name": (
        ("First Name", _EN),
        ("first_name", _EN),
        ("Given Name", _EN),
        ("Firstname", _EN),
        ("Vorname", _DE),
        ("Prénom", _FR),
        ("Nombre", _ES),
        ("Nome", _IT),
        ("Voornaam", _NL),
        ("Imię", _PL),
        ("Primeiro nome", _PT),
        ("名", _JA),
        ("名字", _ZH),
    ),
    "last_name": (
        ("Last Name", _EN),
        ("last_name", _EN),
        ("Surname", _EN),
        ("Family Name", _EN),
        ("Lastname", _EN),
        ("Nachname", _DE),
        ("Nom", _FR),
        ("Nom de famille", _FR),
        ("Apellido", _ES),
        ("Apellidos", _ES),
        ("Cognome", _IT),
        ("Achternaam", _NL),
        ("Nazwisko", _PL),
        ("Sobrenome", _PT),
        ("Apelido", _PT),
        ("姓", _JA),
        ("姓氏", _ZH),
        ("성", _KO),
    ),
    "name": (
        ("Name", _EN),
        ("Full Name", _EN),
        ("Display Name", _EN),
        ("User Name (Original Name)", _EN),
        ("Name (Original Name)", _EN),
        ("User Name", _EN),
        ("Attendee Name", _EN),
        ("Participant", _EN),
        ("Vollständiger Name", _DE),
        ("Teilnehmer", _DE),
        ("Nom complet", _FR),
        ("Participant(e)", _FR),
        ("Nombre completo", _ES),
        ("Name (ursprünglicher Name)", _DE),
        ("Nom (nom original)", _FR),
        ("Nombre (nombre original)", _ES),
        ("Nome (nome originale)", _IT),
        ("Nome e cognome", _IT),
        ("Naam (oorspronkelijke naam)", _NL),
        ("Naam", _NL),
        ("Volledige naam", _NL),
        ("Imię i nazwisko (oryginalna nazwa)", _PL),
        ("Nazwa (oryginalna nazwa)", _PL),
        ("Imię i nazwisko", _PL),
        ("Nome (nome original)", _PT),
        ("Nome completo", _PT),
        ("名前 (元の名前)", _JA),
        ("名前", _JA),
        ("氏名", _JA),
        ("名称（原始名称）", _ZH),
        ("姓名（原始姓名）", _ZH),
        ("使用者名稱（原始名稱）", _ZH),
        ("名称", _ZH),
        ("姓名", _ZH),
        ("이름(원래 이름)", _KO),
        ("이름", _KO),
    ),
    "waiting_room": (
        ("In Waiting Room", _EN),
        ("Im Warteraum", _DE),
        ("Dans la salle d'attente", _FR),
        ("Salle d'attente", _FR),
        ("En la sala de espera", _ES),
        ("En sala de espera", _ES),
        ("In sala d'attesa", _IT),
        ("In wachtruimte", _NL),
        ("W poczekalni", _PL),
        ("Na sala de espera", _PT),
        ("待機室", _JA),
        ("在等候室中", _ZH),
        ("대기실", _KO),
    ),
}


@lru_cache(maxsize=4096)
def norm_header(text: str) -> str:
    """Compare headers case-, accent-, space- and punctuation-insensitively ('E-Mail' == 'email')."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())


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
