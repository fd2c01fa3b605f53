"""TRC-004: close edges invented from the manager's in-memory agent tree.

Closing an agent also records a close of each of its children, because the
orchestrator's in-memory tree says a closed parent's children are done. Nobody closed
them and their processes keep running: the trace holds relationships that never
happened (seed 003: relationships must come from durable data, not from in-memory
manager state).
"""

from __future__ import annotations

from reference_impl.orchestrator import Agent
from reference_impl.trace_component import TraceComponent
from tests.known_bad._base import adapter_for
from tests.known_bad._trace import orchestrator_with

VIOLATES = "TRC-004"


class ClosesSubtreeFromMemory(TraceComponent):
    def on_end(self, agent: Agent, reason: str) -> None:
        parent = self.recordable(agent.agent_id)
        if reason == "close" and parent is not None:
            for child_id, child in list(self.threads.items()):
                if child.parent_agent_id == agent.agent_id and self.recordable(child_id):
                    parent.rollout.recorder.close_agent(parent.handle, child.handle)
                    child.running = False
        super().on_end(agent, reason)


conformance_adapter = adapter_for(orchestrator_with(ClosesSubtreeFromMemory),
                                  "known-bad-trc-004")
