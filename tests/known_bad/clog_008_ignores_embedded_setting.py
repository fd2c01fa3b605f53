"""CLOG-008: the embedded-context setting is ignored; embedded text is never logged,
even when the user asked for it."""

from __future__ import annotations

from conformance.contract import World
from reference_impl.canonical_log import CanonicalLog
from reference_impl.canonical_log_component import CanonicalLogComponent
from tests.known_bad._clog import clog_adapter

VIOLATES = "CLOG-008"


class NeverEmbedded(CanonicalLogComponent):
    def open_store(self, world: World) -> CanonicalLog:
        return CanonicalLog(world.acp_home, max_text_chars=world.settings.acp_log_max_text_chars,
                            embedded_context=False, env={}, fsync=world.settings.acp_log_fsync)


conformance_adapter = clog_adapter("known-bad-clog-008", NeverEmbedded)
