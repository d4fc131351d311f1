"""Words of a sheet name, title line, section label or file name that say whether its people
registered or attended, in the languages the profiles know.  Standard library only, so the loader
(sheet roles) and the profiles (row states) share one vocabulary."""

from __future__ import annotations

import re

# Words of a sheet name, title line, section label or file name that say what its people did.
REGISTRANT_WORDS = frozenset(
    {"registrant", "registrants", "registration", "registrations", "registered", "signups", "signup"}
    | {"anmeldung", "anmeldungen", "angemeldet", "registrierung", "registrierungen", "registriert"}
    | {"inscription", "inscriptions", "inscrits", "inscrit", "inscripción", "inscripcion", "inscripciones"}
    | {"registro", "registros", "registrados", "inscritos", "inscrições", "inscricoes", "iscrizioni"}
    | {"iscritti", "registrazioni", "registraties", "inschrijvingen", "aanmeldingen", "rejestracje"}
    | {"zarejestrowani", "rejestracja", "anmeldeliste", "registrierungsliste"}
)
ATTENDEE_WORDS = frozenset(
    {"attendee", "attendees", "attendance", "attended", "participant", "participants", "participation"}
    | {"teilnehmer", "teilnehmende", "teilnahme", "teilnahmen", "anwesenheit", "anwesende", "présents"}
    | {"présence", "participantes", "asistentes", "asistencia"}
    | {"participação", "presença", "partecipanti", "presenze", "partecipazione", "deelnemers"}
    | {"aanwezigen", "aanwezigheid", "uczestnicy", "obecność", "obecnosc", "frekwencja"}
    | {"teilnehmerliste", "anwesenheitsliste", "teilnahmeliste"}
)
# Scripts without spaces between words are searched for these as text.
REGISTRANT_TEXT = ("登録者", "登録", "注册", "报名", "註冊", "報名", "등록자", "등록")
ATTENDEE_TEXT = ("参加者", "出席者", "参会者", "与会者", "參與者", "出席", "참석자", "참가자", "참석")


def title_says(text: str) -> str | None:
    """What a title names: registrants -> 'register', attendees/participants -> 'attend';
    ``None`` when it names neither, or both ('Registrants and attendees')."""
    words = set(re.findall(r"[^\W_]+", text.casefold()))
    says_register = bool(words & REGISTRANT_WORDS) or any(t in text for t in REGISTRANT_TEXT)
    says_attend = bool(words & ATTENDEE_WORDS) or any(t in text for t in ATTENDEE_TEXT)
    if says_register == says_attend:
        return None
    return "register" if says_register else "attend"
