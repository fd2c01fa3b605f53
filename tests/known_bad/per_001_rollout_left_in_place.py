"""PER-001: persistence writes the session's logs into ``sessions/<id>/`` but leaves
the rollout where the backend wrote it, so the "one directory per session" holds
everything except the transcript."""

from __future__ import annotations

from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from reference_impl.persistence import PersistenceComponent, SessionStore
from tests.known_bad._base import adapter_for

VIOLATES = "PER-001"


class LogsOnly(PersistenceComponent):
    def adopt_rollout(self, store: SessionStore, agent: Agent) -> None:
        pass


class RolloutLeftInPlace(ReferenceOrchestrator):
    persistence_component_type = LogsOnly


conformance_adapter = adapter_for(RolloutLeftInPlace, "known-bad-per-001")
