"""OBS-001: a Codex worker missing from list_sessions() is taken as ended.

It obeys "do not poll Codex before its first turn" to the letter (no
get_session_data), but watches list_sessions() instead, and ends and cleans up any
Codex session it does not find there: exactly the premature cleanup of seed 002,
while the worker is still running its first turn.
"""

from __future__ import annotations

import shutil

from conformance.contract import BackendKind
from reference_impl.observability import ObsState
from reference_impl.orchestrator import ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "OBS-001"


class CodexListWatcher(ReferenceOrchestrator):
    def tick(self) -> None:
        super().tick()  # hung workers are marked first, then vanished ones swept
        listed = {d.session_id for d in self.world.backend(BackendKind.CODEX).list_sessions()}
        for agent in self.agents.values():
            if (agent.backend is BackendKind.CODEX and agent.session_id not in listed
                    and agent.tracker.state is ObsState.UNOBSERVABLE):
                self._end(agent, "close")
                shutil.rmtree(agent.home, ignore_errors=True)


conformance_adapter = adapter_for(CodexListWatcher, "known-bad-obs-001")
