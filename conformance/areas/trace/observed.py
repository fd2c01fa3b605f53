"""What the harness saw of the multi-agent rollouts, to hold a trace against (seed 003).

Seed 003's main invariant is that "reconstructed relationships should come from
durable rollout data rather than transient in-memory manager state". To judge that,
the harness needs the relationships that really happened, from its own record alone:
:func:`observe` replays the world's timeline (harness operations, backend calls and
notifications, in order) and derives, per agent, whether it was running, dying (its
process gone, the orchestrator not told yet) or ended at each moment, and from that
the relationship edges a faithful trace holds:

* ``spawn`` parent -> child: the child's ``start_session``, for a spawn with a parent;
* ``message`` parent -> child: a follow-up the user sent to a child, once its send to
  the child's session went through;
* ``result`` child -> parent: a send to the parent's session that succeeded and whose
  prompt carries one of the child's final turn messages (the contract requires the
  forwarded message to contain it verbatim: that is how it is attributed);
* ``close`` parent -> child: the user closed a running child;
* ``resume`` parent -> child: the user resumed an ended child.

A trace can only describe an edge while both ends' threads run and the rollout is
open (its reducer refuses anything else), so each edge is *required* when every
thread it needs is certainly running, *allowed* but not required when one of them is
dying (the orchestrator may have noticed already, e.g. through a failed send), and not
expected at all once one of them has ended or the root's rollout is over.
"""

from __future__ import annotations

import enum
import weakref
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from conformance.clock import since_start
from conformance.fakes.calls import Call
from conformance.harness import AgentRecord, Harness
from conformance.trace_format.reducer import EdgeKind


class Life(enum.Enum):
    """An agent's current run, as far as the orchestrator has been told."""

    RUNNING = "running"
    #: Its process is gone but the exit notification has not arrived yet.
    DYING = "dying"
    #: Closed, exited (notified) or shut down.
    ENDED = "ended"


@dataclass
class AgentLife:
    state: Life = Life.RUNNING
    #: Closed by the user since its current run began.
    closed: bool = False
    #: Harness time its current run stopped running (death or end), if it did.
    stopped_at: float | None = None
    #: Harness time its current run began (its spawn or its resume).
    started_at: float = 0.0
    #: Harness time the orchestrator was told its current run ended.
    ended_at: float | None = None
    #: Whether a trace must show this run: a resume while a thread it needs was
    #: dying may go unrecorded, and then the thread stays ended in the trace.
    traced: bool = True


@dataclass(frozen=True, order=True)
class Relationship:
    """One edge between two agents, by agent id."""

    kind: EdgeKind
    source: str
    target: str

    def __str__(self) -> str:
        return f"{self.kind.value} {self.source} -> {self.target}"


@dataclass
class Observed:
    """The harness's account of every agent and relationship, at the end of the timeline."""

    agents: Mapping[str, AgentRecord]
    lives: dict[str, AgentLife] = field(default_factory=dict)
    #: Native session id -> agent id: a thread id is the agent's session id.
    by_session: dict[str, str] = field(default_factory=dict)
    #: Agent id -> the root agent of its tree (a root is its own).
    root_of: dict[str, str] = field(default_factory=dict)
    #: Root agent id -> harness time its first run stopped (then its rollout is over
    #: once the orchestrator is told; see ``rollout_over``).
    root_stopped_at: dict[str, float] = field(default_factory=dict)
    #: Root agents whose end the orchestrator was told of: their rollout is over.
    rollout_over: set[str] = field(default_factory=set)
    #: When the orchestrator was told of each root's end.
    rollout_over_at: dict[str, float] = field(default_factory=dict)
    required: Counter[Relationship] = field(default_factory=Counter)
    allowed: Counter[Relationship] = field(default_factory=Counter)
    #: Why each relationship is expected: the timeline entries it comes from.
    evidence: dict[Relationship, list[str]] = field(default_factory=dict)
    #: When each required occurrence happened (harness time), in order.
    required_at: dict[Relationship, list[float]] = field(default_factory=dict)
    #: The text each allowed occurrence carries (the task, the message, the delivered
    #: result): an edge's body holds one of them.
    texts: dict[Relationship, list[str]] = field(default_factory=dict)
    #: Successful result deliveries, by (child, parent).
    deliveries: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: Sends to each agent's session that failed (the parent already gone).
    failed_sends: dict[str, list[Call]] = field(default_factory=dict)
    #: Results owed to a parent: a child's turn completed while both ran, as
    #: ``(child, parent, final answer, the turn_complete entry)``, until a send to the
    #: parent carrying the answer is attempted.
    owed_results: list[tuple[str, str, str, Call]] = field(default_factory=list)

    def agent_of(self, thread_id: str | None) -> str | None:
        return None if thread_id is None else self.by_session.get(thread_id)

    def tree(self, root: str) -> list[str]:
        """The agents of one root's tree, the root first."""
        return [agent for agent, top in self.root_of.items() if top == root]

    @property
    def roots(self) -> list[str]:
        return [agent for agent, record in self.agents.items() if record.parent is None]

    def life(self, agent_id: str) -> AgentLife:
        return self.lives.get(agent_id, AgentLife())


