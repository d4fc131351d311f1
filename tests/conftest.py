"""Shared fixtures: a sandbox HubSpot on 127.0.0.1 and a fake clock so nothing really waits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from importer.sandbox import DEFAULT_TOKEN, Sandbox

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_data"


class FakeTime:
    """A monotonic clock that only moves when someone sleeps; thread-safe."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += max(0.0, seconds)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(events=["1001"])
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def env(sandbox: Sandbox) -> dict[str, str]:
    """The environment a user would set to point the CLI at the sandbox."""
    return {"HUBSPOT_ACCESS_TOKEN": DEFAULT_TOKEN, "HUBSPOT_BASE_URL": sandbox.base_url}
