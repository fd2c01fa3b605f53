"""Helpers for the canonical-log known-bads: the reference orchestrator with a
(broken) canonical-log component, since ``_base.adapter_for`` starts an orchestrator
with no components of its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance.contract import World
from reference_impl.adapter import ReferenceAdapter
from reference_impl.canonical_log_component import CanonicalLogComponent
from reference_impl.components import Component
from reference_impl.orchestrator import ReferenceOrchestrator
from tests.known_bad._base import adapter_for


def clog_adapter(
    name: str,
    *components: type[CanonicalLogComponent],
    orchestrator: type[ReferenceOrchestrator] = ReferenceOrchestrator,
) -> ReferenceAdapter:
    """An adapter whose orchestrator logs through ``components`` (instantiated per world)."""
    kinds = components or (CanonicalLogComponent,)

    class WithCanonicalLog(orchestrator):  # type: ignore[misc, valid-type]
        def __init__(self, world: World, extra: Sequence[Component] = (), **kwargs: Any) -> None:
            super().__init__(world, [*(kind(world) for kind in kinds), *extra], **kwargs)

    WithCanonicalLog.__name__ = orchestrator.__name__
    return adapter_for(WithCanonicalLog, name)
