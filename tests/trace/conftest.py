"""Fixtures for the rollout-trace tests: a frozen clock, recorders, an event builder.

Everything time-related is driven by :class:`FrozenClock`, so no test sleeps or
depends on how fast it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reference_impl.trace import (
    SCHEMA_VERSION,
    AgentClosed,
    AgentMessageSent,
    AgentResultDelivered,
    AgentSpawned,
    Body,
    InlineBody,
    Payload,
    RolloutEnded,
    RolloutStarted,
    RunStatus,
    ThreadEnded,
    ThreadOrigin,
    ThreadResumed,
    ThreadStarted,
    ToolCallEnded,
    ToolCallStarted,
    TraceEvent,
    TraceRecorder,
    TurnEnded,
    TurnStarted,
)

START = 1_700_000_000.0


class FrozenClock:
    """Returns ``now`` and then advances it by ``step`` seconds (1 ms by default)."""

    def __init__(self, start: float = START, step: float = 0.001) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        value = self.now
        self.now += self.step
        return value


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


RecorderFactory = Callable[..., TraceRecorder]


@pytest.fixture
def make_recorder(tmp_path: Path, clock: FrozenClock) -> Iterator[RecorderFactory]:
    """``make_recorder(name="bundle", **kwargs)``: a recorder on ``tmp_path / name``.

    Defaults to ``fsync=False`` (speed); tests about durability pass ``fsync=True``.
    """
    made: list[TraceRecorder] = []

    def factory(name: str = "bundle", **kwargs: Any) -> TraceRecorder:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("fsync", False)
        recorder = TraceRecorder(tmp_path / name, **kwargs)
        made.append(recorder)
        return recorder

    yield factory
    for recorder in made:
        recorder.close()


class EventBuilder:
    """Hand-built events with automatic ``seq``, for reducer regression tests."""

    def __init__(self, rollout_id: str = "r1") -> None:
        self.rollout_id = rollout_id
        self.seq = 0

    def ev(
        self,
        payload: Payload,
        thread: str | None = None,
        turn: str | None = None,
        *,
        seq: int | None = None,
        rollout_id: str | None = None,
        schema_version: int = SCHEMA_VERSION,
    ) -> TraceEvent:
        self.seq = self.seq + 1 if seq is None else seq
        return TraceEvent(
            schema_version=schema_version,
            seq=self.seq,
            wall_time_unix_ms=1_700_000_000_000 + self.seq,
            rollout_id=rollout_id or self.rollout_id,
            thread_id=thread,
            turn_id=turn,
            payload=payload,
        )

    # Shorthands for the common payloads.

    def rollout_started(self, root: str = "t0") -> TraceEvent:
        return self.ev(RolloutStarted(root_thread_id=root))

    def rollout_ended(self, status: RunStatus = RunStatus.COMPLETED) -> TraceEvent:
        return self.ev(RolloutEnded(status=status))

    def root_started(self, thread: str = "t0") -> TraceEvent:
        return self.ev(
            ThreadStarted(origin=ThreadOrigin.ROOT, parent_thread_id=None, agent_path="/", depth=0),
            thread,
        )

    def start(self, root: str = "t0") -> list[TraceEvent]:
        """``rollout_started`` + the root's ``thread_started``."""
        return [self.rollout_started(root), self.root_started(root)]

    def spawn_edge(self, parent: str, child: str, path: str, call: str | None = None) -> TraceEvent:
        """``agent_spawned`` on the parent."""
        payload = AgentSpawned(
            spawn_call_id=call or f"spawn-{child}",
            child_thread_id=child,
            agent_path=path,
            task=InlineBody(None),
        )
        return self.ev(payload, parent)

    def child_started(self, parent: str, child: str, path: str) -> TraceEvent:
        """The spawned child's ``thread_started``."""
        payload = ThreadStarted(
            origin=ThreadOrigin.SPAWNED,
            parent_thread_id=parent,
            agent_path=path,
            depth=path.count("/"),
        )
        return self.ev(payload, child)

    def spawned(
        self, parent: str, child: str, path: str, call: str | None = None
    ) -> list[TraceEvent]:
        """``agent_spawned`` on the parent + the child's ``thread_started``."""
        return [self.spawn_edge(parent, child, path, call), self.child_started(parent, child, path)]

    def thread_ended(self, thread: str, status: RunStatus = RunStatus.COMPLETED) -> TraceEvent:
        return self.ev(ThreadEnded(status=status), thread)

    def thread_resumed(self, thread: str, parent: str) -> TraceEvent:
        return self.ev(ThreadResumed(resumed_by_thread_id=parent), thread)

    def turn_started(self, thread: str, turn: str) -> TraceEvent:
        return self.ev(TurnStarted(), thread, turn)

    def turn_ended(
        self, thread: str, turn: str, status: RunStatus = RunStatus.COMPLETED
    ) -> TraceEvent:
        return self.ev(TurnEnded(status=status), thread, turn)

    def call_started(
        self, thread: str, turn: str, call: str, arguments: Body | None = None
    ) -> TraceEvent:
        return self.ev(
            ToolCallStarted(
                call_id=call, tool_name="shell", arguments=arguments or InlineBody(None)
            ),
            thread,
            turn,
        )

    def call_ended(
        self, thread: str, turn: str, call: str, status: RunStatus = RunStatus.COMPLETED
    ) -> TraceEvent:
        return self.ev(
            ToolCallEnded(call_id=call, status=status, output=InlineBody(None)), thread, turn
        )

    def message(self, parent: str, child: str, text: str = "hi") -> TraceEvent:
        return self.ev(AgentMessageSent(child_thread_id=child, message=InlineBody(text)), parent)

    def result(self, child: str, parent: str, text: str = "done") -> TraceEvent:
        return self.ev(
            AgentResultDelivered(
                parent_thread_id=parent, status=RunStatus.COMPLETED, message=InlineBody(text)
            ),
            child,
        )

    def closed(self, parent: str, child: str) -> TraceEvent:
        return self.ev(AgentClosed(child_thread_id=child), parent)


@pytest.fixture
def build() -> EventBuilder:
    return EventBuilder()
