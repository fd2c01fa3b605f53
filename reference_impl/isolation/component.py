"""The isolation component: main history, audit log and temp cleanup (seed 000).

It sees every lifecycle event of every sub-agent and turns it into exactly three
kinds of writes outside the agents' own directories:

* the main history (:mod:`.history`): one start and one finish line per invocation,
  with summaries of the prompt and of the final answer only (the turn-complete
  notification's ``last-assistant-message``); streamed chunks, thoughts, tool calls
  and model exchanges are never looked at here;
* the audit log (:mod:`.audit`): spawn, resume, finish, export, cleanup;
* the removal of the ended agent's own temporary directory (:mod:`.tempdirs`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from conformance.contract import Notification, NotificationKind, World
from reference_impl.components import Component
from reference_impl.isolation.audit import AuditLog
from reference_impl.isolation.history import Invocation, MainHistory
from reference_impl.isolation.tempdirs import TempDirs

if TYPE_CHECKING:
    from reference_impl.orchestrator import Agent


def finish_status(reason: str, exit_code: int | None) -> str:
    """``succeeded``/``failed`` for a process exit, ``closed`` for a close or shutdown."""
    if reason == "exit":
        return "succeeded" if not exit_code else "failed"
    return "closed"


class IsolationComponent(Component):
    """See the module docstring."""

    def __init__(self, world: World, temp_dirs: TempDirs) -> None:
        self.world = world
        self.history = MainHistory(world.home)
        self.audit = AuditLog(world.home)
        self.temp_dirs = temp_dirs
        self.invocations: dict[str, Invocation] = {}
        self.exit_codes: dict[str, int] = {}

    def on_spawn(self, agent: Agent) -> None:
        self._start(agent, resumed=False)

    def on_resume(self, agent: Agent) -> None:
        self.temp_dirs.allocate(agent.agent_id)
        self._start(agent, resumed=True)

    def on_notification(self, agent: Agent, note: Notification) -> None:
        invocation = self.invocations.get(agent.agent_id)
        if note.kind is NotificationKind.TURN_COMPLETE and invocation is not None:
            message = note.data.get("last-assistant-message")
            invocation.last_output = message if isinstance(message, str) else None
        elif note.kind is NotificationKind.PROCESS_EXITED:
            code = note.data.get("exit_code")
            self.exit_codes[agent.agent_id] = code if isinstance(code, int) else 1

    def on_end(self, agent: Agent, reason: str) -> None:
        now = self.world.clock.now()
        invocation = self.invocations.get(agent.agent_id)
        status = finish_status(reason, self.exit_codes.pop(agent.agent_id, None))
        if invocation is not None:
            self.history.finished(invocation, now, status)
        self.audit.record(now, "finish", agent.agent_id, reason=reason, status=status)
        self.cleanup(agent)

    def on_export(self, agent: Agent, destination: Path) -> None:
        self.audit.record(self.world.clock.now(), "export", agent.agent_id,
                          destination=str(destination))

    def cleanup(self, agent: Agent) -> None:
        """Remove the agent's temporary directory, and only it."""
        removed = self.temp_dirs.cleanup(agent.agent_id)
        if removed is not None:
            self.audit.record(self.world.clock.now(), "cleanup", agent.agent_id,
                              removed=str(removed))

    def _start(self, agent: Agent, *, resumed: bool) -> None:
        now = self.world.clock.now()
        invocation = Invocation(agent.agent_id, agent.backend.value, agent.session_id, now,
                                agent.prompt, resumed=resumed)
        self.invocations[agent.agent_id] = invocation
        self.history.started(invocation)
        self.audit.record(now, "resume" if resumed else "spawn", agent.agent_id,
                          backend=agent.backend.value, session_id=agent.session_id,
                          home=str(agent.home))
