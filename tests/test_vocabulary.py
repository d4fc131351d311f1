"""Header vocabularies: every alias names one field, and localised exports map to the right fields."""

from __future__ import annotations

import pytest
from test_mapper import NOW, grid, ms

from importer.mapper import MapOptions, map_sheet
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
    (row,) = m.rows
    assert (row.email, row.when_ms, m.info.date_order) == ("ada@example.com", ms(when), order)
    assert set(m.info.columns) >= {"email", "join_time"}
