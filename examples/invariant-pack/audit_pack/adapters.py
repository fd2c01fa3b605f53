"""Orchestrators to run the pack against: the reference, claiming the pack's area, and
the pack's known-bad, which breaks AUD-001 and nothing else.

``pytest --orchestrator=audit_pack.adapters:reference -m audit_order`` certifies the
reference on the pack; ``...:backdates_finish`` fails AUD-001.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.contract import World
from reference_impl.adapter import ReferenceAdapter
from reference_impl.isolation import AuditLog, IsolationComponent
from reference_impl.isolation.tempdirs import TempDirs
from reference_impl.orchestrator import Agent, ReferenceOrchestrator

AREA = "audit-order"


class _ClaimsAuditOrder(ReferenceAdapter):
    capabilities = frozenset({*ReferenceAdapter.capabilities, AREA})  # type: ignore[arg-type]


class _BackdatingAudit(AuditLog):
    """Records an invocation's finish at the time it started: a "duration-friendly"
    log that reads wrongly top to bottom once anything happened in between."""

    def __init__(self, home: Path) -> None:
        super().__init__(home)
        self.started: dict[str, float] = {}

    def record(self, time: float, event: str, agent_id: str, **details: Any) -> None:
        if event == "finish":
            time = self.started.get(agent_id, time)
        super().record(time, event, agent_id, **details)


class _BackdatingIsolation(IsolationComponent):
    def __init__(self, world: World, temp_dirs: TempDirs) -> None:
        super().__init__(world, temp_dirs)
        self.audit = self.backdating = _BackdatingAudit(world.home)

    def on_end(self, agent: Agent, reason: str) -> None:
        invocation = self.invocations.get(agent.agent_id)
        if invocation is not None:
            self.backdating.started[agent.agent_id] = invocation.started_at
        super().on_end(agent, reason)


class _BackdatesFinish(ReferenceOrchestrator):
    isolation_component_type = _BackdatingIsolation


class _KnownBadAdapter(_ClaimsAuditOrder):
    name = "known-bad-aud-001"
    version = "0.0.0-known-bad"

    def start(self, world: World) -> ReferenceOrchestrator:
        return _BackdatesFinish(world)


reference = _ClaimsAuditOrder()
backdates_finish = _KnownBadAdapter()
