"""TRC-004: a refused delivery is taken as the parent's end.

When forwarding a child's result fails, the orchestrator concludes that the parent
is gone and ends the parent's thread in the trace. But a send fails for other
reasons too (a rate limit, a prompt too long): the parent's process runs on, and
the trace now says it ended.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.errors import BackendError
from conformance.trace_format.events import RunStatus
from reference_impl.orchestrator import Agent
from reference_impl.trace_component import TraceComponent
from tests.known_bad._base import adapter_for
from tests.known_bad._trace import orchestrator_with

VIOLATES = "TRC-004"


class SendFailureIsTheEnd(TraceComponent):
    def deliver_result(
        self, child: Agent, parent: Agent, message: str, deliver: Callable[[], None]
    ) -> None:
        try:
            super().deliver_result(child, parent, message, deliver)
        except BackendError:
            thread = self.recordable(parent.agent_id)
            if thread is not None and parent.parent is not None:
                thread.rollout.recorder.end_thread(thread.handle, RunStatus.FAILED)
                thread.running = False
            raise


conformance_adapter = adapter_for(orchestrator_with(SendFailureIsTheEnd),
                                  "known-bad-trc-004-refused")
