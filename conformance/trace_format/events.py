"""The rollout-trace event model: what one line of ``trace.jsonl`` means.

Every line is one :class:`TraceEvent`, encoded as a compact JSON object::

    {"schema_version":1,"seq":7,"wall_time_unix_ms":1700000000123,"rollout_id":"r1",
     "thread_id":"t0","turn_id":"u1","payload":{"type":"tool_call_started",...}}

All seven keys are always present (``thread_id`` and ``turn_id`` are ``null`` where they
do not apply), so a line can be validated without knowing which writer produced it.
Which events carry a thread or a turn is fixed per type (:class:`Scope`) and enforced
both when decoding and when constructing events in Python.

Bodies that can be large (tool arguments and output, a spawn task, a message or a
result) are a :data:`Body`: either inline, or a :class:`BodyRef` pointing at
``payloads/<seq>-<n>.json`` relative to the bundle, with its size and SHA-256. The
recorder writes and syncs that file before the line that names it, so a reader that
finds the line can always find the bytes.

Decoding is strict on purpose. A reader that skipped an unknown ``type`` or an extra
key would reconstruct a graph that silently differs from what happened; instead the
decoder raises :class:`~.errors.TraceFormatError` (or :class:`~.errors.UnknownEventTypeError`)
naming the line, the field, what was expected and what was found.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, Final, TypeAlias, TypeVar, get_type_hints

from .errors import TraceFormatError, UnknownEventTypeError, UnsupportedSchemaVersionError

#: The only schema version this code writes and reads.
SCHEMA_VERSION: Final = 1
#: Bodies whose compact JSON encoding is larger than this go to a payload file.
DEFAULT_INLINE_LIMIT_BYTES: Final = 4 * 1024
#: Directory, relative to the bundle, that holds payload files.
PAYLOADS_DIR: Final = "payloads"
#: Agent path of the root thread; spawned threads get ``/name``, ``/name/sub`` ...
ROOT_AGENT_PATH: Final = "/"

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"


class EventType(str, enum.Enum):
    """The payload ``type`` of every event schema version 1 knows.

    The reducer dispatches with an exhaustive match over this enum, so adding a member
    without teaching the reducer about it fails type checking and, at run time, raises
    :class:`~.errors.UnhandledEventTypeError` instead of being ignored.
    """

    ROLLOUT_STARTED = "rollout_started"
    ROLLOUT_ENDED = "rollout_ended"
    THREAD_STARTED = "thread_started"
    THREAD_RESUMED = "thread_resumed"
    THREAD_ENDED = "thread_ended"
    TURN_STARTED = "turn_started"
    TURN_ENDED = "turn_ended"
    TOOL_CALL_STARTED = "tool_call_started"
    TOOL_CALL_ENDED = "tool_call_ended"
    AGENT_SPAWNED = "agent_spawned"
    AGENT_MESSAGE_SENT = "agent_message_sent"
    AGENT_RESULT_DELIVERED = "agent_result_delivered"
    AGENT_CLOSED = "agent_closed"


class RunStatus(str, enum.Enum):
    """How a rollout, thread run, turn or tool call ended."""

    COMPLETED = "completed"
    FAILED = "failed"
    #: Stopped from outside: the parent closed the agent, or the root ended first.
    CANCELLED = "cancelled"


class ThreadOrigin(str, enum.Enum):
    """Whether a thread is the rollout's root or was spawned by another thread."""

    ROOT = "root"
    SPAWNED = "spawned"


class Scope(enum.Enum):
    """Whether an event type carries a ``thread_id`` / ``turn_id``."""

    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


# --------------------------------------------------------------------------- bodies


@dataclass(frozen=True, slots=True)
class InlineBody:
    """A body stored in the event line itself (small enough to keep lines readable)."""

    value: JsonValue