#: The replay of each world so far: a world's record only grows, so each look
#: replays only the entries added since the last one.
_REPLAYS: weakref.WeakKeyDictionary[Harness, _Replay] = weakref.WeakKeyDictionary()


def observe(harness: Harness) -> Observed:
    """Replay the harness's timeline; see the module docstring.

    The account is kept per world and brought up to date on each call; read it, do
    not mutate it, and call again after the world moved on.
    """
    replay = _REPLAYS.get(harness)
    if replay is None:
        replay = _REPLAYS[harness] = _Replay(harness)
    replay.sync()
    return replay.observed


class _Replay:
    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.observed = Observed(harness.agents)
        self.children: dict[str, list[str]] = {}
        #: Successful sends so far per session: the k-th made its turn ``k``.
        self.sends: Counter[str] = Counter()
        #: The user's follow-up whose send to the agent's session is to come.
        self.user_send: tuple[str, Call] | None = None
        #: How many timeline entries and agents have been taken in.
        self.position = 0
        self.known = 0
        #: Notifications told together and not taken in yet (:meth:`flush`).
        self.batch: list[Call] = []
        #: Sessions an ACP agent runs (a process spoke ACP for them).
        self.acp_sessions: set[str] = set()
        #: Turn completions told so far, per agent.
        self.completions: Counter[str] = Counter()
        #: Results delivered to ACP agents whose edges are not required yet, per
        #: parent: ``(the turn the delivery started, relationship, the send)``.
        self.taking: dict[str, list[tuple[int, Relationship, Call]]] = {}

    def sync(self) -> None:
        """Take in the agents spawned and the entries recorded since the last sync."""
        agents = self.harness.agents
        if len(agents) > self.known:
            observed = self.observed
            for agent_id, record in list(agents.items())[self.known:]:
                observed.by_session[record.session.session_id] = agent_id
                observed.root_of[agent_id] = _root(agents, agent_id)
                if record.parent is not None:
                    self.children.setdefault(record.parent, []).append(agent_id)
            self.known = len(agents)
        calls = self.harness.calls.calls
        for call in calls[self.position:]:
            if call.told:
                self.batch.append(call)
                continue
            self.flush()
            self.step(call)
        self.flush()
        self.position = len(calls)

    def flush(self) -> None:
        """Take in one batch of notifications told together (an orchestrator that runs
        processes hears at its next call of everything they did since its last one).

        It learnt them at one moment, so they are taken as one: a child's result is
        owed if the child ran when the batch began and its parent still runs after
        the batch's exits (a parent whose exit it learnt at the same call is gone,
        whichever happened first); every other entry is taken in order."""
        batch, self.batch = self.batch, []
        candidates = []
        for call in batch:
            agent = self.observed.agent_of(call.session_id)
            if call.op == "notify:turn_complete" and agent is not None:
                candidates += self.owed(agent, call)
                self.turn_told(agent, call)
        for call in batch:
            if call.op != "notify:turn_complete":
                self.step(call)
        self.observed.owed_results += [
            owed for owed in candidates if self.observed.life(owed[1]).state is Life.RUNNING
            and self.observed.root_of[owed[1]] not in self.observed.rollout_over]

    def step(self, call: Call) -> None:
        observed = self.observed
        if call.op.startswith("harness:"):
            self.user_send = None
            agent = call.agent_id
            op = call.op.removeprefix("harness:")
            if op == "shutdown":
                for agent_id in list(observed.lives):
                    self.end(agent_id, call)
            elif agent is not None and agent in observed.lives:
                if op == "send":
                    self.on_user_send(agent, call)
                elif op == "close":
                    self.on_close(agent, call)
                elif op == "exit_process":
                    self.stop(agent, call, Life.DYING)
                elif op == "resume":
                    self.on_resume(agent, call)
            return
        if call.op.startswith("process:acp") and call.session_id is not None:
            self.acp_sessions.add(call.session_id)
        agent = observed.agent_of(call.session_id)
        if agent is None:
            return
        if call.op == "start_session":
            observed.lives[agent] = AgentLife(started_at=call.time)
            record = observed.agents[agent]
            if record.parent is not None:
                self.judge(Relationship(EdgeKind.SPAWN, record.parent, agent), [record.parent],
                           call, text=record.prompt)
        elif call.op == "notify:process_exited":
            self.end(agent, call)
        elif call.op == "event:process_exited":
            # A process orchestrator's agent whose process is gone, not told yet.
            self.stop(agent, call, Life.DYING)
        elif call.op == "notify:turn_complete":
            self.observed.owed_results += self.owed(agent, call)
            self.turn_told(agent, call)
        elif call.op == "send":
            # The user's follow-up is the send to the agent it named: a send to another
            # agent before it (a child's result the orchestrator forwards while it
            # handles the follow-up, resuming the parent first) leaves it waiting.
            user = self.user_send
            if user is not None and user[0] == agent:
                self.user_send = None
            else:
                user = None
            self.settle(agent, call)
            if call.outcome == "ok":
                self.sends[call.session_id or ""] += 1
                if user is not None:
                    self.judge_message(agent, user[1])
                self.on_delivery(agent, call)
            else:
                observed.failed_sends.setdefault(agent, []).append(call)

    # -- lives ----------------------------------------------------------------------------

    def stop(self, agent: str, call: Call, state: Life) -> None:
        life = self.observed.lives[agent]
        if life.state is Life.ENDED or life.state is state:
            return
        life.state = state
        if life.stopped_at is None:
            life.stopped_at = call.time
        if state is Life.ENDED:
            life.ended_at = call.time
        root = self.observed.root_of[agent]
        if agent == root:
            self.observed.root_stopped_at.setdefault(agent, call.time)
            if state is Life.ENDED:
                self.observed.rollout_over.add(agent)
                self.observed.rollout_over_at.setdefault(agent, call.time)

    def end(self, agent: str, call: Call) -> None:
        self.stop(agent, call, Life.ENDED)

    # -- relationships --------------------------------------------------------------------

    def judge(self, relationship: Relationship, needs: Iterable[str], call: Call,
              *, optional: bool = False, text: str | None = None) -> bool:
        """Count one relationship as required, allowed or impossible (module docstring);
        whether it is required."""
        observed = self.observed
        root = observed.root_of[relationship.target]
        if root in observed.rollout_over:
            return False
        states = {observed.life(agent).state for agent in (*needs, root)}
        if Life.ENDED in states:
            return False
        observed.allowed[relationship] += 1
        if text is not None:
            observed.texts.setdefault(relationship, []).append(text)
        tag = "may be recorded"
        if Life.DYING not in states and not optional:
            observed.required[relationship] += 1
            observed.required_at.setdefault(relationship, []).append(call.time)
            tag = "must be recorded"
        observed.evidence.setdefault(relationship, []).append(
            f"{_show(call)} ({tag})")
        return tag == "must be recorded"

    def on_user_send(self, agent: str, call: Call) -> None:
        """The user sends a follow-up: a message edge once the send to the agent's
        session went through (a send refused by a running session carried nothing)."""
        self.user_send = (agent, call)

    def judge_message(self, agent: str, call: Call) -> None:
        parent = self.observed.agents[agent].parent
        if parent is not None:
            self.judge(Relationship(EdgeKind.MESSAGE, parent, agent), [parent, agent], call,
                       text=self.harness.user_prompts.get(call.seq))

    def on_close(self, agent: str, call: Call) -> None:
        life = self.observed.lives[agent]
        parent = self.observed.agents[agent].parent
        if parent is not None:
            relationship = Relationship(EdgeKind.CLOSE, parent, agent)
            if life.state is Life.RUNNING:
                self.judge(relationship, [parent], call)
            elif life.state is Life.DYING or not life.closed:
                # The orchestrator may still believe it runs, or may record the close
                # of a child that had exited: either is a true account.
                self.judge(relationship, [parent], call, optional=True)
        self.end(agent, call)
        life.closed = True

    def on_resume(self, agent: str, call: Call) -> None:
        life = self.observed.lives[agent]
        if life.state is not Life.ENDED:
            return  # resuming a running agent does nothing
        parent = self.observed.agents[agent].parent
        traced = parent is None or self.judge(Relationship(EdgeKind.RESUME, parent, agent),
                                              [parent], call)
        self.observed.lives[agent] = AgentLife(started_at=call.time, traced=traced)

    def on_delivery(self, parent: str, call: Call) -> None:
        """A send to ``parent`` succeeded: a child's result if it carries one."""
        session = self.observed.agents[parent].session
        index = self.sends[session.session_id]
        if index >= len(session.turns):
            return
        prompt = session.turns[index].prompt
        child = self.result_source(parent, prompt)
        if child is None:
            return
        self.observed.deliveries[(child, parent)] += 1
        relationship = Relationship(EdgeKind.RESULT, child, parent)
        if session.session_id not in self.acp_sessions:
            self.judge(relationship, [child, parent], call, text=self.final_in(child, prompt))
        else:
            if self.all_running(relationship):
                self.taking.setdefault(parent, []).append((index, relationship, call))
            self.judge(relationship, [child, parent], call, optional=True,
                       text=self.final_in(child, prompt))

    def all_running(self, relationship: Relationship) -> bool:
        """Whether both ends of ``relationship`` and their root certainly run, and the
        root's rollout is open: then a trace must show it."""
        observed = self.observed
        root = observed.root_of[relationship.target]
        return root not in observed.rollout_over and all(
            observed.life(agent).state is Life.RUNNING
            for agent in (relationship.source, relationship.target, root))

    def turn_told(self, agent: str, call: Call) -> None:
        """The orchestrator was told a turn of ``agent`` is over.

        A prompt to an ACP agent (``gemini --acp``) is a request answered when its
        turn is over, and the agent says nothing when it takes one; the first sign
        that it did is the first update it streams for it, or the answer. So the
        result edge of a delivery to an ACP agent is allowed from the send on, and
        required once the orchestrator was told that the turn the delivery started
        is over (if both threads still run then): by then it knows the delivery went
        through."""
        self.completions[agent] += 1
        waiting = self.taking.get(agent, [])
        while waiting and waiting[0][0] < self.completions[agent]:
            _, relationship, send = waiting.pop(0)
            if not self.all_running(relationship):
                continue
            observed = self.observed
            observed.required[relationship] += 1
            observed.required_at.setdefault(relationship, []).append(call.time)
            observed.evidence.setdefault(relationship, []).append(
                f"{_show(call)} (must be recorded: the turn {_show(send)} started is over)")

    def owed(self, child: str, call: Call) -> list[tuple[str, str, str, Call]]:
        """A child's turn is over: while it and its parent run, its result is owed."""
        observed = self.observed
        parent = observed.agents[child].parent
        when = call.time if call.happened_at is None else call.happened_at
        life = observed.life(child)
        # Told late: the child may have died since, after its turn (a one-prompt CLI
        # exits once it printed its result).
        ran = life.state is Life.RUNNING or (
            call.told and life.state is Life.DYING and (life.stopped_at or 0.0) >= when)
        if parent is None or not ran or observed.life(parent).state is not Life.RUNNING:
            return []
        session = observed.agents[child].session
        turn = next((t for t in session.turns if t.completed_at == when
                     and t.completed_at is not None and t.script.final), None)
        return [] if turn is None else [(child, parent, turn.script.final, call)]

    def settle(self, parent: str, call: Call) -> None:
        """A send to ``parent``'s session, ok or not: the results it carries are paid."""
        session = self.observed.agents[parent].session
        if call.outcome == "ok":
            # Turn 0 is the spawn's; the k-th successful send made turn k.
            index = self.sends[session.session_id] + 1
            prompt = session.turns[index].prompt if index < len(session.turns) else ""
        else:
            failed = [c for c in self.observed.failed_sends.get(parent, [])]
            prompt = (session.failed_prompts[len(failed)]
                      if len(failed) < len(session.failed_prompts) else "")
        self.observed.owed_results = [
            owed for owed in self.observed.owed_results
            if not (owed[1] == parent and owed[2] in prompt)]

    def final_in(self, child: str, prompt: str) -> str:
        """The longest final answer of ``child`` that ``prompt`` carries."""
        finals = [t.script.final for t in self.observed.agents[child].session.turns
                  if t.completed_at is not None and t.script.final and t.script.final in prompt]
        return max(finals, key=len, default=prompt)

    def result_source(self, parent: str, prompt: str) -> str | None:
        """The child of ``parent`` whose final turn message ``prompt`` carries (the
        longest such message, so a message quoting another is attributed to its own)."""
        best: tuple[int, str] | None = None
        for child in self.children.get(parent, []):
            for turn in self.observed.agents[child].session.turns:
                final = turn.script.final
                if turn.completed_at is not None and final and final in prompt and (
                        best is None or len(final) > best[0]):
                    best = (len(final), child)
        return None if best is None else best[1]


def _root(agents: Mapping[str, AgentRecord], agent_id: str) -> str:
    seen = {agent_id}
    while (parent := agents[agent_id].parent) is not None and parent in agents:
        if parent in seen:
            break
        seen.add(parent)
        agent_id = parent
    return agent_id


def _show(call: Call) -> str:
    who = call.agent_id or call.session_id or ""
    return f"#{call.seq} t={since_start(call.time):.2f}s {call.op.split(':', 1)[-1]}({who})"


__all__ = ["AgentLife", "Life", "Observed", "Relationship", "observe"]
