"""CLOG-003: the original design's index: a corrupt ``index.json`` silently becomes an
empty map, and the next new session overwrites it, losing every earlier mapping.
Reopened sessions then get a second global id."""

from __future__ import annotations

from conformance.contract import World
from reference_impl.canonical_log import CanonicalLog, CorruptIndexError, IndexStore
from reference_impl.canonical_log.index import IndexRepair
from reference_impl.canonical_log_component import CanonicalLogComponent
from tests.known_bad._clog import clog_adapter

VIOLATES = "CLOG-003"


class ForgetfulIndex(IndexStore):
    def _load_locked(
        self,
    ) -> tuple[dict[str, str], bool, IndexRepair | None, bytes | None]:
        raw = self._read_raw()
        if raw is None:
            return super()._load_locked()
        try:
            return self._parse(raw), False, None, raw
        except CorruptIndexError:
            return {}, True, None, None


class ForgetfulLog(CanonicalLogComponent):
    def open_store(self, world: World) -> CanonicalLog:
        store = super().open_store(world)
        assert store.layout is not None
        store._index = ForgetfulIndex(store.layout, fsync=store.fsync)
        return store


conformance_adapter = clog_adapter("known-bad-clog-003", ForgetfulLog)
