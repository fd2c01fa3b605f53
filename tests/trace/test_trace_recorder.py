"""Recorder behaviour, including the three points from the Codex review of PR #18879."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest

from reference_impl.trace import (
    BodyRef,
    EventType,
    InlineBody,
    RecorderBrokenError,
    RecordingRefusedError,
    RunStatus,
    TraceEvent,
    TraceFormatError,
    TraceRecorder,
    decode_line,
    load_body,
    read_manifest,
    reduce_bundle,
)
from reference_impl.trace.reducer import EdgeKind


def _events(bundle: Path) -> list[TraceEvent]:
    lines = (bundle / "trace.jsonl").read_bytes().splitlines()
    return [decode_line(raw, line=number) for number, raw in enumerate(lines, start=1)]


def _types(bundle: Path) -> list[str]:
    return [event.type.value for event in _events(bundle)]


# ----------------------------------------------------------------------- bundle


def test_start_rollout_writes_manifest_and_first_events(make_recorder, clock) -> None:
    recorder = make_recorder(fsync=True)
    root = recorder.start_rollout("r1", "t0")
    bundle = recorder.bundle_dir
    manifest = read_manifest(bundle)
    assert (manifest.rollout_id, manifest.root_thread_id) == ("r1", "t0")
    assert manifest.created_unix_ms == 1_700_000_000_000
    assert sorted(path.name for path in bundle.iterdir()) == ["manifest.json", "trace.jsonl"]
    events = _events(bundle)
    assert [e.type for e in events] == [EventType.ROLLOUT_STARTED, EventType.THREAD_STARTED]
    assert [e.wall_time_unix_ms for e in events] == [1_700_000_000_001, 1_700_000_000_002]
    assert root.thread_id == "t0" and root.is_root and root.bundle_dir == bundle


def test_bundle_cannot_be_started_twice(make_recorder, tmp_path: Path) -> None:
    recorder = make_recorder()
    recorder.start_rollout("r1", "t0")
    with pytest.raises(RecordingRefusedError, match="already started"):
        recorder.start_rollout("r1", "t0")
    other = TraceRecorder(tmp_path / "bundle", fsync=False)
    with pytest.raises(RecordingRefusedError, match="reopen"):
        other.start_rollout("r2", "t0")
    with pytest.raises(RecordingRefusedError, match="non-empty"):
        make_recorder("x").start_rollout("", "t0")
    assert not (tmp_path / "x" / "manifest.json").exists()


def test_calls_before_start_are_refused(make_recorder) -> None:
    recorder = make_recorder()
    with pytest.raises(RecordingRefusedError, match="not been started"):
        recorder.snapshot()


# ------------------------------------------------------- review point: rollout end


def test_only_the_root_end_emits_rollout_ended(make_recorder) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    child = recorder.spawn_agent(root, "t1", spawn_call_id="s1")
    written = recorder.end_thread(child)
    assert [e.type for e in written] == [EventType.THREAD_ENDED]
    assert not recorder.rollout_ended
    assert EventType.ROLLOUT_ENDED.value not in _types(recorder.bundle_dir)
    recorder.start_turn(root, "u1")  # the rollout is still open
    written = recorder.end_thread(root, RunStatus.FAILED)
    assert [e.type for e in written] == [
        EventType.TURN_ENDED,
        EventType.THREAD_ENDED,
        EventType.ROLLOUT_ENDED,
    ]
    graph = reduce_bundle(recorder.bundle_dir)
    assert graph.ended and graph.status is RunStatus.FAILED


def test_root_end_cancels_running_descendants_deepest_first(make_recorder) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    a = recorder.spawn_agent(root, "a", spawn_call_id="s1")
    b = recorder.spawn_agent(a, "b", spawn_call_id="s2")
    recorder.start_turn(b, "bu")
    recorder.tool_call_started(b, "bu", "c1", "shell", {"cmd": "sleep"})
    written = recorder.end_thread(root)
    assert [(e.type.value, e.thread_id) for e in written] == [
        ("tool_call_ended", "b"),
        ("turn_ended", "b"),
        ("thread_ended", "b"),
        ("thread_ended", "a"),
        ("thread_ended", "t0"),
        ("rollout_ended", None),
    ]
    graph = reduce_bundle(recorder.bundle_dir)
    assert graph.thread("b").status is RunStatus.CANCELLED
    assert graph.thread("a").status is RunStatus.CANCELLED
    assert graph.thread("t0").status is RunStatus.COMPLETED
    assert graph.tool_calls[0].status is RunStatus.CANCELLED


def test_nothing_is_appended_after_the_rollout_ended(make_recorder) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    recorder.end_thread(root)
    before = (recorder.bundle_dir / "trace.jsonl").read_bytes()
    for attempt in (
        lambda: recorder.start_turn(root, "u"),
        lambda: recorder.end_thread(root),
        lambda: recorder.spawn_agent(root, "t1", spawn_call_id="s"),
    ):
        with pytest.raises(RecordingRefusedError, match="rollout has ended"):
            attempt()
    assert (recorder.bundle_dir / "trace.jsonl").read_bytes() == before


# ----------------------------------------------------------- review point: resume


def test_resume_records_thread_resumed_not_a_second_start(make_recorder) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    child = recorder.spawn_agent(root, "t1", spawn_call_id="s1", agent_name="worker")
    recorder.close_agent(root, child)
    resumed = recorder.resume_agent(root, "t1")
    assert resumed == child
    recorder.start_turn(resumed, "u-after")
    recorder.end_thread(resumed)
    recorder.resume_agent(root, child)
    starts = [
        e.thread_id for e in _events(recorder.bundle_dir) if e.type is EventType.THREAD_STARTED
    ]
    assert starts == ["t0", "t1"]
    graph = reduce_bundle(recorder.bundle_dir)
    node = graph.thread("t1")
    assert len(node.runs) == 3 and node.running and not node.closed
    assert [e.kind for e in graph.edges] == [
        EdgeKind.SPAWN,
        EdgeKind.CLOSE,
        EdgeKind.RESUME,
        EdgeKind.RESUME,
    ]


def test_spawning_a_known_thread_id_is_refused_and_writes_nothing(make_recorder) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    child = recorder.spawn_agent(root, "t1", spawn_call_id="s1")
    recorder.end_thread(child)
    before = (recorder.bundle_dir / "trace.jsonl").read_bytes()
    with pytest.raises(RecordingRefusedError, match="must use thread_resumed") as info:
        recorder.spawn_agent(root, "t1", spawn_call_id="s2")
    assert info.value.__cause__ is not None
    assert (recorder.bundle_dir / "trace.jsonl").read_bytes() == before
    with pytest.raises(RecordingRefusedError, match="still running"):
        recorder.resume_agent(root, recorder.spawn_agent(root, "t2", spawn_call_id="s3"))


# ------------------------------------------------------- review point: deliveries


def test_result_edge_is_recorded_only_after_delivery(make_recorder) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    child = recorder.spawn_agent(root, "t1", spawn_call_id="s1")
    trace = recorder.bundle_dir / "trace.jsonl"
    seen: list[bytes] = []

    def deliver() -> None:
        seen.append(trace.read_bytes())

    before = trace.read_bytes()
    event = recorder.deliver_result(child, root, {"answer": 42}, deliver)
    assert seen == [before], "the edge must not be on disk while delivering"
    assert event.type is EventType.AGENT_RESULT_DELIVERED
    edges = reduce_bundle(recorder.bundle_dir).edges
    assert [(e.kind, e.source_thread_id, e.target_thread_id) for e in edges][-1] == (
        EdgeKind.RESULT,
        "t1",
        "t0",
    )
    assert edges[-1].body == InlineBody({"answer": 42})


def test_failed_delivery_records_nothing_and_reraises(make_recorder) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    child = recorder.spawn_agent(root, "t1", spawn_call_id="s1")
    before = (recorder.bundle_dir / "trace.jsonl").read_bytes()

    class ParentGone(Exception):
        pass

    def deliver() -> None:
        raise ParentGone("parent thread is gone")

    with pytest.raises(ParentGone):
        recorder.deliver_result(child, root, "result", deliver)
    assert (recorder.bundle_dir / "trace.jsonl").read_bytes() == before
    assert all(e.kind is not EdgeKind.RESULT for e in reduce_bundle(recorder.bundle_dir).edges)


def test_delivery_to_an_ended_parent_is_refused_before_delivering(make_recorder) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    mid = recorder.spawn_agent(root, "mid", spawn_call_id="s1")
    leaf = recorder.spawn_agent(mid, "leaf", spawn_call_id="s2")
    recorder.end_thread(mid)
    calls: list[str] = []
    with pytest.raises(RecordingRefusedError, match="parent thread 'mid' ended"):
        recorder.deliver_result(leaf, mid, "late", lambda: calls.append("x"))
    assert calls == []


def test_deliver_callable_may_record_on_the_parent(make_recorder) -> None:
    """The lock is not held while delivering, so the delivery can trace its own effects."""
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    child = recorder.spawn_agent(root, "t1", spawn_call_id="s1")
    recorder.deliver_result(child, root, "r", lambda: recorder.start_turn(root, "wake"))
    assert _types(recorder.bundle_dir)[-2:] == ["turn_started", "agent_result_delivered"]


# -------------------------------------------------------------------- edges


def test_close_cancels_the_running_child_and_only_once(make_recorder) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    child = recorder.spawn_agent(root, "t1", spawn_call_id="s1")
    recorder.start_turn(child, "cu")
    recorder.tool_call_started(child, "cu", "c1", "grep")
    written = recorder.close_agent(root, child)
    assert [e.type.value for e in written] == [
        "agent_closed",
        "tool_call_ended",
        "turn_ended",
        "thread_ended",
    ]
    with pytest.raises(RecordingRefusedError, match="already closed"):
        recorder.close_agent(root, child)
    with pytest.raises(RecordingRefusedError, match="child 't1' ended"):
        recorder.send_message(root, child, "hello?")
    other = recorder.spawn_agent(root, "t2", spawn_call_id="s2")
    recorder.end_thread(other)
    assert [e.type.value for e in recorder.close_agent(root, other)] == ["agent_closed"]


def test_messages_go_to_own_running_children(make_recorder) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    a = recorder.spawn_agent(root, "a", spawn_call_id="s1")
    b = recorder.spawn_agent(a, "b", spawn_call_id="s2")
    recorder.start_turn(root, "u")
    event = recorder.send_message(root, a, "hi", turn_id="u")
    assert (event.thread_id, event.turn_id) == ("t0", "u")
    with pytest.raises(RecordingRefusedError, match="not a child of 't0'"):
        recorder.send_message(root, b, "skip a level")
    with pytest.raises(RecordingRefusedError, match="turn 'nope' was never started"):
        recorder.send_message(root, a, "hi", turn_id="nope")


def test_end_turn_cancels_open_tool_calls(make_recorder) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    recorder.start_turn(root, "u")
    recorder.tool_call_started(root, "u", "c1", "a")
    recorder.tool_call_started(root, "u", "c2", "b")
    recorder.tool_call_ended(root, "c1", output="ok")
    written = recorder.end_turn(root, "u", RunStatus.FAILED)
    assert [(e.type.value, getattr(e.payload, "status", None)) for e in written] == [
        ("tool_call_ended", RunStatus.CANCELLED),
        ("turn_ended", RunStatus.FAILED),
    ]
    with pytest.raises(RecordingRefusedError, match="never started"):
        recorder.tool_call_ended(root, "c9")
    with pytest.raises(RecordingRefusedError, match="already ended"):
        recorder.end_turn(root, "u")


def test_handles_from_another_bundle_are_refused(make_recorder) -> None:
    first = make_recorder("one")
    second = make_recorder("two")
    root1 = first.start_rollout("r1", "t0")
    second.start_rollout("r2", "t0")
    with pytest.raises(RecordingRefusedError, match="another bundle"):
        second.start_turn(root1, "u")
    assert second.thread("t0").recorder is second
    with pytest.raises(RecordingRefusedError):
        second.thread("ghost")


def test_spawn_rejects_bad_agent_names(make_recorder) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    with pytest.raises(RecordingRefusedError, match="agent name"):
        recorder.spawn_agent(root, "t1", spawn_call_id="s", agent_name="a/b")
    child = recorder.spawn_agent(root, "t1", spawn_call_id="s", agent_name="a")
    grandchild = recorder.spawn_agent(child, "t2", spawn_call_id="s2", agent_name="b")
    assert reduce_bundle(recorder.bundle_dir).thread(grandchild.thread_id).agent_path == "/a/b"


# ------------------------------------------------------------------ payloads


def test_large_bodies_go_to_payload_files(make_recorder) -> None:
    recorder = make_recorder(inline_limit_bytes=10)
    root = recorder.start_rollout("r1", "t0")
    recorder.start_turn(root, "u")
    small = recorder.tool_call_started(root, "u", "c1", "x", "12345678")  # 10 bytes encoded
    big = recorder.tool_call_started(root, "u", "c2", "x", "123456789")  # 11 bytes encoded
    assert small.payload.arguments == InlineBody("12345678")  # type: ignore[union-attr]
    ref = big.payload.arguments  # type: ignore[union-attr]
    assert isinstance(ref, BodyRef)
    assert ref.path == f"payloads/{big.seq}-1.json"
    data = (recorder.bundle_dir / ref.path).read_bytes()
    assert data == b'"123456789"'
    assert (ref.size_bytes, ref.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert load_body(recorder.bundle_dir, ref) == "123456789"
    line = (recorder.bundle_dir / "trace.jsonl").read_bytes().splitlines()[-1]
    assert json.loads(line)["payload"]["arguments"]["payload_ref"] == ref.path
    assert not [p for p in (recorder.bundle_dir / "payloads").iterdir() if p.name.startswith(".")]


def test_non_json_bodies_are_refused(make_recorder) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    recorder.start_turn(root, "u")
    before = (recorder.bundle_dir / "trace.jsonl").read_bytes()
    for bad in (float("nan"), (1, 2), {1: "x"}, {"a": {1, 2}}):
        with pytest.raises(RecordingRefusedError):
            recorder.tool_call_started(root, "u", "c", "x", bad)  # type: ignore[arg-type]
    assert (recorder.bundle_dir / "trace.jsonl").read_bytes() == before


def test_payload_file_is_synced_before_the_line_naming_it(
    make_recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = make_recorder(inline_limit_bytes=4, fsync=True)
    root = recorder.start_rollout("r1", "t0")
    recorder.start_turn(root, "u")
    trace_fd = recorder._fd
    log: list[str] = []
    real_write, real_fsync, real_replace = os.write, os.fsync, os.replace

    def write(fd: int, data: bytes) -> int:
        log.append("trace-line" if fd == trace_fd else "payload-write")
        if fd == trace_fd:
            assert bytes(data).endswith(b"\n") and bytes(data).count(b"\n") == 1
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        log.append("fsync-trace" if fd == trace_fd else "fsync-other")
        real_fsync(fd)

    def replace(src: object, dst: object) -> None:
        log.append("rename")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    recorder.tool_call_started(root, "u", "c1", "x", "a long argument")
    assert log == [
        "payload-write",
        "fsync-other",  # the payload file
        "rename",
        "fsync-other",  # payloads/ directory entry
        "trace-line",
        "fsync-trace",
    ] or log == [
        "fsync-other",  # bundle dir after creating payloads/
        "payload-write",
        "fsync-other",
        "rename",
        "fsync-other",
        "trace-line",
        "fsync-trace",
    ]


def test_every_line_is_one_write(make_recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    trace_fd = recorder._fd
    writes: list[bytes] = []
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        if fd == trace_fd:
            writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    child = recorder.spawn_agent(root, "t1", spawn_call_id="s1")
    recorder.end_thread(root)
    assert len(writes) == 5 and all(w.endswith(b"\n") and w.count(b"\n") == 1 for w in writes)
    assert child.thread_id == "t1"


# ------------------------------------------------------------------ failures


def test_a_short_write_is_cut_off_and_recording_goes_on(
    make_recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk filling up in mid-line: the fragment is cut off again, the write fails
    like any other, and once there is room the trace goes on, whole."""
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data)[:5]))
    with pytest.raises(OSError, match="short write"):
        recorder.start_turn(root, "u")
    monkeypatch.setattr(os, "write", real_write)
    assert reduce_bundle(recorder.bundle_dir) == recorder.snapshot()
    event = recorder.start_turn(root, "u2")
    assert event.seq == 3
    assert reduce_bundle(recorder.bundle_dir) == recorder.snapshot()


