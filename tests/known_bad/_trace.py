"""Helpers for the rollout-trace known-bads (``trc_*``): the reference orchestrator
with its trace component swapped for a broken one, and a way to append what the
reference recorder would refuse (as a recorder without its checks would)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance.contract import World
from conformance.trace_format.events import Payload, encode_line
from reference_impl.components import Component
from reference_impl.orchestrator import ReferenceOrchestrator
from reference_impl.trace import TraceRecorder
from reference_impl.trace_component import TraceComponent


def orchestrator_with(component: type[TraceComponent]) -> type[ReferenceOrchestrator]:
    """A reference orchestrator whose trace component is ``component``."""

    class WithBrokenTrace(ReferenceOrchestrator):
        def __init__(self, world: World, components: Sequence[Component] = (),
                     **options: Any) -> None:
            kept = [c for c in components if not isinstance(c, TraceComponent)]
            super().__init__(world, [*kept, component(world)], **options)

    WithBrokenTrace.__name__ = WithBrokenTrace.__qualname__ = f"With{component.__name__}"
    return WithBrokenTrace


def append_unchecked(
    recorder: TraceRecorder, thread_id: str | None, turn_id: str | None, payload: Payload
) -> None:
    """Append ``payload`` with the next seq, skipping the recorder's validation.

    Only ``seq`` advances in the recorder's state, so later events stay numbered
    contiguously while the event itself is not understood.
    """
    state = recorder._state
    assert state is not None
    event = recorder._build(thread_id, turn_id, payload, state.next_seq)
    recorder._write_line(encode_line(event))
    state._last_seq = event.seq
