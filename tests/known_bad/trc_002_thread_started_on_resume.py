"""TRC-002: a resumed child is recorded with a second ``thread_started``.

Seed 003: resumed child threads keep their thread id and, re-attached to the same
recorder, emit another ThreadStarted for it. The reference recorder refuses that, so
this component appends it without the recorder's checks, as Codex's recorder did.
"""

from __future__ import annotations

from conformance.trace_format.events import ThreadOrigin, ThreadStarted
from reference_impl.orchestrator import Agent
from reference_impl.trace_component import TraceComponent
from tests.known_bad._base import adapter_for
from tests.known_bad._trace import append_unchecked, orchestrator_with

VIOLATES = "TRC-002"


class StartsResumedThreadAgain(TraceComponent):
    def on_resume(self, agent: Agent) -> None:
        thread = self.threads.get(agent.agent_id)
        parent = self.recordable(agent.parent) if agent.parent is not None else None
        if thread is None or thread.running or parent is None:
            return
        recorder = thread.rollout.recorder
        node = recorder.snapshot().thread(agent.session_id)
        append_unchecked(recorder, agent.session_id, None, ThreadStarted(
            origin=ThreadOrigin.SPAWNED, parent_thread_id=node.parent_thread_id,
            agent_path=node.agent_path, depth=node.depth))
        thread.running = True


conformance_adapter = adapter_for(orchestrator_with(StartsResumedThreadAgain),
                                  "known-bad-trc-002")
