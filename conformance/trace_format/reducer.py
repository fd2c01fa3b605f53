"""Rebuild the rollout's thread/turn/tool-call/edge graph from durable trace events.

The reducer is the only interpreter of a trace. It keeps a small state machine per
thread, turn and tool call and replays events in ``seq`` order; every event must be
explained by what came before it, or replay stops with a :class:`~.errors.TraceError`
subclass naming the event's ``seq``. It never guesses: no default branch accepts an
event type it has no handler for, no event is skipped, nothing is repaired.

Each handler is split in two phases: it first checks the event against the current
state and raises if it does not fit, and only then returns a *commit* closure that
changes the state. :meth:`Reducer.prepare` exposes that split, which is what lets the
recorder validate an event before writing it and commit only once the line is on
disk, without ever leaving the state half-updated.

The rules, beyond the per-line checks of the event model:

* every event: known schema version; ``seq`` = previous + 1; nothing after
  ``rollout_ended``; the first event is ``rollout_started`` and every event has its
  rollout id (and the manifest's, when reducing a bundle); ``payload_ref`` files
  exist with the recorded size and SHA-256.
* threads: a thread id starts once (``thread_started``); the root is the one
  ``rollout_started`` named; a spawned thread needs an earlier ``agent_spawned`` from
  the same parent with the same agent path; ``thread_resumed`` only re-opens an ended
  spawned thread and only by its running parent; ``thread_ended`` once per run, with
  no turn open.
* turns and tool calls: on a running thread, one open turn per thread, ids never
  reused; a turn ends once, after its tool calls; a tool call ends once, on the
  thread and turn it started on.
* edges: emitted by a running thread (and its open turn, if named); spawn call ids,
  child ids and agent paths are new, and the path extends the parent's; messages go
  to the sender's own running, unclosed child; results go from a running, unclosed
  child to its running parent; a child is closed once per run, by its parent.
* ``rollout_ended``: only when the root started and no thread is running or was
  spawned without starting.
"""

from __future__ import annotations

import enum
import functools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, TypeVar

from .bundle import Manifest, iter_trace_events, read_manifest, verify_payload
from .errors import (
    DuplicateStartError,
    DuplicateTerminalError,
    EventAfterRolloutEndError,
    IllegalTransitionError,
    MissingPayloadError,
    RolloutMismatchError,
    SequenceGapError,
    TraceError,
    TraceFormatError,
    UnhandledEventTypeError,
    UnknownThreadError,
    UnknownToolCallError,
    UnknownTurnError,
    UnsupportedSchemaVersionError,
)
from .events import (
    SCHEMA_VERSION,
    AgentClosed,
    AgentMessageSent,
    AgentResultDelivered,
    AgentSpawned,
    Body,
    BodyRef,
    EventType,
    RolloutEnded,
    RolloutStarted,
    RunStatus,
    ThreadEnded,
    ThreadOrigin,
    ThreadResumed,
    ThreadStarted,
    ToolCallEnded,
    ToolCallStarted,
    TraceEvent,
    TurnEnded,
    TurnStarted,
    parent_agent_path,
    payload_bodies,
)

# ----------------------------------------------------------------------- result types


class EdgeKind(str, enum.Enum):
    """Kinds of relationship between two threads, in the direction they point."""

    #: parent -> child, from ``agent_spawned``
    SPAWN = "spawn"
    #: parent -> child, from ``agent_message_sent``
    MESSAGE = "message"
    #: child -> parent, from ``agent_result_delivered``
    RESULT = "result"
    #: parent -> child, from ``agent_closed``
    CLOSE = "close"
    #: parent -> child, from ``thread_resumed``
    RESUME = "resume"


@dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    """One relationship event between two threads.

    ``edge_id`` is ``<rollout_id>/e<seq>``: derived from durable data only, so the same
    trace always yields the same ids no matter which process reduces it.
    """

    edge_id: str
    kind: EdgeKind
    seq: int
    wall_time_unix_ms: int
    source_thread_id: str
    target_thread_id: str
    #: The emitting thread's turn, when the event named one.
    turn_id: str | None
    #: For SPAWN edges: the id of the spawning call.
    spawn_call_id: str | None = None
    #: The spawn task, message or result; ``None`` for CLOSE and RESUME.
    body: Body | None = None
    #: For RESULT edges: the child's reported status.
    status: RunStatus | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadRun:
    """One run of a thread: from ``thread_started``/``thread_resumed`` to ``thread_ended``."""

    started_seq: int
    started_unix_ms: int
    resumed: bool
    ended_seq: int | None = None
    ended_unix_ms: int | None = None
    status: RunStatus | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadNode:
    """A thread: the root, or an agent spawned by ``parent_thread_id``."""

    thread_id: str
    origin: ThreadOrigin
    parent_thread_id: str | None
    agent_path: str
    depth: int
    runs: tuple[ThreadRun, ...]
    turn_ids: tuple[str, ...]
    child_thread_ids: tuple[str, ...]
    #: Whether the parent closed it since its latest run began.
    closed: bool

    @property
    def running(self) -> bool:
        """Whether the latest run has not ended."""
        return self.runs[-1].ended_seq is None

    @property
    def status(self) -> RunStatus | None:
        """Status of the latest run, ``None`` while it is running."""
        return self.runs[-1].status


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnNode:
    """A turn of one thread. Turn ids are unique per thread."""

    thread_id: str
    turn_id: str
    started_seq: int
    started_unix_ms: int
    ended_seq: int | None
    ended_unix_ms: int | None
    status: RunStatus | None
    tool_call_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallNode:
    """A tool call inside a turn. Call ids are unique per rollout."""

    call_id: str
    thread_id: str
    turn_id: str
    tool_name: str
    arguments: Body
    started_seq: int
    started_unix_ms: int
    ended_seq: int | None
    ended_unix_ms: int | None
    status: RunStatus | None
    output: Body | None


@dataclass(frozen=True, kw_only=True)
class TraceGraph:
    """Everything a trace says about one rollout, in the order it was said.

    ``threads``, ``turns`` and ``tool_calls`` are in order of their first event;
    ``edges`` in ``seq`` order. ``rollout_id`` and ``root_thread_id`` come from
    ``rollout_started`` (or the manifest) and are ``None`` only for an empty trace
    reduced without a manifest.
    """

    schema_version: int
    rollout_id: str | None
    root_thread_id: str | None
    started_unix_ms: int | None
    ended_seq: int | None
    ended_unix_ms: int | None
    status: RunStatus | None
    last_seq: int
    threads: tuple[ThreadNode, ...]
    turns: tuple[TurnNode, ...]
    tool_calls: tuple[ToolCallNode, ...]
    edges: tuple[Edge, ...]

    @property
    def ended(self) -> bool:
        """Whether ``rollout_ended`` was seen."""
        return self.ended_seq is not None

    @functools.cached_property
    def _thread_index(self) -> dict[str, ThreadNode]:
        return {node.thread_id: node for node in self.threads}

    def thread(self, thread_id: str) -> ThreadNode:
        """The thread with this id; ``KeyError`` if the trace never started it."""
        return self._thread_index[thread_id]

    def has_thread(self, thread_id: str) -> bool:
        """Whether the trace started a thread with this id."""
        return thread_id in self._thread_index

    def turns_of(self, thread_id: str) -> tuple[TurnNode, ...]:
        """The thread's turns in start order."""
        return tuple(turn for turn in self.turns if turn.thread_id == thread_id)

    def tool_calls_of(self, thread_id: str, turn_id: str) -> tuple[ToolCallNode, ...]:
        """The turn's tool calls in start order."""
        return tuple(
            call
            for call in self.tool_calls
            if call.thread_id == thread_id and call.turn_id == turn_id
        )

    def edges_from(self, thread_id: str) -> tuple[Edge, ...]:
        """Edges whose source is this thread, in ``seq`` order."""
        return tuple(edge for edge in self.edges if edge.source_thread_id == thread_id)


# ------------------------------------------------------------------------ mutable state


@dataclass
class _Run:
    started_seq: int
    started_unix_ms: int
    resumed: bool
    ended_seq: int | None = None
    ended_unix_ms: int | None = None
    status: RunStatus | None = None


@dataclass
class _Thread:
    thread_id: str
    origin: ThreadOrigin
    parent_thread_id: str | None
    agent_path: str
    depth: int
    started_seq: int
    runs: list[_Run]
    turn_ids: list[str] = field(default_factory=list)
    child_ids: list[str] = field(default_factory=list)
    open_turn_id: str | None = None
    closed_seq: int | None = None

    @property
    def running(self) -> bool:
        return self.runs[-1].ended_seq is None


@dataclass
class _Turn:
    thread_id: str
    turn_id: str
    started_seq: int
    started_unix_ms: int
    ended_seq: int | None = None
    ended_unix_ms: int | None = None
    status: RunStatus | None = None
    tool_call_ids: list[str] = field(default_factory=list)
    open_call_ids: list[str] = field(default_factory=list)


@dataclass
class _ToolCall:
    call_id: str
    thread_id: str
    turn_id: str
    tool_name: str
    arguments: Body
    started_seq: int
    started_unix_ms: int
    ended_seq: int | None = None
    ended_unix_ms: int | None = None
    status: RunStatus | None = None
    output: Body | None = None


@dataclass
class _Spawn:
    seq: int
    parent_thread_id: str
    child_thread_id: str
    agent_path: str
    started: bool = False


