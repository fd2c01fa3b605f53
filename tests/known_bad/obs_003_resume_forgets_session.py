"""OBS-003: a resumed session is treated as a brand-new one.

On resume the orchestrator throws away what it knew (the transcript it found, that
the first turn completed) and starts watching the session from scratch. For Claude
Code and Gemini CLI that only costs a poll; for Codex it waits again for a
first-turn notification that will never come (the first turn was long ago), so the
resumed session, whose rollout is on disk, is never found again.
"""

from __future__ import annotations

from reference_impl.observability import SessionTracker
from reference_impl.orchestrator import ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "OBS-003"


class ForgetfulResume(ReferenceOrchestrator):
    def resume(self, agent_id: str) -> None:
        super().resume(agent_id)
        agent = self._agent(agent_id)
        agent.transcript = None
        agent.tracker = SessionTracker(agent.backend, agent.tracker.started_at,
                                       self.world.settings.first_turn_deadline)


conformance_adapter = adapter_for(ForgetfulResume, "known-bad-obs-003-resume")
