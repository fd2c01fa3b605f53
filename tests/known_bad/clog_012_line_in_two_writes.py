"""CLOG-012: each event is appended in two writes, the JSON and then its newline, with
no lock ("O_APPEND makes appends atomic").

Each ``write`` on an ``O_APPEND`` descriptor is atomic; two are not. Alone, the log
is perfect. With two processes appending to the same session's log, one's JSON
lands between the other's JSON and its newline: two events glued on one line, and
an empty line, and both events unreadable.
"""

from __future__ import annotations

import os
from typing import Any

from conformance.contract import World
from reference_impl.canonical_log import CanonicalLog
from reference_impl.canonical_log._fsutil import utc_now_iso
from reference_impl.canonical_log.events import EventKind, encode_event
from reference_impl.canonical_log.log import LogWriter, _scan_tail
from reference_impl.canonical_log_component import CanonicalLogComponent
from tests.known_bad._clog import clog_adapter

VIOLATES = "CLOG-012"


class TwoWrites(LogWriter):
    def append(
        self, kind: EventKind, gid: str, data: dict[str, Any], *, ts: str | None = None
    ) -> int:
        with self._lock:
            fd = self._open()
            last, needs_newline = _scan_tail(fd, os.fstat(fd).st_size)
            line = encode_event(last + 1, ts or utc_now_iso(), kind, gid, data)
            if needs_newline:  # after a torn line, a line of its own
                line = b"\n" + line
            os.write(fd, line.rstrip(b"\n"))
            os.write(fd, b"\n")
            if self.fsync:
                os.fsync(fd)
            return last + 1


class TwoWritesLog(CanonicalLogComponent):
    def open_store(self, world: World) -> CanonicalLog:
        store = super().open_store(world)
        store.writer_type = TwoWrites
        return store


conformance_adapter = clog_adapter("known-bad-clog-012-two-writes", TwoWritesLog)
