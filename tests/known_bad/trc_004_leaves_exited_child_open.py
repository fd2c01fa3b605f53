"""TRC-004: a child whose process exited keeps a running thread in the trace.

The orchestrator records a child's end when the user closes it (the close edge and
the thread's end), but a process that exits by itself is "not an event of the
rollout": nothing is recorded. The trace then shows the child running for ever,
and a reader of the rollout cannot tell which agents were still working.
"""

from __future__ import annotations

from reference_impl.orchestrator import Agent
from reference_impl.trace_component import TraceComponent
from tests.known_bad._base import adapter_for
from tests.known_bad._trace import orchestrator_with

VIOLATES = "TRC-004"


class ExitsUnrecorded(TraceComponent):
    def on_end(self, agent: Agent, reason: str) -> None:
        if reason == "exit" and agent.parent is not None:
            return
        super().on_end(agent, reason)


conformance_adapter = adapter_for(orchestrator_with(ExitsUnrecorded), "known-bad-trc-004-exit")
