"""CLOG-007: the environment can turn embedded context on behind the settings' back.

The store honours the world's setting, and also ``ACP_LOG_EMBEDDED_CONTEXT=1`` found
in the process environment ("so users can flip it without a config change"). The
settings say no; a variable left over in the user's shell says yes, and embedded
file contents are copied into the log.
"""

from __future__ import annotations

import os

from conformance.contract import World
from reference_impl.canonical_log import CanonicalLog
from reference_impl.canonical_log_component import CanonicalLogComponent
from tests.known_bad._clog import clog_adapter

VIOLATES = "CLOG-007"


class EnvOverride(CanonicalLogComponent):
    def open_store(self, world: World) -> CanonicalLog:
        settings = world.settings
        embedded = (settings.acp_log_embedded_context
                    or os.environ.get("ACP_LOG_EMBEDDED_CONTEXT") == "1")
        return CanonicalLog(world.acp_home, max_text_chars=settings.acp_log_max_text_chars,
                            embedded_context=embedded, env={}, fsync=world.settings.acp_log_fsync)


conformance_adapter = clog_adapter("known-bad-clog-007-env", EnvOverride)
