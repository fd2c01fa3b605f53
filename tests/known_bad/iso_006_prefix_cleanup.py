"""ISO-006: cleanup by glob: ending ``planner`` removes the temporary directory of
every agent whose id starts with ``planner``, including a running ``planner-2``."""

from __future__ import annotations

import shutil

from reference_impl.isolation import IsolationComponent
from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "ISO-006"


class GlobCleanup(IsolationComponent):
    def cleanup(self, agent: Agent) -> None:
        for directory in (self.world.home / "agents").glob(f"{agent.agent_id}*"):
            shutil.rmtree(directory / "tmp", ignore_errors=True)


class PrefixCleaner(ReferenceOrchestrator):
    isolation_component_type = GlobCleanup


conformance_adapter = adapter_for(PrefixCleaner, "known-bad-iso-006")
