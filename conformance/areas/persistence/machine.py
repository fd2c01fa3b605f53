"""The persistence state machines (seed 001): sessions with persistence on, whose
session directories fail at any moment of their life; and the same world with it off.

Faults (:mod:`conformance.faults`), at every moment of a session:

* before the spawn, :meth:`PersistenceMachine.spawn_blocked` puts a regular file where
  the agent's session directory (``<agent home>/sessions/<session id>``) will be, so
  creating it fails the way it does on a read-only or full disk (``chmod`` cannot do
  it: the suite may run as root);
* mid-session, :meth:`PersistenceMachine.disk_fills` makes every write under an
  existing session directory fail, at open, at write time after the file was opened
  or truncated, or part-way through a write; whether the rollout was adopted yet
  depends on when it fires. With ``also_fallback`` the agent's fallback location
  fails too, so the fallback switch itself meets the fault.

The agent's own process writes through every fault (it is the orchestrator that is
under test). The orchestrator must fall back, not crash, and lose no rollout line;
a crash is recorded in the world's :class:`PersistenceRecord` and reported by
PER-007 alone, so the other invariants keep judging the agents that had no fault.
"""

from __future__ import annotations

import errno
import threading
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, multiple, precondition, rule

from conformance import faults, planting
from conformance.areas.isolation.machine import agent_dir
from conformance.contract import Settings
from conformance.errors import AdapterError
from conformance.fakes.host import FakeSession, turn_end
from conformance.fakes.profiles import BackendProfile
from conformance.faults import At, Fault
from conformance.files import read_lines
from conformance.harness import AgentRecord, Harness
from conformance.stateful import HarnessMachine, fault_rules
from conformance.strategies import FIRST_TURN_DEADLINE, advances, backend_profiles

MAX_AGENTS = 3
BLOCKER = b"a file where the session directory should be\n"


@dataclass(frozen=True)
class Blocked:
    """A session directory the harness made fail: ``blocker`` is the file put where
    it should have been created (before the spawn), ``None`` for a mid-session fault."""

    session_id: str
    blocker: Path | None
    #: What failed, for messages: "a file is in its place", "disk full at write"...
    what: str = "a file is in its place"
    #: Harness time the fault began (the spawn, for a blocked directory).
    since: float = 0.0
    #: Whether the fallback location fails too (then the session's logs may be lost).
    fallback_fails: bool = False


@dataclass
class PersistenceRecord:
    #: Agents whose session directory failed (judged by PER-007 only).
    blocked: dict[str, Blocked] = field(default_factory=dict)
    #: Operations that raised while a session directory was blocked.
    crashes: list[str] = field(default_factory=list)
    #: Per agent: how many times it was closed or shut down with a turn running.
    cancellations: Counter[str] = field(default_factory=Counter)


_RECORDS: weakref.WeakKeyDictionary[Harness, PersistenceRecord] = weakref.WeakKeyDictionary()


def record_of(harness: Harness) -> PersistenceRecord:
    return _RECORDS.setdefault(harness, PersistenceRecord())


def session_dir(harness: Harness, record: AgentRecord) -> Path:
    """Seed 001's ``sessions/<session_id>/``, in the agent's own home."""
    return agent_dir(harness, record.agent_id) / "sessions" / record.session.session_id


def in_flight(session: FakeSession) -> bool:
    """Whether a turn of the current process is running (not completed, not queued)."""
    return session.alive and any(
        t.generation == session.generation and t.completed_at is None
        and all(t is not q for q in session.queued)
        for t in session.turns)


