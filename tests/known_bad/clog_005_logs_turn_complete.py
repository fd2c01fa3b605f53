"""CLOG-005: a convenience event of its own, ``acp.turn_complete``, is written when a
turn completes: a kind no reader of the canonical log knows."""

from __future__ import annotations

from conformance.contract import Notification, NotificationKind
from reference_impl.canonical_log_component import CanonicalLogComponent
from reference_impl.orchestrator import Agent
from tests.known_bad._clog import clog_adapter

VIOLATES = "CLOG-005"


class TurnCompleteEvents(CanonicalLogComponent):
    def log_notification(self, agent: Agent, note: Notification) -> None:
        super().log_notification(agent, note)
        if note.kind is NotificationKind.TURN_COMPLETE:
            gid = self._gid(agent)
            self.log._writer(gid).append(
                "acp.turn_complete", gid, {"turn_id": note.turn_id})  # type: ignore[arg-type]


conformance_adapter = clog_adapter("known-bad-clog-005", TurnCompleteEvents)
