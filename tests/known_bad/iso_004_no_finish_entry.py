"""ISO-004: the main history gets a line when a sub-agent starts and nothing when it
finishes, so nobody can tell from it how an invocation ended or what it produced."""

from __future__ import annotations

from reference_impl.isolation import IsolationComponent
from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "ISO-004"


class StartOnlyHistory(IsolationComponent):
    def on_end(self, agent: Agent, reason: str) -> None:
        self.invocations.pop(agent.agent_id, None)  # forgotten before it is written
        super().on_end(agent, reason)


class StartOnly(ReferenceOrchestrator):
    isolation_component_type = StartOnlyHistory


conformance_adapter = adapter_for(StartOnly, "known-bad-iso-004")
