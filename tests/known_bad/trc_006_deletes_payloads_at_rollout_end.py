"""TRC-006: payload files are deleted when the rollout ends.

The component treats ``payloads/`` as scratch space and removes it once the rollout
is over, so every event that refers to a payload file now points at nothing.
"""

from __future__ import annotations

import shutil

from conformance.trace_format.events import RunStatus
from reference_impl.trace_component import Thread, TraceComponent
from tests.known_bad._base import adapter_for
from tests.known_bad._trace import orchestrator_with

VIOLATES = "TRC-006"


class DeletesPayloads(TraceComponent):
    def end_rollout(self, root: Thread, status: RunStatus) -> None:
        super().end_rollout(root, status)
        shutil.rmtree(root.rollout.recorder.bundle_dir / "payloads", ignore_errors=True)


conformance_adapter = adapter_for(orchestrator_with(DeletesPayloads), "known-bad-trc-006")
