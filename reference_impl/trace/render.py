"""Render a :class:`~.reducer.TraceGraph` for people: text tree, Graphviz dot, Mermaid.

The text form is for terminals and test failures: each thread lists its turns (with
tool calls) and the edges it is the source of, in ``seq`` order, and a spawned thread
is drawn under the spawn edge that created it, so indentation is the spawn tree. The
dot and Mermaid forms draw threads as nodes and every edge as an arrow labelled with
its kind and ``seq``, for pasting into a viewer.

All three are pure functions of the graph, so the same trace always renders the same.
"""

from __future__ import annotations

import json
from typing import Final

from conformance.trace_format.events import BodyRef, InlineBody, ThreadOrigin
from conformance.trace_format.reducer import Edge, EdgeKind, ThreadNode, TraceGraph, TurnNode

_PREVIEW_CHARS: Final = 40
_INDENT: Final = "  "


def _preview(body: InlineBody | BodyRef | None) -> str:
    """A short single-line view of a body; payload files are named, not opened."""
    if body is None:
        return ""
    if isinstance(body, BodyRef):
        return f"<{body.path}, {body.size_bytes} B>"
    if body.value is None:
        return ""
    text = json.dumps(body.value, ensure_ascii=False, separators=(",", ":"))
    if len(text) > _PREVIEW_CHARS:
        text = text[: _PREVIEW_CHARS - 3] + "..."
    return text


def _status(thread: ThreadNode) -> str:
    status = thread.status
    return "running" if status is None else status.value


def _thread_facts(thread: ThreadNode) -> str:
    facts = [f"path={thread.agent_path}"]
    if thread.origin is ThreadOrigin.SPAWNED:
        facts.append(f"depth={thread.depth}")
    facts.append(f"status={_status(thread)}")
    if len(thread.runs) > 1:
        facts.append(f"runs={len(thread.runs)}")
    if thread.closed:
        facts.append("closed")
    return " ".join(facts)


def _edge_text(edge: Edge) -> str:
    parts = [f"{edge.kind.value} -> {edge.target_thread_id}"]
    if edge.spawn_call_id is not None:
        parts.append(f"call={edge.spawn_call_id}")
    if edge.status is not None:
        parts.append(edge.status.value)
    preview = _preview(edge.body)
    if preview:
        parts.append(preview)
    if edge.turn_id is not None:
        parts.append(f"turn={edge.turn_id}")
    parts.append(f"@{edge.seq}")
    return " ".join(parts)


def render_text(graph: TraceGraph) -> str:
    """A readable tree of threads with their turns, tool calls and edges."""
    if graph.rollout_id is None or graph.root_thread_id is None:
        return "rollout (empty trace)\n"
    state = "running" if graph.status is None else graph.status.value
    events = f"events 1-{graph.last_seq}" if graph.last_seq else "no events"
    lines = [f"rollout {graph.rollout_id}: {state} ({events}, schema {graph.schema_version})"]
    if graph.has_thread(graph.root_thread_id):
        _render_thread(graph, graph.thread(graph.root_thread_id), 0, lines, "[root]")
    return "\n".join(lines) + "\n"


def _render_thread(
    graph: TraceGraph, thread: ThreadNode, depth: int, lines: list[str], role: str
) -> None:
    pad = _INDENT * depth
    lines.append(f"{pad}thread {thread.thread_id} {role} {_thread_facts(thread)}")
    items: list[tuple[int, TurnNode | Edge]] = [
        (turn.started_seq, turn) for turn in graph.turns_of(thread.thread_id)
    ]
    items += [(edge.seq, edge) for edge in graph.edges_from(thread.thread_id)]
    items.sort(key=lambda item: item[0])
    inner = pad + _INDENT
    for _seq, item in items:
        if isinstance(item, TurnNode):
            status = "running" if item.status is None else item.status.value
            lines.append(f"{inner}turn {item.turn_id}: {status} @{item.started_seq}")
            for call in graph.tool_calls_of(thread.thread_id, item.turn_id):
                call_status = "running" if call.status is None else call.status.value
                args = _preview(call.arguments)
                shown = f" {args}" if args else ""
                lines.append(
                    f"{inner}{_INDENT}tool {call.tool_name} call={call.call_id}{shown}:"
                    f" {call_status} @{call.started_seq}"
                )
            continue
        lines.append(f"{inner}{_edge_text(item)}")
        if item.kind is EdgeKind.SPAWN:
            if graph.has_thread(item.target_thread_id):
                child = graph.thread(item.target_thread_id)
                _render_thread(graph, child, depth + 2, lines, f"[spawned by {thread.thread_id}]")
            else:
                lines.append(f"{inner}{_INDENT}thread {item.target_thread_id} (never started)")


