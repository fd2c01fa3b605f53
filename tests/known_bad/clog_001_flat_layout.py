"""CLOG-001: session directories straight under ACP_HOME (``ACP_HOME/<gid>/``), without
the ``sessions/`` level of the seed's layout. Everything else is right, so tools that
follow the documented layout find an index whose ids lead nowhere."""

from __future__ import annotations

from pathlib import Path

from conformance.contract import World
from reference_impl.canonical_log import CanonicalLog, IndexStore, Layout
from reference_impl.canonical_log_component import CanonicalLogComponent
from tests.known_bad._clog import clog_adapter

VIOLATES = "CLOG-001"


class FlatLayout(Layout):
    @property
    def sessions_dir(self) -> Path:
        return self.home


class FlatLog(CanonicalLogComponent):
    def open_store(self, world: World) -> CanonicalLog:
        store = super().open_store(world)
        assert store.layout is not None
        store.layout = FlatLayout(store.layout.home)
        store._index = IndexStore(store.layout, fsync=store.fsync)
        return store


conformance_adapter = clog_adapter("known-bad-clog-001", FlatLog)
