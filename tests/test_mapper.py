"""Mapper: header finding, email/id/time normalisation, state rules, whole-file errors."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from row_objects import Also, table_to_rows

from importer.errors import InputError
from importer.loader import Sheet
from importer.mapper import MapOptions, map_sheet
from importer.mapper_values import normalize_email
from importer.models import Outcome, Reason, State
from importer.profiles.headers import ALIASES, norm_header

NOW = 1_735_689_600_000  # 2025-01-01T00:00:00Z


def grid(text: str, *, file: str = "t.csv", delimiter: str = ",", kind: str = "csv") -> Sheet:
    """The loader's grid, built with the csv module: non-blank lines, stripped str cells, row numbers."""
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    kept = [(i + 1, [c.strip() for c in r]) for i, r in enumerate(records) if any(c.strip() for c in r)]
    width = max((len(r) for _, r in kept), default=0)
    frame = pd.DataFrame(
        {j: pd.Series([r[j] if j < len(r) else "" for _, r in kept], dtype="str") for j in range(width)}
    )
    numbers = np.array([n for n, _ in kept], dtype=np.int64)
    return Sheet(file, Path(file), frame, numbers, "utf-8", delimiter, None, kind, ())


def rows_of(text: str, **opts: object) -> list:
    kw: dict = {"now_ms": NOW, **opts}
    return table_to_rows(map_sheet(grid(text), MapOptions(**kw)).table)


def ms(iso: str) -> int:
    return int(pd.Timestamp(iso).value // 1_000_000)


# --- emails ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jane@example.com", "jane@example.com"),
        ("  Jane.Doe@Example.COM ", "jane.doe@example.com"),
        ("mailto:jane@example.com", "jane@example.com"),
        ("MAILTO:Jane@Example.com", "jane@example.com"),
        ("Jane Doe <jane@example.com>", "jane@example.com"),
        ('"Doe, Jane" <Jane@Example.org>', "jane@example.org"),
        ("'jane@example.com", "jane@example.com"),
        ("jane@example.com\x00", "jane@example.com"),
        ("\u00a0jane@example.com\u202f", "jane@example.com"),
        ("ja\u200bne@example.com\ufeff", "jane@example.com"),
        ("o'brien@example.net", "o'brien@example.net"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
        ("müller@beispiel.example", "müller@beispiel.example"),
        ("", None),
        ("jane@@example.com", None),
        ("jane doe@example.com", None),
        ("jane@example", None),
        ("janeexample.com", None),
        ("jane@example..com", None),
        (".jane@example.com", None),
        ("jane@example.com\x07", None),
        ("a" * 65 + "@example.com", None),
        ("a@" + "b" * 250 + ".com", None),
        ("@example.com", None),
    ],
)
def test_normalize_email(raw: str, expected: str | None) -> None:
    assert normalize_email(raw) == expected


def test_invalid_and_missing_email_rows() -> None:
    rows = rows_of("Email,Record ID,Name\njane@@example.com,,Jane\n,,Nobody\n,42,Vid Only\n  ,,\nok@example.org,,Ok\n")
    bad, missing, vid_only, ok = rows
    assert (bad.outcome, bad.reason) == (Outcome.REJECTED, Reason.INVALID_EMAIL)
    assert bad.message == (
        "Email 'jane@@example.com' in row 2 is not a valid address (it has more than one @); correct it in the file."
    )
    assert (missing.outcome, missing.reason) == (Outcome.REJECTED, Reason.MISSING_EMAIL)
    assert "Row 3 (Nobody)" in missing.message
    assert vid_only.outcome is None and vid_only.vid == 42 and vid_only.email is None
    assert ok.outcome is None and ok.ref.row == 6


@pytest.mark.parametrize("vid", ["abc", "-5", "0", "12.5", "9223372036854775808", "1e10x"])
def test_bad_vid_is_rejected(vid: str) -> None:
    (row,) = rows_of(f"Email,vid\njane@example.com,{vid}\n")
    assert (row.outcome, row.reason) == (Outcome.REJECTED, Reason.INVALID_VID)
    assert f"'{vid}'" in row.message and "row 2" in row.message


