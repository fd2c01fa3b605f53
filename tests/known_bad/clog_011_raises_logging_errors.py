"""CLOG-011: a logging error is raised into the agent. The component re-raises the
store's failures ("fail loudly") and the orchestrator lets component errors
propagate, so a full disk under ACP_HOME fails the spawn or the turn's callback."""

from __future__ import annotations

from collections.abc import Callable

from conformance.contract import Notification
from reference_impl.canonical_log_component import CanonicalLogComponent
from reference_impl.components import Component
from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from tests.known_bad._clog import clog_adapter

VIOLATES = "CLOG-011"


class LoudLog(CanonicalLogComponent):
    def _loud(self, action: Callable[[], None]) -> None:
        before = self.log.failure_count
        action()
        if self.log.failure_count > before:
            raise self.log.failures[-1].error

    def log_spawn(self, agent: Agent) -> None:
        self._loud(lambda: super(LoudLog, self).log_spawn(agent))

    def log_send(self, agent: Agent, prompt: str, turn_id: str) -> None:
        self._loud(lambda: super(LoudLog, self).log_send(agent, prompt, turn_id))

    def log_notification(self, agent: Agent, note: Notification) -> None:
        self._loud(lambda: super(LoudLog, self).log_notification(agent, note))


class Unisolated(ReferenceOrchestrator):
    def _emit(self, hook: str, call: Callable[[Component], None]) -> None:
        for component in self.components:
            call(component)


conformance_adapter = clog_adapter("known-bad-clog-011", LoudLog, orchestrator=Unisolated)
