"""What a fake CLI prints of a running turn reads back as the updates it was shown.

The canonical log of a process orchestrator owes the updates its processes' stdout
conveys (:mod:`conformance.processes.stream_updates`). Each fake prints a streamed
update in its CLI's own shape; read back, the line must say the same update (by the
identity the journal compares), or nothing where the CLI's mode shows none of that
kind. Otherwise the journal would owe what no process showed, or miss what one did.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.areas.canonical_log.journal import update_ident
from conformance.processes.puppet import PARSERS, Puppet
from conformance.processes.stream_updates import updates_of

#: Each CLI in its streaming mode, and which update kinds that mode shows.
MODES = {
    "codex": (["exec", "--json", "-c", "tools.update_plan.enabled=true", "go"],
              {"agent_thought_chunk", "tool_call", "tool_call_update", "plan"}),
    "claude": (["-p", "go", "--output-format", "stream-json", "--verbose"],
               {"agent_thought_chunk", "agent_message_chunk", "tool_call",
                "tool_call_update", "plan"}),
    "gemini": (["-p", "go", "--output-format", "stream-json"],
               {"agent_message_chunk", "tool_call", "tool_call_update"}),
}

texts = st.text(min_size=0, max_size=20)
ids = st.from_regex(r"call-[0-9a-f]{8}-[0-9]", fullmatch=True)
entries = st.lists(st.fixed_dictionaries({
    "content": texts, "priority": st.just("medium"),
    "status": st.sampled_from(["pending", "in_progress", "completed"])}), max_size=3)
updates = st.one_of(
    st.builds(lambda kind, text: {"sessionUpdate": kind,
                                  "content": {"type": "text", "text": text}},
              st.sampled_from(["agent_thought_chunk", "agent_message_chunk"]), texts),
    st.builds(lambda call_id, title, kind: {"sessionUpdate": "tool_call",
                                            "toolCallId": call_id, "title": title,
                                            "kind": kind, "status": "pending"},
              ids, texts, st.sampled_from(["read", "edit", "execute", "other"])),
    st.builds(lambda call_id, status: {"sessionUpdate": "tool_call_update",
                                       "toolCallId": call_id, "status": status},
              ids, st.sampled_from(["completed", "failed"])),
    st.builds(lambda items: {"sessionUpdate": "plan", "entries": items}, entries),
)


def _puppet(kind: str, argv: list[str] | None = None, *, todos: bool = True) -> Puppet:
    argv = MODES[kind][0] if argv is None else argv
    puppet = Puppet(kind, argv, PARSERS[kind](argv))
    puppet.session = {"session_id": "s-1", "version": "0.61.0"}
    puppet.env = {"CODEX_HOME": "/nonexistent", "HOME": "/nonexistent"}
    if todos:
        puppet.env["CLAUDE_CODE_ENABLE_TODO_TOOLS"] = "1"
    puppet._text = lambda text: None  # type: ignore[method-assign]
    return puppet


def _parts(ident: tuple[str, tuple[Any, ...]]) -> tuple[str, tuple[Any, ...]]:
    """An identity without a tool call's id (each CLI prints ids of its own)."""
    kind = ident[0]
    return (kind, ()) if kind in ("acp.tool_call", "acp.tool_call_update") else ident


@pytest.mark.parametrize("kind", sorted(MODES))
@given(turn=st.lists(updates, max_size=8))
def test_a_streamed_turn_reads_back_as_itself(kind: str, turn: list[dict[str, Any]]) -> None:
    """Every update of a mode's kinds reads back, in order, as the same update; a tool
    call's id as an id of the CLI's own, the same for the call and its update and
    different for different calls. Updates of other kinds read back as nothing."""
    puppet = _puppet(kind)
    said = []
    for update in turn:
        puppet.printed = []
        puppet.stream(update)
        said.append([u for line in puppet.printed for u in updates_of(line)])
    shown = MODES[kind][1]
    ids: dict[str, str] = {}
    for update, back in zip(turn, said, strict=True):
        if update["sessionUpdate"] not in shown:
            assert back == [], update
            continue
        assert [_parts(update_ident(u)) for u in back] == [_parts(update_ident(update))]
        if "toolCallId" in update:
            assert ids.setdefault(update["toolCallId"], back[0]["toolCallId"]) == (
                back[0]["toolCallId"])
    assert len(set(ids.values())) == len(ids)


@pytest.mark.parametrize("line", [
    {"type": "thread.started", "thread_id": "t"}, {"type": "turn.completed"},
    {"type": "item.completed", "item": {"type": "todo_list", "items": []}},
    {"type": "result", "result": "x"}, {"type": "init", "session_id": "s"},
    {"type": "assistant", "message": {"content": "not a list"}},
    {"jsonrpc": "2.0", "id": 1, "result": {"stopReason": "end_turn"}},
    {"jsonrpc": "2.0", "method": "session/update", "params": {"update": {}}},
    {"type": "tool_use", "tool_id": 3},
])
def test_lines_that_say_no_update(line: dict[str, Any]) -> None:
    assert updates_of(line) == []


def test_an_acp_update_is_taken_as_it_is() -> None:
    update = {"sessionUpdate": "plan", "entries": [{"content": "x"}]}
    assert updates_of({"jsonrpc": "2.0", "method": "session/update",
                       "params": {"sessionId": "s", "update": update}}) == [update]


@pytest.mark.parametrize(("kind", "argv"), [
    ("codex", ["exec", "--json", "go"]),
    ("claude", ["-p", "go", "--output-format", "stream-json", "--verbose"]),
])
def test_plans_show_only_where_the_cli_offers_its_plan_tool(kind: str, argv: list[str]
                                                            ) -> None:
    """Real Codex offers update_plan only with tools.update_plan.enabled, Claude Code
    TodoWrite only with CLAUDE_CODE_ENABLE_TODO_TOOLS=1 (measured)."""
    puppet = _puppet(kind, argv, todos=False)
    puppet.stream({"sessionUpdate": "plan", "entries": [{"content": "x"}]})
    assert puppet.printed == []