@pytest.mark.parametrize(("vid", "expected"), [("123", 123), ("123.0", 123), (" 9223372036854775807 ", 2**63 - 1)])
def test_good_vid(vid: str, expected: int) -> None:
    (row,) = rows_of(f'Email,Contact ID\njane@example.com,"{vid}"\n')
    assert row.outcome is None and row.vid == expected


# --- header and layout ----------------------------------------------------------------------------


def test_header_found_below_title_lines_and_aliases() -> None:
    text = (
        "Webinar: Launch\nGenerated,2024-11-05\n\n"
        "E-Mail-Adresse,Vorname,Nachname,Beitrittszeit\na@example.com,A,B,2024-11-05T10:00:00Z\n"
    )
    m = map_sheet(grid(text), MapOptions(now_ms=NOW))
    assert m.info.header_row == 4
    assert m.info.columns["email"] == "E-Mail-Adresse" and m.info.columns["join_time"] == "Beitrittszeit"
    (row,) = table_to_rows(m.table)
    assert row.ref.row == 5 and row.when_ms == ms("2024-11-05T10:00:00Z")
    assert row.extra == (("first_name", "A"), ("last_name", "B"))


@pytest.mark.parametrize(
    "header",
    ["Email", "E-mail", "Email Address", "E-Mail", "Courriel", "Adresse e-mail", "Correo electrónico", "email"],
)
def test_email_aliases(header: str) -> None:
    (row,) = rows_of(f"{header},x\nJane@Example.com,1\n")
    assert row.email == "jane@example.com"


def test_columns_override() -> None:
    m = map_sheet(
        grid("Mail Adr,When\njane@example.com,2024-11-05T10:00:00Z\n"),
        MapOptions(columns={"email": "Mail Adr", "join_time": "When"}),
    )
    assert m.info.columns == {"email": "Mail Adr", "join_time": "When"}
    assert table_to_rows(m.table)[0].email == "jane@example.com" and table_to_rows(m.table)[0].when_ms == ms(
        "2024-11-05T10:00:00Z"
    )


def test_unknown_column_field_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown fields: mail"):
        map_sheet(grid("Email\na@example.com\n"), MapOptions(columns={"mail": "Email"}))


def test_no_header_says_what_it_saw() -> None:
    with pytest.raises(InputError) as err:
        map_sheet(grid("Name,Adresse\nJane,jane@example.com\n"), MapOptions())
    assert "'Name', 'Adresse'" in str(err.value) and "[columns]" in str(err.value)


def test_header_only_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no data rows"):
        map_sheet(grid("Title\nEmail,Name\n"), MapOptions())


def test_repeated_header_and_separator_lines_are_not_rows() -> None:
    text = "Email,Name\na@example.com,A\n-----,-----\nEmail,Name\nb@example.com,B\n"
    rows = rows_of(text)
    assert [r.ref.row for r in rows] == [2, 5]
    assert all(r.outcome is None for r in rows)


def test_keep_raw_carries_other_columns() -> None:
    text = "Email,First Name,Company\na@example.com,Ann,Example Corp\n"
    (plain,) = rows_of(text)
    (raw,) = rows_of(text, keep_raw=True)
    assert plain.extra == (("first_name", "Ann"), ("last_name", ""))
    assert raw.extra == (
        ("first_name", "Ann"),
        ("last_name", ""),
        ("Email", "a@example.com"),
        ("Company", "Example Corp"),
    )


# --- times ----------------------------------------------------------------------------------------

