"""Header vocabularies: every alias names one field, and localised exports map to the right fields."""

from __future__ import annotations

import pytest
from row_objects import table_to_rows
from test_mapper import NOW, grid, ms

from importer.mapper import MapOptions, map_sheet
from importer.mapper_times import header_zone
from importer.profiles.headers import ALIASES, norm_header


def test_no_header_text_names_two_fields() -> None:
    seen: dict[str, str] = {}
    for name, entries in ALIASES.items():
        for text, _ in entries:
            assert seen.setdefault(norm_header(text), name) == name, text


@pytest.mark.parametrize(
    ("header", "line", "zone", "when", "order"),
    [
        ("Nome,Cognome,Indirizzo e-mail,Ora di ingresso", "Ada,Rossi,ada@example.com,05/11/2024 10:00",
         "Europe/Rome", "2024-11-05T09:00:00Z", "day-first"),
        ("Naam,E-mailadres,Deelnametijd", "Ada,ada@example.com,05-11-2024 10:00",
         "Europe/Amsterdam", "2024-11-05T09:00:00Z", "day-first"),
        ("Imię i nazwisko,Adres e-mail,Czas dołączenia", "Ada,ada@example.com,05.11.2024 10:00",
         "Europe/Warsaw", "2024-11-05T09:00:00Z", "day-first"),
        ("Nome completo,Endereço de e-mail,Horário de entrada", "Ada,ada@example.com,05/11/2024 10:00",
         "America/Sao_Paulo", "2024-11-05T13:00:00Z", "day-first"),
        ("名前,メールアドレス,参加時刻", "エイダ,ada@example.com,2024/11/05 10:00",
         "Asia/Tokyo", "2024-11-05T01:00:00Z", None),
        ("姓名,电子邮件,加入时间", "艾达,ada@example.com,2024/11/05 10:00",
         "Asia/Shanghai", "2024-11-05T02:00:00Z", None),
        ("이름,이메일,참가 시간", "에이다,ada@example.com,2024.11.05 10:00",
         "Asia/Seoul", "2024-11-05T01:00:00Z", None),
        ("Name,Benutzer-E-Mail,Beitrittszeit", "Ada,ada@example.com,05.11.2024 10:00",
         "Europe/Berlin", "2024-11-05T09:00:00Z", "day-first"),
        ("Nom complet,E-mail de l'utilisateur,Heure d'arrivée", "Ada,ada@example.com,05/11/2024 10:00",
         "Europe/Paris", "2024-11-05T09:00:00Z", "day-first"),
        ("Nombre completo,Correo electrónico del usuario,Hora de entrada", "Ada,ada@example.com,05/11/2024 10:00",
         "Europe/Madrid", "2024-11-05T09:00:00Z", "day-first"),
    ],
)  # fmt: skip
def test_localised_headers(header: str, line: str, zone: str, when: str, order: str | None) -> None:
    m = map_sheet(grid(f"{header}\n{line}\n"), MapOptions(timezone=zone, now_ms=NOW))
    (row,) = table_to_rows(m.table)
    assert (row.email, row.when_ms, m.info.date_order) == ("ada@example.com", ms(when), order)
    assert set(m.info.columns) >= {"email", "join_time"}


@pytest.mark.parametrize(
    ("header", "bare", "zone"),
    [
        ("Join Time (UTC)", "Join Time", "UTC"),
        ("Registered at (GMT+2)", "Registered at", "GMT+2"),
        ("Check-in time UTC+01:00", "Check-in time", "UTC+01:00"),
        ("Timestamp [GMT-05:30]", "Timestamp", "GMT-05:30"),
        ("Join Time", "Join Time", None),
        ("UTC", "UTC", None),  # a header that is only a zone names no column
        ("Join Time (GMT+25)", "Join Time (GMT+25)", None),  # not an offset any zone has
    ],
)
def test_header_zone(header: str, bare: str, zone: str | None) -> None:
    assert header_zone(header) == (bare, zone)


def test_zone_in_header_beats_timezone_but_not_a_zone_in_the_cell() -> None:
    text = "Email,Join Time (GMT+2)\na@example.com,2024-11-05 10:00\nb@example.com,2024-11-05 10:00 EST\n"
    m = map_sheet(grid(text), MapOptions(timezone="America/New_York", now_ms=NOW))
    assert [r.when_ms for r in table_to_rows(m.table)] == [ms("2024-11-05T08:00:00Z"), ms("2024-11-05T15:00:00Z")]
    assert any("read as GMT+2" in n for n in m.info.notes)


def test_unused_date_time_columns_are_named_and_numbers_are_not() -> None:
    text = (
        "Email,Join Time,Leave Time,Duration,Badge ID,Company\n"
        "a@example.com,2024-11-05 10:00,2024-11-05 11:00,60,45600,Acme\n"
        "b@example.com,2024-11-05 10:05,Nov 5 2024 11:02,57,45601,Beta\n"
    )
    m = map_sheet(grid(text, kind="xlsx"), MapOptions(timezone="UTC", now_ms=NOW))
    (note,) = [n for n in m.info.notes if "not used" in n]
    assert note.startswith("date-time columns not used: 'Leave Time';")
    assert 'join_time = "Leave Time"' in note


