"""PER-002: the rollout is moved into the session directory but not linked back.

To lose no line it sweeps: at every monitor tick, whatever the backend appended at
the legacy path since (recreating the file) is appended to the moved rollout and the
legacy file removed again. The session directory ends up complete; the legacy path,
which tools and the backend's own resume look at, is mostly missing.
"""

from __future__ import annotations

from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from reference_impl.persistence import PersistenceComponent, SessionStore
from tests.known_bad._base import adapter_for

VIOLATES = "PER-002"


class Sweeper(PersistenceComponent):
    def adopt_rollout(self, store: SessionStore, agent: Agent) -> None:
        self.sweep(agent)

    def sweep(self, agent: Agent) -> None:
        store = self.stores.get(agent.agent_id)
        legacy = agent.transcript
        if store is None or store.fallback or legacy is None or legacy.is_symlink():
            return
        if not legacy.is_file() or not store.directory.is_dir():
            return
        with (store.directory / legacy.name).open("ab") as moved:
            moved.write(legacy.read_bytes())
        legacy.unlink()


class MovesWithoutLink(ReferenceOrchestrator):
    persistence_component_type = Sweeper

    def tick(self) -> None:
        super().tick()
        sweeper = self.persisted
        assert isinstance(sweeper, Sweeper)
        for agent in self.agents.values():
            sweeper.sweep(agent)


conformance_adapter = adapter_for(MovesWithoutLink, "known-bad-per-002")
