"""OBS-005: a follow-up restarts the first-turn deadline.

The orchestrator measures "how long has this worker been silent" from the last
prompt it sent. A worker whose first turn hangs and which the user nudged with a
follow-up just before the deadline is then reported hung a whole deadline later
than the deadline says: past it, ticks go by and the worker still shows as starting.
"""

from __future__ import annotations

from reference_impl.orchestrator import ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "OBS-005"


class DeadlineFromLastPrompt(ReferenceOrchestrator):
    def send(self, agent_id: str, prompt: str) -> None:
        super().send(agent_id, prompt)
        agent = self._agent(agent_id)
        if not agent.tracker.first_turn_done:
            agent.tracker.started_at = self.world.clock.now()


conformance_adapter = adapter_for(DeadlineFromLastPrompt, "known-bad-obs-005-follow-up")
