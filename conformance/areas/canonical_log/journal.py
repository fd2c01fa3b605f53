"""What an orchestrator owes its canonical log (seed 004), event by event.

A :class:`Journal` watches a world from the harness side: every prompt the harness
sends (at spawn and at each follow-up) and every notification a fake backend
delivers. From them it derives, per backend session key and in emission order, the
canonical events the orchestrator must have logged: ``acp.prompt`` for each prompt,
``backend.codex.submit`` after a Codex prompt, one event per streamed chunk, tool call,
tool call update and plan, and the permission request and response of each round
trip. Updates outside the canonical kinds owe nothing.

Events are compared by *identity*, not byte for byte: the kind, plus what tells two
events of that kind apart (a chunk's text, a tool call's id, a plan's entries, a
permission's tool call or outcome, a prompt's first text block). The same functions
read identities off logged lines (:func:`logged_ident`), so a check compares like with
like, and an orchestrator is free in everything the seed leaves open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conformance.areas.canonical_log.store import LogLine, key_of
from conformance.clock import since_start
from conformance.contract import BackendKind, Notification, NotificationKind
from conformance.fakes.host import FakeSessionHost
from conformance.fakes.permissions import REQUEST, RESPONSE

if TYPE_CHECKING:
    from conformance.harness import Harness

Ident = tuple[str, tuple[Any, ...]]

_CHUNKS = {"agent_message_chunk": "acp.agent_message_chunk",
           "agent_thought_chunk": "acp.agent_thought_chunk"}
_TOOL_CALLS = {"tool_call": "acp.tool_call", "tool_call_update": "acp.tool_call_update"}


def _get(value: object, *path: str) -> Any:
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _block_ident(block: object) -> tuple[Any, ...]:
    kind = _get(block, "type")
    return ("text", _get(block, "text")) if kind == "text" else (kind,)


def prompt_ident(blocks: Sequence[Mapping[str, Any]]) -> Ident:
    """A prompt is told apart by its first block's text."""
    first = blocks[0] if blocks else {}
    return "acp.prompt", (first.get("text") if first.get("type") == "text" else None,)


def update_ident(update: Mapping[str, Any]) -> Ident | None:
    """The canonical event an ACP ``session/update`` owes, or None."""
    name = update.get("sessionUpdate")
    if name in _CHUNKS:
        return _CHUNKS[name], _block_ident(update.get("content"))
    if name in _TOOL_CALLS:
        return _TOOL_CALLS[name], (update.get("toolCallId"),)
    if name == "plan":
        entries = update.get("entries") or []
        return "acp.plan", tuple(_get(e, "content") for e in entries)
    return None


def approval_ident(event: Mapping[str, Any]) -> Ident | None:
    """The canonical event an ACP permission round trip owes, or None."""
    if event.get("type") == REQUEST:
        return "acp.request_permission", (_get(event, "request", "toolCall", "toolCallId"),)
    if event.get("type") == RESPONSE:
        outcome = _get(event, "response", "outcome")
        return "acp.request_permission_response", (
            _get(outcome, "outcome"), _get(outcome, "optionId"))
    return None


def logged_ident(line: LogLine) -> Ident:
    """The identity of a logged event, read the way the owed one was built."""
    kind, data = line.kind or "", line.data
    if kind == "acp.prompt":
        blocks = data.get("blocks")
        first = blocks[0] if isinstance(blocks, list) and blocks else {}
        return kind, (_get(first, "text") if _get(first, "type") == "text" else None,)
    if kind == "backend.codex.submit":
        return kind, (data.get("op_kind"),)
    if kind in _CHUNKS.values():
        return kind, _block_ident(data.get("content"))
    if kind in _TOOL_CALLS.values():
        return kind, (data.get("tool_call_id"),)
    if kind == "acp.plan":
        entries = data.get("entries")
        return kind, tuple(_get(e, "content") for e in entries) if isinstance(
            entries, list) else (None,)
    if kind == "acp.request_permission":
        return kind, (_get(data, "tool_call", "tool_call_id"),)
    if kind == "acp.request_permission_response":
        return kind, (data.get("outcome"), data.get("option_id"))
    return kind, ()


