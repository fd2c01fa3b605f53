"""PER-003: raw model traffic is not persisted ("too big, and it has secrets in it"),
so session_oai_raw.log never appears."""

from __future__ import annotations

from conformance.contract import Notification, NotificationKind
from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from reference_impl.persistence import PersistenceComponent
from tests.known_bad._base import adapter_for

VIOLATES = "PER-003"


class NoRawTraffic(PersistenceComponent):
    def on_notification(self, agent: Agent, note: Notification) -> None:
        if note.kind is not NotificationKind.MODEL_EXCHANGE:
            super().on_notification(agent, note)


class DropsRawExchanges(ReferenceOrchestrator):
    persistence_component_type = NoRawTraffic


conformance_adapter = adapter_for(DropsRawExchanges, "known-bad-per-003")
