"""CLOG-009: the text limit is counted in UTF-8 bytes, not characters.

The summariser cuts prompt text to ``ACP_LOG_MAX_TEXT_CHARS`` *bytes* of UTF-8 (the
size the log line will take), dropping a character split in two. ASCII prompts are
cut exactly right; a prompt in French, Japanese or with an emoji is cut far short of
the limit, or cut although it is within it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reference_impl.canonical_log_component import CanonicalLogComponent
from reference_impl.orchestrator import Agent
from tests.known_bad._clog import clog_adapter

VIOLATES = "CLOG-009"


class ByteLimit(CanonicalLogComponent):
    def prompt_blocks(
        self, agent: Agent, content: Sequence[Mapping[str, Any]], text: str
    ) -> list[Mapping[str, Any]]:
        limit = self.world.settings.acp_log_max_text_chars
        blocks = []
        for block in super().prompt_blocks(agent, content, text):
            raw = str(block.get("text", "")).encode()
            if block.get("type") == "text" and len(raw) > limit:
                block = {**block, "text": raw[:limit].decode("utf-8", "ignore")}
            blocks.append(block)
        return blocks


conformance_adapter = clog_adapter("known-bad-clog-009-bytes", ByteLimit)
