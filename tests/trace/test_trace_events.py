"""The event model and its strict wire codec."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_impl.trace import (
    PAYLOAD_CLASSES,
    SCHEMA_VERSION,
    AgentSpawned,
    BodyRef,
    EventType,
    InlineBody,
    RolloutStarted,
    RunStatus,
    ThreadOrigin,
    ThreadStarted,
    ToolCallStarted,
    TraceEvent,
    TraceFormatError,
    TurnEnded,
    TurnStarted,
    UnknownEventTypeError,
    UnsupportedSchemaVersionError,
    decode_line,
    encode_event,
    encode_line,
)
from reference_impl.trace.events import child_agent_path, parent_agent_path

SHA = "0" * 64


def _line(**overrides: object) -> bytes:
    obj: dict[str, object] = {
        "schema_version": 1,
        "seq": 3,
        "wall_time_unix_ms": 5,
        "rollout_id": "r1",
        "thread_id": "t0",
        "turn_id": "u1",
        "payload": {"type": "turn_started"},
    }
    obj.update(overrides)
    return json.dumps(obj).encode()


def test_every_event_type_has_exactly_one_payload_class() -> None:
    assert set(PAYLOAD_CLASSES) == set(EventType)
    for event_type, cls in PAYLOAD_CLASSES.items():
        assert cls.TYPE is event_type
        assert event_type.value == event_type.value.lower()
        assert " " not in event_type.value


def test_round_trip_of_a_simple_line() -> None:
    event = TraceEvent(
        seq=1,
        wall_time_unix_ms=7,
        rollout_id="r1",
        thread_id=None,
        turn_id=None,
        payload=RolloutStarted(root_thread_id="t0"),
    )
    line = encode_line(event)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {
        "schema_version": SCHEMA_VERSION,
        "seq": 1,
        "wall_time_unix_ms": 7,
        "rollout_id": "r1",
        "thread_id": None,
        "turn_id": None,
        "payload": {"type": "rollout_started", "root_thread_id": "t0"},
    }
    assert decode_line(line[:-1], line=1) == event


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
ids = st.text(min_size=1, max_size=8)


@given(value=json_values, call=ids, tool=ids, seq=st.integers(1, 10**6), turn=ids)
def test_round_trip_of_arbitrary_bodies(
    value: object, call: str, tool: str, seq: int, turn: str
) -> None:
    event = TraceEvent(
        seq=seq,
        wall_time_unix_ms=0,
        rollout_id="r",
        thread_id="t",
        turn_id=turn,
        payload=ToolCallStarted(call_id=call, tool_name=tool, arguments=InlineBody(value)),  # type: ignore[arg-type]
    )
    line = encode_line(event)
    assert line.isascii()
    assert decode_line(line[:-1], line=9) == event


def test_payload_ref_round_trip_and_naming() -> None:
    ref = BodyRef("payloads/4-1.json", 10, SHA)
    event = TraceEvent(
        seq=4,
        wall_time_unix_ms=0,
        rollout_id="r",
        thread_id="t",
        turn_id="u",
        payload=ToolCallStarted(call_id="c", tool_name="x", arguments=ref),
    )
    assert encode_event(event)["payload"] == {
        "type": "tool_call_started",
        "call_id": "c",
        "tool_name": "x",
        "arguments": {"payload_ref": "payloads/4-1.json", "size_bytes": 10, "sha256": SHA},
    }
    assert decode_line(encode_line(event)[:-1], line=1) == event
    with pytest.raises(TraceFormatError, match=r"payloads/5-1\.json"):
        TraceEvent(
            seq=5,
            wall_time_unix_ms=0,
            rollout_id="r",
            thread_id="t",
            turn_id="u",
            payload=ToolCallStarted(call_id="c", tool_name="x", arguments=ref),
        )


@pytest.mark.parametrize(
    "path", ["../etc/passwd", "/abs/payloads/1-1.json", "payloads/0-1.json", "payloads/1-1.txt"]
)
def test_payload_ref_paths_cannot_escape_the_bundle(path: str) -> None:
    with pytest.raises(TraceFormatError, match="payload_ref"):
        BodyRef(path, 1, SHA)


def test_unknown_type_is_rejected_with_line_and_expectation() -> None:
    raw = _line(payload={"type": "agent_teleported"})
    with pytest.raises(UnknownEventTypeError) as info:
        decode_line(raw, line=12)
    err = info.value
    assert err.line == 12
    assert err.found == '"agent_teleported"'
    assert err.expected is not None and "agent_spawned" in err.expected
    assert str(err).startswith("line 12")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"a": 1, "a": 2}', "duplicate key"),
        (_line(extra=1), "unexpected key 'extra'"),
        (_line(payload={"type": "turn_started", "x": 1}), "unexpected 'x'"),
        (_line(payload={"type": "turn_ended"}), "missing 'status'"),
        (_line(payload={"type": "turn_ended", "status": "done"}), "one of completed|failed"),
        (_line(seq=0), "seq: expected an integer >= 1"),
        (_line(seq="3"), "seq: expected an integer >= 1"),
        (_line(wall_time_unix_ms=-1), "wall_time_unix_ms"),
        (_line(turn_id=None), "turn_id: expected a non-empty string"),
        (_line(rollout_id=""), "rollout_id"),
        (
            _line(thread_id=None, turn_id=None, payload={"type": "rollout_ended", "status": "x"}),
            "payload.status",
        ),
        (
            _line(payload={"type": "rollout_started", "root_thread_id": "t0"}),
            "thread_id: expected null",
        ),
        (
            _line(
                turn_id=None,
                payload={
                    "type": "thread_started",
                    "origin": "spawned",
                    "parent_thread_id": None,
                    "agent_path": "/a",
                    "depth": 1,
                },
            ),
            "thread_started",
        ),
        (
            _line(
                payload={
                    "type": "tool_call_started",
                    "call_id": "c",
                    "tool_name": "x",
                    "arguments": {"inline": 1, "extra": 2},
                }
            ),
            "payload.arguments",
        ),
        (
            _line(
                payload={
                    "type": "tool_call_started",
                    "call_id": "c",
                    "tool_name": "x",
                    "arguments": {"inline": float("inf")},
                }
            ),
            "finite",
        ),
    ],
)
def test_malformed_lines_name_line_expected_and_found(raw: bytes, fragment: str) -> None:
    with pytest.raises(TraceFormatError) as info:
        decode_line(raw, line=7)
    assert info.value.line == 7
    assert str(info.value).startswith("line 7")
    assert fragment in str(info.value)


def test_unknown_schema_version_is_its_own_error() -> None:
    with pytest.raises(UnsupportedSchemaVersionError) as info:
        decode_line(_line(schema_version=2), line=1)
    assert info.value.seq == 3 and info.value.line == 1


def test_scope_is_enforced_when_building_events_in_code() -> None:
    with pytest.raises(TraceFormatError, match="turn_id"):
        TraceEvent(
            seq=1,
            wall_time_unix_ms=0,
            rollout_id="r",
            thread_id="t",
            turn_id=None,
            payload=TurnStarted(),
        )
    with pytest.raises(TraceFormatError, match=r"payload\.status"):
        TraceEvent(
            seq=1,
            wall_time_unix_ms=0,
            rollout_id="r",
            thread_id="t",
            turn_id="u",
            payload=TurnEnded(status="completed"),  # type: ignore[arg-type]
        )


def test_thread_started_shape_rules() -> None:
    ThreadStarted(origin=ThreadOrigin.ROOT, parent_thread_id=None, agent_path="/", depth=0)
    ThreadStarted(origin=ThreadOrigin.SPAWNED, parent_thread_id="p", agent_path="/a/b", depth=2)
    bad = [
        dict(origin=ThreadOrigin.ROOT, parent_thread_id="p", agent_path="/", depth=0),
        dict(origin=ThreadOrigin.SPAWNED, parent_thread_id="p", agent_path="/a", depth=2),
        dict(origin=ThreadOrigin.SPAWNED, parent_thread_id="p", agent_path="/", depth=0),
        dict(origin=ThreadOrigin.SPAWNED, parent_thread_id="p", agent_path="a//b", depth=2),
    ]
    for kwargs in bad:
        with pytest.raises(TraceFormatError):
            ThreadStarted(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(TraceFormatError):
        AgentSpawned(spawn_call_id="s", child_thread_id="c", agent_path="/", task=InlineBody(None))


def test_agent_paths() -> None:
    assert child_agent_path("/", "a") == "/a"
    assert child_agent_path("/a", "b") == "/a/b"
    assert parent_agent_path("/a/b") == "/a"
    assert parent_agent_path("/a") == "/"
    with pytest.raises(TraceFormatError):
        child_agent_path("/", "x/y")


def test_status_enum_values_are_the_wire_values() -> None:
    assert [status.value for status in RunStatus] == ["completed", "failed", "cancelled"]
