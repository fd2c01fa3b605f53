"""OBS-003: a resumed session is watched as if it had just started.

On resume the orchestrator throws away what it knew (the transcript it found) and
goes back to its start-up rule: for Codex, "wait for a turn-complete notification
before looking". But the first turn was long ago: unless the user sends a new
prompt, that notification never comes, and the resumed session, whose rollout is on
disk, is never found again. (Claude Code and Gemini CLI are polled, and found.)
"""

from __future__ import annotations

from conformance.contract import BackendKind, Notification
from reference_impl.observability import ObsEvent, ObsState
from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "OBS-003"


class ForgetfulResume(ReferenceOrchestrator):
    def resume(self, agent_id: str) -> None:
        super().resume(agent_id)
        agent = self._agent(agent_id)
        agent.transcript = None
        if agent.backend is BackendKind.CODEX:
            agent.tracker.state = ObsState.UNOBSERVABLE

    def _on_turn_complete(self, agent: Agent, note: Notification) -> None:
        if agent.tracker.state is ObsState.UNOBSERVABLE:
            agent.tracker.fire(ObsEvent.FIRST_TURN_NOTIFIED)
            return
        super()._on_turn_complete(agent, note)


conformance_adapter = adapter_for(ForgetfulResume, "known-bad-obs-003-resume")
