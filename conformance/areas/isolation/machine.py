"""The isolation state machine (seed 000): several sub-agents side by side, with
markers in everything they say, closes, exits, resumes and exports.

Agent ids are drawn so that one is a prefix of another (``planner`` and
``planner-2``): cleanup by prefix or glob is the classic way to touch a neighbour's
files. What a check needs beyond the harness (directory snapshots taken around a
cleanup or an export) is kept in an :class:`IsolationRecord`, found with
:func:`record_of`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, initialize, multiple, precondition, rule

from conformance import planting
from conformance.contract import BackendKind, Settings
from conformance.fakes import profiles
from conformance.fakes.host import turn_end
from conformance.fakes.profiles import BackendProfile, FileAppears
from conformance.files import Snapshot, snapshot
from conformance.harness import Harness
from conformance.stateful import HarnessMachine
from conformance.strategies import (
    FIRST_TURN_DEADLINE,
    advances,
    prompt_texts,
    rarely,
    versions,
)

MAX_AGENTS = 4
#: Ordinary names first (shrinking moves towards them); prefixes of each other on purpose.
NAMES = ("planner", "planner-2", "coder", "coder.fix")


def isolation_profiles() -> st.SearchStrategy[BackendProfile]:
    """Every backend and file moment, with turns short enough to complete within a
    step or two: this area is about where output lands, so most worlds should have
    some (observability explores the long and hung turns)."""
    return st.one_of(
        st.builds(profiles.codex, st.sampled_from(list(FileAppears)),
                  turn_duration=st.sampled_from([4.2, 0.5]), hang_first_turn=rarely(),
                  exit_after_first_turn=rarely(), empty_final=rarely(),
                  version=versions(BackendKind.CODEX), staged_open=rarely()),
        st.builds(profiles.claude, turn_duration=st.sampled_from([4.0, 0.5]),
                  hang_first_turn=rarely(), exit_after_first_turn=rarely(),
                  empty_final=rarely(), version=versions(BackendKind.CLAUDE),
                  staged_open=rarely()),
        st.builds(profiles.gemini, turn_duration=st.sampled_from([4.0, 0.5]),
                  hang_first_turn=rarely(), exit_after_first_turn=rarely(),
                  empty_final=rarely(), version=versions(BackendKind.GEMINI),
                  staged_open=rarely()),
    )


@dataclass(frozen=True)
class Cleanup:
    """The other agents' files just before and just after one agent was ended."""

    agent_id: str
    what: str
    at: float
    before: dict[str, Snapshot]
    after: dict[str, Snapshot]
    #: Files the agents' own processes wrote meanwhile (a log line at exit): theirs,
    #: not the cleanup's (where they land is ISO-001's business).
    written: frozenset[Path] = frozenset()


@dataclass(frozen=True)
class Export:
    """What one export should have copied, and what it did copy."""

    agent_id: str
    destination: Path
    at: float
    expected: Snapshot
    exported: Snapshot


@dataclass
class IsolationRecord:
    cleanups: list[Cleanup] = field(default_factory=list)
    exports: list[Export] = field(default_factory=list)

    def exports_of(self, agent_id: str) -> int:
        return sum(1 for e in self.exports if e.agent_id == agent_id)


_RECORDS: weakref.WeakKeyDictionary[Harness, IsolationRecord] = weakref.WeakKeyDictionary()


def record_of(harness: Harness) -> IsolationRecord:
    """The isolation record of a world (empty if no isolation machine drives it)."""
    return _RECORDS.setdefault(harness, IsolationRecord())


def agent_dir(harness: Harness, agent_id: str) -> Path:
    """Where seed 000 puts a sub-agent: ``<home>/agents/<agent_id>/``."""
    return harness.world.home / "agents" / agent_id


