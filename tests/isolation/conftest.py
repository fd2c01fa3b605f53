"""A harness world with the reference orchestrator, on a running harness clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.clock import HarnessClock
from conformance.contract import Settings
from conformance.harness import Harness
from reference_impl import conformance_adapter


@pytest.fixture(scope="module")
def clock() -> Iterator[HarnessClock]:
    """One frozen clock per module: starting one walks every loaded module (slow);
    each world rewinds it."""
    with HarnessClock() as running:
        yield running


@pytest.fixture
def harness(tmp_path: Path, clock: HarnessClock) -> Iterator[Harness]:
    world = Harness(conformance_adapter, clock, tmp_path / "world",
                    settings=Settings(first_turn_deadline=60.0))
    yield world
    world.shutdown()
