"""CLOG-012: the original design's index writer: the map is read once, when the store
is opened, and every new session rewrites the whole file from that copy, with no
lock and no re-read. Alone it works; two processes erase each other's mappings."""

from __future__ import annotations

import contextlib
import uuid

from conformance.contract import World
from reference_impl.canonical_log import CanonicalLog, IndexStore, Layout
from reference_impl.canonical_log._fsutil import replace_file
from reference_impl.canonical_log.index import encode_index
from reference_impl.canonical_log.layout import parse_session_key
from reference_impl.canonical_log_component import CanonicalLogComponent
from tests.known_bad._clog import clog_adapter

VIOLATES = "CLOG-012"


class StaleIndex(IndexStore):
    def __init__(self, layout: Layout, *, fsync: bool = True) -> None:
        super().__init__(layout, fsync=fsync)
        self.mapping: dict[str, str] = {}
        with contextlib.suppress(Exception):
            self.mapping, *_ = self._load_locked()  # read once; (no lock taken)

    def get_or_create(self, key: str) -> tuple[str, bool]:
        parse_session_key(key)
        gid = self.mapping.get(key)
        if gid is not None:
            return gid, False
        gid = uuid.uuid4().hex
        self.mapping[key] = gid
        self.layout.home.mkdir(parents=True, exist_ok=True)
        replace_file(self.layout.index_path, encode_index(self.mapping), durable=self.fsync)
        return gid, True


class StaleIndexLog(CanonicalLogComponent):
    def open_store(self, world: World) -> CanonicalLog:
        store = super().open_store(world)
        assert store.layout is not None
        store._index = StaleIndex(store.layout, fsync=store.fsync)
        return store


conformance_adapter = clog_adapter("known-bad-clog-012", StaleIndexLog)
