"""The harness: one world, one orchestrator, and the record of what happened.

A :class:`Harness` builds a fresh :class:`~conformance.contract.World` (directories,
fake backends on the harness clock), starts the adapter's orchestrator in it, and
offers the operations a state machine composes: spawn, send, advance time, tick,
make a process exit, close, resume, shut down. Every operation is written to the
world's timeline (the same :class:`~conformance.fakes.calls.CallLog` the fakes write
backend calls and notifications to), so checks can ask "what did the orchestrator do
before the first-turn notification?" in one ordered list.

Exceptions escaping the orchestrator become :class:`~conformance.errors.AdapterError`
naming the operation; the harness never lets a vendor's crash pass as a violation
or a pass.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from conformance.clock import HarnessClock, since_start
from conformance.contract import (
    Adapter,
    BackendKind,
    Notification,
    Orchestrator,
    SessionView,
    Settings,
    SpawnRequest,
    World,
)
from conformance.errors import AdapterError, ConformanceError, HarnessError
from conformance.fakes import Call, CallLog, FakeSession, FakeSessionHost, Scheduler, make_backends
from conformance.fakes.profiles import BackendProfile
from conformance.files import DiskView
from conformance.processes.server import PuppetServer
from conformance.processes.watch import ReadWatch, polled_sessions

#: Harness operations that do not call the orchestrator.
_NOT_CALLS = frozenset({"exit_process"})

T = TypeVar("T")

#: The names a world's workspace is drawn from. Each holds every character the CLIs'
#: path rules treat specially (``_``, a space, ``.``, ``@``, ``+``, a non-ASCII letter,
#: upper case), so a Claude Code project directory or a Gemini CLI short name derived
#: the wrong way does not exist, on every run.
WORKSPACE_NAMES = ("wörk_sp ace.v2@x+y", "Prøj_ect 1.2@Team+ci", "çà_va B.c@d+e.f")


def workspace_name(token: str) -> str:
    """The workspace name of the world ``token`` (the same world, the same name)."""
    digest = hashlib.sha256(token.encode()).digest()
    return WORKSPACE_NAMES[digest[0] % len(WORKSPACE_NAMES)]


_ORCHESTRATOR_METHODS = ("spawn", "send", "resume", "close", "export", "tick", "session",
                         "sessions", "shutdown")


@dataclass
class AgentRecord:
    """What the harness knows about one sub-agent it asked for."""

    agent_id: str
    backend: BackendKind
    profile: BackendProfile
    prompt: str
    parent: str | None
    session: FakeSession
    #: Harness times at which the user asked to close it (close or shutdown).
    closes: list[float] = field(default_factory=list)
    #: The same, as ``(time, timeline position)`` (see ``Harness.ended_positively``).
    close_marks: list[tuple[float, float]] = field(default_factory=list)
    #: The prompt as ACP content blocks, when the spawn gave them (``SpawnRequest.content``).
    content: tuple[Mapping[str, Any], ...] = ()
    #: Timeline positions of the spawn and of each resume of the agent once ended: the
    #: starts of its invocations, as the user asked for them.
    life_starts: list[float] = field(default_factory=list)


class Harness:
    """Drives one orchestrator in one world; see the module docstring."""

    def __init__(
        self,
        adapter: Adapter,
        clock: HarnessClock,
        root: Path,
        *,
        settings: Settings | None = None,
        token: str = "world",
        workspace: str | None = None,
    ) -> None:
        self.clock = clock
        clock.reset()
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        directories = {name: root / name for name in ("home", "acp_home", "traces")}
        # The working directory agents run in: ``workspace`` names it (a world that
        # restarts keeps its own), else it is drawn from the token.
        directories["workspace"] = root / (workspace or workspace_name(token))
        for directory in directories.values():
            directory.mkdir(parents=True, exist_ok=True)
        self.calls = CallLog()
        self.scheduler = Scheduler(clock)
        # root/tmp is the world's stand-in for /tmp: where an agent process puts
        # scratch files when the orchestrator gives it no TMPDIR (isolation area).
        self.hosts: dict[BackendKind, FakeSessionHost] = make_backends(
            clock, self.scheduler, self.calls, token, scratch_root=root / "tmp")
        #: The fake CLI processes' player, for an adapter that launches processes.
        self.puppets: PuppetServer | None = (
            PuppetServer(self.hosts, clock, self.scheduler, self.calls, root,
                         detached=bool(getattr(adapter, "launches_detached", False)))
            if getattr(adapter, "launches_processes", False) else None)
        #: The orchestrator's reads under the home: its polls, when it runs processes.
        self.reads: ReadWatch | None = (
            ReadWatch(directories["home"]) if self.puppets is not None else None)
        for host in self.hosts.values():
            # A process orchestrator hears what its processes did at its next call.
            host.defer_telling = self.puppets is not None
        self.world = World(
            root=root,
            home=directories["home"],
            acp_home=directories["acp_home"],
            trace_dir=directories["traces"],
            workspace=directories["workspace"],
            clock=clock,
            backends=dict(self.hosts),
            settings=settings or Settings(),
            env=self.puppets.env() if self.puppets is not None else {},
        )
        self.agents: dict[str, AgentRecord] = {}
        #: When the harness first saw a session's home, working directory or file gone,
        #: and what was gone (see :meth:`observe`).
        self.gone: dict[str, tuple[float, list[Path]]] = {}
        self.shut_down = False
        #: Who hears the session updates a process orchestrator was shown.
        self._shown_to: list[Callable[[Notification], None]] = []
        #: The text of every follow-up the user sent, by its ``harness:send`` entry.
        self.user_prompts: dict[int, str] = {}
        #: Moves on whenever the world may have changed (see :meth:`per_step`).
        self.generation = 0
        self._step_memo: dict[object, tuple[int, Any]] = {}
        self.orchestrator = self._start(adapter)

    # -- operations -----------------------------------------------------------------

    def spawn(
        self,
        agent_id: str,
        backend: BackendKind,
        prompt: str,
        profile: BackendProfile | None = None,
        parent: str | None = None,
        content: Sequence[Mapping[str, Any]] = (),
    ) -> AgentRecord:
        """Ask the orchestrator for a sub-agent; it must start exactly one session.

        ``content`` is the prompt as ACP content blocks (see ``SpawnRequest.content``).
        """
        host = self.hosts[backend]
        host.prepare(agent_id, profile)
        before = set(host.sessions)
        mark = self._mark("spawn", agent_id)
        request = SpawnRequest(agent_id, backend, prompt, parent, content=tuple(content))
        try:
            self._call(f"spawn({agent_id!r}, {backend.value})",
                       lambda: self.orchestrator.spawn(request))
            self._settle()  # a launched process registers, and starts the session
        finally:
            host.prepare(None, None)
        started = [host.sessions[s] for s in host.sessions if s not in before]
        if len(started) != 1:
            raise AdapterError(
                f"spawn({agent_id!r}, {backend.value}) must call {backend.value}.start_session "
                f"exactly once before returning; it started {len(started)} sessions")
        record = AgentRecord(agent_id, backend, started[0].profile, prompt, parent, started[0],
                             content=request.content, life_starts=[float(mark.seq)])
        self.agents[agent_id] = record
        return record

    def send(self, agent_id: str, prompt: str) -> None:
        mark = self._mark("send", agent_id)
        self.user_prompts[mark.seq] = prompt
        self._call(f"send({agent_id!r})", lambda: self.orchestrator.send(agent_id, prompt))
        self._settle()

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of harness time pass; backends act, notifications fire."""
        self._mark(f"advance {seconds:g}s", None)
        if self.puppets is None:
            self._call(f"advance({seconds:g}) notification callbacks",
                       lambda: self.scheduler.advance(seconds))
            return
        self._settle()  # a process launched since the last operation starts first
        with self.puppets.lock:
            self._call(f"advance({seconds:g}) notification callbacks",
                       lambda: self.scheduler.advance(seconds))
        self._settle()

    def tick(self) -> None:
        self._mark("tick", None)
        self._call("tick()", self.orchestrator.tick)
        self._settle()

    def exit_process(
        self, agent_id: str, exit_code: int = 0, *, noticed_after: float = 0.0
    ) -> None:
        """The agent's process exits on its own (a positive end signal).

        ``noticed_after`` > 0 delays the exit notification by that many seconds: the
        process is gone now, the orchestrator hears of it later (a crash not noticed yet).
        """
        record = self.agents[agent_id]
        self._mark("exit_process", agent_id)
        self._call(f"exit of {agent_id!r} notification callback",
                   lambda: self.hosts[record.backend].exit_process(
                       record.session.session_id, exit_code, noticed_after=noticed_after))
        self._settle()

    def close(self, agent_id: str) -> None:
        """The user closes the agent (a positive end signal)."""
        mark = self._mark("close", agent_id)
        record = self.agents[agent_id]
        record.closes.append(mark.time)
        record.close_marks.append((mark.time, float(mark.seq)))
        self._call(f"close({agent_id!r})", lambda: self.orchestrator.close(agent_id))
        self._settle()

    def resume(self, agent_id: str) -> None:
        """The user resumes the agent. One the orchestrator knows ended (a close, an exit
        it was told of, a shutdown) must come back: its session's process resumed
        (``resume_session``) before ``resume`` returns."""
        record = self.agents[agent_id]
        ended = not record.session.alive and self.ended_positively(record, self.clock.now())
        mark = self._mark("resume", agent_id)
        if self.puppets is not None:
            # The user's invocations: ended if an end it knows of (a close, a shutdown,
            # an exit it has been told of, at the latest now) came since the last began.
            last = record.life_starts[-1] if record.life_starts else 0.0
            ends = [seq for _, seq in (*record.close_marks, *self.told_exits(record))]
            ended = any(last < end for end in ends)
        if ended:
            record.life_starts.append(float(mark.seq))
        self._call(f"resume({agent_id!r})", lambda: self.orchestrator.resume(agent_id))
        self._settle()
        if ended and not record.session.alive and self.puppets is None:
            # (A process orchestrator resumes a headless CLI with its next prompt.)
            raise AdapterError(
                f"resume({agent_id!r}) returned, but the ended agent's {record.backend.value} "
                f"session {record.session.session_id} was not resumed: resume must call "
                "resume_session on it (the same session in a new process)")

    def export(self, agent_id: str, destination: Path) -> None:
        self._mark("export", agent_id)
        self._call(f"export({agent_id!r})",
                   lambda: self.orchestrator.export(agent_id, destination))
        self._settle()

    def shutdown(self) -> None:
        """Shut the orchestrator down (a positive end signal for every agent)."""
        if self.shut_down:
            return
        self.shut_down = True
        mark = self._mark("shutdown", None)
        for record in self.agents.values():
            record.closes.append(mark.time)
            record.close_marks.append((mark.time, float(mark.seq)))
        self._call("shutdown()", self.orchestrator.shutdown)
        self._settle()

    def retire(self) -> None:
        """This orchestrator's lifetime is over (it was shut down, or it crashed) and
        another may start on the same files: every fake process it launched is killed
        and its watches stop, so that the next one's harness plays only its own. An
        orchestrator with a ``release()`` method (a driver's) is released first."""
        release = getattr(self.orchestrator, "release", None)
        if callable(release):
            self._call("release()", release)
        if self.puppets is not None:
            self.puppets.close()
        if self.reads is not None:
            self.reads.close()

    def dispose(self) -> None:
        """Remove the world's files. The orchestrator must be shut down first. Every
        fake process still running is killed first: none outlives its world."""
        self.retire()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- observations ---------------------------------------------------------------

    def view(self, agent_id: str) -> SessionView | None:
        """The orchestrator's own view of one agent."""
        return self._call(f"session({agent_id!r})", lambda: self.orchestrator.session(agent_id))

    def views(self) -> list[SessionView]:
        return list(self._call("sessions()", self.orchestrator.sessions))

    def observe(self) -> None:
        """Note deletions the moment they become visible; called after every step.

        A deletion is dated when it was first seen, not when a check looks, so it is
        attributed to the situation the session was in when it happened. It also
        begins a new round of checks: nothing :meth:`per_step` kept is used again.
        """
        self.generation += 1
        now = self.clock.now()
        for record in self.agents.values():
            session = record.session
            if session.session_id in self.gone:
                continue
            missing = [p for p in (session.home, session.cwd) if not p.is_dir()]
            if session.materialized_at is not None and not session.path.is_file():
                missing.append(session.path)
            if missing:
                self.gone[session.session_id] = (now, missing)

    def now(self) -> float:
        return self.clock.now()

    def disk(self) -> DiskView:
        """The disk as this round of checks sees it, read once (:meth:`per_step`)."""
        return self.per_step(DiskView, DiskView)

    def per_step(self, key: object, compute: Callable[[], T]) -> T:
        """``compute()``, computed once for all the checks of one step.

        Several checks read the same things after a step (the files under the home,
        the store's sessions, the trace bundles). What ``compute`` returned is kept
        until the world may have changed: the next harness operation, any call into
        the orchestrator (a check's ``view()`` included) or the next round of checks
        (:meth:`observe`). A ``compute`` that called the orchestrator itself is not
        kept. Callers must not change what they get back.
        """
        generation = self.generation
        kept = self._step_memo.get(key)
        if kept is not None and kept[0] == generation:
            return kept[1]  # type: ignore[no-any-return]
        value = compute()
        if self.generation == generation:
            self._step_memo[key] = (generation, value)
        return value

    def ticks_since(self, timestamp: float, seq: int = 0) -> bool:
        """Whether the orchestrator ticked at or after ``timestamp`` and after entry ``seq``."""
        return any(c.op == "harness:tick" and c.time >= timestamp and c.seq > seq
                   for c in self.calls.calls)

    def invocations(self, record: AgentRecord) -> tuple[int, int]:
        """``(invocations, ended)`` of an agent: the spawn and each resume once it had
        ended, and how many of them are over as far as the orchestrator can know.

        In-process, an invocation is a life of the session (a resume must resume it)
        and is over when the session is. An orchestrator that runs processes resumes a
        headless CLI with its next prompt, so its invocations are the user's: one is
        over at a close or shutdown, or at an exit of its process it has been told of
        (:meth:`told_exits`).
        """
        session = record.session
        if self.puppets is None:
            lives = 1 + len(session.resumed_at)
            return lives, lives - (1 if session.alive else 0)
        ends = [seq for _, seq in record.close_marks]
        ends += [seq for _, seq in self.told_exits(record)]
        starts = record.life_starts or [0.0]
        ended = 0
        for index, start in enumerate(starts):
            until = starts[index + 1] if index + 1 < len(starts) else float("inf")
            ended += any(start < end <= until for end in ends)
        return len(starts), ended

    def lives(self, record: AgentRecord) -> list[tuple[float, float]]:
        """When each invocation of the agent began, as ``(time, seq)`` marks: the lives
        of its session in-process, the user's invocations (the spawn, and each resume
        once it had ended) for an orchestrator that runs processes (:meth:`invocations`)."""
        if self.puppets is None:
            return list(record.session.life_marks)
        return [(self.calls.calls[int(seq) - 1].time, seq) for seq in record.life_starts]

    def told_exits(self, record: AgentRecord) -> list[tuple[float, float]]:
        """The exits of the agent's process (``(time, seq)`` marks) the orchestrator has
        been told of: every one in-process, where the callback is the telling; for an
        orchestrator that runs processes, those followed by its ``notify:process_exited``
        entry (it hears at its next call)."""
        marks = list(record.session.exit_marks)
        if self.puppets is None:
            return marks
        session_id = record.session.session_id
        told = sum(1 for c in self.calls.calls
                   if c.op == "notify:process_exited" and c.session_id == session_id)
        return marks[:told]

    def ended_positively(self, record: AgentRecord, at: float, seq: int | None = None) -> bool:
        """Whether a positive end signal for this agent's current life came by ``at``
        (and, when ``seq`` is given, by timeline entry ``seq``).

        Signals are a process exit, a close, or shutdown. A resume starts a new life:
        an end signal from before it does not cover ending the resumed process, even
        when both happened at the same instant (a close, then a resume, with no time
        passing): events of one instant are ordered by their place in the timeline.
        """
        session = record.session
        point = (at, float("inf") if seq is None else float(seq))
        lives = [mark for mark in session.life_marks if mark <= point] or [
            (session.started_at, 0.0)]
        start = max(lives)
        return any(start < signal <= point
                   for signal in (*session.exit_marks, *record.close_marks))

    def describe(self, timestamp: float) -> str:
        return f"t={since_start(timestamp):.2f}s"

    def timeline(self, session_id: str | None = None, limit: int = 12) -> str:
        """The last entries of the timeline (about one session, if given), for messages."""
        entries = [c for c in self.calls.calls
                   if session_id is None or c.session_id in (session_id, None)]
        return "\n".join(f"    {c}" for c in entries[-limit:])

    # -- internals ------------------------------------------------------------------

    def _start(self, adapter: Adapter) -> Orchestrator:
        orchestrator = self._call("adapter.start(world)", lambda: adapter.start(self.world))
        missing = [m for m in _ORCHESTRATOR_METHODS
                   if not callable(getattr(orchestrator, m, None))]
        if missing:
            raise AdapterError(f"adapter.start(world) returned {type(orchestrator).__name__}, "
                               f"which lacks the orchestrator methods: {', '.join(missing)}")
        return orchestrator

    def _settle(self) -> None:
        """Wait for the fake processes the last operation set in motion (a no-op for
        an in-process adapter); see :meth:`PuppetServer.settle`."""
        if self.puppets is not None:
            self.puppets.settle()
        if self.reads is not None:
            self._record_polls(self.reads.drain())

    def _record_polls(self, reads: list[Path]) -> None:
        """A process orchestrator's reads of session files, as the polls they are
        (:mod:`conformance.processes.watch`): one entry per session it looked at."""
        if not reads:
            return
        for host in self.hosts.values():
            sessions = [(s.session_id, s.home, s.path) for s in host.sessions.values()]
            for session_id in polled_sessions(reads, sessions):
                found = host.sessions[session_id].path.is_file()
                self.calls.record(self.clock.now(), host.kind, "get_session_data",
                                  session_id, "ok" if found else "SessionNotFound")

    def _mark(self, op: str, agent_id: str | None) -> Call:
        self.generation += 1
        if self.reads is not None:
            self.reads.drain()  # the harness's own reads since the last operation
        if self.puppets is not None and op not in _NOT_CALLS and not op.startswith("advance"):
            self._tell()
        return self.calls.record(self.clock.now(), None, f"harness:{op}", None,
                                 agent_id=agent_id)

    def _tell(self) -> None:
        """The orchestrator runs processes and is about to be called: what they showed
        since its last call (a turn's result on stdout, a ``notify`` or ``Stop`` hook,
        an exit) is known to it from now on. Each such notification gets its
        ``notify:<kind>`` entry now, in the order the hosts fired them, where an
        in-process orchestrator's entry sits at the moment of its callback."""
        untold = sorted((pair for host in self.hosts.values() for pair in host.take_untold()),
                        key=lambda pair: pair[0])
        for _, note in untold:
            self.calls.record(self.clock.now(), note.backend, f"notify:{note.kind.value}",
                              note.session_id, happened_at=note.time)
        assert self.puppets is not None
        for update in self.puppets.take_shown():
            for callback in list(self._shown_to):
                callback(update)

    def subscribe_shown(self, callback: Callable[[Notification], None]) -> None:
        """Call ``callback`` with every session update a process orchestrator was
        shown: each update the JSON lines its processes printed convey
        (:mod:`conformance.processes.stream_updates`), at its next call (it reads their
        stdout then). What its canonical log owes. An in-process orchestrator is shown
        what its hosts notify: subscribe to them instead."""
        if self.puppets is None:
            raise HarnessError("subscribe_shown is for a world whose orchestrator runs "
                               "processes; subscribe to the hosts of an in-process one")
        self._shown_to.append(callback)

    def _call(self, what: str, action: Callable[[], T]) -> T:
        self.generation += 1  # the orchestrator may change the world: see per_step
        try:
            return action()
        except ConformanceError:
            raise
        except Exception as error:
            raise AdapterError(f"the orchestrator raised {type(error).__name__} in {what}: "
                               f"{error}") from error
