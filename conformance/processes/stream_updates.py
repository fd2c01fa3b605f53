"""What a line a CLI printed on stdout says, as ACP session updates.

The canonical log (seed 004) is "a translator layer": an orchestrator that runs the
CLIs as processes reads their streaming output and logs it as ACP events. This is the
suite's translation, one rule per kind of line the fake CLIs print (their streaming
modes print these shapes as the real CLIs do):

======================================  =============================================
stdout line                             ACP session updates
======================================  =============================================
Codex ``--json``: ``item.completed`` of ``agent_thought_chunk`` / ``agent_message_chunk``
a ``reasoning`` / ``agent_message``     of its ``text``
item
Codex ``--json``: ``item.started`` /    ``tool_call`` (pending) / ``tool_call_update``
``item.completed`` of a                 (its status), the item's ``id`` the call's
``command_execution`` item
Codex ``--json``: ``item.started`` /    ``plan``, an entry per item (``completed`` or
``item.updated`` of a ``todo_list``     ``pending``)
Claude ``stream-json``: an              per block: ``thinking`` a thought chunk,
``assistant`` message                   ``text`` a message chunk, ``tool_use`` a
                                        ``tool_call`` (its ``TodoWrite`` a ``plan``)
Claude ``stream-json``: a ``user``      per ``tool_result`` block, a
message                                 ``tool_call_update`` (failed if ``is_error``)
Gemini ``stream-json``: an              ``agent_message_chunk`` of its ``content``
``assistant`` ``message`` (a delta or
the whole message)
Gemini ``stream-json``: ``tool_use`` /  ``tool_call`` / ``tool_call_update``
``tool_result``                         (``success`` is completed)
an ACP agent's ``session/update``       its ``update``, as it is
notification
======================================  =============================================

Every other line (``thread.started``, ``turn.completed``, ``init``, ``result``, an ACP
response) says no update. The harness owes a process orchestrator's log exactly the
updates of the lines its processes printed (see
:mod:`conformance.areas.canonical_log.journal`); an orchestrator is free in how it
translates, as long as what it logs has the same identities (the kind, and a chunk's
text or a tool call's id). The reference's process backend translates with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Update = dict[str, Any]


def _chunk(kind: str, text: object) -> list[Update]:
    if not isinstance(text, str):
        return []
    return [{"sessionUpdate": kind, "content": {"type": "text", "text": text}}]


def _tool_call(call_id: object, title: object) -> list[Update]:
    if not isinstance(call_id, str):
        return []
    return [{"sessionUpdate": "tool_call", "toolCallId": call_id,
             "title": title if isinstance(title, str) else "", "status": "pending"}]


def _tool_done(call_id: object, failed: bool) -> list[Update]:
    if not isinstance(call_id, str):
        return []
    return [{"sessionUpdate": "tool_call_update", "toolCallId": call_id,
             "status": "failed" if failed else "completed"}]


def _plan(entries: list[tuple[object, bool]]) -> list[Update]:
    return [{"sessionUpdate": "plan", "entries": [
        {"content": content if isinstance(content, str) else "", "priority": "medium",
         "status": "completed" if done else "pending"} for content, done in entries]}]


def _codex_item(kind: object, item: Mapping[str, Any]) -> list[Update]:
    what = item.get("type")
    if kind == "item.completed" and what == "reasoning":
        return _chunk("agent_thought_chunk", item.get("text"))
    if kind == "item.completed" and what == "agent_message":
        return _chunk("agent_message_chunk", item.get("text"))
    if what == "command_execution":
        if kind == "item.started":
            return _tool_call(item.get("id"), item.get("command"))
        if kind == "item.completed":
            return _tool_done(item.get("id"), item.get("status") == "failed")
    if what == "todo_list" and kind in ("item.started", "item.updated"):
        todos = [t for t in item.get("items") or [] if isinstance(t, Mapping)]
        return _plan([(t.get("text"), bool(t.get("completed"))) for t in todos])
    return []


def _claude_block(block: Mapping[str, Any]) -> list[Update]:
    what = block.get("type")
    if what == "thinking":
        return _chunk("agent_thought_chunk", block.get("thinking"))
    if what == "text":
        return _chunk("agent_message_chunk", block.get("text"))
    if what == "tool_use":
        given = block.get("input")
        if block.get("name") == "TodoWrite" and isinstance(given, Mapping):
            todos = [t for t in given.get("todos") or [] if isinstance(t, Mapping)]
            return _plan([(t.get("content"), t.get("status") == "completed") for t in todos])
        return _tool_call(block.get("id"), block.get("name"))
    if what == "tool_result":
        return _tool_done(block.get("tool_use_id"), bool(block.get("is_error")))
    return []


def updates_of(line: Mapping[str, Any]) -> list[Update]:
    """The ACP session updates one stdout JSON line conveys (the table above)."""
    kind = line.get("type")
    item = line.get("item")
    if isinstance(kind, str) and kind.startswith("item.") and isinstance(item, Mapping):
        return _codex_item(kind, item)
    message = line.get("message")
    if kind in ("assistant", "user") and isinstance(message, Mapping):
        blocks = message.get("content")
        if not isinstance(blocks, list):
            return []
        return [update for block in blocks if isinstance(block, Mapping)
                for update in _claude_block(block)]
    if kind == "message" and line.get("role") == "assistant":
        return _chunk("agent_message_chunk", line.get("content"))
    if kind == "tool_use":
        return _tool_call(line.get("tool_id"), line.get("tool_name"))
    if kind == "tool_result":
        return _tool_done(line.get("tool_id"), line.get("status") != "success")
    params = line.get("params")
    if line.get("method") == "session/update" and isinstance(params, Mapping):
        update = params.get("update")
        if isinstance(update, Mapping) and isinstance(update.get("sessionUpdate"), str):
            return [dict(update)]
    return []
