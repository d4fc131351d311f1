"""The client-side limiter: never more starts per window than allowed, and no waiting when there is room."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.ratelimit import RateLimiter, Ticket


class FakeTime:
    """A clock that only moves when someone sleeps; remembers each thread's last reading."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()
        self.seen = threading.local()

    def clock(self) -> float:
        with self.lock:
            self.seen.value = self.now
            return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        with self.lock:
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def most_in_any_window(starts: list[float], interval: float) -> int:
    """The largest number of starts inside any half-open window (t - interval, t]."""
    ordered = sorted(starts)
    return max((sum(1 for s in ordered if t - interval < s <= t) for t in ordered), default=0)


def admit(limiter: RateLimiter, fake: FakeTime) -> float:
    """Acquire, and return the clock reading at which the limiter admitted this thread."""
    limiter.acquire()
    return float(fake.seen.value)


@settings(max_examples=60, deadline=None)
@given(
    max_requests=st.integers(1, 12),
    interval=st.sampled_from([0.5, 1.0, 2.5, 10.0]),
    gaps=st.lists(st.floats(0, 3, allow_nan=False), min_size=1, max_size=60),
)
def test_never_more_than_max_starts_in_any_window_and_no_needless_wait(
    max_requests: int, interval: float, gaps: list[float]
) -> None:
    fake = FakeTime()
    limiter = RateLimiter(max_requests, interval, clock=fake.clock, sleep=fake.sleep)
    starts: list[float] = []
    for gap in gaps:
        fake.advance(gap)
        arrival = fake.now
        room = sum(1 for s in starts if arrival - interval < s) < max_requests
        started = admit(limiter, fake)
        starts.append(started)
        if room:
            assert started == arrival
    assert most_in_any_window(starts, interval) <= max_requests


OPERATIONS = st.one_of(
    st.tuples(st.just("gap"), st.floats(0, 2, allow_nan=False)),
    st.tuples(st.just("acquire"), st.just(0.0)),
    st.tuples(st.just("release"), st.floats(0, 0.5, allow_nan=False)),
    st.tuples(st.just("update"), st.integers(0, 12).map(float)),
    st.tuples(st.just("penalize"), st.floats(0, 2, allow_nan=False)),
)


@settings(max_examples=60, deadline=None)
@given(max_requests=st.integers(1, 10), operations=st.lists(OPERATIONS, min_size=1, max_size=80))
def test_answers_and_penalties_never_let_more_starts_into_a_window(
    max_requests: int, operations: list[tuple[str, float]]
) -> None:
    fake = FakeTime()
    limiter = RateLimiter(max_requests, 1.0, clock=fake.clock, sleep=fake.sleep)
    starts: list[float] = []
    penalty_until = 0.0
    for op, value in operations:
        if op == "gap":
            fake.advance(value)
        elif op == "acquire":
            started = admit(limiter, fake)
            assert started >= penalty_until
            starts.append(started)
        elif op == "release":
            limiter.release(value)
        elif op == "update":
            limiter.update(
                {"X-HubSpot-RateLimit-Max": str(max_requests), "X-HubSpot-RateLimit-Remaining": str(int(value))}
            )
        else:
            limiter.penalize(value)
            penalty_until = max(penalty_until, fake.now + value)
    assert most_in_any_window(starts, 1.0) <= max_requests


def test_a_full_window_waits_until_the_oldest_start_leaves() -> None:
    fake = FakeTime()
    limiter = RateLimiter(3, 1.0, clock=fake.clock, sleep=fake.sleep)
    times = [admit(limiter, fake) for _ in range(7)]
    assert times[:3] == [0.0, 0.0, 0.0]
    assert times[3:6] == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)
    assert times[6] == pytest.approx(2.0, abs=1e-5)


def test_headers_resize_the_window() -> None:
    fake = FakeTime()
    limiter = RateLimiter(100, 10.0, clock=fake.clock, sleep=fake.sleep)
    limiter.update({"X-HubSpot-RateLimit-Max": "4", "X-HubSpot-RateLimit-Interval-Milliseconds": "2000"})
    assert limiter.limit == (4, 2.0)
    times = [admit(limiter, fake) for _ in range(5)]
    assert times[:4] == [0.0] * 4
    assert times[4] == pytest.approx(2.0, abs=1e-5)