NY = "America/New_York"


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2024-11-05T10:58:03Z", None, "2024-11-05T10:58:03Z"),
        ("2024-11-05T10:58:03.250Z", None, "2024-11-05T10:58:03.250Z"),
        ("2024-11-05 10:58:03+01:00", None, "2024-11-05T09:58:03Z"),
        ("2024-11-05T10:58+0530", None, "2024-11-05T05:28:00Z"),
        ("2024-11-05T10:58:03", NY, "2024-11-05T15:58:03Z"),
        ("2024-11-05 10:58", NY, "2024-11-05T15:58:00Z"),
        ("2024-11-05", NY, "2024-11-05T05:00:00Z"),
        ("Nov 5, 2024 10:58:03", NY, "2024-11-05T15:58:03Z"),
        ("November 5, 2024 10:58 AM", NY, "2024-11-05T15:58:00Z"),
        ("11/05/2024 10:58:03 AM", NY, "2024-11-05T15:58:03Z"),
        ("11/13/24, 2:06:59 PM", NY, "2024-11-13T19:06:59Z"),
        ("11/13/24, 2:06:59\u202fPM", NY, "2024-11-13T19:06:59Z"),
        ("11/29/24 22:28", NY, "2024-11-30T03:28:00Z"),
        ("Nov 19, 2024 11:01 AM EST", None, "2024-11-19T16:01:00Z"),
        ("Jul 19, 2024 11:01 AM PDT", None, "2024-07-19T18:01:00Z"),
        ("Jul 19, 2024 11:01 CEST", None, "2024-07-19T09:01:00Z"),
        ("Jul 19, 2024 11:01 BST", None, "2024-07-19T10:01:00Z"),
        ("5 Nov 2024 10:58", NY, "2024-11-05T15:58:00Z"),
        ("12:00 is no date", NY, None),
    ],
)
def test_time_formats(text: str, zone: str | None, expected: str | None) -> None:
    (row,) = rows_of(f'Email,Join Time\njane@example.com,"{text}"\n', timezone=zone)
    if expected is None:
        assert (row.outcome, row.reason) == (Outcome.REJECTED, Reason.BAD_TIME)
        assert f"'{text}'" in row.message and "row 2" in row.message and "Join Time" in row.message
    else:
        assert row.outcome is None and row.when_ms == ms(expected) and row.time_source == "file"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13/11/2024, 14:06:59", "2024-11-13T13:06:59Z"),
        ("22.10.2024 17:04", "2024-10-22T15:04:00Z"),
        ("22/10/2024", "2024-10-21T22:00:00Z"),
    ],
)
def test_day_first_values(text: str, expected: str) -> None:
    m = map_sheet(grid(f'Email,Join Time\njane@example.com,"{text}"\n'), MapOptions(timezone="Europe/Berlin"))
    assert m.info.date_order == "day-first" and table_to_rows(m.table)[0].when_ms == ms(expected)


def test_dst_gap_is_rejected_naming_the_gap() -> None:
    m = map_sheet(
        grid("Email,Join Time\njane@example.com,2024-03-31 02:30\n"), MapOptions(timezone="Europe/Berlin", now_ms=NOW)
    )
    (row,) = table_to_rows(m.table)
    assert (row.outcome, row.reason, row.when_ms) == (Outcome.REJECTED, Reason.BAD_TIME, None)
    assert "does not exist in Europe/Berlin" in row.message
    assert "on 2024-03-31 the clocks jumped from 02:00 to 03:00 (the spring-forward gap)" in row.message


def test_dst_fold_takes_the_first_occurrence_and_says_so() -> None:
    m = map_sheet(
        grid("Email,Join Time\njane@example.com,2024-10-27 02:30\n"), MapOptions(timezone="Europe/Berlin", now_ms=NOW)
    )
    assert table_to_rows(m.table)[0].when_ms == ms("2024-10-27T00:30:00Z")  # 02:30 CEST, the first of the two
    assert any("repeats when the clocks go back" in n and "first of the two" in n for n in m.info.notes)
    # the row says it too, with the way to write the other reading
    (row,) = table_to_rows(m.table)
    assert row.outcome is None and "'2024-10-27 02:30' (Join Time) happened twice in Europe/Berlin" in row.message
    assert "read as the first, 02:30 CEST (UTC+02:00)" in row.message
    assert "02:30 CET (UTC+01:00)" in row.message and "(2024-10-27 02:30+01:00)" in row.message


