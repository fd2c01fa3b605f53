"""The main agent's history: that a sub-agent was invoked, never what it said.

Seed 000: the primary ``history.jsonl`` may hold a high-level event per sub-agent
invocation (agent id, prompt summary, final-output summary, duration, status) and
never token-level or intermediate output. Each invocation writes two lines, one when
it starts and one when it finishes, because the file is append-only: a line is never
rewritten to add the outcome. A resume starts a new invocation.

Line shape (``type`` tells them apart from the main agent's own prompt lines)::

    {"type": "subagent_invocation", "event": "started" | "finished",
     "agent_id": ..., "backend": ..., "session_id": ..., "ts": <unix seconds>,
     "started_at": ISO, "finished_at": ISO | null, "status": ...,
     "prompt_summary": ..., "output_summary": ... | null, "duration_s": ... | null}

``status`` is ``running`` on a start line and ``succeeded``, ``failed`` or
``closed`` on a finish line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reference_impl.isolation.jsonl import append_jsonl, iso_utc

HISTORY_FILE = "history.jsonl"
ENTRY_TYPE = "subagent_invocation"
#: Longest summary written, in characters (the suite allows up to 200).
SUMMARY_LENGTH = 120


def summarize(text: str | None, limit: int = SUMMARY_LENGTH) -> str:
    """One line of at most ``limit`` characters: whitespace collapsed, cut with '...'."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


@dataclass
class Invocation:
    """One life of a sub-agent, from spawn or resume to its end."""

    agent_id: str
    backend: str
    session_id: str
    started_at: float
    prompt: str
    resumed: bool = False
    #: The last final answer seen (a turn-complete notification), if any.
    last_output: str | None = None


class MainHistory:
    """Writes invocation entries to ``<home>/history.jsonl``."""

    def __init__(self, home: Path) -> None:
        self.path = home / HISTORY_FILE

    def started(self, invocation: Invocation) -> None:
        self._write(invocation, "started", None, "running")

    def finished(self, invocation: Invocation, finished_at: float, status: str) -> None:
        self._write(invocation, "finished", finished_at, status)

    def _write(self, invocation: Invocation, event: str, finished_at: float | None,
               status: str) -> None:
        now = finished_at if finished_at is not None else invocation.started_at
        append_jsonl(self.path, {
            "type": ENTRY_TYPE,
            "event": event,
            "agent_id": invocation.agent_id,
            "backend": invocation.backend,
            "session_id": invocation.session_id,
            "ts": int(now),
            "started_at": iso_utc(invocation.started_at),
            "finished_at": None if finished_at is None else iso_utc(finished_at),
            "status": status,
            "resumed": invocation.resumed,
            "prompt_summary": summarize(invocation.prompt),
            "output_summary": None if finished_at is None else summarize(
                invocation.last_output),
            "duration_s": None if finished_at is None else round(
                finished_at - invocation.started_at, 3),
        })
