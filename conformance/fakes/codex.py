"""The fake Codex CLI: rollout files exactly where and as Codex writes them.

``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<uuid>.jsonl`` (local
time in the name); lines ``{"timestamp", "type", "payload"}`` with ``session_meta``
first; nine lines by the time the first user message is recorded and five more when
the turn completes (Codex CLI 0.169, measured). ``history.jsonl`` gets one line per
user prompt and ``log/`` a line per lifecycle event.

By default the file does not exist until the first turn completes (seed 002); see
:mod:`conformance.fakes.profiles` for the other moments.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from conformance.contract import BackendKind
from conformance.fakes.host import FakeSession, FakeTurn, JsonLine, iso_utc

CLI_VERSION = "0.169.0"


def _line(timestamp: float, kind: str, payload: dict[str, Any]) -> JsonLine:
    return {"timestamp": iso_utc(timestamp), "type": kind, "payload": payload}


def _user_message(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


class CodexFormat:
    """Where Codex puts a rollout and what its lines look like."""

    kind = BackendKind.CODEX

    def path(self, session: FakeSession) -> Path:
        local = _dt.datetime.fromtimestamp(session.started_at)
        day = session.home / "sessions" / f"{local:%Y}" / f"{local:%m}" / f"{local:%d}"
        return day / f"rollout-{local:%Y-%m-%dT%H-%M-%S}-{session.session_id}.jsonl"

    def opening_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        t = session.started_at
        meta = {
            "id": session.session_id,
            "timestamp": iso_utc(t),
            "cwd": str(session.cwd),
            "originator": "codex_exec",
            "cli_version": CLI_VERSION,
            "source": "exec",
            "instructions": None,
        }
        return [
            _line(t, "session_meta", meta),
            _line(t, "response_item", {
                "type": "message", "role": "developer",
                "content": [{"type": "input_text", "text": "<permissions instructions>"}],
            }),
            _line(t, "response_item", _user_message(
                f"<environment_context><cwd>{session.cwd}</cwd></environment_context>")),
            *self._turn_opening(session, turn),
            _line(t, "event_msg", {"type": "token_count", "info": None, "rate_limits": None}),
        ]

    def follow_up_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        return self._turn_opening(session, turn)[:4]

    def _turn_opening(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        t = turn.started_at
        return [
            _line(t, "turn_context", {
                "turn_id": turn.turn_id, "cwd": str(session.cwd), "approval_policy": "never",
                "sandbox_policy": {"type": "workspace-write"}, "model": "fake-model",
            }),
            _line(t, "event_msg", {"type": "task_started", "turn_id": turn.turn_id,
                                   "model_context_window": 272000}),
            _line(t, "response_item", _user_message(turn.prompt)),
            _line(t, "event_msg", {"type": "user_message", "message": turn.prompt,
                                   "images": []}),
            _line(t, "event_msg", {"type": "agent_reasoning_section_break"}),
        ]

    def completion_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        t = turn.completed_at if turn.completed_at is not None else turn.started_at
        final = turn.script.final
        return [
            _line(t, "response_item", {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": turn.script.thought}],
            }),
            _line(t, "event_msg", {"type": "agent_message", "message": final}),
            _line(t, "response_item", {
                "type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": final}],
            }),
            _line(t, "event_msg", {"type": "token_count", "info": {"total_token_usage": {
                "input_tokens": 1200, "output_tokens": 80, "total_tokens": 1280}}}),
            _line(t, "event_msg", {"type": "task_complete", "turn_id": turn.turn_id,
                                   "last_agent_message": final}),
        ]

    def history_line(self, session: FakeSession, turn: FakeTurn) -> JsonLine | None:
        return {"session_id": session.session_id, "ts": int(turn.started_at),
                "text": turn.prompt}

    def log_line(self, session: FakeSession, message: str) -> str | None:
        return f"{iso_utc(session.started_at)} INFO codex_core: {message}"