def _dot_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


_DOT_STYLE: Final[dict[EdgeKind, str]] = {
    EdgeKind.SPAWN: "style=bold",
    EdgeKind.MESSAGE: "style=dashed",
    EdgeKind.RESULT: "style=dotted, color=blue",
    EdgeKind.CLOSE: "color=red",
    EdgeKind.RESUME: "color=darkgreen",
}

_MERMAID_ARROW: Final[dict[EdgeKind, str]] = {
    EdgeKind.SPAWN: "==>",
    EdgeKind.MESSAGE: "-.->",
    EdgeKind.RESULT: "-->",
    EdgeKind.CLOSE: "--x",
    EdgeKind.RESUME: "-->",
}


def _edge_label(edge: Edge) -> str:
    parts = [edge.kind.value]
    if edge.spawn_call_id is not None:
        parts.append(edge.spawn_call_id)
    if edge.status is not None:
        parts.append(edge.status.value)
    parts.append(f"@{edge.seq}")
    return " ".join(parts)


def _node_lines(graph: TraceGraph, thread: ThreadNode) -> list[str]:
    turns = len(thread.turn_ids)
    calls = sum(len(graph.tool_calls_of(thread.thread_id, turn)) for turn in thread.turn_ids)
    lines = [thread.thread_id, thread.agent_path, _status(thread)]
    if len(thread.runs) > 1:
        lines.append(f"runs={len(thread.runs)}")
    lines.append(f"{turns} turn{'s' * (turns != 1)}, {calls} tool call{'s' * (calls != 1)}")
    return lines


def _missing_targets(graph: TraceGraph) -> list[str]:
    seen: list[str] = []
    for edge in graph.edges:
        for thread_id in (edge.source_thread_id, edge.target_thread_id):
            if not graph.has_thread(thread_id) and thread_id not in seen:
                seen.append(thread_id)
    return seen


def render_dot(graph: TraceGraph) -> str:
    """Graphviz ``digraph``: one box per thread, one arrow per edge."""
    title = f"rollout {graph.rollout_id or '(empty)'}"
    if graph.status is not None:
        title += f": {graph.status.value}"
    out = [
        "digraph rollout {",
        f"  label={_dot_quote(title)};",
        "  labelloc=t;",
        '  node [shape=box, fontname="monospace"];',
    ]
    for thread in graph.threads:
        label = "\n".join(_node_lines(graph, thread))
        extra = ", peripheries=2" if thread.origin is ThreadOrigin.ROOT else ""
        out.append(f"  {_dot_quote(thread.thread_id)} [label={_dot_quote(label)}{extra}];")
    for thread_id in _missing_targets(graph):
        label = f"{thread_id}\n(never started)"
        out.append(f"  {_dot_quote(thread_id)} [label={_dot_quote(label)}, style=dashed];")
    for edge in graph.edges:
        out.append(
            f"  {_dot_quote(edge.source_thread_id)} -> {_dot_quote(edge.target_thread_id)}"
            f" [label={_dot_quote(_edge_label(edge))}, {_DOT_STYLE[edge.kind]}];"
        )
    out.append("}")
    return "\n".join(out) + "\n"


def _mermaid_text(text: str) -> str:
    return (
        text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )


def render_mermaid(graph: TraceGraph) -> str:
    """Mermaid ``flowchart``: node ids are positional (``n0`` ...), labels are quoted."""
    ids: dict[str, str] = {}
    out = ["flowchart TD"]
    for thread in graph.threads:
        ids[thread.thread_id] = f"n{len(ids)}"
        label = "<br/>".join(_mermaid_text(line) for line in _node_lines(graph, thread))
        out.append(f'  {ids[thread.thread_id]}["{label}"]')
    for thread_id in _missing_targets(graph):
        ids[thread_id] = f"n{len(ids)}"
        out.append(f'  {ids[thread_id]}["{_mermaid_text(thread_id)}<br/>(never started)"]')
    for edge in graph.edges:
        arrow = _MERMAID_ARROW[edge.kind]
        label = _mermaid_text(_edge_label(edge))
        out.append(
            f'  {ids[edge.source_thread_id]} {arrow}|"{label}"| {ids[edge.target_thread_id]}'
        )
    return "\n".join(out) + "\n"


RENDERERS: Final = {"text": render_text, "dot": render_dot, "mermaid": render_mermaid}
"""Renderer per ``--format`` name."""


__all__ = ["RENDERERS", "render_dot", "render_mermaid", "render_text"]
