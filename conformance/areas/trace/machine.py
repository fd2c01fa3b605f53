"""The rollout-trace state machine (seed 003): multi-level spawn trees, follow-ups to
children, results forwarded to parents, closes and resumes, parents that vanish or
refuse a prompt, a trace directory whose disk fills, and orchestrators restarted (or
crashed) on a trace directory that already holds bundles.

Every example starts with a root and one child, and often a grandchild (so every
kind of edge, at depth two too, is a step or two away); rules then spawn a second
root and children under any running agent of a running tree. Time passing makes
turns complete, and the orchestrator forwards each child's result to its parent.
Processes exit in two ways: noticed at once, or unnoticed for a while (the process
is gone, its exit notification comes later), which is how a parent is "already gone"
when a child's result is forwarded to it; ``parent_vanishes`` aims that fault at a
child whose turn is in flight, since a random exit rarely lands there, and
``parent_refuses`` makes the parent's session refuse the next prompt while its
process runs (a send fails for another reason than a process gone). Resumes
re-attach closed or exited children, once or again (``close_and_resume``).
``disk_fills`` makes writes under the trace directory fail (at open, at write time, or
part-way through a line) until ``disk_freed``; ``restart`` shuts the orchestrator
down, or lets it die mid-write, and starts a new one on the same trace directory.
Preconditions keep a rule from being drawn when no agent fits it. The checks in
:mod:`conformance.areas.trace.checks` run after every step.
"""

from __future__ import annotations

import errno
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, initialize, multiple, precondition, rule

from conformance import faults
from conformance.areas.trace.observed import Life, observe
from conformance.contract import BackendKind
from conformance.errors import BackendError
from conformance.fakes import profiles
from conformance.fakes.host import turn_end
from conformance.fakes.profiles import BackendProfile
from conformance.faults import At, Fault
from conformance.harness import Harness
from conformance.stateful import HarnessMachine, fault_rules
from conformance.strategies import versions
from conformance.trace_format.bundle import TRACE_NAME

MAX_AGENTS = 5
MAX_ROOTS = 2
#: Orchestrators per example: the first and, after a restart or a crash, a second.
MAX_LIFETIMES = 2
#: Steps of time: into a turn (its first updates), past a turn, past a long turn.
ADVANCES = (5.0, 1.0, 30.0)
#: How long an exit goes unnoticed: not at all, or past a turn of its children.
NOTICED_AFTER = (0.0, 30.0)
#: What a kill in the middle of a write leaves at the end of a trace.
TORN_EVENT = b'{"schema_version":1,"seq":'
#: Padding that pushes a prompt past the recorders' 4 KiB inline limit, so the trace
#: needs payload files.
LONG = " details:" + " lorem ipsum" * 400


def trace_profiles() -> st.SearchStrategy[BackendProfile]:
    """Ordinary turns of each backend, some long, some ending their process."""
    exits = st.booleans()
    return st.one_of(
        st.builds(profiles.codex, exit_after_first_turn=exits,
                  turn_duration=st.sampled_from([4.2, 45.0]),
                  version=versions(BackendKind.CODEX)),
        st.builds(profiles.claude, exit_after_first_turn=exits,
                  turn_duration=st.sampled_from([4.0, 45.0]),
                  version=versions(BackendKind.CLAUDE)),
        st.builds(profiles.gemini, exit_after_first_turn=exits,
                  version=versions(BackendKind.GEMINI)),
    )


@dataclass(frozen=True)
class Facts:
    """Which agents each rule may act on, in one state of the world."""

    #: Alive, and not ended as far as the orchestrator was told.
    running: frozenset[str]
    #: Running, in a tree whose root runs: may spawn children.
    may_parent: frozenset[str]
    #: Not closed since their current run began.
    closable: frozenset[str]
    #: Their process is alive.
    alive: frozenset[str]
    #: Ended children whose parent may spawn (so the resume can be recorded).
    resumable: frozenset[str]
    #: Children with a turn running whose parent's process is alive, oldest first.
    in_flight: tuple[str, ...]


