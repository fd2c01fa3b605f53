"""ISO-005: the audit log is made "self-contained" by copying each finished agent's
own log lines into it (its text logs and its CLI's SQLite log), duplicating the
sub-agent logs seed 000 says it must not."""

from __future__ import annotations

from conformance.files import log_lines
from reference_impl.isolation import IsolationComponent
from reference_impl.isolation.jsonl import append_line
from reference_impl.orchestrator import Agent, ReferenceOrchestrator
from tests.known_bad._base import adapter_for

VIOLATES = "ISO-005"


class CopyingAudit(IsolationComponent):
    def on_end(self, agent: Agent, reason: str) -> None:
        super().on_end(agent, reason)
        for _source, line in log_lines(agent.home):
            append_line(self.audit.path, f"[{agent.agent_id}] {line}")


class CopiesAgentLogs(ReferenceOrchestrator):
    isolation_component_type = CopyingAudit


conformance_adapter = adapter_for(CopiesAgentLogs, "known-bad-iso-005")
