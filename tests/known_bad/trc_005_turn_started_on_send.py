"""TRC-005: a turn is recorded as started when its prompt is sent.

The backend queues a follow-up behind the running turn, but the trace component
writes ``turn_started`` at once, so the thread has two turns open and the strict
reducer rejects the trace. (The reference recorder refuses the event; this component
appends it without the recorder's checks.)
"""

from __future__ import annotations

from conformance.trace_format.events import TurnStarted
from reference_impl.orchestrator import Agent
from reference_impl.trace_component import TraceComponent
from tests.known_bad._base import adapter_for
from tests.known_bad._trace import append_unchecked, orchestrator_with

VIOLATES = "TRC-005"


class StartsTurnOnSend(TraceComponent):
    def on_send(self, agent: Agent, prompt: str, turn_id: str) -> None:
        thread = self.recordable(agent.agent_id)
        if thread is not None:
            append_unchecked(thread.rollout.recorder, agent.session_id, turn_id, TurnStarted())
            thread.turns.add(turn_id)
            thread.open_turn = turn_id
        super().on_send(agent, prompt, turn_id)


conformance_adapter = adapter_for(orchestrator_with(StartsTurnOnSend), "known-bad-trc-005")
