"""The fake Claude Code CLI (``claude -p``), per version.

Measured on Claude Code 2.1.197 and 2.1.328 (``shared/REAL_BACKENDS.md``, "Re-measured
on 2026-12-01", and ``tests/fidelity/fixtures/claude-*``):

* ``$HOME/.claude/projects/<dir>/<session id>.jsonl``, ``<dir>`` the cwd with every
  character that is not a letter or digit replaced by ``-``
  (:func:`conformance.native.claude_project_dir`); first written at the first model
  request (the profile's window), before the answer;
* lines of different shapes: ``queue-operation`` ``{type, operation, timestamp,
  sessionId[, content]}``; ``last-prompt``, ``mode``, ``atis-latch``, ``cost-state`` and
  ``api-request-blob`` without ``timestamp``; those and ``api-request*`` without
  ``uuid``; ``user``, ``attachment``, ``assistant`` with a ``parentUuid`` chain (null on
  the first, then across turns and resumes); no ``system/init`` entry;
* an assistant message is one entry per content block, sharing ``message.id`` (a
  thinking block, then the text whose entry carries ``stop_reason``);
* 2.1.197: 5 lines at creation (``queue-operation`` enqueue and dequeue, ``user``,
  ``attachment`` ``agent_listing_delta`` and ``skill_listing``), 2 at completion
  (``assistant``, ``last-prompt``); a resumed turn 3 + 3 (``mode`` last);
* 2.1.328: 19 at creation (13 at first sight for a staged open: the attachments up to
  ``prompt_snapshot``; then ``api-request-shape``, two ``api-request-blob``,
  ``api-request``, ``last-prompt``, ``atis-latch``), 5 at completion (``assistant``,
  ``attachment/prompt_snapshot``, ``last-prompt``, ``atis-latch``, ``cost-state``); a
  resumed turn 4 + 4 (``mode`` before ``cost-state``).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from conformance import native
from conformance.contract import BackendKind
from conformance.fakes.host import FakeSession, FakeTurn, FormatDefaults, JsonLine, iso_utc
from conformance.fakes.ids import hex_from, uuid4_from

MODELS = {"2.1.197": "claude-opus-4-8", "2.1.328": "claude-opus-5-5"}
#: Lines of a 2.1.328 opening on disk at first sight when the open is staged.
STAGED_FIRST_2_1_328 = 13


def project_dir_name(cwd: Path) -> str:
    """Claude Code's directory name for a working directory (see :mod:`conformance.native`)."""
    return native.claude_project_dir(cwd)


