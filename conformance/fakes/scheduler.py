"""One queue of timed events for a whole world, run on the harness clock.

Every fake backend schedules its future (a file appearing, a turn completing, an
update streaming) here. ``advance`` runs due events in time order, moving the
harness clock to each event's instant first, so an orchestrator that reads the
clock inside a notification callback sees the time the event happened.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from conformance.clock import HarnessClock


@dataclass(order=True)
class _Entry:
    due: float
    order: int
    action: Callable[[], None] = field(compare=False)
    label: str = field(compare=False, default="")


class Scheduler:
    """Timed callbacks, executed in (time, insertion) order."""

    def __init__(self, clock: HarnessClock) -> None:
        self._clock = clock
        self._heap: list[_Entry] = []
        self._order = itertools.count()

    def at(self, due: float, action: Callable[[], None], label: str = "") -> None:
        """Run ``action`` when the clock reaches ``due`` (a Unix timestamp)."""
        heapq.heappush(self._heap, _Entry(due, next(self._order), action, label))

    def after(self, delay: float, action: Callable[[], None], label: str = "") -> None:
        self.at(self._clock.now() + delay, action, label)

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward, running every event due on the way."""
        target = self._clock.now() + seconds
        while self._heap and self._heap[0].due <= target:
            entry = heapq.heappop(self._heap)
            self._clock.move_to(entry.due)
            entry.action()
        self._clock.move_to(target)

    def run_due(self) -> None:
        """Run events already due without moving the clock."""
        self.advance(0.0)

    def pending(self) -> int:
        return len(self._heap)