def test_garbled_or_missing_headers_change_nothing() -> None:
    limiter = RateLimiter(50, 10.0)
    limiter.update({"x-hubspot-ratelimit-max": "lots", "x-hubspot-ratelimit-interval-milliseconds": "-5"})
    limiter.update({})
    assert limiter.limit == (50, 10.0)


@pytest.mark.parametrize(
    ("max_requests", "reserve_pct", "header_max", "expected"),
    [
        (100, 0.0, None, 100),
        (100, 25.0, None, 75),
        (100, 10.0, "190", 171),
        (3, 50.0, None, 1),
        (1, 99.0, None, 1),
    ],
)
def test_reserve_pct_leaves_room_for_other_integrations(
    max_requests: int, reserve_pct: float, header_max: str | None, expected: int
) -> None:
    limiter = RateLimiter(max_requests, 10.0, reserve_pct=reserve_pct)
    if header_max is not None:
        limiter.update({"X-HubSpot-RateLimit-Max": header_max})
    assert limiter.limit == (expected, 10.0)


def test_penalize_holds_everybody_back() -> None:
    fake = FakeTime()
    limiter = RateLimiter(100, 10.0, clock=fake.clock, sleep=fake.sleep)
    assert admit(limiter, fake) == 0.0
    limiter.penalize(5.0)
    limiter.penalize(2.0)
    assert admit(limiter, fake) == pytest.approx(5.0)
    assert admit(limiter, fake) == pytest.approx(5.0)


def done(limiter: RateLimiter, fake: FakeTime, count: int) -> list[float]:
    """Start and finish ``count`` requests; return their start times."""
    times = []
    for _ in range(count):
        times.append(admit(limiter, fake))
        limiter.release()
    return times


def test_remaining_lower_than_our_view_means_others_use_the_budget() -> None:
    fake = FakeTime()
    limiter = RateLimiter(10, 10.0, clock=fake.clock, sleep=fake.sleep)
    done(limiter, fake, 2)
    # HubSpot counted 7 in the window, we started 2: 5 belong to someone else.
    limiter.update({"X-HubSpot-RateLimit-Max": "10", "X-HubSpot-RateLimit-Remaining": "3"})
    times = done(limiter, fake, 4)
    assert times[:3] == [0.0, 0.0, 0.0]
    assert times[3] == pytest.approx(10.0, abs=1e-5)


def test_remaining_matching_our_view_costs_no_throughput() -> None:
    fake = FakeTime()
    limiter = RateLimiter(10, 10.0, clock=fake.clock, sleep=fake.sleep)
    done(limiter, fake, 2)
    limiter.update({"X-HubSpot-RateLimit-Max": "10", "X-HubSpot-RateLimit-Remaining": "8"})
    assert done(limiter, fake, 8) == [0.0] * 8
    assert done(limiter, fake, 1) == [pytest.approx(10.0, abs=1e-5)]