Commit = Callable[[], None]
_Handler = Callable[[TraceEvent], Commit]
_P = TypeVar("_P")


def _unhandled(event_type: NoReturn, event: TraceEvent | None) -> NoReturn:
    """Reached only for a type the exhaustive match in ``_handler_for`` does not cover.

    Typed ``NoReturn`` so mypy reports any :class:`EventType` member without a ``case``.
    """
    raise UnhandledEventTypeError(
        f"no reducer handler for event type {getattr(event_type, 'value', event_type)!r}",
        seq=None if event is None else event.seq,
        event=None if event is None else event.describe(),
    )


class Reducer:
    """Incremental replay of one rollout's events.

    ``bundle_dir`` is where ``payload_ref`` files are resolved. With
    ``check_payload_files`` false, references are not looked up at all; the recorder
    uses that because it writes the files only after the event has been validated.
    ``manifest``, when given, pins the rollout id and root thread id the events must use.
    """

    def __init__(
        self,
        *,
        bundle_dir: Path | None = None,
        check_payload_files: bool = True,
        manifest: Manifest | None = None,
    ) -> None:
        self._bundle_dir = bundle_dir
        self._check_payload_files = check_payload_files
        self._manifest = manifest
        self._last_seq = 0
        self._rollout_id: str | None = None
        self._root_thread_id: str | None = None
        self._started_unix_ms: int | None = None
        self._ended_seq: int | None = None
        self._ended_unix_ms: int | None = None
        self._status: RunStatus | None = None
        self._threads: dict[str, _Thread] = {}
        self._turns: dict[tuple[str, str], _Turn] = {}
        self._tool_calls: dict[str, _ToolCall] = {}
        self._spawns_by_call: dict[str, _Spawn] = {}
        self._pending_spawns: dict[str, _Spawn] = {}
        self._agent_paths: dict[str, str] = {}
        self._edges: list[Edge] = []

    # ------------------------------------------------------------------ public API

    def apply(self, event: TraceEvent) -> None:
        """Validate ``event`` against the state and fold it in, or raise and change nothing."""
        self.prepare(event)()

    def prepare(self, event: TraceEvent) -> Commit:
        """Validate ``event``; return the closure that folds it in.

        Raises the :class:`~.errors.TraceError` subclass that explains why the event
        does not fit. The state is untouched until the returned closure is called, and
        the closure must be called before any other event is prepared.
        """
        if event.schema_version != SCHEMA_VERSION:
            raise self._fail(
                UnsupportedSchemaVersionError,
                event,
                f"schema_version {event.schema_version} is not supported (this reader knows"
                f" {SCHEMA_VERSION})",
            )
        if event.seq != self._last_seq + 1:
            raise self._fail(
                SequenceGapError, event, f"expected seq {self._last_seq + 1}, found {event.seq}"
            )
        if self._ended_seq is not None:
            raise self._fail(
                EventAfterRolloutEndError, event, f"the rollout ended at seq {self._ended_seq}"
            )
        expected_rollout = self._rollout_id
        if expected_rollout is None:
            if event.type is not EventType.ROLLOUT_STARTED:
                raise self._fail(
                    IllegalTransitionError, event, "a trace must begin with rollout_started"
                )
            if self._manifest is not None:
                expected_rollout = self._manifest.rollout_id
        if expected_rollout is not None and event.rollout_id != expected_rollout:
            raise self._fail(
                RolloutMismatchError,
                event,
                f"event is for rollout {event.rollout_id!r}, this bundle is {expected_rollout!r}",
            )
        self._check_payload_refs(event)
        commit = self._handler_for(event.type, event)(event)

        def finish() -> None:
            commit()
            self._last_seq = event.seq

        return finish

    def graph(self) -> TraceGraph:
        """An immutable snapshot of everything replayed so far."""
        manifest = self._manifest
        return TraceGraph(
            schema_version=SCHEMA_VERSION,
            rollout_id=self._rollout_id or (manifest.rollout_id if manifest else None),
            root_thread_id=self._root_thread_id or (manifest.root_thread_id if manifest else None),
            started_unix_ms=self._started_unix_ms,
            ended_seq=self._ended_seq,
            ended_unix_ms=self._ended_unix_ms,
            status=self._status,
            last_seq=self._last_seq,
            threads=tuple(_freeze_thread(thread) for thread in self._threads.values()),
            turns=tuple(_freeze_turn(turn) for turn in self._turns.values()),
            tool_calls=tuple(_freeze_call(call) for call in self._tool_calls.values()),
            edges=tuple(self._edges),
        )

    # Queries the recorder uses to decide which events a call implies.

    @property
    def next_seq(self) -> int:
        """The ``seq`` the next event must carry."""
        return self._last_seq + 1

    @property
    def rollout_id(self) -> str | None:
        """The rollout id fixed by ``rollout_started``."""
        return self._rollout_id

    @property
    def root_thread_id(self) -> str | None:
        """The root thread id fixed by ``rollout_started``."""
        return self._root_thread_id

    @property
    def rollout_ended(self) -> bool:
        """Whether ``rollout_ended`` was replayed."""
        return self._ended_seq is not None

    def thread(self, thread_id: str) -> ThreadNode | None:
        """Snapshot of one thread, or ``None`` if it was never started."""
        state = self._threads.get(thread_id)
        return None if state is None else _freeze_thread(state)

    def open_turn(self, thread_id: str) -> str | None:
        """The thread's open turn id, if any."""
        state = self._threads.get(thread_id)
        return None if state is None else state.open_turn_id

    def open_tool_calls(self, thread_id: str, turn_id: str) -> list[str]:
        """Call ids of the turn's tool calls that have not ended, in start order."""
        turn = self._turns.get((thread_id, turn_id))
        return [] if turn is None else list(turn.open_call_ids)

    def tool_call_location(self, call_id: str) -> tuple[str, str] | None:
        """``(thread_id, turn_id)`` of a started tool call."""
        call = self._tool_calls.get(call_id)
        return None if call is None else (call.thread_id, call.turn_id)

    def running_thread_ids(self) -> list[str]:
        """Threads whose latest run has not ended, deepest first, later-started first."""
        running = [thread for thread in self._threads.values() if thread.running]
        running.sort(key=lambda thread: (thread.depth, thread.started_seq), reverse=True)
        return [thread.thread_id for thread in running]

    # ------------------------------------------------------------------- dispatch

    def _handler_for(self, event_type: EventType, event: TraceEvent | None = None) -> _Handler:
        """The handler for ``event_type``: an exhaustive match with no accepting default.

        Adding an :class:`EventType` member without a ``case`` here is a mypy error
        (``_unhandled`` only accepts ``NoReturn``) and, at run time, an
        :class:`~.errors.UnhandledEventTypeError`.
        """
        match event_type:
            case EventType.ROLLOUT_STARTED:
                return self._on_rollout_started
            case EventType.ROLLOUT_ENDED:
                return self._on_rollout_ended
            case EventType.THREAD_STARTED:
                return self._on_thread_started
            case EventType.THREAD_RESUMED:
                return self._on_thread_resumed
            case EventType.THREAD_ENDED:
                return self._on_thread_ended
            case EventType.TURN_STARTED:
                return self._on_turn_started
            case EventType.TURN_ENDED:
                return self._on_turn_ended
            case EventType.TOOL_CALL_STARTED:
                return self._on_tool_call_started
            case EventType.TOOL_CALL_ENDED:
                return self._on_tool_call_ended
            case EventType.AGENT_SPAWNED:
                return self._on_agent_spawned
            case EventType.AGENT_MESSAGE_SENT:
                return self._on_agent_message_sent
            case EventType.AGENT_RESULT_DELIVERED:
                return self._on_agent_result_delivered
            case EventType.AGENT_CLOSED:
                return self._on_agent_closed
        _unhandled(event_type, event)

    # ------------------------------------------------------------------- handlers

    def _on_rollout_started(self, event: TraceEvent) -> Commit:
        payload = _payload(event, RolloutStarted)
        if self._rollout_id is not None:
            raise self._fail(DuplicateStartError, event, "the rollout already started at seq 1")
        manifest = self._manifest
        if manifest is not None and payload.root_thread_id != manifest.root_thread_id:
            raise self._fail(
                RolloutMismatchError,
                event,
                f"root thread {payload.root_thread_id!r} differs from the manifest's"
                f" {manifest.root_thread_id!r}",
            )

        def commit() -> None:
            self._rollout_id = event.rollout_id
            self._root_thread_id = payload.root_thread_id
            self._started_unix_ms = event.wall_time_unix_ms

        return commit

    def _on_rollout_ended(self, event: TraceEvent) -> Commit:
        payload = _payload(event, RolloutEnded)
        root_id = self._root_thread_id
        if root_id is None or root_id not in self._threads:
            raise self._fail(
                IllegalTransitionError, event, "rollout_ended before the root thread started"
            )
        running = self.running_thread_ids()
        if running:
            raise self._fail(
                IllegalTransitionError,
                event,
                "rollout_ended while threads are running: " + ", ".join(sorted(running)),
            )
        pending = [spawn.child_thread_id for spawn in self._pending_spawns.values()]
        if pending:
            raise self._fail(
                IllegalTransitionError,
                event,
                "rollout_ended with spawned threads that never started: "
                + ", ".join(sorted(pending)),
            )

        def commit() -> None:
            self._ended_seq = event.seq
            self._ended_unix_ms = event.wall_time_unix_ms
            self._status = payload.status

        return commit

    def _on_thread_started(self, event: TraceEvent) -> Commit:
        payload = _payload(event, ThreadStarted)
        thread_id = _thread_id(event)
        existing = self._threads.get(thread_id)
        if existing is not None:
            raise self._fail(
                DuplicateStartError,
                event,
                f"thread {thread_id!r} already started at seq {existing.started_seq}"
                " (a resumed thread must use thread_resumed)",
            )
        spawn: _Spawn | None = None
        if payload.origin is ThreadOrigin.ROOT:
            if thread_id != self._root_thread_id:
                raise self._fail(
                    RolloutMismatchError,
                    event,
                    f"root thread_started for {thread_id!r}, but rollout_started named"
                    f" {self._root_thread_id!r}",
                )
        else:
            parent_id = payload.parent_thread_id
            assert parent_id is not None  # ThreadStarted validates this
            self._known_thread(event, parent_id, "parent thread")
            spawn = self._pending_spawns.get(thread_id)
            if spawn is None or spawn.parent_thread_id != parent_id:
                raise self._fail(
                    IllegalTransitionError,
                    event,
                    f"spawned thread {thread_id!r} has no agent_spawned edge from {parent_id!r}",
                )
            if spawn.agent_path != payload.agent_path:
                raise self._fail(
                    IllegalTransitionError,
                    event,
                    f"agent_path {payload.agent_path!r} differs from {spawn.agent_path!r} given"
                    f" by agent_spawned at seq {spawn.seq}",
                )

        def commit() -> None:
            self._threads[thread_id] = _Thread(
                thread_id=thread_id,
                origin=payload.origin,
                parent_thread_id=payload.parent_thread_id,
                agent_path=payload.agent_path,
                depth=payload.depth,
                started_seq=event.seq,
                runs=[_Run(event.seq, event.wall_time_unix_ms, resumed=False)],
            )
            self._agent_paths[payload.agent_path] = thread_id
            if spawn is not None:
                del self._pending_spawns[thread_id]
                spawn.started = True
                parent = self._threads[spawn.parent_thread_id]
                parent.child_ids.append(thread_id)

        return commit

    def _on_thread_resumed(self, event: TraceEvent) -> Commit:
        payload = _payload(event, ThreadResumed)
        thread = self._known_thread(event, _thread_id(event))
        if thread.origin is ThreadOrigin.ROOT or thread.parent_thread_id is None:
            raise self._fail(
                IllegalTransitionError,
                event,
                "the root thread cannot be resumed within its rollout",
            )
        if thread.running:
            raise self._fail(
                IllegalTransitionError,
                event,
                f"thread {thread.thread_id!r} is still running (run began at seq"
                f" {thread.runs[-1].started_seq})",
            )
        if payload.resumed_by_thread_id != thread.parent_thread_id:
            raise self._fail(
                IllegalTransitionError,
                event,
                f"resumed by {payload.resumed_by_thread_id!r}, but its parent is"
                f" {thread.parent_thread_id!r}",
            )
        self._running_thread(event, thread.parent_thread_id, "parent thread")
        parent_id = thread.parent_thread_id

        def commit() -> None:
            thread.runs.append(_Run(event.seq, event.wall_time_unix_ms, resumed=True))
            thread.closed_seq = None
            self._add_edge(event, EdgeKind.RESUME, parent_id, thread.thread_id)

        return commit

    def _on_thread_ended(self, event: TraceEvent) -> Commit:
        payload = _payload(event, ThreadEnded)
        thread = self._known_thread(event, _thread_id(event))
        run = thread.runs[-1]
        if run.ended_seq is not None:
            raise self._fail(
                DuplicateTerminalError,
                event,
                f"thread {thread.thread_id!r} already ended at seq {run.ended_seq}",
            )
        if thread.open_turn_id is not None:
            raise self._fail(
                IllegalTransitionError,
                event,
                f"thread {thread.thread_id!r} still has turn {thread.open_turn_id!r} open",
            )

        def commit() -> None:
            run.ended_seq = event.seq
            run.ended_unix_ms = event.wall_time_unix_ms
            run.status = payload.status

        return commit

    def _on_turn_started(self, event: TraceEvent) -> Commit:
        _payload(event, TurnStarted)
        thread = self._running_thread(event, _thread_id(event))
        turn_id = _turn_id(event)
        existing = self._turns.get((thread.thread_id, turn_id))
        if existing is not None:
            raise self._fail(
                DuplicateStartError,
                event,
                f"turn {turn_id!r} already started at seq {existing.started_seq}",
            )
        if thread.open_turn_id is not None:
            raise self._fail(
                IllegalTransitionError,
                event,
                f"turn {thread.open_turn_id!r} is still open on thread {thread.thread_id!r}",
            )

        def commit() -> None:
            self._turns[(thread.thread_id, turn_id)] = _Turn(
                thread.thread_id, turn_id, event.seq, event.wall_time_unix_ms
            )
            thread.turn_ids.append(turn_id)
            thread.open_turn_id = turn_id

        return commit

    def _on_turn_ended(self, event: TraceEvent) -> Commit:
        payload = _payload(event, TurnEnded)
        thread = self._known_thread(event, _thread_id(event))
        turn = self._known_turn(event, thread)
        if turn.ended_seq is not None:
            raise self._fail(
                DuplicateTerminalError,
                event,
                f"turn {turn.turn_id!r} already ended at seq {turn.ended_seq}",
            )
        if turn.open_call_ids:
            raise self._fail(
                IllegalTransitionError,
                event,
                f"turn {turn.turn_id!r} still has tool calls open: "
                + ", ".join(turn.open_call_ids),
            )

        def commit() -> None:
            turn.ended_seq = event.seq
            turn.ended_unix_ms = event.wall_time_unix_ms
            turn.status = payload.status
            thread.open_turn_id = None

        return commit

    def _on_tool_call_started(self, event: TraceEvent) -> Commit:
        payload = _payload(event, ToolCallStarted)
        thread = self._running_thread(event, _thread_id(event))
        turn = self._open_turn(event, thread)
        existing = self._tool_calls.get(payload.call_id)
        if existing is not None:
            raise self._fail(
                DuplicateStartError,
                event,
                f"tool call {payload.call_id!r} already started at seq {existing.started_seq}",
            )

        def commit() -> None:
            self._tool_calls[payload.call_id] = _ToolCall(
                call_id=payload.call_id,
                thread_id=thread.thread_id,
                turn_id=turn.turn_id,
                tool_name=payload.tool_name,
                arguments=payload.arguments,
                started_seq=event.seq,
                started_unix_ms=event.wall_time_unix_ms,
            )
            turn.tool_call_ids.append(payload.call_id)
            turn.open_call_ids.append(payload.call_id)

        return commit

    def _on_tool_call_ended(self, event: TraceEvent) -> Commit:
        payload = _payload(event, ToolCallEnded)
        thread = self._known_thread(event, _thread_id(event))
        turn = self._known_turn(event, thread)
        call = self._tool_calls.get(payload.call_id)
        if call is None:
            raise self._fail(
                UnknownToolCallError, event, f"tool call {payload.call_id!r} was never started"
            )
        if (call.thread_id, call.turn_id) != (thread.thread_id, turn.turn_id):
            raise self._fail(
                IllegalTransitionError,
                event,
                f"tool call {call.call_id!r} started on thread {call.thread_id!r} turn"
                f" {call.turn_id!r}",
            )
        if call.ended_seq is not None:
            raise self._fail(
                DuplicateTerminalError,
                event,
                f"tool call {call.call_id!r} already ended at seq {call.ended_seq}",
            )

        def commit() -> None:
            call.ended_seq = event.seq
            call.ended_unix_ms = event.wall_time_unix_ms
            call.status = payload.status
            call.output = payload.output
            turn.open_call_ids.remove(call.call_id)

        return commit

    def _on_agent_spawned(self, event: TraceEvent) -> Commit:
        payload = _payload(event, AgentSpawned)
        parent = self._edge_emitter(event)
        child_id = payload.child_thread_id
        earlier = self._spawns_by_call.get(payload.spawn_call_id)
        if earlier is not None:
            raise self._fail(
                DuplicateStartError,
                event,
                f"spawn call {payload.spawn_call_id!r} already spawned at seq {earlier.seq}",
            )
        if child_id in self._threads or child_id in self._pending_spawns:
            raise self._fail(
                DuplicateStartError,
                event,
                f"thread {child_id!r} already exists (a resumed child must use thread_resumed)",
            )
        if parent_agent_path(payload.agent_path) != parent.agent_path:
            raise self._fail(
                IllegalTransitionError,
                event,
                f"agent_path {payload.agent_path!r} is not a child of the parent's path"
                f" {parent.agent_path!r}",
            )
        holder = self._agent_paths.get(payload.agent_path)
        if holder is not None:
            raise self._fail(
                IllegalTransitionError,
                event,
                f"agent_path {payload.agent_path!r} is already used by thread {holder!r}",
            )

        def commit() -> None:
            spawn = _Spawn(event.seq, parent.thread_id, child_id, payload.agent_path)
            self._spawns_by_call[payload.spawn_call_id] = spawn
            self._pending_spawns[child_id] = spawn
            self._agent_paths[payload.agent_path] = child_id
            self._add_edge(
                event,
                EdgeKind.SPAWN,
                parent.thread_id,
                child_id,
                spawn_call_id=payload.spawn_call_id,
                body=payload.task,
            )

        return commit

    def _on_agent_message_sent(self, event: TraceEvent) -> Commit:
        payload = _payload(event, AgentMessageSent)
        parent = self._edge_emitter(event)
        child = self._own_child(event, parent, payload.child_thread_id)
        if not child.running:
            raise self._fail(
                IllegalTransitionError,
                event,
                f"child {child.thread_id!r} ended at seq {child.runs[-1].ended_seq}",
            )
        if child.closed_seq is not None:
            raise self._fail(
                IllegalTransitionError,
                event,
                f"child {child.thread_id!r} was closed at seq {child.closed_seq}",
            )

        def commit() -> None:
            self._add_edge(
                event, EdgeKind.MESSAGE, parent.thread_id, child.thread_id, body=payload.message
            )

        return commit

    def _on_agent_result_delivered(self, event: TraceEvent) -> Commit:
        payload = _payload(event, AgentResultDelivered)
        child = self._edge_emitter(event)
        if child.parent_thread_id is None:
            raise self._fail(
                IllegalTransitionError, event, "the root thread has no parent to deliver to"
            )
        if child.closed_seq is not None:
            raise self._fail(
                IllegalTransitionError,
                event,
                f"thread {child.thread_id!r} was closed by its parent at seq {child.closed_seq}",
            )
        self._known_thread(event, payload.parent_thread_id, "parent thread")
        if payload.parent_thread_id != child.parent_thread_id:
            raise self._fail(
                IllegalTransitionError,
                event,
                f"result addressed to {payload.parent_thread_id!r}, but the parent is"
                f" {child.parent_thread_id!r}",
            )
        parent = self._running_thread(event, payload.parent_thread_id, "parent thread")

        def commit() -> None:
            self._add_edge(
                event,
                EdgeKind.RESULT,
                child.thread_id,
                parent.thread_id,
                body=payload.message,
                status=payload.status,
            )

        return commit

    def _on_agent_closed(self, event: TraceEvent) -> Commit:
        payload = _payload(event, AgentClosed)
        parent = self._edge_emitter(event)
        child = self._own_child(event, parent, payload.child_thread_id)
        if child.closed_seq is not None:
            raise self._fail(
                DuplicateTerminalError,
                event,
                f"child {child.thread_id!r} was already closed at seq {child.closed_seq}",
            )

        def commit() -> None:
            child.closed_seq = event.seq
            self._add_edge(event, EdgeKind.CLOSE, parent.thread_id, child.thread_id)

        return commit

    # -------------------------------------------------------------------- helpers

    def _fail(self, cls: type[TraceError], event: TraceEvent, detail: str) -> TraceError:
        return cls(detail, seq=event.seq, event=event.describe())

    def _known_thread(self, event: TraceEvent, thread_id: str, role: str = "thread") -> _Thread:
        thread = self._threads.get(thread_id)
        if thread is None:
            raise self._fail(UnknownThreadError, event, f"{role} {thread_id!r} was never started")
        return thread

    def _running_thread(self, event: TraceEvent, thread_id: str, role: str = "thread") -> _Thread:
        thread = self._known_thread(event, thread_id, role)
        if not thread.running:
            raise self._fail(
                IllegalTransitionError,
                event,
                f"{role} {thread_id!r} ended at seq {thread.runs[-1].ended_seq}",
            )
        return thread

    def _known_turn(self, event: TraceEvent, thread: _Thread) -> _Turn:
        turn_id = _turn_id(event)
        turn = self._turns.get((thread.thread_id, turn_id))
        if turn is None:
            raise self._fail(
                UnknownTurnError,
                event,
                f"turn {turn_id!r} was never started on thread {thread.thread_id!r}",
            )
        return turn

    def _open_turn(self, event: TraceEvent, thread: _Thread) -> _Turn:
        turn = self._known_turn(event, thread)
        if turn.ended_seq is not None:
            raise self._fail(
                IllegalTransitionError,
                event,
                f"turn {turn.turn_id!r} ended at seq {turn.ended_seq}",
            )
        return turn

    def _edge_emitter(self, event: TraceEvent) -> _Thread:
        """The running thread an edge event is recorded on, plus its turn if named."""
        thread = self._running_thread(event, _thread_id(event))
        if event.turn_id is not None:
            self._open_turn(event, thread)
        return thread

    def _own_child(self, event: TraceEvent, parent: _Thread, child_id: str) -> _Thread:
        child = self._known_thread(event, child_id, "child thread")
        if child.parent_thread_id != parent.thread_id:
            raise self._fail(
                IllegalTransitionError,
                event,
                f"thread {child_id!r} is not a child of {parent.thread_id!r}"
                f" (its parent is {child.parent_thread_id!r})",
            )
        return child

    def _check_payload_refs(self, event: TraceEvent) -> None:
        if not self._check_payload_files:
            return
        for _name, body in payload_bodies(event.payload):
            if not isinstance(body, BodyRef):
                continue
            if self._bundle_dir is None:
                raise self._fail(
                    MissingPayloadError,
                    event,
                    f"payload_ref {body.path} cannot be resolved without a bundle directory",
                )
            verify_payload(self._bundle_dir, body, seq=event.seq, event=event.describe())

    def _add_edge(
        self,
        event: TraceEvent,
        kind: EdgeKind,
        source: str,
        target: str,
        *,
        spawn_call_id: str | None = None,
        body: Body | None = None,
        status: RunStatus | None = None,
    ) -> None:
        self._edges.append(
            Edge(
                edge_id=f"{event.rollout_id}/e{event.seq}",
                kind=kind,
                seq=event.seq,
                wall_time_unix_ms=event.wall_time_unix_ms,
                source_thread_id=source,
                target_thread_id=target,
                turn_id=event.turn_id,
                spawn_call_id=spawn_call_id,
                body=body,
                status=status,
            )
        )


