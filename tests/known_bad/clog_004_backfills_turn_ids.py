"""CLOG-004: when a turn completes, its id is stamped onto the lines logged so far
("turn_id"), rewriting the log in place, carefully (under the log's own lock, so no
concurrent append is lost). The events read the same; the bytes of earlier lines do
not stay as they were."""

from __future__ import annotations

import fcntl
import json

from conformance.contract import Notification, NotificationKind
from reference_impl.canonical_log_component import CanonicalLogComponent
from reference_impl.orchestrator import Agent
from tests.known_bad._clog import clog_adapter

VIOLATES = "CLOG-004"


class TurnBackfill(CanonicalLogComponent):
    def log_notification(self, agent: Agent, note: Notification) -> None:
        super().log_notification(agent, note)
        if note.kind is not NotificationKind.TURN_COMPLETE or self.log.layout is None:
            return
        path = self.log.layout.log_path(self._gid(agent))
        with path.open("r+b") as handle:  # in place: the writer's descriptor stays valid
            fcntl.flock(handle, fcntl.LOCK_EX)  # the lock every appender takes
            stamped = []
            for line in handle.read().splitlines():
                event = json.loads(line)
                event.setdefault("turn_id", note.turn_id)
                stamped.append(json.dumps(event, separators=(",", ":")).encode() + b"\n")
            handle.seek(0)
            handle.write(b"".join(stamped))
            handle.truncate()


conformance_adapter = clog_adapter("known-bad-clog-004", TurnBackfill)
