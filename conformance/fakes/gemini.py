"""The fake Gemini CLI (``gemini -p``), per version.

Measured on Gemini CLI 0.61.0 (``shared/REAL_BACKENDS.md``, "Re-measured on
2026-12-01", and ``tests/fidelity/fixtures/gemini-0.61.0``), and read from the source
of 0.36.0, the last release with the one-document format:

* the project's short name is registered in ``~/.gemini/projects.json`` at start
  (a slug of the cwd's base name, ``-1``, ``-2`` on collisions:
  :func:`conformance.native.gemini_register_project`), with ``.project_root`` markers;
  chats live in ``~/.gemini/tmp/<short name>/chats/``;
* ``session-YYYY-MM-DDTHH-MM-<first 8 of the id>.jsonl``, the minute in UTC;
* 0.61.0, JSON Lines, first written at the first model request (the profile's window):
  the metadata record ``{sessionId, projectHash, startTime, lastUpdated, kind}``,
  ``{"$set": {"messages": [<session context>], "lastUpdated"}}``, the user message
  (``content`` a list of parts), ``{"$set": {"lastUpdated"}}`` (a staged open shows the
  first 2 alone); at completion the ``gemini`` message (``content`` a string,
  ``thoughts``, ``tokens``, ``model``) and a ``$set``; a later prompt writes user,
  ``$set`` / gemini, ``$set``;
* a resumed chat (``--resume latest``) gets a second metadata record, ``$set{messages}``,
  ``$set{sessionId}`` and ``$set{messages: the whole history}``; resumed in a later UTC
  minute, the metadata and the first ``$set`` go to a new file named for that minute,
  which is never written again, and the rest to the old file;
* 0.36.0: ``session-<minute>-<id8>.json``, one JSON document ``{sessionId, projectHash,
  startTime, lastUpdated, messages, kind}`` indented by 2, rewritten whole at every
  change, not written before the first message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance import native
from conformance.contract import BackendKind
from conformance.fakes.host import FakeSession, FakeTurn, FormatDefaults, JsonLine, iso_utc
from conformance.fakes.ids import hex_from, uuid4_from
from conformance.faults.injection import exempt

MODEL = "gemini-2.5-flash"
#: Lines of a 0.61.0 opening on disk at first sight when the open is staged. The real
#: CLI writes the metadata record and the ``$set`` record in two writes, and a watcher
#: has caught it between them (first sight ``[metadata]`` in a fidelity run, where
#: REAL_BACKENDS.md's first measurement saw both), so a staged open shows the first.
STAGED_FIRST = 1


def project_hash(cwd: Path) -> str:
    """The chat's ``projectHash`` (see :func:`conformance.native.gemini_project_hash`)."""
    return native.gemini_project_hash(cwd)