_REF_PATH: Final = re.compile(r"payloads/([1-9][0-9]*)-([1-9][0-9]*)\.json")
_SHA256: Final = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class BodyRef:
    """A body stored in a payload file, named relative to the bundle directory.

    The size and digest let the reducer tell a truncated or swapped file from the
    one the recorder wrote, instead of trusting whatever is at the path.
    """

    path: str
    size_bytes: int
    sha256: str

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or _REF_PATH.fullmatch(self.path) is None:
            raise TraceFormatError(
                "payload_ref", expected="'payloads/<seq>-<n>.json'", found=_show(self.path)
            )
        if not _is_count(self.size_bytes):
            raise TraceFormatError(
                "size_bytes", expected="a non-negative integer", found=_show(self.size_bytes)
            )
        if not isinstance(self.sha256, str) or _SHA256.fullmatch(self.sha256) is None:
            raise TraceFormatError(
                "sha256", expected="64 lowercase hex digits", found=_show(self.sha256)
            )

    @property
    def seq(self) -> int:
        """The ``seq`` of the event this file belongs to (from its name)."""
        match = _REF_PATH.fullmatch(self.path)
        assert match is not None  # checked in __post_init__
        return int(match.group(1))

    @property
    def index(self) -> int:
        """Which body of the event (1-based) this file holds."""
        match = _REF_PATH.fullmatch(self.path)
        assert match is not None
        return int(match.group(2))


Body: TypeAlias = InlineBody | BodyRef


def payload_ref_path(seq: int, index: int) -> str:
    """Bundle-relative path of the ``index``-th body (1-based) of event ``seq``."""
    return f"{PAYLOADS_DIR}/{seq}-{index}.json"


def encode_body_value(value: JsonValue) -> bytes:
    """Compact UTF-8 JSON for a body; the unit the inline limit is measured in.

    Raises :class:`~.errors.TraceFormatError` for values JSON cannot represent exactly
    (NaN, tuples, non-string keys ...), because they would not survive a round trip.
    """
    _check_json(value, "body")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


# ------------------------------------------------------------------------ agent paths


def child_agent_path(parent_path: str, name: str) -> str:
    """Agent path of a child called ``name`` spawned by a thread at ``parent_path``."""
    if not name or "/" in name:
        raise TraceFormatError(
            "agent name", expected="a non-empty name without '/'", found=_show(name)
        )
    return f"/{name}" if parent_path == ROOT_AGENT_PATH else f"{parent_path}/{name}"


def parent_agent_path(path: str) -> str:
    """Agent path of the thread that spawned the thread at ``path``."""
    head = path.rsplit("/", 1)[0]
    return head or ROOT_AGENT_PATH


def agent_path_depth(path: str) -> int:
    """Spawn depth encoded by an agent path (the root is 0)."""
    return 0 if path == ROOT_AGENT_PATH else path.count("/")


def _is_agent_path(path: object) -> bool:
    if path == ROOT_AGENT_PATH:
        return True
    return isinstance(path, str) and re.fullmatch(r"(/[^/]+)+", path) is not None


# --------------------------------------------------------------------------- payloads


class _PayloadBase:
    """Class-level facts every payload type declares: its wire type and its scopes."""

    __slots__ = ()
    TYPE: ClassVar[EventType]
    THREAD_SCOPE: ClassVar[Scope]
    TURN_SCOPE: ClassVar[Scope]