def show(ident: Ident, width: int = 70) -> str:
    kind, parts = ident
    text = ", ".join(repr(p) for p in parts)
    if len(text) > width:
        text = text[:width] + "..."
    return f"{kind}({text})"


@dataclass(frozen=True)
class Owed:
    """One canonical event the orchestrator must have logged."""

    key: str
    ident: Ident
    #: What caused it, for messages: ``"spawn of agent-1"``, ``"session/update ..."``.
    cause: str

    def __str__(self) -> str:
        return f"{show(self.ident)} from {self.cause}"


@dataclass(frozen=True)
class PromptSent:
    """One prompt the harness sent, as ACP content blocks."""

    key: str
    blocks: tuple[Mapping[str, Any], ...]
    cause: str


@dataclass
class Journal:
    """Everything owed in one world (and in its restarts, which share the store)."""

    owed: dict[str, list[Owed]] = field(default_factory=dict)
    prompts: dict[str, list[PromptSent]] = field(default_factory=dict)
    #: The working directory each session was started in.
    cwds: dict[str, str] = field(default_factory=dict)
    #: Planted secrets (text of embedded resources) and the prompt that carried each.
    secrets: dict[str, str] = field(default_factory=dict)
    #: What a check remembers between steps (snapshots, first-seen ids...).
    memory: dict[str, Any] = field(default_factory=dict)
    _fresh: list[Owed] = field(default_factory=list)

    def watch(self, hosts: Mapping[BackendKind, FakeSessionHost]) -> None:
        """Follow every notification of ``hosts``."""
        for host in hosts.values():
            host.subscribe(self._notified)

    def follow(self, harness: Harness) -> None:
        """Owe what the orchestrator of ``harness`` is shown: in-process, every
        notification of its hosts; through processes, the session updates the lines
        its processes printed convey, once it can have read them (at its next call),
        and nothing a process did not print (a headless CLI shows no plan)."""
        if harness.puppets is None:
            self.watch(harness.hosts)
        else:
            harness.subscribe_shown(self._notified)

    def prompt(
        self, backend: BackendKind, session_id: str, blocks: Sequence[Mapping[str, Any]],
        cause: str,
    ) -> None:
        """The harness sent a prompt: it is owed, and (Codex) its submission."""
        key = key_of(backend.value, session_id)
        self.prompts.setdefault(key, []).append(PromptSent(key, tuple(blocks), cause))
        self._owe(key, prompt_ident(blocks), cause)
        if backend is BackendKind.CODEX:
            self._owe(key, ("backend.codex.submit", ("user_input",)), cause)

    def plant(self, secret: str, cause: str) -> None:
        self.secrets[secret] = cause

    def take_fresh(self) -> list[Owed]:
        """What became owed since the last call (for acknowledgements)."""
        fresh, self._fresh = self._fresh, []
        return fresh

    def _notified(self, note: Notification) -> None:
        ident: Ident | None = None
        if note.kind is NotificationKind.SESSION_UPDATE:
            update = note.data.get("update")
            if isinstance(update, Mapping):
                ident = update_ident(update)
                what = f"session/update {update.get('sessionUpdate')}"
        elif note.kind is NotificationKind.APPROVAL:
            event = note.data.get("event")
            if isinstance(event, Mapping):
                ident = approval_ident(event)
                what = f"permission {event.get('type')}"
        if ident is not None:
            cause = f"{what} at t={since_start(note.time):.2f}s (turn {note.turn_id})"
            self._owe(key_of(note.backend.value, note.session_id), ident, cause)

    def _owe(self, key: str, ident: Ident, cause: str) -> None:
        owed = Owed(key, ident, cause)
        self.owed.setdefault(key, []).append(owed)
        self._fresh.append(owed)


def unmatched(owed: Sequence[Owed], logged: Sequence[Ident]) -> list[Owed]:
    """The owed events missing from ``logged`` when matched in order (as a subsequence).

    Greedy matching finds an in-order embedding whenever one exists; the events
    returned are those left over by it (all of them after the first miss).
    """
    position = 0
    for index, item in enumerate(owed):
        while position < len(logged) and logged[position] != item.ident:
            position += 1
        if position == len(logged):
            return list(owed[index:])
        position += 1
    return []
