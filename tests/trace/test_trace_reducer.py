"""Reducer regressions: one example per rejection, plus the dispatch-completeness proofs.

Every rejection must name the ``seq`` and the event it stopped at; the helper
:func:`_rejects` checks both on top of the exception class.
"""

from __future__ import annotations

import ast
import enum
import inspect
import json
import textwrap
from pathlib import Path
from typing import cast

import pytest

from reference_impl.trace import (
    BodyRef,
    CorruptPayloadError,
    DuplicateStartError,
    DuplicateTerminalError,
    EventAfterRolloutEndError,
    EventType,
    IllegalTransitionError,
    ManifestError,
    MissingPayloadError,
    Reducer,
    RolloutMismatchError,
    RunStatus,
    SequenceGapError,
    ThreadOrigin,
    ThreadStarted,
    TraceError,
    TraceEvent,
    TraceFormatError,
    TurnStarted,
    UnhandledEventTypeError,
    UnknownEventTypeError,
    UnknownThreadError,
    UnknownToolCallError,
    UnknownTurnError,
    UnsupportedSchemaVersionError,
    encode_line,
    errors,
    reduce_bundle,
    reduce_events,
)
from reference_impl.trace import reducer as reducer_module
from reference_impl.trace.reducer import EdgeKind


def _rejects(
    events: list[TraceEvent], cls: type[TraceError], seq: int, fragment: str = ""
) -> TraceError:
    with pytest.raises(cls) as info:
        reduce_events(events)
    err = info.value
    assert type(err) is cls, f"{type(err).__name__} is not exactly {cls.__name__}: {err}"
    assert err.seq == seq
    bad = events[seq - 1]
    assert str(err).startswith(f"seq {seq} ({bad.type.value}")
    assert fragment in str(err)
    return err


