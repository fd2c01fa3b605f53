"""OBS-005: a worker whose first turn never completes is reported "starting"
forever; nobody is told to look at it."""

from __future__ import annotations

from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "OBS-005"


class NeverHung(ReferenceOrchestrator):
    def _on_tick(self, agent: Agent, now: float) -> None:
        if agent.tracker.may_poll():
            self._poll(agent)


conformance_adapter = adapter_for(NeverHung, "known-bad-obs-005-silent")
