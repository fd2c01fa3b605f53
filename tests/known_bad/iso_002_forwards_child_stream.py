"""ISO-002: a child's whole streamed output is forwarded to its parent.

When a child's turn completes, its result goes to the parent's session, as the
contract asks, but "for context" the orchestrator sends everything the child
streamed during the turn (its message chunks and thoughts) ahead of the final
answer. Only the final answer may cross from a child to its parent; the child's
intermediate output now sits in the parent's rollout and history.
"""

from __future__ import annotations

import dataclasses

from conformance.contract import Notification, NotificationKind
from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "ISO-002"


class StreamForwarder(ReferenceOrchestrator):
    def _on_notification(self, note: Notification) -> None:
        if note.kind is NotificationKind.SESSION_UPDATE:
            agent = self._by_session.get((note.backend, note.session_id))
            content = note.data.get("update", {}).get("content")
            if agent is not None and isinstance(content, dict) and content.get("text"):
                self.__dict__.setdefault("streams", {}).setdefault(
                    agent.agent_id, []).append(str(content["text"]))
        super()._on_notification(note)

    def _deliver_result(self, child: Agent, note: Notification) -> None:
        streamed = self.__dict__.get("streams", {}).pop(child.agent_id, [])
        final = note.data.get("last-assistant-message")
        if streamed and isinstance(final, str):
            data = {**note.data, "last-assistant-message": "\n".join([*streamed, final])}
            note = dataclasses.replace(note, data=data)
        super()._deliver_result(child, note)


conformance_adapter = adapter_for(StreamForwarder, "known-bad-iso-002-stream")
