"""The conformance adapter of the reference orchestrator."""

from __future__ import annotations

from conformance.contract import Capability, World
from reference_impl.orchestrator import ReferenceOrchestrator

__version__ = "0.1.0"


class ReferenceAdapter:
    """Adapter for :class:`~reference_impl.orchestrator.ReferenceOrchestrator`."""

    name = "reference_impl"
    version = __version__
    capabilities = frozenset({Capability.OBSERVABILITY})

    def start(self, world: World) -> ReferenceOrchestrator:
        return ReferenceOrchestrator(world)


conformance_adapter = ReferenceAdapter()
