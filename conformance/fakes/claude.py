"""The fake Claude Code CLI (``claude -p``).

Transcript at ``$HOME/.claude/projects/<cwd with / and . replaced by ->/<uuid>.jsonl``,
first written 0.6-0.9 s after start (at the first model request, before its answer)
with five lines, and two more when the turn completes (Claude Code 2.1.328, measured).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from conformance.contract import BackendKind
from conformance.fakes.host import FakeSession, FakeTurn, JsonLine, iso_utc

CLI_VERSION = "2.1.328"


def project_dir_name(cwd: Path) -> str:
    """Claude Code's directory name for a working directory."""
    return str(cwd).replace("/", "-").replace(".", "-")


class ClaudeFormat:
    """Where Claude Code puts a transcript and what its lines look like."""

    kind = BackendKind.CLAUDE

    def path(self, session: FakeSession) -> Path:
        projects = session.home / ".claude" / "projects"
        return projects / project_dir_name(session.cwd) / f"{session.session_id}.jsonl"

    def _entry(
        self, session: FakeSession, turn: FakeTurn, n: int, kind: str, at: float,
        **extra: Any,
    ) -> JsonLine:
        entry_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{session.session_id}/{turn.index}/{n}")
        return {
            "type": kind, "sessionId": session.session_id, "uuid": str(entry_id),
            "timestamp": iso_utc(at), "cwd": str(session.cwd), "version": CLI_VERSION,
            "userType": "external", "isSidechain": False, **extra,
        }

    def opening_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        return self._turn_opening(session, turn)

    def follow_up_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        return self._turn_opening(session, turn)

    def _turn_opening(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        t = turn.started_at
        return [
            self._entry(session, turn, 0, "queue-operation", t, operation="enqueue",
                        content=turn.prompt),
            self._entry(session, turn, 1, "queue-operation", t, operation="dequeue"),
            self._entry(session, turn, 2, "user", t,
                        message={"role": "user", "content": turn.prompt}),
            self._entry(session, turn, 3, "system", t, subtype="init", model="fake-model"),
            self._entry(session, turn, 4, "attachment", t, attachment={"type": "todo",
                                                                       "items": []}),
        ]

    def completion_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        t = turn.completed_at if turn.completed_at is not None else turn.started_at
        return [
            self._entry(session, turn, 5, "assistant", t, message={
                "role": "assistant",
                "content": [{"type": "thinking", "thinking": turn.script.thought}]}),
            self._entry(session, turn, 6, "assistant", t, message={
                "role": "assistant",
                "content": [{"type": "text", "text": turn.script.final}]}),
        ]

    def history_line(self, session: FakeSession, turn: FakeTurn) -> JsonLine | None:
        return None

    def log_line(self, session: FakeSession, message: str) -> str | None:
        return None
