"""PER-006: persistence is always on: the setting (``--persist-session``, off by
default) is ignored, so every user gets session directories, moved rollouts and
raw logs they never asked for."""

from __future__ import annotations

from conformance.contract import World
from reference_impl.orchestrator import ReferenceOrchestrator
from reference_impl.persistence import PersistenceConfig
from tests.known_bad._base import adapter_for

VIOLATES = "PER-006"


class AlwaysPersists(ReferenceOrchestrator):
    def __init__(self, world: World) -> None:
        super().__init__(world, persistence=PersistenceConfig(enabled=True))


conformance_adapter = adapter_for(AlwaysPersists, "known-bad-per-006")