class PersistenceMachine(HarnessMachine):
    """Persistence on; some session directories cannot be created."""

    agents = Bundle("agents")
    persist = True

    def __init__(self) -> None:
        super().__init__()
        planting.plant(self.harness)
        self.record = record_of(self.harness)
        self._count = 0
        self._faults: list[object] = []

    def world_settings(self) -> Settings:
        return Settings(first_turn_deadline=FIRST_TURN_DEADLINE,
                        persist_session=self.persist)

    def _next_id(self) -> str:
        self._count += 1
        return f"agent-{self._count}"

    def _guarded(self, what: str, action: Callable[[], None]) -> bool:
        """Run ``action``; with a blocked directory around, record a crash instead of
        failing the run. True if it returned."""
        try:
            action()
        except AdapterError as error:
            if not self.record.blocked:
                raise
            self.record.crashes.append(f"{what}: {error}")
            note(f"crashed: {what}: {error}")
            return False
        return True

    def _spawn(self, agent_id: str, profile: BackendProfile) -> str | None:
        text = planting.prompt(self.harness, agent_id, f"task for {agent_id}")
        spawned = self._guarded(f"spawn({agent_id!r})", lambda: self._do_spawn(
            agent_id, profile, text))
        return agent_id if spawned else None

    def _do_spawn(self, agent_id: str, profile: BackendProfile, text: str) -> None:
        record = self.harness.spawn(agent_id, profile.kind, text, profile)
        note(f"{agent_id}: {profile.kind.value} session {record.session.session_id}")

    @precondition(lambda self: self._count < MAX_AGENTS)
    @rule(target=agents, profile=backend_profiles())
    def spawn(self, profile: BackendProfile) -> object:
        agent_id = self._spawn(self._next_id(), profile)
        return multiple() if agent_id is None else agent_id

    # One fault per world: the others' agents stay healthy, so the story judges the
    # fallback next to PER-001..PER-005 (a world of faulted agents judges nothing else).
    @precondition(lambda self: self.persist and self._count < MAX_AGENTS
                  and not self.record.blocked)
    @rule(target=agents, profile=backend_profiles())
    def spawn_blocked(self, profile: BackendProfile) -> object:
        agent_id = self._next_id()
        host, since = self.harness.hosts[profile.kind], self.harness.now()

        said: list[str] = []
        here = threading.current_thread()

        def say(text: str) -> None:
            if threading.current_thread() is here:
                note(text)
            else:  # the thread that plays a fake process: noted once the spawn is over
                said.append(text)

        def block(session_id: str) -> None:
            # As the session starts, before the orchestrator can make its directory
            # (the id may be the orchestrator's own: ``claude --session-id``).
            blocker = agent_dir(self.harness, agent_id) / "sessions" / session_id
            if blocker.exists():
                say(f"{agent_id}: sessions/{session_id} existed before its session "
                    "started; nothing blocked")
                return
            blocker.parent.mkdir(parents=True, exist_ok=True)
            blocker.write_bytes(BLOCKER)
            self.record.blocked[agent_id] = Blocked(session_id, blocker, since=since)
            say(f"{agent_id}: a file sits at sessions/{session_id} (its session "
                "directory) as its session starts")

        host.at_next_start(block)
        try:
            spawned = self._spawn(agent_id, profile)
        finally:
            host.at_next_start(None)
            for text in said:
                note(text)
        return multiple() if spawned is None else spawned

    @precondition(lambda self: self.persist and not self.record.blocked
                  and bool(self._faultable()))
    @rule(agent=agents, at=st.sampled_from(list(At)), also_fallback=st.booleans())
    def disk_fills(self, agent: str, at: At, also_fallback: bool) -> None:
        """The session directory's disk fills up now: before the rollout was adopted or
        after, depending on the story so far (and, with ``also_fallback``, the
        fallback location with it). It stays full until the end of the example."""
        if agent not in self._faultable():
            return
        record = self.harness.agents[agent]
        directory = session_dir(self.harness, record)
        roots = [directory]
        if also_fallback:
            roots.append(agent_dir(self.harness, agent) / "log")
        for root in roots:
            self._faults.append(faults.start(Fault(root, errno.ENOSPC, at)))
        adopted = record.session.path.is_symlink()
        what = (f"disk full at {at.value}"
                f"{' (its fallback location too)' if also_fallback else ''}")
        self.record.blocked[agent] = Blocked(record.session.session_id, None, what,
                                             self.harness.now(), also_fallback)
        idle = agent not in self._busy()
        between = self._exited_on_its_own(record)
        next_turn = ("its next invocation (a resume and a follow-up) and " if between
                     else "a follow-up and " if idle else "")
        note(f"{agent}: {what} under sessions/{record.session.session_id} "
             f"({'after' if adopted else 'before'} its rollout was adopted); "
             f"{next_turn}1s passes")
        # A full disk that meets no write changes nothing: the agent works on.
        text = planting.prompt(self.harness, agent, "keep going")
        if between:
            if self._guarded(f"resume({agent!r})", lambda: self.harness.resume(agent)):
                self._guarded(f"send({agent!r})", lambda: self.harness.send(agent, text))
        elif idle and not self.harness.ended_positively(record, self.harness.now()):
            self._guarded(f"send({agent!r})", lambda: self.harness.send(agent, text))
        # A second of work meets the full disk (the turns' events go on arriving).
        self._guarded("advance(1)", lambda: self.harness.advance(1.0))

    def _exited_on_its_own(self, record: AgentRecord) -> bool:
        """Its process is gone and the user did not close it since its last start: a
        one-prompt CLI after its turn, which its next invocation resumes."""
        session = record.session
        start = max(session.life_marks or [(session.started_at, 0.0)])
        return not session.alive and not any(mark > start for mark in record.close_marks)

    def _faultable(self) -> list[str]:
        """Agents running, or between two invocations (exited on their own), with no
        fault yet, whose rollout still reads whole at its legacy path (one broken before
        the fault stays PER-002's to judge)."""
        return [a for a, r in self.harness.agents.items()
                if a not in self.record.blocked
                and (r.session.alive or self._exited_on_its_own(r))
                and (r.session.materialized_at is None or (
                    r.session.path.is_file()
                    and read_lines(r.session.path) == r.session.native_lines))]

    @rule(seconds=advances())
    def advance(self, seconds: float) -> None:
        self._guarded(f"advance({seconds:g})", lambda: self.harness.advance(seconds))

    @precondition(lambda self: bool(self._busy()))
    @rule(agent=agents)
    def follow_up_then_close(self, agent: str) -> None:
        """A follow-up sent while a turn runs waits behind it; once that turn is over and
        the follow-up's turn is running, the user closes the agent: one interrupted turn,
        one cancellation."""
        if agent not in self._busy():
            return
        record = self.harness.agents[agent]
        session = record.session
        text = planting.prompt(self.harness, agent, "and then this")
        if not self._guarded(f"send({agent!r})", lambda: self.harness.send(agent, text)):
            return
        running = [t for t in session.turns if t.completed_at is None
                   and t.generation == session.generation]
        due = turn_end(session, running[0]) + 0.1
        self._guarded("advance", lambda: self.harness.advance(max(0.0, due - self.harness.now())))
        note(f"{agent}: its first turn is over, the follow-up's turn is running")
        self.close(agent)

    @precondition(lambda self: bool(self._busy()))
    @rule()
    def turns_finish(self) -> None:
        """Time passes until every running turn is over, and the monitor ticks: the
        moment each artifact is owed (a rollout seen after its first turn, a raw
        exchange per turn), reached in one step instead of by a lucky run of advances."""
        due = self.harness.now()
        for agent in self._busy():
            session = self.harness.agents[agent].session
            for turn in session.turns:
                if turn.completed_at is None and turn.generation == session.generation:
                    due = max(due, turn_end(session, turn) + 0.1)
        note(f"every running turn is over ({due - self.harness.now():.1f}s); a tick")
        self._guarded("advance", lambda: self.harness.advance(due - self.harness.now()))
        self.tick()

    def _busy(self) -> list[str]:
        return [a for a, r in self.harness.agents.items()
                if in_flight(r.session) and not self.harness.ended_positively(
                    r, self.harness.now())
                and not (r.session.profile.hang_first_turn and len(r.session.turns) == 1)
                and not r.session.profile.exit_after_first_turn]

    @rule()
    def tick(self) -> None:
        self._guarded("tick()", self.harness.tick)

    @rule(agent=agents)
    def follow_up(self, agent: str) -> None:
        record = self.harness.agents[agent]
        if record.session.alive and not self.harness.ended_positively(record, self.harness.now()):
            text = planting.prompt(self.harness, agent, "continue")
            self._guarded(f"send({agent!r})", lambda: self.harness.send(agent, text))

    @rule(agent=agents)
    def close(self, agent: str) -> None:
        self._note_cancellation(agent)
        self._guarded(f"close({agent!r})", lambda: self.harness.close(agent))

    @rule(agent=agents)
    def process_exits(self, agent: str) -> None:
        if self.harness.agents[agent].session.alive:
            self._guarded(f"exit of {agent}", lambda: self.harness.exit_process(agent))

    @rule(agent=agents)
    def resume(self, agent: str) -> None:
        if not self.harness.agents[agent].session.alive:
            self._guarded(f"resume({agent!r})", lambda: self.harness.resume(agent))

    def teardown(self) -> None:
        try:
            for agent in self.harness.agents:
                self._note_cancellation(agent)
            # Guarded here; the base teardown's own shutdown() is then a no-op.
            self._guarded("shutdown()", self.harness.shutdown)
        finally:
            for token in self._faults:
                faults.stop(token)
        super().teardown()

    def _note_cancellation(self, agent: str) -> None:
        record = self.harness.agents[agent]
        if in_flight(record.session) and not self.harness.ended_positively(
                record, self.harness.now()):
            self.record.cancellations[agent] += 1


class PersistenceOffMachine(PersistenceMachine):
    """The same worlds with persistence off (the default): nothing may change."""

    persist = False


# Failing writes and power cuts reach only an orchestrator in this process.
fault_rules(PersistenceMachine, "disk_fills")
