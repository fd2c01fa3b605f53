"""Golden-ish checks of the three renderings of one fixed rollout."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_impl.trace import (
    RunStatus,
    TraceGraph,
    reduce_bundle,
    reduce_events,
    render_dot,
    render_mermaid,
    render_text,
)


@pytest.fixture
def graph(make_recorder) -> TraceGraph:
    """root spawns a worker that spawns a helper; message, result, close, resume, end."""
    recorder = make_recorder(inline_limit_bytes=32)
    root = recorder.start_rollout("r1", "t0")
    recorder.start_turn(root, "u1")
    recorder.tool_call_started(root, "u1", "c1", "shell", {"cmd": "ls"})
    recorder.tool_call_ended(root, "c1", output="x" * 40)
    worker = recorder.spawn_agent(
        root, "t1", spawn_call_id="s1", agent_name="worker", task="fix the bug", turn_id="u1"
    )
    recorder.send_message(root, worker, "hello", turn_id="u1")
    recorder.start_turn(worker, "w1")
    recorder.spawn_agent(worker, "t2", spawn_call_id="s2", agent_name="helper")
    recorder.deliver_result(worker, root, 'said "done"', lambda: None, turn_id="w1")
    recorder.close_agent(root, worker, turn_id="u1")
    recorder.resume_agent(root, worker)
    recorder.end_turn(root, "u1")
    recorder.end_thread(root, RunStatus.COMPLETED)
    return reduce_bundle(recorder.bundle_dir)


def test_text_tree(graph: TraceGraph) -> None:
    assert render_text(graph) == (
        "rollout r1: completed (events 1-21, schema 1)\n"
        "thread t0 [root] path=/ status=completed\n"
        "  turn u1: completed @3\n"
        '    tool shell call=c1 {"cmd":"ls"}: completed @4\n'
        '  spawn -> t1 call=s1 "fix the bug" turn=u1 @6\n'
        "    thread t1 [spawned by t0] path=/worker depth=1 status=cancelled runs=2\n"
        "      turn w1: cancelled @9\n"
        "      spawn -> t2 call=s2 @10\n"
        "        thread t2 [spawned by t1] path=/worker/helper depth=2 status=cancelled\n"
        '      result -> t0 completed "said \\"done\\"" turn=w1 @12\n'
        '  message -> t1 "hello" turn=u1 @8\n'
        "  close -> t1 turn=u1 @13\n"
        "  resume -> t1 @16\n"
    )


def test_text_shows_payload_refs_and_long_previews(make_recorder) -> None:
    recorder = make_recorder(inline_limit_bytes=16)
    root = recorder.start_rollout("r1", "t0")
    recorder.spawn_agent(root, "t1", spawn_call_id="s1", task="a" * 30)
    recorder.spawn_agent(root, "t2", spawn_call_id="s2", task=["b"] * 3)
    recorder.start_turn(root, "u")
    recorder.tool_call_started(root, "u", "c", "t", "é" * 5)
    text = render_text(reduce_bundle(recorder.bundle_dir))
    assert "spawn -> t1 call=s1 <payloads/3-1.json, 32 B> @3" in text
    assert 'spawn -> t2 call=s2 ["b","b","b"] @5' in text
    assert 'tool t call=c "ééééé": running @8' in text
    assert "thread t0 [root] path=/ status=running" in text
    assert text.startswith("rollout r1: running (events 1-8, schema 1)\n")


def test_dot(graph: TraceGraph) -> None:
    dot = render_dot(graph)
    lines = dot.splitlines()
    assert lines[0] == "digraph rollout {" and lines[-1] == "}"
    assert '  label="rollout r1: completed";' in lines
    assert '  "t0" [label="t0\\n/\\ncompleted\\n1 turn, 1 tool call", peripheries=2];' in lines
    assert '  "t1" [label="t1\\n/worker\\ncancelled\\nruns=2\\n1 turn, 0 tool calls"];' in lines
    edges = [line for line in lines if " -> " in line]
    assert edges == [
        '  "t0" -> "t1" [label="spawn s1 @6", style=bold];',
        '  "t0" -> "t1" [label="message @8", style=dashed];',
        '  "t1" -> "t2" [label="spawn s2 @10", style=bold];',
        '  "t1" -> "t0" [label="result completed @12", style=dotted, color=blue];',
        '  "t0" -> "t1" [label="close @13", color=red];',
        '  "t0" -> "t1" [label="resume @16", color=darkgreen];',
    ]


def test_dot_quotes_awkward_ids(build) -> None:
    events = [*build.start('t"0\\'), *build.spawned('t"0\\', "x", "/x")]
    dot = render_dot(reduce_events(events))
    assert '"t\\"0\\\\" -> "x"' in dot


def test_mermaid(graph: TraceGraph) -> None:
    lines = render_mermaid(graph).splitlines()
    assert lines[0] == "flowchart TD"
    assert '  n0["t0<br/>/<br/>completed<br/>1 turn, 1 tool call"]' in lines
    assert '  n2["t2<br/>/worker/helper<br/>cancelled<br/>0 turns, 0 tool calls"]' in lines
    assert [line for line in lines if "|" in line] == [
        '  n0 ==>|"spawn s1 @6"| n1',
        '  n0 -.->|"message @8"| n1',
        '  n1 ==>|"spawn s2 @10"| n2',
        '  n1 -->|"result completed @12"| n0',
        '  n0 --x|"close @13"| n1',
        '  n0 -->|"resume @16"| n1',
    ]


def test_mermaid_escapes_labels(build) -> None:
    events = [*build.start('<b>"x"</b>')]
    text = render_mermaid(reduce_events(events))
    assert "#lt;b#gt;#quot;x#quot;#lt;/b#gt;" in text
    assert "<b>" not in text


def test_spawn_whose_child_never_started(build) -> None:
    graph = reduce_events([*build.start(), build.spawn_edge("t0", "t1", "/t1")])
    assert "    thread t1 (never started)" in render_text(graph)
    assert '"t1" [label="t1\\n(never started)", style=dashed];' in render_dot(graph)
    assert 'n1["t1<br/>(never started)"]' in render_mermaid(graph)


def test_empty_graph_renders() -> None:
    graph = reduce_events([])
    assert render_text(graph) == "rollout (empty trace)\n"
    assert render_dot(graph).startswith("digraph rollout {")
    assert render_mermaid(graph) == "flowchart TD\n"


def test_rendering_is_deterministic(graph: TraceGraph, tmp_path: Path) -> None:
    assert render_text(graph) == render_text(graph)
    assert render_dot(graph) == render_dot(graph)


def test_bundle_with_manifest_but_no_events(make_recorder) -> None:
    """A crash right after creating the bundle leaves a readable, empty rollout."""
    recorder = make_recorder()
    recorder.start_rollout("r1", "t0")
    (recorder.bundle_dir / "trace.jsonl").write_bytes(b"")
    graph = reduce_bundle(recorder.bundle_dir)
    assert (graph.rollout_id, graph.root_thread_id, graph.threads) == ("r1", "t0", ())
    assert render_text(graph) == "rollout r1: running (no events, schema 1)\n"
