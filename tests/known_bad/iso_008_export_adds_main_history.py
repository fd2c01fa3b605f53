"""ISO-008: export "for context" also copies the main agent's history.jsonl into the
destination, so an export of one agent carries every agent's invocation summaries."""

from __future__ import annotations

import shutil
from pathlib import Path

from reference_impl.orchestrator import ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "ISO-008"


class ExportWithContext(ReferenceOrchestrator):
    def export(self, agent_id: str, destination: Path) -> None:
        super().export(agent_id, destination)
        history = self.world.home / "history.jsonl"
        if history.is_file():
            shutil.copy2(history, Path(destination) / "main-history.jsonl")


conformance_adapter = adapter_for(ExportWithContext, "known-bad-iso-008")
