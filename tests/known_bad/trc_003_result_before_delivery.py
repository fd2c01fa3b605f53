"""TRC-003: the result edge is recorded before the result is sent to the parent.

Seed 003's P1: ``forward_child_completion_to_parent`` appended the agent-result
interaction before ``send_inter_agent_communication``, so when the parent was already
gone the trace described a delivery that never happened.
"""

from __future__ import annotations

from collections.abc import Callable

from reference_impl.orchestrator import Agent
from reference_impl.trace_component import TraceComponent
from tests.known_bad._base import adapter_for
from tests.known_bad._trace import orchestrator_with

VIOLATES = "TRC-003"


class RecordsResultFirst(TraceComponent):
    def deliver_result(
        self, child: Agent, parent: Agent, message: str, deliver: Callable[[], None]
    ) -> None:
        child_thread = self.recordable(child.agent_id)
        parent_thread = self.recordable(parent.agent_id)
        if child_thread is not None and parent_thread is not None:
            child_thread.rollout.recorder.deliver_result(
                child_thread.handle, parent_thread.handle, message, lambda: None)
        deliver()


conformance_adapter = adapter_for(orchestrator_with(RecordsResultFirst), "known-bad-trc-003")
