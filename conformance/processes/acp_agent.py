"""The agent side of the Agent Client Protocol, for the fakes' ACP mode (``gemini --acp``).

A fake in ACP mode is a pipe (:meth:`conformance.processes.puppet.Puppet.run_acp`):
each JSON-RPC line its client writes on stdin comes to the harness, which answers
here, on the fake host of the process, with the lines the fake prints. What the real
Gemini CLI 0.61.0 does, measured with ``--acp`` against a mock model:

* ``initialize`` answers ``protocolVersion`` 1, its ``agentCapabilities`` and its
  ``authMethods``;
* ``session/new`` (``cwd``, ``mcpServers``) answers a ``sessionId`` with its modes;
* ``session/prompt`` streams ``session/update`` notifications (message chunks,
  thoughts, plans, tool calls) and answers ``{"stopReason": "end_turn"}`` when the turn
  is over; the same process takes the next prompt;
* the end of stdin ends the process (status 0).

Played here: one session per process, started on the fake host at its first prompt
(the real CLI writes its chat file at ``session/new``; the fake writes it at the
first prompt, as ``gemini -p`` does); ``session/load`` of a session of the same home
(its turns replayed as ``user_message_chunk`` and ``agent_message_chunk`` updates);
``session/cancel`` answers the running prompt ``cancelled`` (the fake host's turn runs
on in the files). Not played: ``authenticate`` beyond an empty answer,
``session/set_mode``, and permission requests to the client (the fake host asks no
approvals of a process).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.contract import BackendKind
from conformance.errors import BackendError
from conformance.fakes.host import FakeSessionHost

#: The protocol version the fake speaks (the one Gemini CLI 0.61.0 answers).
PROTOCOL_VERSION = 1
#: JSON-RPC error codes.
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

Message = dict[str, Any]


@dataclass
class AcpState:
    """What one ACP process has said and been asked."""

    #: The session ``session/new`` or ``session/load`` named, and its working directory.
    session_id: str | None = None
    cwd: Path | None = None
    started: bool = False
    #: The JSON-RPC id of the ``session/prompt`` each running turn answers.
    prompts: dict[str, Any] = field(default_factory=dict)


def prompt_text(blocks: object) -> str:
    """The text a prompt's content blocks give the model (links and resources by name)."""
    parts: list[str] = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(str(block.get("text", "")))
        elif kind == "resource_link":
            parts.append(f"@{block.get('uri', '')}")
        elif kind == "resource":
            resource = block.get("resource")
            uri = resource.get("uri") if isinstance(resource, Mapping) else ""
            parts.append(f"@{uri}")
    return "\n".join(p for p in parts if p)


def _result(request_id: object, result: object) -> Message:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def _error(request_id: object, code: int, message: str) -> Message:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def update(session_id: str, body: Mapping[str, Any]) -> Message:
    """A ``session/update`` notification."""
    return {"jsonrpc": "2.0", "method": "session/update",
            "params": {"sessionId": session_id, "update": dict(body)}}


def prompt_answer(request_id: object, stop_reason: str) -> Message:
    return _result(request_id, {"stopReason": stop_reason})