def test_a_torn_line_that_cannot_be_cut_off_breaks_the_recorder(
    make_recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data)[:5]))

    def refuse(fd: int, size: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "ftruncate", refuse)
    with pytest.raises(RecorderBrokenError, match="could not be cut off"):
        recorder.start_turn(root, "u")
    monkeypatch.undo()
    with pytest.raises(RecorderBrokenError):
        recorder.start_turn(root, "u2")
    with pytest.raises(TraceFormatError, match="truncated final line"):
        reduce_bundle(recorder.bundle_dir)


def test_failed_write_leaves_state_unchanged(
    make_recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")

    def fail(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", fail)
    with pytest.raises(OSError, match="No space"):
        recorder.start_turn(root, "u")
    monkeypatch.undo()
    event = recorder.start_turn(root, "u")
    assert event.seq == 3
    assert reduce_bundle(recorder.bundle_dir) == recorder.snapshot()


# ------------------------------------------------------------ reopen, threads


def test_reopen_continues_the_bundle(make_recorder, clock) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    child = recorder.spawn_agent(root, "t1", spawn_call_id="s1")
    recorder.close_agent(root, child)
    recorder.close()
    with pytest.raises(RecorderBrokenError, match="closed"):
        recorder.start_turn(root, "u")
    again = TraceRecorder.reopen(recorder.bundle_dir, clock=clock, fsync=False)
    root2 = again.thread("t0")
    again.resume_agent(root2, "t1")
    assert again.start_turn(root2, "u").seq == 8
    again.end_thread(root2)
    again.close()
    graph = reduce_bundle(recorder.bundle_dir)
    assert graph.ended and len(graph.thread("t1").runs) == 2


def test_reopen_refuses_a_damaged_bundle(make_recorder) -> None:
    recorder = make_recorder()
    recorder.start_rollout("r1", "t0")
    recorder.close()
    with (recorder.bundle_dir / "trace.jsonl").open("ab") as handle:
        handle.write(b"{")
    with pytest.raises(TraceFormatError):
        TraceRecorder.reopen(recorder.bundle_dir)


def test_concurrent_children_share_one_contiguous_sequence(make_recorder) -> None:
    recorder = make_recorder()
    root = recorder.start_rollout("r1", "t0")
    children = [recorder.spawn_agent(root, f"c{i}", spawn_call_id=f"s{i}") for i in range(6)]

    def work(index: int) -> None:
        child = children[index]
        for turn in range(15):
            recorder.start_turn(child, f"u{turn}")
            recorder.tool_call_started(child, f"u{turn}", f"c{index}-{turn}", "x", "y" * turn)
            recorder.end_turn(child, f"u{turn}")
        recorder.deliver_result(child, root, f"done {index}", lambda: None)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(len(children))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    recorder.end_thread(root)
    events = _events(recorder.bundle_dir)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    graph = reduce_bundle(recorder.bundle_dir)
    assert len(graph.turns) == 6 * 15
    assert sum(1 for e in graph.edges if e.kind is EdgeKind.RESULT) == 6
    assert graph == recorder.snapshot()
