"""ISO-001: a child's home is nested inside its parent's directory.

A "tree-shaped" layout: a sub-agent spawned by another gets
``<home>/agents/<parent>/agents/<child>/`` as its home, so exporting or cleaning up the
parent "naturally" takes its children along. Seed 000 puts every sub-agent, at any
depth, in ``<home>/agents/<agent_id>/``: the child's session files, history and logs
now land outside its own directory.
"""

from __future__ import annotations

from pathlib import Path

from conformance.contract import SpawnRequest
from reference_impl.orchestrator import ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "ISO-001"


class NestedHomes(ReferenceOrchestrator):
    def _backend_home(self, request: SpawnRequest, home: Path) -> Path:
        if request.parent is None:
            return home
        nested = self.agent_home(request.parent) / "agents" / request.agent_id
        nested.mkdir(parents=True, exist_ok=True)
        return nested


conformance_adapter = adapter_for(NestedHomes, "known-bad-iso-001-nested")
