"""ISO-003: the sub-agents' streamed message chunks are mirrored into the main
agent's history.jsonl (in the main agent's own line format), so the main history
fills with token-level output of every sub-agent."""

from __future__ import annotations

from conformance.contract import Notification, NotificationKind
from reference_impl.isolation.jsonl import append_jsonl
from reference_impl.orchestrator import ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "ISO-003"


class ChunkMirror(ReferenceOrchestrator):
    def _on_notification(self, note: Notification) -> None:
        super()._on_notification(note)
        update = note.data.get("update", {})
        if (note.kind is NotificationKind.SESSION_UPDATE
                and update.get("sessionUpdate") == "agent_message_chunk"):
            append_jsonl(self.world.home / "history.jsonl", {
                "session_id": note.session_id, "ts": int(note.time),
                "text": update.get("content", {}).get("text", "")})


conformance_adapter = adapter_for(ChunkMirror, "known-bad-iso-003")