def test_dst_fold_note_is_per_row_and_per_participation() -> None:
    m = map_sheet(
        grid(
            "Email,Join Time,Registration Time\n"
            "jane@example.com,2024-11-03 01:30,2024-11-03 01:10\n"
            "bob@example.com,2024-11-03 03:30,2024-11-01 10:00\n"
            "ann@example.com,2024-11-04 09:00,2024-11-03 01:10\n"
        ),
        MapOptions(timezone="America/New_York", now_ms=NOW),
    )
    jane, bob, ann = table_to_rows(m.table)
    assert "(Join Time) happened twice in America/New_York" in jane.message
    assert jane.also is not None and "(Registration Time) happened twice" in jane.also.message
    assert (bob.message, bob.also.message if bob.also else None) == ("", "")  # nothing ambiguous
    assert ann.message == "" and ann.also is not None and "01:10 EDT (UTC-04:00)" in ann.also.message
    # the other reading, written as the message says, is read as written and carries no note
    again = map_sheet(
        grid("Email,Join Time\njane@example.com,2024-11-03 01:30-05:00\n"),
        MapOptions(timezone="America/New_York", now_ms=NOW),
    )
    assert (table_to_rows(again.table)[0].when_ms, table_to_rows(again.table)[0].message) == (
        ms("2024-11-03T06:30:00Z"),
        "",
    )


def test_empty_and_dashes_mean_no_time() -> None:
    rows = rows_of("Email,Join Time\na@example.com,--\nb@example.com,\n")
    assert [(r.outcome, r.when_ms) for r in rows] == [(None, None), (None, None)]


def test_impossible_date_is_bad_time() -> None:
    (row,) = rows_of("Email,Join Time\na@example.com,2024-02-30 10:00\n", timezone=NY)
    assert row.reason == Reason.BAD_TIME and "'2024-02-30 10:00'" in row.message


def test_unknown_zone_abbreviation_is_bad_time() -> None:
    (row,) = rows_of('Email,Join Time\na@example.com,"Nov 19, 2024 11:01 AM XYZ"\n')
    assert row.reason == Reason.BAD_TIME and "'XYZ'" in row.message


@pytest.mark.parametrize(
    ("serial", "utc"),
    [("45600.5", "2024-11-04T12:00:00Z"), ("45593", "2024-10-28T00:00:00Z"), ("61", "")],
)
@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_excel_serial_numbers_are_dates_in_workbooks_and_csvs(serial: str, utc: str, kind: str) -> None:
    """The 1900 date system: day 1 is 1900-01-01, with Lotus' phantom 1900-02-29 (day 60)."""
    text = f"Email,Join Time\na@example.com,{serial}\n"
    (row,) = table_to_rows(map_sheet(grid(text, kind=kind), MapOptions(timezone="UTC")).table)
    if utc:
        assert (row.outcome, row.when_ms) == (None, ms(utc))
    else:  # five digits at least: a small number in a date column is no date
        assert row.reason == Reason.BAD_TIME


@given(st.datetimes(min_value=datetime(1927, 6, 1), max_value=datetime(2173, 1, 1)))
@settings(max_examples=100, deadline=None)
def test_serial_dates_against_datetime(when: datetime) -> None:
    when = when.replace(microsecond=0)
    serial = (when - datetime(1899, 12, 30)).total_seconds() / 86400
    text = f"Email,Join Time\na@example.com,{serial!r}\n"
    (row,) = rows_of(text, timezone="UTC")
    assert row.when_ms is not None and abs(row.when_ms - int(when.replace(tzinfo=UTC).timestamp() * 1000)) <= 1


@pytest.mark.parametrize(
    ("cell", "outcome", "reason", "vid"),
    [
        ("'51234598694", None, "", 51234598694),
        ("' 51234598694", None, "", 51234598694),
        ("1.2345E+10", Outcome.REJECTED, Reason.LOST_PRECISION_ID, None),
        ("5.1234598694e10", Outcome.REJECTED, Reason.LOST_PRECISION_ID, None),
        ("'1.2345E+10", Outcome.REJECTED, Reason.LOST_PRECISION_ID, None),
        ("1e10", Outcome.REJECTED, Reason.LOST_PRECISION_ID, None),
    ],
)
def test_record_id_apostrophe_and_lost_precision(
    cell: str, outcome: Outcome | None, reason: str, vid: int | None
) -> None:
    (row,) = rows_of(f"Email,Record ID,Join Time\njane@example.com,{cell},2024-11-05T10:00:00Z\n")
    assert (row.outcome, row.reason, row.vid) == (outcome, reason, vid)
    if reason:
        assert "scientific notation" in row.message and "Text" in row.message


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("jos\u00e9@example.com", "jose\u0301@example.com"),  # NFC and NFD (macOS)
        ("anna@m\u00fcller.de", "anna@xn--mller-kva.de"),  # IDN and punycode
        ("Anna@M\u00dcLLER.de", "anna@xn--mller-kva.DE"),
        ("z\u00fcrich@b\u00fccher.example", "zu\u0308rich@xn--bcher-kva.example"),
    ],
)
def test_one_address_in_any_unicode_form(a: str, b: str) -> None:
    assert normalize_email(a) is not None and normalize_email(a) == normalize_email(b)


