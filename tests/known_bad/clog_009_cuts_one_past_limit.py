"""CLOG-009: an off-by-one in the text limit: prompt text is cut one character past
``ACP_LOG_MAX_TEXT_CHARS`` (and a text exactly one longer than the limit is kept whole)."""

from __future__ import annotations

from conformance.contract import World
from reference_impl.canonical_log import CanonicalLog
from reference_impl.canonical_log_component import CanonicalLogComponent
from tests.known_bad._clog import clog_adapter

VIOLATES = "CLOG-009"


class OnePastLimit(CanonicalLogComponent):
    def open_store(self, world: World) -> CanonicalLog:
        settings = world.settings
        return CanonicalLog(world.acp_home, max_text_chars=settings.acp_log_max_text_chars + 1,
                            embedded_context=settings.acp_log_embedded_context, env={},
                            fsync=world.settings.acp_log_fsync)


conformance_adapter = clog_adapter("known-bad-clog-009", OnePastLimit)
