"""PER-007: falling back throws the half-written session directory away.

When a write into the session directory fails (the disk filled up mid-session), the
store switches to the fallback locations, as it should, and "tidies up" by removing
the session directory it can no longer use. But the rollout was adopted into that
directory: its legacy path is now a link to nothing, and every line the backend
wrote, and writes, is gone.
"""

from __future__ import annotations

import shutil

from reference_impl.orchestrator import ReferenceOrchestrator
from reference_impl.persistence import PersistenceComponent
from reference_impl.persistence.store import SessionStore
from tests.known_bad._base import adapter_for

VIOLATES = "PER-007"


class TidyStore(SessionStore):
    def _fall_back(self, why: str) -> None:
        if self.directory.is_dir():
            shutil.rmtree(self.directory, ignore_errors=True)
        super()._fall_back(why)


class TidyComponent(PersistenceComponent):
    store_type = TidyStore


class Tidy(ReferenceOrchestrator):
    persistence_component_type = TidyComponent


conformance_adapter = adapter_for(Tidy, "known-bad-per-007-tidy")
