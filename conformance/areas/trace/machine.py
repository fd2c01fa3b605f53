"""The rollout-trace state machine (seed 003): multi-level spawn trees, follow-ups to
children, results forwarded to parents, closes and resumes, and parents that vanish.

Every example starts with a root and one child (so every kind of edge is a step or
two away); rules then spawn a second root and children under any running agent of a
running tree, several levels deep. Time passing makes turns complete, and the
orchestrator forwards each child's result to its parent. Processes exit in two ways:
noticed at once, or unnoticed for a while (the process is gone, its exit notification
comes later), which is how a parent is "already gone" when a child's result is
forwarded to it; ``parent_vanishes`` aims that fault at a child whose turn is in
flight, since a random exit rarely lands there. Resumes re-attach closed or exited
children. Preconditions keep a rule from being drawn when no agent fits it. The checks
in :mod:`conformance.areas.trace.checks` run after every step.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, initialize, multiple, precondition, rule

from conformance.areas.trace.observed import Life, observe
from conformance.fakes import profiles
from conformance.fakes.profiles import BackendProfile
from conformance.stateful import HarnessMachine

MAX_AGENTS = 4
MAX_ROOTS = 2
#: Steps of time: into a turn (its first updates), past a turn, past a long turn.
ADVANCES = (5.0, 1.0, 30.0)
#: How long an exit goes unnoticed: not at all, or past a turn of its children.
NOTICED_AFTER = (0.0, 30.0)
#: Padding that pushes a prompt past the recorders' 4 KiB inline limit, so the trace
#: needs payload files.
LONG = " details:" + " lorem ipsum" * 400


def trace_profiles() -> st.SearchStrategy[BackendProfile]:
    """Ordinary turns of each backend, some long, some ending their process."""
    exits = st.booleans()
    return st.one_of(
        st.builds(profiles.codex, exit_after_first_turn=exits,
                  turn_duration=st.sampled_from([4.2, 45.0])),
        st.builds(profiles.claude, exit_after_first_turn=exits,
                  turn_duration=st.sampled_from([4.0, 45.0])),
        st.builds(profiles.gemini, exit_after_first_turn=exits),
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


class TraceMachine(HarnessMachine):
    """Generates the multi-agent rollouts whose traces seed 003 says go wrong."""

    agents = Bundle("agents")
    _facts: tuple[tuple[int, int], Facts] | None = None

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
                long_task=st.booleans())
    def spawn_root_and_child(
        self, root: BackendProfile, child: BackendProfile, long_task: bool
    ) -> object:
        """Every example starts with a rollout of two agents: every edge is in reach."""
        first = self._spawn(root, None, False)
        return multiple(first, self._spawn(child, first, long_task))

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
            self.harness.send(agent, f"follow-up {turns} [{agent}]" + (LONG if long_text else ""))

    @rule(seconds=st.sampled_from(ADVANCES))
    def advance(self, seconds: float) -> None:
        self.harness.advance(seconds)

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
