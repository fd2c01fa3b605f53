"""TRC-009: children's results are recorded for the parent, never sent to it.

The orchestrator treats the trace as the channel: a child's final answer is kept for
"the parent to pick up", and no prompt ever reaches the parent's session. The trace
holds no result edge (nothing was delivered, so TRC-003 and TRC-004 are satisfied),
and the parent waits for ever for work its child finished.
"""

from __future__ import annotations

from conformance.contract import Notification
from reference_impl.orchestrator import Agent
from reference_impl.trace_component import TraceComponent
from tests.known_bad._base import adapter_for
from tests.known_bad._trace import orchestrator_with

VIOLATES = "TRC-009"


class KeepsResults(orchestrator_with(TraceComponent)):  # type: ignore[misc]
    def _deliver_result(self, child: Agent, note: Notification) -> None:
        self.__dict__.setdefault("kept", []).append((child.agent_id, note))


conformance_adapter = adapter_for(KeepsResults, "known-bad-trc-009")
