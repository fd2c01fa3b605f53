"""The reference orchestrator: keeps every invariant of the catalogue.

It runs each sub-agent in its own home ``<home>/agents/<agent_id>/`` (seed 000) and
watches it with a :class:`~reference_impl.observability.SessionTracker` (seed 002):
Codex sessions are never polled before their first-turn notification, a not-found is
never an end, only a process exit, close or shutdown ends a session, and a first turn
that outlasts the deadline is reported suspected hung and kept.

Two components are built in, because every orchestrator needs them (and every
known-bad derived from this one keeps them): isolation (seed 000: agent-id validation,
per-agent ``TMPDIR``, the main history, the audit log, export; see
:mod:`reference_impl.isolation`) and session persistence (seed 001, off unless
``world.settings.persist_session``; see :mod:`reference_impl.persistence`).

The methods named ``_on_*`` and ``_poll`` are the seams the known-bad orchestrators
in ``tests/known_bad/`` override to break exactly one invariant each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance import native
from conformance.contract import (
    BackendKind,
    Notification,
    NotificationKind,
    SessionHost,
    SessionView,
    SpawnRequest,
    World,
)
from conformance.errors import BackendError, SessionNotFound
from reference_impl.components import Component
from reference_impl.delivery import deliver_through
from reference_impl.isolation import IsolationComponent, TempDirs, export_agent, validate_agent_id
from reference_impl.observability import ObsEvent, ObsState, SessionTracker
from reference_impl.persistence import PersistenceComponent, PersistenceConfig

log = logging.getLogger(__name__)


class UnknownAgent(KeyError):
    """An operation named an agent id the orchestrator never spawned."""


@dataclass
class Agent:
    """One sub-agent as the orchestrator knows it."""

    agent_id: str
    backend: BackendKind
    home: Path
    session_id: str
    tracker: SessionTracker
    prompt: str
    parent: str | None = None
    transcript: Path | None = None
    #: The spawn prompt as ACP content blocks (``SpawnRequest.content``; may be empty).
    content: tuple[Mapping[str, Any], ...] = ()
    #: The home the backend process got (its ``CODEX_HOME`` or ``HOME``) and its working
    #: directory: where its native session file is found (:mod:`conformance.native`).
    backend_home: Path | None = None
    cwd: Path | None = None


class ReferenceOrchestrator:
    """See the module docstring."""

    #: Whether an agent's session file is looked up before it ends even with
    #: persistence off (see :meth:`_final_look`; the process backend does: a one-prompt
    #: CLI exits right after its turn, and its file is the session's record).
    looks_before_ending = False
    #: The built-in components (seam: known-bads swap in a broken subclass).
    isolation_component_type: type[IsolationComponent] = IsolationComponent
    persistence_component_type: type[PersistenceComponent] = PersistenceComponent

    def __init__(self, world: World, components: Sequence[Component] = (), *,
                 persistence: PersistenceConfig | None = None) -> None:
        self.world = world
        self.agents: dict[str, Agent] = {}
        #: Per-agent temporary directories (seed 000), handed to agents as TMPDIR.
        self.temp_dirs = TempDirs(self.agent_home)
        #: Session persistence (seed 001); ``world.settings.persist_session`` by default.
        self.persistence = persistence or PersistenceConfig.from_settings(world.settings)
        self.isolation = self.isolation_component_type(world, self.temp_dirs)
        self.persisted = self.persistence_component_type(world, self.persistence)
        # Built-ins first: isolation and persistence see each event before the others.
        self.components: list[Component] = [self.isolation, self.persisted, *components]
        #: Errors components raised; they never reach an agent.
        self.component_errors: list[tuple[str, BaseException]] = []
        self._by_session: dict[tuple[BackendKind, str], Agent] = {}
        #: The session hosts it runs agents through (seam: processes instead).
        self.hosts: dict[BackendKind, SessionHost] = self._make_hosts(world)
        for host in self.hosts.values():
            host.subscribe(self._on_notification)

    # -- the contract -----------------------------------------------------------------

    def spawn(self, request: SpawnRequest) -> None:
        # Before anything exists: an id is a directory name (InvalidAgentId, a ValueError).
        self._validate_agent_id(request.agent_id)
        if request.agent_id in self.agents:
            raise ValueError(f"agent {request.agent_id!r} already exists")
        home = self.agent_home(request.agent_id)
        home.mkdir(parents=True, exist_ok=True)
        env = self.temp_dirs.environment(request.agent_id)
        host = self._host(request.backend)
        backend_home = self._backend_home(request, home)
        session_id = host.start_session(prompt=request.prompt, home=backend_home,
                                        cwd=self.world.workspace, env=env)
        tracker = SessionTracker(request.backend, self.world.clock.now(),
                                 self.world.settings.first_turn_deadline)
        agent = Agent(request.agent_id, request.backend, home, session_id, tracker,
                      request.prompt, request.parent, content=request.content,
                      backend_home=backend_home, cwd=self.world.workspace)
        self.agents[request.agent_id] = agent
        self._by_session[(request.backend, session_id)] = agent
        self._emit("on_spawn", lambda c: c.on_spawn(agent))

    def send(self, agent_id: str, prompt: str) -> None:
        agent = self._agent(agent_id)
        if agent.tracker.state is ObsState.ENDED:
            raise BackendError(f"agent {agent_id!r} has ended; resume it first")
        turn_id = self._host(agent.backend).send(agent.session_id, prompt)
        self._emit("on_send", lambda c: c.on_send(agent, prompt, turn_id))

    def resume(self, agent_id: str) -> None:
        agent = self._agent(agent_id)
        if agent.tracker.state is ObsState.ENDED:
            self._host(agent.backend).resume_session(agent.session_id)
            agent.tracker.fire(ObsEvent.RESUMED)
            self._emit("on_resume", lambda c: c.on_resume(agent))

    def close(self, agent_id: str) -> None:
        self._end(self._agent(agent_id), "close")

    def export(self, agent_id: str, destination: Path) -> None:
        """Copy this agent's home, and nothing else, to ``destination`` (seed 000)."""
        agent = self._agent(agent_id)
        target = export_agent(agent.home, destination)
        self._emit("on_export", lambda c: c.on_export(agent, target))

    def tick(self) -> None:
        now = self.world.clock.now()
        for agent in self.agents.values():
            self._on_tick(agent, now)

    def session(self, agent_id: str) -> SessionView | None:
        agent = self.agents.get(agent_id)
        return None if agent is None else self._view(agent)

    def sessions(self) -> Sequence[SessionView]:
        return [self._view(agent) for agent in self.agents.values()]

    def shutdown(self) -> None:
        for agent in self.agents.values():
            self._end(agent, "shutdown")
        self._emit("on_shutdown", lambda c: c.on_shutdown())

    # -- paths ---------------------------------------------------------------------------

    def agent_home(self, agent_id: str) -> Path:
        """The sub-agent's own home (its ``CODEX_HOME``, or ``HOME`` for the others)."""
        return self.world.home / "agents" / agent_id

    def _backend_home(self, request: SpawnRequest, home: Path) -> Path:
        """The home the backend process gets (seam; always the agent's own home)."""
        return home

    def _validate_agent_id(self, agent_id: str) -> None:
        """Refuse an id that could escape ``<home>/agents/`` (seam)."""
        validate_agent_id(agent_id)

    # -- seams ---------------------------------------------------------------------------

    def _on_tick(self, agent: Agent, now: float) -> None:
        tracker = agent.tracker
        if tracker.state is ObsState.ENDED:
            return
        if tracker.deadline_passed(now):
            tracker.fire(ObsEvent.DEADLINE_PASSED)
        if tracker.may_poll():
            self._poll(agent)

    def _poll(self, agent: Agent) -> None:
        try:
            self._host(agent.backend).get_session_data(agent.session_id)
        except SessionNotFound:
            self._on_not_found(agent)
            return
        path = self._locate(agent)
        if path is None:
            # The backend knows the session but its file is not where the CLI's rule
            # puts it (yet): still "not yet", never "ended".
            self._on_not_found(agent)
            return
        self._found(agent, path)
        agent.tracker.fire(ObsEvent.FOUND)

    def _locate(self, agent: Agent) -> Path | None:
        """The agent's native session file, found by the real CLI's naming rule from its
        home, cwd and session id (seam: known-bads derive it the wrong way)."""
        home = agent.backend_home or agent.home
        return native.locate(agent.backend.value, home, agent.cwd or self.world.workspace,
                             agent.session_id)

    def _found(self, agent: Agent, path: Path) -> None:
        """The native session file is known: tell the components the first time."""
        if agent.transcript != path:
            agent.transcript = path
            self._emit("on_transcript", lambda c: c.on_transcript(agent))

    def _final_look(self, agent: Agent) -> None:
        """Before ending: learn the session file if it may be looked up and is unknown.

        With persistence on, which must adopt the rollout of a session that ended
        between two ticks (``codex exec`` exits right after its turn), or where
        :attr:`looks_before_ending` says so. Never for Codex before its first turn
        (seed 002); a not-found here means nothing.
        """
        if not (self.persistence.enabled or self.looks_before_ending) or \
                agent.transcript is not None:
            return
        if not agent.tracker.may_poll():
            return
        try:
            self._host(agent.backend).get_session_data(agent.session_id)
        except SessionNotFound:
            return
        path = self._locate(agent)
        if path is not None:
            self._found(agent, path)

    def _on_not_found(self, agent: Agent) -> None:
        # "Not yet", never "ended": see reference_impl.observability.
        agent.tracker.fire(ObsEvent.NOT_FOUND)

    def _on_notification(self, note: Notification) -> None:
        agent = self._by_session.get((note.backend, note.session_id))
        if agent is None or agent.tracker.state is ObsState.ENDED:
            return
        self._emit("on_notification", lambda c: c.on_notification(agent, note))
        if note.kind is NotificationKind.TURN_COMPLETE:
            self._on_turn_complete(agent, note)
            if agent.parent is not None:
                self._deliver_result(agent, note)
        elif note.kind is NotificationKind.PROCESS_EXITED:
            self._end(agent, "exit")

    def _deliver_result(self, child: Agent, note: Notification) -> None:
        """Forward a child's turn result to its parent's session (seed 003).

        The message carries the turn's final assistant message verbatim. It is sent
        through every component (:mod:`reference_impl.delivery`), so the trace records
        the result edge only once the send returned. A parent known to have ended gets
        nothing; one whose process is gone unnoticed makes the send fail, and that
        failure is only logged: a failed send is not an end signal (seed 002).
        """
        parent = self.agents.get(child.parent) if child.parent is not None else None
        final = note.data.get("last-assistant-message")
        if parent is None or not isinstance(final, str):
            return
        if parent.tracker.state is ObsState.ENDED:
            log.info("result of %s not delivered: its parent %s has ended", child.agent_id,
                     parent.agent_id)
            return
        self._forward(child, parent, f"[result from {child.agent_id}] {final}")

    def _forward(self, child: Agent, parent: Agent, message: str) -> None:
        """Send ``message`` to ``parent``'s session through every component."""
        host = self._host(parent.backend)

        def send() -> None:
            host.send(parent.session_id, message)

        if not deliver_through(self.components, child, parent, message, send,
                               self._component_failed):
            log.info("result of %s not delivered: parent %s is already gone",
                     child.agent_id, parent.agent_id)

    def _component_failed(self, hook: str, error: Exception) -> None:
        log.warning("component hook %s failed: %s", hook, error)
        self.component_errors.append((hook, error))

    def _on_turn_complete(self, agent: Agent, note: Notification) -> None:
        event = (ObsEvent.TURN_NOTIFIED if agent.tracker.first_turn_done
                 else ObsEvent.FIRST_TURN_NOTIFIED)
        agent.tracker.fire(event)

    def _end(self, agent: Agent, reason: str) -> None:
        """End a session after a positive end signal (``exit``, ``close``, ``shutdown``)."""
        if agent.tracker.state is ObsState.ENDED:
            return
        self._final_look(agent)
        agent.tracker.fire(ObsEvent.END_SIGNAL)
        self._host(agent.backend).end_session(agent.session_id)
        self._emit("on_end", lambda c: c.on_end(agent, reason))

    def _emit(self, hook: str, call: Callable[[Component], None]) -> None:
        """Run one hook on every component; a failing component never fails the agent."""
        for component in self.components:
            try:
                call(component)
            except Exception as error:
                log.warning("component %s failed in %s: %s", type(component).__name__, hook,
                            error)
                self.component_errors.append((f"{type(component).__name__}.{hook}", error))

    # -- helpers -------------------------------------------------------------------------

    def _view(self, agent: Agent) -> SessionView:
        return SessionView(agent.agent_id, agent.backend, agent.tracker.reported_state,
                           agent.session_id, agent.transcript)

    def _agent(self, agent_id: str) -> Agent:
        try:
            return self.agents[agent_id]
        except KeyError:
            raise UnknownAgent(agent_id) from None

    def _host(self, kind: BackendKind) -> SessionHost:
        return self.hosts[kind]

    def _make_hosts(self, world: World) -> dict[BackendKind, SessionHost]:
        """The world's session hosts (seam: :mod:`reference_impl.processes` launches
        the CLIs as processes instead)."""
        return dict(world.backends)