class GeminiFormat(FormatDefaults):
    """Where Gemini CLI puts a chat and what its lines look like."""

    kind = BackendKind.GEMINI

    def start(self, session: FakeSession) -> None:
        # The process's own writes: exempt from the harness's faults, and recorded as
        # what it wrote (the registry and the ownership markers, in its home).
        gemini = session.home / ".gemini"
        try:
            with exempt():
                name = native.gemini_register_project(session.home, session.cwd)
        except OSError as error:
            name = native.gemini_slug(session.cwd)
            session.lost.append((gemini / "projects.json", name, str(error)))
        else:
            for path in (gemini / "projects.json", gemini / "tmp" / name / ".project_root",
                         gemini / "history" / name / ".project_root"):
                session.written.append((path.resolve(), str(session.cwd)))
        session.state["project"] = name

    def path(self, session: FakeSession) -> Path:
        return native.gemini_chat_path(session.home, session.state["project"],
                                       session.started_at, session.session_id,
                                       document=session.profile.document_format)

    def turn_id(self, session: FakeSession, index: int, at: float) -> str:
        return f"{session.session_id}########{index}"

    def staged_first(self, session: FakeSession) -> int:
        return STAGED_FIRST

    # -- records -------------------------------------------------------------------------

    def _metadata(self, session: FakeSession, at: float) -> JsonLine:
        moment = iso_utc(at)
        return {"sessionId": session.session_id, "projectHash": project_hash(session.cwd),
                "startTime": moment, "lastUpdated": moment, "kind": "main"}

    def _context(self, session: FakeSession, at: float) -> JsonLine:
        return {"id": hex_from(f"{session.session_id}/context"), "timestamp": iso_utc(at),
                "type": "user", "content": [{"text": (
                    "<session_context>\nThis is the Gemini CLI. We are setting up the "
                    "context for our chat.\n</session_context>")}]}

    def _user(self, session: FakeSession, turn: FakeTurn) -> JsonLine:
        return {"id": uuid4_from(f"{turn.turn_id}/user"), "timestamp": iso_utc(turn.started_at),
                "type": "user", "content": [{"text": turn.prompt}]}

    def _gemini(self, session: FakeSession, turn: FakeTurn, at: float) -> JsonLine:
        thought = turn.script.thought
        thoughts = ([{"subject": "Thinking", "description": thought, "timestamp": iso_utc(at)}]
                    if thought else [])
        return {"id": uuid4_from(f"{turn.turn_id}/gemini"), "timestamp": iso_utc(at),
                "type": "gemini", "content": turn.script.final, "thoughts": thoughts,
                "tokens": {"input": 170, "output": 6, "cached": 0, "thoughts": 0, "tool": 0,
                           "total": 176}, "model": MODEL}

    @staticmethod
    def _touch(at: float) -> JsonLine:
        return {"$set": {"lastUpdated": iso_utc(at)}}

    def _messages(self, session: FakeSession) -> list[JsonLine]:
        """The conversation so far: what a ``$set{messages}`` of a resume carries."""
        history = [self._context(session, session.started_at)]
        for turn in session.turns:
            if turn.completed_at is None and turn.generation != session.generation:
                continue
            history.append(self._user(session, turn))
            if turn.completed_at is not None:
                history.append(self._gemini(session, turn, turn.completed_at))
        return history

    # -- turns ---------------------------------------------------------------------------

    def opening_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        t = turn.started_at
        if session.profile.document_format:
            return [self._user(session, turn)]
        return [
            self._metadata(session, session.started_at),
            {"$set": {"messages": [self._context(session, t)], "lastUpdated": iso_utc(t)}},
            self._user(session, turn),
            self._touch(t),
        ]

    def follow_up_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        if session.profile.document_format:
            return [self._user(session, turn)]
        return [self._user(session, turn), self._touch(turn.started_at)]

    def completion_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]:
        t = turn.completed_at if turn.completed_at is not None else turn.started_at
        if session.profile.document_format:
            return [self._gemini(session, turn, t)]
        return [self._gemini(session, turn, t), self._touch(t)]

    def _reopening(self, session: FakeSession, at: float) -> list[JsonLine]:
        return [self._metadata(session, at),
                {"$set": {"messages": [self._context(session, at)],
                          "lastUpdated": iso_utc(at)}}]

    def _later_minute(self, session: FakeSession, at: float) -> bool:
        return int(at // 60) != int(session.started_at // 60)

    def resume_lines(self, session: FakeSession, at: float) -> list[JsonLine]:
        if session.profile.document_format:
            return []  # the document's sessionId is set again: no visible change
        rest: list[JsonLine] = [{"$set": {"sessionId": session.session_id}},
                                {"$set": {"messages": self._messages(session),
                                          "lastUpdated": iso_utc(at)}}]
        if self._later_minute(session, at):
            return rest  # the reopening lines went to a new file (resume_file)
        return [*self._reopening(session, at), *rest]

    def resume_file(self, session: FakeSession, at: float) -> tuple[Path, list[JsonLine]] | None:
        if session.profile.document_format or not self._later_minute(session, at):
            return None
        path = native.gemini_chat_path(session.home, session.state["project"], at,
                                       session.session_id)
        if path == session.path:
            return None
        return path, self._reopening(session, at)

    def document(self, session: FakeSession) -> str:
        last = session.records[-1].get("timestamp") if session.records else None
        document: dict[str, Any] = {
            "sessionId": session.session_id, "projectHash": project_hash(session.cwd),
            "startTime": iso_utc(session.started_at),
            "lastUpdated": last or iso_utc(session.started_at),
            "messages": session.records, "kind": "main"}
        return json.dumps(document, indent=2, ensure_ascii=False)
