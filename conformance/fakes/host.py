"""The engine behind every fake backend: sessions, time, native files, notifications.

A :class:`FakeSessionHost` plays one agent CLI. It starts sessions, writes their
native session files in the real layout (delegated to a :class:`NativeFormat`) at
the moment its :class:`~conformance.fakes.profiles.BackendProfile` says, streams
updates during turns, notifies subscribers when a turn completes or the process
exits, and records every call made on it with its time.

Lookups go to the file system for real: ``get_session_data`` answers not-found
exactly when the native file does not exist on disk, so an orchestrator that
deletes files sees the consequences, and one that polls too early sees "not yet".

Where a file lands is the rule of :mod:`conformance.native` (the formats call it),
in the process's local time zone where the real CLI uses it: the harness runs every
world away from UTC (:mod:`conformance.clock`), so a path derived the wrong way does
not exist.
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from conformance.clock import HarnessClock
from conformance.contract import BackendKind, Notification, NotificationKind, SessionData
from conformance.errors import BackendError, SessionNotFound
from conformance.fakes.calls import Call, CallLog
from conformance.fakes.ids import uuid4_from
from conformance.fakes.profiles import STAGE_GAP, BackendProfile, FileAppears, default_profile
from conformance.fakes.scheduler import Scheduler
from conformance.fakes.script import Responder, TurnScript, default_responder, silent
from conformance.faults.injection import exempt

JsonLine = dict[str, Any]

#: The least time between a first model request and its answer (seconds).
MODEL_ANSWER_MIN = 0.5

#: The ``logs`` table of Codex's ``logs_2.sqlite`` (CLI 0.169/0.171), as measured.
LOGS_TABLE = (
    "CREATE TABLE IF NOT EXISTS logs (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "ts INTEGER NOT NULL, ts_nanos INTEGER NOT NULL, level TEXT NOT NULL, "
    "target TEXT NOT NULL, feedback_log_body TEXT, module_path TEXT, file TEXT, "
    "line INTEGER, thread_id TEXT, process_uuid TEXT, "
    "estimated_bytes INTEGER NOT NULL DEFAULT 0)"
)


@dataclass
class FakeTurn:
    """One turn of a fake session."""

    index: int
    turn_id: str
    prompt: str
    started_at: float
    script: TurnScript
    #: ``None`` while running or for a turn that hangs.
    completed_at: float | None = None
    #: The session's process generation the turn belongs to: a turn of an ended
    #: process never completes, and is not "in flight" after a resume.
    generation: int = 0
    #: The first turn of a resumed process (``claude -p --resume``: its lines differ).
    after_resume: bool = False
    #: When the turn completes, once it is scheduled (``None`` while queued or if it
    #: hangs): what a story that waits for the turn's end waits for.
    due_at: float | None = None
    #: Where its completion sits in the timeline (between two entries, as the
    #: session's ``exit_marks`` do): what orders it against a call of the same instant.
    completed_seq: float | None = None


@dataclass
class FakeSession:
    """The fake's full knowledge of one session; checks read it, orchestrators cannot."""

    session_id: str
    kind: BackendKind
    profile: BackendProfile
    home: Path
    cwd: Path
    env: Mapping[str, str]
    started_at: float
    #: The harness agent this session was started for (attributed during ``spawn``).
    agent_id: str | None
    path: Path
    turns: list[FakeTurn] = field(default_factory=list)
    #: Lines not on disk yet (Codex keeps its rollout in memory until it materializes).
    buffer: list[str] = field(default_factory=list)
    materialized_at: float | None = None
    alive: bool = True
    exited_at: float | None = None
    ended_at: float | None = None
    resumed_at: list[float] = field(default_factory=list)
    #: Follow-up turns waiting for the running turn to complete.
    queued: list[FakeTurn] = field(default_factory=list)
    #: Every time the process exited (a resumed session can exit again), and how.
    exits: list[float] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)
    #: Where each life of the process starts and each exit falls in the world's
    #: timeline, as ``(time, position)``: a position orders events of the same instant
    #: (see :meth:`conformance.harness.Harness.ended_positively`).
    life_marks: list[tuple[float, float]] = field(default_factory=list)
    exit_marks: list[tuple[float, float]] = field(default_factory=list)
    first_turn_completed_at: float | None = None
    #: Harness time the first TURN_COMPLETE notification was delivered.
    first_notified_at: float | None = None
    #: Set the first time a write found the session's home or cwd deleted.
    vanished_at: float | None = None
    #: Bumped by end/resume so events scheduled for an earlier process are dropped.
    generation: int = 0
    #: Every line this session's process wrote, with the resolved path it landed in
    #: (native file, history, logs, scratch files): what the agent wrote, and where.
    written: list[tuple[Path, str]] = field(default_factory=list)
    #: The lines of the native session file, in the order they were written.
    native_lines: list[str] = field(default_factory=list)
    #: Lines the process could not write, with where and why.
    lost: list[tuple[Path, str, str]] = field(default_factory=list)
    #: Reasons the next sends fail with although the process runs (a rate limit, a
    #: prompt too long): see :meth:`FakeSessionHost.refuse_sends`.
    refusals: list[str] = field(default_factory=list)
    #: The prompts of sends that failed (no process, or refused), in order.
    failed_prompts: list[str] = field(default_factory=list)
    #: Where the process keeps scratch files (``$TMPDIR``, else the world's stand-in
    #: for the system temporary directory); ``None`` when it writes none.
    scratch_dir: Path | None = None
    #: The next envelope ``ordinal`` (Codex numbers every rollout line from 0).
    ordinal: int = 0
    #: Lines written to the file are held back (a staged open shows part of the
    #: opening first; the rest follows :data:`~conformance.fakes.profiles.STAGE_GAP`
    #: seconds later).
    holding: bool = False
    #: The records of a one-document format (Gemini CLI 0.36), rewritten whole.
    records: list[JsonLine] = field(default_factory=list)
    #: The format's own state (Claude Code's ``parentUuid`` chain, Gemini's short name).
    state: dict[str, Any] = field(default_factory=dict)
    #: Native files other than :attr:`path` the backend wrote for this session (a
    #: Gemini chat resumed in a later minute starts a second, nearly empty one).
    other_files: list[Path] = field(default_factory=list)

    @property
    def first_turn_complete(self) -> bool:
        return self.first_turn_completed_at is not None

    def turn(self, turn_id: str) -> FakeTurn:
        for t in self.turns:
            if t.turn_id == turn_id:
                return t
        raise KeyError(turn_id)


