"""The sandbox's latency: a fixed delay, or one that varies by up to the jitter either way."""

from __future__ import annotations

from importer.sandbox import DEFAULT_TOKEN
from importer.sandbox.model import HubSpotModel


def delays(model: HubSpotModel, n: int = 200) -> list[float]:
    return [
        model.handle("GET", "/marketing/v3/marketing-events/1001", f"Bearer {DEFAULT_TOKEN}", b"").delay_s
        for _ in range(n)
    ]


def test_latency_alone_is_the_same_for_every_answer() -> None:
    assert set(delays(HubSpotModel(events={"1001": {}}, latency_s=0.15, rate_limit_max=10**6))) == {0.15}


def test_jitter_spreads_each_answers_latency_within_its_bounds() -> None:
    model = HubSpotModel(events={"1001": {}}, latency_s=0.15, latency_jitter_s=0.05, rate_limit_max=10**6)
    seen = delays(model)
    assert all(0.10 <= d <= 0.20 for d in seen)
    assert max(seen) - min(seen) > 0.08
