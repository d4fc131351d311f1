"""The date path against the standard library: every written form of a time reads back as the
instant ``datetime`` and ``zoneinfo`` say it is, and the limits (month 12/13, day 31/32, leap days,
January-March, the two-digit-year pivot, offsets such as UTC+5:30) are pinned one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_mapper import NOW, grid, ms

from importer.errors import InputError
from importer.mapper import MapOptions, map_sheet
from importer.mapper_times import (
    AWARE,
    BAD,
    EMPTY,
    NAIVE,
    Order,
    date_order,
    header_zone,
    localize,
    reject_gaps,
    resolve_times,
    scan_times,
    with_header_zone,
    zone_minutes,
)

EPOCH = datetime(1970, 1, 1)


def wall_ms(when: datetime) -> int:
    """Milliseconds of a naive wall-clock time read as if it were UTC (how the scan keeps them)."""
    return (when - EPOCH) // timedelta(milliseconds=1)


def read(*texts: str, day_first: bool = False) -> tuple[list[int], list[int]]:
    """Kinds and ms of the texts, read as the mapper reads a file's distinct times."""
    scan = scan_times(pa.array(texts, type=pa.string()))
    resolve_times(scan, day_first)
    return scan.kind.tolist(), scan.ms.tolist()


#: How exports write a time: (strftime format, is it day-first, does it keep seconds).
FORMATS = [
    ("%Y-%m-%d %H:%M:%S", False, True),
    ("%Y-%m-%dT%H:%M:%S", False, True),
    ("%Y/%m/%d %H:%M", False, False),
    ("%m/%d/%Y %I:%M:%S %p", False, True),
    ("%m/%d/%Y %H:%M", False, False),
    ("%d/%m/%Y %H:%M:%S", True, True),
    ("%d.%m.%Y %H:%M", True, False),
    ("%d-%m-%Y %H:%M", True, False),
    ("%b %d, %Y %I:%M %p", False, False),
    ("%B %d, %Y %H:%M:%S", False, True),
    ("%d %b %Y %H:%M", False, False),
    ("%A, %d %B %Y %H:%M", False, False),
]

dates = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2199, 12, 31, 23, 59, 59))


@given(when=dates, form=st.sampled_from(FORMATS))
@settings(max_examples=300, deadline=None)
def test_a_written_wall_clock_time_reads_as_datetime_says(when: datetime, form: tuple[str, bool, bool]) -> None:
    fmt, day_first, seconds = form
    when = when.replace(microsecond=0, second=when.second if seconds else 0)
    kinds, got = read(when.strftime(fmt), day_first=day_first)
    assert (kinds[0], got[0]) == (NAIVE, wall_ms(when))


@given(when=dates, millis=st.integers(0, 999), sep=st.sampled_from([".", ","]))
@settings(max_examples=100, deadline=None)
def test_fractions_of_a_second_are_kept_to_the_millisecond(when: datetime, millis: int, sep: str) -> None:
    when = when.replace(microsecond=millis * 1000)
    kinds, got = read(f"{when:%m/%d/%Y %H:%M:%S}{sep}{millis:03d}987")
    assert (kinds[0], got[0]) == (NAIVE, wall_ms(when))


offsets = st.integers(-14 * 60, 14 * 60)