#: Zoom participants reports in other languages, each header line as a public copy or parser of a
#: real export writes it (sources in sample_data/README.md), with one invented person.
ZOOM_LOCALISED = {
    "es-2020": ("Nombre (nombre original),E-mail del usuario,Hora para unirse,Hora para salir,Duración (minutos),"
                "Invitado,Respuesta al descargo de responsabilidad relativa a la grabación,En sala de espera",
                "Ada Díaz,ada@example.com,05/11/2024 10:00:00 AM,05/11/2024 11:00:00 AM,60,No,Acepto,No"),
    "es": ("Nombre (nombre original),Correo electrónico,Hora de entrada,Hora de salida,Duración (minutos),Invitado,"
           "Respuesta al descargo de responsabilidad relativa a la grabación,En sala de espera",
           "Ada Díaz,ada@example.com,05/11/2024 10:00:00 AM,05/11/2024 11:00:00 AM,60,No,Acepto,No"),
    "fr": ("Nom (nom original),Adresse e-mail de l’utilisateur,Heure d’arrivée,Heure de départ,Durée (minutes),"
           "Invité,Salle d’attente",
           "Ada Martin,ada@example.com,05/11/2024 10:00:00,05/11/2024 11:00:00,60,Non,Non"),
    "it": ("Nome (nome originale),E-mail,Ora di ingresso,Ora di uscita,Durata (minuti),Guest,"
           "Risposta di esclusione di responsabilità per la registrazione,In sala d’attesa",
           "Ada Rossi,ada@example.com,05/11/2024 10:00:00 AM,05/11/2024 11:00:00 AM,60,No,OK,No"),
    "pt-BR": ("Nome (nome original),E-mail,Ingressar na hora,Hora de saída,Duração (minutos),Convidado,"
              "Na sala de espera",
              "Ada Souza,ada@example.com,05/11/2024 10:00:00 AM,05/11/2024 11:00:00 AM,60,Não,Não"),
    "ko": ("이름(원래 이름),사용자 이메일,참가 시간,나간 시간,기간(분),게스트",
           "에이다,ada@example.com,2024-11-05 10:00:00,2024-11-05 11:00:00,60,아니요"),
    "de": ("Name (ursprünglicher Name),E-Mail,Beitrittszeit,Austrittszeit,Dauer (Minuten)",
           "Ada Weber,ada@example.com,05.11.2024 10:00:00,05.11.2024 11:00:00,60"),
}  # fmt: skip


@pytest.mark.parametrize("lang", list(ZOOM_LOCALISED))
def test_zoom_participants_in_other_languages_as_exported(lang: str) -> None:
    header, line = ZOOM_LOCALISED[lang]
    zone = "Asia/Seoul" if lang == "ko" else "Europe/Paris"
    m = map_sheet(grid(f"{header}\n{line}\n"), MapOptions(timezone=zone, now_ms=NOW))
    (row,) = table_to_rows(m.table)
    assert m.info.profile == "zoom_meeting_participants"
    assert {"email", "join_time", "duration", "name"} <= set(m.info.columns)
    utc = "2024-11-05T01:00:00Z" if lang == "ko" else "2024-11-05T09:00:00Z"
    assert (row.email, row.state, row.when_ms) == ("ada@example.com", "attend", ms(utc))


def test_zoom_italian_export_with_meeting_data_reads_the_participant_columns() -> None:
    """The header line of a public copy of Zoom's Italian "export with meeting data": the
    organiser's e-mail and the meeting's duration come first; the participant's are read."""
    header = ("Argomento,Digita,ID,Nome organizzatore,E-mail organizzatore,Ora di inizio,Ora di fine,Partecipanti,"
              "Durata (minuti),Minuti totali dei partecipanti,Reparto,Gruppo,Origine,Visualizzatori unici,"
              "Max visualizzazioni simultanee,Ora di creazione,Nome (nome originale),E-mail,Ora di ingresso,"
              "Ora di uscita,Durata (minuti),Guest,Risposta di esclusione di responsabilità per la registrazione,"
              "In sala d’attesa")  # fmt: skip
    line = ("Corso,Riunione,896 1053 4856,Olga Organizzatrice,olga@example.org,01/30/2025 06:54:02 PM,"
            "01/30/2025 08:37:29 PM,3,104,620,,,Zoom,-,-,09/12/2024 07:00:59 PM,Ada Rossi,ada@example.com,"
            "01/30/2025 07:01:00 PM,01/30/2025 07:31:00 PM,0,No,OK,No")  # fmt: skip
    m = map_sheet(grid(f"{header}\n{line}\n"), MapOptions(timezone="Europe/Rome", now_ms=NOW))
    (row,) = table_to_rows(m.table)
    assert m.info.profile == "zoom_meeting_participants"
    assert (row.email, row.when_ms) == ("ada@example.com", ms("2025-01-30T18:01:00Z"))
    headers = list(m.info.columns.values())
    assert m.info.columns["duration"] == "Durata (minuti)" and headers.count("Durata (minuti)") == 1


def test_zoom_webinar_attendee_report_in_traditional_chinese_reads_attendance_and_email() -> None:
    """Columns of Zoom's webinar attendee details as a public parser reads the zh-TW export."""
    header = "已出席,使用者名稱（原始名稱）,名字,姓氏,電子郵件地址,出席時間（分鐘）,國家/地區名稱"
    m = map_sheet(grid(f"{header}\n是,陳艾達,艾達,陳,ada@example.com,45,臺灣\n否,王,小明,王,ming@example.com,0,臺灣\n"),
                  MapOptions(now_ms=NOW))  # fmt: skip
    assert {"attended", "email", "duration", "name", "first_name", "last_name"} <= set(m.info.columns)
    rows = table_to_rows(m.table)
    # 45 minutes attended proves it; 是/否 are not known words for yes/no, so the row with 0 minutes
    # is left undecided (the run would stop and ask for --state), never guessed
    assert [(r.email, r.state) for r in rows] == [("ada@example.com", "attend"), ("ming@example.com", None)]
