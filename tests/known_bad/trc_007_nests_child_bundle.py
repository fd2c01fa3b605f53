"""TRC-007: each child's events go to a bundle nested inside its root's bundle.

"One bundle per root rollout" read as "one directory per root": the root's bundle
directory is right, but every child writes a bundle of its own below it
(``<rollout>/children/<agent>/``), so the root's trace holds none of its children and
the tree cannot be rebuilt from it; a reader listing bundles one level deep sees
only the roots.
"""

from __future__ import annotations

from reference_impl.orchestrator import Agent
from reference_impl.trace_component import Rollout, Thread, TraceComponent
from tests.known_bad._base import adapter_for
from tests.known_bad._trace import orchestrator_with

VIOLATES = "TRC-007"


class NestedBundles(TraceComponent):
    def on_spawn(self, agent: Agent) -> None:
        parent = self.threads.get(agent.parent) if agent.parent is not None else None
        if parent is None:
            super().on_spawn(agent)
            return
        recorder = self.new_recorder(
            parent.rollout.recorder.bundle_dir / "children" / agent.agent_id)
        rollout = Rollout(recorder, agent.agent_id)
        self.rollouts.append(rollout)
        handle = recorder.start_rollout(agent.agent_id, agent.session_id)
        self.threads[agent.agent_id] = Thread(rollout, handle, None)


conformance_adapter = adapter_for(orchestrator_with(NestedBundles), "known-bad-trc-007-nested")
