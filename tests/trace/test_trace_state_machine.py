"""Stateful property test: random multi-agent rollouts against the recorder.

The machine builds spawn trees several levels deep, sends messages, delivers results
(some of which fail: the deliver callable raises, or the parent is already gone),
closes and resumes children, ends threads and finally the root. It keeps a plain
model of what the graph should be and, after every step, checks the bundle on disk:

* it replays without error, and the replayed graph equals both the model and the
  recorder's in-memory snapshot;
* ``seq`` is contiguous from 1 and every ``payload_ref`` file exists;
* ``rollout_ended`` appears at most once, last, and only after the root's end;
* no thread has two ``thread_started`` events (resumes are ``thread_resumed``);
* no ``agent_result_delivered`` edge exists for a delivery that failed.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from reference_impl.trace import (
    BodyRef,
    EventType,
    JsonValue,
    RecordingRefusedError,
    RunStatus,
    ThreadHandle,
    TraceEvent,
    TraceGraph,
    TraceRecorder,
    decode_line,
    load_body,
    reduce_bundle,
)
from reference_impl.trace.events import payload_bodies
from reference_impl.trace.reducer import EdgeKind

ROOT = "t0"
INLINE_LIMIT = 24
statuses = st.sampled_from(list(RunStatus))
#: Bodies from tiny to well over the inline limit, so some go to payload files.
paddings = st.integers(min_value=0, max_value=3 * INLINE_LIMIT)


class ParentGone(Exception):
    """What a failing deliver callable raises."""


@dataclass
class MThread:
    parent: str | None
    path: str
    depth: int
    runs: list[RunStatus | None] = field(default_factory=lambda: [None])
    closed: bool = False
    open_turn: str | None = None
    turns: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.runs[-1] is None


@dataclass
class MTurn:
    status: RunStatus | None = None
    calls: list[str] = field(default_factory=list)


@dataclass
class MCall:
    thread: str
    turn: str
    tool: str
    arguments: JsonValue
    status: RunStatus | None = None
    output: JsonValue = None


Edge = tuple[EdgeKind, str, str, "str | None", JsonValue, "RunStatus | None"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        self.now += 0.001
        return self.now


class TraceMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="trace-sm-"))
        self.bundle = self.tmp / "bundle"
        self.recorder = TraceRecorder(
            self.bundle, clock=Clock(), inline_limit_bytes=INLINE_LIMIT, fsync=False
        )
        self.handles: dict[str, ThreadHandle] = {ROOT: self.recorder.start_rollout("r1", ROOT)}
        self.threads: dict[str, MThread] = {ROOT: MThread(parent=None, path="/", depth=0)}
        self.turns: dict[tuple[str, str], MTurn] = {}
        self.calls: dict[str, MCall] = {}
        self.edges: list[Edge] = []
        self.ended: RunStatus | None = None
        self.failed_results: set[str] = set()
        self.counter = 0
        self.steps = 0

    def teardown(self) -> None:
        self.recorder.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------------ helpers

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def body(self, prefix: str, padding: int) -> str:
        return f"{self.fresh(prefix)}-" + "x" * padding

    def trace_bytes(self) -> bytes:
        return (self.bundle / "trace.jsonl").read_bytes()

    def live(self) -> bool:
        return self.ended is None

    def running(self) -> list[str]:
        return [tid for tid, t in self.threads.items() if t.running]

    def idle(self) -> list[str]:
        return [tid for tid, t in self.threads.items() if t.running and t.open_turn is None]

    def busy(self) -> list[str]:
        return [tid for tid, t in self.threads.items() if t.open_turn is not None]

    def open_calls(self) -> list[str]:
        return [cid for cid, c in self.calls.items() if c.status is None]

    def reachable_children(self) -> list[str]:
        """Running, unclosed children whose parent is running (message/close targets)."""
        return [
            tid
            for tid, t in self.threads.items()
            if t.parent is not None
            and t.running
            and not t.closed
            and self.threads[t.parent].running
        ]

    def closable(self) -> list[str]:
        return [
            tid
            for tid, t in self.threads.items()
            if t.parent is not None and not t.closed and self.threads[t.parent].running
        ]

    def resumable(self) -> list[str]:
        return [
            tid
            for tid, t in self.threads.items()
            if t.parent is not None and not t.running and self.threads[t.parent].running
        ]

    def orphans(self) -> list[str]:
        """Running, unclosed children whose parent has ended: deliveries must fail."""
        return [
            tid
            for tid, t in self.threads.items()
            if t.parent is not None
            and t.running
            and not t.closed
            and not self.threads[t.parent].running
        ]

    def model_end_turn(self, tid: str, turn: str, status: RunStatus) -> None:
        for cid in self.turns[(tid, turn)].calls:
            if self.calls[cid].status is None:
                self.calls[cid].status = RunStatus.CANCELLED
        self.turns[(tid, turn)].status = status
        self.threads[tid].open_turn = None

    def model_end_thread(self, tid: str, status: RunStatus) -> None:
        thread = self.threads[tid]
        if thread.open_turn is not None:
            self.model_end_turn(tid, thread.open_turn, RunStatus.CANCELLED)
        thread.runs[-1] = status

    def maybe_turn(self, tid: str, use: bool) -> str | None:
        return self.threads[tid].open_turn if use else None

    # -------------------------------------------------------------------- rules

    @precondition(lambda self: self.live() and bool(self.idle()))
    @rule(data=st.data())
    def start_turn(self, data: st.DataObject) -> None:
        tid = data.draw(st.sampled_from(self.idle()), label="thread")
        turn = self.fresh("u")
        self.recorder.start_turn(self.handles[tid], turn)
        self.turns[(tid, turn)] = MTurn()
        self.threads[tid].turns.append(turn)
        self.threads[tid].open_turn = turn

    @precondition(lambda self: self.live() and bool(self.busy()))
    @rule(data=st.data(), status=statuses)
    def end_turn(self, data: st.DataObject, status: RunStatus) -> None:
        tid = data.draw(st.sampled_from(self.busy()), label="thread")
        turn = self.threads[tid].open_turn
        assert turn is not None
        self.recorder.end_turn(self.handles[tid], turn, status)
        self.model_end_turn(tid, turn, status)

    @precondition(lambda self: self.live() and bool(self.busy()))
    @rule(data=st.data(), padding=paddings)
    def start_tool_call(self, data: st.DataObject, padding: int) -> None:
        tid = data.draw(st.sampled_from(self.busy()), label="thread")
        turn = self.threads[tid].open_turn
        assert turn is not None
        call = self.fresh("c")
        arguments: JsonValue = {"arg": self.body("a", padding)}
        self.recorder.tool_call_started(self.handles[tid], turn, call, "shell", arguments)
        self.calls[call] = MCall(tid, turn, "shell", arguments)
        self.turns[(tid, turn)].calls.append(call)

    @precondition(lambda self: self.live() and bool(self.open_calls()))
    @rule(data=st.data(), status=statuses, padding=paddings)
    def end_tool_call(self, data: st.DataObject, status: RunStatus, padding: int) -> None:
        call = data.draw(st.sampled_from(self.open_calls()), label="call")
        output = self.body("o", padding)
        self.recorder.tool_call_ended(self.handles[self.calls[call].thread], call, status, output)
        self.calls[call].status = status
        self.calls[call].output = output

    @precondition(lambda self: self.live() and bool(self.running()))
    @rule(data=st.data(), in_turn=st.booleans(), padding=paddings)
    def spawn(self, data: st.DataObject, in_turn: bool, padding: int) -> None:
        parent = data.draw(st.sampled_from(self.running()), label="parent")
        child = self.fresh("t")
        name = self.fresh("agent")
        call = self.fresh("s")
        task = self.body("task", padding)
        turn = self.maybe_turn(parent, in_turn)
        handle = self.recorder.spawn_agent(
            self.handles[parent],
            child,
            spawn_call_id=call,
            agent_name=name,
            task=task,
            turn_id=turn,
        )
        self.handles[child] = handle
        parent_model = self.threads[parent]
        path = f"/{name}" if parent_model.path == "/" else f"{parent_model.path}/{name}"
        self.threads[child] = MThread(parent=parent, path=path, depth=parent_model.depth + 1)
        parent_model.children.append(child)
        self.edges.append((EdgeKind.SPAWN, parent, child, call, task, None))

    @precondition(lambda self: self.live() and bool(self.reachable_children()))
    @rule(data=st.data(), in_turn=st.booleans(), padding=paddings)
    def send_message(self, data: st.DataObject, in_turn: bool, padding: int) -> None:
        child = data.draw(st.sampled_from(self.reachable_children()), label="child")
        parent = self.threads[child].parent
        assert parent is not None
        message = self.body("msg", padding)
        turn = self.maybe_turn(parent, in_turn)
        self.recorder.send_message(self.handles[parent], self.handles[child], message, turn_id=turn)
        self.edges.append((EdgeKind.MESSAGE, parent, child, None, message, None))

    @precondition(lambda self: self.live() and bool(self.reachable_children()))
    @rule(data=st.data(), status=statuses, padding=paddings, in_turn=st.booleans())
    def deliver_result(
        self, data: st.DataObject, status: RunStatus, padding: int, in_turn: bool
    ) -> None:
        child = data.draw(st.sampled_from(self.reachable_children()), label="child")
        parent = self.threads[child].parent
        assert parent is not None
        message = self.body("res", padding)
        before = self.trace_bytes()
        calls: list[bytes] = []

        def deliver() -> None:
            calls.append(self.trace_bytes())

        self.recorder.deliver_result(
            self.handles[child],
            self.handles[parent],
            message,
            deliver,
            status=status,
            turn_id=self.maybe_turn(child, in_turn),
        )
        assert calls == [before], "delivered exactly once, before anything was recorded"
        self.edges.append((EdgeKind.RESULT, child, parent, None, message, status))

    @precondition(lambda self: self.live() and bool(self.reachable_children()))
    @rule(data=st.data(), padding=paddings)
    def deliver_result_fails(self, data: st.DataObject, padding: int) -> None:
        child = data.draw(st.sampled_from(self.reachable_children()), label="child")
        parent = self.threads[child].parent
        assert parent is not None
        message = self.body("lost", padding)
        before = self.trace_bytes()

        def deliver() -> None:
            raise ParentGone(parent)

        try:
            self.recorder.deliver_result(
                self.handles[child], self.handles[parent], message, deliver
            )
        except ParentGone:
            pass
        else:  # pragma: no cover - the property under test
            raise AssertionError("the delivery error must propagate")
        assert self.trace_bytes() == before
        self.failed_results.add(message)

    @precondition(lambda self: self.live() and bool(self.orphans()))
    @rule(data=st.data())
    def deliver_result_to_gone_parent(self, data: st.DataObject) -> None:
        child = data.draw(st.sampled_from(self.orphans()), label="child")
        parent = self.threads[child].parent
        assert parent is not None
        message = self.body("orphan", 0)
        before = self.trace_bytes()
        called: list[bool] = []
        try:
            self.recorder.deliver_result(
                self.handles[child], self.handles[parent], message, lambda: called.append(True)
            )
        except RecordingRefusedError:
            pass
        else:  # pragma: no cover - the property under test
            raise AssertionError("a result for an ended parent must be refused")
        assert called == [] and self.trace_bytes() == before
        self.failed_results.add(message)

    @precondition(lambda self: self.live() and bool(self.closable()))
    @rule(data=st.data(), in_turn=st.booleans())
    def close_agent(self, data: st.DataObject, in_turn: bool) -> None:
        child = data.draw(st.sampled_from(self.closable()), label="child")
        parent = self.threads[child].parent
        assert parent is not None
        turn = self.maybe_turn(parent, in_turn)
        written = self.recorder.close_agent(self.handles[parent], self.handles[child], turn_id=turn)
        assert written[0].type is EventType.AGENT_CLOSED
        self.edges.append((EdgeKind.CLOSE, parent, child, None, None, None))
        self.threads[child].closed = True
        if self.threads[child].running:
            self.model_end_thread(child, RunStatus.CANCELLED)
            assert written[-1].type is EventType.THREAD_ENDED
        else:
            assert len(written) == 1

    @precondition(lambda self: self.live() and bool(self.resumable()))
    @rule(data=st.data())
    def resume_agent(self, data: st.DataObject) -> None:
        child = data.draw(st.sampled_from(self.resumable()), label="child")
        parent = self.threads[child].parent
        assert parent is not None
        self.recorder.resume_agent(self.handles[parent], child)
        self.threads[child].runs.append(None)
        self.threads[child].closed = False
        self.edges.append((EdgeKind.RESUME, parent, child, None, None, None))

    @precondition(lambda self: self.live() and len(self.running()) > 1)
    @rule(data=st.data(), status=statuses)
    def end_child_thread(self, data: st.DataObject, status: RunStatus) -> None:
        tid = data.draw(st.sampled_from([t for t in self.running() if t != ROOT]), label="thread")
        written = self.recorder.end_thread(self.handles[tid], status)
        assert all(event.type is not EventType.ROLLOUT_ENDED for event in written)
        assert not self.recorder.rollout_ended
        self.model_end_thread(tid, status)

    @precondition(lambda self: self.live() and self.steps >= 20)
    @rule(status=statuses)
    def end_root(self, status: RunStatus) -> None:
        written = self.recorder.end_thread(self.handles[ROOT], status)
        assert written[-1].type is EventType.ROLLOUT_ENDED
        assert written[-2].type is EventType.THREAD_ENDED and written[-2].thread_id == ROOT
        for tid in self.running():
            if tid != ROOT:
                self.model_end_thread(tid, RunStatus.CANCELLED)
        self.model_end_thread(ROOT, status)
        self.ended = status

    @rule(data=st.data())
    def illegal_call_is_refused_and_writes_nothing(self, data: st.DataObject) -> None:
        """A call the trace could not explain is refused without touching the file."""
        recorder, handles = self.recorder, self.handles
        attempts = [
            # The root's id is always taken: spawning it again is a duplicate start.
            lambda: recorder.spawn_agent(handles[ROOT], ROOT, spawn_call_id="s-dup"),
        ]
        ended = [tid for tid, t in self.threads.items() if not t.running]
        if ended:
            gone = data.draw(st.sampled_from(ended), label="ended thread")
            attempts.append(lambda: recorder.end_thread(handles[gone]))
            attempts.append(lambda: recorder.start_turn(handles[gone], "u-late"))
        running_children = [tid for tid, t in self.threads.items() if t.parent and t.running]
        if running_children:
            busy = data.draw(st.sampled_from(running_children), label="running child")
            attempts.append(lambda: recorder.resume_agent(handles[ROOT], busy))
        attempt = data.draw(st.sampled_from(attempts), label="attempt")
        before = self.trace_bytes()
        try:
            attempt()
        except RecordingRefusedError:
            pass
        else:  # pragma: no cover - the property under test
            raise AssertionError("an unexplainable call must be refused")
        assert self.trace_bytes() == before

    # --------------------------------------------------------------- invariants

    @invariant()
    def count_step(self) -> None:
        self.steps += 1

    @invariant()
    def bundle_is_consistent_and_matches_model(self) -> None:
        raw = self.trace_bytes()
        assert raw.endswith(b"\n")
        events = [decode_line(line, line=number) for number, line in enumerate(raw.splitlines(), 1)]
        self.check_raw_events(events)
        graph = reduce_bundle(self.bundle)
        assert graph == self.recorder.snapshot()
        results = {
            load_body(self.bundle, edge.body)
            for edge in graph.edges
            if edge.kind is EdgeKind.RESULT and edge.body is not None
        }
        assert not results & self.failed_results  # type: ignore[operator]
        assert self.project(graph) == self.expected()

    def check_raw_events(self, events: list[TraceEvent]) -> None:
        assert [event.seq for event in events] == list(range(1, len(events) + 1))
        for event in events:
            for _name, body in payload_bodies(event.payload):
                if isinstance(body, BodyRef):
                    assert (self.bundle / body.path).is_file(), body.path
        starts = Counter(e.thread_id for e in events if e.type is EventType.THREAD_STARTED)
        assert all(count == 1 for count in starts.values()), starts
        ends = [i for i, e in enumerate(events) if e.type is EventType.ROLLOUT_ENDED]
        assert len(ends) == (0 if self.ended is None else 1)
        if ends:
            assert ends[0] == len(events) - 1
            root_ends = [
                i
                for i, e in enumerate(events)
                if e.type is EventType.THREAD_ENDED and e.thread_id == ROOT
            ]
            assert root_ends and root_ends[-1] < ends[0]
        edge_ids = [f"r1/e{e.seq}" for e in events]
        assert len(set(edge_ids)) == len(edge_ids)

    def project(self, graph: TraceGraph) -> object:
        def value(body: object) -> JsonValue:
            return None if body is None else load_body(self.bundle, body)  # type: ignore[arg-type]

        return (
            graph.status,
            {
                t.thread_id: (
                    t.parent_thread_id,
                    t.agent_path,
                    t.depth,
                    [run.status for run in t.runs],
                    t.closed,
                    list(t.turn_ids),
                    list(t.child_thread_ids),
                )
                for t in graph.threads
            },
            {(t.thread_id, t.turn_id): (t.status, list(t.tool_call_ids)) for t in graph.turns},
            {
                c.call_id: (
                    c.thread_id,
                    c.turn_id,
                    c.tool_name,
                    value(c.arguments),
                    c.status,
                    value(c.output),
                )
                for c in graph.tool_calls
            },
            [
                (
                    e.kind,
                    e.source_thread_id,
                    e.target_thread_id,
                    e.spawn_call_id,
                    value(e.body),
                    e.status,
                )
                for e in graph.edges
            ],
        )

    def expected(self) -> object:
        return (
            self.ended,
            {
                tid: (t.parent, t.path, t.depth, t.runs, t.closed, t.turns, t.children)
                for tid, t in self.threads.items()
            },
            {key: (turn.status, turn.calls) for key, turn in self.turns.items()},
            {
                cid: (c.thread, c.turn, c.tool, c.arguments, c.status, c.output)
                for cid, c in self.calls.items()
            },
            list(self.edges),
        )


TraceMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestTraceMachine = TraceMachine.TestCase
