"""PER-004: approvals are recorded in session_meta.log, but closing an agent in the
middle of a turn leaves no trace there: the interrupted turn just stops."""

from __future__ import annotations

from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from reference_impl.persistence import PersistenceComponent, SessionStore
from tests.known_bad._base import adapter_for

VIOLATES = "PER-004"


class ApprovalsOnly(PersistenceComponent):
    def record_cancellation(self, store: SessionStore, agent: Agent, reason: str,
                            running: int) -> None:
        pass


class ForgetsCancellations(ReferenceOrchestrator):
    persistence_component_type = ApprovalsOnly


conformance_adapter = adapter_for(ForgetsCancellations, "known-bad-per-004")