def _payload(event: TraceEvent, cls: type[_P]) -> _P:
    """The event's payload as ``cls``; the event model guarantees it, this checks it."""
    payload = event.payload
    if not isinstance(payload, cls):
        raise TraceFormatError(
            "payload",
            expected=cls.__name__,
            found=type(payload).__name__,
            seq=event.seq,
            event=event.describe(),
        )
    return payload


def _thread_id(event: TraceEvent) -> str:
    assert event.thread_id is not None  # the event type's THREAD_SCOPE is REQUIRED
    return event.thread_id


def _turn_id(event: TraceEvent) -> str:
    assert event.turn_id is not None  # the caller checked TURN_SCOPE / presence
    return event.turn_id


def _freeze_thread(thread: _Thread) -> ThreadNode:
    return ThreadNode(
        thread_id=thread.thread_id,
        origin=thread.origin,
        parent_thread_id=thread.parent_thread_id,
        agent_path=thread.agent_path,
        depth=thread.depth,
        runs=tuple(
            ThreadRun(
                started_seq=run.started_seq,
                started_unix_ms=run.started_unix_ms,
                resumed=run.resumed,
                ended_seq=run.ended_seq,
                ended_unix_ms=run.ended_unix_ms,
                status=run.status,
            )
            for run in thread.runs
        ),
        turn_ids=tuple(thread.turn_ids),
        child_thread_ids=tuple(thread.child_ids),
        closed=thread.closed_seq is not None,
    )


