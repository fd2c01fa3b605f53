"""PER-007: the session directory is created in the orchestrator core, unguarded:
when it cannot be created (a read-only or full disk, a file in the way) spawn
raises, although the agent's session is already running."""

from __future__ import annotations

from conformance.contract import SpawnRequest
from reference_impl.orchestrator import ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "PER-007"


class StrictSessionDir(ReferenceOrchestrator):
    def spawn(self, request: SpawnRequest) -> None:
        super().spawn(request)
        if self.persistence.enabled:
            agent = self.agents[request.agent_id]
            (agent.home / "sessions" / agent.session_id).mkdir(parents=True, exist_ok=True)


conformance_adapter = adapter_for(StrictSessionDir, "known-bad-per-007")
