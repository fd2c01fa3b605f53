"""The persistence component: session artifacts into ``sessions/<id>/`` (seed 001).

Off by default (``Settings.persist_session``, ``--persist-session``): then it writes
nothing at all, so the layout is exactly the backend's own. On, it keeps one
:class:`~.store.SessionStore` per sub-agent session and feeds it:

* ``session.log``: lifecycle lines (start, prompts, turn completions, exit, end);
* ``session_oai_raw.log``: every ``MODEL_EXCHANGE`` notification, redacted;
* ``session_meta.log``: every ``APPROVAL`` notification, and a ``cancellation`` record
  when the agent is closed or shut down while a turn is still running;
* the rollout, adopted (moved and linked) as soon as the orchestrator learns its path.

Every record names the session and the turn, so the files can be read on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from conformance.contract import Notification, NotificationKind, World
from reference_impl.components import Component
from reference_impl.isolation.jsonl import iso_utc
from reference_impl.persistence.layout import PersistenceConfig
from reference_impl.persistence.redact import redact
from reference_impl.persistence.store import SessionStore

if TYPE_CHECKING:
    from reference_impl.orchestrator import Agent


class PersistenceComponent(Component):
    """See the module docstring."""

    #: The store of one session (seam: known-bads swap in a broken subclass).
    store_type: type[SessionStore] = SessionStore

    def __init__(self, world: World, config: PersistenceConfig) -> None:
        self.world = world
        self.config = config
        self.stores: dict[str, SessionStore] = {}
        #: Turns started and not completed, per agent (the cancellation test).
        self.in_flight: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    # -- hooks -----------------------------------------------------------------

    def on_spawn(self, agent: Agent) -> None:
        if not self.enabled:
            return
        store = self.store_type(agent.home, agent.session_id, self.config)
        self.stores[agent.agent_id] = store
        store.open()
        self.in_flight[agent.agent_id] = 1
        store.debug(self._now(), f"started ({agent.backend.value}, agent {agent.agent_id})")

    def on_send(self, agent: Agent, prompt: str, turn_id: str) -> None:
        store = self.stores.get(agent.agent_id)
        if store is None:
            return
        self.in_flight[agent.agent_id] = self.in_flight.get(agent.agent_id, 0) + 1
        store.debug(self._now(), f"prompt submitted (turn {turn_id})")

    def on_notification(self, agent: Agent, note: Notification) -> None:
        store = self.stores.get(agent.agent_id)
        if store is None:
            return
        if note.kind is NotificationKind.MODEL_EXCHANGE:
            store.raw_exchange(self._record(
                note, request=self.redact(note.data.get("request")),
                response=self.redact(note.data.get("response"))))
        elif note.kind is NotificationKind.APPROVAL:
            store.meta(self._record(note, type="approval",
                                    event=self.redact(note.data.get("event"))))
        elif note.kind is NotificationKind.TURN_COMPLETE:
            self.in_flight[agent.agent_id] = max(0, self.in_flight.get(agent.agent_id, 0) - 1)
            store.debug(note.time, f"turn {note.turn_id} complete")
        elif note.kind is NotificationKind.PROCESS_EXITED:
            self.in_flight[agent.agent_id] = 0
            store.debug(note.time, f"process exited with {note.data.get('exit_code')}")

    def on_transcript(self, agent: Agent) -> None:
        store = self.stores.get(agent.agent_id)
        if store is None or agent.transcript is None:
            return
        self.adopt_rollout(store, agent)

    def on_end(self, agent: Agent, reason: str) -> None:
        store = self.stores.get(agent.agent_id)
        if store is None:
            return
        running = self.in_flight.get(agent.agent_id, 0)
        if running and reason in ("close", "shutdown"):
            self.record_cancellation(store, agent, reason, running)
        self.in_flight[agent.agent_id] = 0
        store.debug(self._now(), f"ended ({reason})")

    def on_resume(self, agent: Agent) -> None:
        store = self.stores.get(agent.agent_id)
        if store is None:
            return
        store.open()
        self.in_flight[agent.agent_id] = 0
        store.debug(self._now(), "resumed")

    # -- seams -----------------------------------------------------------------

    def redact(self, value: Any) -> Any:
        """What of a body may reach the disk (see :mod:`.redact`)."""
        return redact(value)

    def adopt_rollout(self, store: SessionStore, agent: Agent) -> None:
        """Move the agent's rollout into its session directory, linked back."""
        if agent.transcript is not None:
            store.adopt(agent.transcript)

    def record_cancellation(self, store: SessionStore, agent: Agent, reason: str,
                            running: int) -> None:
        store.meta({"time": iso_utc(self._now()), "type": "cancellation",
                    "session_id": agent.session_id, "turn_id": None, "reason": reason,
                    "turns_in_flight": running})

    # -- helpers ---------------------------------------------------------------

    def _record(self, note: Notification, **fields: Any) -> Mapping[str, Any]:
        return {"time": iso_utc(note.time), "session_id": note.session_id,
                "turn_id": note.turn_id, **fields}

    def _now(self) -> float:
        return self.world.clock.now()