class NativeFormat(Protocol):
    """Where and what one CLI writes, as measured in ``shared/REAL_BACKENDS.md``.

    Line methods return records in write order; the host encodes them one per line
    (JSON Lines) or, for a session whose profile has ``document_format``, keeps them
    in :attr:`FakeSession.records` and rewrites the file as :meth:`document` renders.
    """

    kind: BackendKind

    def session_id(self, seed: str, now: float) -> str:
        """A new native session id (deterministic in ``seed``)."""
        ...

    def turn_id(self, session: FakeSession, index: int, at: float) -> str: ...

    def path(self, session: FakeSession) -> Path: ...

    def start(self, session: FakeSession) -> None:
        """Side effects of the process start (Gemini CLI registers the project)."""
        ...

    def opening_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]: ...

    def staged_first(self, session: FakeSession) -> int:
        """How many opening lines a staged open shows first."""
        ...

    def follow_up_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]: ...

    def completion_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]: ...

    def resume_lines(self, session: FakeSession, at: float) -> list[JsonLine]:
        """Lines a resumed process writes when it starts, before any prompt."""
        ...

    def resume_file(self, session: FakeSession, at: float) -> tuple[Path, list[JsonLine]] | None:
        """A second native file a resumed process starts, with its lines (or none)."""
        ...

    def document(self, session: FakeSession) -> str:
        """The whole file of a one-document format, from ``session.records``."""
        ...

    def history_line(self, session: FakeSession, turn: FakeTurn) -> JsonLine | None: ...

    def log_line(self, session: FakeSession, message: str) -> str | None: ...

    def log_store(self, session: FakeSession) -> Path | None:
        """An SQLite log database to write log lines into (Codex's ``logs_2.sqlite``);
        ``None`` writes them as text to ``<home>/log/<kind>.log``."""
        ...

    def notification(self, session: FakeSession, turn: FakeTurn) -> dict[str, Any]:
        """The turn-complete payload (Codex's ``notify`` JSON argument)."""
        ...


