"""When may a session be polled, and what does "not found" mean? (seed 002)

One :class:`SessionTracker` per sub-agent session holds an explicit state and moves
only along the transitions in :data:`TRANSITIONS`; anything else raises
:class:`InvalidTransition`, so a monitor-loop bug surfaces as an error instead of a
silently wrong cleanup.

States:

* ``UNOBSERVABLE``: a Codex session before its first-turn notification. Its rollout
  file may not exist; polling is forbidden and not-found means "not yet".
* ``PENDING``: may be polled; the native file has not been found yet. Not-found
  means "not yet" (Claude Code and Gemini CLI take about a second to write theirs).
* ``OBSERVABLE``: the native file was found.
* ``SUSPECTED_HUNG``: the first turn outlasted the deadline; reported, kept.
* ``ENDED``: a positive end signal arrived (process exit, close, shutdown).

Not-found is never a transition to ``ENDED`` from any state.
"""

from __future__ import annotations

import enum

from conformance.contract import AgentState, BackendKind


class ObsState(enum.Enum):
    UNOBSERVABLE = "unobservable"
    PENDING = "pending"
    OBSERVABLE = "observable"
    SUSPECTED_HUNG = "suspected-hung"
    ENDED = "ended"


class ObsEvent(enum.Enum):
    FIRST_TURN_NOTIFIED = "first-turn-notified"
    TURN_NOTIFIED = "turn-notified"
    FOUND = "found"
    NOT_FOUND = "not-found"
    DEADLINE_PASSED = "deadline-passed"
    END_SIGNAL = "end-signal"
    RESUMED = "resumed"


class InvalidTransition(RuntimeError):
    """An event arrived in a state that has no transition for it."""

    def __init__(self, state: ObsState, event: ObsEvent) -> None:
        super().__init__(f"no transition from {state.value} on {event.value}")
        self.state = state
        self.event = event


S, E = ObsState, ObsEvent

#: Every allowed (state, event) pair and where it leads. Nothing else is allowed.
TRANSITIONS: dict[tuple[ObsState, ObsEvent], ObsState] = {
    (S.UNOBSERVABLE, E.FIRST_TURN_NOTIFIED): S.PENDING,
    (S.UNOBSERVABLE, E.DEADLINE_PASSED): S.SUSPECTED_HUNG,
    (S.UNOBSERVABLE, E.END_SIGNAL): S.ENDED,
    (S.PENDING, E.FIRST_TURN_NOTIFIED): S.PENDING,
    (S.PENDING, E.TURN_NOTIFIED): S.PENDING,
    (S.PENDING, E.FOUND): S.OBSERVABLE,
    (S.PENDING, E.NOT_FOUND): S.PENDING,
    (S.PENDING, E.DEADLINE_PASSED): S.SUSPECTED_HUNG,
    (S.PENDING, E.END_SIGNAL): S.ENDED,
    (S.OBSERVABLE, E.FIRST_TURN_NOTIFIED): S.OBSERVABLE,
    (S.OBSERVABLE, E.TURN_NOTIFIED): S.OBSERVABLE,
    (S.OBSERVABLE, E.FOUND): S.OBSERVABLE,
    # The file vanished: still not an end signal. Keep the session, keep looking.
    (S.OBSERVABLE, E.NOT_FOUND): S.OBSERVABLE,
    (S.OBSERVABLE, E.DEADLINE_PASSED): S.SUSPECTED_HUNG,
    (S.OBSERVABLE, E.END_SIGNAL): S.ENDED,
    (S.SUSPECTED_HUNG, E.FIRST_TURN_NOTIFIED): S.PENDING,
    (S.SUSPECTED_HUNG, E.FOUND): S.SUSPECTED_HUNG,
    (S.SUSPECTED_HUNG, E.NOT_FOUND): S.SUSPECTED_HUNG,
    (S.SUSPECTED_HUNG, E.END_SIGNAL): S.ENDED,
    (S.ENDED, E.END_SIGNAL): S.ENDED,
    (S.ENDED, E.RESUMED): S.PENDING,
}


class SessionTracker:
    """The observability state of one session, with its first-turn deadline."""

    def __init__(self, kind: BackendKind, started_at: float, deadline: float) -> None:
        self.kind = kind
        self.started_at = started_at
        self.deadline = deadline
        self.first_turn_done = False
        self.state = ObsState.UNOBSERVABLE if kind is BackendKind.CODEX else ObsState.PENDING

    def fire(self, event: ObsEvent) -> ObsState:
        """Apply ``event``; raise :class:`InvalidTransition` if it is not allowed here."""
        try:
            target = TRANSITIONS[(self.state, event)]
        except KeyError:
            raise InvalidTransition(self.state, event) from None
        if event is ObsEvent.FIRST_TURN_NOTIFIED:
            self.first_turn_done = True
        self.state = target
        return target

    def may_poll(self) -> bool:
        """Whether ``get_session_data`` may be called now.

        Never for Codex before its first-turn notification, whatever the state.
        """
        if self.kind is BackendKind.CODEX and not self.first_turn_done:
            return False
        return self.state in (ObsState.PENDING, ObsState.OBSERVABLE, ObsState.SUSPECTED_HUNG)

    def deadline_passed(self, now: float) -> bool:
        """Whether the first turn has outlasted its deadline and is not yet reported."""
        return (not self.first_turn_done and now - self.started_at > self.deadline
                and self.state in (ObsState.UNOBSERVABLE, ObsState.PENDING,
                                   ObsState.OBSERVABLE))

    @property
    def reported_state(self) -> AgentState:
        """What the orchestrator reports for this state."""
        if self.state is ObsState.ENDED:
            return AgentState.ENDED
        if self.state is ObsState.SUSPECTED_HUNG:
            return AgentState.SUSPECTED_HUNG
        if self.state is ObsState.OBSERVABLE or self.first_turn_done:
            return AgentState.RUNNING
        return AgentState.STARTING
