"""CLOG-013: appends without looking at how the file ends. After a kill left a torn
last line, the next event is glued onto the fragment and both are unreadable."""

from __future__ import annotations

import os
from typing import Any

from conformance.contract import World
from reference_impl.canonical_log import CanonicalLog, EventKind, LogWriter
from reference_impl.canonical_log._fsutil import utc_now_iso
from reference_impl.canonical_log.events import encode_event
from reference_impl.canonical_log.log import _scan_tail
from reference_impl.canonical_log_component import CanonicalLogComponent
from tests.known_bad._clog import clog_adapter

VIOLATES = "CLOG-013"


class GluingWriter(LogWriter):
    def append(self, kind: EventKind, gid: str, data: dict[str, Any], *,
               ts: str | None = None) -> int:
        with self._lock:
            fd = self._open()
            size = os.fstat(fd).st_size
            if size != self._end:
                self._last_seq, _ = _scan_tail(fd, size)  # the missing newline is ignored
            seq = self._last_seq + 1
            line = encode_event(seq, ts or utc_now_iso(), kind, gid, data)
            os.write(fd, line)
            if self.fsync:
                os.fsync(fd)
            self._end, self._last_seq = size + len(line), seq
            return seq


class GluingLog(CanonicalLogComponent):
    def open_store(self, world: World) -> CanonicalLog:
        store = super().open_store(world)
        store.writer_type = GluingWriter
        return store


conformance_adapter = clog_adapter("known-bad-clog-013", GluingLog)