class FormatDefaults:
    """What most formats do: the defaults of :class:`NativeFormat`'s optional parts."""

    kind: BackendKind

    def session_id(self, seed: str, now: float) -> str:
        return uuid4_from(seed)

    def start(self, session: FakeSession) -> None:
        return None

    def staged_first(self, session: FakeSession) -> int:
        return 0

    def resume_lines(self, session: FakeSession, at: float) -> list[JsonLine]:
        return []

    def resume_file(self, session: FakeSession, at: float) -> tuple[Path, list[JsonLine]] | None:
        return None

    def document(self, session: FakeSession) -> str:
        raise NotImplementedError(f"{self.kind.value} writes no one-document format")

    def history_line(self, session: FakeSession, turn: FakeTurn) -> JsonLine | None:
        return None

    def log_line(self, session: FakeSession, message: str) -> str | None:
        return None

    def log_store(self, session: FakeSession) -> Path | None:
        return None

    def notification(self, session: FakeSession, turn: FakeTurn) -> dict[str, Any]:
        """Codex's ``notify`` payload, which the harness's notifications follow for
        every backend: ``input-messages`` holds every prompt of the thread so far."""
        return {
            "type": "agent-turn-complete",
            "thread-id": session.session_id,
            "turn-id": turn.turn_id,
            "cwd": str(session.cwd),
            "input-messages": [t.prompt for t in session.turns[:turn.index + 1]],
            "last-assistant-message": turn.script.final,
        }


def turn_end(session: FakeSession, turn: FakeTurn) -> float:
    """When ``turn`` completes: its scheduled moment, or for a turn not scheduled yet
    (queued behind another) the earliest it could, its profile's duration after the
    turn ahead of it ends. A story that waits for a turn waits for this, so it never
    guesses the moment from the profile alone (a first turn of Claude Code or Gemini
    CLI also waits for its file)."""
    if turn.due_at is not None:
        return turn.due_at
    ahead = [t.due_at for t in session.turns[:turn.index]
             if t.due_at is not None and t.completed_at is None]
    start = max([turn.started_at, *ahead])
    return start + session.profile.turn_duration


