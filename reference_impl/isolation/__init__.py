"""Isolation of sub-agents (seed 000): own homes, a clean main history, an audit log.

Each sub-agent gets ``<home>/agents/<agent_id>/`` as its home (``CODEX_HOME`` for
Codex, ``HOME`` for Claude Code and Gemini CLI) and ``<that>/tmp`` as its ``TMPDIR``,
so everything its process writes lands there. The main agent's ``history.jsonl``
records only that a sub-agent was invoked; ``log/multi-agent.log`` records
coordination events; nothing crosses between agents except by explicit export.
"""

from reference_impl.isolation.audit import AUDIT_LOG, AuditLog
from reference_impl.isolation.component import IsolationComponent, finish_status
from reference_impl.isolation.export import ExportError, export_agent
from reference_impl.isolation.history import HISTORY_FILE, Invocation, MainHistory, summarize
from reference_impl.isolation.ids import MAX_LENGTH, check_agent_id, validate_agent_id
from reference_impl.isolation.tempdirs import TempDirs

__all__ = [
    "AUDIT_LOG",
    "HISTORY_FILE",
    "MAX_LENGTH",
    "AuditLog",
    "ExportError",
    "Invocation",
    "IsolationComponent",
    "MainHistory",
    "TempDirs",
    "check_agent_id",
    "export_agent",
    "finish_status",
    "summarize",
    "validate_agent_id",
]
