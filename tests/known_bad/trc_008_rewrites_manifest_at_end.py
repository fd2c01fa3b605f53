"""TRC-008: the manifest is rewritten when the rollout ends, to record how it ended.

"Nice to have the outcome without reading the trace": at the root's end the
orchestrator writes ``manifest.json`` again with ``ended_unix_ms`` and ``status``
added. Readers that cached or verified the manifest, and a trace format whose
bundle only ever grows, now see a file change under them.
"""

from __future__ import annotations

import json

from conformance.trace_format.bundle import MANIFEST_NAME
from conformance.trace_format.events import RunStatus
from reference_impl.trace_component import Thread, TraceComponent
from tests.known_bad._base import adapter_for
from tests.known_bad._trace import orchestrator_with

VIOLATES = "TRC-008"


class ManifestWithOutcome(TraceComponent):
    def end_rollout(self, root: Thread, status: RunStatus) -> None:
        super().end_rollout(root, status)
        path = root.rollout.recorder.bundle_dir / MANIFEST_NAME
        manifest = json.loads(path.read_text(encoding="utf-8"))
        manifest.update(ended_unix_ms=int(self.world.clock.now() * 1000),
                        status=status.value)
        path.write_text(json.dumps(manifest), encoding="utf-8")


conformance_adapter = adapter_for(orchestrator_with(ManifestWithOutcome),
                                  "known-bad-trc-008-manifest")
