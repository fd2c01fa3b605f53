"""The fake Codex CLI: rollout files exactly where and as ``codex exec`` writes them.

Measured on Codex CLI 0.169.0 and 0.171.0 (``shared/REAL_BACKENDS.md``, "Re-measured on
2026-12-01", and ``tests/fidelity/fixtures/codex-*``; the two versions agree on every
point below):

* ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<id>.jsonl``, the date
  and the time of the process's **local** time zone; session and turn ids are UUIDv7;
* every line ``{"timestamp", "ordinal", "type", "payload"}`` (``ordinal`` contiguous from 0
  across turns; ``response_item`` lines add a ``metadata`` object);
* at the first submitted prompt, 9 lines: ``session_meta``, ``event_msg/task_started``,
  a developer and an ``<environment_context>`` ``response_item``, ``world_state``,
  ``turn_context``, ``event_msg/thread_settings_applied``, the user's ``response_item``
  and ``event_msg/item_completed`` (``UserMessage``); sometimes only the first 2 are on
  disk for a moment (the profile's ``staged_open``);
* at turn completion, 5: ``item_completed`` (``AgentMessage``), the assistant
  ``response_item``, ``token_usage_record``, ``event_msg/token_count``,
  ``event_msg/task_complete`` (its ``last_agent_message`` is the final answer); a later
  turn opens with 5: ``thread_settings_applied``, ``task_started``, ``turn_context``, the
  user's message and its ``item_completed``;
* no ``event_msg/user_message`` or ``agent_message`` line, no ``history.jsonl``
  (``codex exec`` writes none) and no ``log/`` directory: logs go to
  ``logs_2.sqlite`` in ``CODEX_HOME``.

When the file first appears is the profile's (:mod:`conformance.fakes.profiles`): by
default seed 002's world, where it does not exist until the first turn completes.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from conformance import native
from conformance.contract import BackendKind
from conformance.fakes.host import FakeSession, FakeTurn, FormatDefaults, JsonLine, iso_utc
from conformance.fakes.ids import uuid7

MODEL = "gpt-5.5"
#: How many of the opening lines a staged open writes first (``session_meta`` and
#: ``task_started``).
STAGED_FIRST = 2


class CodexFormat(FormatDefaults):
    """Where Codex puts a rollout and what its lines look like."""

    kind = BackendKind.CODEX

    def session_id(self, seed: str, now: float) -> str:
        return uuid7(seed, now)

    def path(self, session: FakeSession) -> Path:
        return native.codex_rollout_path(session.home, session.started_at, session.session_id)

    def turn_id(self, session: FakeSession, index: int, at: float) -> str:
        return uuid7(f"{session.session_id}/turn/{index}", at)

    def staged_first(self, session: FakeSession) -> int:
        return STAGED_FIRST

    # -- lines ---------------------------------------------------------------------------

    def _line(self, session: FakeSession, at: float, kind: str, payload: dict[str, Any],
              metadata: dict[str, Any] | None = None) -> JsonLine:
        line: JsonLine = {"timestamp": iso_utc(at), "ordinal": session.ordinal, "type": kind,
                          "payload": payload}
        if metadata is not None:
            line["metadata"] = metadata
        session.ordinal += 1
        return line

    def _message(self, session: FakeSession, turn: FakeTurn, role: str, text: str,
                 at: float, content_type: str = "input_text") -> JsonLine:
        message_id = "msg_" + uuid7(f"{session.session_id}/{turn.index}/{role}/{text[:20]}", at)
        payload: dict[str, Any] = {
            "type": "message", "id": message_id, "role": role,
            "content": [{"type": content_type, "text": text}],
            "internal_chat_message_metadata_passthrough": {"turn_id": turn.turn_id},
        }
        if role == "assistant":
            payload["status"] = "completed"
        metadata = {"history_sequence": session.ordinal, "client_authored": role == "user"}
        return self._line(session, at, "response_item", payload, metadata)

    def _event(self, session: FakeSession, at: float, payload: dict[str, Any]) -> JsonLine:
        return self._line(session, at, "event_msg", payload)

    def _task_started(self, session: FakeSession, turn: FakeTurn) -> JsonLine:
        return self._event(session, turn.started_at, {
            "type": "task_started",
            "turn_attribution": {"turn_id": turn.turn_id, "turn_trigger": "exec",
                                 "parent_turn_id": None, "root_turn_id": turn.turn_id},
            "turn_id": turn.turn_id, "root_turn_id": turn.turn_id,
            "started_at": int(turn.started_at), "model_context_window": 258400,
            "collaboration_mode_kind": "default"})

    def _turn_context(self, session: FakeSession, turn: FakeTurn) -> JsonLine:
        return self._line(session, turn.started_at, "turn_context", {
            "turn_id": turn.turn_id, "root_turn_id": turn.turn_id, "cwd": str(session.cwd),
            "approval_policy": "never", "model": MODEL, "summary": "none",
            "sandbox_policy": {"type": "read-only"}})

    def _settings_applied(self, session: FakeSession, turn: FakeTurn) -> JsonLine:
        return self._event(session, turn.started_at, {
            "type": "thread_settings_applied", "thread_id": session.session_id,
            "thread_settings": {"model": MODEL, "cwd": str(session.cwd),
                                "approval_policy": "never"}})

    def _user(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        at = turn.started_at
        return [
            self._message(session, turn, "user", turn.prompt, at),
            self._event(session, at, {
                "type": "item_completed", "thread_id": session.session_id,
                "turn_id": turn.turn_id,
                "item": {"type": "UserMessage", "id": uuid7(f"{turn.turn_id}/user", at),
                         "content": [{"type": "text", "text": turn.prompt,
                                      "text_elements": []}]},
                "started_at_ms": int(at * 1000), "completed_at_ms": int(at * 1000)}),
        ]

    def opening_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        t = session.started_at
        meta = {
            "account_scoped": True, "session_id": session.session_id, "id": session.session_id,
            "timestamp": iso_utc(t), "cwd": str(session.cwd),
            "runtime_workspace_roots": [str(session.cwd)], "originator": "codex_exec",
            "cli_version": session.profile.version, "source": "exec",
            "thread_source": "user", "model_provider": "openai",
            "base_instructions": {"text": "You are Codex, a coding agent.",
                                  "provenance": {"type": "model", "model": MODEL}},
            "history_mode": "full", "context_window": {"window_id": session.session_id},
        }
        local = _dt.datetime.fromtimestamp(t)
        return [
            self._line(session, t, "session_meta", meta),
            self._task_started(session, turn),
            self._message(session, turn, "developer", "<permissions instructions>", t),
            self._message(session, turn, "user", (
                f"<environment_context>\n  <cwd>{session.cwd}</cwd>\n  <shell>bash</shell>\n"
                f"  <current_date>{local:%Y-%m-%d}</current_date>\n"
                "</environment_context>"), t),
            self._line(session, t, "world_state", {"full": True, "state": {
                "environments": {"current_date": f"{local:%Y-%m-%d}",
                                 "timezone": "Etc/UTC"}}}),
            self._turn_context(session, turn),
            self._settings_applied(session, turn),
            *self._user(session, turn),
        ]

    def follow_up_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        return [self._settings_applied(session, turn), self._task_started(session, turn),
                self._turn_context(session, turn), *self._user(session, turn)]

    def _reasoning(self, session: FakeSession, turn: FakeTurn, at: float) -> list[JsonLine]:
        """The reasoning lines a turn writes when the model returned reasoning."""
        thought = turn.script.thought
        if not thought:
            return []
        return [
            self._event(session, at, {
                "type": "item_completed", "thread_id": session.session_id,
                "turn_id": turn.turn_id,
                "item": {"type": "Reasoning", "id": f"rs_{turn.turn_id[:18]}",
                         "summary_text": [thought], "raw_content": []},
                "started_at_ms": int(at * 1000), "completed_at_ms": int(at * 1000)}),
            self._line(session, at, "response_item", {
                "type": "reasoning", "id": f"rs_{turn.turn_id[:18]}",
                "summary": [{"type": "summary_text", "text": thought}],
                "content": None, "encrypted_content": None},
                {"history_sequence": session.ordinal, "client_authored": False}),
        ]

    def completion_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        t = turn.completed_at if turn.completed_at is not None else turn.started_at
        final = turn.script.final
        usage = {"input_tokens": 6960, "cached_input_tokens": 0, "output_tokens": 6,
                 "reasoning_output_tokens": 0, "total_tokens": 6966}
        return [
            *self._reasoning(session, turn, t),
            self._event(session, t, {
                "type": "item_completed", "thread_id": session.session_id,
                "turn_id": turn.turn_id,
                "item": {"type": "AgentMessage", "id": f"msg_{turn.turn_id[:18]}",
                         "content": [{"type": "Text", "text": final}]},
                "started_at_ms": int(t * 1000), "completed_at_ms": int(t * 1000)}),
            self._message(session, turn, "assistant", final, t, "output_text"),
            self._line(session, t, "token_usage_record", {
                "thread_id": session.session_id, "turn_id": turn.turn_id,
                "session_id": session.session_id, "root_turn_id": turn.turn_id,
                "response_id": f"resp_{turn.turn_id[:18]}", "usage": usage,
                "turn_token_usage": usage, "thread_token_usage": usage}),
            self._event(session, t, {"type": "token_count", "info": {
                "total_token_usage": usage, "last_token_usage": usage,
                "model_context_window": 258400}, "rate_limits": None}),
            self._event(session, t, {
                "type": "task_complete", "root_turn_id": turn.turn_id, "turn_id": turn.turn_id,
                "last_agent_message": final, "started_at": int(turn.started_at),
                "completed_at": int(t), "duration_ms": int((t - turn.started_at) * 1000),
                "time_to_first_token_ms": int((t - turn.started_at) * 1000)}),
        ]

    def log_line(self, session: FakeSession, message: str) -> str | None:
        return message

    def log_store(self, session: FakeSession) -> Path | None:
        return session.home / "logs_2.sqlite"

    def notification(self, session: FakeSession, turn: FakeTurn) -> dict[str, Any]:
        return {**super().notification(session, turn), "client": "codex_exec"}
