"""The fake Gemini CLI (``gemini -p``).

Chat file at ``$HOME/.gemini/tmp/<project>/chats/session-YYYY-MM-DDTHH-MM-<first 8 of
session id>.jsonl``, first written 0.9-1.2 s after start with two lines: the metadata
record ``{sessionId, projectHash, startTime, lastUpdated, kind}`` and a ``{"$set": ...}``
record (Gemini CLI 0.61.0, measured). Messages follow as the turn progresses.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path

from conformance.contract import BackendKind
from conformance.fakes.host import FakeSession, FakeTurn, JsonLine, iso_utc

CLI_VERSION = "0.61.0"


def project_hash(cwd: Path) -> str:
    return hashlib.sha256(str(cwd).encode()).hexdigest()


class GeminiFormat:
    """Where Gemini CLI puts a chat and what its lines look like."""

    kind = BackendKind.GEMINI

    def path(self, session: FakeSession) -> Path:
        local = _dt.datetime.fromtimestamp(session.started_at, tz=_dt.timezone.utc)
        name = f"session-{local:%Y-%m-%dT%H-%M}-{session.session_id[:8]}.jsonl"
        return session.home / ".gemini" / "tmp" / project_hash(session.cwd) / "chats" / name

    def opening_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        t = iso_utc(session.started_at)
        return [
            {"sessionId": session.session_id, "projectHash": project_hash(session.cwd),
             "startTime": t, "lastUpdated": t, "kind": "main"},
            {"$set": {"lastUpdated": t}},
        ]

    def follow_up_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        return [{"$set": {"lastUpdated": iso_utc(turn.started_at)}}]

    def completion_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        t = turn.completed_at if turn.completed_at is not None else turn.started_at
        return [
            {"id": f"{turn.turn_id}-user", "timestamp": iso_utc(turn.started_at),
             "type": "user", "content": turn.prompt},
            {"id": f"{turn.turn_id}-gemini", "timestamp": iso_utc(t), "type": "gemini",
             "content": turn.script.final,
             "thoughts": [{"subject": "thinking", "description": turn.script.thought}]},
            {"$set": {"lastUpdated": iso_utc(t)}},
        ]

    def history_line(self, session: FakeSession, turn: FakeTurn) -> JsonLine | None:
        return None

    def log_line(self, session: FakeSession, message: str) -> str | None:
        return None
