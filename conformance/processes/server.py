"""The harness side of the fake CLI processes: it plays every puppet of one world.

A :class:`PuppetServer` listens on the world's socket. When a fake process registers
(argv, cwd, environment, pid), the server starts, resumes or continues the session on
the world's fake host of that backend, exactly as an in-process orchestrator's call
would, so the files are written by the same fakes on the same harness clock. It then
tells the process what to show: ``started`` (Codex prints ``thread.started``, Claude
Code runs its ``SessionStart`` hooks), and at each turn the host completes,
``turn_complete`` (the final answer on stdout, the ``notify`` program or the ``Stop``
hooks run to their end). A one-prompt process (``codex exec``, ``claude -p``,
``gemini -p``) exits after its turn, and the host sees its exit. A signal to a process
ends its session (the orchestrator ended it), and the process dies of the signal.

Everything lands in the world's timeline: ``process:launch``, ``process:signal``,
``process:exit``, ``hook:<name>``, next to the host's own entries, so every check of
every area reads a process world as it reads an in-process one.

Determinism. The harness clock never moves on its own, and the harness waits for
what it set in motion: :meth:`settle`, called after every operation of the harness,
returns only when every fake process that the orchestrator started has registered
and answered a ``sync`` (which it does after reporting any signal it received), and
every process told to exit is gone. Each wait is bounded (:data:`BOUND` seconds of
real time); running past it is a :class:`~conformance.errors.HarnessError` naming the
process, not a verdict.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import signal
import socket
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.clock import HarnessClock
from conformance.contract import BackendKind, Notification, NotificationKind
from conformance.errors import BackendError, HarnessError
from conformance.fakes.calls import CallLog
from conformance.fakes.host import FakeSessionHost
from conformance.fakes.scheduler import Scheduler
from conformance.processes import acp_agent, wire
from conformance.processes import bin as fake_bin
from conformance.processes.acp_agent import AcpAgent
from conformance.processes.model_server import ModelServer
from conformance.processes.stream_updates import updates_of

#: The longest real time, in seconds, the harness waits for one fake process to
#: register, answer or exit. Measured with ``time.perf_counter``: the harness clock
#: freezes ``time.monotonic`` on the main thread, where a bound would never pass.
BOUND = 30.0
#: How long a child that has forked but not yet run its program may stay unknown.
_FORK_GRACE = 3.0


@dataclass
class FakeProcess:
    """What the harness knows about one fake CLI process."""

    pid: int
    pgid: int
    kind: BackendKind
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    parsed: dict[str, Any]
    conn: socket.socket
    launched_at: float
    session_id: str | None = None
    #: The turns this process runs (a one-prompt process runs one).
    turn_ids: list[str] = field(default_factory=list)
    one_shot: bool = True
    #: Orders sent and not answered yet.
    pending: int = 0
    connected: bool = True
    exit_ordered: bool = False
    #: Seen not running any more (a zombie or reaped): its parent can tell it exited.
    exited: bool = False
    signals: list[int] = field(default_factory=list)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    #: The ACP agent it plays (``gemini --acp``), else ``None``.
    acp: AcpAgent | None = None

    def describe(self) -> str:
        return f"{self.kind.value} pid {self.pid} ({' '.join(self.argv)[:80]})"


#: Every server not closed yet, so that a world removed without its harness being
#: disposed (a replay that stopped at a violation) does not leave fakes running.
_OPEN: weakref.WeakSet[PuppetServer] = weakref.WeakSet()


def close_under(directory: Path) -> None:
    """Close every server whose world lives under ``directory`` (before removing it)."""
    for server in list(_OPEN):
        if directory == server.root or directory in server.root.parents:
            server.close()


@atexit.register
def _close_all() -> None:
    for server in list(_OPEN):
        server.close()


class PuppetServer:
    """Plays the fake CLI processes of one world (see the module docstring)."""

    def __init__(self, hosts: Mapping[BackendKind, FakeSessionHost], clock: HarnessClock,
                 scheduler: Scheduler, calls: CallLog, root: Path, *,
                 detached: bool = False) -> None:
        self.hosts = hosts
        #: The orchestrator starts fakes outside its own process tree (in tmux, through
        #: a daemon): :meth:`settle` looks for them among every process of the machine.
        self.detached = detached
        self.clock = clock
        self.scheduler = scheduler
        self.calls = calls
        self.root = root
        self.bin_dir = fake_bin.install(root / "bin")
        self.name = f"conformance-{os.getpid()}-{secrets.token_hex(8)}"
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.processes: dict[int, FakeProcess] = {}
        #: Problems met while serving (a bad message, a launch that failed).
        self.problems: list[str] = []
        self._threads: list[threading.Thread] = []
        self._ignored: set[tuple[int, str]] = set()
        self._closed = False
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(wire.address(self.name))
        self._listener.listen(64)
        #: The model every fake asks (its base URL variables are in :meth:`env`).
        self.models = ModelServer()
        self._exchanges = 0
        self._acp_processes = 0
        #: The session updates the processes' stdout showed and the orchestrator has
        #: not been called since (:meth:`take_shown`).
        self._shown: list[Notification] = []
        for host in hosts.values():
            host.watch(self._on_notification)
            host.asks_approvals = False
        self._spawn_thread(self._accept, "puppet-accept")
        _OPEN.add(self)

    # -- what the orchestrator gets -------------------------------------------------

    def env(self, versions: Mapping[BackendKind, str] | None = None) -> dict[str, str]:
        """The environment variables an orchestrator gives the CLIs it launches."""
        values = {"PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                  wire.SOCKET_ENV: self.name, **self.models.env()}
        for kind, version in (versions or {}).items():
            values[wire.VERSION_ENV.format(kind=kind.value.upper())] = version
        return values

    def take_shown(self) -> list[Notification]:
        """The session updates shown on the processes' stdout since the last call, as
        :mod:`~conformance.processes.stream_updates` reads each printed line, in the
        order they were printed: what a process orchestrator can know of its turns by
        its next call (its canonical log owes exactly these)."""
        with self.lock:
            shown, self._shown = self._shown, []
        return shown

    # -- the harness's waits ----------------------------------------------------------

    def settle(self) -> None:
        """Return once every fake process the orchestrator started has registered and
        answered, and every process told to exit is gone (module docstring)."""
        self._await_launches()
        with self.lock:
            if self.problems:
                raise HarnessError("the fake CLI processes could not be played: "
                                   + "; ".join(self.problems))
            for process in self._live():
                self._order(process, "sync")
            self._wait(lambda: all(p.pending == 0 for p in self._live()),
                       "every fake process to answer a sync")
            self._wait(lambda: not any(p.exit_ordered and p.connected
                                       for p in self.processes.values()),
                       "every fake process told to exit to be gone")
            exiting = [p for p in self.processes.values()
                       if p.exit_ordered and not p.exited]
        # A process hangs up before it exits: until it is a zombie, its parent's
        # ``poll()`` or ``waitpid(WNOHANG)`` still says it runs, while the timeline
        # already says it exited. Nothing notifies that moment, so it is polled.
        deadline = time.perf_counter() + BOUND
        for process in exiting:
            while running(process.pid):
                if time.perf_counter() > deadline:
                    raise HarnessError(f"waited {BOUND:g}s of real time for the fake "
                                       f"process {process.pid} ({process.kind.value}) "
                                       "to exit after it hung up")
                time.sleep(0.001)
            process.exited = True

    def close(self) -> None:
        """Kill every fake process still running and stop serving; the world is over.

        Returns once none of them runs (a zombie its parent has not reaped yet is not
        running)."""
        _OPEN.discard(self)
        with self.lock:
            self._closed = True
            processes = list(self.processes.values())
        for process in processes:
            for target in (process.pgid, process.pid):
                try:
                    if target == process.pgid and target != os.getpgrp():
                        os.killpg(target, signal.SIGKILL)
                    elif target == process.pid:
                        os.kill(target, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        self.models.close()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread in accept()
        with contextlib.suppress(OSError):
            self._listener.close()
        deadline = time.perf_counter() + BOUND
        for process in processes:
            while running(process.pid) and time.perf_counter() < deadline:
                time.sleep(0.005)
            with contextlib.suppress(OSError):
                process.conn.close()

    # -- serving ------------------------------------------------------------------------

    def _spawn_thread(self, target: Callable[..., None], name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._spawn_thread(self._serve, "puppet-conn", conn)

    def _serve(self, conn: socket.socket) -> None:
        reader = wire.Reader(conn)
        process: FakeProcess | None = None
        while True:
            try:
                message = reader.read()
            except wire.WireError as error:
                with self.lock:
                    self.problems.append(f"a fake process sent a bad message: {error}")
                message = None
            with self.changed:
                if message is None:
                    if process is not None:
                        self._gone(process)
                    self.changed.notify_all()
                    return
                try:
                    if process is None:
                        if message.get("event") != "register":
                            self.problems.append(f"a fake process spoke before "
                                                 f"registering: {message!r:.200}")
                            conn.close()
                            return
                        process = self._register(conn, message)
                    else:
                        self._handle(process, message)
                except Exception as error:  # a harness bug: never a silent hang
                    self.problems.append(f"serving {message!r:.200} failed: "
                                         f"{type(error).__name__}: {error}")
                    with contextlib.suppress(OSError):
                        wire.send(conn, {"op": "write", "stream": "stderr",
                                         "text": f"conformance harness error: {error}\n"})
                        wire.send(conn, {"op": "exit", "code": 70})
                self.changed.notify_all()

    def _register(self, conn: socket.socket, message: dict[str, Any]) -> FakeProcess:
        kind = BackendKind(str(message.get("kind")))
        env = {str(k): str(v) for k, v in dict(message.get("env") or {}).items()}
        process = FakeProcess(
            pid=int(message.get("pid", 0)), pgid=int(message.get("pgid", 0)), kind=kind,
            argv=[str(a) for a in message.get("argv") or []], cwd=Path(str(message.get("cwd"))),
            env=env, parsed=dict(message.get("parsed") or {}), conn=conn,
            launched_at=self.clock.now())
        self.processes[process.pid] = process
        host = self.hosts[kind]
        self.calls.record(self.clock.now(), kind, "process:launch", None,
                          " ".join(process.argv)[:200])
        try:
            if process.parsed.get("mode") == "acp":
                # An ACP agent takes its prompts as JSON-RPC on stdin, for as long as
                # its client keeps stdin open.
                process.one_shot = False
                self._acp_processes += 1
                process.acp = AcpAgent(kind, host, cli_home(kind, env), env,
                                       f"acp:{self._acp_processes}",
                                       lambda m: self._order(process, "acp", message=m),
                                       lambda m: self._order(process, "acp", message=m,
                                                             replay=True))
                return process
            if process.parsed.get("mode") == "interactive":
                # The interactive Codex runs until it is quit: its prompts are typed.
                process.one_shot = False
                self._order(process, "write", stream="stdout", text=_tui_banner(process))
                if not process.parsed.get("prompt"):
                    return process
            self._begin(process, host, message.get("stdin_prompt"))
        except _Refused as refused:
            self._order(process, "write", stream="stderr", text=refused.message)
            self._order_exit(process, refused.status)
        return process

    def _begin(self, process: FakeProcess, host: FakeSessionHost,
               stdin_prompt: object) -> None:
        parsed = process.parsed
        prompt = parsed.get("prompt")
        if prompt in (None, "-"):
            prompt = stdin_prompt if isinstance(stdin_prompt, str) else None
        elif isinstance(stdin_prompt, str) and stdin_prompt and process.kind is not \
                BackendKind.CODEX:
            prompt = f"{stdin_prompt}\n\n{prompt}"
        if not prompt:
            raise _Refused({BackendKind.CODEX: "No prompt provided. Either specify one as "
                            "an argument or pipe the prompt into stdin.\n",
                            BackendKind.CLAUDE: "Error: Input must be provided either "
                            "through stdin or as a prompt argument when using --print\n",
                            BackendKind.GEMINI: "No input provided via stdin.\n"}
                           [process.kind], 1)
        home = cli_home(process.kind, process.env)
        resume = self._resume_target(process, host, home)
        if resume is None:
            given = parsed.get("session_id") if process.kind is BackendKind.CLAUDE else None
            if isinstance(given, str) and given in host.sessions:
                raise _Refused(f"Error: Session ID {given} is already in use.\n", 1)
            session_id = host.start_session(prompt=str(prompt), home=home, cwd=process.cwd,
                                            env=process.env,
                                            session_id=given if isinstance(given, str)
                                            else None)
            session = host.sessions[session_id]
            process.session_id = session_id
            process.turn_ids.append(session.turns[0].turn_id)
            resumed = False
        else:
            session = host.sessions[resume]
            process.session_id = resume
            if not session.alive:
                host.resume_session(resume)
            try:
                process.turn_ids.append(host.send(resume, str(prompt)))
            except BackendError as error:
                raise _Refused(f"Error: {error}\n", 1) from None
            resumed = True
        self._order(process, "started", session={
            "session_id": process.session_id, "path": str(session.path),
            "version": session.profile.version, "resumed": resumed})

    def _resume_target(self, process: FakeProcess, host: FakeSessionHost,
                       home: Path) -> str | None:
        """The session a launch continues, ``None`` for a new one; refuses an unknown."""
        parsed = process.parsed
        wanted = parsed.get("resume")
        if process.kind is BackendKind.CLAUDE and parsed.get("continue") and not wanted:
            wanted = "last"
        if process.kind is BackendKind.GEMINI and wanted is not None:
            wanted = "last" if wanted == "latest" else wanted
        if not wanted:
            return None
        mine = [s for s in host.sessions.values()
                if s.home == home and (s.cwd == process.cwd or process.kind is not
                                       BackendKind.CODEX or wanted != "last")]
        if wanted == "last":
            if not mine:
                raise _Refused({BackendKind.CODEX: "Error: no previous session found to "
                                "resume\n", BackendKind.CLAUDE: "No conversation found "
                                "to continue\n", BackendKind.GEMINI: "Error resuming "
                                "session: No previous sessions found for this project.\n"}
                               [process.kind], 1)
            return max(mine, key=lambda s: s.started_at).session_id
        for session in mine:
            if session.session_id == wanted:
                return session.session_id
        if process.kind is BackendKind.GEMINI and str(wanted).isdigit():
            ordered = sorted(mine, key=lambda s: s.started_at)
            if 1 <= int(str(wanted)) <= len(ordered):
                return ordered[int(str(wanted)) - 1].session_id
        raise _Refused({BackendKind.CODEX: f"Error: thread/resume: no rollout found for "
                        f"thread id {wanted}\n", BackendKind.CLAUDE: f"No conversation "
                        f"found with session ID: {wanted}\n", BackendKind.GEMINI:
                        f"Error resuming session: Invalid session identifier "
                        f"\"{wanted}\".\n"}[process.kind], 1)

    def _handle(self, process: FakeProcess, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event == "done":
            process.pending = max(0, process.pending - 1)
            self._printed(process, message.get("printed"))
            result = message.get("result")
            if message.get("op") == "exchange" and isinstance(result, dict):
                status = result.get("status")
                self.calls.record(self.clock.now(), process.kind, "process:model_request",
                                  process.session_id,
                                  f"status {status}" if status is not None
                                  else f"failed: {result.get('error')}"[:200])
            for hook in message.get("hooks") or []:
                if isinstance(hook, dict):
                    process.hooks.append(hook)
                    self.calls.record(self.clock.now(), process.kind,
                                      f"hook:{hook.get('name')}", process.session_id,
                                      f"exit {hook.get('code')}")
        elif event == "signal":
            signum = int(message.get("signum", 0))
            self._signalled(process, signum)
        elif event == "prompt":
            self._typed(process, str(message.get("text", "")))
        elif event == "acp" and process.acp is not None:
            method, turn = process.acp.handle(str(message.get("line", "")))
            if method is not None:
                self.calls.record(self.clock.now(), process.kind, f"process:acp {method}",
                                  process.acp.state.session_id)
            if process.acp.state.started:
                process.session_id = process.acp.state.session_id
            if turn is not None:
                process.turn_ids.append(turn)
        elif event == "quit":
            host = self.hosts[process.kind]
            session = host.sessions.get(process.session_id or "")
            alone = not self._shares_session(process)
            # The host first (the exit is in the timeline before the process is gone).
            process.exit_ordered = True
            if session is not None and session.alive and alone:
                host.exit_process(session.session_id, 0)
            self._order_exit(process, 0)
        else:
            self.problems.append(f"{process.describe()} sent {message!r:.200}")

    def _printed(self, process: FakeProcess, lines: object) -> None:
        """Note the session updates the JSON lines ``process`` printed convey."""
        if not isinstance(lines, list) or not lines:
            return
        session_id = (process.acp.state.session_id if process.acp is not None
                      else process.session_id)
        if session_id is None:
            return
        turn_id = process.turn_ids[-1] if process.turn_ids else None
        for line in lines:
            if isinstance(line, dict):
                self._shown += [
                    Notification(NotificationKind.SESSION_UPDATE, process.kind, session_id,
                                 self.clock.now(), turn_id, {"update": update})
                    for update in updates_of(line)]

    def _typed(self, process: FakeProcess, text: str) -> None:
        """A prompt typed at an interactive CLI: the first starts its session, the
        next ones are turns of it."""
        host = self.hosts[process.kind]
        self.calls.record(self.clock.now(), process.kind, "process:typed",
                          process.session_id, text[:80])
        if process.session_id is None:
            process.parsed["prompt"] = text
            try:
                self._begin(process, host, None)
            except _Refused as refused:
                self._order(process, "write", stream="stderr", text=refused.message)
            return
        try:
            process.turn_ids.append(host.send(process.session_id, text))
        except BackendError as error:
            self._order(process, "write", stream="stdout", text=f"\u25a0 {error}\n")

    def _signalled(self, process: FakeProcess, signum: int) -> None:
        process.signals.append(signum)
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = str(signum)
        self.calls.record(self.clock.now(), process.kind, f"process:signal {name}",
                          process.session_id)
        self._end_session_of(process)
        if not process.exit_ordered:
            self._order_exit(process, 128 + signum, signum=signum)

    def _gone(self, process: FakeProcess) -> None:
        process.connected = False
        process.pending = 0
        if not process.exit_ordered:
            # Killed outright (SIGKILL), or it crashed: the orchestrator ended it.
            self.calls.record(self.clock.now(), process.kind, "process:signal SIGKILL",
                              process.session_id)
            self._end_session_of(process)
        self.calls.record(self.clock.now(), process.kind, "process:exit", process.session_id)

    def _end_session_of(self, process: FakeProcess) -> None:
        """A process ended from outside ends its session, unless another process of the
        same session runs (then only this one's turn dies with it)."""
        if process.session_id is None or self._closed:
            return
        host = self.hosts[process.kind]
        session = host.sessions.get(process.session_id)
        if session is None or not session.alive:
            return
        if not self._shares_session(process):
            host.end_session(process.session_id)

    def _on_notification(self, note: Notification) -> None:
        """The host completed a turn: the process that runs it shows it, and a
        one-prompt process exits after it. The host made the process exit (the drawn
        profile, or the harness's ``exit_process``): so does every process of it."""
        if self._closed:
            return
        if note.kind is NotificationKind.PROCESS_EXITED:
            code = note.data.get("exit_code", 0)
            with self.changed:
                for process in self._live():
                    if process.session_id == note.session_id and not process.exit_ordered:
                        self._order_exit(process, code if isinstance(code, int) else 1)
            return
        if note.kind is NotificationKind.SESSION_UPDATE:
            with self.changed:
                runner = next((p for p in self._live() if note.turn_id in p.turn_ids), None)
                body = dict(note.data.get("update") or {})
                if runner is not None and runner.acp is not None:
                    self._order(runner, "acp", message=acp_agent.update(note.session_id, body))
                elif runner is not None:
                    # Streamed as the CLI streams it (a reasoning item, a partial
                    # message), where its output mode streams at all.
                    self._order(runner, "update", update=body, at=note.time)
            return
        if note.kind is NotificationKind.MODEL_EXCHANGE:
            self._exchange(note)
            return
        if note.kind is not NotificationKind.TURN_COMPLETE:
            return
        with self.changed:
            runner = next((p for p in self._live() if note.turn_id in p.turn_ids), None)
            if runner is None:
                return
            process = runner
            if process.acp is not None:
                process.acp.turn_over(str(note.turn_id))  # the prompt's answer
                self._wait(lambda: process.pending == 0 or not process.connected,
                           f"{process.describe()} to answer its prompt")
                return
            session = self.hosts[process.kind].sessions[note.session_id]
            turn = session.turn(str(note.turn_id))
            self._order(process, "turn_complete", turn={
                "final": turn.script.final, "turn_id": turn.turn_id,
                "notify": dict(note.data)})
            self._wait(lambda: process.pending == 0 or not process.connected,
                       f"{process.describe()} to show its turn and run its hooks")
            if process.one_shot and process.connected:
                self.scheduler.after(0.0, lambda: self._finish(process), "process exits")

    def _exchange(self, note: Notification) -> None:
        """The process running the turn asks its model (:mod:`.models`): the request
        goes wherever the CLI's base URL says, and the harness's model server answers
        with the exchange's response. The harness waits for the answer to arrive."""
        with self.changed:
            runner = next((p for p in self._live() if note.turn_id in p.turn_ids), None)
            if runner is None:
                return
            self._exchanges += 1
            exchange = f"{self.name}-{self._exchanges}"
            response = note.data.get("response")
            self.models.expect(exchange, dict(response) if isinstance(response, Mapping)
                               else {})
            request = note.data.get("request")
            self._order(runner, "exchange", exchange=exchange,
                        request=dict(request) if isinstance(request, Mapping) else {})
            self._wait(lambda: runner.pending == 0 or not runner.connected,
                       f"{runner.describe()} to get its model's answer")
            self.models.forget(exchange)

    def _finish(self, process: FakeProcess) -> None:
        with self.changed:
            if not process.connected or process.exit_ordered:
                return
            host = self.hosts[process.kind]
            session = host.sessions.get(process.session_id or "")
            alone = not self._shares_session(process)
            self._order_exit(process, 0)
            if session is not None and session.alive and alone:
                host.exit_process(session.session_id, 0)
            self._wait(lambda: not process.connected, f"{process.describe()} to exit")

    # -- orders --------------------------------------------------------------------------

    def _order(self, process: FakeProcess, op: str, **fields: Any) -> None:
        if not process.connected:
            return
        try:
            wire.send(process.conn, {"op": op, **fields})
        except OSError:
            process.connected = False
            return
        if op != "exit":
            process.pending += 1

    def _order_exit(self, process: FakeProcess, code: int, *, signum: int = 0) -> None:
        process.exit_ordered = True
        self._order(process, "exit", code=code, signal=signum)

    def _shares_session(self, process: FakeProcess) -> bool:
        """Whether another running process, not told to exit, serves the same session
        (``codex exec resume`` while a turn runs): then this one's end is not the
        session's."""
        return any(p is not process and p.session_id == process.session_id
                   and not p.exit_ordered for p in self._live())

    def _live(self) -> list[FakeProcess]:
        return [p for p in self.processes.values() if p.connected]

    def _wait(self, ready: Callable[[], bool], what: str) -> None:
        """Wait (the lock released meanwhile) until ``ready``; bounded."""
        deadline = time.perf_counter() + BOUND
        with self.changed:
            while not ready():
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise HarnessError(f"waited {BOUND:g}s of real time for {what}")
                self.changed.wait(min(left, 0.5))

    def _await_launches(self) -> None:
        """Wait until every process below this one that runs a fake CLI is registered."""
        deadline = time.perf_counter() + BOUND
        me = os.getpid()
        my_cmdline = _cmdline(me)
        forked: dict[int, float] = {}
        while True:
            waiting: list[str] = []
            pids = descendants(me)
            if self.detached:
                pids += [pid for pid in _all_pids() if pid != me and pid not in pids
                         and self._is_fake(_cmdline(pid))]
            for pid in pids:
                if not running(pid):
                    continue
                argv = _cmdline(pid)
                key = (pid, _start_time(pid))
                if key in self._ignored:
                    continue
                if not argv or argv == my_cmdline:
                    # Forked, not yet running its program, or in the middle of exec()
                    # (its command line reads empty then); or a worker of ours.
                    first = forked.setdefault(pid, time.perf_counter())
                    if time.perf_counter() - first > _FORK_GRACE:
                        self._ignored.add(key)
                    else:
                        waiting.append(f"pid {pid} (forked)")
                    continue
                if not self._is_fake(argv):
                    self._ignored.add(key)
                    continue
                with self.lock:
                    known = pid in self.processes
                if not known:
                    waiting.append(f"pid {pid} ({' '.join(argv)[:80]})")
            if not waiting:
                return
            if time.perf_counter() > deadline:
                raise HarnessError(f"waited {BOUND:g}s of real time for fake CLI "
                                   f"processes to register: {', '.join(waiting)}")
            time.sleep(0.002)

    def _is_fake(self, argv: list[str]) -> bool:
        return any(a.startswith(str(self.bin_dir) + os.sep) for a in argv[:3])


def _tui_banner(process: FakeProcess) -> str:
    """What the interactive Codex shows once it is ready for a prompt."""
    version = process.env.get(wire.VERSION_ENV.format(kind="CODEX"), "")
    return (f">_ OpenAI Codex{f' (v{version})' if version else ''}\n\n"
            f"directory: {process.cwd}\n\n\u203a ")


class _Refused(Exception):
    """A launch the real CLI would refuse: ``message`` on stderr, exit ``status``."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def cli_home(kind: BackendKind, env: Mapping[str, str]) -> Path:
    """The home the CLI ``kind`` reads from its environment, as the fake host and
    :func:`conformance.native.locate` take it: ``CODEX_HOME`` (or ``~/.codex``), and
    for Claude Code and Gemini CLI the user's home (their files are under ``.claude``
    and ``.gemini`` there; a ``CLAUDE_CONFIG_DIR`` in the session's environment moves
    Claude Code's, see :class:`conformance.fakes.claude.ClaudeFormat`)."""
    user = Path(env.get("HOME") or os.path.expanduser("~"))
    if kind is BackendKind.CODEX:
        return Path(env["CODEX_HOME"]) if env.get("CODEX_HOME") else user / ".codex"
    return user


# -- /proc ---------------------------------------------------------------------------------

def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    return raw[raw.rindex(")") + 2:].split()


def running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (or dead)."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X", "x")


def _start_time(pid: int) -> str:
    fields = _stat(pid)
    return fields[19] if fields and len(fields) > 19 else ""


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def _children(pid: int) -> list[int] | None:
    """The children of ``pid`` from ``/proc/<pid>/task/*/children``; ``None`` where the
    kernel does not keep those files."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for task in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
        except FileNotFoundError:
            return None
        except OSError:
            continue
        found.extend(int(part) for part in text.split())
    return found


def descendants(root: int) -> list[int]:
    """Every process below ``root``: through the children lists when the kernel keeps
    them (a few reads), else from every process's ``stat``."""
    found: list[int] = []
    stack = [root]
    while stack:
        children_of = _children(stack.pop())
        if children_of is None:
            return _descendants_by_scan(root)
        found.extend(children_of)
        stack.extend(children_of)
    return found


def _all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _descendants_by_scan(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat(int(entry))
        if fields is None:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found