def test_day_first_decided_per_file() -> None:
    month = map_sheet(
        grid("Email,Join Time\na@example.com,11/05/2024 10:00\nb@example.com,11/29/2024 10:00\n"),
        MapOptions(timezone="UTC"),
    )
    assert month.info.date_order == "month-first"
    assert table_to_rows(month.table)[0].when_ms == ms("2024-11-05T10:00:00Z")
    day = map_sheet(
        grid("Email,Join Time\na@example.com,11/05/2024 10:00\nb@example.com,29/11/2024 10:00\n"),
        MapOptions(timezone="UTC"),
    )
    assert day.info.date_order == "day-first"
    assert table_to_rows(day.table)[0].when_ms == ms("2024-05-11T10:00:00Z")


def test_undecidable_order_defaults_and_says_so() -> None:
    english = map_sheet(grid("Email,Join Time\na@example.com,11/05/2024 10:00\n"), MapOptions(timezone="UTC"))
    assert english.info.date_order == "month-first" and any("month-first" in n for n in english.info.notes)
    german = map_sheet(grid("E-Mail,Beitrittszeit\na@example.com,11/05/2024 10:00\n"), MapOptions(timezone="UTC"))
    assert german.info.date_order == "day-first" and table_to_rows(german.table)[0].when_ms == ms(
        "2024-05-11T10:00:00Z"
    )
    forced = map_sheet(
        grid("Email,Join Time\na@example.com,11/05/2024 10:00\n"), MapOptions(timezone="UTC", day_first=True)
    )
    assert forced.info.date_order == "day-first" and not any("month-first" in n for n in forced.info.notes)


def test_mixed_orders_are_an_input_error() -> None:
    text = "Email,Join Time\na@example.com,13/11/2024 10:00\nb@example.com,11/13/2024 10:00\n"
    with pytest.raises(InputError, match="mixes day-first and month-first"):
        map_sheet(grid(text), MapOptions(timezone="UTC"))
    forced = map_sheet(grid(text), MapOptions(timezone="UTC", day_first=True))
    assert [r.reason for r in table_to_rows(forced.table)] == ["", Reason.BAD_TIME]


def test_no_timezone_error_only_when_needed() -> None:
    with pytest.raises(InputError) as err:
        map_sheet(grid('Email,Join Time\na@example.com,"Nov 5, 2024 10:58:03"\n', file="z.csv"), MapOptions())
    assert str(err.value).startswith(
        "z.csv has times without a time zone (e.g. 'Nov 5, 2024 10:58:03'); "
        "pass --timezone, e.g. --timezone America/New_York"
    )
    # the naive time belongs to a row that is not sent (bad email): no zone needed
    rows = rows_of('Email,Join Time\nbad@@example.com,"Nov 5, 2024 10:58:03"\nok@example.com,2024-11-05T10:00:00Z\n')
    assert [r.outcome for r in rows] == [Outcome.REJECTED, None]
    # an attendee's registration time is sent too (its own participation), so it needs the zone
    with pytest.raises(InputError, match="'2024-11-01 09:00'"):
        rows_of("Email,Attended,Join Time,Registration Time\na@example.com,Yes,2024-11-05T10:00:00Z,2024-11-01 09:00\n")
    # ... but not a no-show's join time, which is never sent
    rows = rows_of("Email,Attended,Join Time,Registration Time\na@example.com,No,2024-11-05 10:00,2024-11-01T09:00Z\n")
    assert (rows[0].state, rows[0].when_ms, rows[0].also) == (State.REGISTER, ms("2024-11-01T09:00:00Z"), None)


