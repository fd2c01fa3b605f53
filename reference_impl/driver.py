"""The reference orchestrator's process backend behind the driver protocol.

``python -m reference_impl.driver`` is a driver program (see
:mod:`conformance.driver.protocol`): ``pytest --orchestrator-command="python -m
reference_impl.driver"`` certifies the reference through the protocol, in all five
areas. It is the smallest complete driver and a vendor's model for one in another
language:

* It answers one request per line of stdin with one line on stdout, and writes
  nothing else there (its logging goes to stderr).
* ``hello`` announces the protocol version, its name, version and areas.
* ``start`` builds the world from the message: the directories, the settings and the
  environment for the CLIs (``PATH`` with the fakes first), and starts the
  orchestrator in it (:class:`~reference_impl.processes.ProcessOrchestrator`).
* Time: the process runs on a frozen clock (the harness's own kind), moved to each
  request's ``time`` before the request is handled, so everything in the reference
  that reads a clock reads the harness's time (:data:`~conformance.driver.protocol.
  TIME_RULE`).
* Errors go back as error responses: a refused agent id as ``invalid_agent_id`` with
  its rule, another ``ValueError`` as ``value_error``, a CLI's refusal as
  ``backend_error``, anything else as ``failed`` (its traceback on stderr).
* At the end of stdin it releases its processes and exits.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conformance.clock import HarnessClock
from conformance.contract import (
    BackendKind,
    Capability,
    SessionView,
    Settings,
    SpawnRequest,
    World,
)
from conformance.driver.protocol import PROTOCOL_VERSION
from conformance.errors import BackendError, InvalidAgentId
from reference_impl.adapter import __version__
from reference_impl.processes import ProcessHost, ProcessOrchestrator, components

NAME = "reference_impl.driver"


def view(session: SessionView) -> dict[str, Any]:
    return {"agent_id": session.agent_id, "backend": session.backend.value,
            "state": session.state.value, "session_id": session.session_id,
            "transcript": None if session.transcript is None else str(session.transcript)}


class Driver:
    """One world's orchestrator, driven request by request."""

    def __init__(self) -> None:
        self.clock = HarnessClock()
        self.clock.start()
        self.orchestrator: ProcessOrchestrator | None = None

    def handle(self, op: str, args: dict[str, Any]) -> Any:
        if op == "hello":
            return {"protocol": PROTOCOL_VERSION, "name": NAME, "version": __version__,
                    "capabilities": sorted(c.value for c in Capability)}
        if op == "start":
            world = self._world(args["world"])
            self.orchestrator = ProcessOrchestrator(world, components=components(world))
            return None
        orchestrator = self.orchestrator
        if orchestrator is None:
            raise RuntimeError(f"{op} before start")
        agent = str(args.get("agent_id", ""))
        actions: dict[str, Callable[[], Any]] = {
            "spawn": lambda: orchestrator.spawn(SpawnRequest(
                agent, BackendKind(args["backend"]), args["prompt"], args["parent"],
                content=tuple(args["content"]))),
            "send": lambda: orchestrator.send(agent, args["prompt"]),
            "resume": lambda: orchestrator.resume(agent),
            "close": lambda: orchestrator.close(agent),
            "export": lambda: orchestrator.export(agent, Path(args["destination"])),
            "tick": orchestrator.tick,
            "session": lambda: _maybe_view(orchestrator.session(agent)),
            "sessions": lambda: [view(s) for s in orchestrator.sessions()],
            "shutdown": orchestrator.shutdown,
        }
        return actions[op]()

    def _world(self, given: dict[str, Any]) -> World:
        return World(root=Path(given["root"]), home=Path(given["home"]),
                     acp_home=Path(given["acp_home"]), trace_dir=Path(given["trace_dir"]),
                     workspace=Path(given["workspace"]), clock=self.clock, backends={},
                     settings=Settings(**given["settings"]), env=dict(given["env"]))

    def release(self) -> None:
        if self.orchestrator is not None:
            for host in self.orchestrator.hosts.values():
                if isinstance(host, ProcessHost):
                    host.release()


def _maybe_view(session: SessionView | None) -> dict[str, Any] | None:
    return None if session is None else view(session)


def _error(error: BaseException) -> dict[str, Any]:
    if isinstance(error, InvalidAgentId):
        return {"kind": "invalid_agent_id", "message": str(error),
                "agent_id": error.agent_id, "rule": error.rule}
    if isinstance(error, ValueError):
        return {"kind": "value_error", "message": str(error)}
    if isinstance(error, BackendError):
        return {"kind": "backend_error", "message": str(error)}
    traceback.print_exception(error, file=sys.stderr)
    return {"kind": "failed", "message": f"{type(error).__name__}: {error}"}


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    driver = Driver()
    out = sys.stdout
    try:
        for line in sys.stdin:
            request = json.loads(line)
            driver.clock.move_to(float(request["time"]))
            try:
                result = driver.handle(request["op"], request["args"])
                answer: dict[str, Any] = {"id": request["id"], "ok": True, "result": result}
            except Exception as error:
                answer = {"id": request["id"], "ok": False, "error": _error(error)}
            out.write(json.dumps(answer, separators=(",", ":")) + "\n")
            out.flush()
    finally:
        driver.release()
        driver.clock.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
