"""CLOG-006: thought chunks are collected during the turn and written when it
completes (to keep reasoning together), so they land after the tool calls and
messages they preceded."""

from __future__ import annotations

from conformance.contract import Notification, NotificationKind
from reference_impl.canonical_log_component import CanonicalLogComponent
from reference_impl.orchestrator import Agent
from tests.known_bad._clog import clog_adapter

VIOLATES = "CLOG-006"


class DeferredThoughts(CanonicalLogComponent):
    def log_notification(self, agent: Agent, note: Notification) -> None:
        pending: list[Notification] = self.__dict__.setdefault("pending", [])
        update = note.data.get("update", {})
        if (note.kind is NotificationKind.SESSION_UPDATE
                and update.get("sessionUpdate") == "agent_thought_chunk"):
            pending.append(note)
            return
        super().log_notification(agent, note)
        if note.kind is NotificationKind.TURN_COMPLETE:
            for held in [n for n in pending if n.session_id == note.session_id]:
                pending.remove(held)
                super().log_notification(agent, held)


conformance_adapter = clog_adapter("known-bad-clog-006", DeferredThoughts)
