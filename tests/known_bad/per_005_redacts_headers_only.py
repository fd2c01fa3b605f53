"""PER-005: headers and URLs are redacted, request bodies are not.

The redaction knows where each CLI puts its key on the wire (the Authorization,
x-api-key and x-goog-api-key headers, the ?key= parameter) and masks exactly those.
Bodies are "just the prompt" and are logged as they are; but a body can carry an
OAuth refresh token, an access token or an API key in a metadata field, and those
reach session_oai_raw.log in clear.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reference_impl.orchestrator import ReferenceOrchestrator
from reference_impl.persistence import PersistenceComponent
from reference_impl.persistence.redact import redact
from tests.known_bad._base import adapter_for

VIOLATES = "PER-005"


class HeadersOnly(PersistenceComponent):
    def redact(self, value: Any) -> Any:
        if isinstance(value, Mapping) and "body" in value:
            return {**redact({k: v for k, v in value.items() if k != "body"}),
                    "body": value["body"]}
        if isinstance(value, Mapping):
            return {k: self.redact(v) for k, v in value.items()}
        return value


class LeaksBodies(ReferenceOrchestrator):
    persistence_component_type = HeadersOnly


conformance_adapter = adapter_for(LeaksBodies, "known-bad-per-005-bodies")