@dataclass(frozen=True, slots=True, kw_only=True)
class RolloutStarted(_PayloadBase):
    """First event of every bundle; names the root thread the rollout belongs to."""

    TYPE: ClassVar[EventType] = EventType.ROLLOUT_STARTED
    THREAD_SCOPE: ClassVar[Scope] = Scope.NONE
    TURN_SCOPE: ClassVar[Scope] = Scope.NONE
    root_thread_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RolloutEnded(_PayloadBase):
    """Last event of a bundle; emitted only when the root thread ends."""

    TYPE: ClassVar[EventType] = EventType.ROLLOUT_ENDED
    THREAD_SCOPE: ClassVar[Scope] = Scope.NONE
    TURN_SCOPE: ClassVar[Scope] = Scope.NONE
    status: RunStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadStarted(_PayloadBase):
    """A thread's first run. Happens once per thread id, ever, within a rollout.

    For a spawned thread it names the parent and the agent path; the reducer also
    requires an earlier ``agent_spawned`` edge from that parent, so the relationship
    is stated by both ends.
    """

    TYPE: ClassVar[EventType] = EventType.THREAD_STARTED
    THREAD_SCOPE: ClassVar[Scope] = Scope.REQUIRED
    TURN_SCOPE: ClassVar[Scope] = Scope.NONE
    origin: ThreadOrigin
    parent_thread_id: str | None
    agent_path: str
    depth: int

    def __post_init__(self) -> None:
        if self.origin is ThreadOrigin.ROOT:
            ok = (
                self.parent_thread_id is None
                and self.agent_path == ROOT_AGENT_PATH
                and self.depth == 0
            )
            expected = "parent_thread_id null, agent_path '/', depth 0 for a root thread"
        else:
            ok = (
                self.parent_thread_id is not None
                and self.agent_path != ROOT_AGENT_PATH
                and _is_agent_path(self.agent_path)
                and isinstance(self.depth, int)
                and self.depth >= 1
                and agent_path_depth(self.agent_path) == self.depth
            )
            expected = "a parent_thread_id and an agent_path '/a/b' with depth = its segments"
        if not ok:
            found = (
                f"parent_thread_id={self.parent_thread_id!r}, agent_path={self.agent_path!r},"
                f" depth={self.depth!r}"
            )
            raise TraceFormatError("thread_started", expected=expected, found=found)


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadResumed(_PayloadBase):
    """An ended spawned thread re-attached under the same id by its parent.

    This replaces a second ``thread_started``: the Codex review found that resumed
    children re-emitting ``ThreadStarted`` made traces unreplayable.
    """

    TYPE: ClassVar[EventType] = EventType.THREAD_RESUMED
    THREAD_SCOPE: ClassVar[Scope] = Scope.REQUIRED
    TURN_SCOPE: ClassVar[Scope] = Scope.NONE
    resumed_by_thread_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadEnded(_PayloadBase):
    """The end of a thread's current run (a later ``thread_resumed`` may start another)."""

    TYPE: ClassVar[EventType] = EventType.THREAD_ENDED
    THREAD_SCOPE: ClassVar[Scope] = Scope.REQUIRED
    TURN_SCOPE: ClassVar[Scope] = Scope.NONE
    status: RunStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnStarted(_PayloadBase):
    """A turn began on the event's thread; at most one turn is open per thread."""

    TYPE: ClassVar[EventType] = EventType.TURN_STARTED
    THREAD_SCOPE: ClassVar[Scope] = Scope.REQUIRED
    TURN_SCOPE: ClassVar[Scope] = Scope.REQUIRED


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnEnded(_PayloadBase):
    """The event's turn ended; all of its tool calls must have ended first."""

    TYPE: ClassVar[EventType] = EventType.TURN_ENDED
    THREAD_SCOPE: ClassVar[Scope] = Scope.REQUIRED
    TURN_SCOPE: ClassVar[Scope] = Scope.REQUIRED
    status: RunStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallStarted(_PayloadBase):
    """A tool call began inside the event's turn. ``call_id`` is unique per rollout."""

    TYPE: ClassVar[EventType] = EventType.TOOL_CALL_STARTED
    THREAD_SCOPE: ClassVar[Scope] = Scope.REQUIRED
    TURN_SCOPE: ClassVar[Scope] = Scope.REQUIRED
    call_id: str
    tool_name: str
    arguments: Body


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallEnded(_PayloadBase):
    """A tool call ended, on the same thread and turn it started on."""

    TYPE: ClassVar[EventType] = EventType.TOOL_CALL_ENDED
    THREAD_SCOPE: ClassVar[Scope] = Scope.REQUIRED
    TURN_SCOPE: ClassVar[Scope] = Scope.REQUIRED
    call_id: str
    status: RunStatus
    output: Body


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentSpawned(_PayloadBase):
    """Edge parent -> child: the event's thread spawned ``child_thread_id``.

    Recorded on the parent, before the child's ``thread_started``. ``spawn_call_id``
    is the id of the spawning call and is unique per rollout.
    """

    TYPE: ClassVar[EventType] = EventType.AGENT_SPAWNED
    THREAD_SCOPE: ClassVar[Scope] = Scope.REQUIRED
    TURN_SCOPE: ClassVar[Scope] = Scope.OPTIONAL
    spawn_call_id: str
    child_thread_id: str
    agent_path: str
    task: Body

    def __post_init__(self) -> None:
        if self.agent_path == ROOT_AGENT_PATH or not _is_agent_path(self.agent_path):
            raise TraceFormatError(
                "agent_spawned.agent_path", expected="'/a' or '/a/b'", found=_show(self.agent_path)
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentMessageSent(_PayloadBase):
    """Edge parent -> child: the event's thread sent a message to its own child."""

    TYPE: ClassVar[EventType] = EventType.AGENT_MESSAGE_SENT
    THREAD_SCOPE: ClassVar[Scope] = Scope.REQUIRED
    TURN_SCOPE: ClassVar[Scope] = Scope.OPTIONAL
    child_thread_id: str
    message: Body


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentResultDelivered(_PayloadBase):
    """Edge child -> parent: the event's thread's result reached its parent.

    Only recorded after delivery succeeded (the Codex review's P1): an edge for a
    delivery that failed would describe an interaction that never happened.
    """

    TYPE: ClassVar[EventType] = EventType.AGENT_RESULT_DELIVERED
    THREAD_SCOPE: ClassVar[Scope] = Scope.REQUIRED
    TURN_SCOPE: ClassVar[Scope] = Scope.OPTIONAL
    parent_thread_id: str
    status: RunStatus
    message: Body


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentClosed(_PayloadBase):
    """Edge parent -> child: the event's thread closed its child."""

    TYPE: ClassVar[EventType] = EventType.AGENT_CLOSED
    THREAD_SCOPE: ClassVar[Scope] = Scope.REQUIRED
    TURN_SCOPE: ClassVar[Scope] = Scope.OPTIONAL
    child_thread_id: str


Payload: TypeAlias = (
    RolloutStarted
    | RolloutEnded
    | ThreadStarted
    | ThreadResumed
    | ThreadEnded
    | TurnStarted
    | TurnEnded
    | ToolCallStarted
    | ToolCallEnded
    | AgentSpawned
    | AgentMessageSent
    | AgentResultDelivered
    | AgentClosed
)

_PAYLOAD_CLASSES: Final[tuple[type[Payload], ...]] = (
    RolloutStarted,
    RolloutEnded,
    ThreadStarted,
    ThreadResumed,
    ThreadEnded,
    TurnStarted,
    TurnEnded,
    ToolCallStarted,
    ToolCallEnded,
    AgentSpawned,
    AgentMessageSent,
    AgentResultDelivered,
    AgentClosed,
)

#: The payload class for every event type.
PAYLOAD_CLASSES: Final[Mapping[EventType, type[Payload]]] = {
    cls.TYPE: cls for cls in _PAYLOAD_CLASSES
}

if set(PAYLOAD_CLASSES) != set(EventType) or len(PAYLOAD_CLASSES) != len(_PAYLOAD_CLASSES):
    # Fail at import rather than at the first event of the missing type.
    raise RuntimeError("every EventType needs exactly one payload class")


# ---------------------------------------------------------------- field validation


class _Mismatch(Exception):
    """Internal: a value did not match its field's codec."""

    def __init__(self, expected: str, found: object) -> None:
        super().__init__(expected)
        self.expected = expected
        self.found = found


@dataclass(frozen=True)
class _Codec:
    """How one payload field is checked, decoded from and encoded to JSON."""

    expected: str
    #: Raw JSON value -> Python value; raises _Mismatch.
    decode: Callable[[object], Any]
    #: Python value -> JSON value; the value was already checked.
    encode: Callable[[Any], JsonValue]
    #: Python value -> whether it is acceptable (used when events are built in code).
    check: Callable[[object], bool]
    is_body: bool = False


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_id(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _decode_plain(check: Callable[[object], bool], expected: str) -> Callable[[object], Any]:
    def decode(raw: object) -> object:
        if not check(raw):
            raise _Mismatch(expected, raw)
        return raw

    return decode


def _identity(value: Any) -> JsonValue:
    result: JsonValue = value
    return result


def _is_opt_id(value: object) -> bool:
    return value is None or _is_id(value)


_STR_CODEC: Final = _Codec(
    "a non-empty string", _decode_plain(_is_id, "a non-empty string"), _identity, _is_id
)
_INT_CODEC: Final = _Codec(
    "a non-negative integer",
    _decode_plain(_is_count, "a non-negative integer"),
    _identity,
    _is_count,
)
_OPT_STR_CODEC: Final = _Codec(
    "null or a non-empty string",
    _decode_plain(_is_opt_id, "null or a non-empty string"),
    _identity,
    _is_opt_id,
)

_E = TypeVar("_E", bound=enum.Enum)


def _enum_codec(cls: type[_E]) -> _Codec:
    expected = "one of " + "|".join(str(member.value) for member in cls)

    def decode(raw: object) -> _E:
        for member in cls:
            if member.value == raw and isinstance(raw, str):
                return member
        raise _Mismatch(expected, raw)

    def encode(value: Any) -> JsonValue:
        result: JsonValue = value.value
        return result

    return _Codec(expected, decode, encode, lambda value: isinstance(value, cls))


def _check_json(value: object, where: str) -> None:
    """Raise unless ``value`` is plain JSON that round-trips unchanged."""
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, (bool, int, str)):
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                raise TraceFormatError(where, expected="a finite number", found=repr(item))
            continue
        if isinstance(item, list):
            stack.extend(item)
            continue
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise TraceFormatError(where, expected="string object keys", found=repr(key))
                stack.append(child)
            continue
        raise TraceFormatError(where, expected="a JSON value", found=type(item).__name__)


_BODY_EXPECTED: Final = (
    'an object {"inline": <json>} or {"payload_ref": ..., "size_bytes": ..., "sha256": ...}'
)


def _decode_body(raw: object) -> Body:
    if isinstance(raw, dict):
        if set(raw) == {"inline"}:
            return InlineBody(raw["inline"])
        if set(raw) == {"payload_ref", "size_bytes", "sha256"}:
            try:
                return BodyRef(raw["payload_ref"], raw["size_bytes"], raw["sha256"])
            except TraceFormatError as err:
                raise _Mismatch(err.expected or _BODY_EXPECTED, err.found) from None
    raise _Mismatch(_BODY_EXPECTED, raw)


def _encode_body(value: Any) -> JsonValue:
    if isinstance(value, InlineBody):
        return {"inline": value.value}
    assert isinstance(value, BodyRef)
    return {"payload_ref": value.path, "size_bytes": value.size_bytes, "sha256": value.sha256}


def _check_body(value: object) -> bool:
    if isinstance(value, BodyRef):
        return True
    if isinstance(value, InlineBody):
        _check_json(value.value, "inline body")
        return True
    return False


_BODY_CODEC: Final = _Codec(_BODY_EXPECTED, _decode_body, _encode_body, _check_body, is_body=True)


def _codec_for(hint: object) -> _Codec:
    if hint is str:
        return _STR_CODEC
    if hint is int:
        return _INT_CODEC
    if hint == (str | None):
        return _OPT_STR_CODEC
    if hint == Body:
        return _BODY_CODEC
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_codec(hint)
    raise TypeError(f"no codec for payload field type {hint!r}")


def _field_codecs(cls: type[Payload]) -> tuple[tuple[str, _Codec], ...]:
    hints = get_type_hints(cls)
    return tuple((f.name, _codec_for(hints[f.name])) for f in fields(cls))


_FIELDS: Final[Mapping[type[Payload], tuple[tuple[str, _Codec], ...]]] = {
    cls: _field_codecs(cls) for cls in _PAYLOAD_CLASSES
}


def payload_bodies(payload: Payload) -> tuple[tuple[str, Body], ...]:
    """The payload's body fields, in declaration order, as ``(field name, body)``.

    The position in this tuple (1-based) is the ``<n>`` of a payload file name.
    """
    return tuple(
        (name, getattr(payload, name)) for name, codec in _FIELDS[type(payload)] if codec.is_body
    )


_P = TypeVar("_P", bound=_PayloadBase)


def replace_bodies(payload: _P, bodies: Mapping[str, Body]) -> _P:
    """A copy of ``payload`` with the named body fields replaced (used to spill bodies)."""
    return replace(payload, **bodies)  # type: ignore[type-var]


# ------------------------------------------------------------------------------ event


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceEvent:
    """One line of ``trace.jsonl``.

    Construction validates everything that can be checked without the rest of the
    trace (field types, thread/turn scope, payload file names); whether the event makes
    sense after its predecessors is the reducer's job.
    """

    seq: int
    wall_time_unix_ms: int
    rollout_id: str
    thread_id: str | None
    turn_id: str | None
    payload: Payload
    schema_version: int = SCHEMA_VERSION

    @property
    def type(self) -> EventType:
        """The payload's wire ``type``."""
        return self.payload.TYPE

    def describe(self) -> str:
        """Short human description used in error messages, e.g. ``turn_ended thread=t0``."""
        parts = [self.payload.TYPE.value if isinstance(self.payload, _PayloadBase) else "?"]
        if self.thread_id is not None:
            parts.append(f"thread={self.thread_id}")
        if self.turn_id is not None:
            parts.append(f"turn={self.turn_id}")
        return " ".join(parts)

    def __post_init__(self) -> None:
        seq = self.seq if _is_count(self.seq) else None
        ev = self.describe() if isinstance(self.payload, _PayloadBase) else None

        def fail(what: str, expected: str, found: object) -> TraceFormatError:
            return TraceFormatError(what, expected=expected, found=_show(found), seq=seq, event=ev)

        if not isinstance(self.schema_version, int) or isinstance(self.schema_version, bool):
            raise fail("schema_version", "an integer", self.schema_version)
        if not _is_count(self.seq) or self.seq < 1:
            raise fail("seq", "an integer >= 1", self.seq)
        if not _is_count(self.wall_time_unix_ms):
            raise fail("wall_time_unix_ms", "a non-negative integer", self.wall_time_unix_ms)
        if not _is_id(self.rollout_id):
            raise fail("rollout_id", "a non-empty string", self.rollout_id)
        if type(self.payload) not in _FIELDS:
            raise fail("payload", "a payload of a known event type", type(self.payload).__name__)
        cls = type(self.payload)
        _check_scope("thread_id", self.thread_id, cls.THREAD_SCOPE, fail)
        _check_scope("turn_id", self.turn_id, cls.TURN_SCOPE, fail)
        for name, codec in _FIELDS[cls]:
            value = getattr(self.payload, name)
            try:
                ok = codec.check(value)
            except TraceFormatError as err:
                raise fail(f"payload.{name}", err.expected or codec.expected, err.found) from None
            if not ok:
                raise fail(f"payload.{name}", codec.expected, value)
        for index, (name, body) in enumerate(payload_bodies(self.payload), start=1):
            if isinstance(body, BodyRef) and (body.seq, body.index) != (self.seq, index):
                raise fail(
                    f"payload.{name}.payload_ref",
                    repr(payload_ref_path(self.seq, index)),
                    body.path,
                )


def _check_scope(
    key: str,
    value: object,
    scope: Scope,
    fail: Callable[[str, str, object], TraceFormatError],
) -> None:
    if scope is Scope.NONE and value is not None:
        raise fail(key, "null for this event type", value)
    if scope is Scope.REQUIRED and not _is_id(value):
        raise fail(key, "a non-empty string for this event type", value)
    if scope is Scope.OPTIONAL and not _is_opt_id(value):
        raise fail(key, "null or a non-empty string", value)


# ------------------------------------------------------------------------- wire codec

_EVENT_KEYS: Final = (
    "schema_version",
    "seq",
    "wall_time_unix_ms",
    "rollout_id",
    "thread_id",
    "turn_id",
    "payload",
)


def _show(value: object, limit: int = 60) -> str:
    """A short JSON-ish rendering of a found value for error messages."""
    try:
        text = json.dumps(value, ensure_ascii=True, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def encode_event(event: TraceEvent) -> dict[str, JsonValue]:
    """The JSON object for one event, keys in the canonical order."""
    payload: dict[str, JsonValue] = {"type": event.type.value}
    for name, codec in _FIELDS[type(event.payload)]:
        payload[name] = codec.encode(getattr(event.payload, name))
    return {
        "schema_version": event.schema_version,
        "seq": event.seq,
        "wall_time_unix_ms": event.wall_time_unix_ms,
        "rollout_id": event.rollout_id,
        "thread_id": event.thread_id,
        "turn_id": event.turn_id,
        "payload": payload,
    }


def encode_line(event: TraceEvent) -> bytes:
    """One ``trace.jsonl`` line, newline included; ASCII so no byte is ambiguous."""
    text = json.dumps(
        encode_event(event), separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return text.encode("ascii") + b"\n"


def decode_event(obj: object, *, line: int | None = None) -> TraceEvent:
    """Validate a decoded JSON object and build the event it describes.

    Raises :class:`~.errors.TraceFormatError` (with ``line`` if given) for any deviation
    from the schema, :class:`~.errors.UnknownEventTypeError` for an unknown payload type
    and :class:`~.errors.UnsupportedSchemaVersionError` for a version other than
    :data:`SCHEMA_VERSION`.
    """

    def fail(what: str, expected: str | None = None, found: object = None) -> TraceFormatError:
        shown = None if expected is None else _show(found)
        return TraceFormatError(what, expected=expected, found=shown, line=line)

    if not isinstance(obj, dict):
        raise fail("event", "a JSON object", obj)
    seq = obj.get("seq") if _is_count(obj.get("seq")) else None
    version = obj.get("schema_version")
    if "schema_version" in obj and version != SCHEMA_VERSION:
        raise UnsupportedSchemaVersionError(
            f"schema_version {_show(version)} is not supported (this reader knows"
            f" {SCHEMA_VERSION})",
            line=line,
            seq=seq if isinstance(seq, int) else None,
        )
    missing = [key for key in _EVENT_KEYS if key not in obj]
    if missing:
        raise fail(f"missing key {missing[0]!r}", "keys " + ", ".join(_EVENT_KEYS), sorted(obj))
    extra = sorted(set(obj) - set(_EVENT_KEYS))
    if extra:
        raise fail(f"unexpected key {extra[0]!r}", "only " + ", ".join(_EVENT_KEYS), extra)
    raw_payload = obj["payload"]
    if not isinstance(raw_payload, dict):
        raise fail("payload", "a JSON object", raw_payload)
    raw_type = raw_payload.get("type")
    try:
        event_type = EventType(raw_type) if isinstance(raw_type, str) else None
    except ValueError:
        event_type = None
    if event_type is None:
        raise UnknownEventTypeError(
            "payload.type",
            expected="one of " + "|".join(member.value for member in EventType),
            found=_show(raw_type),
            line=line,
            seq=seq if isinstance(seq, int) else None,
        )
    cls = PAYLOAD_CLASSES[event_type]
    codecs = _FIELDS[cls]
    wanted = {"type", *(name for name, _ in codecs)}
    expected_keys = "keys " + ", ".join(sorted(wanted))
    absent = sorted(wanted - set(raw_payload))
    if absent:
        raise fail(
            f"{event_type.value} payload missing {absent[0]!r}", expected_keys, sorted(raw_payload)
        )
    surplus = sorted(set(raw_payload) - wanted)
    if surplus:
        raise fail(
            f"{event_type.value} payload has unexpected {surplus[0]!r}",
            expected_keys,
            sorted(raw_payload),
        )
    values: dict[str, Any] = {}
    for name, codec in codecs:
        try:
            values[name] = codec.decode(raw_payload[name])
        except _Mismatch as mismatch:
            raise fail(f"payload.{name}", mismatch.expected, mismatch.found) from None
    try:
        payload = cls(**values)
        return TraceEvent(
            schema_version=obj["schema_version"],
            seq=obj["seq"],
            wall_time_unix_ms=obj["wall_time_unix_ms"],
            rollout_id=obj["rollout_id"],
            thread_id=obj["thread_id"],
            turn_id=obj["turn_id"],
            payload=payload,
        )
    except TraceFormatError as err:
        raise err.at_line(line) if line is not None else err from None


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json`` keeps the last of duplicate keys silently; a trace line must not have any."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def decode_line(raw: bytes | str, *, line: int) -> TraceEvent:
    """Decode one ``trace.jsonl`` line (without its newline); ``line`` is 1-based."""
    try:
        obj = json.loads(raw, object_pairs_hook=_reject_duplicate_keys)
    except (ValueError, UnicodeDecodeError) as err:
        raise TraceFormatError(
            "not valid JSON", expected="one JSON object per line", found=str(err), line=line
        ) from None
    return decode_event(obj, line=line)


__all__ = [
    "DEFAULT_INLINE_LIMIT_BYTES",
    "PAYLOADS_DIR",
    "PAYLOAD_CLASSES",
    "ROOT_AGENT_PATH",
    "SCHEMA_VERSION",
    "AgentClosed",
    "AgentMessageSent",
    "AgentResultDelivered",
    "AgentSpawned",
    "Body",
    "BodyRef",
    "EventType",
    "InlineBody",
    "JsonValue",
    "Payload",
    "RolloutEnded",
    "RolloutStarted",
    "RunStatus",
    "Scope",
    "ThreadEnded",
    "ThreadOrigin",
    "ThreadResumed",
    "ThreadStarted",
    "ToolCallEnded",
    "ToolCallStarted",
    "TraceEvent",
    "TurnEnded",
    "TurnStarted",
    "agent_path_depth",
    "child_agent_path",
    "decode_event",
    "decode_line",
    "encode_body_value",
    "encode_event",
    "encode_line",
    "parent_agent_path",
    "payload_bodies",
    "payload_ref_path",
    "replace_bodies",
]
