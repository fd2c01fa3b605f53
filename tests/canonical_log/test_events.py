"""Conversion of real ACP messages into canonical events, and the summary policy."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from acp import helpers, schema
from hypothesis import given
from hypothesis import strategies as st

from reference_impl.canonical_log import (
    DEFAULT_MAX_TEXT_CHARS,
    KINDS,
    TRUNCATION_MARKER,
    ConfigWarning,
    InvalidEventInputError,
    SummaryPolicy,
)
from reference_impl.canonical_log.events import (
    coarse_op_kind,
    decode_event,
    encode_event,
    permission_request_data,
    permission_response_data,
    prompt_data,
    submit_data,
    update_event,
)

from ._builders import audio, blob, embedded, image, link, notification, text

POLICY = SummaryPolicy()


def test_kinds_are_exactly_the_canonical_ones() -> None:
    assert set(KINDS) == {
        "acp.prompt",
        "backend.codex.submit",
        "acp.agent_message_chunk",
        "acp.agent_thought_chunk",
        "acp.tool_call",
        "acp.tool_call_update",
        "acp.plan",
        "acp.request_permission",
        "acp.request_permission_response",
    }
    assert len(KINDS) == 9


# -- prompt summaries ----------------------------------------------------------------------


@pytest.mark.parametrize("delta", [-1, 0, 1])
@pytest.mark.parametrize("limit", [0, 1, 7, DEFAULT_MAX_TEXT_CHARS])
def test_truncation_exactly_at_the_limit(limit: int, delta: int) -> None:
    n = limit + delta
    if n < 0:
        return
    body = "".join(chr(0x61 + i % 26) for i in range(n))
    (block,) = prompt_data([text(body)], SummaryPolicy(max_text_chars=limit))["blocks"]
    assert block["chars"] == n
    if n <= limit:
        assert block == {"type": "text", "text": body, "chars": n, "truncated": False}
    else:
        assert block["truncated"] is True
        assert block["text"] == body[:limit] + TRUNCATION_MARKER


@given(body=st.text(max_size=60), limit=st.integers(min_value=0, max_value=60))
def test_truncation_keeps_a_prefix_and_the_true_length(body: str, limit: int) -> None:
    (block,) = prompt_data([text(body)], SummaryPolicy(max_text_chars=limit))["blocks"]
    assert block["chars"] == len(body)
    assert block["truncated"] == (len(body) > limit)
    kept = block["text"].removesuffix(TRUNCATION_MARKER) if block["truncated"] else block["text"]
    assert kept == body[:limit]


_block = st.one_of(
    st.builds(text, st.text(max_size=5)),
    st.builds(link, st.just("file:///x"), st.just("x")),
    st.builds(embedded, st.just("file:///e"), st.text(max_size=5)),
    st.builds(blob, st.just("file:///b"), st.just("AAAA")),
    st.builds(image),
    st.builds(audio),
)


@given(blocks=st.lists(_block, max_size=12))
def test_counts_match_the_blocks(blocks: list[dict[str, Any]]) -> None:
    data = prompt_data(blocks, POLICY)
    assert [b["type"] for b in data["blocks"]] == [b["type"] for b in blocks]
    for kind in ("text", "resource_link", "resource", "image", "audio"):
        assert data["counts"][kind] == sum(1 for b in blocks if b["type"] == kind)


def test_prompt_summary_fields() -> None:
    request = schema.PromptRequest(
        session_id="s",
        prompt=[
            helpers.text_block("fix the bug"),
            helpers.resource_link_block("notes", "file:///notes.md"),
            helpers.resource_block(
                helpers.embedded_text_resource("file:///secret.env", "TOKEN=hunter2")
            ),
            schema.ImageContentBlock(type="image", data="AAAA", mime_type="image/png"),
            schema.AudioContentBlock(type="audio", data="BB", mime_type="audio/wav"),
        ],
    )
    data = prompt_data(request, POLICY)
    assert data["blocks"] == [
        {"type": "text", "text": "fix the bug", "chars": 11, "truncated": False},
        {"type": "resource_link", "uri": "file:///notes.md", "name": "notes"},
        {"type": "resource", "uri": "file:///secret.env", "mime_type": None, "text_chars": 13},
        {"type": "image", "mime_type": "image/png", "data_chars": 4},
        {"type": "audio", "mime_type": "audio/wav", "data_chars": 2},
    ]
    assert data["counts"] == {"text": 1, "resource_link": 1, "resource": 1, "image": 1, "audio": 1}
    # The same prompt as a dict gives the same summary.
    assert prompt_data(request.model_dump(by_alias=True), POLICY) == data


def test_embedded_text_only_when_enabled() -> None:
    blocks = [embedded("file:///k", "x" * 10), blob("file:///bin", "QUJD")]
    off = prompt_data(blocks, SummaryPolicy(embedded_context=False))["blocks"]
    assert "text" not in off[0] and off[0]["text_chars"] == 10
    on = prompt_data(blocks, SummaryPolicy(max_text_chars=4, embedded_context=True))["blocks"]
    assert on[0]["text"] == "xxxx" + TRUNCATION_MARKER and on[0]["truncated"] is True
    assert on[1] == {"type": "resource", "uri": "file:///bin", "mime_type": None, "blob_chars": 4}


def test_a_chunk_is_logged_whole_whatever_the_text_limit() -> None:
    """The seed's limit is for prompt summaries: an agent's message or thought chunk is
    kept whole (CLOG-006 compares its text exactly)."""
    words = "the agent's own words, " * 10
    for name in ("agent_message_chunk", "agent_thought_chunk"):
        kind, data = update_event({"sessionId": "s", "update": {
            "sessionUpdate": name, "content": {"type": "text", "text": words}}},
            SummaryPolicy(max_text_chars=8)) or ("", {})
        assert kind == f"acp.{name}"
        assert data["content"] == {"type": "text", "text": words, "chars": len(words),
                                   "truncated": False}


def test_invalid_dicts_get_a_clear_error() -> None:
    with pytest.raises(InvalidEventInputError, match=r"prompt block 1.*"):
        prompt_data([text("ok"), {"type": "text"}], POLICY)
    with pytest.raises(InvalidEventInputError, match="session notification"):
        update_event({"sessionId": "s", "update": {"sessionUpdate": "nope"}}, POLICY)
    with pytest.raises(InvalidEventInputError, match="permission response"):
        permission_response_data({"outcome": {"outcome": "selected"}})


@pytest.mark.parametrize("value", [42, "a string", b"bytes", None])
def test_wrong_types_are_type_errors(value: object) -> None:
    with pytest.raises(TypeError):
        prompt_data(value, POLICY)
    with pytest.raises(TypeError):
        update_event(value, POLICY)


# -- configuration -------------------------------------------------------------------------


def test_policy_from_env_and_arguments() -> None:
    env = {"ACP_LOG_MAX_TEXT_CHARS": "12", "ACP_LOG_EMBEDDED_CONTEXT": "1"}
    assert SummaryPolicy.from_config(env=env) == SummaryPolicy(12, True)
    assert SummaryPolicy.from_config(5, False, env) == SummaryPolicy(5, False)
    assert SummaryPolicy.from_config(env={}) == SummaryPolicy(DEFAULT_MAX_TEXT_CHARS, False)


@pytest.mark.parametrize("value", ["true", "yes", "01", " 1", "on", ""])
def test_embedded_context_needs_exactly_1(value: str) -> None:
    assert not SummaryPolicy.from_config(env={"ACP_LOG_EMBEDDED_CONTEXT": value}).embedded_context


@pytest.mark.parametrize("value", ["", "abc", "-5", "1.5", "1e3", "\u0661\u0662"])
def test_bad_env_limit_falls_back_with_a_warning(value: str) -> None:
    with pytest.warns(ConfigWarning, match="ACP_LOG_MAX_TEXT_CHARS"):
        policy = SummaryPolicy.from_config(env={"ACP_LOG_MAX_TEXT_CHARS": value})
    assert policy.max_text_chars == DEFAULT_MAX_TEXT_CHARS


@pytest.mark.parametrize("value", [-1, True, 2.5, "100"])
def test_bad_argument_limit_falls_back_with_a_warning(value: Any) -> None:
    with pytest.warns(ConfigWarning, match="max_text_chars"):
        assert SummaryPolicy.from_config(value, env={}).max_text_chars == DEFAULT_MAX_TEXT_CHARS


def test_a_config_warning_filtered_as_error_does_not_raise() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        policy = SummaryPolicy.from_config(env={"ACP_LOG_MAX_TEXT_CHARS": "x"})
    assert policy.max_text_chars == DEFAULT_MAX_TEXT_CHARS


# -- submit, updates, permissions ----------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "kind"),
    [
        ("user_input", "user_input"),
        ("UserInput", "user_input"),
        ("Op::Review", "review"),
        ("compact", "compact"),
        ("Interrupt", "interrupt"),
        ("ExecApproval", "exec_approval"),
        ("OverrideTurnContext", "other"),
        ("", "other"),
    ],
)
def test_submit_op_kinds_are_coarse(op: str, kind: str) -> None:
    assert coarse_op_kind(op) == kind
    assert submit_data("sub-1", op) == {"submission_id": "sub-1", "op_kind": kind}


def test_update_variants_map_to_kinds() -> None:
    chunk = helpers.update_agent_message(helpers.text_block("hello"))
    assert update_event(chunk, POLICY) == (
        "acp.agent_message_chunk",
        {"content": {"type": "text", "text": "hello", "chars": 5, "truncated": False}},
    )
    thought = schema.SessionNotification(
        session_id="s", update=helpers.update_agent_thought(helpers.text_block("hmm"))
    )
    assert update_event(thought, POLICY) is not None
    assert update_event(thought, POLICY)[0] == "acp.agent_thought_chunk"  # type: ignore[index]

    start = notification(
        {
            "sessionUpdate": "tool_call",
            "toolCallId": "t1",
            "title": "Edit main.py",
            "kind": "edit",
            "status": "pending",
            "locations": [{"path": "/r/main.py", "line": 3}],
            "content": [
                {"type": "diff", "path": "/r/main.py", "oldText": "a", "newText": "bb"},
                {"type": "terminal", "terminalId": "term-1"},
                {"type": "content", "content": text("note")},
            ],
            "rawInput": {"path": "/r/main.py"},
        }
    )
    kind, data = update_event(start, POLICY) or ("", {})
    assert kind == "acp.tool_call"
    assert data["tool_call_id"] == "t1" and data["kind"] == "edit"
    assert data["locations"] == [{"path": "/r/main.py", "line": 3}]
    assert data["content"][0] == {
        "type": "diff",
        "path": "/r/main.py",
        "old_chars": 1,
        "new_chars": 2,
    }
    assert data["content"][1] == {"type": "terminal", "terminal_id": "term-1"}
    assert data["content"][2]["content"]["text"] == "note"
    assert data["raw_input"]["text"] == '{"path": "/r/main.py"}'

    progress = notification(
        {"sessionUpdate": "tool_call_update", "toolCallId": "t1", "status": "completed"}
    )
    assert update_event(progress, POLICY) == (
        "acp.tool_call_update",
        {"tool_call_id": "t1", "status": "completed"},
    )

    plan = helpers.update_plan([helpers.plan_entry("write tests", status="in_progress")])
    kind, data = update_event(plan, POLICY) or ("", {})
    assert kind == "acp.plan"
    assert data == {
        "format": "entries",
        "entries": [{"content": "write tests", "priority": "medium", "status": "in_progress"}],
    }
    removed = notification({"sessionUpdate": "plan_removed", "planId": "p1"})
    assert update_event(removed, POLICY) == ("acp.plan", {"format": "removed", "plan_id": "p1"})
    markdown = notification(
        {
            "sessionUpdate": "plan_update",
            "plan": {"type": "markdown", "planId": "p", "content": "# x"},
        }
    )
    assert update_event(markdown, POLICY) == (
        "acp.plan",
        {"format": "markdown", "plan_id": "p", "markdown": "# x"},
    )


def test_non_canonical_updates_are_ignored() -> None:
    user = notification({"sessionUpdate": "user_message_chunk", "content": text("me")})
    assert update_event(user, POLICY) is None
    mode = notification({"sessionUpdate": "current_mode_update", "currentModeId": "ask"})
    assert update_event(mode, POLICY) is None


def test_permission_request_and_response() -> None:
    request = schema.RequestPermissionRequest(
        session_id="s",
        tool_call=schema.ToolCallUpdate(tool_call_id="t9", title="rm -rf build", kind="execute"),
        options=[
            schema.PermissionOption(option_id="ok", name="Allow once", kind="allow_once"),
            schema.PermissionOption(option_id="no", name="Reject", kind="reject_once"),
        ],
    )
    assert permission_request_data(request, POLICY) == {
        "tool_call": {"tool_call_id": "t9", "title": "rm -rf build", "kind": "execute"},
        "options": [
            {"option_id": "ok", "name": "Allow once", "kind": "allow_once"},
            {"option_id": "no", "name": "Reject", "kind": "reject_once"},
        ],
    }
    allowed = schema.RequestPermissionResponse(
        outcome=schema.AllowedOutcome(outcome="selected", option_id="ok")
    )
    assert permission_response_data(allowed, "t9") == {
        "outcome": "selected",
        "option_id": "ok",
        "tool_call_id": "t9",
    }
    assert permission_response_data({"outcome": {"outcome": "cancelled"}}) == {
        "outcome": "cancelled"
    }


# -- the line format -----------------------------------------------------------------------


@given(
    seq=st.integers(min_value=1, max_value=2**53),
    kind=st.sampled_from(KINDS),
    payload=st.dictionaries(st.text(max_size=5), st.text(max_size=20), max_size=4),
)
def test_lines_round_trip_and_contain_no_newline(
    seq: int, kind: Any, payload: dict[str, str]
) -> None:
    line = encode_event(seq, "2026-03-14T09:26:53.000000Z", kind, "e" * 32, payload)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    event = decode_event(line[:-1])
    assert (event.seq, event.kind, event.data) == (seq, kind, payload)


def test_lone_surrogates_still_make_a_valid_line() -> None:
    line = encode_event(1, "t", "acp.prompt", "e" * 32, {"x": "bad \udc80 text"})
    line.decode("utf-8")
    assert decode_event(line[:-1]).data == {"x": "bad \udc80 text"}
