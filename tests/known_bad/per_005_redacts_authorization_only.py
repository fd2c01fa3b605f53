"""PER-005: redaction written for OpenAI only: the ``Authorization`` header is
masked, but Claude Code's ``x-api-key`` and Gemini CLI's ``x-goog-api-key`` header
and ``?key=`` parameter reach session_oai_raw.log in clear."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reference_impl.orchestrator import ReferenceOrchestrator
from reference_impl.persistence import PersistenceComponent
from tests.known_bad._base import adapter_for

VIOLATES = "PER-005"


class AuthorizationOnly(PersistenceComponent):
    def redact(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: "[REDACTED]" if str(k).lower() == "authorization" else self.redact(v)
                    for k, v in value.items()}
        return value


class LeaksOtherKeys(ReferenceOrchestrator):
    persistence_component_type = AuthorizationOnly


conformance_adapter = adapter_for(LeaksOtherKeys, "known-bad-per-005")
