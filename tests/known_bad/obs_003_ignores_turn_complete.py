"""OBS-003: the turn-complete notification is dropped, so a Codex session is never
looked up, and the orchestrator never reports its session id or transcript."""

from __future__ import annotations

from conformance.contract import BackendKind, Notification
from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "OBS-003"


class DeafToCodexHook(ReferenceOrchestrator):
    def _on_turn_complete(self, agent: Agent, note: Notification) -> None:
        if agent.backend is not BackendKind.CODEX:
            super()._on_turn_complete(agent, note)

    def _view(self, agent: Agent):  # type: ignore[no-untyped-def]
        view = super()._view(agent)
        if agent.backend is BackendKind.CODEX and agent.transcript is None:
            # It only learns a Codex session id from the hook it ignores.
            return type(view)(view.agent_id, view.backend, view.state, None, None)
        return view


conformance_adapter = adapter_for(DeafToCodexHook, "known-bad-obs-003")
