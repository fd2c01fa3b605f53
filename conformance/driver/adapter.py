"""An adapter whose orchestrator is a driver program (``--orchestrator-command``).

:class:`DriverAdapter` learns the driver's name, version and claimed areas by
starting it once and asking ``hello`` (then closing its stdin). For each world, its
:meth:`~DriverAdapter.start` starts a new driver process, asks ``hello`` and ``start``
with the world, and returns a :class:`DriverOrchestrator`, which turns every call of
the harness into a request carrying the harness's time, and every error response
into the exception an in-process orchestrator would have raised. A driver's
orchestrator launches the CLIs as processes, always: it cannot call the harness's
in-process hosts, so the adapter declares ``launches_processes``.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.contract import AgentState, BackendKind, SessionView, SpawnRequest, World
from conformance.driver import protocol
from conformance.driver.client import DEFAULT_TIMEOUT, DriverProcess, split_command
from conformance.errors import BackendError, DriverError, InvalidAgentId
from conformance.scratch import make_scratch

#: How an orchestrator command is named where an adapter name goes
#: (``--orchestrator=command:CMD``, and in a stored counterexample).
PREFIX = "command:"


class DriverAdapter:
    """The adapter of one orchestrator command."""

    launches_processes = True
    #: Its orchestrator is another process: the harness's injected faults (failing
    #: writes, power cuts) cannot reach its writes (:func:`conformance.faults.reach`).
    runs_in_harness_process = False

    def __init__(self, command: str, *, cwd: Path | None = None,
                 timeout: float = DEFAULT_TIMEOUT, log_dir: Path | None = None) -> None:
        self.command = command
        #: Where the command runs (relative paths in it are relative to it).
        self.cwd = cwd or Path.cwd()
        self.timeout = timeout
        #: Where every driver process's transcript goes (``--conformance-driver-log``).
        self.log_dir = log_dir
        self._started = 0
        scratch = make_scratch("conformance-driver-hello-")
        try:
            hello = self._launch(scratch / "stderr.log", scratch / "transcript.jsonl",
                                 scratch / "tmp")
            try:
                answer = _hello(hello, 0.0)
            finally:
                hello.stop()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        self.name: str = answer["name"]
        self.version: str = answer["version"]
        self.capabilities = frozenset(answer["capabilities"])

    def _launch(self, stderr_path: Path, transcript: Path | None, tmp: Path) -> DriverProcess:
        """A driver process whose temporary directory (``TMPDIR``, ``TMP``, ``TEMP``)
        is ``tmp``: what it keeps there goes with the world, even when it is killed."""
        tmp.mkdir(parents=True, exist_ok=True)
        return DriverProcess(self.command, cwd=self.cwd, stderr_path=stderr_path,
                             transcript=transcript, timeout=self.timeout,
                             env={name: str(tmp) for name in ("TMPDIR", "TMP", "TEMP")})

    def start(self, world: World) -> DriverOrchestrator:
        self._started += 1
        transcript = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            transcript = self.log_dir / f"driver-{os.getpid()}-{self._started}.jsonl"
        # In the world's root, beside (not in) the homes the checks read; they go with
        # the world, and the stderr's end is in every DriverError raised before.
        stderr_path = world.root / "driver-stderr.log"
        process = self._launch(stderr_path, transcript, world.root / "driver-tmp")
        try:
            _hello(process, world.clock.now())
            _answer(process, "start", process.ask("start", world.clock.now(),
                                                  {"world": world_message(world)}))
        except BaseException:
            process.stop()
            raise
        return DriverOrchestrator(world, process)


def _hello(process: DriverProcess, now: float) -> dict[str, Any]:
    answer = process.ask("hello", now, {"protocol": protocol.PROTOCOL_VERSION})
    if "error" in answer and "protocol" not in answer:
        raise DriverError("hello", f"refused: {answer['error']['message']}",
                          process.stderr_tail())
    if answer["protocol"] != protocol.PROTOCOL_VERSION:
        raise DriverError("hello", f"speaks protocol version {answer['protocol']}; this "
                                   f"harness speaks version {protocol.PROTOCOL_VERSION}",
                          process.stderr_tail())
    result: dict[str, Any] = answer
    return result


def world_message(world: World) -> dict[str, Any]:
    """The ``world`` of a ``start`` request."""
    return {"root": str(world.root), "home": str(world.home),
            "acp_home": str(world.acp_home), "trace_dir": str(world.trace_dir),
            "workspace": str(world.workspace), "env": dict(world.env),
            "settings": dataclasses.asdict(world.settings)}


def _answer(process: DriverProcess, op: str, result: Any) -> Any:
    """``result``, or the exception its error response stands for."""
    if not (isinstance(result, dict) and set(result) == {"error"}
            and isinstance(result["error"], dict) and "kind" in result["error"]):
        return result
    error = result["error"]
    kind, message = error["kind"], str(error["message"])
    if kind == "invalid_agent_id":
        raise InvalidAgentId(str(error["agent_id"]), str(error["rule"]))
    if kind == "value_error":
        raise ValueError(message)
    if kind == "backend_error":
        raise BackendError(message)
    raise DriverError(op, f"the orchestrator failed: {message}", process.stderr_tail())


class DriverOrchestrator:
    """The orchestrator behind a driver process, as the harness sees it."""

    def __init__(self, world: World, process: DriverProcess) -> None:
        self.world = world
        self.process = process

    def _ask(self, op: str, args: Mapping[str, Any] | None = None) -> Any:
        return _answer(self.process, op, self.process.ask(op, self.world.clock.now(), args))

    def spawn(self, request: SpawnRequest) -> None:
        self._ask("spawn", {"agent_id": request.agent_id, "backend": request.backend.value,
                            "prompt": request.prompt, "parent": request.parent,
                            "content": [dict(block) for block in request.content]})

    def send(self, agent_id: str, prompt: str) -> None:
        self._ask("send", {"agent_id": agent_id, "prompt": prompt})

    def resume(self, agent_id: str) -> None:
        self._ask("resume", {"agent_id": agent_id})

    def close(self, agent_id: str) -> None:
        self._ask("close", {"agent_id": agent_id})

    def export(self, agent_id: str, destination: Path) -> None:
        self._ask("export", {"agent_id": agent_id, "destination": str(destination)})

    def tick(self) -> None:
        self._ask("tick")

    def session(self, agent_id: str) -> SessionView | None:
        view = self._ask("session", {"agent_id": agent_id})
        return None if view is None else _view(view)

    def sessions(self) -> Sequence[SessionView]:
        return [_view(view) for view in self._ask("sessions")]

    def shutdown(self) -> None:
        self._ask("shutdown")

    def release(self) -> None:
        """The harness is done with this orchestrator: stop the driver process."""
        self.process.stop()


def _view(view: Mapping[str, Any]) -> SessionView:
    transcript = view.get("transcript")
    return SessionView(agent_id=str(view["agent_id"]), backend=BackendKind(view["backend"]),
                       state=AgentState(view["state"]), session_id=view.get("session_id"),
                       transcript=Path(transcript) if transcript else None)


def is_command(spec: str) -> bool:
    return spec.startswith(PREFIX)


def anchored(command: str, cwd: Path) -> str:
    """``command`` with every word that names an existing file or directory relative
    to ``cwd`` made absolute (``node driver.js`` -> ``node /abs/driver.js``), so that
    it runs the same program from any directory. Other words stay as they are."""
    words = []
    for word in split_command(command):
        path = Path(word)
        if not word.startswith("-") and not path.is_absolute() and (cwd / path).exists():
            word = str((cwd / path).resolve())
        words.append(word)
    return shlex.join(words)


__all__ = ["PREFIX", "DriverAdapter", "DriverOrchestrator", "anchored", "is_command",
           "world_message"]