class ClaudeFormat(FormatDefaults):
    """Where Claude Code puts a transcript and what its lines look like."""

    kind = BackendKind.CLAUDE

    def path(self, session: FakeSession) -> Path:
        # ``CLAUDE_CONFIG_DIR`` replaces ``~/.claude`` (its ``projects/`` holds the
        # transcripts); without it, the home is the user's.
        config = session.env.get("CLAUDE_CONFIG_DIR")
        if config:
            return (Path(config) / "projects" / native.claude_project_dir(session.cwd)
                    / f"{session.session_id}.jsonl")
        return native.claude_transcript_path(session.home, session.cwd, session.session_id)

    def turn_id(self, session: FakeSession, index: int, at: float) -> str:
        # The user entry's promptId: what the Stop hook reports as prompt_id.
        return uuid4_from(f"{session.session_id}/prompt/{index}")

    def staged_first(self, session: FakeSession) -> int:
        return STAGED_FIRST_2_1_328 if self._new(session) else 0

    @staticmethod
    def _new(session: FakeSession) -> bool:
        return session.profile.version != "2.1.197"

    # -- entries --------------------------------------------------------------------------

    def _chained(self, session: FakeSession, turn: FakeTurn, kind: str, at: float,
                 body: dict[str, Any], tail: dict[str, Any] | None = None) -> JsonLine:
        """A ``user``/``attachment``/``assistant``/``system`` entry: it has a uuid and a
        parent, and becomes the leaf of the chain."""
        serial = session.state.get("serial", 0)
        session.state["serial"] = serial + 1
        entry_id = uuid4_from(f"{session.session_id}/entry/{serial}")
        entry: JsonLine = {"parentUuid": session.state.get("leaf"), "isSidechain": False,
                           **body, "type": kind, "uuid": entry_id, "timestamp": iso_utc(at),
                           **(tail or {}), "userType": "external", "entrypoint": "sdk-cli",
                           "cwd": str(session.cwd), "sessionId": session.session_id,
                           "version": session.profile.version, "gitBranch": "HEAD"}
        session.state["leaf"] = entry_id
        return entry

    def _queue(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        at = iso_utc(turn.started_at)
        return [{"type": "queue-operation", "operation": "enqueue", "timestamp": at,
                 "sessionId": session.session_id, "content": turn.prompt},
                {"type": "queue-operation", "operation": "dequeue", "timestamp": at,
                 "sessionId": session.session_id}]

    def _user(self, session: FakeSession, turn: FakeTurn) -> JsonLine:
        tail: dict[str, Any] = {"permissionMode": "default", "promptSource": "sdk"}
        if self._new(session):
            tail |= {"turnOrigin": "sdk",
                     "turnPosition": {"promptIndex": 0, "turnIndex": turn.index + 1}}
        return self._chained(session, turn, "user", turn.started_at, {
            "promptId": turn.turn_id,
            "message": {"role": "user", "content": turn.prompt}}, tail)

    def _attachment(self, session: FakeSession, turn: FakeTurn, at: float,
                    attachment: dict[str, Any]) -> JsonLine:
        return self._chained(session, turn, "attachment", at, {"attachment": attachment})

    def _bare(self, session: FakeSession, kind: str, **fields: Any) -> JsonLine:
        """An entry without uuid (and, unless given, without timestamp)."""
        return {"type": kind, "sessionId": session.session_id, **fields}

    def _last_prompt(self, session: FakeSession, turn: FakeTurn) -> JsonLine:
        return {"type": "last-prompt", "lastPrompt": turn.prompt,
                "leafUuid": session.state.get("leaf"), "sessionId": session.session_id}

    def _api_request(self, session: FakeSession, turn: FakeTurn) -> JsonLine:
        request = uuid4_from(f"{turn.turn_id}/request")
        session.state["request"] = request
        return self._bare(session, "api-request", id=request,
                          timestamp=iso_utc(turn.started_at),
                          version=session.profile.version, querySource="sdk",
                          shapeHash=hex_from(f"{session.session_id}/shape", 64), keep=0,
                          tail=[hex_from(f"{turn.turn_id}/blob", 64)])

    # -- turns ---------------------------------------------------------------------------

    def opening_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        t = turn.started_at
        lines = [*self._queue(session, turn), self._user(session, turn)]
        if not self._new(session):
            return [*lines,
                    self._attachment(session, turn, t, {
                        "type": "agent_listing_delta",
                        "addedTypes": ["claude", "Explore", "general-purpose", "Plan"],
                        "addedLines": ["- claude: Catch-all for any task."]}),
                    self._attachment(session, turn, t, {
                        "type": "skill_listing", "content": "- review: Review a change.",
                        "skillCount": 1, "isInitial": True, "names": ["review"]})]
        model = MODELS[session.profile.version]
        local = _dt.datetime.fromtimestamp(t)
        shape = hex_from(f"{session.session_id}/shape", 64)
        return [
            *lines,
            self._attachment(session, turn, t, {"type": "environment", "snapshot": {
                "workingDirectory": str(session.cwd), "isWorktree": False,
                "isGitRepo": False, "platform": "linux", "shell": "bash"}}),
            self._attachment(session, turn, t, {"type": "model",
                                                "identity": {"modelId": model}}),
            self._attachment(session, turn, t, {"type": "deferred_tools_delta",
                                                "addedNames": [], "removedNames": []}),
            self._attachment(session, turn, t, {
                "type": "agent_listing_delta", "addedTypes": ["claude", "Explore", "Plan"],
                "isInitial": True}),
            self._attachment(session, turn, t, {"type": "skill_listing", "skillCount": 1,
                                                "isInitial": True, "names": ["review"]}),
            self._bare(session, "atis-latch", atis=""),
            self._attachment(session, turn, t, {"type": "session_context", "context": {}}),
            self._attachment(session, turn, t, {"type": "date", "date": f"{local:%Y-%m-%d}"}),
            self._attachment(session, turn, t, {"type": "remote_session_change", "url": None}),
            self._attachment(session, turn, t, {"type": "prompt_snapshot",
                                                "systemPrompt": "You are Claude Code."}),
            # -- 13 lines: what a staged open shows first; then the model request.
            self._bare(session, "api-request-shape", shapeHash=shape, timestamp=iso_utc(t),
                       version=session.profile.version, shape={"tools": []}),
            self._bare(session, "api-request-blob", hash=hex_from(f"{turn.turn_id}/sys", 64),
                       message={"role": "system"}),
            self._bare(session, "api-request-blob", hash=hex_from(f"{turn.turn_id}/blob", 64),
                       message={"role": "user", "content": turn.prompt}),
            self._api_request(session, turn),
            self._last_prompt(session, turn),
            self._bare(session, "atis-latch", atis=""),
        ]

    def follow_up_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        lines = [*self._queue(session, turn), self._user(session, turn)]
        if self._new(session):
            lines.append(self._api_request(session, turn))
        return lines

    def _assistant(self, session: FakeSession, turn: FakeTurn, at: float) -> list[JsonLine]:
        """One entry per content block of the answer, sharing ``message.id``."""
        model = MODELS[session.profile.version]
        message_id = f"msg_{hex_from(f'{turn.turn_id}/message', 24)}"
        blocks: list[tuple[dict[str, Any], str | None]] = []
        if turn.script.thought:
            blocks.append(({"type": "thinking", "thinking": turn.script.thought,
                            "signature": ""}, None))
        blocks.append(({"type": "text", "text": turn.script.final}, "end_turn"))
        entries = []
        for index, (block, stop) in enumerate(blocks):
            tail: dict[str, Any] = {}
            body: dict[str, Any] = {"message": {
                "id": message_id, "type": "message", "role": "assistant", "model": model,
                "content": [block], "stop_reason": stop, "stop_sequence": None,
                "usage": {"input_tokens": 1661, "output_tokens": 6}, "stop_details": None}}
            if self._new(session):
                body |= {"apiBlockIndex": index, "requestRef": session.state.get("request"),
                         "requestedModel": model, "promptCacheRequested": "5m"}
                tail = {"effort": "medium", "perTurnEffort": "medium", "madeBy": "model"}
            entries.append(self._chained(session, turn, "assistant", at, body, tail))
        return entries

    def completion_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        t = turn.completed_at if turn.completed_at is not None else turn.started_at
        lines = self._assistant(session, turn, t)
        opening = turn.index == 0 and not turn.after_resume
        if self._new(session) and opening:
            lines.append(self._attachment(session, turn, t, {
                "type": "prompt_snapshot", "systemPrompt": "You are Claude Code."}))
        lines.append(self._last_prompt(session, turn))
        if self._new(session) and opening:
            lines.append(self._bare(session, "atis-latch", atis=""))
        if turn.after_resume:
            lines.append(self._bare(session, "mode", mode="normal"))
        if self._new(session):
            lines.append(self._bare(session, "cost-state", totalCostUSD=0.0,
                                    totalDuration=int((t - session.started_at) * 1000)))
        return lines