def test_requests_still_in_flight_are_taken_out_of_the_budget() -> None:
    fake = FakeTime()
    limiter = RateLimiter(10, 10.0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(3):
        admit(limiter, fake)
    # The first answer: HubSpot has counted that request and 4 of others; 2 of ours are still on the way.
    limiter.update({"X-HubSpot-RateLimit-Max": "10", "X-HubSpot-RateLimit-Remaining": "5"})
    limiter.release()
    times = done(limiter, fake, 4)
    assert times[:3] == [0.0, 0.0, 0.0]
    assert times[3] == pytest.approx(10.0, abs=1e-5)


def test_our_starts_leaving_the_window_refill_the_budget() -> None:
    fake = FakeTime()
    limiter = RateLimiter(10, 10.0, clock=fake.clock, sleep=fake.sleep)
    done(limiter, fake, 1)
    fake.advance(4.0)
    done(limiter, fake, 1)
    limiter.update({"X-HubSpot-RateLimit-Max": "10", "X-HubSpot-RateLimit-Remaining": "0"})
    # The start at 0 leaves the window at 10; the one at 4 at 14.
    assert done(limiter, fake, 1) == [pytest.approx(10.0, abs=1e-5)]


def test_a_full_portal_lets_one_request_probe_until_the_sighting_ages_out() -> None:
    fake = FakeTime()
    limiter = RateLimiter(10, 10.0, clock=fake.clock, sleep=fake.sleep)
    limiter.update({"X-HubSpot-RateLimit-Remaining": "0"})
    # Others used all 10; after one interval that budget lapses but the sighting still holds: one probe.
    assert admit(limiter, fake) == pytest.approx(10.0, abs=1e-5)
    limiter.update({"X-HubSpot-RateLimit-Remaining": "9"})
    limiter.release()
    # The busy sighting counts for two intervals; then the latest answer (nobody else) rules.
    assert done(limiter, fake, 9) == [pytest.approx(20.0, abs=1e-5)] * 9


def test_other_integrations_stay_counted_across_a_pause() -> None:
    fake = FakeTime()
    limiter = RateLimiter(10, 1.0, clock=fake.clock, sleep=fake.sleep)
    done(limiter, fake, 2)
    limiter.update({"X-HubSpot-RateLimit-Remaining": "4"})  # 4 of others
    fake.advance(1.5)  # e.g. the wait after a 429: the budget lapsed, the sighting did not
    assert limiter.limit == (10, 1.0)
    times = done(limiter, fake, 7)
    assert times[:6] == [1.5] * 6
    assert times[6] == pytest.approx(2.5, abs=1e-5)


def test_refused_requests_do_not_hide_other_integrations() -> None:
    fake = FakeTime()
    limiter = RateLimiter(10, 1.0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(8):
        admit(limiter, fake)
    # 6 of ours were counted, 2 were refused with 429, 4 belong to others.
    limiter.penalize(0.0)
    limiter.penalize(0.0)
    limiter.update({"X-HubSpot-RateLimit-Remaining": "0"})
    for _ in range(8):
        limiter.release()
    fake.advance(3.0)
    times = done(limiter, fake, 7)
    assert times[:6] == [3.0] * 6
    assert times[6] > 3.0


def test_probe_first_sends_one_request_alone_until_it_is_answered() -> None:
    fake = FakeTime()
    answered: list[float] = []
    limiters: list[RateLimiter] = []

    def answer_later(seconds: float) -> None:
        fake.sleep(seconds)
        if fake.now >= 0.1 and not answered:
            answered.append(fake.now)
            limiters[0].release()

    limiter = RateLimiter(10, 10.0, probe_first=True, clock=fake.clock, sleep=answer_later)
    limiters.append(limiter)
    assert admit(limiter, fake) == 0.0
    second = admit(limiter, fake)
    assert answered and second == pytest.approx(answered[0])
    assert admit(limiter, fake) == pytest.approx(second)


def test_margin_keeps_starts_a_little_longer() -> None:
    fake = FakeTime()
    limiter = RateLimiter(2, 1.0, margin_s=0.25, clock=fake.clock, sleep=fake.sleep)
    times = [admit(limiter, fake) for _ in range(3)]
    assert times[2] == pytest.approx(1.25, abs=1e-5)


@pytest.mark.parametrize(("duration", "expected"), [(0.1, 1.1), (0.2, 1.2), (5.0, 1.25)])
def test_slow_answers_widen_the_window_up_to_a_quarter_interval(duration: float, expected: float) -> None:
    fake = FakeTime()
    limiter = RateLimiter(2, 1.0, clock=fake.clock, sleep=fake.sleep)
    admit(limiter, fake)
    admit(limiter, fake)
    limiter.release(duration)
    limiter.release(duration)
    assert admit(limiter, fake) == pytest.approx(expected, abs=1e-5)


def test_a_slow_answer_holds_back_only_its_own_start() -> None:
    fake = FakeTime()
    limiter = RateLimiter(2, 1.0, clock=fake.clock, sleep=fake.sleep)
    first, second = limiter.acquire(), limiter.acquire()
    limiter.release(0.01, second)  # answered out of order: the ticket says which request it was
    limiter.release(0.2, first)
    assert [admit(limiter, fake), admit(limiter, fake)] == pytest.approx([1.01, 1.2], abs=1e-5)


def test_threads_sharing_a_fake_clock_never_exceed_the_limit() -> None:
    fake = FakeTime()
    limiter = RateLimiter(5, 1.0, clock=fake.clock, sleep=fake.sleep)
    starts: list[float] = []
    guard = threading.Lock()

    def worker() -> None:
        for _ in range(15):
            started = admit(limiter, fake)
            with guard:
                starts.append(started)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(starts) == 90
    assert most_in_any_window(starts, 1.0) <= 5


def test_threads_on_the_real_clock_never_exceed_the_limit() -> None:
    seen = threading.local()

    def clock() -> float:
        seen.value = time.monotonic()
        return float(seen.value)

    limiter = RateLimiter(5, 0.1, clock=clock)
    starts: list[float] = []
    guard = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            limiter.acquire()
            with guard:
                starts.append(seen.value)

    began = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    assert len(starts) == 15
    assert most_in_any_window(starts, 0.1) <= 5
    assert time.monotonic() - began < 1.0


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0, 10.0)
    with pytest.raises(ValueError):
        RateLimiter(10, 0.0)
    with pytest.raises(ValueError):
        RateLimiter(10, 10.0, reserve_pct=100.0)


def leaving(durations: list[float], **kwargs: float) -> list[float]:
    """Requests answered after ``durations`` fill the window: when does each start leave it (when
    may the next request go, and the one after)?"""
    fake = FakeTime()
    limiter = RateLimiter(len(durations), 1.0, clock=fake.clock, sleep=fake.sleep, **kwargs)
    return refill(limiter, fake, durations)


def refill(limiter: RateLimiter, fake: FakeTime, durations: list[float]) -> list[float]:
    began = fake.now
    tickets = [limiter.acquire() for _ in durations]
    assert fake.now == began
    for ticket, d in zip(tickets, durations, strict=True):
        limiter.release(d, ticket)
    return [admit(limiter, fake) - began for _ in durations]


def test_each_start_counts_the_spread_of_its_own_duration_not_its_length() -> None:
    # 150 +- 50 ms answers: a start is held for its own duration minus the fastest, plus a quarter
    # of the spread (100 ms) for what the durations do not show.
    expected = [1.025, 1.045, 1.075, 1.105, 1.125]
    assert leaving([0.10, 0.12, 0.15, 0.18, 0.20]) == pytest.approx(expected, abs=1e-5)
    # Slow but steady answers need almost no margin.
    expected = [1.0025, 1.0025, 1.0025, 1.0025, 1.0125]
    assert leaving([0.80, 0.80, 0.80, 0.80, 0.81]) == pytest.approx(expected, abs=1e-5)


def test_with_few_durations_known_each_whole_duration_counts() -> None:
    assert leaving([0.20, 0.10]) == pytest.approx([1.10, 1.20], abs=1e-5)


def test_margin_s_is_the_least_margin() -> None:
    assert leaving([0.80, 0.81, 0.80, 0.80, 0.80], margin_s=0.05) == pytest.approx([1.05] * 5, abs=1e-5)


def test_after_a_429_whole_durations_count_again_for_two_intervals() -> None:
    fake = FakeTime()
    limiter = RateLimiter(5, 1.0, clock=fake.clock, sleep=fake.sleep)
    limiter.penalize(0.0)
    durations = [0.10, 0.12, 0.15, 0.18, 0.20]
    assert refill(limiter, fake, durations) == pytest.approx([1.10, 1.12, 1.15, 1.18, 1.20], abs=1e-5)
    fake.advance(10.0)
    for _ in range(5):
        limiter.release()
    assert refill(limiter, fake, durations) == pytest.approx([1.025, 1.045, 1.075, 1.105, 1.125], abs=1e-5)


def test_what_remaining_says_of_others_counts_our_starts_when_the_answered_request_started() -> None:
    fake = FakeTime()
    limiter = RateLimiter(10, 1.0, clock=fake.clock, sleep=fake.sleep)
    done(limiter, fake, 5)
    fake.advance(0.1)
    done(limiter, fake, 5)
    fake.advance(0.9)  # the first five left the window
    late = [limiter.acquire() for _ in range(5)]
    fake.advance(0.2)  # the five of 0.1 left our window too, but not HubSpot's when these arrived:
    limiter.update({"X-HubSpot-RateLimit-Remaining": "0"}, late[0])  # all ten are ours, nobody else's
    for ticket in late:
        limiter.release(0.2, ticket)
    fake.advance(1.1)  # the budget lapsed; a sighting of others would still hold for two intervals
    assert done(limiter, fake, 10) == [pytest.approx(2.3)] * 10


def most_arrivals_in_a_window(arrivals: list[float], interval: float) -> int:
    """Like ``most_in_any_window``, with an arrival exactly one interval later counted as outside
    (to a nanosecond: sums of floats land on either side of the boundary)."""
    ordered = sorted(arrivals)
    return max(sum(1 for a in ordered if t - interval + 1e-9 < a <= t) for t in ordered)


def simulate_server(
    uplinks: list[float], downlink: float, limit: int, interval: float, concurrency: int
) -> tuple[list[float], list[float]]:
    """Requests sent through the limiter as fast as it allows, ``concurrency`` at a time, each
    arriving at HubSpot ``uplinks[i]`` after its start and answered ``downlink`` after arrival.
    Returns (arrival times at HubSpot, answer times)."""
    fake = FakeTime()
    due: list[tuple[float, float, Ticket]] = []  # (answer time, duration, ticket) of requests in flight
    limiters: list[RateLimiter] = []

    def settle_until(moment: float) -> None:
        for item in sorted((d for d in due if d[0] <= moment), key=lambda d: d[0]):
            due.remove(item)
            limiters[0].release(item[1], item[2])

    def sleep(seconds: float) -> None:
        fake.sleep(seconds)
        settle_until(fake.now)

    limiter = RateLimiter(limit, interval, clock=fake.clock, sleep=sleep)
    limiters.append(limiter)
    arrivals: list[float] = []
    answers: list[float] = []
    for up in uplinks:
        while len(due) >= concurrency:
            nxt = min(d[0] for d in due)
            fake.advance(nxt - fake.now)
            settle_until(fake.now)
        ticket = limiter.acquire()
        start = float(fake.seen.value)
        arrivals.append(start + up)
        answers.append(start + up + downlink)
        due.append((start + up + downlink, up + downlink, ticket))
    return arrivals, answers


@settings(max_examples=40, deadline=None)
@given(
    rest=st.lists(st.sampled_from([0.10, 0.13, 0.15, 0.18, 0.20]), min_size=20, max_size=150),
    limit=st.integers(3, 20),
    concurrency=st.integers(1, 8),
)
def test_hubspot_never_sees_more_than_the_limit_when_the_way_there_varies(
    rest: list[float], limit: int, concurrency: int
) -> None:
    # The first answers show both the fastest and the slowest way there; the rest vary between.
    uplinks = [0.10, 0.20, 0.10, 0.20, 0.15, *rest]
    arrivals, _ = simulate_server(uplinks, 0.02, limit, 1.0, concurrency)
    assert most_arrivals_in_a_window(arrivals, 1.0) <= limit


def test_steady_sending_comes_within_the_spread_of_the_bound() -> None:
    # 121 requests at 20 per 2 s with 150 +- 50 ms: the bound is 6 windows from first answer to last.
    pattern = [0.10, 0.20, 0.15, 0.12, 0.18, 0.14, 0.16, 0.11, 0.19, 0.13]
    arrivals, answers = simulate_server((pattern * 13)[:121], 0.0, 20, 2.0, 8)
    assert most_arrivals_in_a_window(arrivals, 2.0) <= 20
    bound = (121 - 1) // 20 * 2.0
    ratio = bound / (max(answers) - min(answers))
    assert ratio > 0.95
