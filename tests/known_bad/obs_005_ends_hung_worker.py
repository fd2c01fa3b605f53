"""OBS-005: a watchdog that silently ends a worker whose first turn is too slow,
destroying the state someone would need to debug it."""

from __future__ import annotations

import shutil

from reference_impl.observability import ObsEvent, ObsState
from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "OBS-005"


class HungWorkerReaper(ReferenceOrchestrator):
    def _on_tick(self, agent: Agent, now: float) -> None:
        if agent.tracker.state is not ObsState.ENDED and agent.tracker.deadline_passed(now):
            agent.tracker.fire(ObsEvent.END_SIGNAL)
            self._host(agent.backend).end_session(agent.session_id)
            shutil.rmtree(agent.home, ignore_errors=True)
            return
        super()._on_tick(agent, now)


conformance_adapter = adapter_for(HungWorkerReaper, "known-bad-obs-005")