@dataclass
class TraceRecord:
    """What a world's trace checks need beyond the harness of the moment: it outlives
    a restart (:func:`record_of` finds it from any of the world's harnesses)."""

    #: Bundles an earlier orchestrator of the world left, as they were at its end
    #: (relative path -> bytes): no later orchestrator may change them.
    previous: dict[Path, dict[str, bytes]] = field(default_factory=dict)
    #: Harness time of the first write fault under the trace directory in this
    #: orchestrator's lifetime: from then on a trace may be incomplete (never wrong).
    fault_since: float | None = None
    lifetimes: int = 1


_RECORDS: weakref.WeakKeyDictionary[Harness, TraceRecord] = weakref.WeakKeyDictionary()


def record_of(harness: Harness) -> TraceRecord:
    """The trace record of a world (an empty one outside the machine)."""
    return _RECORDS.setdefault(harness, TraceRecord())


def bundle_files(bundle: Path) -> dict[str, bytes]:
    """Every file of a bundle directory, by relative path."""
    return {p.relative_to(bundle).as_posix(): p.read_bytes()
            for p in sorted(bundle.rglob("*")) if p.is_file()}


class TraceMachine(HarnessMachine):
    """Generates the multi-agent rollouts whose traces seed 003 says go wrong."""

    agents = Bundle("agents")
    _facts: tuple[tuple[int, int], Facts] | None = None

    def __init__(self) -> None:
        super().__init__()
        self.record = record_of(self.harness)
        self._faults: list[object] = []

    # -- what the harness knows (preconditions keep steps from being no-ops) ---------

    def facts(self) -> Facts:
        """The applicable agents, computed once per state: every change of state
        lands in the timeline, so its length (and the agent count) names the state."""
        key = (len(self.harness.calls.calls), len(self.harness.agents))
        if self._facts is not None and self._facts[0] == key:
            return self._facts[1]
        agents = self.harness.agents
        observed = observe(self.harness)
        alive = frozenset(a for a, r in agents.items() if r.session.alive)
        running = frozenset(a for a in alive if observed.life(a).state is Life.RUNNING)
        may_parent = frozenset(a for a in running if observed.root_of[a] in running)
        facts = Facts(
            running=running,
            may_parent=may_parent,
            closable=frozenset(a for a in agents if not observed.life(a).closed),
            alive=alive,
            resumable=frozenset(
                a for a, r in agents.items()
                if r.parent in may_parent and observed.life(a).state is Life.ENDED),
            in_flight=tuple(
                a for a, r in agents.items()
                if r.parent is not None and a in alive and r.parent in alive
                and any(t.completed_at is None for t in r.session.turns)),
        )
        self._facts = (key, facts)
        return facts

    def _spawnable(self) -> bool:
        return len(self.harness.agents) < MAX_AGENTS

    def _roots(self) -> int:
        return sum(1 for r in self.harness.agents.values() if r.parent is None)

    def _spawn(self, profile: BackendProfile, parent: str | None, long_task: bool) -> str:
        agent_id = f"agent-{len(self.harness.agents) + 1}"
        prompt = f"task [{agent_id}]" + (LONG if long_task else "")
        record = self.harness.spawn(agent_id, profile.kind, prompt, profile, parent=parent)
        under = "a root" if parent is None else f"child of {parent}"
        note(f"{agent_id} ({under}): {profile.kind.value} session "
             f"{record.session.session_id}")
        return agent_id

    # -- rules ----------------------------------------------------------------------

    @initialize(target=agents, root=trace_profiles(), child=trace_profiles(),
                long_task=st.booleans(), grandchild=st.booleans())
    def spawn_root_and_child(
        self, root: BackendProfile, child: BackendProfile, long_task: bool,
        grandchild: bool = False,
    ) -> object:
        """Every example starts with a rollout of two agents (three, with a grandchild,
        in half of them): every edge is in reach, at depth one and two."""
        first = self._spawn(root, None, False)
        second = self._spawn(child, first, long_task)
        if not grandchild:
            return multiple(first, second)
        return multiple(first, second, self._spawn(child, second, False))

    @precondition(lambda self: self._spawnable() and self._roots() < MAX_ROOTS)
    @rule(target=agents, profile=trace_profiles())
    def spawn_root(self, profile: BackendProfile) -> str:
        return self._spawn(profile, None, False)

    @precondition(lambda self: self._spawnable() and bool(self.facts().may_parent))
    @rule(target=agents, parent=agents, profile=trace_profiles(), long_task=st.booleans())
    def spawn_child(self, parent: str, profile: BackendProfile, long_task: bool) -> object:
        if parent not in self.facts().may_parent:
            return multiple()
        return self._spawn(profile, parent, long_task)

    @precondition(lambda self: bool(self.facts().running))
    @rule(agent=agents, long_text=st.booleans())
    def send(self, agent: str, long_text: bool) -> None:
        if agent in self.facts().running:
            turns = len(self.harness.agents[agent].session.turns)
            try:
                self.harness.send(agent,
                                  f"follow-up {turns} [{agent}]" + (LONG if long_text else ""))
            except BackendError as error:
                # The session refused it (a refusal meant for a result, met first): the
                # user sees the error; nothing was sent.
                note(f"the send to {agent} failed: {error}")

    @rule(seconds=st.sampled_from(ADVANCES))
    def advance(self, seconds: float) -> None:
        self.harness.advance(seconds)

    @rule()
    def tick(self) -> None:
        """The monitor loop runs (an orchestrator may forward results from it)."""
        self.harness.tick()

    @precondition(lambda self: bool(self.facts().closable))
    @rule(agent=agents)
    def close(self, agent: str) -> None:
        if agent in self.facts().closable:
            self.harness.close(agent)

    @precondition(lambda self: bool(self.facts().alive))
    @rule(agent=agents, noticed_after=st.sampled_from(NOTICED_AFTER))
    def process_exits(self, agent: str, noticed_after: float) -> None:
        """The process exits; the orchestrator is told at once, or ``noticed_after``
        seconds later (a parent-gone fault when it has children)."""
        if agent in self.facts().alive:
            self.harness.exit_process(agent, noticed_after=noticed_after)

    @precondition(lambda self: bool(self.facts().in_flight))
    @rule()
    def parent_vanishes(self) -> None:
        """The parent-gone fault, aimed: the parent of the latest child with a turn in
        flight dies, and the orchestrator is told only after that turn would end, so
        the result the child forwards meanwhile cannot be delivered."""
        child = self.facts().in_flight[-1]
        parent = self.harness.agents[child].parent
        assert parent is not None
        note(f"{parent}, the parent of {child}, dies; noticed in {NOTICED_AFTER[-1]:g}s")
        self.harness.exit_process(parent, noticed_after=NOTICED_AFTER[-1])

    @precondition(lambda self: bool(self.facts().resumable))
    @rule(agent=agents)
    def resume(self, agent: str) -> None:
        """Re-attach an ended child whose parent and root still run."""
        if agent in self.facts().resumable:
            self.harness.resume(agent)

    @precondition(lambda self: bool(self._reattachable()))
    @rule(agent=agents)
    def close_and_resume(self, agent: str) -> None:
        """The user closes a running child and resumes it at once (twice in a row is
        two steps): a thread's runs, one after another, under the same thread id."""
        if agent in self._reattachable():
            self.harness.close(agent)
            self.harness.resume(agent)

    def _reattachable(self) -> list[str]:
        facts = self.facts()
        return [a for a in facts.running
                if self.harness.agents[a].parent in facts.may_parent]

    @precondition(lambda self: bool(self.facts().in_flight))
    @rule(target=agents, deep=st.booleans())
    def parent_refuses(self, deep: bool = False) -> object:
        """The parent of the latest child with a turn in flight refuses the next prompt
        (a rate limit) while its process runs, and time passes until the child's turn
        is over: its result cannot be delivered, and the parent has not gone anywhere.

        With ``deep`` the refusing parent is a child itself, whose own thread and edges
        are at stake too: the deepest child in flight, or, when every child in flight
        has the root for parent, a grandchild spawned now under a running child."""
        in_flight = self.facts().in_flight
        child = max(in_flight, key=self._depth) if deep else in_flight[-1]
        spawned: list[str] = []
        if deep and self._depth(child) < 2 and self._spawnable():
            middle = sorted((a for a in self.facts().may_parent if self._depth(a) == 1),
                            key=lambda a: int(a.rsplit("-", 1)[1]))
            if middle:
                parent_profile = self.harness.agents[middle[-1]].profile
                child = self._spawn(parent_profile, middle[-1], False)
                spawned.append(child)
        record = self.harness.agents[child]
        parent = record.parent
        assert parent is not None
        session = self.harness.agents[parent].session
        self.harness.hosts[session.kind].refuse_sends(session.session_id)
        running = [t for t in record.session.turns if t.completed_at is None]
        due = turn_end(record.session, running[0]) + 0.5
        wait = max(0.0, due - self.harness.now())
        note(f"{parent}, the parent of {child}, refuses its next prompt (rate limited); "
             f"{wait:g}s pass")
        self.harness.advance(wait)
        return multiple(*spawned)

    @precondition(lambda self: not self._faults)
    @rule(at=st.sampled_from([At.PARTIAL, At.WRITE, At.OPEN]))
    def disk_fills(self, at: At) -> None:
        """Writes under the trace directory fail from now on (until ``disk_freed``): a
        trace may then miss events, but what it holds must still replay."""
        self._faults.append(faults.start(Fault(self.harness.world.trace_dir,
                                               errno.ENOSPC, at)))
        if self.record.fault_since is None:
            self.record.fault_since = self.harness.now()
        note(f"the trace directory's disk is full (at {at.value}); 1s passes")
        # A second of work meets the full disk (the turns' events go on arriving).
        self.harness.advance(1.0)

    @precondition(lambda self: bool(self._faults))
    @rule()
    def disk_freed(self) -> None:
        self._stop_faults()
        note("the trace directory's disk has room again")

    @precondition(lambda self: self.record.lifetimes < MAX_LIFETIMES)
    @rule(target=agents, crash=st.booleans(), root=trace_profiles(), child=trace_profiles())
    def restart(self, crash: bool, root: BackendProfile | None = None,
                child: BackendProfile | None = None) -> object:
        """A new orchestrator on the same trace directory. Shut down in order, or (with
        ``crash``) killed in the middle of a write: no shutdown, and every trace it had
        open ends in a torn line. The new one's sessions are new ones; its agents may
        reuse the old agent ids, and its rollouts need bundles of their own."""
        self._stop_faults()
        old = self.harness
        trace_dir = old.world.trace_dir
        if crash:
            for trace in sorted(trace_dir.glob(f"*/{TRACE_NAME}")):
                with faults.exempt(), trace.open("ab") as handle:
                    handle.write(TORN_EVENT)
        else:
            old.shutdown()
        old.retire()
        for bundle in sorted(p for p in trace_dir.iterdir() if p.is_dir()):
            self.record.previous.setdefault(bundle, bundle_files(bundle))
        self.record.lifetimes += 1
        # The new harness starts its clock at the world's epoch again, and its bundles
        # are new: a fault of an earlier lifetime says nothing about them (the earlier
        # bundles are judged by `previous`, which no later orchestrator may change).
        self.record.fault_since = None
        self.harness = Harness(self.context.adapter.adapter, self.clock, old.root,
                               settings=self.world_settings(),
                               workspace=old.world.workspace.name,
                               token=f"world-{self.record.lifetimes}")
        _RECORDS[self.harness] = self.record
        self._facts = None
        note(f"{'crash' if crash else 'restart'}: a new orchestrator on {trace_dir.name}/ "
             f"({len(self.record.previous)} bundle(s) already there)")
        if root is None or child is None:
            return multiple()
        # The new orchestrator's first rollout: its agent ids are the old ones again.
        first = self._spawn(root, None, False)
        return multiple(first, self._spawn(child, first, False))

    def _depth(self, agent: str) -> int:
        depth, parent = 0, self.harness.agents[agent].parent
        while parent is not None and parent in self.harness.agents:
            depth, parent = depth + 1, self.harness.agents[parent].parent
        return depth

    def _stop_faults(self) -> None:
        while self._faults:
            faults.stop(self._faults.pop())

    def teardown(self) -> None:
        self._stop_faults()
        super().teardown()


# Failing writes and power cuts reach only an orchestrator in this process.
fault_rules(TraceMachine, "disk_fills")
