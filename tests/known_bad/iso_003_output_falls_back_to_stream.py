"""ISO-003: an empty final answer is replaced by the last streamed chunk.

When a turn ends with an empty final answer (the agent only ran tools), the
orchestrator wants *something* in the main history's output summary and takes the
last message chunk the agent streamed. That chunk is intermediate output, which the
main history must never hold.
"""

from __future__ import annotations

from conformance.contract import Notification, NotificationKind
from reference_impl.isolation import IsolationComponent
from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "ISO-003"


class FallbackSummary(IsolationComponent):
    def on_notification(self, agent: Agent, note: Notification) -> None:
        super().on_notification(agent, note)
        chunks: dict[str, str] = self.__dict__.setdefault("last_chunk", {})
        if note.kind is NotificationKind.SESSION_UPDATE:
            update = note.data.get("update", {})
            content = update.get("content") if isinstance(update, dict) else None
            if update.get("sessionUpdate") == "agent_message_chunk" and isinstance(
                    content, dict) and content.get("text"):
                chunks[agent.agent_id] = str(content["text"])
        invocation = self.invocations.get(agent.agent_id)
        if note.kind is NotificationKind.TURN_COMPLETE and invocation is not None and (
                not invocation.last_output):
            invocation.last_output = chunks.get(agent.agent_id)


class Fallback(ReferenceOrchestrator):
    isolation_component_type = FallbackSummary


conformance_adapter = adapter_for(Fallback, "known-bad-iso-003-fallback")
