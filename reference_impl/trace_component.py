"""The rollout trace (seed 003) as a component of the reference orchestrator.

Every root agent (spawned without a parent) gets one bundle,
``world.trace_dir/<rollout id>/``, written by a
:class:`~reference_impl.trace.TraceRecorder`; its rollout id is the root's agent id.
Every agent spawned under it, at any depth, appends to that same bundle. A thread id
is the agent's native session id (what ``start_session`` returned), so a resumed agent,
which keeps its session, keeps its thread.

What is recorded, and when:

* a root's spawn: ``rollout_started`` and its ``thread_started``; a child's spawn: the
  parent's ``agent_spawned`` edge and the child's ``thread_started`` (the spawn prompt
  is the task);
* turns: opened by the first notification that names a turn, ended by its
  ``TURN_COMPLETE`` (a follow-up the backend queues is not running yet, so a send opens
  nothing);
* a follow-up sent to a child: ``agent_message_sent`` from its parent;
* a child's result: ``agent_result_delivered``, through
  :meth:`~reference_impl.trace.TraceRecorder.deliver_result` around the parent's
  backend send, so the edge is written only once that send returned;
* a close of a child: the parent's ``agent_closed`` edge, then the child's end; a
  process exit or shutdown: the thread's end only. The root's end ends the rollout
  (the recorder cancels whatever still runs); no other thread's end does;
* a resume of a child: ``thread_resumed`` by its parent, never a second start.

An event that cannot be recorded (its parent's thread has ended, the rollout is over)
is skipped, deliberately: the trace says only what happened while it was open. The
guards below read the component's mirror of the recorder's state; the recorder itself
refuses anything its reducer would reject, so a mistake here costs an event (isolated
like every component error), never a trace that does not replay.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from conformance.contract import Notification, NotificationKind, World
from conformance.trace_format.errors import TraceError
from conformance.trace_format.events import RunStatus
from reference_impl.components import Component
from reference_impl.orchestrator import Agent
from reference_impl.trace import ThreadHandle, TraceRecorder

log = logging.getLogger(__name__)

#: Notifications that happen during a turn and name it.
_TURN_NOTIFICATIONS = frozenset({
    NotificationKind.SESSION_UPDATE, NotificationKind.MODEL_EXCHANGE,
    NotificationKind.APPROVAL, NotificationKind.TURN_COMPLETE,
})

#: How a thread's run ended, by the orchestrator's end reason.
_END_STATUS = {"exit": RunStatus.COMPLETED, "close": RunStatus.CANCELLED,
               "shutdown": RunStatus.CANCELLED}


@dataclass
class Rollout:
    """One root agent's bundle."""

    recorder: TraceRecorder
    root_agent_id: str
    #: The root ended (even if its end could not be written).
    over: bool = False

    @property
    def open(self) -> bool:
        return not self.over and not self.recorder.rollout_ended


@dataclass
class Thread:
    """One agent's thread, mirroring what the recorder holds for it."""

    rollout: Rollout
    handle: ThreadHandle
    parent_agent_id: str | None
    running: bool = True
    open_turn: str | None = None
    #: Turn ids already opened (a turn id is never reused on a thread).
    turns: set[str] = field(default_factory=set)


