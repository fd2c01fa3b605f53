"""The engine behind every fake backend: sessions, time, native files, notifications.

A :class:`FakeSessionHost` plays one agent CLI. It starts sessions, writes their
native session files in the real layout (delegated to a :class:`NativeFormat`) at
the moment its :class:`~conformance.fakes.profiles.BackendProfile` says, streams
updates during turns, notifies subscribers when a turn completes or the process
exits, and records every call made on it with its time.

Lookups go to the file system for real: ``get_session_data`` answers not-found
exactly when the native file does not exist on disk, so an orchestrator that
deletes files sees the consequences, and one that polls too early sees "not yet".
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from conformance.clock import HarnessClock
from conformance.contract import BackendKind, Notification, NotificationKind, SessionData
from conformance.errors import BackendError, SessionNotFound
from conformance.fakes.calls import Call, CallLog
from conformance.fakes.profiles import BackendProfile, FileAppears, default_profile
from conformance.fakes.scheduler import Scheduler
from conformance.fakes.script import Responder, TurnScript, default_responder, silent
from conformance.faults.injection import exempt

JsonLine = dict[str, Any]


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

    @property
    def first_turn_complete(self) -> bool:
        return self.first_turn_completed_at is not None

    def turn(self, turn_id: str) -> FakeTurn:
        for t in self.turns:
            if t.turn_id == turn_id:
                return t
        raise KeyError(turn_id)


class NativeFormat(Protocol):
    """Where and what one CLI writes, as measured in ``shared/REAL_BACKENDS.md``."""

    kind: BackendKind

    def path(self, session: FakeSession) -> Path: ...

    def opening_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]: ...

    def follow_up_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]: ...

    def completion_lines(self, session: FakeSession, turn: FakeTurn) -> list[JsonLine]: ...

    def history_line(self, session: FakeSession, turn: FakeTurn) -> JsonLine | None: ...

    def log_line(self, session: FakeSession, message: str) -> str | None: ...


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
        self._next_agent: str | None = None
        self._next_profile: BackendProfile | None = None
        self.delivered: list[Notification] = []
        #: Stand-in for the system temporary directory, used by a process whose
        #: environment names no ``TMPDIR`` (as a real CLI would fall back to /tmp).
        self.scratch_root = scratch_root

    # -- harness side -------------------------------------------------------------

    def prepare(self, agent_id: str | None, profile: BackendProfile | None) -> None:
        """Attribute the next ``start_session`` to ``agent_id`` with ``profile``."""
        self._next_agent = agent_id
        self._next_profile = profile

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
        self, *, prompt: str, home: Path, cwd: Path, env: Mapping[str, str] | None = None
    ) -> str:
        now = self.clock.now()
        session_id = self._new_session_id()
        profile = self._next_profile or self.profile
        self._next_profile = None
        session = FakeSession(
            session_id=session_id, kind=self.kind, profile=profile, home=Path(home),
            cwd=Path(cwd), env=dict(env or {}), started_at=now, agent_id=self._next_agent,
            path=Path(),
        )
        self._next_agent = None
        session.path = self.format.path(session)
        tmpdir = session.env.get("TMPDIR")
        session.scratch_dir = Path(tmpdir) if tmpdir else self.scratch_root
        self.sessions[session_id] = session
        started = self._record("start_session", session_id)
        session.life_marks.append((now, float(started.seq)))
        turn = self._new_turn(session, prompt)
        session.buffer.extend(_dump(line) for line in self.format.opening_lines(session, turn))
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
        turn = self._new_turn(session, prompt)
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
            session.alive = True
            session.generation += 1
            session.exited_at = None
            session.ended_at = None
            session.resumed_at.append(self.clock.now())
            session.life_marks.append((call.time, float(call.seq)))

    def subscribe(self, callback: Callable[[Notification], None]) -> None:
        self._record("subscribe", None)
        self._subscribers.append(callback)

    # -- internals ----------------------------------------------------------------

    def _new_session_id(self) -> str:
        digest = hashlib.sha256(f"{self._token}:{self.kind.value}:{len(self.sessions)}".encode())
        return str(uuid.UUID(bytes=digest.digest()[:16], version=4))

    def _new_turn(self, session: FakeSession, prompt: str) -> FakeTurn:
        index = len(session.turns)
        script = self.responder(prompt, index, session.session_id)
        if session.profile.empty_final:
            script = silent(script)
        turn = FakeTurn(index, f"{session.session_id[:8]}-turn-{index}", prompt,
                        self.clock.now(), script, generation=session.generation)
        session.turns.append(turn)
        return turn

    def _schedule_turn(self, session: FakeSession, turn: FakeTurn, *, first: bool) -> None:
        gen = session.generation
        duration = session.profile.turn_duration
        start = turn.started_at
        updates = turn.script.updates
        for i, update in enumerate(updates):
            due = start + duration * (i + 1) / (len(updates) + 1)
            self.scheduler.at(due, self._bind_update(session, gen, turn, update), "update")
        for request, response in turn.script.exchanges:
            self.scheduler.at(start + duration / 2, self._bind_exchange(
                session, gen, turn, request, response), "model exchange")
        for event in turn.script.approvals:
            self.scheduler.at(start + duration * 0.3, self._bind_approval(
                session, gen, turn, event), "approval")
        if first and session.profile.hang_first_turn:
            return
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
        self._notify(NotificationKind.TURN_COMPLETE, session, turn.turn_id, {
            "type": "agent-turn-complete",
            "thread-id": session.session_id,
            "turn-id": turn.turn_id,
            "input-messages": [turn.prompt],
            "last-assistant-message": turn.script.final,
        })
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
            self._materialize(session)

    def _materialize(self, session: FakeSession) -> None:
        session.materialized_at = self.clock.now()
        lines, session.buffer = session.buffer, []
        self._append_raw(session, session.path, lines)

    def _write(self, session: FakeSession, lines: list[JsonLine]) -> None:
        encoded = [_dump(line) for line in lines]
        if session.materialized_at is None:
            session.buffer.extend(encoded)
        else:
            self._append_raw(session, session.path, encoded)

    def _write_history(self, session: FakeSession, turn: FakeTurn) -> None:
        line = self.format.history_line(session, turn)
        if line is not None:
            self._append_raw(session, session.home / "history.jsonl", [_dump(line)])

    def _log(self, session: FakeSession, message: str) -> None:
        line = self.format.log_line(session, message)
        if line is not None:
            log_dir = session.home / "log"
            self._append_raw(session, log_dir / f"{self.kind.value}.log", [line])

    def _write_scratch(self, session: FakeSession, turn: FakeTurn) -> None:
        """A scratch buffer per turn, in the process's temporary directory (seed 000:
        ephemeral files must end up under the agent's own directory)."""
        if session.scratch_dir is None:
            return
        scratch = session.scratch_dir / f"{self.kind.value}-{session.session_id[:8]}"
        self._append_raw(session, scratch / f"turn-{turn.index}.txt", [turn.script.thought])

    def _append_raw(self, session: FakeSession, path: Path, lines: list[str]) -> None:
        if not lines:
            return
        if session.vanished_at is None and not (session.home.is_dir() and session.cwd.is_dir()):
            session.vanished_at = self.clock.now()
        if path == session.path:
            # What the backend wrote to its rollout, whether or not it could: a line
            # lost on the way (a link the orchestrator broke) is missing from the file.
            session.native_lines.extend(lines)
        # Like the real CLIs, create missing parents rather than lose a line. The
        # agent's own writes pass the harness's faults: those test the orchestrator.
        try:
            with exempt():
                path.parent.mkdir(parents=True, exist_ok=True)
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
            self._record(f"notify:{kind.value}", session.session_id)
        for callback in list(self._subscribers):
            callback(note)

    def _record(self, op: str, session_id: str | None, outcome: str = "ok") -> Call:
        return self.calls.record(self.clock.now(), self.kind, op, session_id, outcome)


def _dump(line: JsonLine | str) -> str:
    if isinstance(line, str):
        return line
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False)