def written_offset(minutes: int, style: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return [
        f"{sign}{h:02d}:{m:02d}",
        f"{sign}{h:02d}{m:02d}",
        f"UTC{sign}{h}:{m:02d}",
        f"GMT{sign}{h:02d}{m:02d}",
        f"(UTC{sign}{h:02d}:{m:02d})",
    ][style]


@given(when=dates, minutes=offsets, style=st.integers(0, 4), form=st.sampled_from(FORMATS[:5]))
@settings(max_examples=300, deadline=None)
def test_an_offset_gives_the_utc_instant_timezone_says(
    when: datetime, minutes: int, style: int, form: tuple[str, bool, bool]
) -> None:
    fmt, day_first, seconds = form
    when = when.replace(microsecond=0, second=when.second if seconds else 0)
    text = f"{when.strftime(fmt)} {written_offset(minutes, style)}"
    kinds, got = read(text, day_first=day_first)
    instant = when.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    assert (kinds[0], got[0]) == (AWARE, (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1))


@given(
    sign=st.sampled_from("+-"),
    hours=st.integers(0, 14),
    minutes=st.integers(0, 59),
    prefix=st.sampled_from(["", "UTC", "GMT", "utc "]),
)
def test_zone_minutes_of_any_offset(sign: str, hours: int, minutes: int, prefix: str) -> None:
    expected = timedelta(hours=hours, minutes=minutes) * (1 if sign == "+" else -1) // timedelta(minutes=1)
    assert zone_minutes(f"{prefix}{sign}{hours:02d}:{minutes:02d}") == expected
    assert zone_minutes(f"{prefix}{sign}{hours}{minutes:02d}") == expected if hours >= 10 else True


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("UTC+5:30", 330),
        ("UTC+05:30", 330),
        ("GMT+0530", 330),
        ("+05:30", 330),
        ("-03:30", -210),
        ("UTC-3", -180),
        ("GMT+14", 840),
        ("UTC-12", -720),
        ("UTC+0", 0),
        ("Z", 0),
        ("utc", 0),
        ("IST", 60),
        ("NST", -210),
        ("ACST", 570),
        ("UTC+15", None),
        ("+05:60", None),
        ("UTC+5:3", None),
        ("XYZ", None),
        ("", None),
    ],
)
def test_zone_minutes(text: str, minutes: int | None) -> None:
    assert zone_minutes(text) == minutes


