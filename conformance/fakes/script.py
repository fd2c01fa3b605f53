"""What a fake agent says during a turn.

A responder turns a prompt into a :class:`TurnScript`: the ACP ``session/update``
payloads streamed during the turn, the raw model exchanges behind it, and the final
answer. The default responder is deterministic and derives every text from the
prompt, so a marker the harness plants in a prompt can be traced to every place
the agent's output reaches (seed 000: nothing may cross between agents).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class TurnScript:
    """Everything one turn produces, in emission order."""

    #: ACP ``session/update`` payloads (``{"sessionUpdate": ..., ...}``), streamed in order.
    updates: tuple[Mapping[str, Any], ...]
    #: The turn's final assistant message.
    final: str
    #: The reasoning summary written to the native file.
    thought: str
    #: Raw model exchanges as ``(request, response)`` bodies.
    exchanges: tuple[tuple[Mapping[str, Any], Mapping[str, Any]], ...] = field(default=())
    #: Approval (or cancellation) events, each sent as an ``APPROVAL`` notification
    #: (``data["event"]``) early in the turn.
    approvals: tuple[Mapping[str, Any], ...] = field(default=())


def silent(script: TurnScript) -> TurnScript:
    """``script`` with an empty final answer: the streamed chunk that carried the
    answer is gone, the intermediate output stays (an agent that only ran tools)."""
    updates = tuple(u for u in script.updates
                    if not (u.get("sessionUpdate") == "agent_message_chunk"
                            and isinstance(u.get("content"), Mapping)
                            and u["content"].get("text") == script.final))
    return replace(script, updates=updates, final="")


#: ``(prompt, turn_index, session_id) -> TurnScript``
Responder = Callable[[str, int, str], TurnScript]


def default_responder(prompt: str, turn_index: int, session_id: str) -> TurnScript:
    """A plausible turn: a thought, a plan, a message chunk ("I'll read the README"),
    one tool call, and the final answer's chunk. The final answer is the text after
    the turn's last tool call, which is all an ACP client can tell it by: an ACP
    agent streams one message as chunks, and only a tool call separates two."""
    thought = f"intermediate-thought turn {turn_index}: {prompt}"
    chunk_one = f"intermediate-chunk turn {turn_index}: {prompt}"
    final = f"final-answer turn {turn_index}: {prompt}"
    call_id = f"call-{session_id[:8]}-{turn_index}"
    updates: tuple[Mapping[str, Any], ...] = (
        {"sessionUpdate": "agent_thought_chunk", "content": {"type": "text", "text": thought}},
        {
            "sessionUpdate": "plan",
            "entries": [{"content": f"answer: {prompt}", "priority": "medium",
                         "status": "in_progress"}],
        },
        {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": chunk_one}},
        {
            "sessionUpdate": "tool_call", "toolCallId": call_id, "title": "Read README.md",
            "kind": "read", "status": "pending",
        },
        {"sessionUpdate": "tool_call_update", "toolCallId": call_id, "status": "completed"},
        {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": final}},
    )
    request = {"model": "fake-model", "input": [{"role": "user", "content": prompt}],
               "stream": True}
    response = {"id": f"resp-{session_id[:8]}-{turn_index}", "status": "completed",
                "output": [{"type": "message", "content": [{"type": "output_text",
                                                            "text": final}]}]}
    return TurnScript(updates=updates, final=final, thought=thought,
                      exchanges=((request, response),))
