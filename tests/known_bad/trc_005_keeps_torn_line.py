"""TRC-005: a line cut short by a full disk is left in the trace.

The recorder writes each event in one ``write``, and gives up when the write comes
back short (the disk filled up in mid-line), but leaves the half line where it is.
The trace no longer replays: its last line is not an event, and whatever the
recorder appends once there is room again is glued to it.
"""

from __future__ import annotations

import os
from pathlib import Path

from conformance.trace_format.bundle import TRACE_NAME
from conformance.trace_format.errors import RecorderBrokenError
from reference_impl.trace import TraceRecorder
from reference_impl.trace_component import TraceComponent
from tests.known_bad._base import adapter_for
from tests.known_bad._trace import orchestrator_with

VIOLATES = "TRC-005"


class NoCutBack(TraceRecorder):
    def _write_line(self, line: bytes) -> None:
        if self._fd is None:
            raise RecorderBrokenError("the trace file is not open")
        written = os.write(self._fd, line)
        if written != len(line):
            raise OSError(f"short write to {TRACE_NAME} ({written} of {len(line)} bytes)")


class TornLines(TraceComponent):
    def new_recorder(self, bundle_dir: Path) -> TraceRecorder:
        return NoCutBack(bundle_dir, clock=self.world.clock.now, fsync=self.fsync)


conformance_adapter = adapter_for(orchestrator_with(TornLines), "known-bad-trc-005-torn")
