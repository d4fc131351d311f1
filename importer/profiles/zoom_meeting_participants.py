"""Zoom meeting "Participants" report (Reports > Usage > Participants > Export), in the versions
Zoom has shipped:

- ``Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest`` (2020-21),
  later with ``Recording Consent``, optionally under a meeting block (``Meeting ID,Topic,Start
  Time,End Time,User Email,Duration (Minutes),Participants``) and a blank line;
- ``Name (original name),Email,Join time,Leave time,Duration (minutes),Guest,Recording disclaimer
  response,In waiting room`` (current portal), under ``Topic,ID,Duration (minutes),Start time,...``;
- "Export with meeting data" as one table: the meeting's ``Topic,Meeting ID,User Name,User Email,
  ...,Participants`` columns, then the participant's ``Name (Original Name),User Email,Join Time...``,
  so ``User Email`` appears twice and the second one is the participant's;
- the same headers in Zoom's other languages: ``名前 (元の名前),ユーザーメール,参加時刻,退出時刻,
  所要時間（分）`` (Japanese), ``Nombre (nombre original),E-mail del usuario,Hora para unirse,Hora
  para salir,Duración (minutos)`` and later ``...,Correo electrónico,Hora de entrada,Hora de
  salida,...,En sala de espera`` (Spanish), ``Nom (nom original),Adresse e-mail de l'utilisateur,
  Heure d'arrivée,Heure de départ,Durée (minutes),Invité,Salle d'attente`` (French), ``Nome (nome
  originale),E-mail,Ora di ingresso,Ora di uscita,Durata (minuti),Guest,...,In sala d'attesa``
  (Italian), ``Nome (nome original),E-mail,Ingressar na hora,Hora de saída,Duração (minutos),
  Convidado,Na sala de espera`` (Portuguese), ``이름(원래 이름),사용자 이메일,참가 시간,나간 시간,
  기간(분)`` (Korean); the meeting's own ``Durata (minuti)`` / ``Duration (Minutes)`` before the
  participant's, as ``User Email`` is, when exported with meeting data.

Everyone listed joined the meeting, so each row is an attendance at its join time; a person who
rejoined has one row per join and the earliest one is kept.  Rows that only record time in the
waiting room are not attendance.
"""

from __future__ import annotations

from ..models import Reason, State
from .base import YES, Decision, Facts, Profile, SheetLike, count_in, generic_rules, head_keys
from .headers import norm_header

NAME = "zoom_meeting_participants"

#: "Name (Original Name)" as Zoom writes it in its interface languages.
NAME_HEADERS = frozenset(
    norm_header(h)
    for h in (
        "Name (Original Name)",
        "Name (ursprünglicher Name)",
        "Nom (nom original)",
        "Nombre (nombre original)",
        "Nome (nome originale)",
        "Nome (nome original)",
        "Naam (oorspronkelijke naam)",
        "Imię i nazwisko (oryginalna nazwa)",
        "Nazwa (oryginalna nazwa)",
        "名前 (元の名前)",
        "名称（原始名称）",
        "姓名（原始姓名）",
        "이름(원래 이름)",
    )
)
WEBINAR_MARKS = frozenset({"usernameoriginalname", "attendeedetails", "hostdetails", "panelistdetails"})


def matches(sheet: SheetLike) -> float:
    keys = head_keys(sheet)
    if not keys & NAME_HEADERS or keys & WEBINAR_MARKS:
        return 0.0
    extra = count_in(
        keys,
        "Join Time",
        "Leave Time",
        "Duration (Minutes)",
        "Guest",
        "Recording Consent",
        "In Waiting Room",
        "参加時刻",
        "退出時刻",
    )
    return min(0.6 + 0.05 * extra, 0.95)


def rules(f: Facts) -> Decision:
    d = generic_rules(f, default=State.ATTEND)
    d.skip(
        f.is_in("waiting_room", YES),
        Reason.WAITING_ROOM,
        "Row {row} ({who}) records time in the waiting room, not in the meeting; it is not counted as attendance.",
        first=True,
    )
    return d


PROFILE = Profile(
    NAME,
    matches,
    rules,
    aliases={"name": ("Name (Original Name)",)},
    platform="Zoom",
    last_column=frozenset({"email", "duration"}),
)
