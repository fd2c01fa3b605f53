"""CLOG-002: besides the store under world.acp_home, every event is mirrored into
"the user's" store, found the usual way: ``$ACP_HOME``, else ``~/.acp``."""

from __future__ import annotations

from conformance.contract import World
from reference_impl.canonical_log import CanonicalLog
from reference_impl.canonical_log_component import CanonicalLogComponent
from tests.known_bad._clog import clog_adapter

VIOLATES = "CLOG-002"


class DefaultStoreMirror(CanonicalLogComponent):
    def open_store(self, world: World) -> CanonicalLog:
        return CanonicalLog(None, fsync=False)  # ACP_HOME from os.environ, else ~/.acp


conformance_adapter = clog_adapter("known-bad-clog-002", CanonicalLogComponent,
                                   DefaultStoreMirror)
