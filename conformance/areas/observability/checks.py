"""Observability invariants OBS-001..OBS-005 (seed 002, ``shared/REAL_BACKENDS.md``).

Ending a session without a positive end signal is one mistake with three faces;
each premature end is attributed to exactly one invariant, the most specific that
covers the moment it happened:

* the first turn outlasted the deadline: OBS-005 (a hung worker silently ended);
* a Codex session before its first turn completed: OBS-001;
* anything else (Claude Code, Gemini CLI, Codex after its first turn): OBS-004.

A positive end signal is a process exit, a close or a shutdown; "ending" is an
``end_session`` call or deleting the session's home, working directory or file. The
orchestrator may also end a session that is idle (:func:`idle_at`): every prompt it
took had its turn reported complete, as a workflow ends a worker whose step is done;
then it may clean up after it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from conformance.areas.observability.machine import ObservabilityMachine
from conformance.contract import AgentState, BackendKind
from conformance.errors import InvariantViolation
from conformance.harness import AgentRecord, Harness
from conformance.stateful import step_check


@dataclass(frozen=True)
class PrematureEnd:
    record: AgentRecord
    at: float
    what: str


def idle_at(harness: Harness, record: AgentRecord, seq: int) -> bool:
    """Whether the agent's session was idle just before timeline entry ``seq``: every
    prompt it took (its first, and each send that went through) had its turn reported
    complete to the orchestrator (a ``notify:turn_complete`` entry) before it. Ending
    such a worker loses nothing: its answer was told, its session file is complete."""
    calls = [c for c in harness.calls.for_session(record.session.session_id) if c.seq < seq]
    prompts = 1 + sum(1 for c in calls if c.op == "send" and c.outcome == "ok")
    told = sum(1 for c in calls if c.op == "notify:turn_complete")
    return told >= prompts


def _ended_idle(harness: Harness, record: AgentRecord, at: float) -> bool:
    """Whether the orchestrator ended the agent's idle session by ``at``."""
    return any(c.op == "end_session" and c.time <= at and idle_at(harness, record, c.seq)
               for c in harness.calls.for_session(record.session.session_id))


def premature_ends(harness: Harness) -> Iterator[PrematureEnd]:
    """Every end or cleanup of a session that no positive end signal covered (nor the
    session's being idle: :func:`idle_at`)."""
    for record in harness.agents.values():
        session = record.session
        for call in harness.calls.for_session(session.session_id):
            if call.op == "end_session" and not harness.ended_positively(
                    record, call.time, call.seq) and not idle_at(harness, record, call.seq):
                yield PrematureEnd(record, call.time, f"the orchestrator called {call}")
        gone = harness.gone.get(session.session_id)
        if gone is not None and not harness.ended_positively(record, gone[0]) \
                and not _ended_idle(harness, record, gone[0]):
            paths = ", ".join(str(p) for p in gone[1])
            yield PrematureEnd(record, gone[0], f"the orchestrator deleted {paths}")
        elif session.vanished_at is not None and not harness.ended_positively(
                record, session.vanished_at) and not _ended_idle(
                harness, record, session.vanished_at):
            yield PrematureEnd(record, session.vanished_at,
                               "the session's home or working directory was deleted")


def attributed_to(harness: Harness, end: PrematureEnd) -> str:
    """The one invariant a premature end breaks (see the module docstring)."""
    session = end.record.session
    done = session.first_turn_completed_at
    first_turn_done = done is not None and done <= end.at
    deadline = harness.world.settings.first_turn_deadline
    # A hung worker is one whose first turn outlasted the deadline while it ran: the
    # first process's life ends at its first end or exit (a resumed process runs no
    # first turn), so a session ended early and resumed later never was one.
    first_life_end = min([c.time for c in harness.calls.for_session(session.session_id)
                          if c.op == "end_session"] + list(session.exits),
                         default=float("inf"))
    first_turn_age = min(end.at, first_life_end) - session.started_at
    if not first_turn_done and first_turn_age > deadline:
        return "OBS-005"
    if session.kind is BackendKind.CODEX and not first_turn_done:
        return "OBS-001"
    return "OBS-004"


def _raise_premature(harness: Harness, invariant_id: str, why: str) -> None:
    for end in premature_ends(harness):
        if attributed_to(harness, end) == invariant_id:
            session = end.record.session
            raise InvariantViolation(invariant_id, (
                f"{end.record.agent_id} ({session.kind.value} session {session.session_id}, "
                f"started {harness.describe(session.started_at)}) was ended at "
                f"{harness.describe(end.at)} with no process exit, close or shutdown: "
                f"{end.what}. {why}\n  timeline:\n"
                f"{harness.timeline(session.session_id)}"))


def _first_notification(harness: Harness, session_id: str) -> int | None:
    for call in harness.calls.for_session(session_id):
        if call.op == "notify:turn_complete":
            return call.seq
    return None


@step_check("OBS-001", ObservabilityMachine)
def codex_not_found_is_not_ended(harness: Harness) -> None:
    _raise_premature(harness, "OBS-001", (
        "Expected: a Codex session's not-found before its first turn completes means "
        "'not yet' (its rollout file does not exist until then), never 'ended'."))


