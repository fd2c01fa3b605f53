"""A tiny base for known-bad adapters: the reference orchestrator with one seam
overridden."""

from __future__ import annotations

from conformance.contract import Capability, World
from reference_impl.adapter import ReferenceAdapter
from reference_impl.orchestrator import ReferenceOrchestrator


def adapter_for(
    orchestrator: type[ReferenceOrchestrator], name: str,
    capabilities: frozenset[Capability] | None = None,
) -> ReferenceAdapter:
    """An adapter that starts ``orchestrator`` and claims what the reference claims."""

    class KnownBadAdapter(ReferenceAdapter):
        #: The broken orchestrator (its process twin is built from it:
        #: ``tests/test_known_bad_processes.py``).
        orchestrator_type = orchestrator

        def start(self, world: World) -> ReferenceOrchestrator:
            return orchestrator(world)

    adapter = KnownBadAdapter()
    adapter.name = name
    adapter.version = "0.0.0-known-bad"
    if capabilities is not None:
        adapter.capabilities = capabilities
    return adapter