@pytest.mark.parametrize(
    ("text", "kind", "wall"),
    [
        # January-March: the months a civil-date algorithm shifts into the year before
        ("2024-01-01 00:00", NAIVE, datetime(2024, 1, 1)),
        ("2024-01-31 23:59", NAIVE, datetime(2024, 1, 31, 23, 59)),
        ("2024-02-29 12:00", NAIVE, datetime(2024, 2, 29, 12)),
        ("2023-02-29 12:00", BAD, None),
        ("2024-02-30 12:00", BAD, None),
        ("2024-03-01 00:00", NAIVE, datetime(2024, 3, 1)),
        ("2023-03-01 00:00", NAIVE, datetime(2023, 3, 1)),
        ("2000-02-29 00:00", NAIVE, datetime(2000, 2, 29)),
        ("2100-02-29 00:00", BAD, None),
        ("2100-03-01 00:00", NAIVE, datetime(2100, 3, 1)),
        ("1900-03-01 00:00", NAIVE, datetime(1900, 3, 1)),
        ("1900-02-29 00:00", BAD, None),
        ("12/31/1899 23:59", BAD, None),  # written dates before 1900 or after 2200 are no dates
        ("12/31/2200 23:59", NAIVE, datetime(2200, 12, 31, 23, 59)),
        ("1/1/2201 00:00", BAD, None),
        ("1899-12-31 23:59", BAD, None),  # nor in ISO form (pandas would read any year)
        ("1899-12-31T23:59:00Z", BAD, None),
        ("0100-01-02 10:00", BAD, None),
        ("2201-01-01", BAD, None),
        ("1900-01-01", NAIVE, datetime(1900, 1, 1)),
        ("1/1/1900 00:00", NAIVE, datetime(1900, 1, 1)),  # the first day, in the other forms too
        ("Jan 1, 1900 00:00", NAIVE, datetime(1900, 1, 1)),
        ("1/2/0099 10:00", BAD, None),  # four digits are the year as written, not a two-digit one
        ("1/2/0100 10:00", BAD, None),
        # month 12/13 and day 31/32
        ("12/31/2024 10:00", NAIVE, datetime(2024, 12, 31, 10)),
        ("13/31/2024 10:00", BAD, None),
        ("12/32/2024 10:00", BAD, None),
        ("4/31/2024 10:00", BAD, None),
        ("4/30/2024 10:00", NAIVE, datetime(2024, 4, 30, 10)),
        ("1/31/2024 10:00", NAIVE, datetime(2024, 1, 31, 10)),
        ("0/15/2024 10:00", BAD, None),
        ("1/0/2024 10:00", BAD, None),
        ("Jan 31, 2024 10:00", NAIVE, datetime(2024, 1, 31, 10)),
        ("Feb 29, 2023 10:00", BAD, None),
        ("Dec 32, 2024 10:00", BAD, None),
        ("31 Dec 2024 10:00", NAIVE, datetime(2024, 12, 31, 10)),
        ("Foo 3, 2024 10:00", BAD, None),
        # the clock
        ("2024-11-05 23:59:59", NAIVE, datetime(2024, 11, 5, 23, 59, 59)),
        ("11/05/2024 24:00", BAD, None),
        ("11/05/2024 10:60", BAD, None),
        ("11/05/2024 10:59:60", BAD, None),
        ("11/05/2024 12:00 AM", NAIVE, datetime(2024, 11, 5, 0)),
        ("11/05/2024 12:30 PM", NAIVE, datetime(2024, 11, 5, 12, 30)),
        ("11/05/2024 1:00 PM", NAIVE, datetime(2024, 11, 5, 13)),
        ("11/05/2024 11:59 p.m.", NAIVE, datetime(2024, 11, 5, 23, 59)),
        ("11/05/2024 13:00 PM", BAD, None),
        ("11/05/2024 0:30 AM", BAD, None),
        ("11/05/2024", NAIVE, datetime(2024, 11, 5)),
        # the two-digit-year pivot: below 70 is 20xx
        ("1/2/00 10:00", NAIVE, datetime(2000, 1, 2, 10)),
        ("1/2/69 10:00", NAIVE, datetime(2069, 1, 2, 10)),
        ("1/2/70 10:00", NAIVE, datetime(1970, 1, 2, 10)),
        ("1/2/99 10:00", NAIVE, datetime(1999, 1, 2, 10)),
        # Excel serials (1900 system, day 1 is 1900-01-01)
        ("25569", NAIVE, datetime(1970, 1, 1)),
        ("45600.75", NAIVE, datetime(2024, 11, 4, 18)),
        ("10000", NAIVE, datetime(1927, 5, 18)),  # five digits: 1927 to 2173
        ("99999", NAIVE, datetime(2173, 10, 13)),
        ("100000", BAD, None),
        ("00000", BAD, None),
        # no time at all
        ("", EMPTY, None),
        ("n/a", EMPTY, None),
        ("—", EMPTY, None),
    ],
)
def test_the_limits_of_a_date(text: str, kind: int, wall: datetime | None) -> None:
    kinds, got = read(text)
    assert kinds[0] == kind
    if wall is not None:
        assert got[0] == wall_ms(wall)


def test_excel_serials_and_written_dates_in_one_file_are_each_read() -> None:
    """A column Excel saved with some cells as serial numbers and others typed as text: each is
    read by its own rule, the text with its zone too."""
    kinds, got = read("45600.75", "11/05/2024 10:00", "Nov 5, 2024 10:00 CET")
    assert kinds == [NAIVE, NAIVE, AWARE]
    walls = [datetime(2024, 11, 4, 18), datetime(2024, 11, 5, 10), datetime(2024, 11, 5, 9)]
    assert got == [wall_ms(wall) for wall in walls]


def test_day_first_is_applied_to_numeric_dates_only() -> None:
    kinds, got = read("05/11/2024 10:00", "Nov 5, 2024 10:00", "2024-11-05 10:00", day_first=True)
    assert kinds == [NAIVE] * 3
    assert got == [wall_ms(datetime(2024, 11, 5, 10))] * 3


