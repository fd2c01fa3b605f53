"""The fakes speak real ACP: every session update, permission round trip and prompt
block the harness produces validates against the published ``acp.schema`` models.

The canonical-log checks compare an orchestrator's log with what the fakes emitted;
if the fakes emitted something no real agent could, a correct orchestrator (one that
validates its input, as the reference does) would be failed for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from acp import schema

from conformance.areas.canonical_log.machine import EXTRAS, extra_block
from conformance.fakes.markers import marker_responder
from conformance.fakes.permissions import REQUEST, RESPONSE, with_permissions
from conformance.fakes.script import default_responder

SESSION = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def _validate_update(update: Mapping[str, Any]) -> None:
    schema.SessionNotification.model_validate({"sessionId": SESSION, "update": dict(update)})


@pytest.mark.parametrize("turn", [0, 1, 2, 3])
def test_default_responder_updates_are_acp_session_updates(turn: int) -> None:
    script = default_responder("fix the bug", turn, SESSION)
    assert script.updates
    for update in script.updates:
        _validate_update(update)


def test_marker_responder_updates_are_acp_session_updates() -> None:
    from conformance.contract import BackendKind

    script = marker_responder(BackendKind.CODEX, "sk-test")("mkp-0123456789ab", 0, SESSION)
    for update in script.updates:
        _validate_update(update)


@pytest.mark.parametrize("turn", [0, 1, 2])
def test_permission_round_trips_are_acp_requests_and_responses(turn: int) -> None:
    script = with_permissions()("fix the bug", turn, SESSION)
    events = [e for e in script.approvals if e.get("type") in (REQUEST, RESPONSE)]
    assert [e["type"] for e in events] == [REQUEST, RESPONSE]
    request = schema.RequestPermissionRequest.model_validate(events[0]["request"])
    response = schema.RequestPermissionResponse.model_validate(events[1]["response"])
    calls = [u for u in script.updates if u["sessionUpdate"] == "tool_call"]
    assert request.tool_call.tool_call_id == calls[0]["toolCallId"] == events[1]["toolCallId"]
    assert request.session_id == SESSION
    # The three outcomes come round in three turns.
    expected = {0: "allow-once", 1: "reject-once", 2: None}[turn]
    selected = getattr(response.outcome, "option_id", None)
    assert selected == expected


def test_a_script_without_tool_calls_gets_no_permission_round_trip() -> None:
    def quiet(prompt: str, turn: int, session_id: str) -> Any:
        script = default_responder(prompt, turn, session_id)
        return type(script)(updates=script.updates[:1], final=script.final,
                            thought=script.thought)

    assert with_permissions(quiet)("hello", 0, SESSION).approvals == ()


@pytest.mark.parametrize("kind", EXTRAS)
def test_prompt_blocks_of_the_machine_are_acp_content_blocks(kind: str) -> None:
    block = extra_block(kind, 3, 1)
    request = schema.PromptRequest.model_validate({"sessionId": SESSION, "prompt": [block]})
    assert request.prompt[0].type == kind