def _write_bundle(
    root: Path, events: list[TraceEvent], *, rollout: str = "r1", thread: str = "t0"
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    manifest = {
        "schema_version": 1,
        "rollout_id": rollout,
        "root_thread_id": thread,
        "created_unix_ms": 0,
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    (root / "trace.jsonl").write_bytes(b"".join(encode_line(event) for event in events))
    return root


# --------------------------------------------------------------------- acceptance


def test_full_tree_reduces_to_expected_graph(build) -> None:
    events = [
        *build.start(),
        build.turn_started("t0", "u1"),
        build.call_started("t0", "u1", "c1"),
        *build.spawned("t0", "t1", "/w"),
        build.message("t0", "t1"),
        *build.spawned("t1", "t2", "/w/x"),
        build.thread_ended("t2"),
        build.result("t1", "t0"),
        build.thread_ended("t1"),
        build.closed("t0", "t1"),
        build.thread_resumed("t1", "t0"),
        build.thread_ended("t1", RunStatus.FAILED),
        build.call_ended("t0", "u1", "c1"),
        build.turn_ended("t0", "u1"),
        build.thread_ended("t0"),
        build.rollout_ended(),
    ]
    graph = reduce_events(events)
    assert graph.ended and graph.status is RunStatus.COMPLETED and graph.last_seq == len(events)
    assert [t.thread_id for t in graph.threads] == ["t0", "t1", "t2"]
    t1 = graph.thread("t1")
    assert (t1.parent_thread_id, t1.agent_path, t1.depth, t1.closed) == ("t0", "/w", 1, False)
    assert [run.status for run in t1.runs] == [RunStatus.COMPLETED, RunStatus.FAILED]
    assert [run.resumed for run in t1.runs] == [False, True]
    assert graph.thread("t0").child_thread_ids == ("t1",)
    assert graph.thread("t1").child_thread_ids == ("t2",)
    assert [(e.kind, e.source_thread_id, e.target_thread_id) for e in graph.edges] == [
        (EdgeKind.SPAWN, "t0", "t1"),
        (EdgeKind.MESSAGE, "t0", "t1"),
        (EdgeKind.SPAWN, "t1", "t2"),
        (EdgeKind.RESULT, "t1", "t0"),
        (EdgeKind.CLOSE, "t0", "t1"),
        (EdgeKind.RESUME, "t0", "t1"),
    ]
    assert [e.edge_id for e in graph.edges] == [f"r1/e{e.seq}" for e in graph.edges]
    assert graph.edges[0].spawn_call_id == "spawn-t1"
    assert graph.tool_calls[0].status is RunStatus.COMPLETED
    assert graph.turns[0].tool_call_ids == ("c1",)


def test_empty_trace_is_an_empty_graph() -> None:
    graph = reduce_events([])
    assert graph.rollout_id is None and graph.threads == () and graph.last_seq == 0


# ---------------------------------------------------------------------- rejections


def test_non_contiguous_seq(build) -> None:
    gap = [*build.start(), build.ev(TurnStarted(), "t0", "u1", seq=5)]
    with pytest.raises(SequenceGapError) as info:
        reduce_events(gap)
    assert info.value.seq == 5 and str(info.value).startswith("seq 5 (turn_started")
    assert "expected seq 3, found 5" in str(info.value)


def test_repeated_seq(build) -> None:
    first = build.rollout_started()
    repeat = build.ev(first.payload, seq=1)
    with pytest.raises(SequenceGapError, match="expected seq 2, found 1"):
        reduce_events([first, repeat])


def test_unknown_schema_version(build) -> None:
    events = [
        *build.start(),
        build.ev(TurnStarted(), "t0", "u", schema_version=2),
    ]
    _rejects(events, UnsupportedSchemaVersionError, 3, "schema_version 2")


def test_trace_must_start_with_rollout_started(build) -> None:
    _rejects([build.root_started()], IllegalTransitionError, 1, "must begin with rollout_started")


def test_second_rollout_started(build) -> None:
    _rejects([*build.start(), build.rollout_started()], DuplicateStartError, 3)


def test_event_for_another_rollout(build) -> None:
    events = [
        *build.start(),
        build.ev(TurnStarted(), "t0", "u", rollout_id="other"),
    ]
    _rejects(events, RolloutMismatchError, 3, "'other'")


def test_duplicate_root_thread_start(build) -> None:
    _rejects(
        [*build.start(), build.root_started()], DuplicateStartError, 3, "already started at seq 2"
    )


def test_resumed_child_emitting_a_second_thread_started_is_rejected(build) -> None:
    """The Codex review's P1: a resumed child re-emitting ThreadStarted breaks replay."""
    events = [*build.start(), *build.spawned("t0", "t1", "/w"), build.thread_ended("t1")]
    again = build.ev(
        ThreadStarted(origin=ThreadOrigin.SPAWNED, parent_thread_id="t0", agent_path="/w", depth=1),
        "t1",
    )
    _rejects([*events, again], DuplicateStartError, 6, "must use thread_resumed")


def test_spawning_an_existing_thread_id(build) -> None:
    events = [*build.start(), *build.spawned("t0", "t1", "/w"), build.thread_ended("t1")]
    _rejects([*events, build.spawn_edge("t0", "t1", "/w2", call="s2")], DuplicateStartError, 6)


def test_duplicate_spawn_call_id(build) -> None:
    events = [
        *build.start(),
        *build.spawned("t0", "t1", "/a", call="s"),
        build.spawn_edge("t0", "t2", "/b", call="s"),
    ]
    _rejects(events, DuplicateStartError, 5, "spawn call 's'")


def test_duplicate_turn_start(build) -> None:
    events = [
        *build.start(),
        build.turn_started("t0", "u"),
        build.turn_ended("t0", "u"),
        build.turn_started("t0", "u"),
    ]
    _rejects(events, DuplicateStartError, 5, "turn 'u' already started at seq 3")


def test_duplicate_tool_call_start(build) -> None:
    events = [
        *build.start(),
        build.turn_started("t0", "u"),
        build.call_started("t0", "u", "c"),
        build.call_started("t0", "u", "c"),
    ]
    _rejects(events, DuplicateStartError, 5)


def test_event_on_unknown_thread(build) -> None:
    _rejects([*build.start(), build.turn_started("ghost", "u")], UnknownThreadError, 3, "'ghost'")


def test_event_on_unknown_turn(build) -> None:
    _rejects([*build.start(), build.call_started("t0", "nope", "c")], UnknownTurnError, 3, "'nope'")


def test_turn_end_on_unknown_turn(build) -> None:
    _rejects([*build.start(), build.turn_ended("t0", "nope")], UnknownTurnError, 3)


def test_end_of_unknown_tool_call(build) -> None:
    events = [*build.start(), build.turn_started("t0", "u"), build.call_ended("t0", "u", "c9")]
    _rejects(events, UnknownToolCallError, 4, "'c9'")


def test_message_to_unknown_child(build) -> None:
    _rejects([*build.start(), build.message("t0", "ghost")], UnknownThreadError, 3)


def test_event_after_rollout_ended(build) -> None:
    events = [
        *build.start(),
        build.thread_ended("t0"),
        build.rollout_ended(),
        build.turn_started("t0", "u"),
    ]
    _rejects(events, EventAfterRolloutEndError, 5, "ended at seq 4")


def test_second_thread_end(build) -> None:
    events = [
        *build.start(),
        *build.spawned("t0", "t1", "/w"),
        build.thread_ended("t1"),
        build.thread_ended("t1"),
    ]
    _rejects(events, DuplicateTerminalError, 6, "already ended at seq 5")


def test_second_turn_end(build) -> None:
    events = [
        *build.start(),
        build.turn_started("t0", "u"),
        build.turn_ended("t0", "u"),
        build.turn_ended("t0", "u"),
    ]
    _rejects(events, DuplicateTerminalError, 5)


def test_second_tool_call_end(build) -> None:
    events = [
        *build.start(),
        build.turn_started("t0", "u"),
        build.call_started("t0", "u", "c"),
        build.call_ended("t0", "u", "c"),
        build.call_ended("t0", "u", "c", RunStatus.FAILED),
    ]
    _rejects(events, DuplicateTerminalError, 6)


def test_second_rollout_end_is_an_event_after_the_end(build) -> None:
    events = [
        *build.start(),
        build.thread_ended("t0"),
        build.rollout_ended(),
        build.rollout_ended(),
    ]
    _rejects(events, EventAfterRolloutEndError, 5)


def test_second_close_without_resume(build) -> None:
    events = [
        *build.start(),
        *build.spawned("t0", "t1", "/w"),
        build.closed("t0", "t1"),
        build.closed("t0", "t1"),
    ]
    _rejects(events, DuplicateTerminalError, 6, "already closed at seq 5")


def test_missing_payload_without_bundle_dir(build) -> None:
    ref = BodyRef("payloads/4-1.json", 3, "0" * 64)
    events = [
        *build.start(),
        build.turn_started("t0", "u"),
        build.call_started("t0", "u", "c", ref),
    ]
    _rejects(events, MissingPayloadError, 4, "payloads/4-1.json")


@pytest.mark.parametrize(
    ("events_fn", "seq", "fragment"),
    [
        (lambda b: [*b.start(), b.rollout_ended()], 3, "threads are running: t0"),
        (
            lambda b: [*b.start(), b.thread_ended("t0"), b.turn_started("t0", "u")],
            4,
            "ended at seq 3",
        ),
        (
            lambda b: [*b.start(), b.turn_started("t0", "u"), b.turn_started("t0", "v")],
            4,
            "turn 'u' is still open",
        ),
        (
            lambda b: [*b.start(), b.turn_started("t0", "u"), b.thread_ended("t0")],
            4,
            "still has turn 'u' open",
        ),
        (
            lambda b: [
                *b.start(),
                b.turn_started("t0", "u"),
                b.call_started("t0", "u", "c"),
                b.turn_ended("t0", "u"),
            ],
            5,
            "tool calls open: c",
        ),
        (lambda b: [*b.start(), b.child_started("t0", "t1", "/w")], 3, "no agent_spawned edge"),
        (
            lambda b: [*b.start(), b.spawn_edge("t0", "t1", "/w/x")],
            3,
            "not a child of the parent's path",
        ),
        (
            lambda b: [
                *b.start(),
                *b.spawned("t0", "t1", "/w"),
                b.spawn_edge("t0", "t2", "/w", call="s2"),
            ],
            5,
            "already used by thread 't1'",
        ),
        (
            lambda b: [
                *b.start(),
                *b.spawned("t0", "t1", "/a"),
                *b.spawned("t1", "t2", "/a/b"),
                b.message("t0", "t2"),
            ],
            7,
            "not a child of 't0'",
        ),
        (
            lambda b: [
                *b.start(),
                *b.spawned("t0", "t1", "/a"),
                b.thread_ended("t1"),
                b.message("t0", "t1"),
            ],
            6,
            "ended at seq 5",
        ),
        (
            lambda b: [
                *b.start(),
                *b.spawned("t0", "t1", "/a"),
                b.closed("t0", "t1"),
                b.message("t0", "t1"),
            ],
            6,
            "was closed at seq 5",
        ),
        (lambda b: [*b.start(), b.result("t0", "t0")], 3, "root thread has no parent"),
        (
            lambda b: [
                *b.start(),
                *b.spawned("t0", "t1", "/a"),
                *b.spawned("t1", "t2", "/a/b"),
                b.result("t2", "t0"),
            ],
            7,
            "but the parent is 't1'",
        ),
        (
            lambda b: [
                *b.start(),
                *b.spawned("t0", "t1", "/a"),
                *b.spawned("t1", "t2", "/a/b"),
                b.thread_ended("t1"),
                b.result("t2", "t1"),
            ],
            8,
            "parent thread 't1' ended at seq 7",
        ),
        (
            lambda b: [
                *b.start(),
                *b.spawned("t0", "t1", "/a"),
                b.closed("t0", "t1"),
                b.result("t1", "t0"),
            ],
            6,
            "closed by its parent at seq 5",
        ),
        (
            lambda b: [*b.start(), *b.spawned("t0", "t1", "/a"), b.thread_resumed("t1", "t0")],
            5,
            "still running",
        ),
        (
            lambda b: [*b.start(), b.thread_ended("t0"), b.thread_resumed("t0", "t0")],
            4,
            "root thread cannot be resumed",
        ),
        (
            lambda b: [
                *b.start(),
                *b.spawned("t0", "t1", "/a"),
                *b.spawned("t1", "t2", "/a/b"),
                b.thread_ended("t2"),
                b.thread_resumed("t2", "t0"),
            ],
            8,
            "but its parent is 't1'",
        ),
        (
            lambda b: [*b.start(), *b.spawned("t0", "t1", "/a"), b.rollout_ended()],
            5,
            "threads are running: t0, t1",
        ),
        (
            lambda b: [
                *b.start(),
                b.spawn_edge("t0", "t1", "/a"),
                b.thread_ended("t0"),
                b.rollout_ended(),
            ],
            5,
            "never started: t1",
        ),
        (
            lambda b: [
                *b.start(),
                b.turn_started("t0", "u"),
                b.call_started("t0", "u", "c"),
                b.turn_ended("t0", "u", RunStatus.CANCELLED),
            ],
            5,
            "tool calls open",
        ),
    ],
)
def test_illegal_transitions(build, events_fn, seq: int, fragment: str) -> None:
    _rejects(events_fn(build), IllegalTransitionError, seq, fragment)


def test_tool_call_ended_on_the_wrong_turn(build) -> None:
    events = [
        *build.start(),
        build.turn_started("t0", "u"),
        build.call_started("t0", "u", "c"),
        *build.spawned("t0", "t1", "/a"),
        build.turn_started("t1", "v"),
        build.call_ended("t1", "v", "c"),
    ]
    _rejects(events, IllegalTransitionError, 8, "started on thread 't0' turn 'u'")


def test_root_thread_start_for_another_thread(build) -> None:
    _rejects([build.rollout_started("t0"), build.root_started("t9")], RolloutMismatchError, 2)


def test_rejection_leaves_reducer_state_untouched(build) -> None:
    reducer = Reducer()
    for event in build.start():
        reducer.apply(event)
    before = reducer.graph()
    with pytest.raises(IllegalTransitionError):
        reducer.prepare(build.rollout_ended())
    assert reducer.graph() == before
    assert reducer.next_seq == 3


def test_prepare_does_not_change_state_until_commit(build) -> None:
    reducer = Reducer()
    for event in build.start():
        reducer.apply(event)
    commit = reducer.prepare(build.turn_started("t0", "u"))
    assert reducer.open_turn("t0") is None and reducer.next_seq == 3
    commit()
    assert reducer.open_turn("t0") == "u" and reducer.next_seq == 4


# --------------------------------------------------------------- bundle-level errors


def test_missing_payload_file_in_bundle(tmp_path: Path, build) -> None:
    ref = BodyRef("payloads/4-1.json", 3, "0" * 64)
    events = [
        *build.start(),
        build.turn_started("t0", "u"),
        build.call_started("t0", "u", "c", ref),
    ]
    bundle = _write_bundle(tmp_path / "b", events)
    with pytest.raises(MissingPayloadError) as info:
        reduce_bundle(bundle)
    assert info.value.seq == 4 and "does not exist" in str(info.value)


def test_corrupt_payload_file_in_bundle(tmp_path: Path, build) -> None:
    import hashlib

    data = b'"abc"'
    ref = BodyRef("payloads/4-1.json", len(data), hashlib.sha256(data).hexdigest())
    events = [
        *build.start(),
        build.turn_started("t0", "u"),
        build.call_started("t0", "u", "c", ref),
    ]
    bundle = _write_bundle(tmp_path / "b", events)
    (bundle / "payloads").mkdir()
    (bundle / "payloads" / "4-1.json").write_bytes(data)
    assert reduce_bundle(bundle).tool_calls[0].arguments == ref
    (bundle / "payloads" / "4-1.json").write_bytes(b'"abd"')
    with pytest.raises(CorruptPayloadError) as info:
        reduce_bundle(bundle)
    assert info.value.seq == 4


def test_unknown_type_in_bundle_names_the_line(tmp_path: Path, build) -> None:
    bundle = _write_bundle(tmp_path / "b", build.start())
    with (bundle / "trace.jsonl").open("ab") as handle:
        handle.write(
            b'{"schema_version":1,"seq":3,"wall_time_unix_ms":0,"rollout_id":"r1",'
            b'"thread_id":"t0","turn_id":null,"payload":{"type":"agent_teleported"}}\n'
        )
    with pytest.raises(UnknownEventTypeError) as info:
        reduce_bundle(bundle)
    assert info.value.line == 3 and info.value.seq == 3


def test_truncated_final_line(tmp_path: Path, build) -> None:
    bundle = _write_bundle(tmp_path / "b", build.start())
    with (bundle / "trace.jsonl").open("ab") as handle:
        handle.write(b'{"schema_version":1,"seq":3')
    with pytest.raises(TraceFormatError, match="line 3: truncated final line"):
        reduce_bundle(bundle)


def test_empty_line(tmp_path: Path, build) -> None:
    bundle = _write_bundle(tmp_path / "b", build.start())
    with (bundle / "trace.jsonl").open("ab") as handle:
        handle.write(b"\n")
    with pytest.raises(TraceFormatError, match="line 3: empty line"):
        reduce_bundle(bundle)


def test_manifest_disagreeing_with_events(tmp_path: Path, build) -> None:
    with pytest.raises(RolloutMismatchError) as info:
        reduce_bundle(_write_bundle(tmp_path / "a", build.start(), rollout="other"))
    assert info.value.seq == 1
    build.seq = 0
    with pytest.raises(RolloutMismatchError, match="manifest"):
        reduce_bundle(_write_bundle(tmp_path / "b", build.start(), thread="t9"))


@pytest.mark.parametrize(
    ("content", "cls", "fragment"),
    [
        (None, ManifestError, "is missing"),
        ("{", ManifestError, "not valid JSON"),
        ("[]", ManifestError, "expected a JSON object"),
        ('{"schema_version": 2}', UnsupportedSchemaVersionError, "schema_version 2"),
        ('{"schema_version": 1}', ManifestError, "expected keys"),
        (
            '{"schema_version": 1, "rollout_id": "", "root_thread_id": "t", "created_unix_ms": 0}',
            ManifestError,
            "rollout_id",
        ),
    ],
)
def test_manifest_errors(
    tmp_path: Path, content: str | None, cls: type[TraceError], fragment: str
) -> None:
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / "trace.jsonl").write_bytes(b"")
    if content is not None:
        (bundle / "manifest.json").write_text(content)
    with pytest.raises(cls, match=fragment):
        reduce_bundle(bundle)


def test_missing_bundle_dir(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not a bundle directory"):
        reduce_bundle(tmp_path / "nope")


def test_missing_trace_file(tmp_path: Path, build) -> None:
    bundle = _write_bundle(tmp_path / "b", [])
    (bundle / "trace.jsonl").unlink()
    with pytest.raises(errors.BundleError, match=r"trace\.jsonl is missing"):
        reduce_bundle(bundle)


# ------------------------------------------------------------- dispatch completeness


def test_every_event_type_has_a_handler() -> None:
    reducer = Reducer()
    for event_type in EventType:
        handler = reducer._handler_for(event_type)
        assert callable(handler)
        assert handler.__name__ == f"_on_{event_type.value}"


def test_a_type_without_a_handler_is_rejected_not_ignored(build) -> None:
    """Simulate adding an enum member with no handler: dispatch must raise, not accept."""
    extended = enum.Enum(  # type: ignore[misc]
        "ExtendedEventType",
        [(member.name, member.value) for member in EventType]
        + [("AGENT_TELEPORTED", "agent_teleported")],
        type=str,
    )
    reducer = Reducer()
    # Existing members still dispatch (str-valued enums compare by value)...
    assert (
        reducer._handler_for(cast(EventType, extended.ROLLOUT_STARTED)).__name__
        == "_on_rollout_started"
    )
    # ... and the new one is an explicit error naming the event.
    event = build.rollout_started()
    with pytest.raises(UnhandledEventTypeError, match="agent_teleported") as info:
        reducer._handler_for(cast(EventType, extended.AGENT_TELEPORTED), event)
    assert info.value.seq == 1


def test_dispatch_is_a_match_with_a_case_per_member_and_no_wildcard() -> None:
    """Static proof: the match in ``_handler_for`` lists every member and has no ``case _``."""
    source = textwrap.dedent(inspect.getsource(reducer_module.Reducer._handler_for))
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    matches = [node for node in ast.walk(function) if isinstance(node, ast.Match)]
    assert len(matches) == 1
    names: list[str] = []
    for case in matches[0].cases:
        assert case.guard is None
        pattern = case.pattern
        assert isinstance(pattern, ast.MatchValue), "no wildcard, capture or OR patterns"
        assert isinstance(pattern.value, ast.Attribute)
        assert isinstance(pattern.value.value, ast.Name) and pattern.value.value.id == "EventType"
        names.append(pattern.value.attr)
    assert sorted(names) == sorted(member.name for member in EventType)
    assert len(names) == len(set(names))
    # What follows the match is the rejecting fall-through, not a default handler.
    last = function.body[-1]
    assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
    assert isinstance(last.value.func, ast.Name) and last.value.func.id == "_unhandled"


def test_every_error_class_is_documented() -> None:
    classes = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, TraceError)
    ]
    assert len(classes) >= 20
    for cls in classes:
        assert cls.__doc__ and cls.__doc__.strip(), cls.__name__