class TraceComponent(Component):
    """Records every agent of a rollout into its root's bundle under ``world.trace_dir``."""

    #: fsync each event? Off, as for the canonical log: an event whose append returned
    #: survives a kill -9 of the process either way, and the write order (payload
    #: files before the line naming them) is the same. Turn it on to survive power loss.
    fsync = False

    def __init__(self, world: World) -> None:
        self.world = world
        self.threads: dict[str, Thread] = {}
        self.rollouts: list[Rollout] = []

    # -- seams (the known-bads in tests/known_bad/trc_* override these) ----------------

    def bundle_dir(self, rollout_id: str) -> Path:
        """Where a rollout goes: ``world.trace_dir/<rollout id>``."""
        return self.world.trace_dir / rollout_id

    def rollout_id(self, root: Agent) -> str:
        """The root's agent id, made unique in the trace directory: an orchestrator
        restarted on a trace directory finds the bundles of the rollouts before it
        (agent ids come back, the rollouts are new ones), and never writes into them."""
        taken = {r.recorder.bundle_dir.name for r in self.rollouts}
        candidate, number = root.agent_id, 1
        while candidate in taken or os.path.lexists(self.world.trace_dir / candidate):
            number += 1
            candidate = f"{root.agent_id}-{number}"
        return candidate

    def new_recorder(self, bundle_dir: Path) -> TraceRecorder:
        return TraceRecorder(bundle_dir, clock=self.world.clock.now, fsync=self.fsync)

    # -- hooks ----------------------------------------------------------------------------

    def on_spawn(self, agent: Agent) -> None:
        if agent.parent is None:
            self.start_rollout(agent)
            return
        parent = self.recordable(agent.parent)
        if parent is None:
            log.info("spawn of %s not traced: its parent's thread is not running",
                     agent.agent_id)
            return
        handle = parent.rollout.recorder.spawn_agent(
            parent.handle, agent.session_id, spawn_call_id=f"spawn-{agent.agent_id}",
            agent_name=_path_name(agent), task=agent.prompt)
        self.threads[agent.agent_id] = Thread(parent.rollout, handle, agent.parent)

    def on_send(self, agent: Agent, prompt: str, turn_id: str) -> None:
        child = self.recordable(agent.agent_id)
        parent = self.recordable(agent.parent) if agent.parent is not None else None
        if child is None or parent is None:
            return
        child.rollout.recorder.send_message(parent.handle, child.handle, prompt)

    def on_notification(self, agent: Agent, note: Notification) -> None:
        thread = self.recordable(agent.agent_id)
        if thread is None or note.turn_id is None or note.kind not in _TURN_NOTIFICATIONS:
            return
        recorder = thread.rollout.recorder
        if thread.open_turn != note.turn_id:
            if note.turn_id in thread.turns:
                return  # a late event of a turn already ended
            if thread.open_turn is not None:
                # Turns of one session run one after another: a new one means the
                # previous one is over, whether or not its completion was seen.
                recorder.end_turn(thread.handle, thread.open_turn)
                thread.open_turn = None
            recorder.start_turn(thread.handle, note.turn_id)
            thread.turns.add(note.turn_id)
            thread.open_turn = note.turn_id
        if note.kind is NotificationKind.TURN_COMPLETE:
            recorder.end_turn(thread.handle, note.turn_id)
            thread.open_turn = None

    def deliver_result(
        self, child: Agent, parent: Agent, message: str, deliver: Callable[[], None]
    ) -> None:
        child_thread = self.recordable(child.agent_id)
        parent_thread = self.recordable(parent.agent_id)
        if child_thread is None or parent_thread is None:
            deliver()
            return
        attempted = False

        def tracked() -> None:
            nonlocal attempted
            attempted = True
            deliver()

        try:
            child_thread.rollout.recorder.deliver_result(
                child_thread.handle, parent_thread.handle, message, tracked)
        except TraceError as error:
            # Refused before delivering (nothing written): the result still goes to
            # the parent; the trace just does not describe it.
            log.warning("result of %s not traced: %s", child.agent_id, error)
            if not attempted:
                deliver()

    def on_end(self, agent: Agent, reason: str) -> None:
        thread = self.recordable(agent.agent_id)
        if thread is None:
            return
        recorder = thread.rollout.recorder
        status = end_status(reason)
        if agent.parent is None:
            self.end_rollout(thread, status)
            return
        parent = self.recordable(agent.parent)
        try:
            if reason == "close" and parent is not None:
                recorder.close_agent(parent.handle, thread.handle)
            else:
                recorder.end_thread(thread.handle, status)
        finally:
            # Ended whether or not its end could be written (a full disk): nothing
            # more is recorded on it, so the trace is incomplete, never wrong.
            thread.running = False
            thread.open_turn = None

    def on_resume(self, agent: Agent) -> None:
        thread = self.threads.get(agent.agent_id)
        parent = self.recordable(agent.parent) if agent.parent is not None else None
        if thread is None or thread.running or parent is None:
            return  # a root's rollout is over for good; an unrecorded child stays so
        thread.rollout.recorder.resume_agent(parent.handle, thread.handle)
        thread.running = True

    def on_shutdown(self) -> None:
        for rollout in self.rollouts:
            rollout.recorder.close()

    # -- helpers --------------------------------------------------------------------------

    def start_rollout(self, root: Agent) -> None:
        rollout_id = self.rollout_id(root)
        recorder = self.new_recorder(self.bundle_dir(rollout_id))
        rollout = Rollout(recorder, root.agent_id)
        handle = recorder.start_rollout(rollout_id, root.session_id)
        self.rollouts.append(rollout)
        self.threads[root.agent_id] = Thread(rollout, handle, None)

    def end_rollout(self, root: Thread, status: RunStatus) -> None:
        """The root's end: the recorder cancels every thread still running, then ends
        the rollout; nothing may be appended afterwards."""
        try:
            root.rollout.recorder.end_thread(root.handle, status)
        finally:
            # Over whether or not the end could be written: nothing more may follow.
            root.rollout.over = True
            for thread in self.threads.values():
                if thread.rollout is root.rollout:
                    thread.running = False
                    thread.open_turn = None
            root.rollout.recorder.close()

    def recordable(self, agent_id: str | None) -> Thread | None:
        """The agent's thread if events may be recorded on it now."""
        thread = self.threads.get(agent_id) if agent_id is not None else None
        if thread is None or not thread.running or not thread.rollout.open:
            return None
        return thread


def end_status(reason: str) -> RunStatus:
    """How a thread's run ended, by the orchestrator's end reason."""
    return _END_STATUS.get(reason, RunStatus.COMPLETED)


def _path_name(agent: Agent) -> str:
    """The agent-path segment of a child: its agent id, or its session id if the id
    cannot be a path segment."""
    return agent.agent_id if agent.agent_id and "/" not in agent.agent_id else agent.session_id
