"""OBS-003: Gemini CLI's chat looked for in a directory named by a hash of the cwd.

The orchestrator computes ``~/.gemini/tmp/<sha256 of the cwd>/chats/``, the layout of
Gemini CLI before it had a project registry (and a common guess, since the chat's
``projectHash`` is that hash). Gemini CLI 0.30 and later name the directory by the
short name registered in ``~/.gemini/projects.json``; the computed path does not
exist for any current version.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path

from conformance.contract import BackendKind
from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "OBS-003"


class HashedGeminiDirectory(ReferenceOrchestrator):
    def _locate(self, agent: Agent) -> Path | None:
        if agent.backend is not BackendKind.GEMINI:
            return super()._locate(agent)
        home = agent.backend_home or agent.home
        digest = hashlib.sha256(str(agent.cwd).encode()).hexdigest()
        chats = home / ".gemini" / "tmp" / digest / "chats"
        found = sorted(chats.glob(f"session-*-{agent.session_id[:8]}.json*"))
        if found:
            return found[0]
        started = _dt.datetime.fromtimestamp(agent.tracker.started_at, tz=_dt.timezone.utc)
        return chats / f"session-{started:%Y-%m-%dT%H-%M}-{agent.session_id[:8]}.jsonl"


conformance_adapter = adapter_for(HashedGeminiDirectory, "known-bad-obs-003-gemini-dir")
