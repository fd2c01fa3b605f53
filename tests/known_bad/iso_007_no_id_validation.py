"""ISO-007: agent ids are used as directory names unchecked: ``..``, ``a/b``, an
absolute path or an empty id create directories wherever they point, and a NUL
byte surfaces as an unexplained error from ``mkdir``."""

from __future__ import annotations

from pathlib import Path

from conformance.contract import World
from reference_impl.isolation import TempDirs
from reference_impl.orchestrator import ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "ISO-007"


class UncheckedTempDirs(TempDirs):
    def path(self, agent_id: str) -> Path:
        return self._agent_home(agent_id) / "tmp"


class TrustsIds(ReferenceOrchestrator):
    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.temp_dirs = UncheckedTempDirs(self.agent_home)
        self.isolation.temp_dirs = self.temp_dirs

    def _validate_agent_id(self, agent_id: str) -> None:
        pass


conformance_adapter = adapter_for(TrustsIds, "known-bad-iso-007")