class AcpAgent:
    """Answers one process's ACP requests on its fake host.

    ``start`` starts the session at its first prompt and returns the first turn's id;
    ``home`` is the CLI's home for the process. Every answer goes to ``emit``, except
    the history a ``session/load`` replays, which goes to ``replay`` (it shows nothing
    new: a canonical log owes none of it).
    """

    def __init__(self, kind: BackendKind, host: FakeSessionHost, home: Path,
                 env: Mapping[str, str], tag: str, emit: Callable[[Message], None],
                 replay: Callable[[Message], None] | None = None) -> None:
        self.kind = kind
        self.host = host
        self.home = home
        self.env = dict(env)
        self.tag = tag
        self.emit = emit
        self.replay = replay or emit
        self.state = AcpState()

    def handle(self, line: str) -> tuple[str | None, str | None]:
        """One line from the client. Returns the method it called and, when it started
        a turn, that turn's id."""
        try:
            message = json.loads(line)
        except ValueError:
            self.emit({"jsonrpc": "2.0", "id": None,
                       "error": {"code": -32700, "message": "Parse error"}})
            return None, None
        if not isinstance(message, dict) or "method" not in message:
            return None, None  # a response of the client (no request of ours is out)
        method, request_id = str(message["method"]), message.get("id")
        given = message.get("params")
        params: Mapping[str, Any] = given if isinstance(given, dict) else {}
        try:
            turn = self._dispatch(method, request_id, params)
        except BackendError as error:
            if request_id is not None:
                self.emit(_error(request_id, INTERNAL_ERROR, str(error)))
            turn = None
        return method, turn

    def _dispatch(self, method: str, request_id: object, params: Mapping[str, Any]
                  ) -> str | None:
        if method == "initialize":
            self.emit(_result(request_id, {
                "protocolVersion": PROTOCOL_VERSION,
                "agentCapabilities": {"loadSession": True, "promptCapabilities": {
                    "image": True, "audio": True, "embeddedContext": True}},
                "authMethods": [{"id": "gemini-api-key", "name": "Gemini API key",
                                 "description": "Use an API key with Gemini Developer API"}],
            }))
        elif method == "authenticate":
            self.emit(_result(request_id, {}))
        elif method == "session/new":
            if self.state.session_id is not None:
                self.emit(_error(request_id, INTERNAL_ERROR,
                                 "the fake plays one session per process"))
                return None
            self.state.session_id = self.host.name_session(self.tag)
            self.state.cwd = Path(str(params.get("cwd") or "."))
            self.emit(_result(request_id, {"sessionId": self.state.session_id, "modes": {
                "availableModes": [{"id": "default", "name": "Default"}],
                "currentModeId": "default"}}))
        elif method == "session/load":
            self._load(request_id, params)
        elif method == "session/prompt":
            return self._prompt(request_id, params)
        elif method == "session/cancel":
            for turn_id, waiting in list(self.state.prompts.items()):
                self.emit(prompt_answer(waiting, "cancelled"))
                del self.state.prompts[turn_id]
        elif request_id is not None:
            self.emit(_error(request_id, METHOD_NOT_FOUND, f"Method not found: {method}"))
        return None

    def _load(self, request_id: object, params: Mapping[str, Any]) -> None:
        wanted = str(params.get("sessionId", ""))
        session = self.host.sessions.get(wanted)
        if session is None or session.home != self.home or self.state.session_id:
            self.emit(_error(request_id, INVALID_PARAMS, f"Session not found: {wanted}"))
            return
        self.state.session_id, self.state.started = wanted, True
        self.state.cwd = session.cwd
        if not session.alive:
            self.host.resume_session(wanted)
        for turn in session.turns:
            self.replay(update(wanted, {"sessionUpdate": "user_message_chunk",
                                        "content": {"type": "text", "text": turn.prompt}}))
            if turn.completed_at is not None and turn.script.final:
                self.replay(update(wanted, {"sessionUpdate": "agent_message_chunk",
                                            "content": {"type": "text",
                                                        "text": turn.script.final}}))
        self.emit(_result(request_id, None))

    def _prompt(self, request_id: object, params: Mapping[str, Any]) -> str | None:
        session_id = self.state.session_id
        if session_id is None or params.get("sessionId") != session_id:
            self.emit(_error(request_id, INVALID_PARAMS,
                             f"Session not found: {params.get('sessionId')}"))
            return None
        text = prompt_text(params.get("prompt"))
        if not self.state.started:
            self.state.started = True
            started = self.host.start_session(prompt=text, home=self.home,
                                              cwd=self.state.cwd or Path("."),
                                              env=self.env, session_id=session_id)
            turn_id = self.host.sessions[started].turns[0].turn_id
        else:
            turn_id = self.host.send(session_id, text)
        self.state.prompts[turn_id] = request_id
        return turn_id

    def turn_over(self, turn_id: str) -> bool:
        """The host completed ``turn_id``: answer its prompt. Whether one was waiting."""
        waiting = self.state.prompts.pop(turn_id, None)
        if waiting is None:
            return False
        self.emit(prompt_answer(waiting, "end_turn"))
        return True

    def turn_ids(self) -> Sequence[str]:
        return list(self.state.prompts)