class IsolationMachine(HarnessMachine):
    """Generates worlds of several agents whose outputs must never mix."""

    agents = Bundle("agents")

    def __init__(self) -> None:
        super().__init__()
        planting.plant(self.harness)
        self.record = record_of(self.harness)

    def world_settings(self) -> Settings:
        return Settings(first_turn_deadline=FIRST_TURN_DEADLINE)

    # Every example starts with two agents: leaks between agents need two, and a
    # derandomized run should not spend its budget on worlds with fewer.
    @initialize(target=agents, name=st.sampled_from(NAMES), profile=isolation_profiles(),
                text=prompt_texts())
    def first_spawn(self, name: str, profile: BackendProfile, text: str = "") -> str:
        return self._spawn(name, profile, text=text)

    @initialize(target=agents, name=st.sampled_from(NAMES), profile=isolation_profiles(),
                child=st.booleans(), text=prompt_texts())
    def second_spawn(self, name: str, profile: BackendProfile, child: bool = False,
                     text: str = "") -> str:
        """The second agent is a sibling or, in half the worlds, a child of the first:
        a tree is in reach of every example."""
        # Initializers run in any order: the child waits for a parent to exist.
        parent = next(iter(self.harness.agents), None) if child else None
        return self._spawn(name, profile, parent, text)

    @precondition(lambda self: len(self.harness.agents) < MAX_AGENTS)
    @rule(target=agents, name=st.sampled_from(NAMES), profile=isolation_profiles(),
          text=prompt_texts())
    def spawn(self, name: str, profile: BackendProfile, text: str = "") -> str:
        return self._spawn(name, profile, text=text)

    @precondition(lambda self: len(self.harness.agents) < MAX_AGENTS and self._parents())
    @rule(target=agents, parent=agents, name=st.sampled_from(NAMES),
          profile=isolation_profiles(), text=prompt_texts())
    def spawn_child(self, parent: str, name: str, profile: BackendProfile,
                    text: str = "") -> object:
        """A running agent spawns a child (and a child a grandchild): each sub-agent,
        at any depth, has its own directory, and only its final answer reaches its
        parent, as the forwarded result."""
        if parent not in self._parents():
            return multiple()
        return self._spawn(name, profile, parent, text)

    def _parents(self) -> list[str]:
        now = self.harness.now()
        return [a for a, r in self.harness.agents.items()
                if r.session.alive and not self.harness.ended_positively(r, now)]

    def _spawn(self, name: str, profile: BackendProfile, parent: str | None = None,
               text: str = "") -> str:
        # A new string object even when it equals the name drawn: Hypothesis prints a
        # value identical to a bundle entry by that entry's name ("name=agents_0").
        agent_id = (name.encode().decode() if name not in self.harness.agents
                    else f"{name}-{len(self.harness.agents) + 1}")
        prompt = planting.prompt(self.harness, agent_id, f"task for {agent_id}: {text}")
        record = self.harness.spawn(agent_id, profile.kind, prompt, profile, parent=parent)
        under = "" if parent is None else f", child of {parent}"
        note(f"{agent_id}: {profile.kind.value} session {record.session.session_id}{under}")
        return agent_id

    @precondition(lambda self: bool(self._working_children()))
    @rule()
    def await_result(self) -> None:
        """Time passes until the latest child's running turn is over (its result is
        forwarded to its parent, whose process writes it down): the story in which a
        parent receives more than the child's final answer."""
        child = self._working_children()[-1]
        session = self.harness.agents[child].session
        running = [t for t in session.turns if t.completed_at is None
                   and t.generation == session.generation]
        due = turn_end(session, running[0]) + 1.5
        wait = max(0.0, due - self.harness.now())
        note(f"waited {wait:g}s for {child}'s result")
        self.harness.advance(wait)

    def _working_children(self) -> list[str]:
        return [a for a, r in self.harness.agents.items()
                if r.parent is not None and r.session.alive
                and not (r.session.profile.hang_first_turn and len(r.session.turns) == 1)
                and any(t.completed_at is None and t.generation == r.session.generation
                        for t in r.session.turns)]

    @rule(seconds=advances())
    def advance(self, seconds: float) -> None:
        self.harness.advance(seconds)

    @rule()
    def tick(self) -> None:
        self.harness.tick()

    @rule(agent=agents, text=prompt_texts())
    def follow_up(self, agent: str, text: str = "") -> None:
        record = self.harness.agents[agent]
        if record.session.alive and not self.harness.ended_positively(record, self.harness.now()):
            self.harness.send(agent, planting.prompt(self.harness, agent, f"continue {text}"))

    @rule(agent=agents)
    def close(self, agent: str) -> None:
        self._cleaning(agent, "close", lambda: self.harness.close(agent))

    @rule(agent=agents, code=st.sampled_from([0, 1]))
    def process_exits(self, agent: str, code: int = 0) -> None:
        """The process exits by itself, successfully or not (its invocation then
        finished 'succeeded' or 'failed')."""
        if self.harness.agents[agent].session.alive:
            self._cleaning(agent, "process exit",
                           lambda: self.harness.exit_process(agent, code))

    @rule(agent=agents)
    def resume(self, agent: str) -> None:
        if not self.harness.agents[agent].session.alive:
            self.harness.resume(agent)

    @rule(agent=agents)
    def export(self, agent: str) -> None:
        destination = (self.harness.root / "exports" /
                       f"{agent}-{len(self.record.exports) + 1}")
        expected = snapshot(agent_dir(self.harness, agent))
        told = self._told()
        self.harness.export(agent, destination)
        if self._told()[agent] != told[agent]:
            # A process orchestrator heard of the agent's exit at this very call and
            # cleaned up after it first: the export is of what was left.
            expected = snapshot(agent_dir(self.harness, agent))
        self.record.exports.append(Export(agent, destination, self.harness.now(), expected,
                                          snapshot(destination)))
        note(f"exported {agent} to {destination.name}")

    def _others(self, agent: str) -> dict[str, Snapshot]:
        return {other: snapshot(agent_dir(self.harness, other))
                for other in self.harness.agents if other != agent}

    def _told(self) -> dict[str, int]:
        """How many exits of each agent's process the orchestrator has been told of."""
        return {a: len(self.harness.told_exits(r)) for a, r in self.harness.agents.items()}

    def _cleaning(self, agent: str, what: str, action: Callable[[], None]) -> None:
        before = self._others(agent)
        told = self._told()
        sessions = planting.sessions(self.harness)
        marks = [len(s.written) for s in sessions]
        action()
        written = frozenset(path for s, mark in zip(sessions, marks, strict=True)
                            for path, _ in s.written[mark:])
        after = self._others(agent)
        # A process orchestrator hears of its processes' exits at its next call: an
        # agent whose exit it heard of at this one ended here, and its own cleanup is
        # not this one's.
        ended_here = {a for a, count in self._told().items() if count != told.get(a, 0)}
        before = {a: s for a, s in before.items() if a not in ended_here}
        after = {a: s for a, s in after.items() if a not in ended_here}
        self.record.cleanups.append(Cleanup(agent, what, self.harness.now(), before,
                                            after, written))
