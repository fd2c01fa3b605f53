"""The conformance adapter of the reference orchestrator."""

from __future__ import annotations

from conformance.contract import Capability, World
from reference_impl.canonical_log_component import CanonicalLogComponent
from reference_impl.orchestrator import ReferenceOrchestrator
from reference_impl.trace_component import TraceComponent

__version__ = "0.1.0"


class ReferenceAdapter:
    """Adapter for :class:`~reference_impl.orchestrator.ReferenceOrchestrator`."""

    name = "reference_impl"
    version = __version__
    capabilities = frozenset({Capability.OBSERVABILITY, Capability.TRACE,
                              Capability.ISOLATION, Capability.PERSISTENCE,
                              Capability.CANONICAL_LOG})

    def start(self, world: World) -> ReferenceOrchestrator:
        return ReferenceOrchestrator(world, components=[
            CanonicalLogComponent(world),
            TraceComponent(world),
        ])


conformance_adapter = ReferenceAdapter()
