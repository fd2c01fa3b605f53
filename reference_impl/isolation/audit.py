"""The central audit log: cross-agent coordination, and nothing the agents said.

Seed 000: ``<home>/log/multi-agent.log`` captures coordination events "without
duplicating the sub-agent logs". So a line names an event and the agents and paths
involved; it never copies a sub-agent's log line, prompt or output (those stay in
the agent's own directory, reachable by its id).

Line shape: ``{"time": ISO, "event": "spawn" | "resume" | "finish" | "export" |
"cleanup", "agent_id": ..., ...details}``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from reference_impl.isolation.jsonl import append_jsonl, iso_utc

AUDIT_LOG = Path("log") / "multi-agent.log"

log = logging.getLogger(__name__)


class AuditLog:
    """Appends coordination events to ``<home>/log/multi-agent.log``."""

    def __init__(self, home: Path) -> None:
        self.path = home / AUDIT_LOG

    def record(self, time: float, event: str, agent_id: str, **details: Any) -> None:
        append_jsonl(self.path, {"time": iso_utc(time), "event": event,
                                 "agent_id": agent_id, **details})
