"""TRC-001: any thread's end is taken for the rollout's end.

The trace component ends the rollout (through the root's handle, so every thread is
cancelled first and the trace still replays) when a child is closed or exits: the
shared recorder of seed 003 closed the whole rollout on a child's shutdown.
"""

from __future__ import annotations

from reference_impl.orchestrator import Agent
from reference_impl.trace_component import TraceComponent, end_status
from tests.known_bad._base import adapter_for
from tests.known_bad._trace import orchestrator_with

VIOLATES = "TRC-001"


class EndsRolloutWithAnyThread(TraceComponent):
    def on_end(self, agent: Agent, reason: str) -> None:
        thread = self.recordable(agent.agent_id)
        if thread is None or agent.parent is None:
            super().on_end(agent, reason)
            return
        root = self.threads[thread.rollout.root_agent_id]
        self.end_rollout(root, end_status(reason))


conformance_adapter = adapter_for(orchestrator_with(EndsRolloutWithAnyThread),
                                  "known-bad-trc-001")
