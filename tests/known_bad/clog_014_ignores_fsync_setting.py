"""CLOG-014: durability is promised and never delivered: the store does not sync.

The world asks for a durable store (``ACP_LOG_FSYNC=1``), and the orchestrator opens
its store without syncing, "since a kill -9 loses nothing anyway". True: the page
cache survives a killed process. A power cut does not keep the page cache, and the
events the store had reported written, with the index mappings, are gone.
"""

from __future__ import annotations

from conformance.contract import World
from reference_impl.canonical_log import CanonicalLog
from reference_impl.canonical_log_component import CanonicalLogComponent
from tests.known_bad._clog import clog_adapter

VIOLATES = "CLOG-014"


class NeverSyncs(CanonicalLogComponent):
    def open_store(self, world: World) -> CanonicalLog:
        settings = world.settings
        return CanonicalLog(world.acp_home, max_text_chars=settings.acp_log_max_text_chars,
                            embedded_context=settings.acp_log_embedded_context, env={},
                            fsync=False)


conformance_adapter = clog_adapter("known-bad-clog-014", NeverSyncs)
