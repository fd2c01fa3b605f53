"""Planted markers and credentials: a responder that makes every output traceable.

The isolation and persistence areas must find where an agent's output ended up.
Each sub-agent gets a token; the harness puts ``mkp-<token>`` in every prompt it
sends that agent, and :func:`marker_responder` answers with ``mki-<token>`` in every
intermediate piece of the turn (thought, plan, streamed chunks, the scratch buffer,
the model's reasoning) and ``mkf-<token>`` in the final answer. A byte search of a
file then tells whose output it holds, and of which kind; the markers are plain
ASCII, so no JSON or log escaping can hide them.

Every turn also asks for one permission (an ``APPROVAL`` notification pair, see
:mod:`conformance.fakes.permissions`). The model exchanges carry a planted credential
the way each real CLI sends its key (Codex: ``Authorization: Bearer``; Claude Code:
``x-api-key``; Gemini CLI: ``x-goog-api-key`` and ``?key=``), and the key and a planted
OAuth token in request-body fields (:func:`_body_credentials`), so a raw log that
keeps any of them is caught.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.contract import BackendKind
from conformance.fakes.permissions import with_permissions
from conformance.fakes.script import Responder, TurnScript

#: Marker kinds: prompt, intermediate output, final answer.
PROMPT, INTERMEDIATE, FINAL = "p", "i", "f"
KIND_NAMES = {PROMPT: "prompt", INTERMEDIATE: "intermediate output", FINAL: "final answer"}

#: Every marker in a text: ``(kind, token)``.
MARKER_PATTERN = re.compile(r"mk([pif])-([0-9a-f]{12})")

_ENDPOINTS = {
    BackendKind.CODEX: "http://127.0.0.1:8765/v1/responses",
    BackendKind.CLAUDE: "http://127.0.0.1:8765/v1/messages",
    BackendKind.GEMINI:
        "http://127.0.0.1:8765/v1beta/models/fake-model:generateContent",
}


def agent_token(world: str, agent_id: str) -> str:
    """The 12-hex token of one agent in one world."""
    return hashlib.sha256(f"{world}\0{agent_id}".encode()).hexdigest()[:12]


def marker(kind: str, token: str) -> str:
    return f"mk{kind}-{token}"


def credential(world: str) -> str:
    """The world's planted API key: unique, and shaped like a real one."""
    return "sk-planted-" + hashlib.sha256(f"{world}\0credential".encode()).hexdigest()[:32]


def body_token(world: str) -> str:
    """The world's planted OAuth token, sent in request bodies: not shaped like an API
    key, so only a redactor that knows credential field names removes it."""
    return "rt-planted-" + hashlib.sha256(f"{world}\0token".encode()).hexdigest()[:24]


def _body_credentials(kind: BackendKind, key: str, token: str) -> dict[str, Any]:
    """Where each backend's request bodies carry credentials besides its headers: an
    OAuth refresh token (Codex's ChatGPT login), an API key in metadata (Claude Code's
    gateway setups), an access token (Gemini CLI's Code Assist login)."""
    if kind is BackendKind.CODEX:
        return {"client_metadata": {"auth": {"refresh_token": token}}}
    if kind is BackendKind.CLAUDE:
        return {"metadata": {"user_id": "user-1", "api_key": key, "session_token": token}}
    return {"auth": {"access_token": token}, "client": {"apiKey": key}}


@dataclass(frozen=True)
class PlantedRequest:
    """How a backend sends its key, with the credential in it."""

    url: str
    headers: Mapping[str, str]


def planted_request(kind: BackendKind, key: str, token: str = "") -> PlantedRequest:
    """The URL and headers of a model request carrying ``key`` (and, for Gemini CLI,
    ``token`` as an ``access_token`` query parameter, a credential in the URL that is
    not shaped like a key)."""
    url = _ENDPOINTS[kind]
    if kind is BackendKind.CODEX:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                   "OpenAI-Beta": "responses=experimental"}
    elif kind is BackendKind.CLAUDE:
        headers = {"x-api-key": key, "anthropic-version": "2023-06-01",
                   "Content-Type": "application/json"}
    else:
        headers = {"x-goog-api-key": key, "Content-Type": "application/json"}
        url = f"{url}?alt=sse&key={key}" + (f"&access_token={token}" if token else "")
    return PlantedRequest(url, headers)


def marker_responder(kind: BackendKind, key: str, token: str = "") -> Responder:
    """A responder for ``kind`` that plants markers (see the module docstring)."""
    planted = planted_request(kind, key, token)
    in_body = _body_credentials(kind, key, token) if token else {}

    def respond(prompt: str, turn_index: int, session_id: str) -> TurnScript:
        found = MARKER_PATTERN.search(prompt)
        token = found.group(2) if found and found.group(1) == PROMPT else "0" * 12
        inter, final_mark = marker(INTERMEDIATE, token), marker(FINAL, token)
        thought = f"{inter} weighing the task (turn {turn_index})"
        chunk = f"{inter} partial answer (turn {turn_index})"
        final = f"{final_mark} done (turn {turn_index})"
        call_id = f"call-{session_id[:8]}-{turn_index}"
        updates: tuple[Mapping[str, Any], ...] = (
            {"sessionUpdate": "agent_thought_chunk", "content": {"type": "text",
                                                                 "text": thought}},
            {"sessionUpdate": "plan", "entries": [
                {"content": f"{inter} plan step", "priority": "medium",
                 "status": "in_progress"}]},
            # The partial answer before the tool call, the final one after it, as in
            # ``default_responder``: an ACP client tells a final answer only so.
            {"sessionUpdate": "agent_message_chunk", "content": {"type": "text",
                                                                 "text": chunk}},
            {"sessionUpdate": "tool_call", "toolCallId": call_id, "title": "Read README.md",
             "kind": "read", "status": "pending"},
            {"sessionUpdate": "tool_call_update", "toolCallId": call_id,
             "status": "completed"},
            {"sessionUpdate": "agent_message_chunk", "content": {"type": "text",
                                                                 "text": final}},
        )
        request: dict[str, Any] = {
            "method": "POST", "url": planted.url, "headers": dict(planted.headers),
            "body": {"model": "fake-model", "stream": True,
                     "input": [{"role": "user", "content": prompt}], **in_body},
        }
        response: dict[str, Any] = {
            "id": f"resp-{session_id[:8]}-{turn_index}", "status": "completed",
            "output": [
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": thought}]},
                {"type": "message", "content": [{"type": "output_text", "text": final}]},
            ],
            "usage": {"input_tokens": 1200, "output_tokens": 80},
        }
        return TurnScript(updates=updates, final=final, thought=thought,
                          exchanges=((request, response),))

    # Each turn's tool call also gets an ACP permission round trip (two APPROVAL
    # notifications), which the persistence area expects in session_meta.log.
    return with_permissions(respond)
