"""The observability state machine (seed 002): spawns across backend kinds and
profiles, time passing, monitor ticks, process exits, follow-ups and closes."""

from __future__ import annotations

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, initialize, precondition, rule

from conformance.contract import Settings
from conformance.fakes.host import turn_end
from conformance.fakes.profiles import BackendProfile
from conformance.stateful import HarnessMachine
from conformance.strategies import FIRST_TURN_DEADLINE, advances, backend_profiles

MAX_AGENTS = 4


class ObservabilityMachine(HarnessMachine):
    """Generates the situations in which orchestrators misread "not found"."""

    agents = Bundle("agents")

    def world_settings(self) -> Settings:
        return Settings(first_turn_deadline=FIRST_TURN_DEADLINE)

    @initialize(target=agents, profile=backend_profiles())
    def first_spawn(self, profile: BackendProfile) -> str:
        """Every example starts with an agent, so no budget goes to empty worlds and a
        derandomized run reaches the short stories where orchestrators go wrong."""
        return self._spawn(profile)

    @precondition(lambda self: len(self.harness.agents) < MAX_AGENTS)
    @rule(target=agents, profile=backend_profiles())
    def spawn(self, profile: BackendProfile) -> str:
        return self._spawn(profile)

    def _spawn(self, profile: BackendProfile) -> str:
        agent_id = f"agent-{len(self.harness.agents) + 1}"
        record = self.harness.spawn(agent_id, profile.kind, f"task for {agent_id}", profile)
        note(f"{agent_id}: {profile.kind.value} session {record.session.session_id} "
             f"started at {self.harness.describe(record.session.started_at)}")
        return agent_id

    @rule(seconds=advances())
    def advance(self, seconds: float) -> None:
        self.harness.advance(seconds)

    @rule()
    def tick(self) -> None:
        self.harness.tick()

    @rule(agent=agents)
    def await_first_turn(self, agent: str) -> None:
        """The user waits for an agent's first answer, then the monitor loop runs.

        Time passes until the agent's first turn is over and its file is written
        (as far as its backend does either), and one tick follows: the rhythm of a
        real run, which ``advance`` and ``tick`` alone reach only by luck, and the one
        story in which an orchestrator that misses the turn-complete notification
        shows (OBS-003).
        """
        self._await_first_turn(agent)
        self.harness.tick()

    def _await_first_turn(self, agent: str) -> None:
        session = self.harness.agents[agent].session
        profile = session.profile
        first = session.turns[0]
        settled = max(turn_end(session, first),
                      session.started_at + profile.file_delay) + 0.5
        wait = max(0.0, settled - self.harness.now())
        if wait:
            self.harness.advance(wait)
        note(f"{agent}: waited {wait:g}s for its first turn "
             f"({'completed' if session.first_turn_complete else 'not complete'})")

    @rule(agent=agents)
    def process_exits(self, agent: str) -> None:
        session = self.harness.agents[agent].session
        if session.alive:
            self.harness.exit_process(agent)

    @rule(agent=agents)
    def close(self, agent: str) -> None:
        self.harness.close(agent)

    @rule(agent=agents, text=st.sampled_from(["continue", "summarize"]))
    def follow_up(self, agent: str, text: str) -> None:
        self._follow_up(agent, text)

    def _follow_up(self, agent: str, text: str) -> None:
        record = self.harness.agents[agent]
        if record.session.alive and not self.harness.ended_positively(record,
                                                                      self.harness.now()):
            self.harness.send(agent, f"{text} ({agent})")

    @rule(agent=agents, past=st.sampled_from([0.0, 0.5]))
    def tick_at_deadline(self, agent: str, past: float = 0.0) -> None:
        """The monitor ticks at the very instant the agent's first turn reaches the
        deadline (not past it yet, so not suspected hung yet), or, with ``past``, that
        much after it: both sides of the boundary."""
        session = self.harness.agents[agent].session
        due = session.started_at + FIRST_TURN_DEADLINE + past
        if self.harness.now() < due:
            self.harness.advance(due - self.harness.now())
        self.harness.tick()

    @rule(agent=agents)
    def follow_up_near_deadline(self, agent: str) -> None:
        """The user sends a follow-up a second before the agent's first turn reaches the
        deadline (a worker that seems slow gets nudged): a follow-up is a new turn,
        never a new first turn, and the deadline still counts from the start."""
        session = self.harness.agents[agent].session
        due = session.started_at + FIRST_TURN_DEADLINE - 1.0
        if not session.first_turn_complete and self.harness.now() < due:
            self.harness.advance(due - self.harness.now())
            note(f"{agent}: {FIRST_TURN_DEADLINE - 1:g}s after its start, first turn "
                 "still running")
        self._follow_up(agent, "are you still there?")

    @rule(agent=agents)
    def resume(self, agent: str) -> None:
        """The user resumes the agent (closing it first if it still runs): the same
        session in a new process, its first turn done or not, its file already on
        disk. The monitor loop runs once after it, as it would in a real run."""
        record = self.harness.agents[agent]
        if record.session.alive:
            # Most resumes follow an answer: the user read it, closed the agent, and
            # comes back to it (a close in mid-turn is the close rule's story).
            self._await_first_turn(agent)
            self.harness.close(agent)
        if not record.session.alive:
            self.harness.resume(agent)
            self.harness.tick()
