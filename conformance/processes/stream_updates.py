"""What a line a CLI printed on stdout says, as ACP session updates.

The canonical log (seed 004) is "a translator layer": an orchestrator that runs the
CLIs as processes reads their streaming output and logs it as ACP events. This is the
suite's translation, one rule per kind of line the fake CLIs print (their streaming
modes print these shapes as the real CLIs do):

==============================================  =====================================
stdout line                                     ACP session updates
==============================================  =====================================
Codex ``--json``: ``item.completed`` of a       ``agent_thought_chunk`` of its text
``reasoning`` item
Codex ``--json``: ``item.completed`` of an      ``agent_message_chunk`` of its text
``agent_message`` item
Claude ``stream-json``: an ``assistant``        per block: ``thinking`` a thought
message                                         chunk, ``text`` a message chunk
Gemini ``stream-json``: an ``assistant``        ``agent_message_chunk`` of its
``message`` (a delta or the whole message)      ``content``
an ACP agent's ``session/update`` notification  its ``update``, as it is
==============================================  =====================================

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


def updates_of(line: Mapping[str, Any]) -> list[Update]:
    """The ACP session updates one stdout JSON line conveys (the table above)."""
    kind = line.get("type")
    item = line.get("item")
    if kind == "item.completed" and isinstance(item, Mapping):
        if item.get("type") == "reasoning":
            return _chunk("agent_thought_chunk", item.get("text"))
        if item.get("type") == "agent_message":
            return _chunk("agent_message_chunk", item.get("text"))
        return []
    message = line.get("message")
    if kind == "assistant" and isinstance(message, Mapping):
        updates: list[Update] = []
        for block in message.get("content") or []:
            if not isinstance(block, Mapping):
                continue
            if block.get("type") == "thinking":
                updates += _chunk("agent_thought_chunk", block.get("thinking"))
            elif block.get("type") == "text":
                updates += _chunk("agent_message_chunk", block.get("text"))
        return updates
    if kind == "message" and line.get("role") == "assistant":
        return _chunk("agent_message_chunk", line.get("content"))
    params = line.get("params")
    if line.get("method") == "session/update" and isinstance(params, Mapping):
        update = params.get("update")
        if isinstance(update, Mapping) and isinstance(update.get("sessionUpdate"), str):
            return [dict(update)]
    return []
