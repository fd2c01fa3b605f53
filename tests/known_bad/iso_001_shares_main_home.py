"""ISO-001: sub-agents run with the main agent's home.

The orchestrator creates ``agents/<id>/`` and even hands out per-agent TMPDIRs, but
forgets to point the backend at the agent's home: every sub-agent's rollout,
history and logs land in the main ``~/.codex`` (the situation seed 000 exists to
prevent).
"""

from __future__ import annotations

from pathlib import Path

from conformance.contract import SpawnRequest
from reference_impl.orchestrator import ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "ISO-001"


class SharedHome(ReferenceOrchestrator):
    def _backend_home(self, request: SpawnRequest, home: Path) -> Path:
        return self.world.home


conformance_adapter = adapter_for(SharedHome, "known-bad-iso-001")
