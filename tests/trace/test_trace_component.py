"""The reference orchestrator's rollout trace, end to end through the harness.

The state machine in ``conformance.areas.trace.machine`` explores; these pin the
behaviours seed 003 is about, each in one readable scenario: a child's end leaves the
rollout running, a resume is ``thread_resumed``, a result is recorded only once it
reached the parent (and never when the parent is already gone), and the delivery
chain survives broken components.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import conformance.trace_format.events as format_events
import reference_impl.trace.events as reference_events
from conformance.areas.trace.observed import Life, Relationship, observe
from conformance.clock import HarnessClock
from conformance.contract import BackendKind
from conformance.errors import BackendError
from conformance.fakes import profiles
from conformance.harness import Harness
from conformance.trace_format.errors import TraceFormatError
from conformance.trace_format.scan import replay, scan_bundle
from reference_impl.adapter import conformance_adapter
from reference_impl.components import Component
from reference_impl.delivery import deliver_through
from reference_impl.orchestrator import Agent
from reference_impl.trace import EdgeKind, TraceGraph, reduce_bundle
from reference_impl.trace.cli import main as rollout_trace


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    clock = HarnessClock()
    clock.start()
    world = Harness(conformance_adapter, clock, tmp_path / "world")
    try:
        yield world
    finally:
        world.shutdown()
        clock.stop()


def _tree(harness: Harness) -> None:
    harness.spawn("lead", BackendKind.CODEX, "plan [lead]", profiles.codex())
    harness.spawn("tests", BackendKind.CLAUDE, "test [tests]", profiles.claude(), parent="lead")


def _graph(harness: Harness, rollout: str = "lead") -> TraceGraph:
    return reduce_bundle(harness.world.trace_dir / rollout)


def _edges(graph: TraceGraph, harness: Harness) -> list[tuple[str, str, str]]:
    agent = {r.session.session_id: a for a, r in harness.agents.items()}
    return [(e.kind.value, agent[e.source_thread_id], agent[e.target_thread_id])
            for e in graph.edges]


def test_one_bundle_per_root_thread_ids_are_session_ids(harness: Harness) -> None:
    _tree(harness)
    harness.spawn("other", BackendKind.GEMINI, "other [other]", profiles.gemini())
    assert sorted(p.name for p in harness.world.trace_dir.iterdir()) == ["lead", "other"]
    graph = _graph(harness)
    sessions = {harness.agents[a].session.session_id for a in ("lead", "tests")}
    assert {t.thread_id for t in graph.threads} == sessions
    assert graph.root_thread_id == harness.agents["lead"].session.session_id
    assert _edges(graph, harness) == [("spawn", "lead", "tests")]


def test_a_childs_end_leaves_the_rollout_running(harness: Harness) -> None:
    _tree(harness)
    harness.close("tests")
    graph = _graph(harness)
    assert not graph.ended
    assert _edges(graph, harness) == [("spawn", "lead", "tests"), ("close", "lead", "tests")]
    harness.close("lead")
    assert _graph(harness).ended


def test_a_resumed_child_keeps_its_thread(harness: Harness) -> None:
    _tree(harness)
    harness.exit_process("tests")
    harness.resume("tests")
    graph = _graph(harness)
    child = graph.thread(harness.agents["tests"].session.session_id)
    assert [run.resumed for run in child.runs] == [False, True]
    assert _edges(graph, harness)[-1] == ("resume", "lead", "tests")


def test_results_are_recorded_once_delivered(harness: Harness) -> None:
    _tree(harness)
    harness.send("tests", "more [tests]")
    harness.advance(10.0)
    edges = _edges(_graph(harness), harness)
    assert edges.count(("result", "tests", "lead")) == 2
    assert ("message", "lead", "tests") in edges
    parent_prompts = [t.prompt for t in harness.agents["lead"].session.turns[1:]]
    assert all(p.startswith("[result from tests] final-answer") for p in parent_prompts)


def test_no_result_edge_when_the_parent_is_already_gone(harness: Harness) -> None:
    _tree(harness)
    harness.exit_process("lead", noticed_after=30.0)  # gone now, noticed later
    assert observe(harness).life("lead").state is Life.DYING
    harness.advance(5.0)  # the child's turn completes; forwarding it fails
    sends = [c for c in harness.calls.calls if c.op == "send"]
    assert [c.outcome for c in sends] == ["BackendError"]
    assert _edges(_graph(harness), harness) == [("spawn", "lead", "tests")]
    harness.advance(30.0)
    assert observe(harness).life("lead").state is Life.ENDED
    assert _graph(harness).ended


def test_observed_relationships_follow_the_timeline(harness: Harness) -> None:
    _tree(harness)
    harness.advance(5.0)
    observed = observe(harness)
    assert observed.required == {
        Relationship(EdgeKind.SPAWN, "lead", "tests"): 1,
        Relationship(EdgeKind.RESULT, "tests", "lead"): 1,
    }
    harness.exit_process("lead", noticed_after=30.0)
    harness.send("tests", "more [tests]")  # the parent is dying: may be recorded
    observed = observe(harness)
    message = Relationship(EdgeKind.MESSAGE, "lead", "tests")
    assert (observed.required[message], observed.allowed[message]) == (0, 1)


def test_the_cli_renders_the_tree(harness: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    _tree(harness)
    assert rollout_trace(["reduce", str(harness.world.trace_dir / "lead"),
                          "--format", "mermaid"]) == 0
    assert "spawn spawn-tests" in capsys.readouterr().out


def test_scan_keeps_reading_past_a_bad_line(tmp_path: Path, harness: Harness) -> None:
    _tree(harness)
    bundle = harness.world.trace_dir / "lead"
    with (bundle / "trace.jsonl").open("ab") as handle:
        handle.write(b'{"seq": 5}\n{"torn')
    scan = scan_bundle(bundle)
    assert [line.number for line in scan.lines if line.event is None] == [5, 6]
    assert scan.lines[4].obj == {"seq": 5} and scan.lines[5].obj is None
    assert len(scan.events) == 4
    with pytest.raises(TraceFormatError):
        replay(scan)


def test_the_format_moved_and_is_re_exported() -> None:
    assert reference_events.TraceEvent is format_events.TraceEvent
    assert reference_events.__all__ == format_events.__all__


# -- the delivery chain -------------------------------------------------------------


class _Raises(Component):
    def deliver_result(self, child: Agent, parent: Agent, message: str,
                       deliver: Callable[[], None]) -> None:
        raise RuntimeError("broken component")


class _Swallows(Component):
    def deliver_result(self, child: Agent, parent: Agent, message: str,
                       deliver: Callable[[], None]) -> None:
        with contextlib.suppress(BackendError):
            deliver()


class _Records(Component):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def deliver_result(self, child: Agent, parent: Agent, message: str,
                       deliver: Callable[[], None]) -> None:
        deliver()
        self.seen.append(message)


@pytest.mark.parametrize("fails", [False, True])
def test_delivery_survives_broken_components(fails: bool) -> None:
    sends: list[str] = []

    def send() -> None:
        sends.append("sent")
        if fails:
            raise BackendError("parent gone")

    errors: list[str] = []
    recorder = _Records()
    agent = Agent.__new__(Agent)
    delivered = deliver_through([recorder, _Swallows(), _Raises()], agent, agent, "m", send,
                                lambda hook, error: errors.append(hook))
    assert sends == ["sent"]  # exactly once, although one component never delivered
    assert delivered is not fails
    assert recorder.seen == ([] if fails else ["m"])  # a swallowed failure still counts
    assert errors == ["_Raises.deliver_result"]