def _freeze_turn(turn: _Turn) -> TurnNode:
    return TurnNode(
        thread_id=turn.thread_id,
        turn_id=turn.turn_id,
        started_seq=turn.started_seq,
        started_unix_ms=turn.started_unix_ms,
        ended_seq=turn.ended_seq,
        ended_unix_ms=turn.ended_unix_ms,
        status=turn.status,
        tool_call_ids=tuple(turn.tool_call_ids),
    )


def _freeze_call(call: _ToolCall) -> ToolCallNode:
    return ToolCallNode(
        call_id=call.call_id,
        thread_id=call.thread_id,
        turn_id=call.turn_id,
        tool_name=call.tool_name,
        arguments=call.arguments,
        started_seq=call.started_seq,
        started_unix_ms=call.started_unix_ms,
        ended_seq=call.ended_seq,
        ended_unix_ms=call.ended_unix_ms,
        status=call.status,
        output=call.output,
    )


def reduce_events(events: Iterable[TraceEvent], *, bundle_dir: Path | None = None) -> TraceGraph:
    """Replay ``events`` from the start of a rollout and return the graph.

    Payload references are resolved under ``bundle_dir``; without one, any event that
    carries a ``payload_ref`` is rejected with :class:`~.errors.MissingPayloadError`.
    """
    reducer = Reducer(bundle_dir=bundle_dir)
    for event in events:
        reducer.apply(event)
    return reducer.graph()


def reduce_bundle(path: str | os.PathLike[str]) -> TraceGraph:
    """Read a bundle directory (manifest, trace, payload files) and return its graph."""
    bundle_dir = Path(path)
    manifest = read_manifest(bundle_dir)
    reducer = Reducer(bundle_dir=bundle_dir, manifest=manifest)
    for event in iter_trace_events(bundle_dir):
        reducer.apply(event)
    return reducer.graph()


__all__ = [
    "Commit",
    "Edge",
    "EdgeKind",
    "Reducer",
    "ThreadNode",
    "ThreadRun",
    "ToolCallNode",
    "TraceGraph",
    "TurnNode",
    "reduce_bundle",
    "reduce_events",
]
