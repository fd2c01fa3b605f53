"""OBS-003: Claude Code's transcript looked for where an older rule puts it.

The orchestrator derives the project directory by replacing only ``/`` and ``.`` of
the cwd with ``-`` (what Claude Code was long believed to do, and what the fakes did
before they were measured again). The real rule replaces every character that is not
a letter or digit, so with a workspace whose name has ``_``, a space, ``@``, ``+`` or
a non-ASCII letter the reported transcript does not exist.
"""

from __future__ import annotations

from pathlib import Path

from conformance.contract import BackendKind
from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "OBS-003"


class OldClaudeDirectoryRule(ReferenceOrchestrator):
    def _locate(self, agent: Agent) -> Path | None:
        if agent.backend is not BackendKind.CLAUDE:
            return super()._locate(agent)
        home = agent.backend_home or agent.home
        name = str(agent.cwd).replace("/", "-").replace(".", "-")
        return home / ".claude" / "projects" / name / f"{agent.session_id}.jsonl"


conformance_adapter = adapter_for(OldClaudeDirectoryRule, "known-bad-obs-003-claude-dir")
