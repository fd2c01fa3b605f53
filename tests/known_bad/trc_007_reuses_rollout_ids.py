"""TRC-007: a restarted orchestrator names its rollouts after agent ids already used.

The rollout id is the root's agent id. After a restart on the same trace directory
the new orchestrator's agents get the same ids again, their rollouts the same
bundle directory, which holds the earlier rollout's bundle: starting the rollout is
refused, and the new root has no bundle at all (this was the reference's own bug).
"""

from __future__ import annotations

from reference_impl.orchestrator import Agent
from reference_impl.trace_component import TraceComponent
from tests.known_bad._base import adapter_for
from tests.known_bad._trace import orchestrator_with

VIOLATES = "TRC-007"


class AgentIdRollouts(TraceComponent):
    def rollout_id(self, root: Agent) -> str:
        return root.agent_id


conformance_adapter = adapter_for(orchestrator_with(AgentIdRollouts),
                                  "known-bad-trc-007-reuse")
