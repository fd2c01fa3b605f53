"""OBS-003: a Codex rollout looked for under the UTC date.

The orchestrator computes ``sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl`` from the
session's start in UTC. Codex names both the directories and the file in the
process's local time zone, so away from UTC, for the hours when the local date is
not the UTC date, the computed path does not exist.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from conformance.contract import BackendKind
from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "OBS-003"


class UtcCodexDate(ReferenceOrchestrator):
    def _locate(self, agent: Agent) -> Path | None:
        if agent.backend is not BackendKind.CODEX:
            return super()._locate(agent)
        home = agent.backend_home or agent.home
        started = _dt.datetime.fromtimestamp(agent.tracker.started_at, tz=_dt.timezone.utc)
        day = home / "sessions" / f"{started:%Y/%m/%d}"
        found = sorted(day.glob(f"rollout-*-{agent.session_id}.jsonl"))
        return found[0] if found else None


conformance_adapter = adapter_for(UtcCodexDate, "known-bad-obs-003-codex-utc-date")
