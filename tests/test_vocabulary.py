"""Header vocabularies: every alias names one field, and localised exports map to the right fields."""

from __future__ import annotations

import pytest
from row_objects import table_to_rows
from test_mapper import NOW, grid, ms

from importer.mapper import MapOptions, map_sheet
from importer.mapper_times import header_zone
from importer.profiles.base import ALIASES, norm_header


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
