"""CLOG-010: a prompt summariser that predates audio blocks drops them, so audio is
neither summarised nor counted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reference_impl.canonical_log_component import CanonicalLogComponent
from reference_impl.orchestrator import Agent
from tests.known_bad._clog import clog_adapter

VIOLATES = "CLOG-010"


class DropsAudio(CanonicalLogComponent):
    def prompt_blocks(
        self, agent: Agent, content: Sequence[Mapping[str, Any]], text: str
    ) -> list[Mapping[str, Any]]:
        blocks = super().prompt_blocks(agent, content, text)
        return [block for block in blocks if block.get("type") != "audio"]


conformance_adapter = clog_adapter("known-bad-clog-010", DropsAudio)
