"""TRC-007: a spawned child records into a bundle of its own.

Instead of appending to its root's bundle (seed 003: "child agent sessions share
their root recorder"), every spawned agent starts a rollout of its own, so no single
bundle holds the tree of agents.
"""

from __future__ import annotations

from reference_impl.orchestrator import Agent
from reference_impl.trace_component import TraceComponent
from tests.known_bad._base import adapter_for
from tests.known_bad._trace import orchestrator_with

VIOLATES = "TRC-007"


class RolloutPerAgent(TraceComponent):
    def on_spawn(self, agent: Agent) -> None:
        self.start_rollout(agent)


conformance_adapter = adapter_for(orchestrator_with(RolloutPerAgent), "known-bad-trc-007")