@pytest.mark.parametrize(
    ("texts", "forced", "day_first", "guessed"),
    [
        (["12/13/2024"], None, False, False),  # 13 can only be a day: month first
        (["13/12/2024"], None, True, False),
        (["31/01/2024", "01/02/2024"], None, True, False),
        (["01/31/2024", "02/01/2024"], None, False, False),
        (["12/12/2024"], None, False, False),  # the same either way: nothing to guess
        (["11/12/2024"], None, False, True),  # open: month-first, said in a note
        (["11.12.2024"], None, True, True),  # dots are day-first
        (["32/01/2024", "11/12/2024"], None, False, True),  # 32 is no day: it says nothing
        (["11/12/2024"], True, True, False),
        (["2024-11-12"], None, None, False),  # no numeric dates
        (["13/13/2024"], None, False, False),  # 13 twice: neither a month, nothing to guess
        (["13/14/2024"], None, False, True),  # no month at all: says neither order
        (["01/32/2024"], None, False, True),  # 32 is no day either
        (["01/02/2024"], None, False, True),  # the smallest open pair
        (["0/5/2024"], None, False, False),  # a zero is numeric, but no open pair
    ],
)
def test_the_date_order_of_a_file(texts: list[str], forced: bool | None, day_first: bool | None, guessed: bool) -> None:
    scan = scan_times(pa.array(texts, type=pa.string()))
    order = date_order(scan, forced, "f.csv", False, "")
    assert order.day_first is day_first
    assert bool(order.note) is guessed


def test_a_file_that_says_both_orders_is_an_input_error() -> None:
    scan = scan_times(pa.array(["13/01/2024", "01/13/2024"], type=pa.string()))
    with pytest.raises(InputError, match="mixes day-first and month-first"):
        date_order(scan, None, "f.csv", False, "")


ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe", "America/Sao_Paulo", "UTC"]


