"""ACP permission round trips for the fake backends (seed 004's "approvals").

An ACP agent that wants to run a tool asks its client first
(``session/request_permission``, an ``acp.schema.RequestPermissionRequest``) and the
client answers (a ``RequestPermissionResponse``: an option selected, or cancelled).
The fakes play both sides of that exchange: :func:`with_permissions` wraps a responder
so that every turn with a tool call also carries one round trip for it, delivered
as two ``APPROVAL`` notifications in order (see ``NotificationKind.APPROVAL``)::

    data["event"] = {"type": "request_permission", "request": {...}}
    data["event"] = {"type": "request_permission_response", "toolCallId": ...,
                     "response": {...}}

The dicts are in the ACP wire format (camelCase), so they validate against the real
``acp.schema`` models; ``tests/test_fake_acp_payloads.py`` proves it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from conformance.fakes.script import Responder, TurnScript, default_responder

#: ``type`` of the approval event carrying the agent's request.
REQUEST = "request_permission"
#: ``type`` of the approval event carrying the client's answer.
RESPONSE = "request_permission_response"

#: The options every fake request offers, as ACP ``PermissionOption`` dicts.
OPTIONS: tuple[Mapping[str, str], ...] = (
    {"optionId": "allow-once", "name": "Allow once", "kind": "allow_once"},
    {"optionId": "reject-once", "name": "Reject", "kind": "reject_once"},
)


def round_trip(
    session_id: str, tool_call: Mapping[str, Any], turn_index: int
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The request for ``tool_call`` (a ``tool_call`` session update) and its answer.

    The answer cycles with the turn: allowed, rejected, cancelled, so all three
    outcomes occur within a few turns.
    """
    call = {k: tool_call[k] for k in ("toolCallId", "title", "kind", "status") if k in tool_call}
    request = {"sessionId": session_id, "toolCall": call,
               "options": [dict(option) for option in OPTIONS]}
    outcome: dict[str, Any]
    if turn_index % 3 == 2:
        outcome = {"outcome": "cancelled"}
    else:
        outcome = {"outcome": "selected", "optionId": OPTIONS[turn_index % 3]["optionId"]}
    return ({"type": REQUEST, "request": request},
            {"type": RESPONSE, "toolCallId": call["toolCallId"], "response": {"outcome": outcome}})


def with_permissions(base: Responder = default_responder) -> Responder:
    """``base``, plus a permission round trip for the first tool call of each turn."""

    def respond(prompt: str, turn_index: int, session_id: str) -> TurnScript:
        script = base(prompt, turn_index, session_id)
        calls = [u for u in script.updates if u.get("sessionUpdate") == "tool_call"]
        if not calls:
            return script
        request, response = round_trip(session_id, calls[0], turn_index)
        return dataclasses.replace(script, approvals=(*script.approvals, request, response))

    return respond
