"""OBS-002: Codex workers are polled from the first tick.

It never misreads the answer (a not-found stays "not yet"), but it calls
get_session_data on a Codex session before its first-turn notification.
"""

from __future__ import annotations

import contextlib

from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "OBS-002"


class EagerPoller(ReferenceOrchestrator):
    def _on_tick(self, agent: Agent, now: float) -> None:
        if not agent.tracker.first_turn_done and agent.tracker.state.value != "ended":
            self._poll_quietly(agent)
        super()._on_tick(agent, now)

    def _poll_quietly(self, agent: Agent) -> None:
        with contextlib.suppress(Exception):
            self._host(agent.backend).get_session_data(agent.session_id)


conformance_adapter = adapter_for(EagerPoller, "known-bad-obs-002")
