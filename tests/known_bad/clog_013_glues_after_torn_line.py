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
            self._end, self._last_seq = size + len(line), seq
            return seq


class GluingStore(CanonicalLog):
    def _writer(self, gid: str) -> LogWriter:
        layout, _ = self._require_layout()
        with self._lock:
            writer = self._writers.get(gid)
            if writer is None:
                writer = self._writers[gid] = GluingWriter(layout.log_path(gid), fsync=False)
            return writer


class GluingLog(CanonicalLogComponent):
    def open_store(self, world: World) -> CanonicalLog:
        settings = world.settings
        return GluingStore(world.acp_home, max_text_chars=settings.acp_log_max_text_chars,
                           embedded_context=settings.acp_log_embedded_context, env={},
                           fsync=False)


conformance_adapter = clog_adapter("known-bad-clog-013", GluingLog)
