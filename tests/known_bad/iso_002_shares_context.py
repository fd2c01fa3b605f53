"""ISO-002: "helpful" context sharing between sub-agents.

Each new sub-agent's prompt carries the final answers of the agents before it, and
every final answer is also appended to a ``team-notes.md`` in each other agent's
home "so they can coordinate". One agent's output thus ends up in other agents'
directories (their prompts, histories, rollouts, notes) without any export.
"""

from __future__ import annotations

import dataclasses

from conformance.contract import Notification, NotificationKind, SpawnRequest
from reference_impl.isolation.jsonl import append_line
from reference_impl.orchestrator import ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "ISO-002"


class ContextSharer(ReferenceOrchestrator):
    def spawn(self, request: SpawnRequest) -> None:
        earlier = [i.last_output for i in self.isolation.invocations.values() if i.last_output]
        if earlier:
            request = dataclasses.replace(
                request, prompt=request.prompt + "\n\nWhat the other agents found:\n"
                + "\n".join(earlier))
        super().spawn(request)

    def _on_notification(self, note: Notification) -> None:
        super()._on_notification(note)
        if note.kind is not NotificationKind.TURN_COMPLETE:
            return
        author = self._by_session.get((note.backend, note.session_id))
        answer = note.data.get("last-assistant-message")
        if author is None or not isinstance(answer, str):
            return
        for agent in self.agents.values():
            if agent is not author:
                append_line(agent.home / "team-notes.md", f"- {author.agent_id}: {answer}")


conformance_adapter = adapter_for(ContextSharer, "known-bad-iso-002")
