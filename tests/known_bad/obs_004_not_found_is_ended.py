"""OBS-004: seed 002's own rule for Claude and Gemini ("if session-not-found, session
is actually ended") taken literally.

Codex is handled correctly; a Claude Code or Gemini CLI session polled in its first
second, before its file exists, is ended on the spot.
"""

from __future__ import annotations

from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "OBS-004"


class NotFoundMeansEnded(ReferenceOrchestrator):
    def _on_not_found(self, agent: Agent) -> None:
        self._end(agent, "exit")


conformance_adapter = adapter_for(NotFoundMeansEnded, "known-bad-obs-004")
