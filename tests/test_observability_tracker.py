"""The reference's session tracker (seed 002): an explicit state machine whose only
way to ``ENDED`` is a positive end signal, and which never lets a Codex session be
polled before its first-turn notification."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.contract import AgentState, BackendKind
from reference_impl.observability import (
    TRANSITIONS,
    InvalidTransition,
    ObsEvent,
    ObsState,
    SessionTracker,
)

#: Derandomized: the same examples on every run and every machine.
PROPERTY = settings(max_examples=300, deadline=None, derandomize=True, database=None)

DEADLINE = 60.0

MISSING = [pair for pair in itertools.product(ObsState, ObsEvent) if pair not in TRANSITIONS]


def tracker_in(state: ObsState, kind: BackendKind = BackendKind.CLAUDE) -> SessionTracker:
    tracker = SessionTracker(kind, started_at=0.0, deadline=DEADLINE)
    tracker.state = state
    return tracker


def apply(tracker: SessionTracker, event: ObsEvent) -> None:
    """Fire ``event``; an invalid one must raise and leave the state as it was."""
    before = tracker.state
    try:
        tracker.fire(event)
    except InvalidTransition as error:
        assert (error.state, error.event) == (before, event)
        assert tracker.state is before


def test_the_table_is_not_trivially_complete() -> None:
    assert MISSING, "every pair allowed: the tracker would accept any event anywhere"


@pytest.mark.parametrize(("state", "event"), MISSING,
                         ids=[f"{s.value}-on-{e.value}" for s, e in MISSING])
def test_pairs_outside_the_table_are_refused(state: ObsState, event: ObsEvent) -> None:
    tracker = tracker_in(state)
    with pytest.raises(InvalidTransition, match=f"from {state.value} on {event.value}"):
        tracker.fire(event)
    assert tracker.state is state


@pytest.mark.parametrize(("pair", "target"), list(TRANSITIONS.items()),
                         ids=[f"{s.value}-on-{e.value}" for s, e in TRANSITIONS])
def test_pairs_in_the_table_lead_where_it_says(
    pair: tuple[ObsState, ObsEvent], target: ObsState
) -> None:
    state, event = pair
    tracker = tracker_in(state)
    assert tracker.fire(event) is target
    assert tracker.state is target


def test_only_an_end_signal_leads_to_ended() -> None:
    into_ended = {event for (state, event), target in TRANSITIONS.items()
                  if target is ObsState.ENDED}
    assert into_ended == {ObsEvent.END_SIGNAL}
    assert all(target is not ObsState.ENDED for (_, event), target in TRANSITIONS.items()
               if event is ObsEvent.NOT_FOUND)


@PROPERTY
@given(kind=st.sampled_from(BackendKind),
       events=st.lists(st.sampled_from([e for e in ObsEvent if e is not ObsEvent.END_SIGNAL]),
                       max_size=30))
def test_without_an_end_signal_a_session_never_ends(
    kind: BackendKind, events: list[ObsEvent]
) -> None:
    tracker = SessionTracker(kind, started_at=0.0, deadline=DEADLINE)
    for event in events:
        apply(tracker, event)
        assert tracker.state is not ObsState.ENDED
        assert tracker.reported_state is not AgentState.ENDED


@PROPERTY
@given(events=st.lists(
    st.sampled_from([e for e in ObsEvent if e is not ObsEvent.FIRST_TURN_NOTIFIED]),
    max_size=30))
def test_codex_is_never_pollable_before_its_first_turn_notification(
    events: list[ObsEvent],
) -> None:
    tracker = SessionTracker(BackendKind.CODEX, started_at=0.0, deadline=DEADLINE)
    assert not tracker.may_poll()
    for event in events:
        apply(tracker, event)
        assert not tracker.may_poll(), f"pollable in {tracker.state.value} after {event.value}"


@pytest.mark.parametrize("kind", [BackendKind.CLAUDE, BackendKind.GEMINI])
def test_claude_and_gemini_may_be_polled_from_the_start(kind: BackendKind) -> None:
    tracker = SessionTracker(kind, started_at=0.0, deadline=DEADLINE)
    assert tracker.state is ObsState.PENDING and tracker.may_poll()


def test_codex_becomes_pollable_with_its_first_turn_notification() -> None:
    tracker = SessionTracker(BackendKind.CODEX, started_at=0.0, deadline=DEADLINE)
    assert tracker.state is ObsState.UNOBSERVABLE
    assert tracker.reported_state is AgentState.STARTING
    tracker.fire(ObsEvent.FIRST_TURN_NOTIFIED)
    assert tracker.may_poll() and tracker.reported_state is AgentState.RUNNING


def test_deadline_is_strict_and_reported_once() -> None:
    tracker = SessionTracker(BackendKind.CODEX, started_at=100.0, deadline=DEADLINE)
    assert not tracker.deadline_passed(100.0 + DEADLINE)
    assert tracker.deadline_passed(100.0 + DEADLINE + 1)
    tracker.fire(ObsEvent.DEADLINE_PASSED)
    assert tracker.reported_state is AgentState.SUSPECTED_HUNG
    assert not tracker.deadline_passed(100.0 + DEADLINE + 1)
    # A late first turn clears the suspicion; the deadline never fires again.
    tracker.fire(ObsEvent.FIRST_TURN_NOTIFIED)
    assert tracker.state is ObsState.PENDING
    assert not tracker.deadline_passed(10_000.0)
