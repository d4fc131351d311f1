"""--timezone names: IANA zones and explicit fixed offsets; abbreviations refused naming the zones meant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from row_objects import table_to_rows
from test_mapper import NOW, grid

from importer.cli import main
from importer.errors import InputError
from importer.mapper import MapOptions, map_sheet
from importer.mapper_times import zone_minutes
from importer.zones import parse_zone


@pytest.mark.parametrize(
    ("name", "means"),
    [
        ("EST", "America/New_York"),
        ("est", "America/New_York"),
        ("PST", "America/Los_Angeles"),
        ("CST", "America/Chicago"),
        ("CET", "Europe/Paris"),
        ("IST", "Asia/Kolkata"),
        ("GMT", "Europe/London"),
        ("EST5EDT", "America/New_York"),
    ],
)
def test_abbreviations_are_refused_naming_the_zones_meant(name: str, means: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_zone(name)
    assert "abbreviation" in caught.value.message and means in caught.value.hint and "UTC-05:00" in caught.value.hint


@pytest.mark.parametrize(
    ("name", "offset"),
    [("UTC-05:00", -5 * 60), ("utc+5:30", 5 * 60 + 30), ("GMT+2", 120), ("Etc/GMT+5", -5 * 60), ("UTC", 0)],
)
def test_fixed_offsets_by_explicit_name(name: str, offset: int) -> None:
    june = datetime(2024, 6, 1, 12, 0)
    assert parse_zone(name).utcoffset(june) == timedelta(minutes=offset)


@given(
    sign=st.sampled_from("+-"),
    hours=st.integers(0, 16),
    minutes=st.integers(0, 75),
    prefix=st.sampled_from(["UTC", "GMT", "utc ", "Gmt"]),
    colon=st.booleans(),
)
def test_a_zone_setting_and_a_time_cell_read_an_offset_alike(
    sign: str, hours: int, minutes: int, prefix: str, colon: bool
) -> None:
    """One offset reader: ``--timezone UTC+5:30`` and a cell's ``UTC+5:30`` mean the same minutes,
    and both refuse what is past ±14 hours or 59 minutes."""
    text = f"{prefix}{sign}{hours:02d}{':' if colon else ''}{minutes:02d}"
    cell = zone_minutes(text)
    if hours > 14 or minutes > 59:
        assert cell is None
        with pytest.raises(InputError, match="Unknown time zone"):
            parse_zone(text)
        return
    expected = (hours * 60 + minutes) * (1 if sign == "+" else -1)
    assert cell == expected
    assert parse_zone(text).utcoffset(None) == timedelta(minutes=expected)


def test_a_zone_setting_names_its_offset() -> None:
    """A bare offset is a time cell's way to write a zone, not a setting's: it is refused as a name."""
    assert zone_minutes("+05:30") == 330
    with pytest.raises(InputError, match="Unknown time zone"):
        parse_zone("+05:30")


def test_unknown_zone() -> None:
    with pytest.raises(InputError, match="Unknown time zone"):
        parse_zone("Mars/Olympus")


def test_cli_refuses_an_abbreviation_with_exit_2(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.csv"
    src.write_text("Email,Join Time\na@example.com,2024-06-05 10:00\n", encoding="utf-8")
    code = main(["run", str(src), "--event", "1", "--timezone", "EST", "--dry-run"], environ={})
    err = capsys.readouterr().err
    assert code == 2 and "America/New_York" in err and "Traceback" not in err


# --- daylight-saving changes: the date path against datetime + zoneinfo ----------------------------

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "America/Sao_Paulo", "Asia/Kolkata"]


@settings(max_examples=150, deadline=None)
@given(
    when=st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2030, 12, 31)),
    zone=st.sampled_from(ZONES),
)
def test_wall_clock_times_against_zoneinfo(when: datetime, zone: str) -> None:
    """A local time lands where zoneinfo puts it (fold=0: an autumn time read twice is the first)."""
    when = when.replace(microsecond=0)
    tz = ZoneInfo(zone)
    first = when.replace(tzinfo=tz, fold=0)
    exists = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == when
    text = f"Email,Join Time\na@example.com,{when:%Y-%m-%d %H:%M:%S}\n"
    (row,) = table_to_rows(map_sheet(grid(text), MapOptions(timezone=zone, now_ms=NOW)).table)
    if exists:
        assert row.when_ms == int(first.timestamp() * 1000), (when, zone, row.message)
    else:  # a spring-forward gap: never sent at a guessed instant
        assert (row.outcome, row.reason, row.when_ms) == ("rejected", "bad_time", None)
        assert f"does not exist in {zone}" in row.message


@pytest.mark.parametrize(
    ("zone", "wall"),
    [
        ("America/New_York", datetime(2024, 3, 10, 2, 30)),
        ("Australia/Sydney", datetime(2024, 10, 6, 2, 0)),
        ("Australia/Lord_Howe", datetime(2024, 10, 6, 2, 15)),
    ],
)
def test_gap_times_against_zoneinfo(zone: str, wall: datetime) -> None:
    """zoneinfo agrees these do not exist (a round trip changes them); the mapper rejects them."""
    tz = ZoneInfo(zone)
    assert wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall
    (row,) = table_to_rows(
        map_sheet(grid(f"Email,Join Time\na@example.com,{wall:%Y-%m-%d %H:%M}\n"), MapOptions(timezone=zone)).table
    )
    assert row.reason == "bad_time" and "spring-forward gap" in row.message