@step_check("OBS-002", ObservabilityMachine)
def codex_not_polled_before_first_turn(harness: Harness) -> None:
    for record in harness.agents.values():
        session = record.session
        if session.kind is not BackendKind.CODEX:
            continue
        notified = _first_notification(harness, session.session_id)
        for call in harness.calls.for_session(session.session_id):
            if call.op == "get_session_data" and (notified is None or call.seq < notified):
                raise InvariantViolation("OBS-002", (
                    f"{record.agent_id}'s Codex session {session.session_id} was polled "
                    f"({call}) before its first-turn notification "
                    f"({'none yet' if notified is None else f'entry #{notified}'}). "
                    "Expected: wait for the turn-complete notification, then look it up.\n"
                    f"  timeline:\n{harness.timeline(session.session_id)}"))


def _ended_before(harness: Harness, record: AgentRecord, notified: int, now: float) -> bool:
    """Whether the agent is ended for OBS-003's purpose. In-process: ended by now. For
    an orchestrator that runs processes, ended before it was told of the first turn: a
    one-prompt CLI exits right after its turn, and the orchestrator hears of both at
    the same call, the turn first; it knows of a session with a file on disk."""
    if harness.puppets is None:
        return harness.ended_positively(record, now)
    exits = [c.seq for c in harness.calls.for_session(record.session.session_id)
             if c.op == "notify:process_exited"]
    return any(seq < notified for seq in (*exits, *(s for _, s in record.close_marks)))


@step_check("OBS-003", ObservabilityMachine)
def session_found_after_first_turn(harness: Harness) -> None:
    now = harness.now()
    listed: set[str] | None = None
    for record in harness.agents.values():
        session = record.session
        notified = _first_notification(harness, session.session_id)
        if notified is None or _ended_before(harness, record, notified, now):
            continue
        # A tick after both the notification and the file's appearance (a Codex
        # profile may write its rollout later than the notification).
        appeared = session.materialized_at
        if appeared is None or not session.path.is_file():
            continue
        # A resumed session is judged from the first tick of its new life on: the
        # orchestrator may look it up again then (a resume changes nothing on disk).
        since = max([appeared, *session.resumed_at])
        if not harness.ticks_since(since, notified):
            continue
        view = harness.view(record.agent_id)
        expected = (f"Expected: after the first-turn notification and a monitor tick, "
                    f"session({record.agent_id!r}) reports session id {session.session_id} "
                    f"and transcript {session.path}")
        if view is None:
            raise InvariantViolation("OBS-003", f"session({record.agent_id!r}) returned None. "
                                     f"{expected}.")
        transcript = view.transcript.resolve() if view.transcript else None
        if view.session_id != session.session_id or transcript != session.path.resolve():
            raise InvariantViolation("OBS-003", (
                f"session({record.agent_id!r}) reports session id {view.session_id!r} and "
                f"transcript {view.transcript}, state {view.state.value}. {expected}."))
        if listed is None:
            listed = {v.agent_id for v in harness.views()}
        if record.agent_id not in listed:
            raise InvariantViolation("OBS-003", (
                f"sessions() lists {sorted(listed)} without {record.agent_id!r}, whose first "
                f"turn completed. Expected every observable session in sessions()."))


@step_check("OBS-005", ObservabilityMachine)
def hung_worker_reported_and_kept(harness: Harness) -> None:
    _raise_premature(harness, "OBS-005", (
        "Expected: a worker whose first turn outlasts the deadline is reported "
        "suspected hung and kept for debugging, not silently ended."))
    deadline = harness.world.settings.first_turn_deadline
    now = harness.now()
    views = {v.agent_id: v for v in harness.views()}
    for record in harness.agents.values():
        session = record.session
        view = views.get(record.agent_id)
        # (One reported hung after its notification arrived did not hear it: OBS-003's.)
        if view is not None and view.state is AgentState.SUSPECTED_HUNG and (
                now - session.started_at <= deadline):
            raise InvariantViolation("OBS-005", (
                f"{record.agent_id} is reported suspected hung, but its first turn has run "
                f"{now - session.started_at:.1f}s, within the {deadline:g}s deadline. "
                "Expected suspected_hung only for a worker whose first turn outlasted the "
                "deadline."))
    for record in harness.agents.values():
        session = record.session
        due = session.started_at + deadline
        if session.first_turn_completed_at is not None or harness.ended_positively(record, now):
            continue
        if not session.alive:
            # Ended by the orchestrator: not hung but killed, and that premature end
            # is attributed above, to one invariant only.
            continue
        ticked_after = any(c.op == "harness:tick" and c.time > due for c in harness.calls.calls)
        if not ticked_after:
            continue
        view = harness.view(record.agent_id)
        if view is None or view.state is not AgentState.SUSPECTED_HUNG:
            found = "no view" if view is None else f"state {view.state.value}"
            raise InvariantViolation("OBS-005", (
                f"{record.agent_id}'s first turn has run {now - session.started_at:.1f}s, past "
                f"the {deadline:g}s deadline, and the orchestrator ticked after it, yet "
                f"session({record.agent_id!r}) shows {found}. Expected state "
                f"{AgentState.SUSPECTED_HUNG.value}."))


@step_check("OBS-004", ObservabilityMachine)
def end_only_on_positive_signal(harness: Harness) -> None:
    _raise_premature(harness, "OBS-004", (
        "Expected: end_session and cleanup only after a process exit, a notification or "
        "an explicit close; a failed lookup alone is never an end signal, for any backend "
        "(Claude Code and Gemini CLI also take about a second to write their first file)."))
