"""Waits: what a Retry-After header may ask for, how waits read to a person, and interrupts."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from importer.errors import StopRun
from importer.hubspot_answers import classify
from importer.hubspot_retry import penalty
from importer.models import Reason
from importer.waits import LONGEST_WAIT_S, Waits, human, resume_at, retry_after

DATE = "Tue, 01 Dec 2026 20:00:00 GMT"


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "3600"}, 3600.0),
        ({"retry-after": " 86400 "}, 86400.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "1e300"}, LONGEST_WAIT_S),
        ({"retry-after": "1e999"}, LONGEST_WAIT_S),
        ({"retry-after": "inf"}, LONGEST_WAIT_S),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "-5"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": ""}, None),
        ({}, None),
        ({"retry-after": "Tue, 01 Dec 2026 20:02:00 GMT", "date": DATE}, 120.0),
        ({"retry-after": "Tue, 01 Dec 2026 19:00:00 GMT", "date": DATE}, 0.0),
        ({"retry-after": "Tue, 01 Dec 2026 20:02:00 GMT"}, None),
        ({"retry-after": "Fri, 31 Dec 9999 23:59:59 GMT", "date": DATE}, LONGEST_WAIT_S),
        ({"retry-after": "Mon, 99 Foo 2026 99:99:99 GMT", "date": DATE}, None),
    ],
)
def test_retry_after_reads_seconds_and_dates_and_never_more_than_a_year(
    headers: dict[str, str], seconds: float | None
) -> None:
    assert retry_after(headers) == seconds


@given(st.text(max_size=40), st.text(max_size=40))
def test_no_retry_after_header_breaks_parsing(value: str, date: str) -> None:
    seconds = retry_after({"retry-after": value, "date": date})
    assert seconds is None or 0 <= seconds <= LONGEST_WAIT_S


@pytest.mark.parametrize("value", ["1e300", "1e999", "inf", "99999999999999999999999999"])
def test_a_429_with_an_absurd_retry_after_is_classified_without_overflow(value: str) -> None:
    verdict = classify(429, {"Retry-After": value}, {"policyName": "TEN_SECONDLY_ROLLING"})
    assert verdict.reason == Reason.HTTP_429 and verdict.wait_s == LONGEST_WAIT_S
    assert resume_at(datetime(2026, 12, 1, tzinfo=UTC), verdict.wait_s).startswith("2027-12-0")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (45, "45 s"),
        (300, "5 min"),
        (3600, "1.0 h"),
        (86400, "24.0 h"),
        (5 * 86400, "5 days"),
        (1e300, "more than a year"),
    ],
)
def test_waits_read_as_a_person_says_them(seconds: float, text: str) -> None:
    assert human(seconds) == text


def test_resume_time_rounds_up_to_the_next_minute() -> None:
    assert resume_at(datetime(2026, 12, 1, 20, 0, 30, tzinfo=UTC), 3600) == "2026-12-01 21:01 UTC"


def test_an_interrupt_ends_a_real_wait_in_another_thread_at_once() -> None:
    waits = Waits()
    ended: list[BaseException] = []

    def wait_an_hour() -> None:
        try:
            waits.sleep(3600)
        except StopRun as exc:
            ended.append(exc)

    worker = threading.Thread(target=wait_an_hour)
    began = time.monotonic()
    worker.start()
    waits.interrupt()
    worker.join(timeout=5)
    assert not worker.is_alive() and time.monotonic() - began < 2
    assert ended and isinstance(ended[0], StopRun) and ended[0].reason == Reason.INTERRUPTED


def test_after_an_interrupt_no_injected_wait_starts() -> None:
    slept: list[float] = []
    waits = Waits(slept.append)
    waits.sleep(2)
    waits.interrupt()
    with pytest.raises(StopRun):
        waits.sleep(5)
    assert slept == [2] and waits.interrupted


def test_an_absurd_wait_given_to_a_waits_is_clamped() -> None:
    slept: list[float] = []
    Waits(slept.append).sleep(1e300)
    assert slept == [LONGEST_WAIT_S]


@pytest.mark.parametrize(
    ("headers", "held"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"Retry-After": "3", "X-HubSpot-RateLimit-Remaining": "0"}, 3.0),
        ({"X-HubSpot-RateLimit-Remaining": "0", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, 0.0),
        ({}, 10.0),
    ],
)
def test_a_429_holds_everybody_back_only_when_it_asks_or_says_nothing_of_the_window(
    headers: dict[str, str], held: float
) -> None:
    verdict = classify(429, headers, {"policyName": "TEN_SECONDLY_ROLLING"})
    assert penalty(verdict, httpx.Headers(headers)) == held