@given(
    wall=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1)),
    name=st.sampled_from(ZONES),
)
@settings(max_examples=300, deadline=None)
def test_a_wall_clock_time_in_a_zone_is_the_instant_zoneinfo_says(wall: datetime, name: str) -> None:
    zone = ZoneInfo(name)
    wall = wall.replace(microsecond=0)
    exists = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall
    scan = scan_times(pa.array([f"{wall:%Y-%m-%d %H:%M:%S}"], type=pa.string()))
    reject_gaps(scan, zone, name)
    if not exists:  # the spring-forward gap: no instant is sent
        assert scan.kind[0] == BAD and "spring-forward gap" in scan.why[0]
        return
    assert scan.kind[0] == NAIVE
    utc, _ = localize(np.array([wall_ms(wall)], dtype=np.int64), zone)
    first = wall.replace(tzinfo=zone, fold=0)  # a repeated hour: the first of the two
    assert int(utc[0]) == (first - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def test_a_time_in_the_gap_is_moved_forward_and_one_in_the_fold_takes_summer_time() -> None:
    zone = ZoneInfo("Europe/Berlin")
    walls = np.array([wall_ms(datetime(2024, 3, 31, 2, 30)), wall_ms(datetime(2024, 10, 27, 2, 30))], dtype=np.int64)
    utc, special = localize(walls, zone)
    assert utc.tolist() == [
        (datetime(2024, 3, 31, 1, 0, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1),
        (datetime(2024, 10, 27, 0, 30, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1),
    ]
    assert special.tolist() == [True, True]


# --- The edges mutation testing found untested (mutmut): which cells take the zone a header names.


@pytest.mark.parametrize(
    ("cell", "read"),
    [
        ("2024-11-05 10:00", "2024-11-05 10:00 GMT+2"),  # no zone of its own: the header's
        ("11/05/2024 10:00 AM", "11/05/2024 10:00 AM GMT+2"),  # AM is no zone
        ("11/05/2024 10:00 pm", "11/05/2024 10:00 pm GMT+2"),
        ("05.11.2024 10:00 Uhr", "05.11.2024 10:00 Uhr GMT+2"),  # nor is the German o'clock
        ("05.11.2024 10:00 Uhr MEZ", "05.11.2024 10:00 Uhr MEZ"),
        ("2024-11-05 10:00 XYZ", "2024-11-05 10:00 XYZ"),  # a zone not known is its own: reported so
        ("2024-11-05 10:00 EST", "2024-11-05 10:00 EST"),  # its own zone wins
        ("2024-11-05T10:00Z", "2024-11-05T10:00Z"),
        ("2024-11-05T10:00z", "2024-11-05T10:00z"),
        ("2024-11-05 10:00+01:00", "2024-11-05 10:00+01:00"),
        ("2024-11-05 10:00 -0300", "2024-11-05 10:00 -0300"),
        ("2024-11-05 10:00 UTC-5", "2024-11-05 10:00 UTC-5"),
        ("2024-11-05 10:00 (UTC+5:30)", "2024-11-05 10:00 (UTC+5:30)"),
        ("2024-11-05 10:00 CEST  ", "2024-11-05 10:00 CEST  "),
        ("45600.5", "45600.5"),  # an Excel serial is no wall-clock text
        (" 45600 ", " 45600 "),
        ("", ""),
        ("   ", "   "),
    ],
)
def test_which_cells_take_the_zone_their_header_names(cell: str, read: str) -> None:
    assert with_header_zone(pd.Series([cell], dtype="string[pyarrow]"), "GMT+2").tolist() == [read]


def test_a_missing_cell_stays_missing_under_a_header_zone() -> None:
    got = with_header_zone(pd.Series(["10:00", None], dtype="string[pyarrow]"), "UTC")
    assert got.tolist()[0] == "10:00 UTC" and got.isna().tolist() == [False, True]


def test_a_header_zone_applies_to_twelve_hour_times() -> None:
    """'Join Time (GMT+2)' with '10:00 AM' cells: the header's zone, as its note says, not --timezone
    (mutation testing found AM read as the cell's own zone, so the header's was dropped)."""
    text = (
        "Email,Join Time (GMT+2)\n"
        "a@example.com,11/05/2024 10:00 AM\n"
        "b@example.com,11/05/2024 10:00 PM EST\n"
        "c@example.com,11/05/2024 10:00\n"
    )
    m = map_sheet(grid(text), MapOptions(timezone="America/New_York", now_ms=NOW))
    assert m.table.column("when_ms").to_pylist() == [
        ms("2024-11-05T08:00:00Z"),
        ms("2024-11-06T03:00:00Z"),
        ms("2024-11-05T08:00:00Z"),
    ]
    assert any("read as GMT+2" in n for n in m.info.notes)


@pytest.mark.parametrize(
    ("text", "kind", "wall"),
    [
        ("05.11.2024 10:00 Uhr", NAIVE, wall_ms(datetime(2024, 11, 5, 10))),
        ("05.11.2024 10:00Uhr", NAIVE, wall_ms(datetime(2024, 11, 5, 10))),
        ("5. November 2024 um 10:00 Uhr", NAIVE, wall_ms(datetime(2024, 11, 5, 10))),
        ("05.11.2024 10:00 Uhr MEZ", AWARE, wall_ms(datetime(2024, 11, 5, 9))),
        ("05.11.2024 10:00 UHR (UTC+01:00)", AWARE, wall_ms(datetime(2024, 11, 5, 9))),
    ],
)
def test_the_german_o_clock_is_read_with_or_without_a_zone_after_it(text: str, kind: int, wall: int) -> None:
    assert read(text, day_first=True) == ([kind], [wall])


NOTE = (
    "dates such as {example} could be day-first or month-first; read them as {order} ({why}); "
    "use --day-first or --month-first if that is wrong"
)


@pytest.mark.parametrize(
    ("texts", "headers", "platform", "example", "order", "why"),
    [
        (["02/01/2024"], False, "", "'02/01/2024'", "month-first", "nothing in the file decides it"),
        (["1/12/2024", "2/3/2024"], False, "Zoom", "'1/12/2024'", "month-first", "usual for Zoom exports"),
        (["12/12/2024", "11/12/2024"], True, "Zoom", "'11/12/2024'", "day-first", "the headers are not English"),
        (
            ["11.12.2024", "1.2.2024"],
            False,
            "Zoom",
            "'11.12.2024'",
            "day-first",
            "dates written with dots are day-first",
        ),
        (["11.12.2024", "1/2/2024"], False, "", "'11.12.2024'", "month-first", "nothing in the file decides it"),
    ],
)
def test_the_note_of_a_guessed_date_order(
    texts: list[str], headers: bool, platform: str, example: str, order: str, why: str
) -> None:
    got = date_order(scan_times(pa.array(texts, type=pa.string())), None, "f.csv", headers, platform)
    assert got.note == NOTE.format(example=example, order=order, why=why)
    assert got.words == order


def test_the_words_of_an_order_and_of_none() -> None:
    assert [Order(True).words, Order(False).words, Order(None).words] == ["day-first", "month-first", None]


def test_a_file_that_says_both_orders_names_both_and_the_way_out() -> None:
    scan = scan_times(pa.array(["01/13/2024", "02/02/2024", "13/01/2024"], type=pa.string()))
    with pytest.raises(InputError) as caught:
        date_order(scan, None, "f.csv", False, "")
    assert caught.value.message == "f.csv mixes day-first and month-first dates (e.g. '13/01/2024' and '01/13/2024')."
    assert caught.value.hint == (
        "Make the dates consistent in the file, or say which order is right: --day-first or --month-first."
    )


@pytest.mark.parametrize(
    ("header", "bare", "zone"),
    [
        ("Join Time (UTC)", "Join Time", "UTC"),
        ("Time utc", "Time", "UTC"),
        ("Join Time [utc]", "Join Time", "UTC"),
        ("Time (UTC +  5:30)", "Time", "UTC+5:30"),  # spaces inside the offset dropped
        ("Start(GMT+14)", "Start", "GMT+14"),
        ("Start GMT-3 ", "Start", "GMT-3"),
        ("Start (GMT+15)", "Start (GMT+15)", None),  # past any zone's offset
        ("Start (UTC+05:60)", "Start (UTC+05:60)", None),
        ("(UTC)", "(UTC)", None),  # only a zone: no column named
        ("Join Time", "Join Time", None),
    ],
)
def test_the_zone_a_header_names(header: str, bare: str, zone: str | None) -> None:
    assert header_zone(header) == (bare, zone)


@pytest.mark.parametrize(
    ("text", "wall"),
    [
        ("00001", datetime(1899, 12, 31)),  # Excel's day 1 (its phantom 29 February 1900 is behind it)
        ("00001.5", datetime(1899, 12, 31, 12)),
        ("11/05/2024 10:00:00.5", datetime(2024, 11, 5, 10, 0, 0, 500_000)),  # a tenth is 100 ms
        ("11/05/2024 10:00:00,05", datetime(2024, 11, 5, 10, 0, 0, 50_000)),
        ("11/05/2024\u00a010:00", datetime(2024, 11, 5, 10)),  # the spaces spreadsheets and locales write
        ("11/05/2024\u2009\u200710:00\u202fPM", datetime(2024, 11, 5, 22)),
    ],
)
def test_short_fractions_day_one_and_odd_spaces(text: str, wall: datetime) -> None:
    assert read(text) == ([NAIVE], [wall_ms(wall)])


def test_what_is_wrong_with_an_unknown_zone_and_a_time_in_the_gap() -> None:
    scan = scan_times(pa.array(["11/05/2024 10:00 XYZ", "2024-03-10 02:15:30", "2024-03-10 03:00"], type=pa.string()))
    resolve_times(scan, False)
    reject_gaps(scan, ZoneInfo("America/New_York"), "New York")
    assert scan.kind.tolist() == [BAD, BAD, NAIVE]
    assert scan.why == {
        0: "has a time zone abbreviation that is not known ('XYZ')",
        1: "does not exist in New York: on 2024-03-10 the clocks jumped from 02:00 to 03:00 (the spring-forward gap), "
        "so which moment was meant is unknown",
    }


def test_iso_texts_with_different_offsets_in_one_file_are_each_their_own_instant() -> None:
    texts = ("2024-11-05T10:00:00+01:00", "2024-11-05T10:00:00-05:00", "2024-11-05T10:00:00Z")
    assert read(*texts) == (
        [AWARE] * 3,
        [wall_ms(datetime(2024, 11, 5, 9)), wall_ms(datetime(2024, 11, 5, 15)), wall_ms(datetime(2024, 11, 5, 10))],
    )