def test_odd_years_are_noted() -> None:
    m = map_sheet(
        grid("Email,Join Time\na@example.com,1999-01-01T00:00:00Z\nb@example.com,2030-01-01T00:00:00Z\n"),
        MapOptions(now_ms=NOW),
    )
    assert all(r.outcome is None for r in table_to_rows(m.table))
    assert any("before 2000 or more than a day in the future (rows 2, 3)" in n for n in m.info.notes)


# --- states ---------------------------------------------------------------------------------------


def test_auto_state_from_attended_column() -> None:
    text = (
        "Email,Attended,Registration Time,Join Time\n"
        "a@example.com,Yes,2024-11-01T09:00:00Z,2024-11-05T10:00:00Z\n"
        "b@example.com,No,2024-11-02T09:00:00Z,--\n"
        "c@example.com,Ja,2024-11-02T09:00:00Z,\n"
        "d@example.com,0,,\n"
    )
    a, b, c, d = rows_of(text)
    assert (a.state, a.when_ms) == (State.ATTEND, ms("2024-11-05T10:00:00Z"))
    assert (b.state, b.when_ms) == (State.REGISTER, ms("2024-11-02T09:00:00Z"))
    assert (c.state, c.when_ms) == (State.ATTEND, None)
    assert (d.state, d.when_ms) == (State.REGISTER, None)


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("Sí", State.ATTEND),
        ("Oui", State.ATTEND),
        ("Nein", State.REGISTER),
        ("N", State.REGISTER),
        ("true", State.ATTEND),
    ],
)
def test_attended_words(word: str, state: State) -> None:
    (row,) = rows_of(f"Email,Attended\na@example.com,{word}\n")
    assert row.state == state


def test_a_join_time_means_attend_and_a_row_without_one_is_undecided() -> None:
    a, b = rows_of("Email,Join Time\na@example.com,2024-11-05T10:00:00Z\nb@example.com,\n")
    assert (a.state, a.when_ms, a.outcome) == (State.ATTEND, ms("2024-11-05T10:00:00Z"), None)
    assert (b.state, b.when_ms, b.outcome) == (None, None, None)


def test_forced_state_uses_its_time_and_keeps_skips() -> None:
    text = (
        "Email,Status,Registration Time,Join Time\n"
        "a@example.com,approved,2024-11-01T09:00:00Z,2024-11-05T10:00:00Z\n"
        "b@example.com,denied,2024-11-01T09:00:00Z,\n"
    )
    a, b = rows_of(text, state="register")
    assert (a.state, a.when_ms) == (State.REGISTER, ms("2024-11-01T09:00:00Z"))
    assert (b.outcome, b.reason) == (Outcome.SKIPPED, Reason.DENIED)
    (c, _) = rows_of(text, state="cancel")
    assert (c.state, c.when_ms) == (State.CANCEL, None)  # never the registration time: the event's start
    assert a.also is None and c.also is None  # a forced state is one participation per row
    (d, _) = rows_of(text.replace("Join Time", "Other"), state="attend")
    assert (d.state, d.when_ms) == (State.ATTEND, None)


def test_an_attendee_or_a_cancellation_with_a_registration_time_also_registers() -> None:
    text = (
        "Email,Attendee Status,Order Date,Check-in Time\n"
        "a@example.com,Checked In,2024-11-01T09:00:00Z,2024-11-05T10:00:00Z\n"
        "b@example.com,Attending,2024-11-02T09:00:00Z,\n"
        "c@example.com,Refunded,2024-11-03T09:00:00Z,\n"
        "d@example.com,Checked In,,2024-11-05T10:01:00Z\n"
        "e@example.com,Checked In,yesterday-ish,2024-11-05T10:02:00Z\n"
    )
    a, b, c, d, e = rows_of(text)
    assert (a.state, a.when_ms, a.also) == (
        State.ATTEND,
        ms("2024-11-05T10:00:00Z"),
        Also(State.REGISTER, ms("2024-11-01T09:00:00Z")),
    )
    assert (b.state, b.when_ms, b.also) == (State.REGISTER, ms("2024-11-02T09:00:00Z"), None)
    # a cancellation: cancel at the event's start (no cancellation time), register at the order date
    assert (c.state, c.when_ms, c.also) == (State.CANCEL, None, Also(State.REGISTER, ms("2024-11-03T09:00:00Z")))
    assert (d.state, d.outcome, d.also) == (State.ATTEND, None, None)  # no registration time, no registration
    assert e.outcome is None and e.also is not None  # a bad registration time rejects only the registration
    assert (e.also.state, e.also.outcome, e.also.reason) == (State.REGISTER, Outcome.REJECTED, Reason.BAD_TIME)
    assert "'yesterday-ish' in row 6 (Order Date)" in e.also.message