def iso_utc(timestamp: float) -> str:
    """``2026-03-14T09:26:53.000Z``, the timestamp form of the real files."""
    moment = _dt.datetime.fromtimestamp(timestamp, tz=_dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class FakeSessionHost:
    """A fake agent CLI with the session-host operations orchestrators use."""

    def __init__(
        self,
        fmt: NativeFormat,
        *,
        clock: HarnessClock,
        scheduler: Scheduler,
        calls: CallLog,
        world_token: str = "world",
        profile: BackendProfile | None = None,
        responder: Responder = default_responder,
        scratch_root: Path | None = None,
    ) -> None:
        self.format = fmt
        self.kind: BackendKind = fmt.kind
        self.clock = clock
        self.scheduler = scheduler
        self.calls = calls
        self.profile = profile or default_profile(fmt.kind)
        self.responder = responder
        self.sessions: dict[str, FakeSession] = {}
        self._token = world_token
        self._subscribers: list[Callable[[Notification], None]] = []
        self._watchers: list[Callable[[Notification], None]] = []
        self._next_agent: str | None = None
        self._next_profile: BackendProfile | None = None
        self._at_next_start: Callable[[str], None] | None = None
        self.delivered: list[Notification] = []
        #: Set when the orchestrator runs processes: it is told of a notification not
        #: when the host fires it but at its next call (see :meth:`tell_pending`).
        self.defer_telling = False
        #: Whether a turn's script asks its approvals (ACP permission round trips).
        #: The headless command lines the fake executables play ask none: Codex
        #: ``exec``, ``claude -p`` and ``gemini -p`` decide by their flags alone.
        self.asks_approvals = True
        self._untold: list[tuple[int, Notification]] = []
        #: Stand-in for the system temporary directory, used by a process whose
        #: environment names no ``TMPDIR`` (as a real CLI would fall back to /tmp).
        self.scratch_root = scratch_root

    # -- harness side -------------------------------------------------------------

    def prepare(self, agent_id: str | None, profile: BackendProfile | None) -> None:
        """Attribute the next ``start_session`` to ``agent_id`` with ``profile``."""
        self._next_agent = agent_id
        self._next_profile = profile

    def at_next_start(self, callback: Callable[[str], None] | None) -> None:
        """Call ``callback`` with the id of the next session started, once, before the
        backend writes anything (fault injection where the id is not known in advance:
        ``claude -p --session-id`` takes the orchestrator's)."""
        self._at_next_start = callback

    def name_session(self, tag: str) -> str:
        """A new session id for a session the CLI names before it starts it (ACP's
        ``session/new`` answers with one before any prompt); ``tag`` keeps it apart
        from every other."""
        return self.format.session_id(f"{self._token}:{self.kind.value}:{tag}",
                                      self.clock.now())

    def peek_session_id(self) -> str:
        """The session id the next ``start_session`` will return (for fault injection)."""
        return self._new_session_id()

    def exit_process(
        self, session_id: str, exit_code: int = 0, *, noticed_after: float = 0.0
    ) -> None:
        """Make the agent process exit now (a positive end signal for the orchestrator).

        With ``noticed_after`` > 0 the process is gone at once but its exit notification
        reaches subscribers only that many seconds later (unless the session was ended
        or resumed meanwhile): a crash the orchestrator has not noticed yet, during
        which a ``send`` to the session fails (seed 003's "parent thread already gone").
        """
        session = self.sessions[session_id]
        if session.alive:
            self._exit(session, exit_code, noticed_after)

    def refuse_sends(self, session_id: str, reason: str = "429 rate limited, retry later",
                     count: int = 1) -> None:
        """The next ``count`` sends to the session fail with ``BackendError`` although
        its process runs: a send fails for other reasons than a process gone."""
        self.sessions[session_id].refusals.extend([reason] * count)

    # -- the session-host operations ----------------------------------------------

    def start_session(
        self, *, prompt: str, home: Path, cwd: Path, env: Mapping[str, str] | None = None,
        session_id: str | None = None,
    ) -> str:
        """Start a session; ``session_id`` is one the caller chose (``claude -p
        --session-id``), else the CLI makes one."""
        now = self.clock.now()
        session_id = session_id or self._new_session_id()
        if self._at_next_start is not None:
            callback, self._at_next_start = self._at_next_start, None
            callback(session_id)
        profile = self._next_profile or self.profile
        self._next_profile = None
        session = FakeSession(
            session_id=session_id, kind=self.kind, profile=profile, home=Path(home),
            cwd=Path(cwd), env=dict(env or {}), started_at=now, agent_id=self._next_agent,
            path=Path(),
        )
        self._next_agent = None
        self.format.start(session)
        session.path = self.format.path(session)
        tmpdir = session.env.get("TMPDIR")
        session.scratch_dir = Path(tmpdir) if tmpdir else self.scratch_root
        self.sessions[session_id] = session
        started = self._record("start_session", session_id)
        session.life_marks.append((now, float(started.seq)))
        turn = self._new_turn(session, prompt)
        self._write(session, self.format.opening_lines(session, turn))
        self._write_history(session, turn)
        self._log(session, f"session {session_id} started")
        self._write_scratch(session, turn)
        if profile.file_appears is not FileAppears.FIRST_TURN_COMPLETE:
            gen = session.generation
            self.scheduler.after(
                profile.file_delay, lambda: self._materialize_if(session, gen), "file appears"
            )
        self._schedule_turn(session, turn, first=True)
        return session_id

    def get_session_data(self, session_id: str) -> SessionData:
        session = self.sessions.get(session_id)
        if session is None or not session.path.is_file():
            self._record("get_session_data", session_id, "SessionNotFound")
            raise SessionNotFound(self.kind.value, session_id)
        self._record("get_session_data", session_id)
        return self._data(session)

    def list_sessions(self) -> list[SessionData]:
        self._record("list_sessions", None)
        return [self._data(s) for s in self.sessions.values() if s.path.is_file()]

    def end_session(self, session_id: str) -> None:
        session = self.sessions.get(session_id)
        if session is None:
            self._record("end_session", session_id, "SessionNotFound")
            raise SessionNotFound(self.kind.value, session_id)
        self._record("end_session", session_id)
        if session.holding:
            self._release(session)  # what the process had written reaches the file
        if session.ended_at is None:
            session.ended_at = self.clock.now()
        session.queued.clear()
        session.generation += 1
        session.alive = False

    def send(self, session_id: str, prompt: str) -> str:
        session = self.sessions.get(session_id)
        if session is None:
            self._record("send", session_id, "SessionNotFound")
            raise SessionNotFound(self.kind.value, session_id)
        if not session.alive:
            session.failed_prompts.append(prompt)
            self._record("send", session_id, "BackendError")
            raise BackendError(f"{self.kind.value} session {session_id} has no running process")
        if session.refusals:
            reason = session.refusals.pop(0)
            session.failed_prompts.append(prompt)
            self._record("send", session_id, "BackendError")
            raise BackendError(f"{self.kind.value} session {session_id} refused the prompt: "
                               f"{reason}")
        self._record("send", session_id)
        # Only a turn of the current process can be running: one interrupted by an end
        # or exit died with its process, and a resumed process takes prompts at once.
        busy = any(t.completed_at is None and t.generation == session.generation
                   for t in session.turns)
        first_of_life = session.generation > 0 and not any(
            t.generation == session.generation for t in session.turns)
        turn = self._new_turn(session, prompt)
        turn.after_resume = first_of_life and bool(session.resumed_at)
        self._write_history(session, turn)
        if busy:
            # Queued behind the running turn, as the real CLIs do; a prompt queued
            # behind a hung turn never runs.
            session.queued.append(turn)
        else:
            self._begin(session, turn)
        return turn.turn_id

    def _begin(self, session: FakeSession, turn: FakeTurn) -> None:
        turn.started_at = self.clock.now()
        self._write(session, self.format.follow_up_lines(session, turn))
        self._write_scratch(session, turn)
        self._schedule_turn(session, turn, first=False)

    def resume_session(self, session_id: str) -> None:
        session = self.sessions.get(session_id)
        if session is None:
            self._record("resume_session", session_id, "SessionNotFound")
            raise SessionNotFound(self.kind.value, session_id)
        call = self._record("resume_session", session_id)
        if not session.alive:
            now = self.clock.now()
            session.alive = True
            session.generation += 1
            session.exited_at = None
            session.ended_at = None
            session.resumed_at.append(now)
            session.life_marks.append((call.time, float(call.seq)))
            if session.materialized_at is not None:
                # A resumed process opens the file it resumes (Gemini CLI writes a
                # second metadata record), and may start another one.
                self._write(session, self.format.resume_lines(session, now))
                extra = self.format.resume_file(session, now)
                if extra is not None:
                    path, lines = extra
                    session.other_files.append(path)
                    self._append_raw(session, path, [_dump(line) for line in lines])

    def subscribe(self, callback: Callable[[Notification], None]) -> None:
        self._record("subscribe", None)
        self._subscribers.append(callback)

    def watch(self, callback: Callable[[Notification], None]) -> None:
        """The harness's own subscription (it plays the fake processes): called before
        the orchestrator's callbacks, and not an entry of the timeline."""
        self._watchers.append(callback)

    def take_untold(self) -> list[tuple[int, Notification]]:
        """The notifications fired since the last call, each with the seq of its
        ``event:<kind>`` entry, for the harness to tell (``Harness.tell``)."""
        untold, self._untold = self._untold, []
        return untold

    # -- internals ----------------------------------------------------------------

    def _new_session_id(self) -> str:
        return self.format.session_id(f"{self._token}:{self.kind.value}:{len(self.sessions)}",
                                      self.clock.now())

    def _new_turn(self, session: FakeSession, prompt: str) -> FakeTurn:
        index = len(session.turns)
        script = self.responder(prompt, index, session.session_id)
        if session.profile.empty_final:
            script = silent(script)
        now = self.clock.now()
        turn = FakeTurn(index, self.format.turn_id(session, index, now), prompt, now, script,
                        generation=session.generation)
        session.turns.append(turn)
        return turn

    def _schedule_turn(self, session: FakeSession, turn: FakeTurn, *, first: bool) -> None:
        gen = session.generation
        duration = session.profile.turn_duration
        if first and session.kind is not BackendKind.CODEX:
            # Claude Code and Gemini CLI write their file at the first model request;
            # the answer comes after it, however short the profile's turns.
            duration = max(duration, session.profile.file_delay + MODEL_ANSWER_MIN)
        start = turn.started_at
        updates = turn.script.updates
        for i, update in enumerate(updates):
            due = start + duration * (i + 1) / (len(updates) + 1)
            self.scheduler.at(due, self._bind_update(session, gen, turn, update), "update")
        for request, response in turn.script.exchanges:
            self.scheduler.at(start + duration / 2, self._bind_exchange(
                session, gen, turn, request, response), "model exchange")
        for event in turn.script.approvals if self.asks_approvals else ():
            self.scheduler.at(start + duration * 0.3, self._bind_approval(
                session, gen, turn, event), "approval")
        if first and session.profile.hang_first_turn:
            return
        turn.due_at = start + duration
        self.scheduler.at(start + duration, lambda: self._complete(session, gen, turn),
                          "turn complete")

    def _bind_update(
        self, session: FakeSession, gen: int, turn: FakeTurn, update: Mapping[str, Any]
    ) -> Callable[[], None]:
        def emit() -> None:
            if session.generation == gen and session.alive:
                self._notify(NotificationKind.SESSION_UPDATE, session, turn.turn_id,
                             {"update": dict(update)})
        return emit

    def _bind_exchange(
        self, session: FakeSession, gen: int, turn: FakeTurn,
        request: Mapping[str, Any], response: Mapping[str, Any],
    ) -> Callable[[], None]:
        def emit() -> None:
            if session.generation == gen and session.alive:
                self._notify(NotificationKind.MODEL_EXCHANGE, session, turn.turn_id,
                             {"request": dict(request), "response": dict(response)})
        return emit

    def _bind_approval(
        self, session: FakeSession, gen: int, turn: FakeTurn, event: Mapping[str, Any],
    ) -> Callable[[], None]:
        def emit() -> None:
            if session.generation == gen and session.alive:
                self._notify(NotificationKind.APPROVAL, session, turn.turn_id,
                             {"event": dict(event)})
        return emit

    def _complete(self, session: FakeSession, gen: int, turn: FakeTurn) -> None:
        if session.generation != gen or not session.alive:
            return
        now = self.clock.now()
        turn.completed_at = now
        turn.completed_seq = len(self.calls.calls) + 0.5
        self._write(session, self.format.completion_lines(session, turn))
        self._log(session, f"turn {turn.turn_id} complete")
        # The first turn to complete: turn 0, unless it died with its process (a close
        # or an exit during it) and a resumed process completed a later one.
        first = session.first_turn_completed_at is None
        if first:
            session.first_turn_completed_at = now
            # Claude Code and Gemini CLI write their file before the model answers,
            # so a first turn never completes before it exists; Codex's file moment is
            # the profile's alone (AFTER_DELAY may fall after the notification).
            if session.materialized_at is None and (
                session.profile.file_appears is FileAppears.FIRST_TURN_COMPLETE
                or session.kind is not BackendKind.CODEX
            ):
                self._materialize(session)
        if first and session.first_notified_at is None:
            # Set before delivery: a poll made inside the callback comes after it.
            session.first_notified_at = now
        self._notify(NotificationKind.TURN_COMPLETE, session, turn.turn_id,
                     self.format.notification(session, turn))
        if first and session.profile.exit_after_first_turn:
            self._exit(session, 0)
        elif session.queued:
            self._begin(session, session.queued.pop(0))

    def _exit(self, session: FakeSession, exit_code: int, noticed_after: float = 0.0) -> None:
        if session.materialized_at is None and (
                session.profile.file_appears is not FileAppears.FIRST_TURN_COMPLETE):
            # A process that exits in order flushes the rollout it was going to write
            # (only seed 002's Codex writes none before its first turn completes).
            self._materialize(session)
        if session.holding:
            self._release(session)
        session.queued.clear()
        session.alive = False
        session.exited_at = self.clock.now()
        session.exits.append(session.exited_at)
        session.exit_codes.append(exit_code)
        # After every entry recorded so far, before the next.
        session.exit_marks.append((session.exited_at, len(self.calls.calls) + 0.5))
        session.generation += 1
        self._log(session, f"process exited with {exit_code}")
        data = {"exit_code": exit_code}
        if noticed_after <= 0:
            self._notify(NotificationKind.PROCESS_EXITED, session, None, data)
            return
        gen = session.generation

        def notice() -> None:
            if session.generation == gen:
                self._notify(NotificationKind.PROCESS_EXITED, session, None, data)

        self.scheduler.after(noticed_after, notice, "exit noticed")

    def _materialize_if(self, session: FakeSession, gen: int) -> None:
        if session.generation == gen and session.materialized_at is None:
            self._materialize(session, staged=session.profile.staged_open)

    def _materialize(self, session: FakeSession, *, staged: bool = False) -> None:
        session.materialized_at = self.clock.now()
        if session.profile.document_format:
            self._rewrite(session)
            return
        first = self.format.staged_first(session) if staged else 0
        if 0 < first < len(session.buffer):
            # Part of the opening first; the rest (and whatever came meanwhile) a
            # moment later, as the real CLIs' first sight sometimes shows.
            lines, session.buffer = session.buffer[:first], session.buffer[first:]
            session.holding = True
            self._append_raw(session, session.path, lines)
            self.scheduler.after(STAGE_GAP, lambda: self._release_if_held(session),
                                 "rest of opening")
            return
        self._release(session)

    def _release_if_held(self, session: FakeSession) -> None:
        if session.holding:
            self._release(session)

    def _release(self, session: FakeSession) -> None:
        session.holding = False
        lines, session.buffer = session.buffer, []
        self._append_raw(session, session.path, lines)

    def _write(self, session: FakeSession, lines: list[JsonLine]) -> None:
        if session.profile.document_format:
            session.records.extend(lines)
            if session.materialized_at is not None:
                self._rewrite(session)
            return
        encoded = [_dump(line) for line in lines]
        if session.materialized_at is None or session.holding:
            session.buffer.extend(encoded)
        else:
            self._append_raw(session, session.path, encoded)

    def _rewrite(self, session: FakeSession) -> None:
        """Rewrite a one-document file whole (truncate and write, through links, as
        Node's ``writeFileSync``): what is on disk is always the full document."""
        if not session.records:
            return  # Gemini CLI writes no file before the first message
        content = self.format.document(session)
        self._append_raw(session, session.path, content.split("\n"), truncate=True)

    def _write_history(self, session: FakeSession, turn: FakeTurn) -> None:
        line = self.format.history_line(session, turn)
        if line is not None:
            self._append_raw(session, session.home / "history.jsonl", [_dump(line)])

    def _log(self, session: FakeSession, message: str) -> None:
        line = self.format.log_line(session, message)
        if line is None:
            return
        store = self.format.log_store(session)
        if store is None:
            log_dir = session.home / "log"
            self._append_raw(session, log_dir / f"{self.kind.value}.log", [line])
            return
        self._log_row(session, store, line)

    def _log_row(self, session: FakeSession, store: Path, line: str) -> None:
        """One row in an SQLite log (the ``logs`` table of Codex's ``logs_2.sqlite``)."""
        now = self.clock.now()
        try:
            with exempt():
                store.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(store)
                try:
                    with connection:
                        connection.execute(LOGS_TABLE)
                        connection.execute(
                            "INSERT INTO logs (ts, ts_nanos, level, target, feedback_log_body,"
                            " thread_id, estimated_bytes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (int(now), int((now % 1) * 1e9), "INFO", "codex_core", line,
                             session.session_id, len(line.encode())))
                finally:
                    connection.close()
        except (OSError, sqlite3.Error) as error:
            session.lost.append((store, line, str(error)))
            return
        session.written.append((store.resolve(), line))

    def _write_scratch(self, session: FakeSession, turn: FakeTurn) -> None:
        """A scratch buffer per turn, in the process's temporary directory (seed 000:
        ephemeral files must end up under the agent's own directory)."""
        if session.scratch_dir is None:
            return
        scratch = session.scratch_dir / f"{self.kind.value}-{session.session_id[:8]}"
        self._append_raw(session, scratch / f"turn-{turn.index}.txt", [turn.script.thought])

    def _append_raw(self, session: FakeSession, path: Path, lines: list[str], *,
                    truncate: bool = False) -> None:
        """Append ``lines`` to ``path`` (with ``truncate``: replace its content with
        them, joined by newlines and without a final one, as a JSON document)."""
        if not lines:
            return
        if session.vanished_at is None and not (session.home.is_dir() and session.cwd.is_dir()):
            session.vanished_at = self.clock.now()
        if path == session.path:
            # What the backend wrote to its rollout, whether or not it could: a line
            # lost on the way (a link the orchestrator broke) is missing from the file.
            if truncate:
                session.native_lines[:] = lines
            else:
                session.native_lines.extend(lines)
        # Like the real CLIs, create missing parents rather than lose a line. The
        # agent's own writes pass the harness's faults: those test the orchestrator.
        try:
            with exempt():
                path.parent.mkdir(parents=True, exist_ok=True)
                if truncate:
                    with path.open("w", encoding="utf-8") as handle:
                        handle.write("\n".join(lines))
                else:
                    with path.open("a", encoding="utf-8") as handle:
                        handle.write("".join(line + "\n" for line in lines))
        except OSError as error:
            # A CLI logs the failed append and goes on (say, through a dangling link
            # into a directory someone removed); the lines are lost.
            session.lost.extend((path, line, error.strerror or str(error)) for line in lines)
            return
        landed = path.resolve()
        session.written.extend((landed, line) for line in lines)

    def _data(self, session: FakeSession) -> SessionData:
        with session.path.open("rb") as handle:
            line_count = sum(1 for _ in handle)
        return SessionData(
            backend=self.kind, session_id=session.session_id, path=session.path,
            line_count=line_count,
            turns_completed=sum(1 for t in session.turns if t.completed_at is not None),
            process_alive=session.alive,
        )

    def _notify(
        self, kind: NotificationKind, session: FakeSession, turn_id: str | None,
        data: Mapping[str, Any],
    ) -> None:
        note = Notification(kind, self.kind, session.session_id, self.clock.now(), turn_id, data)
        self.delivered.append(note)
        if kind is not NotificationKind.SESSION_UPDATE:
            if self.defer_telling:
                event = self._record(f"event:{kind.value}", session.session_id)
                self._untold.append((event.seq, note))
            else:
                self._record(f"notify:{kind.value}", session.session_id)
        for callback in [*self._watchers, *self._subscribers]:
            callback(note)

    def _record(self, op: str, session_id: str | None, outcome: str = "ok") -> Call:
        return self.calls.record(self.clock.now(), self.kind, op, session_id, outcome)


def _dump(line: JsonLine | str) -> str:
    if isinstance(line, str):
        return line
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False)