def test_a_cancellation_time_is_the_cancel_time() -> None:
    text = (
        "Email,Status,Registration Date,Cancelled At\n"
        "a@example.com,cancelled,2024-11-01T09:00:00Z,2024-11-04T09:00:00Z\n"
    )
    (a,) = rows_of(text)
    assert (a.state, a.when_ms) == (State.CANCEL, ms("2024-11-04T09:00:00Z"))
    assert a.also == Also(State.REGISTER, ms("2024-11-01T09:00:00Z"))


def test_status_words() -> None:
    text = (
        "Email,Status\na@example.com,Cancelled\nb@example.com,waitlist\n"
        "c@example.com,Attended\nd@example.com,registered\n"
    )
    a, b, c, d = rows_of(text)
    assert a.state == State.CANCEL and a.outcome is None
    assert (b.outcome, b.reason) == (Outcome.SKIPPED, Reason.NOT_APPROVED) and "'waitlist'" in b.message
    assert c.state == State.ATTEND and d.state == State.REGISTER


def test_duplicates_are_kept_for_the_lead() -> None:
    rows = rows_of("Email,Join Time\nA@example.com,2024-11-05T10:00:00Z\na@example.com,2024-11-05T11:00:00Z\n")
    assert [r.email for r in rows] == ["a@example.com", "a@example.com"] and all(r.outcome is None for r in rows)


# --- robustness -----------------------------------------------------------------------------------

_cell = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=30)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cells=st.lists(
        st.tuples(_cell, _cell, _cell, st.sampled_from(["Yes", "No", "", "maybe"])), min_size=1, max_size=15
    ),
    zone=st.sampled_from([None, "Europe/Berlin"]),
    state=st.sampled_from(["auto", "register", "attend", "cancel"]),
)
def test_random_tables_account_for_every_row(
    cells: list[tuple[str, str, str, str]], zone: str | None, state: str
) -> None:
    """Whatever the cells hold, only InputError escapes, and each data row maps to exactly one Row."""
    lines = [["Report"], ["Email", "Join Time", "Registration Time", "Attended"], *[list(c) for c in cells]]
    out = io.StringIO()
    csv.writer(out).writerows(lines)
    sheet = grid(out.getvalue())
    data = [int(n) for n in sheet.row_numbers[2:]]
    try:
        m = map_sheet(sheet, MapOptions(timezone=zone, state=state, now_ms=NOW))
    except InputError:
        return
    got = [r.ref.row for r in table_to_rows(m.table)]
    assert sorted(got) == sorted(set(got)) and set(got) <= set(data)
    keys = {norm_header(a) for f in ("email", "vid") for a, _ in ALIASES[f]}
    for number in set(data) - set(got):  # only repeated headers and separator lines are left out
        line = [str(c) for c in sheet.frame.iloc[int(np.flatnonzero(sheet.row_numbers == number)[0])]]
        assert all(re.fullmatch(r"[-=_*~#.|+\s]*", c) for c in line) or any(norm_header(c) in keys for c in line)
    assert m.info.data_rows == len(table_to_rows(m.table))
    assert sum(r.outcome is None and r.state is None for r in table_to_rows(m.table)) == m.info.undecided
    for r in table_to_rows(m.table):
        assert (r.outcome is None) == (r.reason == "") and (r.state is None or type(r.state) is State)
        if r.outcome is None:
            assert r.email is not None or r.vid is not None
